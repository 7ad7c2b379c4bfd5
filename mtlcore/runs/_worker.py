"""Running one stored run, and the loop of a warm worker process.

:func:`execute_run` does one run in the current process: ``run_experiment`` on
the run's one-seed config with a :class:`RunRecorder` as the callback and the
store's baseline cache (:mod:`mtlcore.runs._baselines`), then the
same files as ``python -m mtlcore train --out`` into the run's folder, then the
final status. Every way a run can end is recorded: done, cancelled (the
recorder's callback returned False), or failed with a readable reason
(divergence, a bad config or data, any other exception with its traceback kept in
``error_detail``). The CLI calls it in the foreground; worker processes call it
from :func:`worker_main`.

:func:`worker_main` is the body of a worker process: it imports torch and the
engine once (so a run starts at once), then claims queued runs from the store one
at a time until told to stop or its parent process is gone. It keeps its last prepared
data (:func:`prepared_data`) for a next run on the same data.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable
from typing import Any

from mtlcore.runs._liveness import process_token
from mtlcore.runs._records import CANCELLED, DONE, FAILED
from mtlcore.runs._store import RunStore

# How long an idle worker sleeps between looks at the queue when nobody wakes it.
IDLE_POLL_SECONDS = 1.0
# The last prepared data of this process, reused by its next run on the same data (the
# experiment's next seed, or the same data with other settings): preparing it (per task
# imputers and encoders) is most of the time from a run's start to its first epoch. Kept
# only up to this size; CSV files are keyed by their size and modification time too.
KEEP_DATA_BYTES = 64 * 2**20
_kept: tuple[str, Any] | None = None


def prepared_data(config: Any) -> Any:
    """``prepare_data(config)``, or this process's last prepared data when the config's
    data settings, tasks and CSV files are the same (training only reads it, as the seeds
    of one ``run_experiment`` call share one preparation)."""
    global _kept
    from mtlcore import experiment

    key = _data_key(config)
    if key is not None and _kept is not None and _kept[0] == key:
        return _kept[1]
    _kept = None  # let the old data go before preparing the next
    data = experiment.prepare_data(config)
    if key is not None and _data_bytes(data) <= KEEP_DATA_BYTES:
        _kept = (key, data)
    return data


def _data_key(config: Any) -> str | None:
    try:
        files = {n: [os.stat(p).st_size, os.stat(p).st_mtime_ns]
                 for n, p in (config.data.csv or {}).items()}  # fmt: skip
    except OSError:
        return None  # prepare_data says what is wrong
    raw = config.model_dump(mode="json")
    return json.dumps([raw["data"], raw.get("tasks"), files], sort_keys=True)


def _data_bytes(data: Any) -> int:
    arrays = [a for t in data.tasks for part in (t.X, t.y) for a in part.values()]
    tables = sum(int(df.memory_usage(deep=True).sum()) for df in data.dataset.tables.values())
    return sum(a.nbytes for a in arrays) + tables


def execute_run(
    store: RunStore,
    run_id: int,
    *,
    on_event: Callable[[Any], None] | None = None,
    **recorder_options: Any,
) -> str:
    """Run a claimed (running) run to its end in this process; returns the final status.

    ``on_event`` also sees every TrainEvent (the CLI prints progress with it);
    ``recorder_options`` go to :class:`RunRecorder`. ``KeyboardInterrupt`` marks
    the run cancelled and propagates.
    """
    from mtlcore.config import ConfigError
    from mtlcore.data.spec import DataError
    from mtlcore.experiment import run_experiment, total_steps, write_outputs
    from mtlcore.runs._baselines import StoreBaselines
    from mtlcore.runs._recorder import RunRecorder
    from mtlcore.train import DivergenceError, TrainingCancelled

    recorder: RunRecorder | None = None

    def end(status: str, error: str | None = None, detail: str | None = None, **kw) -> str:
        if recorder is not None:
            with contextlib.suppress(Exception):  # the status matters more than the last rows
                recorder.flush()  # keep the metrics so far
        store.finish(run_id, status, error=error, error_detail=detail, **kw)
        return status

    try:
        config = store.run(run_id).config()
        data = prepared_data(config)
        total = total_steps(config, data)
        recorder = RunRecorder(store, run_id, total_steps=total, **recorder_options)
        if store.cancel_requested(run_id):
            raise TrainingCancelled("cancelled before training started")
        callback = recorder
        if on_event is not None:

            def callback(event: Any) -> bool:
                on_event(event)
                return recorder(event)

        cache = StoreBaselines.for_run(store, run_id, config) if config.baselines else None
        result, seed_runs = run_experiment(config, callback, data=data, baseline_cache=cache)
        recorder.flush()
        paths = write_outputs(store.run_dir(run_id), config, result, seed_runs)
        artifacts = [(kind, path, {}) for kind, path in paths.items()]
        return end(DONE, result=result_summary(result), artifacts=artifacts)
    except TrainingCancelled:
        return end(CANCELLED, "cancelled")
    except KeyboardInterrupt:
        end(CANCELLED, "interrupted (Ctrl-C)")
        raise
    except (DivergenceError, ConfigError, DataError) as exc:
        return end(FAILED, str(exc))
    except Exception as exc:
        return end(FAILED, f"{type(exc).__name__}: {exc}", traceback.format_exc())


# What the pages need of a run's result: per task the comparison (with per-seed values,
# so ``mtlcore.analysis.combine_results`` can pool the one-seed runs of an experiment)
# and the trivial baseline; the same for Δm.
SUMMARY_TASK_KEYS = (
    "kind", "metric", "higher_is_better", "mtl", "mtl_std", "stl", "stl_std", "gain",
    "gain_std", "gain_low", "gain_high", "confidence", "verdict", "mtl_by_seed",
    "stl_by_seed", "gain_by_seed", "trivial",
)  # fmt: skip
SUMMARY_KEYS = (
    "delta_m", "delta_m_std", "delta_m_low", "delta_m_high", "delta_m_verdict",
    "delta_m_by_seed", "confidence", "seeds", "baselines_by_seed",
)  # fmt: skip


def result_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The numbers of ``result.json`` that the run list and the pages show."""
    tasks = {name: {k: t.get(k) for k in SUMMARY_TASK_KEYS} for name, t in result["tasks"].items()}
    return {
        "tasks": tasks,
        **{k: result.get(k) for k in SUMMARY_KEYS},
        "seconds": result.get("timings", {}).get("total_seconds"),
    }


