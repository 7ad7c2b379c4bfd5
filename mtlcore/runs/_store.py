"""The run store: experiments, runs, metric rows and artifacts in one SQLite file.

The file is ``<home>/runs.sqlite3`` and each run's files live in
``<home>/runs/<id>/`` (home: ``MTL_STUDIO_HOME`` or ``~/.mtl-studio``). Any
number of processes and threads may use the store at once: each gets its own
connection, SQLite's WAL mode lets readers go on while a writer writes, and every
write is one short transaction that takes the lock up front.

The dashboard submits, lists, polls and cancels through this class; workers
claim queued runs, write metric rows in batches and finish them::

    store = RunStore()
    [run_id] = store.submit(ExperimentConfig.load("examples/houses.yaml"))
    store.run(run_id).status        # 'queued' until a worker claims it
    rows = store.metrics(run_id)    # long rows; poll with after=rows[-1].id

No run is left hanging when its process dies: reading runs (:meth:`RunStore.run`,
:meth:`RunStore.runs`) first fails, at most once a second per store object, every
run whose process is gone (see :meth:`RunStore.fail_orphaned_runs`): a running
run whose worker exited, and a queued run whose *owner* (the foreground
``runs submit``, or the background worker it started) exited before starting it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mtlcore.runs import _db
from mtlcore.runs._home import studio_home
from mtlcore.runs._liveness import death_reason, token_alive, token_pid
from mtlcore.runs._records import (
    CANCELLED,
    DONE,
    FAILED,
    FINISHED,
    METRIC_COLUMNS,
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
    SweepInfo,
)

if TYPE_CHECKING:
    import pandas as pd

    from mtlcore.config import ExperimentConfig

# (step, epoch, model, task, split, name, value): a metric row as a worker writes it.
MetricTuple = tuple[int, int, str, str, str, str, float | None]

REQUIRED_OUTPUTS = ("result", "config", "weights")  # what write_outputs writes, at least
SWEEP_SECONDS = 1.0  # how often one store object looks for runs of dead processes


class RunStore:
    """Experiments, runs, metrics and artifacts under one home directory."""

    def __init__(self, home: str | Path | None = None, *, busy_timeout_s: float = 30.0):
        self.home = Path(home).expanduser().resolve() if home else studio_home().resolve()
        self.busy_timeout_s = busy_timeout_s
        self.db_path = self.home / "runs.sqlite3"
        self._local = threading.local()
        self._last_sweep = -math.inf
        self.home.mkdir(parents=True, exist_ok=True)
        self._conn()  # create or migrate now, so a broken store fails here

    def __repr__(self) -> str:
        return f"RunStore({str(self.home)!r})"

    # A store travels to worker processes as its home; each process opens its own connection.
    def __getstate__(self) -> dict[str, Any]:
        return {"home": str(self.home), "busy_timeout_s": self.busy_timeout_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["home"], busy_timeout_s=state["busy_timeout_s"])

    def _conn(self):
        local = self._local
        if getattr(local, "pid", None) != os.getpid():  # new thread, or a forked child
            local.conn = _db.connect(self.db_path, self.busy_timeout_s)
            local.pid = os.getpid()
        return local.conn

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = self._local.pid = None

    def run_dir(self, run_id: int) -> Path:
        """The folder of a run's files (result.json, weights, snapshots)."""
        return self.home / "runs" / str(int(run_id))

    # --- submitting ----------------------------------------------------------------

    def submit(
        self,
        config: ExperimentConfig,
        *,
        name: str | None = None,
        max_queued: int | None = None,
        owner_token: str | None = None,
        sweep: tuple[int, int] | None = None,
    ) -> list[int]:
        """Queue ``config``: one experiment, one run per seed. Returns the run ids.

        ``owner_token``: the process that will run them (see :meth:`set_owner`); None
        leaves them to any worker. ``sweep``: (sweep id, cell) of the sweep these runs
        belong to (see :meth:`create_sweep`). Raises :class:`QueueFull` when more than
        ``max_queued`` runs would be waiting.
        """
        from mtlcore.config import ExperimentConfig

        name = name or config.name
        now = time.time()
        raw = config.model_dump(mode="json")
        sweep_id, sweep_cell = sweep if sweep is not None else (None, None)
        per_seed = [
            ExperimentConfig.parse({**raw, "seeds": [seed]}).to_yaml() for seed in config.seeds
        ]
        with _db.write(self._conn()) as c:
            if max_queued is not None:
                waiting = c.execute("SELECT COUNT(*) FROM runs WHERE status = ?", (QUEUED,))
                n = waiting.fetchone()[0]
                if n + len(per_seed) > max_queued:
                    raise QueueFull(
                        f"{n} runs are already waiting (at most {max_queued}); wait for "
                        "them or cancel some, then submit again"
                    )
            exp = c.execute(
                "INSERT INTO experiments (name, created, config) VALUES (?, ?, ?)",
                (name, now, config.to_yaml()),
            ).lastrowid
            ids = [
                c.execute(
                    "INSERT INTO runs (experiment_id, name, seed, config, status, created, "
                    "updated, owner_token, sweep_id, sweep_cell) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (exp, name, seed, text, QUEUED, now, now, owner_token, sweep_id, sweep_cell),
                ).lastrowid
                for seed, text in zip(config.seeds, per_seed, strict=True)
            ]
        return [int(i) for i in ids]

    # --- reading -------------------------------------------------------------------

    def run(self, run_id: int | str) -> RunInfo:
        """The run with this id; :class:`RunNotFound` if there is none."""
        rid = parse_run_id(run_id)
        self._sweep()
        row = self._conn().execute("SELECT * FROM runs WHERE id = ?", (rid,)).fetchone()
        if row is None:
            raise RunNotFound(f"no run with id {rid} (`python -m mtlcore runs list` shows them)")
        return RunInfo.from_row(row, self.run_dir(rid))

    def runs(
        self,
        *,
        status: str | Sequence[str] | None = None,
        experiment_id: int | None = None,
        sweep_id: int | None = None,
        limit: int | None = None,
    ) -> list[RunInfo]:
        """Runs, newest first, optionally only those with the given status(es), of one
        experiment or of one sweep."""
        _check_limit(limit)
        self._sweep()
        where, args = [], []
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            bad = [s for s in wanted if s not in STATUSES]
            if bad:
                raise ValueError(f"unknown run status {bad[0]!r}; one of: {', '.join(STATUSES)}")
            where.append(f"status IN ({', '.join('?' * len(wanted))})")
            args += wanted
        if experiment_id is not None:
            where.append("experiment_id = ?")
            args.append(int(experiment_id))
        if sweep_id is not None:
            where.append("sweep_id = ?")
            args.append(int(sweep_id))
        sql = "SELECT * FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self._conn().execute(sql, args).fetchall()
        return [RunInfo.from_row(r, self.run_dir(r["id"])) for r in rows]

    def experiment(self, experiment_id: int) -> ExperimentInfo:
        c = self._conn()
        row = c.execute("SELECT * FROM experiments WHERE id = ?", (int(experiment_id),)).fetchone()
        if row is None:
            raise RunNotFound(f"no experiment with id {experiment_id}")
        ids = c.execute(
            "SELECT id FROM runs WHERE experiment_id = ? ORDER BY id", (row["id"],)
        ).fetchall()
        return ExperimentInfo(
            row["id"], row["name"], row["created"], row["config"], [r[0] for r in ids]
        )

    def experiments(self, *, limit: int | None = None) -> list[ExperimentInfo]:
        _check_limit(limit)
        sql = "SELECT id FROM experiments ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self.experiment(r[0]) for r in self._conn().execute(sql).fetchall()]

    # --- sweeps (mtlcore.sweep) -----------------------------------------------------

    def create_sweep(self, name: str, spec: str, fingerprint: str) -> int:
        """Record a new sweep (its runs join it through ``submit(..., sweep=...)``)."""
        with _db.write(self._conn()) as c:
            sid = c.execute(
                "INSERT INTO sweeps (name, created, spec, fingerprint) VALUES (?, ?, ?, ?)",
                (name, time.time(), spec, fingerprint),
            ).lastrowid
        return int(sid)

    def find_sweep(self, fingerprint: str) -> SweepInfo | None:
        """The newest sweep started with this fingerprint (the same grid), or None."""
        row = (
            self._conn()
            .execute(
                "SELECT id FROM sweeps WHERE fingerprint = ? ORDER BY id DESC LIMIT 1",
                (fingerprint,),
            )
            .fetchone()
        )
        return None if row is None else self.sweep(row[0])

    def sweep(self, sweep_id: int | str) -> SweepInfo:
        """The sweep with this id; :class:`RunNotFound` if there is none."""
        sid = parse_run_id(sweep_id)
        c = self._conn()
        row = c.execute("SELECT * FROM sweeps WHERE id = ?", (sid,)).fetchone()
        if row is None:
            raise RunNotFound(f"no sweep with id {sid} (`python -m mtlcore runs list` shows "
                              "each run's sweep)")  # fmt: skip
        ids = c.execute("SELECT id FROM runs WHERE sweep_id = ? ORDER BY id", (sid,)).fetchall()
        return SweepInfo(row["id"], row["name"], row["created"], row["spec"],
                         row["fingerprint"], [r[0] for r in ids])  # fmt: skip

    def sweeps(self, *, limit: int | None = None) -> list[SweepInfo]:
        """Sweeps, newest first."""
        _check_limit(limit)
        sql = "SELECT id FROM sweeps ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [self.sweep(r[0]) for r in self._conn().execute(sql).fetchall()]

    def cancel_sweep(self, sweep_id: int | str) -> list[RunInfo]:
        """Cancel every queued and running run of a sweep (see :meth:`request_cancel`);
        the finished ones stay as they are. Returns the sweep's runs as they are now."""
        info = self.sweep(sweep_id)
        for run in self.runs(sweep_id=info.id, status=(QUEUED, RUNNING)):
            self.request_cancel(run.id)
        return self.runs(sweep_id=info.id)

    def metrics(
        self,
        run_id: int | str,
        *,
        after: int = 0,
        model: str | None = None,
        name: str | Sequence[str] | None = None,
    ) -> list[MetricRow]:
        """A run's metric rows in the order written; ``after``: only rows with a larger id.

        Poll a live run by passing the last row's ``id`` as ``after`` next time.
        A NaN value (e.g. AUC with one class) reads back as ``nan``.
        """
        rid = parse_run_id(run_id)
        sql = "SELECT rowid, * FROM metrics WHERE run_id = ? AND rowid > ?"
        args: list[Any] = [rid, int(after)]
        if model is not None:
            sql += " AND model = ?"
            args.append(model)
        if name is not None:
            names = [name] if isinstance(name, str) else list(name)
            sql += f" AND name IN ({', '.join('?' * len(names))})"
            args += names
        rows = self._conn().execute(sql + " ORDER BY rowid", args).fetchall()
        return [_metric_row(r) for r in rows]

    def metrics_frame(self, run_id: int | str, **filters: Any) -> pd.DataFrame:
        """:meth:`metrics` as a DataFrame with the columns of :class:`MetricRow`."""
        import pandas as pd

        return pd.DataFrame(self.metrics(run_id, **filters), columns=list(METRIC_COLUMNS))

    def latest_metrics(self, run_id: int | str) -> list[MetricRow]:
        """The newest row of each (model, task, split, name) of a run."""
        rid = parse_run_id(run_id)
        rows = (
            self._conn()
            .execute(
                "SELECT rowid, * FROM metrics WHERE rowid IN (SELECT MAX(rowid) FROM metrics "
                "WHERE run_id = ? GROUP BY model, task, split, name) ORDER BY model, task, split, name",
                (rid,),
            )
            .fetchall()
        )
        return [_metric_row(r) for r in rows]

    def artifacts(self, run_id: int | str, kind: str | None = None) -> list[Artifact]:
        """Files a run wrote (result, config, weights, snapshot), oldest first."""
        rid = parse_run_id(run_id)
        sql, args = "SELECT * FROM artifacts WHERE run_id = ?", [rid]
        if kind is not None:
            sql += " AND kind = ?"
            args.append(kind)
        rows = self._conn().execute(sql + " ORDER BY id", args).fetchall()
        return [
            Artifact(r["id"], r["run_id"], r["kind"], self.home / r["path"], r["created"],
                     json.loads(r["meta"]) if r["meta"] else {})
            for r in rows
        ]  # fmt: skip

    def snapshots(self, run_id: int | str, model: str | None = None) -> list[Artifact]:
        """A run's representation snapshots, by model then epoch (``meta``: model, epoch)."""
        snaps = [a for a in self.artifacts(run_id, "snapshot")
                 if model is None or a.meta.get("model") == model]  # fmt: skip
        return sorted(snaps, key=lambda a: (a.meta.get("model", ""), a.meta.get("epoch", 0)))

    # --- changing runs -------------------------------------------------------------

    def request_cancel(self, run_id: int | str) -> RunInfo:
        """Cancel a run: a queued one at once, a running one at its worker's next check
        (within a second). A running run whose worker is gone is cancelled at once.
        A finished run is left as it is. Returns the run as it is now."""
        rid = parse_run_id(run_id)
        now = time.time()
        with _db.write(self._conn()) as c:
            row = c.execute("SELECT status, worker_token FROM runs WHERE id = ?", (rid,)).fetchone()
            if row is None:
                raise RunNotFound(
                    f"no run with id {rid} (`python -m mtlcore runs list` shows them)"
                )
            if row["status"] == QUEUED or (
                row["status"] == RUNNING and not token_alive(row["worker_token"])
            ):
                c.execute(
                    "UPDATE runs SET status = ?, cancel_requested = ?, finished = ?, "
                    "updated = ?, error = ? WHERE id = ?",
                    (CANCELLED, now, now, now, "cancelled before it finished", rid),
                )
            elif row["status"] == RUNNING:
                c.execute(
                    "UPDATE runs SET cancel_requested = COALESCE(cancel_requested, ?) WHERE id = ?",
                    (now, rid),
                )
        return self.run(rid)

    def rename(self, run_id: int | str, name: str) -> RunInfo:
        """Give a run a new display name (1-200 characters, stored as text)."""
        name = name.strip()
        if not 1 <= len(name) <= 200:
            raise RunStateError("a run name needs 1 to 200 characters")
        info = self.run(run_id)
        with _db.write(self._conn()) as c:
            c.execute("UPDATE runs SET name = ? WHERE id = ?", (name, info.id))
        return self.run(info.id)

    def delete_run(self, run_id: int | str) -> None:
        """Delete a run that is not running, with its metrics and files."""
        info = self.run(run_id)
        if info.status == RUNNING:
            raise RunStateError(
                f"run {info.id} is running; cancel it first "
                f"(`python -m mtlcore runs cancel {info.id}`)"
            )
        with _db.write(self._conn()) as c:
            gone = c.execute("DELETE FROM runs WHERE id = ? AND status != ?", (info.id, RUNNING))
            if gone.rowcount == 0:  # a worker claimed it meanwhile
                raise RunStateError(f"run {info.id} has just started; cancel it first")
            c.execute(
                "DELETE FROM experiments WHERE id = ? AND NOT EXISTS "
                "(SELECT 1 FROM runs WHERE experiment_id = ?)",
                (info.experiment_id, info.experiment_id),
            )
        shutil.rmtree(self.run_dir(info.id), ignore_errors=True)

    def export(self, run_id: int | str, out_dir: str | Path) -> dict[str, Path]:
        """Copy a done run's output files into ``out_dir``: the files ``python -m mtlcore
        train --out`` writes (result.json, config.yaml, weights.safetensors, ...).
        Returns kind -> copied path."""
        info = self.run(run_id)
        if info.status != DONE:
            raise RunStateError(
                f"run {info.id} is {info.status}; only a done run has results to export"
            )
        files = {a.kind: a.path for a in self.artifacts(info.id) if a.kind != "snapshot"}
        missing = [k for k in REQUIRED_OUTPUTS if k not in files]
        missing += [k for k, p in files.items() if not p.is_file()]
        if missing:
            raise RunStateError(
                f"run {info.id}: its {', '.join(missing)} file(s) are missing from "
                f"{info.artifact_dir}"
            )
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        return {k: Path(shutil.copy2(p, out / p.name)) for k, p in files.items()}

    # --- the worker's side ---------------------------------------------------------

    def claim_next(self, worker_token: str, worker_pid: int) -> int | None:
        """Mark the oldest queued run running for this worker; its id, or None if none waits."""
        with _db.write(self._conn()) as c:
            row = c.execute(
                "SELECT id FROM runs WHERE status = ? ORDER BY id LIMIT 1", (QUEUED,)
            ).fetchone()
            if row is None:
                return None
            self._start(c, row[0], worker_token, worker_pid)
        return int(row[0])

    def claim(self, run_id: int, worker_token: str, worker_pid: int) -> bool:
        """Mark this queued run running for this worker; False if it is no longer queued."""
        with _db.write(self._conn()) as c:
            row = c.execute("SELECT status FROM runs WHERE id = ?", (int(run_id),)).fetchone()
            if row is None or row[0] != QUEUED:
                return False
            self._start(c, int(run_id), worker_token, worker_pid)
        return True

    @staticmethod
    def _start(c, run_id: int, token: str, pid: int) -> None:
        now = time.time()
        c.execute(
            "UPDATE runs SET status = ?, started = ?, updated = ?, worker_pid = ?, "
            "worker_token = ? WHERE id = ?",
            (RUNNING, now, now, pid, token, run_id),
        )

    def record(
        self,
        run_id: int,
        rows: Sequence[MetricTuple],
        *,
        progress: dict[str, Any] | None = None,
        artifacts: Iterable[tuple[str, Path, dict[str, Any]]] = (),
    ) -> bool:
        """Write a batch of metric rows, artifacts and the progress in one transaction.

        ``progress`` has ``phase``, ``epoch``, ``step``, ``total_steps``, ``progress``.
        Returns whether a cancel has been requested, so the caller needs no extra query.
        """
        now = time.time()
        with _db.write(self._conn()) as c:
            if rows:
                c.executemany(
                    "INSERT INTO metrics (run_id, step, epoch, model, task, split, name, value) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(run_id, *r[:6], _finite(r[6])) for r in rows],
                )
            self._add_artifacts(c, run_id, artifacts, now)
            if progress is not None:
                c.execute(
                    "UPDATE runs SET phase = ?, epoch = ?, step = ?, total_steps = ?, "
                    "progress = ?, updated = ? WHERE id = ?",
                    (progress["phase"], progress["epoch"], progress["step"],
                     progress["total_steps"], progress["progress"], now, run_id),
                )  # fmt: skip
            flag = c.execute("SELECT cancel_requested FROM runs WHERE id = ?", (run_id,))
            row = flag.fetchone()
        return row is not None and row[0] is not None

    def cancel_requested(self, run_id: int) -> bool:
        row = (
            self._conn()
            .execute("SELECT cancel_requested, status FROM runs WHERE id = ?", (int(run_id),))
            .fetchone()
        )
        return row is None or row[0] is not None or row[1] != RUNNING

    def finish(
        self,
        run_id: int,
        status: str,
        *,
        error: str | None = None,
        error_detail: str | None = None,
        result: dict[str, Any] | None = None,
        artifacts: Iterable[tuple[str, Path, dict[str, Any]]] = (),
    ) -> bool:
        """Move a running run to done, failed or cancelled; False if it was not running."""
        if status not in FINISHED:
            raise ValueError(f"finish: status must be one of {sorted(FINISHED)}, not {status!r}")
        now = time.time()
        with _db.write(self._conn()) as c:
            row = c.execute("SELECT status FROM runs WHERE id = ?", (int(run_id),)).fetchone()
            if row is None or row[0] != RUNNING:
                return False
            self._add_artifacts(c, run_id, artifacts, now)
            c.execute(
                "UPDATE runs SET status = ?, finished = ?, updated = ?, error = ?, "
                "error_detail = ?, result = ?, progress = CASE WHEN ? THEN 1.0 ELSE progress END "
                "WHERE id = ?",
                (status, now, now, error, error_detail,
                 json.dumps(result) if result is not None else None, status == DONE, run_id),
            )  # fmt: skip
        return True

    def fail_runs_of(self, worker_token: str, reason: str) -> list[int]:
        """Mark failed every run still running under this worker (it has exited)."""
        ids = [r[0] for r in self._conn().execute(
            "SELECT id FROM runs WHERE status = ? AND worker_token = ?", (RUNNING, worker_token)
        ).fetchall()]  # fmt: skip
        return [i for i in ids if self.finish(i, FAILED, error=reason)]

    def set_owner(self, run_ids: Iterable[int], owner_token: str) -> None:
        """Name the process that is to run these runs (those still queued): if it exits
        before it starts one, the run fails instead of waiting for ever."""
        with _db.write(self._conn()) as c:
            c.executemany(
                "UPDATE runs SET owner_token = ? WHERE id = ? AND status = ?",
                [(owner_token, int(i), QUEUED) for i in run_ids],
            )

    def fail_orphaned_runs(self, reason: str | None = None) -> list[int]:
        """Fail the runs of processes that no longer exist; their ids.

        A running run whose worker is gone fails with ``reason`` or, by default, why
        the worker ended (e.g. "killed by SIGKILL", where its exit status is still
        readable, else ``ORPHAN_REASON``); a queued run whose owner is gone fails
        with a reason that says so. Cheap when nothing died: one indexed query.
        """
        rows = self._conn().execute(
            "SELECT id, status, worker_token, owner_token FROM runs WHERE status IN (?, ?)",
            (RUNNING, QUEUED),
        ).fetchall()  # fmt: skip
        alive: dict[str, bool] = {}

        def dead(token: str | None) -> bool:
            if token not in alive:
                alive[token] = token_alive(token)
            return not alive[token]

        failed = []
        for rid, status, worker, owner in rows:
            if status == RUNNING and dead(worker):
                ended = self.finish(rid, FAILED, error=reason or death_reason(worker))
            elif status == QUEUED and owner is not None and dead(owner):
                ended = self._fail_queued(rid, owner)
            else:
                ended = False
            if ended:
                failed.append(rid)
        return failed

    def _sweep(self) -> None:
        now = time.monotonic()
        if now - self._last_sweep >= SWEEP_SECONDS:
            self._last_sweep = now
            self.fail_orphaned_runs()

    def _fail_queued(self, run_id: int, owner: str) -> bool:
        pid = token_pid(owner)
        error = (
            f"the process that was to run it{f' (pid {pid})' if pid else ''} ended before it "
            "started; submit it again"
        )
        now = time.time()
        with _db.write(self._conn()) as c:
            changed = c.execute(
                "UPDATE runs SET status = ?, finished = ?, updated = ?, error = ? "
                "WHERE id = ? AND status = ? AND owner_token = ?",
                (FAILED, now, now, error, run_id, QUEUED, owner),
            ).rowcount
        return changed == 1

    # --- housekeeping (see mtlcore.runs._hygiene) ----------------------------------

    def names_file(self, filename: str) -> bool:
        """Whether any stored run or experiment config mentions ``filename`` (an upload's)."""
        c = self._conn()
        return any(
            c.execute(f"SELECT 1 FROM {table} WHERE instr(config, ?) > 0 LIMIT 1", (filename,))
            .fetchone()
            for table in ("runs", "experiments")
        )  # fmt: skip

    def checkpoint(self) -> bool:
        """Copy the write-ahead log into the database and truncate it, without waiting:
        True when done, False when another process was reading or writing just then."""
        c = self._conn()
        c.execute("PRAGMA busy_timeout = 0")
        try:
            busy = c.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.OperationalError:
            busy = 1
        finally:
            c.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        return busy == 0

    def _add_artifacts(self, c, run_id: int, artifacts, now: float) -> None:
        rows = []
        for kind, path, meta in artifacts:
            p = Path(path).resolve()
            rel = p.relative_to(self.home) if p.is_relative_to(self.home) else p
            rows.append((run_id, kind, rel.as_posix(), now, json.dumps(meta) if meta else None))
        if rows:
            c.executemany(
                "INSERT INTO artifacts (run_id, kind, path, created, meta) VALUES (?, ?, ?, ?, ?)",
                rows,
            )


def parse_run_id(run_id: int | str) -> int:
    """A run id as an int; :class:`RunNotFound` for text that is not one."""
    if isinstance(run_id, bool):
        raise RunNotFound(f"{run_id!r} is not a run id; run ids are whole numbers")
    if isinstance(run_id, int):
        return run_id
    text = str(run_id).strip()
    if not text.isdigit():
        raise RunNotFound(
            f"{str(run_id)!r} is not a run id; run ids are whole numbers "
            "(`python -m mtlcore runs list` shows them)"
        )
    return int(text)


def _check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or int(limit) < 0):
        raise ValueError(f"limit must be a whole number of 0 or more (or None), got {limit!r}")


def _finite(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if not math.isnan(value) else None


def _metric_row(r) -> MetricRow:
    value = r["value"]
    return MetricRow(r["rowid"], r["run_id"], r["step"], r["epoch"], r["model"], r["task"],
                     r["split"], r["name"], float("nan") if value is None else float(value))  # fmt: skip
