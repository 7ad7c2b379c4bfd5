"""Running a grid's cells in this process, without the run store.

The claim tests and ``bench/measure_lessons.py`` run a lesson's grid this way (the
store and its workers are for the dashboard and the ``sweep`` command): the same
cells, the same baseline groups — a group's first cell trains the baselines, the
others reuse them — and each cell compared with its group's baselines by the
engine's own :func:`mtlcore.analysis.compare`, paired by seed. Training is imported
when a cell runs; importing this module needs no torch.

::

    grid = LESSONS["loss-scales"].sweep(changes=measurements_off())
    results = by_variant(grid, run_cells(grid))      # preset -> its result
    results["gradnorm"]["tasks"]["task0"]["gain_by_seed"]   # against equal's baselines
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mtlcore.analysis import compare
from mtlcore.sweep._spec import Cell, Grid

Result = dict[str, Any]  # result.json of one cell, all its seeds


def measurements_off(*, snapshots: bool = False) -> dict[str, Any]:
    """What a claim test changes in every preset of its grid (``Lesson.sweep(changes=...)``):
    the measurements no claim reads off — gradient cosines, task affinity and, unless
    ``snapshots``, the snapshots (they do not change the training) — on the CPU. A test
    that reads the snapshots also passes ``snapshots=True`` to :func:`run_cells`."""
    off = {"train.grad_cosine_every": 0, "train.affinity_every": 0, "train.device": "cpu"}
    return off if snapshots else {**off, "train.snapshot_every": 0}


def run_cell(config: Any, *, snapshots: bool = False) -> Result:
    """One cell's config run by :func:`mtlcore.experiment.run_experiment`: its result;
    with ``snapshots``, also ``result["snapshots"]``: (seed, ``"mtl"``/``"stl"``) -> its
    snapshots in epoch order, as the pages get them (objects, not JSON)."""
    from mtlcore.experiment import run_experiment

    if not snapshots:
        return run_experiment(config)[0]
    kept: dict[tuple[int, str], list[Any]] = {}

    def keep(event: Any) -> None:
        if event.kind == "snapshot" and event.snapshot is not None:
            kept.setdefault((event.seed, event.model), []).append(event.snapshot)

    result = run_experiment(config, keep)[0]
    return {**result, "snapshots": kept}


def run_cells(
    grid: Grid,
    cells: Iterable[Cell] | None = None,
    *,
    run: Callable[[Any], Result] | None = None,
    snapshots: bool = False,
) -> dict[int, Result]:
    """Run ``cells`` (default: all) and the cells that train their groups' baselines, on
    the grid's seeds; cell index -> its result (a reusing cell's has no single-task values:
    :func:`against_baselines` pairs them). ``run(config) -> result`` defaults to
    :func:`run_cell` (``snapshots``: with the cell's snapshots)."""
    if run is None:

        def run(config: Any) -> Result:
            return run_cell(config, snapshots=snapshots)

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


def by_variant(grid: Grid, results: dict[int, Result]) -> dict[str, Result]:
    """Variant (a lesson's preset) -> its cell's result as if the cell had trained its own
    baselines: its tasks and Δm compared with its group's (:func:`against_baselines`), each
    task's ``metrics_stl`` theirs, the rest of its result (history, weighting state,
    snapshots ...) as it ran. Only the variants' first cells that are in ``results``."""
    out: dict[str, Result] = {}
    for name in grid.variants:
        cell = grid.variant(name)
        if cell.index not in results:
            continue
        mine, cmp = results[cell.index], against_baselines(grid, results, cell)
        owner = results[grid.owners[cell.group]]["tasks"]
        tasks = {t: {**entry, "metrics_stl": owner[t].get("metrics_stl"), **cmp["tasks"][t]}
                 for t, entry in mine["tasks"].items()}  # fmt: skip
        out[name] = {**mine, **cmp, "tasks": tasks}
    return out
