"""Multi-output regression: a task whose target lists several numeric columns.

The engine path (config -> preparation -> training -> metrics -> predictions.csv and
result.json), the messages for targets that cannot be used, the single-output numbers
pinned to what they were before multi-output existed, and the Data and Compare pages.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm
from streamlit.testing.v1 import AppTest

from dashboard.predictions import multi_output_note, representation_points
from mtlcore.analysis import trivial_metrics
from mtlcore.config import ConfigError, ExperimentConfig
from mtlcore.data.ingest import resolve_task
from mtlcore.data.prepare import prepare, split_rows
from mtlcore.data.spec import DataError, Dataset, TaskSpec
from mtlcore.evaluate import score
from mtlcore.experiment import run_experiment, write_outputs
from mtlcore.runs import RunStore
from mtlcore.runs._snapshots import load_snapshot, save_snapshot
from mtlcore.runs._worker import drain_queue
from tests.test_dashboard import _isolated  # noqa: F401 (autouse: workers stopped, caches fresh)

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
INPUTS = ["x1", "x2", "x3"]


def table(n: int = 200) -> pd.DataFrame:
    """Two numeric targets on very different scales, a class column, two missing values."""
    rng = np.random.default_rng(0)
    df = pd.DataFrame({c: rng.normal(size=n).round(4) for c in INPUTS})
    df["y_small"] = (df.x1 + 0.5 * df.x2 + rng.normal(0, 0.1, n)).round(4)
    df["y_big"] = (1000 * (df.x2 - df.x3) + 5000 + rng.normal(0, 50, n)).round(2)
    df["flag"] = np.where(df.x1 > 0, "up", "down")
    df.loc[[3, 7], "y_big"] = np.nan
    return df


def two_output_config(csv: Path, **train) -> ExperimentConfig:
    return ExperimentConfig.parse({
        "data": {"csv": {"m": str(csv)}},
        "tasks": [
            {"name": "both", "table": "m", "target": ["y_small", "y_big"], "inputs": INPUTS},
            {"name": "flag", "table": "m", "target": "flag", "inputs": INPUTS},
        ],
        "model": {"hidden": [16]},
        "train": {"epochs": 4, "grad_cosine_every": 0, "affinity_every": 0, **train},
    })  # fmt: skip


@pytest.fixture
def csv_path(tmp_path: Path) -> Path:
    path = tmp_path / "m.csv"
    table().to_csv(path, index=False)
    return path


# --- the engine ------------------------------------------------------------------------------


def test_two_output_task_trains_and_its_files_say_so(csv_path: Path, tmp_path: Path):
    config = two_output_config(csv_path, snapshot_every=4)
    events = []
    result, runs = run_experiment(config, events.append)
    paths = write_outputs(tmp_path / "out", config, result, runs)

    entry = json.loads(paths["result"].read_text())["tasks"]["both"]
    assert entry["kind"] == "regression" and entry["metric"] == "rmse"
    assert entry["targets"] == ["y_small", "y_big"] and entry["target"] == "y_small"
    assert entry["rows"]["test"] + entry["rows"]["val"] + entry["rows"]["train"] == 198
    assert any("dropped 2 row(s)" in n and "y_big" in n for n in result["notes"])

    preds = pd.read_csv(paths["predictions"])
    assert list(preds.columns) == ["seed", "model", "task", "row", "truth", "prediction", "output"]
    both = preds[preds["task"] == "both"]
    for model in ("mtl", "stl"):
        part = both[both["model"] == model]
        assert len(part) == 2 * entry["rows"]["test"], "one row per test row and output"
        assert list(part["output"][:4]) == ["y_small", "y_big", "y_small", "y_big"]
        # The metrics in result.json are scikit-learn's on exactly these predictions.
        wide = {
            col: part.pivot(index="row", columns="output", values=col)[["y_small", "y_big"]]
            .astype(float)
            .to_numpy()
            for col in ("truth", "prediction")
        }
        truth, pred = wide["truth"], wide["prediction"]
        m = entry[f"metrics_{model}"]
        # predictions.csv holds the predictions in the targets' own precision (rounded), so
        # the metrics agree to that rounding, not to the last digit
        assert m["rmse"] == pytest.approx(math.sqrt(np.mean((truth - pred) ** 2)), rel=1e-5)
        assert m["mae"] == pytest.approx(skm.mean_absolute_error(truth, pred), rel=1e-5)
        r2 = skm.r2_score(truth, pred, multioutput="uniform_average")
        assert m["r2"] == pytest.approx(r2, rel=1e-5)
        per_column = skm.r2_score(truth, pred, multioutput="raw_values")
        assert m["r2"] == pytest.approx(per_column.mean(), rel=1e-5)
    flag = preds[preds["task"] == "flag"]
    assert set(flag["output"]) == {"flag"} and set(flag["truth"]) <= {"up", "down"}

    # Trivial baseline: the training mean of each column (pooled RMSE about std(y_big)/√2),
    # not one mean over both (which would miss y_small by about 5000).
    assert entry["metrics_trivial"]["r2"] < 0.05
    assert entry["trivial"] < float(table()["y_big"].std())

    # Snapshots carry (rows, 2) truths and predictions in units, and the columns' names.
    snap = next(e.snapshot for e in events if e.kind == "snapshot" and e.epoch == 4)
    path = save_snapshot(snap, tmp_path / "s.npz", model="mtl", seed=0)
    stored = load_snapshot(path)
    n = len(stored.rows["both"])
    assert stored.truth["both"].shape == stored.prediction["both"].shape == (n, 2)
    assert stored.targets == {"both": ["y_small", "y_big"]}
    assert stored.truth["flag"].shape == (len(stored.rows["flag"]),)
    assert float(np.abs(stored.truth["both"][:, 1]).min()) > 100, "y_big in its own units"


def test_per_column_standardisation_round_trips_to_units():
    df = table()
    dataset = Dataset("t", "", {"m": df})
    spec = TaskSpec("both", "m", ["y_small", "y_big"], inputs=tuple(INPUTS))
    assert spec.target == ("y_small", "y_big") and spec.targets == spec.target
    task = prepare(dataset, [spec]).tasks[0]
    assert task.out_dim == 2 and task.multi_output and task.kind == "regression"
    assert task.y["train"].shape == (len(task.y["train"]), 2)
    assert task.y["train"].dtype == np.float32
    np.testing.assert_allclose(task.y["train"].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(task.y["train"].std(axis=0), 1.0, atol=1e-5)
    assert task.target_std[1] > 100 * task.target_std[0], "each column its own scale"

    # Back in units: the very values of the table's test rows that have both targets.
    test_rows = df.iloc[split_rows(len(df), 0.15, 0.15, 0, "m")["test"]]
    expected = test_rows.dropna(subset=["y_small", "y_big"])[["y_small", "y_big"]].to_numpy()
    np.testing.assert_allclose(task.target_in_units(task.y["test"]), expected, rtol=1e-6)
    # Raw outputs (rows, 2) decode per column, and score in those units.
    outputs = task.y["test"].copy()
    np.testing.assert_allclose(task.kind_rules.decode(task, outputs), expected, rtol=1e-6)
    assert score(task, outputs, "test")["rmse"] == pytest.approx(0.0, abs=1e-3)
    trivial = trivial_metrics(task)
    mean = task.target_in_units(task.y["train"].astype(np.float64)).mean(axis=0)
    assert trivial["r2"] == pytest.approx(
        skm.r2_score(expected, np.tile(mean, (len(expected), 1))), rel=1e-6
    )  # the table's float64 values against the float32 targets read back

    off = prepare(dataset, [spec], standardize_targets=False).tasks[0]
    np.testing.assert_allclose(off.y["test"], expected, rtol=1e-6)


def test_one_column_in_a_list_is_a_single_output_task():
    dataset = Dataset("t", "", {"m": table()})
    listed = prepare(dataset, [TaskSpec("a", "m", ["y_small"], inputs=tuple(INPUTS))]).tasks[0]
    plain = prepare(dataset, [TaskSpec("a", "m", "y_small", inputs=tuple(INPUTS))]).tasks[0]
    assert listed.y["train"].shape == plain.y["train"].shape == (len(plain.y["train"]),)
    assert listed.out_dim == plain.out_dim == 1 and not listed.multi_output
    assert (listed.target_mean, listed.target_std) == (plain.target_mean, plain.target_std)
    np.testing.assert_array_equal(listed.y["test"], plain.y["test"])


# --- what cannot be used ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task", "says"),
    [
        ({"target": ["y_small", "y_big"], "kind": "binary"},
         ["tasks.0", "target", "'both'", "2 columns", "'binary'", "regression"]),
        ({"target": ["y_small", "y_small"]}, ["tasks.0", "target", "'y_small'", "once"]),
        ({"target": []}, ["tasks.0.target", "non-empty list"]),
        ({"target": ["y_small", 3]}, ["tasks.0.target", "column names"]),
    ],
)  # fmt: skip
def test_a_bad_multi_target_config_names_the_key(task, says):
    raw = {"data": {"csv": {"m": "m.csv"}}, "tasks": [{"name": "both", "table": "m", **task}]}
    with pytest.raises(ConfigError) as err:
        ExperimentConfig.parse(raw)
    for word in says:
        assert word in str(err.value), (word, str(err.value))


@pytest.mark.parametrize(
    ("target", "inputs", "kind", "column", "says"),
    [
        (["y_small", "y_bog"], INPUTS, "auto", "y_bog", ["no column 'y_bog'", "Did you mean 'y_big'"]),
        (["y_small", "flag"], INPUTS, "auto", "flag", ["'flag' holds text", "must hold numbers"]),
        (["y_small", "y_big"], [*INPUTS, "y_big"], "auto", "y_big", ["'y_big'", "both a target and an input"]),
        (["y_small", "y_big"], INPUTS, "multiclass", "y_small", ["kind is 'multiclass'", "regression"]),
        (["y_small", "const"], INPUTS, "auto", "const", ["'const'", "single value"]),
    ],
)  # fmt: skip
def test_resolve_task_names_task_table_and_column(target, inputs, kind, column, says):
    df = table().assign(const=1.0)
    spec = TaskSpec("both", "m", target, kind=kind, inputs=tuple(inputs))
    with pytest.raises(DataError) as err:
        resolve_task(Dataset("t", "", {"m": df}), spec)
    message = str(err.value)
    assert "Task 'both'" in message and "'m'" in message, message
    assert err.value.column == column and err.value.where == "m"
    for word in says:
        assert word in message, (word, message)


def test_default_inputs_leave_out_every_target():
    spec = resolve_task(Dataset("t", "", {"m": table()}), TaskSpec("b", "m", ["y_small", "y_big"]))
    assert spec.kind == "regression" and spec.inputs == ("x1", "x2", "x3", "flag")


# --- single-output runs are what they were ----------------------------------------------------

# The houses run below, as trained since training draws one batch per batch group
# (b3dd8a9, which reseeded every task's batch order; the multi-output commit cdf055e had
# left the numbers of the commit before it, cdf055e~1, to the last digit), and since the
# optimisers are torch's fused kernels (mtlcore.train.ARITHMETIC 2: apartment_price's
# multi-task RMSE moved from 76423.29613 to 76423.29278): every metric and the test rows
# per task. Only predictions.csv's `output` column and result.json's
# `targets` are new for single-output tasks.
BEFORE = {
    "house_price": {
        "metrics_mtl": {"rmse": 71255.99236555478, "mae": 52250.80078125, "r2": 0.7185892462730408},
        "metrics_stl": {"rmse": 71858.2996737329, "mae": 52377.69140625, "r2": 0.7138117551803589},
        "metrics_trivial": {"rmse": 141425.9908558728, "mae": 120397.50002228198,
                            "r2": -0.10855287682618808},
        "test": 120,
    },
    "apartment_price": {
        "metrics_mtl": {"rmse": 76423.29278433375, "mae": 59479.765625, "r2": 0.5006369948387146},
        "metrics_stl": {"rmse": 79914.81544745005, "mae": 63423.04296875, "r2": 0.45396625995635986},
        "metrics_trivial": {"rmse": 108379.30548914512, "mae": 86580.55544760625,
                            "r2": -0.004286466301666625},
        "test": 72,
    },
}  # fmt: skip


def test_single_output_numbers_and_files_are_unchanged(tmp_path: Path):
    config = ExperimentConfig.parse({
        "data": {"builtin": "houses"}, "tasks": ["house_price", "apartment_price"],
        "model": {"hidden": [16]},
        "train": {"epochs": 3, "grad_cosine_every": 0, "affinity_every": 0},
    })  # fmt: skip
    result, runs = run_experiment(config)
    paths = write_outputs(tmp_path, config, result, runs)
    stored = json.loads(paths["result"].read_text())["tasks"]
    for name, before in BEFORE.items():
        entry = stored[name]
        assert entry["target"] == "price" and entry["targets"] == ["price"]
        for key in ("metrics_mtl", "metrics_trivial"):
            assert entry[key] == pytest.approx(before[key], rel=1e-9, abs=1e-12), (name, key)
        # The baselines train as one grouped model (9dafcec): the same networks and batches,
        # summed in another order, so their numbers move in the 8th digit
        assert entry["metrics_stl"] == pytest.approx(before["metrics_stl"], rel=1e-6), name
        assert entry["rows"]["test"] == before["test"]
    preds = pd.read_csv(paths["predictions"])
    assert list(preds.columns) == ["seed", "model", "task", "row", "truth", "prediction", "output"]
    assert len(preds) == 2 * (120 + 72), "still one row per test row (mtl and stl)"
    assert set(preds["output"]) == {"price"}
    assert list(preds[preds["task"] == "house_price"]["row"][:3]) == [0, 1, 2]


# --- the pages -------------------------------------------------------------------------------


def test_representation_points_colour_by_the_first_output():
    truth = np.array([[1.0, 100.0], [2.0, 300.0]])
    pred = np.array([[1.5, 0.0], [2.0, 0.0]])
    points = representation_points("both", 2, truth, pred)
    assert points["target"].tolist() == [1.0, 2.0] and points["error"].tolist() == [0.5, 0.0]
    note = multi_output_note({"both": ["y_small", "y_big"]}, ["both", "flag"])
    assert note is not None and "first output, y\\_small (of 2)" in note
    assert multi_output_note({}, ["flag"]) is None


def clean(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def test_data_page_maps_a_two_target_task():
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.radio(key="ctl:source").set_value("csv").run()
    data = table(120).drop(columns="flag").to_csv(index=False).encode()
    at.file_uploader[0].set_value(("m.csv", data, "text/csv")).run()
    at.button(key="add_task").click().run()
    clean(at)
    task = at.session_state["draft"]["tasks"][0]
    assert task["target"] == "y_big" and "y_small" in task["inputs"]
    more = at.multiselect(key="ctl:tasks.0.more_targets")
    assert more.value == [] and "y_small" in more.options and "y_big" not in more.options

    more.set_value(["y_small"]).run()
    clean(at)
    task = at.session_state["draft"]["tasks"][0]
    assert task["target"] == ["y_big", "y_small"]
    assert task["inputs"] == INPUTS, "a target is no longer an input"
    assert "y_small" not in at.multiselect(key="ctl:tasks.0.inputs").options
    assert at.success and "1 task(s) ready" in at.success[0].value
    config = ExperimentConfig.parse(at.session_state["draft"])
    assert config.tasks[0].target == ["y_big", "y_small"]

    # A classification kind with two targets is named as the problem; one target fixes it.
    at.selectbox(key="ctl:tasks.0.kind").set_value("binary").run()
    assert at.error and "kind is 'binary'" in at.error[-1].value
    at.multiselect(key="ctl:tasks.0.more_targets").set_value([]).run()
    assert at.session_state["draft"]["tasks"][0]["target"] == "y_big"
    # The first target swapped for one of the others keeps the rest.
    at.selectbox(key="ctl:tasks.0.kind").set_value("auto").run()
    at.multiselect(key="ctl:tasks.0.more_targets").set_value(["y_small", "x3"]).run()
    at.selectbox(key="ctl:tasks.0.target").set_value("y_small").run()
    clean(at)
    task = at.session_state["draft"]["tasks"][0]
    assert task["target"] == ["y_small", "x3"]
    assert at.multiselect(key="ctl:tasks.0.more_targets").value == ["x3"]
    assert "x3" not in task["inputs"] and "y_small" not in task["inputs"]
    assert "y_big" in at.multiselect(key="ctl:tasks.0.inputs").options


def test_compare_and_representations_pages_show_one_output_or_all(csv_path: Path):
    store = RunStore()
    store.submit(two_output_config(csv_path, epochs=2, snapshot_every=2))
    assert [status for _, status in drain_queue(store)] == ["done"]

    at = clean(AppTest.from_file(APP, default_timeout=90).run())
    at.switch_page("app_pages/compare.py").run()
    clean(at)
    output = at.selectbox(key="pred_output_both")
    assert output.options == ["y_small", "y_big", "all outputs, pooled"]
    assert any("y\\_small" in c.value for c in at.caption), "says which output the dots are"
    output.set_value("all outputs, pooled").run()
    clean(at)
    assert any("one of the 2 outputs" in c.value for c in at.caption)

    at.switch_page("app_pages/representations.py").run()
    at.radio(key="repr_color").set_value("target").run()
    at.selectbox(key="repr_task").set_value("both").run()
    clean(at)
    assert any("first output, y\\_small (of 2)" in c.value for c in at.caption)
