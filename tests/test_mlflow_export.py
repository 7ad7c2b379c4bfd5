"""MLflow export (mtlcore/mlflow_export.py, `export-mlflow`): a round trip through a local
file store, read back with MLflow's own client. Skipped with a message when the extra is
not installed (and fail under CI=true: `make test` installs it, see the Makefile's extras)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mtlcore import cli
from mtlcore.config import ExperimentConfig
from mtlcore.mlflow_export import INSTALL_HINT, import_mlflow
from mtlcore.runs import DONE, RunStore, RunStoreError, drain_queue
from mtlcore.sweep import cell_results, start_sweep, sweep_from_mapping
from tests.conftest import require_extra

TINY = {
    "name": "tiny-mlflow",
    "data": {"builtin": "houses"},
    "model": {"hidden": [8, 8]},
    "train": {"epochs": 3, "batch_size": 64, "grad_cosine_every": 5},
    "weighting": {"method": "uncertainty"},
    "seeds": [0],
}


@pytest.fixture(scope="module")
def mlflow_client_cls():
    require_extra(import_mlflow, "MLflow")
    from mlflow.tracking import MlflowClient

    return MlflowClient


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> RunStore:
    """A store with one done run (id 1) and a two-cell sweep (runs 2, 3: the first trains
    the baselines, the second reuses them)."""
    home = tmp_path_factory.mktemp("home")
    s = RunStore(home)
    s.submit(ExperimentConfig.parse(TINY))
    grid = sweep_from_mapping({"name": "tiny sweep", "seeds": [0],
                               "base": {**TINY, "weighting": {"method": "equal"}},
                               "axes": {"weighting.method": ["equal", "dwa"]}})  # fmt: skip
    s.sweep_id = start_sweep(s, grid).sweep_id
    assert [status for _, status in drain_queue(s)] == [DONE] * 3
    s.cells = cell_results(s, s.sweep_id, grid)
    return s


def uri_of(tmp_path: Path) -> str:
    return (tmp_path / "mlruns").as_uri()  # file:///...


def test_a_run_round_trips_through_a_file_store(
    mlflow_client_cls, store, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("MTL_STUDIO_HOME", str(store.home))
    uri = uri_of(tmp_path)
    assert cli.main(["export-mlflow", "1", "--tracking-uri", uri, "--experiment", "mine"]) == 0
    out = capsys.readouterr().out
    client = mlflow_client_cls(uri)
    [exp] = [e for e in client.search_experiments() if e.name == "mine"]
    [found] = client.search_runs([exp.experiment_id])
    assert f"run 1 -> MLflow run {found.info.run_id}" in out
    run, info = store.run(1), found.info
    result = json.loads((store.run_dir(1) / "result.json").read_text())
    assert info.status == "FINISHED" and info.run_name == "tiny-mlflow (seed 0)"
    # params: the flattened config
    params = found.data.params
    assert params["model.strategy"] == "hard" and params["weighting.method"] == "uncertainty"
    assert params["train.epochs"] == "3" and params["seed"] == "0"
    assert params["model.hidden"] == "[8, 8]" and params["data.builtin"] == "houses"
    # per-epoch metrics (epoch 0: before training), per model, task and split, as stored
    task = next(iter(result["tasks"]))
    for model, split, name in [("mtl", "val", "loss"), ("stl", "train", "loss"),
                               ("mtl", "state", "sigma"), ("mtl", "val", "weight")]:  # fmt: skip
        history = client.get_metric_history(info.run_id, f"{model}/{task}/{split}/{name}")
        stored = [(r.epoch, r.value) for r in store.metrics(1, model=model, name=name)
                  if r.task == task and r.split == split]  # fmt: skip
        assert len(stored) >= 3 and sorted((m.step, m.value) for m in history) == sorted(stored)
    # the comparison and its verdicts
    metrics, tags = found.data.metrics, found.data.tags
    assert metrics["final/delta_m"] == pytest.approx(result["delta_m"])
    for name, t in result["tasks"].items():
        assert metrics[f"final/{name}/mtl"] == pytest.approx(t["mtl"])
        assert metrics[f"final/{name}/stl"] == pytest.approx(t["stl"])
        assert tags[f"verdict/{name}"] == t["verdict"]
    assert tags["verdict/delta_m"] == result["delta_m_verdict"]
    assert tags["mtlstudio.run_id"] == "1" and tags["mtlstudio.status"] == run.status
    # the files, byte for byte
    names = {a.path for a in client.list_artifacts(info.run_id)}
    assert {"result.json", "config.yaml", "weights.safetensors", "predictions.csv"} <= names
    for name in ("result.json", "weights.safetensors"):
        local = client.download_artifacts(info.run_id, name, str(tmp_path))
        assert Path(local).read_bytes() == (store.run_dir(1) / name).read_bytes()


def test_a_sweep_exports_its_members_under_a_parent(
    mlflow_client_cls, store, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv("MTL_STUDIO_HOME", str(store.home))
    uri = uri_of(tmp_path)
    sid = str(store.sweep_id)
    assert cli.main(["export-mlflow", sid, "--sweep", "--tracking-uri", uri]) == 0
    client = mlflow_client_cls(uri)
    [exp] = [e for e in client.search_experiments() if e.name == "MTL Studio"]
    runs = client.search_runs([exp.experiment_id])
    [parent] = [r for r in runs if r.info.run_name == "tiny sweep"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.data.params["weighting.method"] for r in children) == ["dwa", "equal"]
    assert sorted(r.data.tags["mtlstudio.run_id"] for r in children) == ["2", "3"]
    assert all(r.data.tags["mtlstudio.sweep_id"] == sid for r in children)
    # every member, the one that reused the baselines too, has the sweep's own Δm and verdict
    by_method = {r.data.params["weighting.method"]: r for r in children}
    for cell in store.cells:
        child = by_method[cell.values["weighting.method"]]
        assert child.data.metrics["final/delta_m"] == pytest.approx(cell.delta_m)
        assert child.data.tags["verdict/delta_m"] == cell.verdict
        assert child.data.tags["mtlstudio.baselines_from"] == "2"
    assert "sweep.json" in {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert f"parent MLflow run {parent.info.run_id}" in capsys.readouterr().out


def test_an_unfinished_run_is_refused_by_id(mlflow_client_cls, tmp_path):
    s = RunStore(tmp_path / "home")
    [queued] = s.submit(ExperimentConfig.parse(TINY))
    with pytest.raises(RunStoreError, match=rf"run\(s\) {queued} have not finished"):
        from mtlcore.mlflow_export import export_runs

        export_runs(s, [queued], uri_of(tmp_path))


def test_without_mlflow_one_clear_line_says_what_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now fails as if not installed
    monkeypatch.setenv("MTL_STUDIO_HOME", str(tmp_path))
    code = cli.main(["export-mlflow", "1", "--tracking-uri", uri_of(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and INSTALL_HINT in err and err.count("\n") == 1
