"""Executors: where queued runs are run. One small interface, a local implementation.

:class:`Executor` is what the dashboard talks to: ``submit`` a config (one run
per seed, grouped under one experiment), ``cancel`` a run, ``shutdown``. Runs and
their state live in the :class:`RunStore`, so a later cluster engine only has to
claim runs from the same store and honour the same cancel flag.

:class:`LocalExecutor` keeps ``workers`` warm worker processes, so a submitted run
starts within a fraction of a second. Workers are forked by multiprocessing's
``forkserver``, a clean process that has imported torch and the engine once
(``_preload``): a new or replacement worker is ready in well under a second,
not the seconds a fresh interpreter needs (``start_method="spawn"`` is that
fresh interpreter, for platforms without forkserver). The queue is the store:
queued runs survive a restart and are picked up again; at most ``max_queued`` may
wait. ``submit`` wakes the idle workers; runs queued into the store another way (a
sweep's ``start_sweep``) are seen at the workers' next look, every
``idle_poll_seconds``, or at once after :meth:`LocalExecutor.wake`. A supervisor
thread (it only watches; training never runs in the server
process) waits on the workers' process sentinels: when a worker dies, even by
SIGKILL, its run is marked failed with the reason and a new worker takes its
place. On start, runs left ``running`` by a process that no longer exists are
marked failed (any process that reads the store does that too, see ``_store``),
and the home folder is tidied (``_hygiene``: old unused uploads, old logs, WAL).
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing as mp
import os
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for_sentinels
from typing import TYPE_CHECKING, Any

from mtlcore.runs._hygiene import tidy
from mtlcore.runs._liveness import process_token, worker_death_reason
from mtlcore.runs._records import RUNNING, RunInfo
from mtlcore.runs._store import RunStore
from mtlcore.runs._worker import IDLE_POLL_SECONDS, worker_main

if TYPE_CHECKING:
    from mtlcore.config import ExperimentConfig

log = logging.getLogger(__name__)

PRELOAD_MODULE = "mtlcore.runs._preload"
SHUTDOWN_REASON = "the executor shut down before the run finished"


def default_workers() -> int:
    """Concurrent runs by default: one per two cores (each run trains on one thread)."""
    return max(1, (os.cpu_count() or 1) // 2)


class Executor(ABC):
    """Runs the runs of a :class:`RunStore`. Use it as a context manager or call shutdown()."""

    store: RunStore

    @abstractmethod
    def submit(self, config: ExperimentConfig, *, name: str | None = None) -> list[int]:
        """Queue one run per seed of ``config`` under one experiment; return the run ids."""

    @abstractmethod
    def cancel(self, run_id: int | str) -> RunInfo:
        """Stop a run (within a second if running); return it as it is now."""

    @abstractmethod
    def shutdown(self, *, cancel_running: bool = True, timeout: float | None = 10.0) -> None:
        """Stop executing. Running runs are cancelled (or, with ``cancel_running=False``,
        awaited up to ``timeout``); queued runs stay queued for the next executor."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()


@dataclass
class _Worker:
    process: Any
    token: str
    wake: Any
    stop: Any
    ready: Any
    started: float = field(default_factory=time.monotonic)


