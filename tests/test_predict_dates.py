"""Date inputs through Predict: a run with a date input saves its preprocessing as JSON,
the saved numbers give the very features scikit-learn fitted, new rows are read (and
refused) the same way, and predictions on the test rows equal the run's predictions.csv."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mtlcore import saved_preprocessing
from mtlcore.config import ExperimentConfig
from mtlcore.data.ingest import read_csv_table
from mtlcore.data.prepare import DATE_FEATURES, prepare, split_rows
from mtlcore.data.spec import DataError, Dataset, TaskSpec
from mtlcore.experiment import load_dataset, run_experiment, write_outputs
from mtlcore.predict import parse_inputs, predict, read_rows
from tests.messy_csv import to_csv, weather_csv, weather_frame


def _saved(data) -> list[saved_preprocessing.SavedTask]:
    return saved_preprocessing.from_json(saved_preprocessing.describe(data), "memory")


def _as_read(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows as a new CSV gives them to predict: every cell text, missing markers missing."""
    return read_rows(to_csv(frame), "new.csv")


def _train_rows(raw: pd.DataFrame, table: str) -> pd.DataFrame:
    return raw.iloc[split_rows(len(raw), 0.15, 0.15, 0, table)["train"]]


def test_a_date_column_is_saved_with_its_format_fill_mean_and_scale():
    dataset = Dataset("csv", "", {"weather": read_csv_table(weather_csv(), "weather.csv")})
    data = prepare(dataset, [TaskSpec("temp_max", "weather", "temp_max")])
    described = json.loads(json.dumps(saved_preprocessing.describe(data)))  # plain JSON
    (date,) = [c for c in described["tasks"][0]["columns"] if c["type"] == "date"]
    assert date["name"] == "date" and date["format"] == "%Y-%m-%d"
    assert all(len(date[k]) == len(DATE_FEATURES) for k in ("fill", "mean", "scale"))
    assert 2012 < date["mean"][0] < 2014  # the year feature, in years
    (task,) = _saved(data)
    raw = weather_frame()  # the file's own text: dates as strings, as a new CSV gives them
    X = task.features(parse_inputs(_as_read(_train_rows(raw, "weather")), [task], "new.csv"))
    np.testing.assert_allclose(X, data.task("temp_max").X["train"], atol=1e-5)


def test_aligned_tables_with_a_date_column_save_the_fitted_features():
    """Two tables whose same-named date column shares one feature space."""
    a, b = weather_frame(seed=0), weather_frame(n=300, seed=1).drop(columns=["wind"])
    dataset = Dataset("csv", "", {
        "a": read_csv_table(to_csv(a), "a.csv"), "b": read_csv_table(to_csv(b), "b.csv"),
    })  # fmt: skip
    specs = [TaskSpec("temp_a", "a", "temp_max"), TaskSpec("temp_b", "b", "temp_max")]
    data = prepare(dataset, specs, align_columns=True)
    assert data.task("temp_a").aligned_group is not None
    for raw, table, task in zip((a, b), ("a", "b"), _saved(data), strict=True):
        assert task.tables == ("a", "b") and "date" in task.date_inputs()
        rows = _as_read(_train_rows(raw, table))
        X = task.features(parse_inputs(rows, [task], "new.csv"))
        np.testing.assert_allclose(X, data.task(task.name).X["train"], atol=1e-5)


def test_new_rows_with_gaps_text_numbers_and_bad_dates():
    dataset = Dataset("csv", "", {"weather": read_csv_table(weather_csv(), "weather.csv")})
    (task,) = _saved(prepare(dataset, [TaskSpec("temp_max", "weather", "temp_max")]))
    one = weather_frame().iloc[[3]].assign(precipitation=" 1.5", date="", wind="?")
    X = task.features(parse_inputs(_as_read(one), [task], "new.csv"))
    assert X.shape == (1, task.n_features) and np.isfinite(X).all()  # gaps filled as at training
    rows = weather_frame().head(4).assign(date=["2013-07-04", "soon", "04/07/2013", None])
    with pytest.raises(DataError) as err:
        parse_inputs(_as_read(rows), [task], "new.csv")
    message = str(err.value)
    assert "File 'new.csv', column 'date'" in message and "written like 2012-01-31" in message
    assert "row 2 ('soon'), row 3 ('04/07/2013') are not such dates" in message
    assert "row 4" not in message  # an empty cell is missing, not wrong
    with pytest.raises(DataError, match="column 'wind': the model read numbers there, but row 1"):
        parse_inputs(_as_read(rows.head(1).assign(wind="windy")), [task], "new.csv")


WEATHER = {
    "name": "weather-tiny",
    "tasks": [
        {"name": "temp_max", "table": "weather", "target": "temp_max"},
        {"name": "weather", "table": "weather", "target": "weather"},
    ],
    "model": {"strategy": "hard", "hidden": [16, 8]},  # the tasks read different columns
    "train": {"epochs": 2, "batch_size": 64},
    "seeds": [0],
}


@pytest.fixture(scope="module")
def weather_run(tmp_path_factory) -> tuple[ExperimentConfig, Path]:
    folder = tmp_path_factory.mktemp("weather")
    (folder / "weather.csv").write_bytes(weather_csv())
    config = ExperimentConfig.parse(
        {**WEATHER, "data": {"csv": {"weather": str(folder / "weather.csv")}}}
    )
    result, runs = run_experiment(config)
    out = folder / "out"
    write_outputs(out, config, result, runs)
    return config, out


def test_predictions_on_the_test_rows_with_a_date_input_equal_the_runs(weather_run):
    config, out = weather_run
    assert (out / "preprocessing.json").is_file()  # no "train again" for a date input
    table = load_dataset(config).tables["weather"]
    d = config.data
    rows = table.iloc[split_rows(len(table), d.val_fraction, d.test_fraction, d.split_seed,
                                 "weather")["test"]]  # fmt: skip
    saved = pd.read_csv(out / "predictions.csv")
    got = predict(out, rows.to_csv(index=False).encode(), name="test.csv")
    assert got.tasks == ["temp_max", "weather"]
    assert rows["date"].dt.strftime("%Y-%m-%d").tolist() == got.frame["date"].tolist()
    for name in got.tasks:
        ref = saved[(saved.model == "mtl") & (saved.task == name)].prediction
        mine = got.frame[f"predicted {name}"]
        if name == "temp_max":
            np.testing.assert_allclose(mine.to_numpy(float), ref.to_numpy(float), atol=0.1)
        else:
            assert mine.astype(str).tolist() == ref.astype(str).tolist()


def test_a_file_without_the_date_column_is_told_which_columns(weather_run):
    _, out = weather_run
    rows = weather_frame().head(2).drop(columns=["date"])
    with pytest.raises(DataError, match="lacks the input column\\(s\\) 'date'"):
        predict(out, to_csv(rows), name="no_dates.csv")
