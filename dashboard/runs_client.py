"""The dashboard's one door to the runs: ``mtlcore.runs`` (SQLite store + worker processes).

Training never happens in the server process: :func:`submit` queues the config in
the run store and the executor's warm worker processes run it; the pages only read
what the runs write (status, progress, metric rows, snapshots, result files). One
executor serves the whole server (every browser session), so a run keeps going
when its tab is closed. The store lives in ``MTL_STUDIO_HOME``; when that changes
(tests give every test its own), the next call gets a fresh store and executor.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from mtlcore.config import ExperimentConfig
from mtlcore.runs import (
    Artifact,
    ExperimentInfo,
    LocalExecutor,
    MetricRow,
    RunInfo,
    RunStore,
    StoredSnapshot,
    default_workers,
    load_snapshot,
    studio_home,
)

log = logging.getLogger(__name__)

# Set MTL_STUDIO_EAGER_WORKERS=0 to start the workers only on the first Train press.
EAGER_ENV = "MTL_STUDIO_EAGER_WORKERS"
WORKERS_ENV = "MTL_STUDIO_WORKERS"

_lock = threading.RLock()
_stores: dict[Path, RunStore] = {}
_executor: LocalExecutor | None = None
_executor_home: Path | None = None
_warming = False

__all__ = [
    "MetricsFeed",
    "artifact_paths",
    "cancel",
    "delete",
    "executor",
    "experiment",
    "experiment_runs",
    "list_runs",
    "metrics",
    "predictions",
    "rename",
    "result",
    "shutdown",
    "snapshot",
    "snapshots",
    "status",
    "store",
    "submit",
    "warm_up_in_background",
]


def home() -> Path:
    return studio_home().expanduser().resolve()


def store() -> RunStore:
    """The run store of the current MTL_STUDIO_HOME (one per home, shared by threads)."""
    h = home()
    with _lock:
        if h not in _stores:
            _stores[h] = RunStore(h)
        return _stores[h]


def executor() -> LocalExecutor:
    """The server's executor (started on first use; replaced when the home changes)."""
    global _executor, _executor_home
    h = home()
    with _lock:
        if _executor is not None and _executor_home != h:
            shutdown()
        if _executor is None:
            workers = int(os.environ.get(WORKERS_ENV, "0")) or default_workers()
            _executor, _executor_home = LocalExecutor(store(), workers=workers), h
        return _executor


def warm_up_in_background() -> None:
    """Start the worker processes in a thread, so the first Train press starts at once."""
    global _warming
    if os.environ.get(EAGER_ENV, "1") == "0":
        return
    with _lock:
        if _warming or (_executor is not None and _executor_home == home()):
            return
        _warming = True
    threading.Thread(target=_warm, name="mtl-studio-warm-up", daemon=True).start()


def _warm() -> None:
    global _warming
    try:
        executor()
    except Exception:  # the first submit tries again and reports
        log.exception("could not start the run workers")
    finally:
        _warming = False


def shutdown() -> None:
    """Stop the executor (cancels its running runs). Tests call it between tests."""
    global _executor, _executor_home
    with _lock:
        ex, _executor, _executor_home = _executor, None, None
    if ex is not None:
        ex.shutdown(timeout=5.0)


# --- runs ------------------------------------------------------------------------------


def submit(config: ExperimentConfig, name: str | None = None) -> tuple[int, list[int]]:
    """Queue ``config`` (one run per seed); returns (experiment id, run ids)."""
    ids = executor().submit(config, name=name)
    return store().run(ids[0]).experiment_id, ids


def status(run_id: int) -> RunInfo:
    return store().run(run_id)


def experiment(experiment_id: int) -> ExperimentInfo:
    return store().experiment(experiment_id)


def experiment_runs(experiment_id: int) -> list[RunInfo]:
    """The runs of an experiment (one per seed), in seed order."""
    runs = store().runs(experiment_id=experiment_id)
    return sorted(runs, key=lambda r: r.id)


def list_runs(limit: int = 500) -> list[RunInfo]:
    """Every run, newest first."""
    return store().runs(limit=limit)


def cancel(run_id: int) -> RunInfo:
    return store().request_cancel(run_id)


def delete(run_id: int) -> None:
    store().delete_run(run_id)


def metrics(run_id: int, after: int = 0) -> pd.DataFrame:
    """Metric rows of a run (columns of MetricRow), only those with id > ``after``."""
    return store().metrics_frame(run_id, after=after)


def empty_metrics() -> pd.DataFrame:
    return pd.DataFrame(columns=list(MetricRow._fields))


class MetricsFeed:
    """A run's metric rows, fetched incrementally (only new rows on every poll)."""

    def __init__(self, run_id: int):
        self.run_id = run_id
        self.last_id = 0
        self.frames: list[pd.DataFrame] = []
        self._frame: pd.DataFrame | None = None

    def poll(self) -> pd.DataFrame:
        new = metrics(self.run_id, after=self.last_id)
        if len(new):
            self.last_id = int(new["id"].iloc[-1])
            self.frames.append(new)
            self._frame = None
        return self.frame

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = (
                pd.concat(self.frames, ignore_index=True) if self.frames else empty_metrics()
            )
        return self._frame


def result(run_id: int) -> dict[str, Any] | None:
    """The full result.json of a done run, or None."""
    files = artifact_paths(run_id)
    path = files.get("result")
    if path is None or not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def artifact_paths(run_id: int) -> dict[str, Path]:
    """kind -> path of a run's result, config and weights files."""
    return {a.kind: a.path for a in store().artifacts(run_id) if a.kind != "snapshot"}


def snapshots(run_id: int, model: str | None = None) -> list[Artifact]:
    """A run's representation snapshots, by model then epoch."""
    return store().snapshots(run_id, model=model)


def snapshot(path: str | Path) -> StoredSnapshot:
    return load_snapshot(path)


def rename(run_ids: Sequence[int], name: str) -> None:
    """Give runs a new display name (1-200 characters; RunStateError otherwise)."""
    for rid in run_ids:
        store().rename(rid, name)


def predictions(run_id: int) -> pd.DataFrame | None:
    """The test-set predictions of a done run (seed, model, task, row, truth, prediction)."""
    path = artifact_paths(run_id).get("predictions")
    if path is None or not path.is_file():
        return None
    return pd.read_csv(path, keep_default_na=False, na_values=[""])
