"""Runs in the background: a run store (SQLite + files) and executors that run it.

The dashboard and the CLI use this package to submit experiments, list runs,
poll their progress and metrics, cancel them and read their snapshots::

    from mtlcore.runs import LocalExecutor, RunStore, load_snapshot

    store = RunStore()                      # MTL_STUDIO_HOME or ~/.mtl-studio
    executor = LocalExecutor(store)         # warm worker processes; one per server
    run_ids = executor.submit(config)       # one run per seed, one experiment
    run = store.run(run_ids[0])             # status, progress, eta_seconds, error, result
    rows = store.metrics(run.id, after=0)   # long metric rows; poll with after=rows[-1].id
    executor.cancel(run.id)                 # stops within a second, keeps the metrics
    snaps = [load_snapshot(a.path) for a in store.snapshots(run.id, model="mtl")]
    executor.shutdown()

Statuses: queued -> running -> done | failed | cancelled (a queued run can be
cancelled directly). A run with baselines on reuses single-task baselines an earlier
run of the store trained for the same data and settings (``cached_baselines``,
``clear_baselines``; see ``mtlcore.runs._baselines``). See the README section "Runs
in the background".
"""

from mtlcore.runs._baselines import (
    CachedBaseline,
    StoreBaselines,
    baseline_key,
    cached_baselines,
    clear_baselines,
    reuse_note,
)
from mtlcore.runs._db import SCHEMA_VERSION, StoreError
from mtlcore.runs._executor import Executor, LocalExecutor, default_workers
from mtlcore.runs._home import HOME_ENV, studio_home
from mtlcore.runs._hygiene import UPLOAD_DAYS, Tidied, tidy
from mtlcore.runs._liveness import ORPHAN_REASON
from mtlcore.runs._recorder import RunRecorder, cosine_rows, epoch_rows
from mtlcore.runs._records import (
    CANCELLED,
    DONE,
    FAILED,
    FINISHED,
    QUEUED,
    RUNNING,
    STATUSES,
    Artifact,
    ExperimentInfo,
    MetricRow,
    QueueFull,
    RunInfo,
    RunNotFound,
    RunStateError,
    RunStatus,
    RunStoreError,
    SweepInfo,
)
from mtlcore.runs._snapshots import StoredSnapshot, load_snapshot
from mtlcore.runs._store import RunStore, parse_run_id
from mtlcore.runs._worker import drain_queue, execute_run

__all__ = [
    "CANCELLED",
    "DONE",
    "FAILED",
    "FINISHED",
    "HOME_ENV",
    "ORPHAN_REASON",
    "QUEUED",
    "RUNNING",
    "SCHEMA_VERSION",
    "UPLOAD_DAYS",
    "STATUSES",
    "Artifact",
    "CachedBaseline",
    "Executor",
    "ExperimentInfo",
    "LocalExecutor",
    "MetricRow",
    "QueueFull",
    "RunInfo",
    "RunNotFound",
    "RunRecorder",
    "RunStateError",
    "RunStatus",
    "RunStore",
    "RunStoreError",
    "StoreBaselines",
    "StoreError",
    "StoredSnapshot",
    "SweepInfo",
    "Tidied",
    "baseline_key",
    "cached_baselines",
    "clear_baselines",
    "cosine_rows",
    "default_workers",
    "drain_queue",
    "epoch_rows",
    "execute_run",
    "load_snapshot",
    "parse_run_id",
    "reuse_note",
    "studio_home",
    "tidy",
]
