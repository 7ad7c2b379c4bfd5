"""Run stored runs as Ray tasks: on a cluster, or on a local Ray started for the call.

The local worker pool (:class:`~mtlcore.runs.LocalExecutor`) is the embedded
default; this backend is for when one machine is not enough. Ray is an optional
extra (``pip install -r requirements-ray.txt``) and is imported only here, inside
the functions, so ``mtlcore`` imports without it.

:func:`run_on_ray` takes queued runs of a :class:`RunStore` and executes each as
one Ray task. The nodes need not share the store's disk, so nothing on the worker
touches the store:

* the driver (this process) claims the runs (they read ``running``, owned by this
  process: if it dies, readers fail them as for any dead worker), and sends each
  task the run's config text, its CSV files (if any; each file put in Ray's object
  store once, however many runs read it) and the project's code (``mtlcore`` and
  ``sample_data``, as the job's Ray working directory);
* the task runs :func:`~mtlcore.runs.execute_run`, the very function the local
  workers use, in a thread against a throw-away store in a temporary folder on its
  node; it is a streaming Ray task that sends, every ``UPDATE_SECONDS``, the metric
  rows written since and the progress, and last what the run ended with: status,
  error, result summary, the remaining rows and every file (result.json,
  config.yaml, weights, predictions, snapshots) as bytes;
* the driver writes each message into the real store under the run's id as it
  arrives, so the pages and ``runs`` commands follow a Ray run exactly as a local
  one (its files land when it ends).

Single-task baselines are shared through the store's baseline cache
(:mod:`mtlcore.runs._baselines`) as on the local pool. Each run's cache key (the
sweep's baseline group key, with the data's digests and the device its task trains
on) is worked out on the driver. A run whose entries the store has starts at once,
each entry (its files as bytes, put in Ray's object store once) in its payload,
seeded into the task's throw-away store so ``execute_run`` reuses it. Of the runs
whose entry is missing, the oldest (for a sweep, its group's first cell: queued
first) starts and trains it; its task sends the entry back with its files and the
driver adds it to the store's cache (so later runs, local or on Ray, reuse it too).
The other runs of that key and seed wait for that one run only, then start with the
entry; if it ended without one (failed, cancelled), the next of them trains it. If
it ended done without the driver's entry (a node whose mtlcore or torch version
differs computes another key), they all start at once and each trains its own.

Cancelling a run in the store (the dashboard's button, ``runs cancel``) is seen by
the driver within ``poll_seconds`` and stops its Ray task with ``ray.cancel``: a
task still waiting in Ray's queue is dropped; a running one cancels its run and
ends, its metrics so far kept (up to the last update); a run still waiting in the
driver for another run's baselines ends cancelled at once.

Resources: each task asks for one CPU; a run whose config says
``train.device: cuda`` also asks for one GPU when the cluster has one (and fails
with a clear reason when it has none). ``device: auto`` runs on a CPU.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtlcore.runs._baselines import (
    EntryBytes,
    add_entry,
    baseline_key,
    cached_baselines,
    entry_bytes,
)
from mtlcore.runs._liveness import process_token
from mtlcore.runs._records import CANCELLED, DONE, FAILED, RunInfo
from mtlcore.runs._store import RunStore

log = logging.getLogger(__name__)

INSTALL_HINT = "pip install -r requirements-ray.txt"
LOCAL_CPUS = 2  # a local Ray started for one call: a small one, beside the dashboard
POLL_SECONDS = 0.5
UPDATE_SECONDS = 1.0  # how often a task sends the rows and progress of its run
# The project files a task needs: the engine, and the built-in datasets' CSVs beside it.
CODE_PARTS = ("mtlcore", "sample_data")


class RayNotInstalled(RuntimeError):
    """Ray was asked for and is not installed."""


def import_ray() -> Any:
    """``ray``, or :class:`RayNotInstalled` with the one line that says what to do."""
    try:
        import ray
    except ImportError:
        raise RayNotInstalled(
            f"--backend ray needs Ray, which is not installed: {INSTALL_HINT}"
        ) from None
    return ray


@dataclass
class RunPayload:
    """What a Ray task needs to run one run, away from the store's disk."""

    run_id: int
    config_yaml: str
    # table -> (file name, the file's bytes in Ray's object store: put once per file, so a
    # grid over one CSV sends it to each node once, not once per run)
    csv: dict[str, tuple[str, Any]] = field(default_factory=dict)
    # the cached baselines the run reuses: each an EntryBytes in Ray's object store (put
    # once per entry, however many runs reuse it)
    baselines: list[Any] = field(default_factory=list)


