"""What the run store hands out: runs, experiments, metric rows, artifacts, and its errors."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

RunStatus = Literal["queued", "running", "done", "failed", "cancelled"]
QUEUED: RunStatus = "queued"
RUNNING: RunStatus = "running"
DONE: RunStatus = "done"
FAILED: RunStatus = "failed"
CANCELLED: RunStatus = "cancelled"
STATUSES: tuple[RunStatus, ...] = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
FINISHED: frozenset[str] = frozenset({DONE, FAILED, CANCELLED})


class RunStoreError(RuntimeError):
    """A request the run store cannot carry out; the message says why and what to do."""


class RunNotFound(RunStoreError, LookupError):
    """No run (or experiment) has the given id."""


class RunStateError(RunStoreError):
    """The run is in the wrong state for the request (e.g. deleting a running run)."""


class QueueFull(RunStoreError):
    """Too many runs are already waiting."""


@dataclass(frozen=True)
class RunInfo:
    """One run (one seed of one experiment) as the store last saw it.

    ``step``/``total_steps``/``progress`` count the whole run (multi-task model,
    then the single-task baselines); ``phase`` is the model training now
    (``"mtl"`` or ``"stl"``) and ``epoch`` its epoch. Times are Unix seconds.
    ``result`` is a small summary of ``result.json`` once the run is done.
    """

    id: int
    experiment_id: int
    name: str
    seed: int
    status: RunStatus
    config_yaml: str
    created: float
    started: float | None
    finished: float | None
    updated: float | None
    error: str | None
    error_detail: str | None
    worker_pid: int | None
    worker_token: str | None
    cancel_requested: float | None
    phase: str | None
    epoch: int
    step: int
    total_steps: int
    progress: float
    result: dict[str, Any] | None
    artifact_dir: Path
    sweep_id: int | None = None  # the sweep this run belongs to (mtlcore.sweep), if any
    sweep_cell: int | None = None  # its cell in that sweep's grid (0-based, grid order)

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def elapsed(self) -> float | None:
        """Seconds since the run started (until it finished), or None before it starts."""
        if self.started is None:
            return None
        return (self.finished or time.time()) - self.started

    @property
    def eta_seconds(self) -> float | None:
        """Estimated seconds left, from the progress so far; None when unknown."""
        elapsed = self.elapsed
        if self.status != RUNNING or elapsed is None or self.progress <= 0.0:
            return None
        return max(0.0, elapsed * (1.0 - self.progress) / self.progress)

    def config(self):
        """The run's :class:`~mtlcore.config.ExperimentConfig` (one seed)."""
        from mtlcore.config import ExperimentConfig

        return ExperimentConfig.from_text(self.config_yaml, source=f"run {self.id} config")

    @classmethod
    def from_row(cls, row: sqlite3.Row, artifact_dir: Path) -> RunInfo:
        return cls(
            id=row["id"],
            experiment_id=row["experiment_id"],
            name=row["name"],
            seed=row["seed"],
            status=row["status"],
            config_yaml=row["config"],
            created=row["created"],
            started=row["started"],
            finished=row["finished"],
            updated=row["updated"],
            error=row["error"],
            error_detail=row["error_detail"],
            worker_pid=row["worker_pid"],
            worker_token=row["worker_token"],
            cancel_requested=row["cancel_requested"],
            phase=row["phase"],
            epoch=row["epoch"],
            step=row["step"],
            total_steps=row["total_steps"],
            progress=row["progress"],
            result=json.loads(row["result"]) if row["result"] else None,
            artifact_dir=artifact_dir,
            sweep_id=row["sweep_id"],
            sweep_cell=row["sweep_cell"],
        )


@dataclass(frozen=True)
class ExperimentInfo:
    """A request as submitted: its config (all seeds) and the runs it became, one per seed."""

    id: int
    name: str
    created: float
    config_yaml: str
    run_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class SweepInfo:
    """A sweep as started: its resolved spec (JSON, see ``mtlcore.sweep``) and its runs."""

    id: int
    name: str
    created: float
    spec: str
    fingerprint: str
    run_ids: list[int] = field(default_factory=list)


class MetricRow(NamedTuple):
    """One long-format metric row; ``id`` grows with every row written (for polling)."""

    id: int
    run_id: int
    step: int
    epoch: int
    model: str
    task: str
    split: str
    name: str
    value: float


METRIC_COLUMNS: tuple[str, ...] = MetricRow._fields


@dataclass(frozen=True)
class Artifact:
    """A file a run wrote: ``kind`` is result, config, weights or snapshot."""

    id: int
    run_id: int
    kind: str
    path: Path
    created: float
    meta: dict[str, Any]
