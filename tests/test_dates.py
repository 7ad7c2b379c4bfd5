"""Dates are dates: a date column is detected when the CSV is read (never a numeric
column), becomes year + sin/cos of month, day of year and day of week inside the fitted
preprocessor, and the CLI path gets it too (new rows with dates: test_predict_dates.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mtlcore.config import ExperimentConfig
from mtlcore.data.ingest import date_format, profile_table, read_csv_table
from mtlcore.data.prepare import DATE_FEATURES, date_features, prepare
from mtlcore.data.spec import DataError, Dataset, TaskSpec, detect_task_kind
from mtlcore.experiment import prepare_data
from tests.messy_csv import penguins_raw_csv, weather_csv


@pytest.mark.parametrize(
    ("values", "fmt"),
    [
        (["2012-01-01", "2012-01-02", None], "%Y-%m-%d"),
        (["11/11/07", "11/16/07", "12/01/08"], "%m/%d/%y"),  # two-digit years (penguins)
        (["21/11/2007", "03/12/2008"], "%d/%m/%Y"),  # day first: 21 cannot be a month
        (["01/02/2012", "03/04/2012"], "%m/%d/%Y"),  # both readings fit: month first
        (["2012-01-01 10:00:00", "2012-01-02 11:30:00"], "%Y-%m-%d %H:%M:%S"),
        (["5 May 2012", "17 June 2013"], "%d %B %Y"),
    ],
)
def test_date_columns_are_recognised_with_their_format(values, fmt):
    assert date_format(pd.Series(values, dtype=object)) == fmt


@pytest.mark.parametrize(
    "values",
    [
        [20120101, 20120102, 20120103],  # numbers stay numbers
        [2007.0, 2008.0, 2009.0],
        ["2012", "2013", "2014"],  # a year alone is not a date
        ["2012-01", "2012-02"],  # nor a month
        ["N1A1", "N1A2", "N2A1"],
        ["1-2", "3-4", "5-6"],
        ["2012-01-01", "soon", "2012-01-03"],  # one value that is not a date: text
        ["2012-01-01", "01/02/2012"],  # mixed formats: text
        ["Jan", "Feb", "Mar"],
    ],
)
def test_other_columns_are_not_dates(values):
    assert date_format(pd.Series(values)) is None


def test_reading_a_csv_parses_dates_and_the_profile_says_how_they_are_read():
    df = read_csv_table(weather_csv(), "weather.csv")
    assert pd.api.types.is_datetime64_any_dtype(df["date"])
    assert df.attrs["date_formats"] == {"date": "%Y-%m-%d"}
    assert pd.api.types.is_numeric_dtype(df["temp_max"])
    prof = profile_table(df).set_index("column")
    assert prof.loc["date", "dtype"] == "date" and prof.loc["date", "usable_as_input"]
    assert prof.loc["date", "task_kind"].startswith("unusable: a date")
    assert "day of week" in prof.loc["date", "note"]
    assert prof.loc["date", "examples"].startswith("2012-01-01")
    with pytest.raises(DataError, match="holds dates"):
        detect_task_kind(df["date"])


def test_cyclic_features_put_year_ends_and_week_ends_next_to_each_other():
    days = pd.Series(pd.to_datetime(["2012-12-31", "2013-01-01", "2012-07-01",
                                     "2013-01-06", "2013-01-07"]))  # fmt: skip
    f = pd.DataFrame(date_features(days), columns=list(DATE_FEATURES))
    assert f["year"].tolist() == [2012, 2013, 2012, 2013, 2013]
    cycle = ["month_sin", "month_cos", "day_of_year_sin", "day_of_year_cos"]
    new_year = np.linalg.norm(f.loc[0, cycle] - f.loc[1, cycle])
    midsummer = np.linalg.norm(f.loc[0, cycle] - f.loc[2, cycle])
    assert new_year < 0.6 < 2.5 < midsummer  # one day (and one month) apart vs half a year
    week = ["day_of_week_sin", "day_of_week_cos"]  # Sunday 6 Jan, Monday 7 Jan
    assert np.linalg.norm(f.loc[3, week] - f.loc[4, week]) == pytest.approx(2 * np.sin(np.pi / 7))
    assert (f.iloc[:, 1:].abs() <= 1 + 1e-12).all().all()


def weather_dataset() -> Dataset:
    return Dataset("csv", "", {"weather": read_csv_table(weather_csv(), "weather.csv")})


def test_a_date_input_becomes_seven_standardised_features_in_the_preprocessor():
    data = prepare(weather_dataset(), [TaskSpec("temp_max", "weather", "temp_max")])
    task = data.task("temp_max")
    date_names = [n for n in task.feature_names if n.startswith("date_")]
    assert date_names == [f"date_{f}" for f in DATE_FEATURES]
    X = task.X["train"]
    cols = [task.feature_names.index(n) for n in date_names]
    assert np.allclose(X[:, cols].mean(axis=0), 0, atol=1e-5)
    assert any("date column(s) date" in note for note in data.notes())


def test_the_config_path_reads_dates_too(tmp_path):
    path = tmp_path / "penguins_raw.csv"
    path.write_bytes(penguins_raw_csv())
    config = ExperimentConfig.model_validate({
        "data": {"csv": {"penguins": str(path)}},
        "tasks": [{"name": "body_mass", "table": "penguins", "target": "Body Mass (g)"}],
    })  # fmt: skip
    task = prepare_data(config).task("body_mass")
    assert "Date Egg_day_of_year_sin" in task.feature_names
    assert not any(n.startswith(("Comments", "Sample Number")) for n in task.feature_names)