class LocalExecutor(Executor):
    """Worker processes on this machine (see the module docstring)::

    with LocalExecutor(RunStore(), workers=1) as ex:
        [run_id] = ex.submit(config)
    """

    def __init__(
        self,
        store: RunStore | None = None,
        *,
        workers: int | None = None,
        max_queued: int = 100,
        start_method: str = "forkserver",
        idle_poll_seconds: float = IDLE_POLL_SECONDS,
    ):
        if start_method not in ("forkserver", "spawn"):
            raise ValueError("start_method: 'forkserver' or 'spawn' (fork is unsafe with torch)")
        self.store = store or RunStore()
        self.n_workers = workers or default_workers()
        if self.n_workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.max_queued = max_queued
        self.idle_poll_seconds = idle_poll_seconds
        self.orphans_failed: list[int] = []
        self._ctx = mp.get_context(start_method)
        if start_method == "forkserver":  # applies when this process starts its forkserver
            self._ctx.set_forkserver_preload([PRELOAD_MODULE])
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._closed = False
        self._workers: list[_Worker] = []
        self._quick_deaths = 0
        self._start()

    # --- public ------------------------------------------------------------------

    def submit(self, config: ExperimentConfig, *, name: str | None = None) -> list[int]:
        if self._closing.is_set():
            raise RuntimeError("this executor has been shut down")
        ids = self.store.submit(config, name=name, max_queued=self.max_queued)
        self.wake()
        return ids

    def cancel(self, run_id: int | str) -> RunInfo:
        return self.store.request_cancel(run_id)

    def wake(self) -> None:
        """Have the idle workers look at the queue now: after queuing runs into the store
        without :meth:`submit` (``mtlcore.sweep.start_sweep``), instead of at their next
        look (up to ``idle_poll_seconds``: a second by default)."""
        with self._lock:
            for w in self._workers:
                w.wake.set()

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Wait until every worker has imported torch and waits for work."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                workers = list(self._workers)
            if len(workers) == self.n_workers and all(w.ready.is_set() for w in workers):
                return True
            time.sleep(0.02)
        return False

    @property
    def worker_pids(self) -> list[int]:
        with self._lock:
            return [w.process.pid for w in self._workers]

    def shutdown(self, *, cancel_running: bool = True, timeout: float | None = 10.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            workers = list(self._workers)
        self._closing.set()
        atexit.unregister(self._atexit)
        tokens = {w.token for w in workers}
        if cancel_running:
            for run in self.store.runs(status=RUNNING):
                if run.worker_token in tokens:
                    self.store.request_cancel(run.id)
        for w in workers:
            w.stop.set()
            w.wake.set()
        self._supervisor.join()
        deadline = None if timeout is None else time.monotonic() + timeout
        for w in workers:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            w.process.join(left)
            if w.process.is_alive():
                w.process.terminate()
                w.process.join(2.0)
            if w.process.is_alive():
                w.process.kill()
                w.process.join()
            self.store.fail_runs_of(w.token, SHUTDOWN_REASON)

    # --- inside ------------------------------------------------------------------

    def _start(self) -> None:
        self.orphans_failed = self.store.fail_orphaned_runs()
        try:
            tidy(self.store)
        except OSError:  # housekeeping must never keep the workers from starting
            log.exception("tidying %s failed", self.store.home)
        with self._lock:
            for _ in range(self.n_workers):
                self._workers.append(self._spawn())
        self._supervisor = threading.Thread(
            target=self._supervise, name="mtl-runs-supervisor", daemon=True
        )
        self._supervisor.start()
        atexit.register(self._atexit)

    def _spawn(self) -> _Worker:
        wake, stop, ready = self._ctx.Event(), self._ctx.Event(), self._ctx.Event()
        process = self._ctx.Process(
            target=worker_main,
            args=(self.store, wake, stop, ready, self.idle_poll_seconds),
            name="mtl-runs-worker",
            daemon=True,
        )
        process.start()
        return _Worker(process, process_token(process.pid), wake, stop, ready)

    def _supervise(self) -> None:
        while not self._closing.is_set():
            with self._lock:
                by_sentinel = {w.process.sentinel: w for w in self._workers}
            ended = wait_for_sentinels(list(by_sentinel), timeout=0.2)
            if self._closing.is_set():
                return
            for sentinel in ended:
                self._replace(by_sentinel[sentinel])

    def _replace(self, dead: _Worker) -> None:
        dead.process.join()
        reason = worker_death_reason(dead.process.exitcode)
        failed = self.store.fail_runs_of(dead.token, reason)
        log.warning("run worker %s ended (%s); runs failed: %s", dead.process.pid, reason, failed)
        # A worker that dies before it is ready (a broken install) must not respawn in a
        # tight loop: wait longer after each such death.
        self._quick_deaths = 0 if dead.ready.is_set() else self._quick_deaths + 1
        if self._quick_deaths:
            self._closing.wait(min(30.0, 0.5 * 2**self._quick_deaths))
        with self._lock:
            if self._closing.is_set():
                return
            fresh = self._spawn()
            self._workers = [fresh if w is dead else w for w in self._workers]

    def _atexit(self) -> None:
        with contextlib.suppress(Exception):  # interpreter teardown; nothing more to save
            self.shutdown(timeout=5.0)
