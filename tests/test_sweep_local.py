"""The in-process grid runner the claim tests and ``bench/measure_lessons.py`` use
(``mtlcore.sweep.run_cells``, ``by_variant``): a reusing cell trains no baselines, yet
reads the same gains as if it had trained its own; snapshots come back per cell."""

from __future__ import annotations

import functools
from typing import Any

from mtlcore.experiment import run_experiment
from mtlcore.lessons import lesson
from mtlcore.sweep import Grid, by_variant, measurements_off, run_cells, sweep_from_mapping

BASE = {
    "data": {"builtin": "synthetic", "options": {"n_rows": 80, "n_features": 3, "n_tasks": 2}},
    "model": {"hidden": [4]},
    "train": {"epochs": 2, "batch_size": 32, "affinity_every": 0, "grad_cosine_every": 0,
              "snapshot_every": 1, "snapshot_rows": 10, "device": "cpu"},
}  # fmt: skip
# "uncertainty" only changes the weighting: hard's baseline group. "related": its own.
VARIANTS = {
    "hard": {},
    "uncertainty": {"weighting": {"method": "uncertainty"}},
    "related": {"data": {"options": {"relatedness": 1.0}}},
}


def grid() -> Grid:
    return sweep_from_mapping({"name": "local", "base": BASE, "variants": VARIANTS,
                               "seeds": [0, 1]})  # fmt: skip


@functools.cache
def ran() -> tuple[dict[int, dict[str, Any]], dict[str, dict[str, Any]]]:
    g = grid()
    results = run_cells(g, snapshots=True)
    return results, by_variant(g, results)


def test_a_reusing_cell_trains_no_baselines_but_reads_its_own_gains() -> None:
    g = grid()
    hard, uncertainty = g.variant("hard"), g.variant("uncertainty")
    assert g.owner_of(uncertainty) == hard and g.owner_of(g.variant("related")) != hard
    results, by_preset = ran()
    assert set(results) == {c.index for c in g.cells} and set(by_preset) == set(VARIANTS)
    assert results[uncertainty.index]["baselines_by_seed"] == {}  # none trained
    assert results[uncertainty.index]["tasks"]["task0"]["stl_by_seed"] is None
    # The same cell run with its own baselines: every comparison number is the same.
    alone = run_experiment(uncertainty.member_config(g.seeds, trains_baselines=True))[0]
    mine = by_preset["uncertainty"]
    for key in ("delta_m", "delta_m_by_seed", "delta_m_low", "delta_m_high", "delta_m_verdict"):
        assert mine[key] == alone[key], key
    assert mine["tasks"] == alone["tasks"]  # gains, intervals, verdicts, metrics_stl ...
    # What the cell measured itself stays its own: its weighting's learned state, its curves.
    assert mine["weighting_state_by_seed"] == alone["weighting_state_by_seed"]
    assert "sigma" in mine["weighting_state_by_seed"]["0"]
    assert mine["history"] == results[uncertainty.index]["history"]


def test_an_owner_reads_its_own_result_and_snapshots_come_back_per_seed_and_model() -> None:
    results, by_preset = ran()
    g = grid()
    for key in ("hard", "related"):
        own, read = results[g.variant(key).index], by_preset[key]
        assert read["tasks"] == own["tasks"] and read["delta_m_by_seed"] == own["delta_m_by_seed"]
    snaps = by_preset["hard"]["snapshots"]
    assert set(snaps) == {(s, m) for s in (0, 1) for m in ("mtl", "stl")}
    assert all([s.epoch for s in v] == [0, 1, 2] for v in snaps.values())
    # A reusing cell trains no single-task network, so it has none of their snapshots.
    assert set(by_preset["uncertainty"]["snapshots"]) == {(0, "mtl"), (1, "mtl")}


def test_measurements_off_keeps_the_snapshots_only_when_asked() -> None:
    off, kept = measurements_off(), measurements_off(snapshots=True)
    assert off == {**kept, "train.snapshot_every": 0}
    assert kept["train.device"] == "cpu" and kept["train.grad_cosine_every"] == 0
    g = lesson("few-labels").sweep(changes=kept)
    assert all(c.config.train.snapshot_every > 0 for c in g.cells)
    assert all(c.config.train.affinity_every == 0 for c in g.cells)
