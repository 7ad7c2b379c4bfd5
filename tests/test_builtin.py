"""Built-in datasets: the registry, their options and properties of their data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from mtlcore.data.builtin import BUILTIN_DATASETS, list_builtins, load_builtin
from mtlcore.data.ingest import resolve_task
from mtlcore.data.spec import DataError


def target_corr(options: dict[str, object]) -> float:
    table = load_builtin("synthetic", options).tables["synthetic"]
    return float(np.corrcoef(table["y0"], table["y1"])[0, 1])


def test_registry_lists_every_dataset_with_a_description() -> None:
    assert [d.name for d in list_builtins()] == ["houses", "synthetic", "penguins"]
    for entry in list_builtins():
        assert BUILTIN_DATASETS[entry.name] is entry
        assert entry.title and len(entry.description) > 80 and entry.source
        assert entry.options_model.model_config.get("extra") == "forbid"
        entry.options_model()  # every option has a default


@pytest.mark.parametrize("name", list(BUILTIN_DATASETS))
def test_default_tasks_resolve_against_their_tables(name: str) -> None:
    dataset = load_builtin(name)
    for spec in dataset.tasks:
        assert resolve_task(dataset, spec) == spec  # kinds and inputs already explicit


def test_unknown_name_lists_the_allowed_names() -> None:
    with pytest.raises(DataError, match="no built-in dataset 'house'.*houses, synthetic, penguins"):
        load_builtin("house")


def test_unknown_option_names_the_key() -> None:
    with pytest.raises(ValidationError, match="n_task"):
        load_builtin("synthetic", {"n_task": 3})
    with pytest.raises(ValidationError, match="size"):
        load_builtin("houses", {"size": 1})


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"n_tasks": 9}, "n_tasks"),
        ({"correlation": 1.5}, "correlation"),
        ({"noise": -0.1}, "noise"),
        ({"n_rows": 10}, "n_rows"),
        ({"scales": [1.0, -2.0]}, "scales"),
        ({"n_tasks": 3, "scales": [1.0, 2.0]}, "scales"),
        ({"n_tasks": 4, "n_features": 3}, "n_features"),
    ],
)
def test_bad_synthetic_options_name_the_key(options: dict[str, object], key: str) -> None:
    with pytest.raises(ValidationError, match=key):
        load_builtin("synthetic", options)


def test_synthetic_shape_and_tasks() -> None:
    ds = load_builtin("synthetic", {"n_tasks": 3, "n_rows": 50, "n_features": 4})
    table = ds.tables["synthetic"]
    assert list(table.columns) == ["x0", "x1", "x2", "x3", "y0", "y1", "y2"]
    assert len(table) == 50
    assert [(t.name, t.target, t.kind) for t in ds.tasks] == [
        ("task0", "y0", "regression"),
        ("task1", "y1", "regression"),
        ("task2", "y2", "regression"),
    ]
    assert all(t.inputs == ("x0", "x1", "x2", "x3") for t in ds.tasks)
    assert "3 tasks" in ds.description


def test_synthetic_correlation_one_gives_the_same_target_up_to_scale() -> None:
    ds = load_builtin("synthetic", {"correlation": 1.0, "noise": 0.0, "scales": [1.0, 3.0]})
    table = ds.tables["synthetic"]
    np.testing.assert_allclose(table["y1"], 3.0 * table["y0"], rtol=1e-9, atol=1e-9)
    assert target_corr({"correlation": 1.0, "noise": 0.0}) == pytest.approx(1.0)


def test_synthetic_correlation_zero_gives_unrelated_targets() -> None:
    assert abs(target_corr({"correlation": 0.0, "n_rows": 5000})) < 0.06


def test_synthetic_target_correlation_grows_with_task_correlation() -> None:
    corrs = [target_corr({"correlation": p, "n_rows": 5000}) for p in (0.0, 0.5, 0.9)]
    assert corrs == sorted(corrs) and corrs[-1] > 0.7


def test_synthetic_scales_multiply_the_targets() -> None:
    one = load_builtin("synthetic", {"noise": 0.0}).tables["synthetic"]
    scaled = load_builtin("synthetic", {"noise": 0.0, "scales": 10.0}).tables["synthetic"]
    np.testing.assert_allclose(scaled["y1"], 10.0 * one["y1"])


def test_synthetic_same_seed_same_table_other_seed_other_table() -> None:
    a = load_builtin("synthetic", {"seed": 3}).tables["synthetic"]
    b = load_builtin("synthetic", {"seed": 3}).tables["synthetic"]
    c = load_builtin("synthetic", {"seed": 4}).tables["synthetic"]
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.to_numpy(), c.to_numpy())


def test_houses_has_two_tables_and_two_price_tasks() -> None:
    ds = load_builtin("houses")
    houses, apartments = ds.tables["houses"], ds.tables["apartments"]
    assert list(houses.columns) == ["size_sqm", "bedrooms", "bathrooms", "price"]
    assert list(apartments.columns) == ["size_sqm", "bedrooms", "location", "price"]
    assert len(houses) > 5 * len(apartments) >= 5 * 100
    assert set(apartments["location"]) == {"downtown", "suburb", "rural"}
    assert houses["bathrooms"].isna().any() and apartments["size_sqm"].isna().any()
    assert houses["price"].notna().all() and houses["price"].min() > 10_000
    house, apartment = ds.task("house_price"), ds.task("apartment_price")
    assert (house.table, house.target, house.kind) == ("houses", "price", "regression")
    assert house.inputs == ("size_sqm", "bedrooms", "bathrooms")
    assert (apartment.table, apartment.target, apartment.kind) == (
        "apartments",
        "price",
        "regression",
    )
    assert apartment.inputs == ("size_sqm", "bedrooms", "location")


def test_houses_and_apartments_share_a_price_structure() -> None:
    ds = load_builtin("houses")
    for table in ds.tables.values():
        rows = table.dropna()
        assert np.corrcoef(rows["size_sqm"], rows["price"])[0, 1] > 0.6


def test_penguins_has_344_rows_and_three_tasks() -> None:
    ds = load_builtin("penguins")
    table = ds.tables["penguins"]
    assert len(table) == 344
    assert table["sex"].isna().sum() == 11  # rows with missing values are kept
    kinds = {t.name: (t.target, t.kind) for t in ds.tasks}
    assert kinds == {
        "species": ("species", "multiclass"),
        "sex": ("sex", "binary"),
        "body_mass": ("body_mass_g", "regression"),
    }
    inputs = ("island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm")
    assert all(t.inputs == inputs for t in ds.tasks)
    assert "CC0" in ds.source
