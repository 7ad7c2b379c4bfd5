"""Putting a sweep's runs into the run store, and reading where they stand.

A sweep's members are ordinary runs (one per cell and seed) tagged with the sweep
and their cell, so the same workers run them (the local pool, or Ray through
``mtlcore.runs.ray_backend``), ``runs list`` shows them and the pages read them.
Starting a sweep whose grid the store already holds resumes it: a cell-seed with a
queued, running or done run is left alone, the rest (never submitted, failed,
cancelled) are submitted again. So re-running the same command, or pressing Run on
the same grid after a restart, continues where the sweep stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mtlcore.runs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, RunInfo, RunStore
from mtlcore.sweep._spec import Cell, Grid

LIVE = (QUEUED, RUNNING, DONE)


@dataclass
class Started:
    """What :func:`start_sweep` did: the sweep's id, whether it existed, the new runs."""

    sweep_id: int
    resumed: bool
    submitted: list[int] = field(default_factory=list)


def start_sweep(store: RunStore, grid: Grid) -> Started:
    """Record the sweep (or find it again) and queue every cell-seed not yet queued,
    running or done. Every cell runs with baselines on: a group's first cell (its
    owner, queued first) trains them and the store's baseline cache hands them to the
    group's other cells (``mtlcore.runs._baselines``), so each run's own result.json
    has its Δm."""
    found = store.find_sweep(grid.fingerprint)
    sweep_id = found.id if found else store.create_sweep(grid.name, grid.spec_json(),
                                                         grid.fingerprint)  # fmt: skip
    have = {(r.sweep_cell, r.seed) for r in latest_runs(store, sweep_id).values()
            if r.status in LIVE}  # fmt: skip
    owners = set(grid.owners)
    order = sorted(grid.cells, key=lambda c: (c.index not in owners, c.index))
    submitted: list[int] = []
    for cell in order:
        missing = [s for s in grid.seeds if (cell.index, s) not in have]
        if missing:
            config = cell.member_config(missing, trains_baselines=True)
            submitted += store.submit(config, name=member_name(grid, cell),
                                      sweep=(sweep_id, cell.index))  # fmt: skip
    return Started(sweep_id, found is not None, submitted)


def member_name(grid: Grid, cell: Cell) -> str:
    """The run name of a cell's runs: the sweep's name and the cell's values."""
    return f"{grid.name} · {cell.label}"[:200]


def latest_runs(store: RunStore, sweep_id: int) -> dict[tuple[int, int], RunInfo]:
    """The newest run of each (cell, seed) of a sweep (a resumed cell-seed has several)."""
    latest: dict[tuple[int, int], RunInfo] = {}
    for run in sorted(store.runs(sweep_id=sweep_id), key=lambda r: r.id):
        if run.sweep_cell is not None:
            latest[(run.sweep_cell, run.seed)] = run
    return latest


@dataclass(frozen=True)
class CellProgress:
    """Where one cell stands: its seeds' newest runs by status, and their mean progress."""

    index: int
    label: str
    runs: list[RunInfo]
    progress: float  # 0..1 over the sweep's seeds (a seed never submitted counts 0)
    n_seeds: int  # the sweep's seeds: a cell is done when each has a done run

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.runs)

    @property
    def status(self) -> str:
        """done when every seed is done; else running, queued (also a seed not queued
        yet), failed or cancelled, in that order of precedence (what the user most needs
        to know about the cell)."""
        statuses = {r.status for r in self.runs}
        if len(self.runs) == self.n_seeds and statuses == {DONE}:
            return DONE
        if len(self.runs) < self.n_seeds:
            statuses.add(QUEUED)
        return next(s for s in (RUNNING, QUEUED, FAILED, CANCELLED) if s in statuses)


def progress(store: RunStore, sweep_id: int, grid: Grid) -> list[CellProgress]:
    """Per cell, its seeds' newest runs and progress (grid order)."""
    latest = latest_runs(store, sweep_id)
    out = []
    for cell in grid.cells:
        runs = [latest[(cell.index, s)] for s in grid.seeds if (cell.index, s) in latest]
        done = sum(1.0 if r.status == DONE else r.progress for r in runs)
        out.append(CellProgress(cell.index, cell.label, runs, done / len(grid.seeds),
                                len(grid.seeds)))  # fmt: skip
    return out


def finished(cells: list[CellProgress], n_seeds: int) -> bool:
    """Whether no run of the sweep is left to run (every seed of every cell ended)."""
    return all(len(c.runs) == n_seeds and all(r.is_finished for r in c.runs) for c in cells)


def sweep_grid(store: RunStore, sweep_id: int) -> Grid:
    """The grid of a stored sweep."""
    return Grid.from_spec_json(store.sweep(sweep_id).spec)
