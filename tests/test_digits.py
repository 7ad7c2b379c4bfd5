"""The digits dataset: known answers about its table, its tasks and its options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError
from sklearn.datasets import load_digits as sklearn_digits

from mtlcore.config import ExperimentConfig
from mtlcore.data.builtin import DIGITS_TASKS, load_builtin
from mtlcore.data.ingest import resolve_task
from mtlcore.experiment import prepare_data

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "digits.yaml"


def test_one_table_of_64_pixel_columns_and_three_targets() -> None:
    ds = load_builtin("digits")
    table = ds.tables["digits"]
    pixels = [f"px_{r}_{c}" for r in range(8) for c in range(8)]
    assert list(table.columns) == [*pixels, "digit", "parity", "five_or_more"]
    assert table.shape == (1797, 67)
    assert table[pixels].to_numpy().min() == 0 and table[pixels].to_numpy().max() == 16
    assert (table[pixels].to_numpy() % 1 == 0).all()
    # The very pixels and labels scikit-learn ships, row for row.
    bunch = sklearn_digits()
    np.testing.assert_array_equal(table[pixels].to_numpy(), bunch.data)
    np.testing.assert_array_equal(table["digit"].to_numpy(), bunch.target)
    assert sorted(table["digit"].unique()) == list(range(10))
    assert not table.isna().any().any()


def test_parity_and_five_or_more_follow_from_the_digit() -> None:
    table = load_builtin("digits").tables["digits"]
    digit = table["digit"].to_numpy()
    np.testing.assert_array_equal(table["parity"], np.where(digit % 2 == 0, "even", "odd"))
    np.testing.assert_array_equal(
        table["five_or_more"], np.where(digit >= 5, "5 or more", "under 5")
    )
    # Known rows: scikit-learn's first images are 0, 1, 2, ... 9.
    assert table.loc[:9, "digit"].tolist() == list(range(10))
    assert table.loc[7, "parity"] == "odd" and table.loc[7, "five_or_more"] == "5 or more"
    assert table.loc[4, "parity"] == "even" and table.loc[4, "five_or_more"] == "under 5"


def test_tasks_read_every_pixel_and_have_explicit_kinds() -> None:
    ds = load_builtin("digits")
    assert [t.name for t in ds.tasks] == list(DIGITS_TASKS)
    assert [t.kind for t in ds.tasks] == ["multiclass", "binary", "binary"]
    for spec in ds.tasks:
        assert spec.inputs is not None and len(spec.inputs) == 64
        assert spec.train_rows is None
        assert resolve_task(ds, spec) == spec
    assert "CC BY 4.0" in ds.source and "Alpaydin" in ds.source


def test_labelled_rows_one_value_or_one_per_task() -> None:
    same = load_builtin("digits", {"labelled_rows": 40})
    assert [t.train_rows for t in same.tasks] == [40, 40, 40]
    per_task = load_builtin("digits", {"labelled_rows": [30, None, 200]})
    assert [t.train_rows for t in per_task.tasks] == [30, None, 200]
    assert "30 / all / 200" in per_task.description


def test_labelled_rows_cap_training_rows_only() -> None:
    config = ExperimentConfig.parse(
        {"data": {"builtin": "digits", "options": {"labelled_rows": [50, None, None]}}},
        source="test",
    )
    tasks = {t.spec.name: t for t in prepare_data(config).tasks}
    digit, parity = tasks["digit"], tasks["parity"]
    assert digit.n_rows("train") == 50
    assert parity.n_rows("train") > 1000  # all of the training split
    for split in ("val", "test"):  # judged on the same whole splits as the others
        assert digit.n_rows(split) == parity.n_rows(split) > 200
    assert digit.classes == list(range(10))
    assert parity.classes == ["even", "odd"]


def test_fewer_rows_are_a_fixed_sample() -> None:
    a = load_builtin("digits", {"n_rows": 300}).tables["digits"]
    b = load_builtin("digits", {"n_rows": 300}).tables["digits"]
    assert len(a) == 300
    assert a.equals(b)
    assert a["digit"].nunique() == 10


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"labelled_rows": [30, None]}, "labelled_rows has 2 values but digits has 3 tasks"),
        ({"labelled_rows": 1}, "labelled_rows"),
        ({"labelled_rows": 500, "n_rows": 300}, "labelled_rows asks for 500 images"),
        ({"n_rows": 5000}, "n_rows"),
        ({"n_tasks": 2}, "n_tasks"),  # not an option of digits: an unknown key
    ],
)
def test_bad_options_name_the_key(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        load_builtin("digits", options)


def test_the_example_is_the_few_labels_case() -> None:
    config = ExperimentConfig.load(EXAMPLE)
    assert config.data.builtin == "digits"
    assert config.data.options["labelled_rows"] == [50, None, None]
