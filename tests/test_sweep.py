"""Sweeps (mtlcore.sweep): expansion and its errors, baseline reuse (counted), ranking
with the engine's verdicts, cancel, resume after a restart, and the ``sweep`` command.

Every training here is tiny (a few dozen rows, one or two epochs): the tests check
what the sweep does with runs, not what the runs learn.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from mtlcore.analysis import combine_results, compare
from mtlcore.config import ExperimentConfig
from mtlcore.runs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, RunStore, drain_queue
from mtlcore.runs._liveness import process_token
from mtlcore.sweep import (
    MAX_SWEEP_RUNS,
    SweepError,
    baseline_key,
    cell_results,
    load_sweep,
    ranked,
    ranking_table,
    start_sweep,
    sweep_from_mapping,
    sweep_from_text,
    sweep_summary,
)

BASE = {
    "data": {"builtin": "synthetic", "options": {"n_rows": 60, "n_features": 3, "n_tasks": 2}},
    "model": {"hidden": [4]},
    "train": {"epochs": 1, "batch_size": 32, "affinity_every": 0, "grad_cosine_every": 0},
}
GRID = {"model.strategy": ["hard", "mmoe"], "weighting.method": ["equal", "uncertainty"]}


def tiny_sweep(axes=None, seeds=(0, 1), **base_changes):
    base = json.loads(json.dumps(BASE))
    for key, value in base_changes.items():
        base[key] = {**base.get(key, {}), **value}
    return sweep_from_mapping({"name": "tiny", "base": base, "axes": axes or GRID,
                               "seeds": list(seeds)})  # fmt: skip


# --- expansion ---------------------------------------------------------------------------


def test_axes_expand_to_every_combination_of_validated_configs():
    grid = tiny_sweep({**GRID, "train.lr": [0.01, 0.003]})
    assert len(grid.cells) == 8
    first, last = grid.cells[0], grid.cells[-1]
    assert first.values == {"model.strategy": "hard", "weighting.method": "equal", "train.lr": 0.01}
    assert (last.config.model.strategy, last.config.weighting.method, last.config.train.lr) == (
        "mmoe", "uncertainty", 0.003)  # fmt: skip
    assert all(c.config.seeds == [0, 1] and c.config.baselines for c in grid.cells)
    assert first.label == "strategy=hard, method=equal, lr=0.01"
    # the same sweep gives the same fingerprint (what resuming finds it by); another does not
    assert grid.fingerprint == tiny_sweep({**GRID, "train.lr": [0.01, 0.003]}).fingerprint
    assert grid.fingerprint != tiny_sweep(GRID).fingerprint


def test_the_base_methods_options_go_only_to_the_base_method():
    """A base with uncertainty weighting's weight_lr and MMoE's n_experts, swept over methods
    and strategies: the other values start from their own defaults (weight_lr means
    nothing to equal weights); an axis over the options themselves still sets them."""
    grid = tiny_sweep(weighting={"method": "uncertainty", "options": {"weight_lr": 0.05}},
                      model={"strategy": "mmoe", "options": {"n_experts": 2}})  # fmt: skip
    by = {(c.config.model.strategy, c.config.weighting.method): c.config for c in grid.cells}
    assert len(by) == 4
    for (strategy, method), config in by.items():
        experts = (config.model.options or {}).get("n_experts")
        assert experts == (2 if strategy == "mmoe" else None), strategy
        weight_lr = (config.weighting.options or {}).get("weight_lr")
        assert weight_lr == (0.05 if method == "uncertainty" else None), method
    swept = tiny_sweep({"weighting.method": ["uncertainty"],
                        "weighting.options.weight_lr": [0.2]},
                       weighting={"method": "uncertainty"})  # fmt: skip
    assert swept.cells[0].config.weighting.options["weight_lr"] == 0.2


def test_a_tasks_axis_makes_a_baseline_group_per_set_of_tasks():
    """Pairwise grids: one cell per pair of tasks (each pair its own baselines)."""
    pairs = [["task0", "task1"], ["task0", "task2"], ["task1", "task2"]]
    grid = tiny_sweep({"tasks": pairs, "model.strategy": ["hard", "mmoe"]}, seeds=(0,),
                      data={"options": {"n_tasks": 3}})  # fmt: skip
    assert [c.config.task_names() for c in grid.cells[::2]] == pairs
    assert grid.owners == [0, 2, 4] and grid.baselines_reused == 3
    with pytest.raises(SweepError) as caught:
        tiny_sweep({"tasks": [["task0", "task9"]]}, data={"options": {"n_tasks": 3}})
    assert 'axes: tasks = ["task0", "task9"]' in str(caught.value)
    assert "has no task 'task9'. Its tasks are: task0, task1, task2" in str(caught.value)


def test_a_base_config_file_is_read_from_the_sweep_files_folder(tmp_path):
    (tmp_path / "base.yaml").write_text(ExperimentConfig.parse(BASE).to_yaml())
    (tmp_path / "sweep.yaml").write_text(
        "base: base.yaml\naxes:\n  data.options.relatedness: [0.9, 0.0]\nseeds: [3]\n"
    )
    grid = load_sweep(tmp_path / "sweep.yaml")
    assert [c.config.data.options["relatedness"] for c in grid.cells] == [0.9, 0.0]
    assert grid.seeds == [3]


@pytest.mark.parametrize(
    ("axes", "says"),
    [
        ({"model.strategyy": ["hard"]}, ["'model.strategyy'", "strategy, hidden"]),
        ({"model.strategy": ["hard", "nope"]}, ["model.strategy = 'nope'", "choose one of: hard"]),
        ({"weighting.method": ["pcgradd"]}, ["weighting.method = 'pcgradd'", "pcgrad"]),
        ({"data.options.relatednes": [0.5]}, ["'data.options.relatednes'", "relatedness"]),
        ({"train.lr": [0.01, -1]}, ["train.lr = -1", "greater than 0"]),
        ({"train.optimizer": ["adam", "lbfgs"]}, ["train.optimizer = 'lbfgs'", "'sgd'"]),
        ({"model": ["hard"]}, ["'model' is a section", "model.strategy"]),
        ({"train.lr.x": [1]}, ["'train.lr.x'", "holds a value"]),
        ({"seeds": [[0, 1]]}, ["axes: seeds", "seeds: list"]),
        ({"train.lr": [0.1, 0.1]}, ["train.lr", "0.1 is listed twice"]),
    ],
)
def test_a_bad_axis_is_one_line_naming_the_key(axes, says):
    with pytest.raises(SweepError) as caught:
        tiny_sweep(axes)
    message = str(caught.value)
    assert "\n" not in message
    for text in says:
        assert text in message


def test_bad_sweep_files_say_what_is_wrong(tmp_path):
    with pytest.raises(SweepError, match=r"missing.yaml: no such config file"):
        sweep_from_text("base: missing.yaml\naxes: {train.lr: [0.1]}", folder=tmp_path)
    with pytest.raises(SweepError, match=r"axes: give at least one axis .* or variants"):
        sweep_from_text("axes: {}")
    with pytest.raises(SweepError, match=r"baselines is false"):
        sweep_from_mapping({"base": {**BASE, "baselines": False}, "axes": GRID})
    with pytest.raises(SweepError, match=rf"at most {MAX_SWEEP_RUNS}"):
        tiny_sweep({"train.lr": [0.001 * (i + 1) for i in range(600)]})
    with pytest.raises(SweepError, match=r"aliases"):
        sweep_from_text("a: &x [1]\naxes: {train.lr: *x}")


# --- baseline reuse ----------------------------------------------------------------------


def test_baseline_groups_ignore_strategy_and_weighting_only():
    grid = tiny_sweep({**GRID, "train.lr": [0.01, 0.003], "data.options.relatedness": [0.9, 0]})
    assert len(grid.cells) == 16
    assert len(grid.owners) == 4  # lr × relatedness; strategy and weighting share baselines
    assert (grid.baselines_trained, grid.baselines_reused) == (4 * 2, 12 * 2)
    for cell in grid.cells:
        owner = grid.owner_of(cell)
        assert baseline_key(owner.config) == baseline_key(cell.config)
        assert owner.values["train.lr"] == cell.values["train.lr"]


def test_baselines_are_the_same_whatever_the_strategy_and_weighting():
    """Why reuse is exact: the baselines trained beside two different multi-task models
    (other strategy, other weighting) score the same on every task and seed."""
    from mtlcore.experiment import run_experiment

    grid = tiny_sweep(seeds=(0, 1, 2), model={"dropout": 0.2})
    a, b = grid.cells[0].config, grid.cells[-1].config  # hard+equal, mmoe+uncertainty
    result_a, _ = run_experiment(a)
    result_b, _ = run_experiment(b)
    for task in result_a["tasks"]:
        assert result_a["tasks"][task]["stl_by_seed"] == result_b["tasks"][task]["stl_by_seed"]
        assert result_a["tasks"][task]["mtl_by_seed"] != result_b["tasks"][task]["mtl_by_seed"]


def test_a_sweep_trains_each_baseline_once_and_ranks_by_delta_m_with_verdicts():
    store = RunStore()
    grid = tiny_sweep({**GRID, "train.lr": [0.01, 0.02]})  # 8 cells, 2 groups, 2 seeds
    started = start_sweep(store, grid)
    assert len(started.submitted) == 16 and not started.resumed
    drain_queue(store)
    members = store.runs(sweep_id=started.sweep_id)
    assert len(members) == 16 and all(r.status == DONE for r in members)
    # counted: each group's first cell (queued first) trained its baselines, once per
    # seed; every other cell-seed reused them from the store's cache, so all have Δm
    reused = [r for r in members if r.result["baselines_by_seed"][str(r.seed)]["reused"]]
    trained = [r for r in members if r not in reused]
    assert len(trained) == grid.baselines_trained == 4
    assert len(reused) == grid.baselines_reused == 12
    assert {r.sweep_cell for r in trained} == set(grid.owners)
    assert all(r.result["delta_m"] is not None for r in members)

    results = cell_results(store, started.sweep_id, grid)
    assert all(c.status == DONE and c.delta_m is not None for c in results)
    by_id = {r.id: r for r in members}
    for cell in results:
        owner = grid.owner_of(grid.cells[cell.index])
        owner_runs = [r for r in members if r.sweep_cell == owner.index]
        # the engine's own comparison: each cell's per-seed multi-task value paired with
        # the single-task value of the same seed from its group's baseline run
        expected = compare({
            task: {"higher_is_better": entry["higher_is_better"],
                   "mtl_by_seed": {by_id[i].seed: by_id[i].result["tasks"][task]["mtl"]
                                   for i in cell.run_ids},
                   "stl_by_seed": {r.seed: r.result["tasks"][task]["stl"] for r in owner_runs}}
            for task, entry in cell.comparison["tasks"].items()
        })  # fmt: skip
        for key in ("delta_m", "delta_m_low", "delta_m_high", "delta_m_verdict"):
            assert cell.comparison[key] == pytest.approx(expected[key])
        if cell.index == owner.index:  # a cell that trained its own baselines: as Compare shows it
            own = combine_results([by_id[i].result for i in cell.run_ids])
            assert cell.comparison["delta_m"] == pytest.approx(own["delta_m"])
    order = [c.delta_m for c in ranked(results)]
    assert order == sorted(order, reverse=True)
    table = ranking_table(grid, results).splitlines()
    assert table[0].split()[:4] == ["rank", "model.strategy", "weighting.method", "train.lr"]
    best = ranked(results)[0]
    assert f"{best.delta_m:+.2f}" in table[1]
    summary = sweep_summary(grid, started.sweep_id, results)
    assert summary["baselines"] == {"groups": 2, "trained": 4, "reused": 12,
                                    "done": {"trained": 4, "reused": 12},
                                    "planned": {"trained": 0, "reused": 0}}  # fmt: skip
    assert summary["ranking"][0] == best.index
    assert {c["delta_m_verdict"] for c in summary["cells"]} <= {"helps", "hurts",
                                                                 "within the noise"}  # fmt: skip


def test_sweep_json_counts_baselines_from_the_runs_a_cached_group_trains_none():
    """A group whose baselines an earlier experiment (same data, training and seed)
    already left in the store's cache trains none: sweep.json counts what each done run
    did, not the grid's plan; runs not done yet count as planned."""
    store = RunStore()
    grid = tiny_sweep({"weighting.method": ["equal", "uncertainty"], "train.lr": [0.01, 0.02]},
                      seeds=(0,))  # fmt: skip
    cached = grid.cells[grid.owners[0]]
    [first] = store.submit(cached.config, name="earlier")
    drain_queue(store)
    assert store.run(first).status == DONE

    started = start_sweep(store, grid)
    queued = sweep_summary(grid, started.sweep_id, cell_results(store, started.sweep_id, grid))
    assert queued["baselines"] == {"groups": 2, "trained": 2, "reused": 2,
                                   "done": {"trained": 0, "reused": 0},
                                   "planned": {"trained": 2, "reused": 2}}  # fmt: skip
    drain_queue(store)
    results = cell_results(store, started.sweep_id, grid)
    by_group = {g: [c.baselines for c in results if c.group == g] for g in (0, 1)}
    assert sum(b["trained"] for b in by_group[0]) == 0  # all from the cache, owner included
    assert sum(b["trained"] for b in by_group[1]) == 1
    summary = sweep_summary(grid, started.sweep_id, results)
    assert summary["baselines"] == {"groups": 2, "trained": 1, "reused": 3,
                                    "done": {"trained": 1, "reused": 3},
                                    "planned": {"trained": 0, "reused": 0}}  # fmt: skip
    assert (grid.baselines_trained, grid.baselines_reused) == (2, 2)  # the plan, unchanged


