"""Built-in datasets: the registry, their options and properties of their data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats

from mtlcore.data.builtin import BUILTIN_DATASETS, list_builtins, load_builtin
from mtlcore.data.ingest import resolve_task
from mtlcore.data.prepare import prepare
from mtlcore.data.spec import DataError


def target_corr(options: dict[str, object]) -> float:
    table = load_builtin("synthetic", options).tables["synthetic"]
    return float(np.corrcoef(table["y0"], table["y1"])[0, 1])


def test_registry_lists_every_dataset_with_a_description() -> None:
    names = ["houses", "synthetic", "penguins", "digits", "gradnorm_toy", "hierarchy"]
    assert [d.name for d in list_builtins()] == names
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
    with pytest.raises(
        DataError, match="no built-in dataset 'house'.*houses, synthetic, penguins, digits"
    ):
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
        ({"relatedness": 1.5}, "relatedness"),
        ({"relatedness": -1.1}, "relatedness"),
        ({"correlation": 0.5}, "correlation"),  # the old name is an unknown key now
        ({"noise": -0.1}, "noise"),
        ({"noise": [0.1, -0.1]}, "noise"),
        ({"n_tasks": 3, "noise": [0.1, 0.2]}, "noise"),
        ({"n_rows": 10}, "n_rows"),
        ({"scales": [1.0, -2.0]}, "scales"),
        ({"n_tasks": 3, "scales": [1.0, 2.0]}, "scales"),
        ({"labelled_rows": 1}, "labelled_rows"),
        ({"labelled_rows": [None, 1]}, "labelled_rows"),
        ({"labelled_rows": [None]}, "labelled_rows"),
        ({"labelled_rows": [None, 2000], "n_rows": 1000}, "labelled_rows"),
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
    assert all(t.train_rows is None for t in ds.tasks)
    assert "3 tasks" in ds.description and "relatedness 0.5" in ds.description


def test_synthetic_relatedness_one_gives_the_same_target_up_to_scale() -> None:
    ds = load_builtin("synthetic", {"relatedness": 1.0, "noise": 0.0, "scales": [1.0, 3.0]})
    table = ds.tables["synthetic"]
    np.testing.assert_allclose(table["y1"], 3.0 * table["y0"], rtol=1e-9, atol=1e-9)


def test_synthetic_relatedness_minus_one_gives_the_opposite_target() -> None:
    table = load_builtin("synthetic", {"relatedness": -1.0, "noise": 0.0}).tables["synthetic"]
    np.testing.assert_allclose(table["y1"], -table["y0"], rtol=1e-9, atol=1e-9)
    assert target_corr({"relatedness": -1.0, "n_rows": 5000}) < -0.98  # noise 0.1


@pytest.mark.parametrize("relatedness", [-0.9, -0.5, 0.0, 0.5, 0.9])
def test_synthetic_target_correlation_is_the_relatedness(relatedness: float) -> None:
    corr = target_corr({"relatedness": relatedness, "noise": 0.0, "n_rows": 5000})
    assert corr == pytest.approx(relatedness, abs=0.04)


def test_synthetic_relatedness_zero_shares_no_nonlinearity() -> None:
    """At 0 no function of task 0's target predicts task 1's: nothing shared at all."""
    table = load_builtin("synthetic", {"relatedness": 0.0, "n_rows": 8000}).tables["synthetic"]
    bins = pd.qcut(table["y0"], 20, labels=False)
    by_bin = table["y1"].groupby(bins).mean()  # the best step function of y0
    explained = by_bin[bins].to_numpy().var() / table["y1"].var()
    assert explained < 0.01
    # …while task 1's own direction does carry its signal.
    assert abs(np.corrcoef(table["y0"], table["y1"])[0, 1]) < 0.03


def test_synthetic_tasks_have_their_own_sines() -> None:
    """Each task's signal is its own curve, not one shared shape along another direction.

    One shared curve of independent standard-normal projections would give every task
    the same distribution of targets (Wasserstein distance about 0.02 here); own sines
    give each its own.
    """
    opts = {"n_tasks": 4, "relatedness": 0.0, "noise": 0.0, "n_rows": 5000}
    table = load_builtin("synthetic", opts).tables["synthetic"]
    for i in (1, 2, 3):
        assert stats.wasserstein_distance(table["y0"], table[f"y{i}"]) > 0.07


def test_synthetic_noise_is_per_task() -> None:
    noise = [0.0, 0.5]
    noisy = load_builtin("synthetic", {"relatedness": 1.0, "noise": noise, "n_rows": 5000})
    table = noisy.tables["synthetic"]
    residual = table["y1"] - table["y0"]  # the same signal: what is left is task 1's noise
    assert residual.std() == pytest.approx(0.5, rel=0.05)
    assert "noise 0 / 0.5" in noisy.description


def test_synthetic_signal_has_unit_spread_so_noise_is_relative() -> None:
    table = load_builtin("synthetic", {"noise": 0.0, "n_rows": 2000}).tables["synthetic"]
    assert table["y0"].std() == pytest.approx(1.0, rel=0.01)
    assert table["y1"].std() == pytest.approx(1.0, rel=0.05)


def test_synthetic_scales_multiply_the_targets() -> None:
    one = load_builtin("synthetic", {"noise": 0.0}).tables["synthetic"]
    scaled = load_builtin("synthetic", {"noise": 0.0, "scales": 10.0}).tables["synthetic"]
    np.testing.assert_allclose(scaled["y1"], 10.0 * one["y1"])
    per_task = load_builtin("synthetic", {"noise": 0.0, "scales": [1.0, 100.0]}).tables["synthetic"]
    np.testing.assert_allclose(per_task["y0"], one["y0"])
    np.testing.assert_allclose(per_task["y1"], 100.0 * one["y1"])


def test_synthetic_scales_reach_the_loss_only_without_standardisation() -> None:
    ds = load_builtin("synthetic", {"scales": [1.0, 100.0]})
    raw = prepare(ds, ds.tasks, standardize_targets=False)
    assert raw.task("task1").y["train"].std() > 50 * raw.task("task0").y["train"].std()
    standard = prepare(ds, ds.tasks, standardize_targets=True)
    assert standard.task("task1").y["train"].std() == pytest.approx(1.0, rel=1e-3)


def test_synthetic_labelled_rows_cap_training_rows_only() -> None:
    ds = load_builtin("synthetic", {"n_rows": 1000, "labelled_rows": [None, 40]})
    assert [t.train_rows for t in ds.tasks] == [None, 40]
    assert "labelled rows all / 40" in ds.description
    data = prepare(ds, ds.tasks)
    full, few = data.task("task0"), data.task("task1")
    assert few.n_rows("train") == 40 and full.n_rows("train") > 600
    assert few.n_rows("val") == full.n_rows("val") and few.n_rows("test") == full.n_rows("test")
    everyone = load_builtin("synthetic", {"n_tasks": 3, "labelled_rows": 50}).tasks
    assert [t.train_rows for t in everyone] == [50, 50, 50]


def test_synthetic_same_seed_same_table_other_seed_other_table() -> None:
    a = load_builtin("synthetic", {"seed": 3}).tables["synthetic"]
    b = load_builtin("synthetic", {"seed": 3}).tables["synthetic"]
    c = load_builtin("synthetic", {"seed": 4}).tables["synthetic"]
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.to_numpy(), c.to_numpy())


def test_houses_has_two_tables_and_two_price_tasks() -> None:
    ds = load_builtin("houses")
    houses, apartments = ds.tables["houses"], ds.tables["apartments"]
    assert list(houses.columns) == ["size_sqm", "bedrooms", "bathrooms", "neighbourhood", "price"]
    assert list(apartments.columns) == ["size_sqm", "bedrooms", "floor", "neighbourhood", "price"]
    assert (len(houses), len(apartments)) == (800, 480)
    assert set(apartments["neighbourhood"]) == set(houses["neighbourhood"])
    assert houses["bathrooms"].isna().any() and apartments["size_sqm"].isna().any()
    assert houses["price"].notna().all() and houses["price"].min() > 10_000
    house, apartment = ds.task("house_price"), ds.task("apartment_price")
    assert (house.table, house.target, house.kind) == ("houses", "price", "regression")
    assert house.inputs == ("size_sqm", "bedrooms", "bathrooms", "neighbourhood")
    assert (apartment.table, apartment.target, apartment.kind) == (
        "apartments",
        "price",
        "regression",
    )
    assert apartment.inputs == ("size_sqm", "bedrooms", "floor", "neighbourhood")
    assert house.train_rows is None and apartment.train_rows == 60


def test_apartments_train_on_few_rows_and_are_judged_on_many() -> None:
    ds = load_builtin("houses")
    data = prepare(ds, ds.tasks, align_columns=True)
    apartments = data.task("apartment_price")
    # The numbers the description gives.
    assert (apartments.n_rows("train"), apartments.n_rows("test")) == (60, 72)
    assert data.task("house_price").n_rows("train") == 560
    assert ds.tables["houses"]["neighbourhood"].nunique() == 8
    for number in ("560 houses", "only 60 apartments", "72 others", "eight neighbourhoods"):
        assert number in ds.description
    # Shared columns, one feature space: one input layer for both tasks.
    assert data.task("house_price").input_group == apartments.input_group


def test_houses_and_apartments_share_a_price_structure() -> None:
    ds = load_builtin("houses")
    levels = {}
    for name, table in ds.tables.items():
        rows = table.dropna()
        assert np.corrcoef(rows["size_sqm"], rows["price"])[0, 1] > 0.4
        per_sqm = rows["price"] / rows["size_sqm"]
        levels[name] = per_sqm.groupby(rows["neighbourhood"]).median()
    # A neighbourhood's price level is the same in both tables.
    assert np.corrcoef(levels["houses"], levels["apartments"])[0, 1] > 0.9


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
