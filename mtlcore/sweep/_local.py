"""Running a grid's cells in this process, without the run store.

The claim tests and ``bench/measure_lessons.py`` run a lesson's grid this way (the
store and its workers are for the dashboard and the ``sweep`` command): the same
cells, the same baseline groups — a group's first cell trains the baselines, the
others reuse them — and each cell compared with its group's baselines by the
engine's own :func:`mtlcore.analysis.compare`, paired by seed. Training is imported
when a cell runs; importing this module needs no torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mtlcore.analysis import compare
from mtlcore.sweep._spec import Cell, Grid

Result = dict[str, Any]  # result.json of one cell, all its seeds


def run_cells(
    grid: Grid,
    cells: Iterable[Cell] | None = None,
    *,
    run: Callable[[Any], Result] | None = None,
) -> dict[int, Result]:
    """Run ``cells`` (default: all) and the cells that train their groups' baselines, on
    the grid's seeds; cell index -> its result (a reusing cell's has no single-task values:
    :func:`against_baselines` pairs them). ``run(config) -> result`` defaults to
    :func:`mtlcore.experiment.run_experiment`'s result."""
    if run is None:
        from mtlcore.experiment import run_experiment

        def run(config: Any) -> Result:
            return run_experiment(config)[0]

    wanted = list(grid.cells if cells is None else cells)
    owners = set(grid.owners)
    order = sorted({c.index for c in wanted} | {grid.owners[c.group] for c in wanted},
                   key=lambda i: (i not in owners, i))  # fmt: skip
    out: dict[int, Result] = {}
    for index in order:
        cell = grid.cells[index]
        config = cell.member_config(grid.seeds, trains_baselines=index in owners)
        out[index] = run(config)
    return out


def against_baselines(grid: Grid, results: dict[int, Result], cell: Cell) -> Result:
    """The cell's comparison (``compare``'s keys: per task ``gain_by_seed`` ..., Δm with
    its interval and verdict): its multi-task values against the single-task values its
    baseline group's first cell trained, paired by seed."""
    mine, owner = results[cell.index], results[grid.owners[cell.group]]
    return compare(
        {
            name: {
                "higher_is_better": entry["higher_is_better"],
                "mtl_by_seed": mine["tasks"][name]["mtl_by_seed"],
                "stl_by_seed": entry["stl_by_seed"],
            }
            for name, entry in owner["tasks"].items()
        }
    )