# --- cancel and resume -------------------------------------------------------------------


def test_cancelling_a_sweep_cancels_its_queued_and_running_runs_only():
    store = RunStore()
    other = store.submit(ExperimentConfig.parse(BASE))  # not in the sweep
    started = start_sweep(store, tiny_sweep())
    running = started.submitted[0]
    assert store.claim(running, process_token(), 0)  # held by this (live) process
    runs = store.cancel_sweep(started.sweep_id)
    assert {r.id for r in runs} == set(started.submitted)
    by_id = {r.id: r for r in runs}
    assert by_id[running].status == RUNNING and store.cancel_requested(running)  # stops at its
    assert all(by_id[i].status == CANCELLED for i in started.submitted[1:])  # next check
    assert store.run(other[0]).status == QUEUED


def test_a_sweep_resumes_after_a_restart_without_rerunning_finished_runs():
    store = RunStore()
    grid = tiny_sweep()
    started = start_sweep(store, grid)
    first, second, *rest = started.submitted
    # the machine went down: one run had finished, one was running in a worker now gone
    from mtlcore.runs import execute_run

    assert store.claim(first, process_token(), 0)
    assert execute_run(store, first) == DONE
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert store.claim(second, process_token(gone.pid), gone.pid)
    store.close()

    restarted = RunStore()
    again = start_sweep(restarted, grid)  # the same grid: the same sweep, continued
    assert again.sweep_id == started.sweep_id and again.resumed
    assert restarted.run(second).status == FAILED  # its worker died
    assert len(again.submitted) == 1  # only the lost run is queued again
    [redo] = again.submitted
    assert (restarted.run(redo).sweep_cell, restarted.run(redo).seed) == (
        restarted.run(second).sweep_cell, restarted.run(second).seed)  # fmt: skip
    done = dict(drain_queue(restarted))
    assert first not in done and set(done) == {redo, *rest}
    results = cell_results(restarted, again.sweep_id, grid)
    assert all(c.status == DONE and c.delta_m is not None for c in results)
    assert start_sweep(restarted, grid).submitted == []  # finished: nothing to run again


def test_the_example_sweep_expands():
    from pathlib import Path

    grid = load_sweep(Path(__file__).resolve().parents[1] / "examples/sweeps/synthetic.yaml")
    assert (len(grid.cells), len(grid.seeds), len(grid.owners)) == (8, 3, 2)
    assert (grid.baselines_trained, grid.baselines_reused) == (6, 18)
