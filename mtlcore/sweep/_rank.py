"""A sweep's results: each cell against its group's baselines, ranked by Δm.

Each cell's comparison is the engine's own (``mtlcore.analysis.combine_results``,
as the Compare page pools an experiment's one-seed runs): the cell's multi-task
value per seed, paired with the single-task value of the same seed from the run of
its baseline group that trained the baselines; Δm, its interval and its verdict
(helps / hurts / within the noise / one seed) follow from those. Cells rank by
mean Δm, highest first; cells without a Δm yet come last, in grid order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtlcore.analysis import combine_results, interval_text, verdict_label
from mtlcore.runs import DONE, RunInfo, RunStore
from mtlcore.sweep._schedule import CellProgress, latest_runs, progress
from mtlcore.sweep._spec import Grid


@dataclass(frozen=True)
class CellResult:
    """One cell: its progress and, once a seed is done, its comparison (None before)."""

    index: int
    label: str
    values: dict[str, Any]
    group: int
    status: str
    progress: float
    run_ids: list[int]
    comparison: dict[str, Any] | None  # combine_results keys: tasks, delta_m*, seeds, ...
    baselines: dict[str, int]  # its seeds' baselines: trained / reused (done), planned

    @property
    def delta_m(self) -> float | None:
        return None if self.comparison is None else self.comparison.get("delta_m")

    @property
    def verdict(self) -> str:
        return (self.comparison or {}).get("delta_m_verdict") or "no baseline"


def cell_results(store: RunStore, sweep_id: int, grid: Grid) -> list[CellResult]:
    """Every cell of the sweep as it stands now, in grid order."""
    latest = latest_runs(store, sweep_id)
    cells: list[CellProgress] = progress(store, sweep_id, grid)
    out = []
    for cell, prog in zip(grid.cells, cells, strict=True):
        owner = grid.owner_of(cell)
        summaries = []
        counts = {"trained": 0, "reused": 0, "planned": len(grid.seeds)}
        for run in prog.runs:
            if run.status != DONE or not run.result:
                continue
            entry = (run.result.get("baselines_by_seed") or {}).get(str(run.seed))
            if entry is not None:
                counts["reused" if entry.get("reused") else "trained"] += 1
                counts["planned"] -= 1
            base = latest.get((owner.index, run.seed))
            summaries.append(with_baselines(run, base if base and base.status == DONE else None))
        comparison = combine_results(summaries) if summaries else None
        out.append(CellResult(cell.index, cell.label, cell.values, cell.group, prog.status,
                              prog.progress, [r.id for r in prog.runs], comparison, counts))  # fmt: skip
    return out


def with_baselines(run: RunInfo, baseline: RunInfo | None) -> dict[str, Any]:
    """A done run's summary with its own single-task values (a member run reads its
    group's baselines from the store's cache), else those of ``baseline`` (the run of the
    same seed that trained its group's baselines, for members run without baselines;
    None: none yet, so no Δm)."""
    assert run.result is not None
    base_tasks = (baseline.result or {}).get("tasks", {}) if baseline is not None else {}
    tasks = {
        name: {**t, "stl_by_seed": t.get("stl_by_seed")
               or (base_tasks.get(name) or {}).get("stl_by_seed")}
        for name, t in run.result["tasks"].items()
    }  # fmt: skip
    return {**run.result, "tasks": tasks, "seeds": [run.seed]}


def ranked(results: list[CellResult]) -> list[CellResult]:
    """Highest Δm first; cells without a Δm last, in grid order."""
    return sorted(results, key=lambda c: (c.delta_m is None, -(c.delta_m or 0.0), c.index))


def grid_slice(
    grid: Grid, results: list[CellResult], x: str, y: str | None, fixed: dict[str, Any]
) -> list[dict[str, Any]]:
    """The cells over axes ``x`` and ``y`` (None: one row) whose other axes take the values
    in ``fixed``: one row each with ``x``, ``y``, Δm, its interval, verdict and status."""
    rows = []
    for c in results:
        if any(c.values[k] != v for k, v in fixed.items() if k not in (x, y)):
            continue
        cmp = c.comparison or {}
        rows.append({"x": _text(c.values[x]), "y": _text(c.values[y]) if y else "",
                     "delta_m": c.delta_m, "delta_m_low": cmp.get("delta_m_low"),
                     "delta_m_high": cmp.get("delta_m_high"), "verdict": c.verdict,
                     "status": c.status, "index": c.index})  # fmt: skip
    return rows


def ranking_rows(grid: Grid, results: list[CellResult]) -> list[dict[str, Any]]:
    """The ranked cells as rows for a table: rank, the axis values, Δm, its interval,
    the number of seeds, the verdict (or the status while not done) and the progress."""
    rows = []
    for rank, c in enumerate(ranked(results), start=1):
        cmp = c.comparison or {}
        rows.append({"rank": rank, **{k: _text(c.values[k]) for k, _ in grid.axes},
                     "Δm %": c.delta_m,
                     "interval": interval_text(cmp.get("delta_m_low"), cmp.get("delta_m_high")),
                     "seeds": cmp.get("n_seeds") or 0,
                     "verdict": verdict_label(c.verdict) if c.status == DONE else c.status,
                     "progress": c.progress})  # fmt: skip
    return rows


def ranking_table(grid: Grid, results: list[CellResult]) -> str:
    """The ranked cells as a text table: rank, axis values, Δm with its interval, verdict."""
    keys = [k for k, _ in grid.axes]
    widths = [max(len(k), *(len(_text(c.values[k])) for c in results)) for k in keys]
    head = ["rank", *keys, "Δm %", "95% interval", "seeds", "verdict"]
    rows = [
        [str(r["rank"]), *(r[k] for k in keys), "-" if r["Δm %"] is None else f"{r['Δm %']:+.2f}",
         r["interval"], str(r["seeds"]), r["verdict"]]
        for r in ranking_rows(grid, results)
    ]  # fmt: skip
    cols = [4, *widths, 8, 16, 5, 0]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, cols, strict=True)).rstrip()
        for row in [head, *rows]
    )


def sweep_summary(grid: Grid, sweep_id: int, results: list[CellResult]) -> dict[str, Any]:
    """``sweep.json``: the grid, the baseline reuse and every cell's comparison, ranked."""
    return {
        "name": grid.name,
        "sweep_id": sweep_id,
        "fingerprint": grid.fingerprint,
        "axes": {k: v for k, v in grid.axes},
        "seeds": grid.seeds,
        "baselines": baseline_counts(grid, results),
        "ranking": [c.index for c in ranked(results)],
        "cells": [
            {
                "index": c.index,
                "label": c.label,
                "values": c.values,
                "folder": cell_folder(c),
                "baseline_group": c.group,
                "baselines_from": grid.owners[c.group],
                "status": c.status,
                "run_ids": c.run_ids,
                **(c.comparison or {}),
            }
            for c in results
        ],  # fmt: skip
    }