@dataclass
class RunUpdate:
    """What a Ray task sends while its run trains: the metric rows written since its last
    update, and the progress (None before the first epoch)."""

    rows: list[tuple]  # (step, epoch, model, task, split, name, value)
    progress: dict[str, Any] | None


@dataclass
class RunOutcome(RunUpdate):
    """A Ray task's last message: the run as it ended in the task's own store (the rows
    not sent yet, the final status, and every file it wrote)."""

    status: str = FAILED
    error: str | None = None
    error_detail: str | None = None
    result: dict[str, Any] | None = None
    files: list[tuple[str, str, dict[str, Any], bytes]] = field(default_factory=list)
    # (kind, path in the run's folder, meta, bytes)
    baselines: list[EntryBytes] = field(default_factory=list)  # the cache entries it trained


def run_on_ray(
    home: str | Path | RunStore,
    run_ids: Iterable[int],
    address: str | None = None,
    *,
    num_cpus: int | None = None,
    poll_seconds: float = POLL_SECONDS,
    on_finish: Callable[[int, str], None] | None = None,
) -> list[tuple[int, str]]:
    """Execute the queued runs ``run_ids`` of the store at ``home`` as Ray tasks; wait for all.

    ``address``: an existing cluster (``ray://host:10001``, or ``auto`` on a node of
    it); None starts a local Ray with ``num_cpus`` (default 2) CPUs for this call and
    shuts it down after. When this process has already connected Ray
    (``ray.is_initialized()``), that connection is used and left open. Runs that are
    no longer queued are skipped. ``on_finish(run_id, status)`` is called as each
    ends. Returns (run id, final status) in the order they ended.
    """
    ray = import_ray()
    store = home if isinstance(home, RunStore) else RunStore(home)
    token, pid = process_token(), os.getpid()
    claimed = [
        rid for rid in dict.fromkeys(int(r) for r in run_ids) if store.claim(rid, token, pid)
    ]
    if not claimed:
        return []
    tasks: dict[Any, int] = {}
    ending = FAILED, "the Ray driver stopped before the run finished"
    try:
        with contextlib.ExitStack() as stack:
            if not ray.is_initialized():
                stack.enter_context(ray_session(address, num_cpus=num_cpus))
            try:
                return _drive(ray, store, claimed, tasks, poll_seconds, on_finish)
            finally:  # tasks still going (we were stopped): end them while connected
                for task in tasks:
                    with contextlib.suppress(Exception):
                        ray.cancel(task, force=True)
    except KeyboardInterrupt:
        ending = CANCELLED, "interrupted (Ctrl-C)"
        raise
    except Exception as exc:  # Ray would not start, the cluster was lost, ...
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        ending = FAILED, f"Ray: {type(exc).__name__}: {first}"
        raise
    finally:
        # Whatever stopped us, no claimed run stays running (the finished ones are kept).
        for rid in claimed:
            store.finish(rid, ending[0], error=ending[1])


