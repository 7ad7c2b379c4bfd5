"""``python -m mtlcore runs ...``: submit, work, list, show, cancel, delete, export, cache.

``runs submit CONFIG`` queues one run per seed, prints the run ids (one per line,
on stdout) and then runs them right here in the foreground, with progress on
stderr, so a submitted run always gets executed even with no dashboard running.
``--detach`` instead returns at once and leaves the runs to a background
``runs work`` process that it starts (which exits when the queue is empty); a
running dashboard may pick them up as well. ``--wait`` (with ``--detach``)
waits until they finish. A bad run id, or a request the run's state does not
allow, exits with status 2 and one line on stderr.

The submitting process (foreground) or the background worker (``--detach``)
*owns* the submitted runs: if it dies (even by SIGKILL) its running run and the
runs it had not started fail with a reason at the next look at the store (by
any process, ``--wait`` included), so nothing waits for ever.

``runs cache list`` shows the store's cached single-task baselines (trained once,
reused by later runs that need the same ones; ``mtlcore.runs._baselines``) and
``runs cache clear`` removes them all.

Only ``submit`` (its config check) and ``work`` import torch; ``list``, ``show``,
``cancel``, ``delete``, ``export`` and ``cache`` never do, so they start quickly and light.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from mtlcore.runs._baselines import cached_baselines, clear_baselines
from mtlcore.runs._hygiene import logs_dir, prune_logs, tidy
from mtlcore.runs._liveness import process_token
from mtlcore.runs._records import DONE, FINISHED, QUEUED, RUNNING, STATUSES, RunInfo, RunStoreError
from mtlcore.runs._store import RunStore

# The exit codes of every `python -m mtlcore` command (mtlcore.cli reads them from here).
EXIT_BAD_INPUT = 2
EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def add_runs_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``runs`` command group to the top-level subparsers."""
    p = sub.add_parser(
        "runs", help="runs in the background: submit, list, show, cancel, delete, export"
    )
    runs = p.add_subparsers(dest="runs_command", required=True, metavar="COMMAND")

    s = runs.add_parser("submit", help="queue a config (one run per seed) and run it")
    s.add_argument("config", help="YAML or JSON config file (see examples/)")
    s.add_argument("--seeds", help="comma-separated seeds, e.g. 0,1,2 (one run each)")
    s.add_argument("--epochs", type=int, help="override train.epochs")
    s.add_argument("--name", help="experiment name (default: the config's name)")
    s.add_argument(
        "--detach",
        action="store_true",
        help="return at once; a background `runs work` process runs the queue",
    )
    s.add_argument("--wait", action="store_true", help="with --detach: wait until they finish")
    s.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    runs.add_parser("work", help="run queued runs in this process until the queue is empty")

    ls = runs.add_parser("list", help="list runs, newest first")
    ls.add_argument("--status", choices=STATUSES, help="only runs with this status")
    ls.add_argument(
        "--limit", type=int, default=50, help="at most this many, 1 or more (default 50)"
    )
    ls.add_argument("--sweep", type=int, help="only the runs of this sweep (its id)")

    for name, text in (
        ("show", "a run's status, progress and latest per-task metrics"),
        ("delete", "delete a run that is not running, with its metrics and files"),
    ):
        runs.add_parser(name, help=text).add_argument("id", help="run id")
    c = runs.add_parser("cancel", help="cancel a queued or running run (keeps its metrics so "
                        "far), or with --sweep every queued and running run of a sweep")  # fmt: skip
    c.add_argument("id", nargs="?", help="run id (or, with --sweep, the sweep's id)")
    c.add_argument("--sweep", action="store_true", help="ID is a sweep: cancel all its runs")

    ex = runs.add_parser("export", help="write a done run's result.json, config.yaml, weights")
    ex.add_argument("id", help="run id")
    ex.add_argument("--out", required=True, help="output folder")

    ca = runs.add_parser("cache", help="the baseline cache (single-task baselines trained once "
                         "and reused): list its entries, or clear it")  # fmt: skip
    ca.add_argument("action", choices=("list", "clear"), help="list, or clear (remove all)")


def run_runs_command(args: argparse.Namespace) -> int:
    """Dispatch ``runs`` subcommands; store errors become exit status 2 with one line."""
    try:
        store = RunStore()
        command = args.runs_command
        if command == "submit":
            return _submit(store, args)
        if command == "work":
            return _work(store)
        if command == "list":
            return _list(store, args.status, args.limit, args.sweep)
        if command == "show":
            return _show(store, args.id)
        if command == "cancel" and args.id is None:
            print("error: runs cancel: give the id of a run, or --sweep and a sweep's id",
                  file=sys.stderr)  # fmt: skip
            return EXIT_BAD_INPUT
        if command == "cancel" and args.sweep:
            return _cancel_sweep(store, args.id)
        if command == "cancel":
            return _cancel(store, args.id)
        if command == "delete":
            store.delete_run(args.id)
            print(f"deleted run {args.id}")
            return 0
        if command == "cache":
            return _cache(store, args.action)
        paths = store.export(args.id, args.out)
        print("wrote " + ", ".join(str(p) for p in paths.values()))
        return 0
    except RunStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