def baseline_counts(grid: Grid, results: list[CellResult]) -> dict[str, Any]:
    """How many cell-seeds trained their single-task baselines and how many reused them.

    A done run says which it did (``baselines_by_seed`` in its ``result.json``: a group's
    baselines already in the store's baseline cache are reused by every cell, its owner
    included); a cell-seed not done yet counts as the grid plans it (its group's owner
    trains, the others reuse). ``done`` and ``planned`` split the totals by that source.
    """
    done = {"trained": 0, "reused": 0}
    planned = {"trained": 0, "reused": 0}
    for c in results:
        done["trained"] += c.baselines["trained"]
        done["reused"] += c.baselines["reused"]
        planned["trained" if grid.owners[c.group] == c.index else "reused"] += c.baselines[
            "planned"
        ]
    return {
        "groups": len(grid.owners),
        "trained": done["trained"] + planned["trained"],
        "reused": done["reused"] + planned["reused"],
        "done": done,
        "planned": planned,
    }


def cell_folder(cell: CellResult) -> str:
    """A cell's folder name: its index and its values, safe on any file system."""
    slug = re.sub(r"[^A-Za-z0-9_.=-]+", "_", cell.label.replace(", ", "__")).strip("_")
    return f"{cell.index:03d}-{slug[:80]}"


def write_sweep(
    out: str | Path, store: RunStore, grid: Grid, sweep_id: int, results: list[CellResult]
) -> Path:
    """Write ``sweep.json`` and one folder per cell: its ``config.yaml`` (all seeds), a
    ``result.json`` pooled over its seeds against the reused baselines, and per done
    seed the run's own files (as ``train --out`` writes them) under ``seed<k>/``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for cell, c in zip(grid.cells, results, strict=True):
        folder = out / cell_folder(c)
        folder.mkdir(exist_ok=True)
        cell.config.save(folder / "config.yaml")
        for run_id in c.run_ids:
            run = store.run(run_id)
            if run.status == DONE:
                store.export(run_id, folder / f"seed{run.seed}")
        if c.comparison is not None:
            result = {"name": cell.label, "strategy": cell.config.model.strategy,
                      "weighting": cell.config.weighting.method, **c.comparison,
                      "baselines_from": cell_folder(results[grid.owners[cell.group]])}  # fmt: skip
            (folder / "result.json").write_text(json.dumps(result, indent=2) + "\n",
                                                encoding="utf-8")  # fmt: skip
    path = out / "sweep.json"
    path.write_text(json.dumps(sweep_summary(grid, sweep_id, results), indent=2) + "\n",
                    encoding="utf-8")  # fmt: skip
    return path


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