@contextlib.contextmanager
def ray_session(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[Any]:
    """Connect this process to Ray for the ``with`` block, with the project's code as the
    job's working directory (so the nodes need only the requirements installed); yields
    ``ray``. ``address``: a cluster (``ray://host:10001`` or ``auto``); None starts a local
    Ray (``num_cpus``, default 2; no dashboard, no usage stats, on 127.0.0.1)."""
    ray = import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no usage report leaves the machine
    code_dir = Path(tempfile.mkdtemp(prefix="mtl-ray-code-"))
    try:
        _copy_code(code_dir)
        env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        common = {
            "runtime_env": {"working_dir": str(code_dir), "env_vars": env},
            "logging_level": logging.WARNING,
            "log_to_driver": False,
        }
        if address:
            ray.init(address=address, **common)
        else:
            ray.init(num_cpus=num_cpus or LOCAL_CPUS, include_dashboard=False,
                     _node_ip_address="127.0.0.1", **common)  # fmt: skip
        try:
            yield ray
        finally:
            ray.shutdown()
    finally:
        shutil.rmtree(code_dir, ignore_errors=True)


def _copy_code(dest: Path) -> None:
    """The project's code and built-in data, without caches: the tasks' working directory."""
    root = Path(__file__).resolve().parents[2]
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in CODE_PARTS:
        src = root / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=ignore)


def _payload(ray: Any, info: RunInfo, files: dict[Path, Any], baselines: list[Any]) -> RunPayload:
    """A run's payload; ``files`` caches the object-store ref of each CSV file put so far;
    ``baselines``: the refs of the cache entries it reuses."""
    config = info.config()
    csv = {}
    for table, path in (config.data.csv or {}).items():
        p = Path(path).expanduser().resolve()
        if p not in files:
            try:
                files[p] = ray.put(p.read_bytes())
            except OSError:  # a missing file fails in the task, as locally
                continue
        csv[table] = (p.name, files[p])
    return RunPayload(info.id, info.config_yaml, csv, baselines)


Need = tuple[str, int]  # a baseline cache entry: (key text, seed)


def _baseline_needs(info: RunInfo, keys: dict[str, str | None]) -> list[Need]:
    """The cache entries the run reuses or trains, keyed as its task will key them (on the
    device it gets: a GPU only for ``device: cuda``). ``keys`` keeps each baseline group's
    cache key (``mtlcore.sweep.baseline_key``, the group key of the local scheduler, which
    the cache key extends): a grid's CSV files are read and hashed once per group."""
    from mtlcore.sweep import baseline_key as group_key

    config = info.config()
    if not config.baselines:
        return []
    device = "cuda" if config.train.device == "cuda" else "cpu"
    group = f"{device} {group_key(config)}"
    if group not in keys:
        try:
            keys[group] = baseline_key(config, device)
        except OSError:  # a CSV file that cannot be read: the task fails and says why
            keys[group] = None
    key = keys[group]
    return [] if key is None else [(key, seed) for seed in config.seeds]


@dataclass
class _BaselinePlan:
    """Which claimed runs may start: those whose cache entries the store has, and one
    run per missing entry (its owner, which trains it); the rest wait for their owners."""

    ray: Any
    store: RunStore
    needs: dict[int, list[Need]]
    waiting: list[int]  # oldest first, as the local pool claims them (a sweep's owners first)
    entries: dict[Need, Any] = field(default_factory=dict)  # -> ref of its EntryBytes
    owners: dict[Need, int] = field(default_factory=dict)  # a missing entry -> who trains it
    unshared: set[Need] = field(default_factory=set)  # trained, yet not under our key

    def startable(self) -> Iterator[tuple[int, list[Any]]]:
        """Take the waiting runs that may start now, with the refs of the entries each reuses."""
        for rid in list(self.waiting):
            refs = self._refs(rid)
            if refs is not None:
                self.waiting.remove(rid)
                yield rid, refs

    def _refs(self, rid: int) -> list[Any] | None:
        missing = []
        for need in self.needs[rid]:
            if need in self.entries or need in self.unshared:
                continue
            if self.owners.get(need, rid) != rid:
                return None  # another run trains it: wait for that one
            entry = entry_bytes(self.store, *need)
            if entry is None:
                missing.append(need)
            else:
                self.entries[need] = self.ray.put(entry)
        for need in missing:
            self.owners[need] = rid
        return [self.entries[n] for n in self.needs[rid] if n in self.entries]

    def ended(self, rid: int, status: str) -> None:
        """Run ``rid`` ended: what it owned is looked up again (a done owner whose entry
        the store lacks leaves its waiters to train their own, at once)."""
        for need, owner in list(self.owners.items()):
            if owner == rid:
                del self.owners[need]
                if status == DONE and entry_bytes(self.store, *need) is None:
                    self.unshared.add(need)