# --- submit / work -------------------------------------------------------------------


def _submit(store: RunStore, args: argparse.Namespace) -> int:
    from mtlcore.config import ConfigError, ExperimentConfig

    config = ExperimentConfig.load(args.config)
    raw = config.model_dump(mode="json")
    if args.seeds:
        try:
            raw["seeds"] = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise ConfigError(f"--seeds: expected numbers like 0,1,2, got {args.seeds!r}") from None
    if args.epochs is not None:
        raw["train"]["epochs"] = args.epochs
    config = ExperimentConfig.parse(raw, source="command line")
    # In the foreground this process owns the runs; detached, the worker started below.
    owner = None if args.detach else process_token()
    ids = store.submit(config, name=args.name, owner_token=owner)
    for run_id in ids:
        print(run_id, flush=True)
    if args.detach:
        worker, log = start_background_worker(store)
        store.set_owner(ids, process_token(worker.pid))
        if not args.quiet:
            print(f"queued; a background worker (pid {worker.pid}) runs them (log: {log})",
                  file=sys.stderr)  # fmt: skip
        if not args.wait:
            return 0
        try:
            return _wait(store, ids)
        finally:
            worker.poll()  # collect it if it has ended (it keeps running otherwise)
    return _run_here(store, ids, quiet=args.quiet)


def _run_here(store: RunStore, ids: list[int], *, quiet: bool) -> int:
    from mtlcore.runs._worker import execute_run, warm_up

    warm_up()
    token, pid = process_token(), os.getpid()

    def progress(event) -> None:
        if event.kind == "epoch" and not quiet:
            val = "  ".join(
                f"{r['task']}={r['loss']:.4f}" for r in event.rows if r["split"] == "val"
            )
            print(f"[{event.progress:4.0%}] run {run_id} {event.model} epoch {event.epoch}: "
                  f"val loss {val}", file=sys.stderr)  # fmt: skip

    try:
        for run_id in ids:
            if store.claim(run_id, token, pid):
                execute_run(store, run_id, on_event=progress)
    except KeyboardInterrupt:
        for run_id in ids:  # do not leave the rest of this request for some later worker
            if store.run(run_id).status == QUEUED:
                store.request_cancel(run_id)
        print("interrupted; the runs are marked cancelled", file=sys.stderr)
        return EXIT_INTERRUPTED
    return _wait(store, ids)  # another worker may hold some of them


def _wait(store: RunStore, ids: list[int]) -> int:
    # Every look at a run also fails the runs of dead workers and owners (RunStore.run),
    # so this ends even when the process running them is killed.
    while not all(store.run(i).is_finished for i in ids):
        time.sleep(0.2)
    runs = [store.run(i) for i in ids]
    for run in runs:
        print(f"run {run.id}: {run.status}" + (f": {run.error}" if run.error else ""),
              file=sys.stderr)  # fmt: skip
    return 0 if all(r.status == DONE for r in runs) else EXIT_FAILED


def start_background_worker(store: RunStore) -> tuple[subprocess.Popen, Path]:
    """Start ``python -m mtlcore runs work`` detached from this terminal; returns the
    process and its log file (old logs beyond the newest few are deleted first)."""
    import mtlcore

    logs = logs_dir(store.home)
    logs.mkdir(exist_ok=True)
    prune_logs(store.home)
    log_path = logs / f"worker-{datetime.now():%Y%m%d-%H%M%S}-{os.getpid()}.log"
    root = str(Path(mtlcore.__file__).resolve().parents[1])
    env = {**os.environ, "MTL_STUDIO_HOME": str(store.home)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mtlcore", "runs", "work"],
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=env, cwd=root, start_new_session=True,
        )  # fmt: skip
    return process, log_path


def _work(store: RunStore) -> int:
    from mtlcore.runs._worker import drain_queue

    tidy(store)
    for run_id, status in drain_queue(store):
        print(f"run {run_id}: {status}", flush=True)
    return 0


# --- list / show / cancel --------------------------------------------------------------


def _list(store: RunStore, status: str | None, limit: int, sweep: int | None = None) -> int:
    if limit < 1:
        print(f"error: runs list --limit: give a whole number of 1 or more (got {limit})",
              file=sys.stderr)  # fmt: skip
        return EXIT_BAD_INPUT
    if sweep is not None:
        store.sweep(sweep)  # no such sweep: one line, status 2
    runs = store.runs(status=status, limit=limit, sweep_id=sweep)
    if not runs:
        print("no runs yet (`python -m mtlcore runs submit CONFIG` adds one)")
        return 0
    print(f"{'id':>5} {'exp':>4} {'sweep':>5}  {'name':<24} {'seed':>4}  {'status':<9} "
          f"{'progress':>8}  {'created':<19}  summary")  # fmt: skip
    for r in runs:
        in_sweep = "-" if r.sweep_id is None else str(r.sweep_id)
        print(f"{r.id:>5} {r.experiment_id:>4} {in_sweep:>5}  {_clip(r.name, 24):<24} "
              f"{r.seed:>4}  {r.status:<9} {r.progress:>8.0%}  {_time(r.created):<19}  "
              f"{_clip(summary(r), 60)}")  # fmt: skip
    return 0