def warm_up() -> None:
    """Import torch and the engine and train a tiny model once, so a real run starts at once.

    The first optimiser alone pulls in ``torch._dynamo`` (seconds); a throw-away run
    on a few synthetic rows loads that and every other lazy import up front.
    """
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("MKL_NUM_THREADS", "1")
    import torch

    from mtlcore.config import ExperimentConfig
    from mtlcore.experiment import run_experiment

    torch.set_num_threads(1)  # one run per worker; workers, not threads, give parallelism
    tiny = {
        "data": {"builtin": "synthetic", "options": {"n_rows": 40, "n_features": 4}},
        "model": {"hidden": [4, 4]},
        "train": {"epochs": 1, "batch_size": 16, "snapshot_every": 1, "snapshot_rows": 4},
    }
    with contextlib.suppress(Exception):  # a failed warm-up only makes the first run slower
        run_experiment(ExperimentConfig.parse(tiny))


def worker_main(
    store: RunStore, wake, stop, ready, idle_poll_seconds: float = IDLE_POLL_SECONDS
) -> None:
    """Body of a worker process (see the module docstring). ``wake``, ``stop`` and
    ``ready`` are multiprocessing Events shared with the executor; with the queue empty
    the worker looks again when woken or after ``idle_poll_seconds``. A worker whose
    executor's process is gone finishes its run and exits."""
    # Ctrl-C in the server's terminal reaches its workers too; the server's shutdown
    # cancels their runs properly instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warm_up()
    token, pid = process_token(), os.getpid()
    parent = multiprocessing.parent_process()
    ready.set()
    while not stop.is_set() and (parent is None or parent.is_alive()):
        run_id = store.claim_next(token, pid)
        if run_id is None:
            wake.wait(idle_poll_seconds)
            wake.clear()
            continue
        execute_run(store, run_id)


def drain_queue(store: RunStore) -> list[tuple[int, str]]:
    """Run queued runs in this process until none is left; (run id, status) of each."""
    warm_up()
    token, pid = process_token(), os.getpid()
    done = []
    while (run_id := store.claim_next(token, pid)) is not None:
        done.append((run_id, execute_run(store, run_id)))
    return done