def _task_options(ray: Any, info: RunInfo) -> dict[str, Any]:
    # max_retries 0: a run that failed once fails (as locally); no silent re-run.
    options: dict[str, Any] = {"num_cpus": 1, "max_retries": 0}
    if info.config().train.device == "cuda" and ray.cluster_resources().get("GPU", 0) > 0:
        options["num_gpus"] = 1
    return options


def _drive(
    ray: Any,
    store: RunStore,
    run_ids: list[int],
    tasks: dict[Any, int],
    poll_seconds: float,
    on_finish: Callable[[int, str], None] | None,
) -> list[tuple[int, str]]:
    """Start one streaming task per run as its baselines allow (:class:`_BaselinePlan`);
    write each update into the store as it comes."""
    remote = ray.remote(execute_remote)
    files: dict[Path, Any] = {}
    infos = {rid: store.run(rid) for rid in run_ids}
    keys: dict[str, str | None] = {}
    needs = {rid: _baseline_needs(info, keys) for rid, info in infos.items()}
    plan = _BaselinePlan(ray, store, needs, sorted(run_ids))
    cancelled: set[int] = set()
    done: list[tuple[int, str]] = []

    def start() -> None:
        for rid, refs in plan.startable():
            info = infos[rid]
            options = {**_task_options(ray, info), "num_returns": "streaming"}
            tasks[remote.options(**options).remote(_payload(ray, info, files, refs))] = rid

    def ended(rid: int, status: str) -> None:
        done.append((rid, status))
        if on_finish is not None:
            on_finish(rid, status)

    start()
    while tasks:
        ready, _ = ray.wait(list(tasks), num_returns=1, timeout=poll_seconds)
        for task in ready:
            rid = tasks[task]
            status = _next_update(ray, store, rid, task)
            if status is not None:
                del tasks[task]
                plan.ended(rid, status)
                ended(rid, status)
        for task, rid in tasks.items():
            if rid not in cancelled and store.cancel_requested(rid):
                cancelled.add(rid)
                ray.cancel(task)
        for rid in list(plan.waiting):  # cancelled while waiting for another's baselines
            if store.cancel_requested(rid):
                plan.waiting.remove(rid)
                store.finish(rid, CANCELLED, error="cancelled")
                ended(rid, CANCELLED)
        start()
    return done


def _next_update(ray: Any, store: RunStore, run_id: int, task: Any) -> str | None:
    """Write a task's next message into the store; the final status once it has ended."""
    from ray.exceptions import TaskCancelledError

    try:
        message: RunUpdate = ray.get(next(task))
    except TaskCancelledError:
        store.finish(run_id, CANCELLED, error="cancelled")
        return CANCELLED
    except Exception as exc:  # the task's process died, the node was lost, no last message
        error = f"the Ray task ended without a result: {type(exc).__name__}: {exc}"
        store.finish(run_id, FAILED, error=error.splitlines()[0], error_detail=str(exc))
        return FAILED
    store.record(run_id, message.rows, progress=message.progress)
    if not isinstance(message, RunOutcome):
        return None
    for entry in message.baselines:  # into the store's cache, as trained by this run
        try:
            add_entry(store, entry, run_id=run_id)
        except (OSError, ValueError) as exc:  # the runs waiting for it train their own
            log.warning("run %s: its baselines could not be cached: %s", run_id, exc)
    run_dir = store.run_dir(run_id)
    artifacts = []
    for kind, rel, meta, data in message.files:
        path = run_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        artifacts.append((kind, path, meta))
    store.finish(run_id, message.status, error=message.error, error_detail=message.error_detail,
                 result=message.result, artifacts=artifacts)  # fmt: skip
    return message.status