def summary(run: RunInfo) -> str:
    """One short line about a run: its result, its error or its progress."""
    if run.status == DONE and run.result:
        dm = run.result.get("delta_m")
        tasks = ", ".join(f"{k} {v['metric']} {v['mtl']:.4g}" for k, v in run.result["tasks"].items()
                          if v.get("mtl") is not None)  # fmt: skip
        return (f"Δm {dm:+.2f}%  " if dm is not None else "") + tasks
    if run.status == RUNNING:
        eta = run.eta_seconds
        return f"{run.phase or ''} epoch {run.epoch}" + (f", ETA {eta:.0f}s" if eta else "")
    return (run.error or "").splitlines()[0] if run.error else ""


def _show(store: RunStore, run_id: str) -> int:
    r = store.run(run_id)
    print(f"run {r.id}: {r.name} (experiment {r.experiment_id}, seed {r.seed})")
    line = f"status    {r.status}"
    if r.status == RUNNING:
        line += f", {r.progress:.0%} ({r.phase} epoch {r.epoch}, step {r.step}/{r.total_steps})"
        if r.eta_seconds is not None:
            line += f", ETA {r.eta_seconds:.0f}s"
    print(line)
    print(f"created   {_time(r.created)}   started {_time(r.started)}   "
          f"finished {_time(r.finished)}")  # fmt: skip
    if r.error:
        print(f"reason    {r.error}")
    print(f"files     {r.artifact_dir}")
    latest = store.latest_metrics(r.id)
    if latest:
        print("latest metrics:")
        names = sorted({m.name for m in latest if m.split in ("train", "val")})
        keyed = {(m.model, m.task, m.split, m.name): m for m in latest}
        rows = sorted({(m.model, m.task, m.split) for m in latest if m.split in ("train", "val")})
        print(
            f"  {'model':<5} {'task':<24} {'split':<5} {'epoch':>5}  "
            + " ".join(f"{n:>10}" for n in names)
        )
        for model, task, split in rows:
            cells = [keyed.get((model, task, split, n)) for n in names]
            epoch = max(c.epoch for c in cells if c is not None)
            print(
                f"  {model:<5} {_clip(task, 24):<24} {split:<5} {epoch:>5}  "
                + " ".join(f"{c.value:>10.4g}" if c else f"{'':>10}" for c in cells)
            )
    if r.status == DONE and r.result:
        print(summary(r))
    return 0


def _cancel(store: RunStore, run_id: str) -> int:
    run = store.request_cancel(run_id)
    if run.status not in FINISHED:
        deadline = time.monotonic() + 5.0
        while not (run := store.run(run.id)).is_finished and time.monotonic() < deadline:
            time.sleep(0.1)
    if run.status == "cancelled":
        print(f"run {run.id}: cancelled")
    elif run.is_finished:
        print(f"run {run.id} had already finished ({run.status}); nothing to cancel")
    else:
        print(f"run {run.id}: cancel requested; it stops at its worker's next check")
    return 0


def _cancel_sweep(store: RunStore, sweep_id: str) -> int:
    """Cancel a sweep's queued and running runs; wait up to 5 s for the running ones."""
    runs = store.cancel_sweep(sweep_id)
    deadline = time.monotonic() + 5.0
    while any(not r.is_finished for r in runs) and time.monotonic() < deadline:
        time.sleep(0.1)
        runs = store.runs(sweep_id=int(sweep_id))
    counts = {s: sum(r.status == s for r in runs) for s in STATUSES}
    tally = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    print(f"sweep {int(sweep_id)}: {tally or 'no runs'}")
    return 0


def _cache(store: RunStore, action: str) -> int:
    """``runs cache list|clear``: the store's cached single-task baselines."""
    if action == "clear":
        n, size = clear_baselines(store)
        print(f"removed {n} cached baseline(s), {_size(size)}")
        return 0
    entries = cached_baselines(store)
    if not entries:
        print("no cached baselines (a run with baselines on adds its own)")
        return 0
    print(f"{'key':<12} {'seed':>4} {'from run':>8} {'size':>9} {'trained in':>10}  "
          f"{'created':<19}  test metric per task")  # fmt: skip
    for e in entries:
        run = "-" if e.run_id is None else str(e.run_id)
        metrics = ", ".join(f"{task} {name} {value:.4g}" for task, m in e.metrics.items()
                            for name, value in list(m.items())[:1])  # fmt: skip
        print(f"{e.key[:12]:<12} {e.seed:>4} {run:>8} {_size(e.bytes):>9} "
              f"{e.seconds or 0:>9.1f}s  {_time(e.created):<19}  {_clip(metrics, 60)}")  # fmt: skip
    total = sum(e.bytes for e in entries)
    print(f"{len(entries)} cached baseline(s), {_size(total)} under {store.home / 'baselines'}")
    return 0


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def _time(t: float | None) -> str:
    return datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M:%S") if t else "-"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
