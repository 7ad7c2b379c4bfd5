"""Column roles and defaults on realistic CSVs: the default target is never free text, an
identifier or a date; identifiers and free text are not default inputs; the profile says
why a column is left out; the CLI's ``inputs: null`` follows the same rules."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from dashboard import datasets
from mtlcore.data.ingest import column_use, profile_table, read_csv_table, resolve_task
from mtlcore.data.prepare import prepare
from mtlcore.data.spec import Dataset, TaskSpec
from tests.messy_csv import cars_csv, penguins_raw_csv


def profile_of(data: bytes, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    df = read_csv_table(data, name)
    return df, profile_table(df).set_index("column")


def test_raw_penguins_defaults_skip_ids_free_text_and_constants():
    df, prof = profile_of(penguins_raw_csv(), "penguins_raw.csv")
    roles = prof["role"].to_dict()
    assert roles["Comments"] == "free text"
    assert roles["Sample Number"] == "identifier"  # a per-species row counter
    assert roles["Individual ID"] == "identifier"
    assert roles["Region"] == roles["Stage"] == "constant"
    assert roles["Date Egg"] == "date"
    assert roles["Species"] == roles["Island"] == "category"
    assert roles["Body Mass (g)"] == "number"
    for column in ("Comments", "Sample Number", "Individual ID", "Region"):
        assert prof.loc[column, "note"].startswith("left out"), column
    assert "free text" in prof.loc["Comments", "note"]
    assert "ID" in prof.loc["Sample Number", "note"]

    target = datasets.pick_target(prof.reset_index(), [])
    assert target == "Delta 13 C (o/oo)"  # the last number, not the free-text Comments
    inputs = datasets.default_inputs(df, prof.reset_index(), target, [])
    assert not {"Comments", "Sample Number", "Individual ID", "Region", "Stage"} & set(inputs)
    assert {"Species", "Date Egg", "Body Mass (g)"} <= set(inputs)


def test_free_text_car_names_are_neither_target_nor_input():
    df, prof = profile_of(cars_csv(), "cars.csv")
    assert prof.loc["name", "role"] == "free text"
    assert not prof.loc["name", "default_target"] and not prof.loc["name", "usable_as_input"]
    assert datasets.pick_target(prof.reset_index(), []) == "origin"
    assert "name" not in datasets.default_inputs(df, prof.reset_index(), "origin", [])


def test_mostly_missing_columns_are_a_default_target_only_when_nothing_else_is():
    n = 40
    prof = profile_table(
        pd.DataFrame(
            {
                "x": np.arange(n) % 7,
                "a": ["u", "v"] * (n // 2),
                "rare": [1.5, 2.5, 3.5] * 4 + [np.nan] * (n - 12),
            }
        )  # fmt: skip
    )
    assert datasets.pick_target(prof, []) == "a"
    assert datasets.pick_target(prof, ["a", "x"]) == "rare"


@pytest.mark.parametrize(
    ("values", "role"),
    [
        (list(range(100, 140)), "identifier"),  # consecutive, one per row
        (list(np.random.default_rng(0).permutation(40) + 1), "identifier"),  # shuffled 1..40
        ([1.5 * i for i in range(40)], "number"),  # unique floats are measurements
        ([int(v) for v in np.random.default_rng(1).integers(150_000, 900_000, 40)], "number"),
        ([(7 * i) % 23 for i in range(40)], "number"),
        ([f"C{i:03d}" for i in range(40)], "identifier"),
        (["red", "green", "blue", "red"] * 10, "category"),
        (
            ["Adelie Penguin (Pygoscelis adeliae)", "Gentoo penguin (Pygoscelis papua)"] * 20,
            "category",
        ),  # long labels, but only two of them
        ([f"a short sentence number {i % 12}" for i in range(40)], "free text"),
        ([np.nan] * 40, "empty"),
        ([3] * 40, "constant"),
    ],
)
def test_column_roles(values, role):
    assert column_use(pd.Series(values, name="c")).role == role


def test_cli_default_inputs_follow_the_same_rules(tmp_path):
    df = read_csv_table(penguins_raw_csv(), "p.csv")
    ds = Dataset("csv", "", {"p": df})
    spec = resolve_task(ds, TaskSpec("mass", "p", "Body Mass (g)"))
    assert "Date Egg" in spec.inputs and "Species" in spec.inputs
    assert not {"Comments", "Sample Number", "Individual ID", "Region"} & set(spec.inputs)


def test_a_wide_table_prepares_without_a_warning_per_column():
    rng = np.random.default_rng(0)
    n, k = 60, 250
    table = pd.DataFrame(rng.normal(size=(n, k)), columns=[f"f{j}" for j in range(k)])
    table["group"] = rng.choice(["a", "b"], n)
    table["y1"], table["y2"] = rng.normal(size=n), rng.normal(size=n)
    ds = Dataset("wide", "", {"w": table})
    specs = [TaskSpec("t1", "w", "y1"), TaskSpec("t2", "w", "y2")]
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        data = prepare(ds, specs)
    assert data.task("t1").X["train"].shape[1] == k + 2 + 1  # numbers, one-hot group, y2