def execute_remote(payload: RunPayload) -> Iterator[RunUpdate]:
    """The body of a Ray task (a generator): one run in a temporary store on this node
    (see the module docstring). While it trains, a :class:`RunUpdate` every
    ``UPDATE_SECONDS`` with the rows written since; last, a :class:`RunOutcome` with
    everything else. Interrupted (``ray.cancel``), it cancels the run and ends."""
    import ray
    import torch

    from mtlcore.config import ExperimentConfig
    from mtlcore.runs._worker import execute_run

    torch.set_num_threads(1)  # one run per CPU Ray gives us, as in the local workers
    with tempfile.TemporaryDirectory(prefix="mtl-ray-run-") as tmp:
        config = ExperimentConfig.from_text(payload.config_yaml, source=f"run {payload.run_id}")
        if payload.csv:
            config = _local_csv(config, payload.csv, Path(tmp) / "data")
        local = RunStore(Path(tmp) / "store")
        seeded = set()
        for ref in payload.baselines:  # the cached baselines this run reuses
            entry: EntryBytes = ray.get(ref)
            add_entry(local, entry)
            seeded.add((entry.key_text, entry.seed))
        [rid] = local.submit(config)
        local.claim(rid, process_token(), os.getpid())
        ended: list[str] = []
        worker = threading.Thread(target=lambda: ended.append(execute_run(local, rid)),
                                  name="mtl-ray-run", daemon=True)  # fmt: skip
        worker.start()
        sent = 0  # the id of the last metric row sent
        try:
            while worker.is_alive():
                worker.join(UPDATE_SECONDS)
                rows = local.metrics(rid, after=sent)
                if rows and worker.is_alive():
                    sent = rows[-1].id
                    yield RunUpdate(_rows(rows), _progress(local.run(rid)))
        except BaseException:  # ray.cancel: KeyboardInterrupt here; stop the run, then end
            local.request_cancel(rid)
            worker.join()
            raise
        info = local.run(rid)
        run_dir = local.run_dir(rid)
        if payload.csv:
            _restore_config(run_dir, payload.config_yaml)
        files = [
            (a.kind, a.path.relative_to(run_dir).as_posix(), a.meta, a.path.read_bytes())
            for a in local.artifacts(rid)
            if a.path.is_file()
        ]
        trained = [entry_bytes(local, c.key_text, c.seed) for c in cached_baselines(local)
                   if (c.key_text, c.seed) not in seeded]  # fmt: skip
        yield RunOutcome(_rows(local.metrics(rid, after=sent)), _progress(info), ended[0],
                         info.error, info.error_detail, info.result, files,
                         [e for e in trained if e is not None])  # fmt: skip


def _rows(rows: list[Any]) -> list[tuple]:
    """Metric rows as the store's ``record`` takes them (without row id and run id)."""
    return [tuple(r)[2:] for r in rows]


def _progress(info: RunInfo) -> dict[str, Any] | None:
    if info.phase is None:
        return None
    return {"phase": info.phase, "epoch": info.epoch, "step": info.step,
            "total_steps": info.total_steps, "progress": info.progress}  # fmt: skip


def _local_csv(config: Any, csv: dict[str, tuple[str, Any]], folder: Path) -> Any:
    """The config with its CSV paths pointing at copies written under ``folder``."""
    import ray

    from mtlcore.config import ExperimentConfig

    paths = {}
    for i, (table, (name, ref)) in enumerate(sorted(csv.items())):
        path = folder / str(i) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(ray.get(ref))
        paths[table] = str(path)
    raw = config.model_dump(mode="json")
    raw["data"]["csv"] = {**raw["data"]["csv"], **paths}
    return ExperimentConfig.parse(raw)


def _restore_config(run_dir: Path, config_yaml: str) -> None:
    """Put the run's own config (its real CSV paths) back into the files that embed it,
    so they read as if the run had been local: config.yaml and the weights' metadata."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    config_file = run_dir / "config.yaml"
    if config_file.is_file():
        config_file.write_text(config_yaml, encoding="utf-8")
    weights = run_dir / "weights.safetensors"
    if weights.is_file():
        with safe_open(str(weights), framework="pt") as fh:
            metadata = dict(fh.metadata() or {})
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (not a dict)
        if "config" in metadata:
            metadata["config"] = config_yaml
            save_file(tensors, str(weights), metadata=metadata)
