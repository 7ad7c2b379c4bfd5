"""A run worker keeps its last prepared data for its next run on the same data.

Preparing the data is most of the time from a run's start to its first plotted epoch, and
the seeds of an experiment run one after another on the same data. The runs' numbers
must be those of a fresh preparation; other data, or a CSV file changed in place, is
prepared again.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from mtlcore import experiment
from mtlcore.config import ExperimentConfig
from mtlcore.runs import RunStore, _worker
from mtlcore.runs._liveness import process_token

CONFIG = {
    "data": {"builtin": "houses"},
    "model": {"hidden": [8]},
    "train": {"epochs": 2, "batch_size": 64, "snapshot_every": 0},
    "seeds": [0, 1, 2],
}


@pytest.fixture
def preparations(monkeypatch) -> list[int]:
    """Counts the calls of ``prepare_data``; the worker starts with nothing kept."""
    calls: list[int] = []
    real = experiment.prepare_data

    def counted(config, *args, **kwargs):
        calls.append(1)
        return real(config, *args, **kwargs)

    monkeypatch.setattr(experiment, "prepare_data", counted)
    monkeypatch.setattr(_worker, "_kept", None)
    return calls


def run_all(store: RunStore, config: dict) -> list[list[tuple]]:
    """Every seed's run, one after another in this process (as one worker runs them)."""
    ids = store.submit(ExperimentConfig.parse(config))
    for rid in ids:
        assert store.claim(rid, process_token(), os.getpid())
        assert _worker.execute_run(store, rid) == "done", store.run(rid).error
    return [
        [(m.step, m.epoch, m.model, m.task, m.split, m.name, m.value) for m in store.metrics(rid)]
        for rid in ids
    ]


def test_the_next_seeds_reuse_the_data_and_train_to_the_same_numbers(
    tmp_path, monkeypatch, preparations
):
    kept = run_all(RunStore(tmp_path / "kept"), CONFIG)
    assert len(preparations) == 1  # three seeds, one preparation
    monkeypatch.setattr(_worker, "KEEP_DATA_BYTES", -1)  # keep nothing: each run prepares
    monkeypatch.setattr(_worker, "_kept", None)
    fresh = run_all(RunStore(tmp_path / "fresh"), CONFIG)
    assert len(preparations) == 4
    assert kept == fresh
    assert kept[0] != kept[1]  # the seeds differ: the comparison can fail


def test_other_data_or_a_csv_changed_in_place_is_prepared_again(tmp_path, preparations):
    rng = np.random.default_rng(0)
    path = tmp_path / "t.csv"

    def write(n: int) -> None:
        x = rng.normal(size=n)
        path.write_text("x,y\n" + "".join(f"{a:.4f},{2 * a:.4f}\n" for a in x))

    write(60)
    config = ExperimentConfig.parse({
        "data": {"csv": {"t": str(path)}},
        "tasks": [{"name": "y", "table": "t", "target": "y"}],
    })  # fmt: skip
    first = _worker.prepared_data(config)
    assert _worker.prepared_data(config) is first and len(preparations) == 1
    write(80)  # same path, other rows
    again = _worker.prepared_data(config)
    assert len(preparations) == 2 and again is not first
    assert sum(len(a) for a in again.task("y").y.values()) == 80
    other = ExperimentConfig.parse({**config.model_dump(mode="json"), "data": {
        "csv": {"t": str(path)}, "val_fraction": 0.3}})  # fmt: skip
    _worker.prepared_data(other)
    assert len(preparations) == 3
