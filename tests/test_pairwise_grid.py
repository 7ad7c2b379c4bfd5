"""The pairwise-transfer matrix (``train.pairwise``) is a grid of the sweep machinery: one
cell per pair of tasks (a ``tasks`` axis), validated by the loader, per-task options cut
to the pair; and a sweep file with that axis gives the same gains for the same seeds."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtlcore.analysis.pairwise import gain_matrix, pair_names
from mtlcore.config import ExperimentConfig
from mtlcore.experiment import run_experiment
from mtlcore.runs import DONE, RunStore, drain_queue
from mtlcore.sweep import (
    SweepError,
    cell_results,
    cell_task_names,
    pairs_grid,
    start_sweep,
    sweep_from_mapping,
)

BASE = {
    "data": {"builtin": "synthetic",
             "options": {"n_tasks": 3, "n_rows": 80, "n_features": 3, "relatedness": 0.5}},
    "model": {"strategy": "hard", "hidden": [6]},
    "train": {"epochs": 2, "batch_size": 32, "grad_cosine_every": 0, "affinity_every": 0},
    "seeds": [0, 1],
}  # fmt: skip
TASKS = ["task0", "task1", "task2"]


def config(**changes) -> ExperimentConfig:
    raw = json.loads(json.dumps(BASE))
    for key, value in changes.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return ExperimentConfig.parse(raw)


def test_the_pair_grid_is_a_tasks_axis_with_options_cut_to_each_pair():
    weights = {"task0": 1.0, "task1": 2.0, "task2": 0.5, "task3": 3.0}
    cfg = config(data={"builtin": "synthetic", "options": {"n_tasks": 4, "n_rows": 80}},
                 weighting={"method": "static", "options": {"weights": weights}},
                 train={"pairwise": True, "snapshot_every": 2, "affinity_every": 3})  # fmt: skip
    names = [*TASKS, "task3"]
    grid = pairs_grid(cfg, names)
    assert grid.axes == [("tasks", [list(p) for p in pair_names(names)])]
    assert [tuple(cell_task_names(c)) for c in grid.cells] == pair_names(names)
    assert grid.seeds == [0, 1]
    for cell in grid.cells:
        a, b = cell_task_names(cell)
        assert cell.config.weighting.options["weights"] == {a: weights[a], b: weights[b]}
        train = cell.config.train
        assert not train.pairwise  # a pair does not train pairs of its own
        assert (train.snapshot_every, train.affinity_every, train.grad_cosine_every) == (0, 0, 0)
        assert (train.epochs, train.lr, cell.config.model) == (cfg.train.epochs, cfg.train.lr,
                                                               cfg.model)  # fmt: skip


def test_a_bad_pair_names_the_setting():
    """A config whose tasks the data lacks fails before anything trains, naming the setting."""
    cfg = config(tasks=["task0", "task1", "task7"])
    with pytest.raises(SweepError, match="train.pairwise: axes: tasks = .*task7"):
        pairs_grid(cfg, ["task0", "task1", "task7"])


def test_a_pairs_sweep_and_train_pairwise_give_the_same_gains_for_the_same_seeds():
    cfg = config(train={"pairwise": True})
    result, runs = run_experiment(cfg)
    matrix = result["pairwise"]
    assert matrix["tasks"] == TASKS and matrix["trainings"] == 3 * 2  # 3 pairs × 2 seeds

    pairs = [list(p) for p in pair_names(TASKS)]
    sweep = sweep_from_mapping({"name": "pairs", "base": {**BASE, "tasks": TASKS},
                                "axes": {"tasks": pairs}})  # fmt: skip
    store = RunStore()
    started = start_sweep(store, sweep)
    drain_queue(store)
    cells = cell_results(store, started.sweep_id, sweep)
    assert all(c.status == DONE for c in cells)
    metric = matrix["metric"]
    for seed_run in (r.pairwise for r in runs):
        gains = gain_matrix(TASKS, metric, seed_run)
        for cell in cells:
            a, b = cell.values["tasks"]
            by_task = cell.comparison["tasks"]
            for task, partner in ((a, b), (b, a)):
                swept = by_task[task]["gain_by_seed"][str(seed_run.seed)]
                assert swept == gains[TASKS.index(task), TASKS.index(partner)], (task, partner)
    # and the mean the Transfer page draws is the mean of the sweep's gains over seeds
    for cell in cells:
        a, b = cell.values["tasks"]
        mean = cell.comparison["tasks"][a]["gain"]
        assert matrix["gain"][TASKS.index(a)][TASKS.index(b)] == pytest.approx(mean, abs=1e-12)
    assert np.isnan(np.array(matrix["gain"], dtype=float).diagonal()).all()
