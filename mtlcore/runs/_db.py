"""The SQLite file under the run store: connection settings, schema and migrations.

One connection per process and thread (see :class:`~mtlcore.runs.RunStore`), in WAL
mode so readers (browser sessions) never block the one writer at a time (worker
processes), with a busy timeout so concurrent writers wait instead of failing.
Writes go through :func:`write`, which takes the write lock up front
(``BEGIN IMMEDIATE``) so a read-then-update can never interleave with another
process's.

The schema version lives in the ``schema_version`` table. A new version appends a
list of statements to :data:`MIGRATIONS`; opening an older store applies the
missing ones in one transaction.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mtlcore.runs._records import RunStoreError

SCHEMA_VERSION = 4
WAL_LIMIT_BYTES = 16 * 1024 * 1024  # after a checkpoint, the WAL shrinks back to this

MIGRATIONS: dict[int, list[str]] = {
    1: [
        """CREATE TABLE experiments (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            created REAL NOT NULL,
            config TEXT NOT NULL
        )""",
        """CREATE TABLE runs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            seed INTEGER NOT NULL,
            config TEXT NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
            created REAL NOT NULL,
            started REAL,
            finished REAL,
            updated REAL,
            error TEXT,
            error_detail TEXT,
            worker_pid INTEGER,
            worker_token TEXT,
            cancel_requested REAL,
            phase TEXT,
            epoch INTEGER NOT NULL DEFAULT 0,
            step INTEGER NOT NULL DEFAULT 0,
            total_steps INTEGER NOT NULL DEFAULT 0,
            progress REAL NOT NULL DEFAULT 0,
            result TEXT
        )""",
        "CREATE INDEX runs_by_status ON runs(status, id)",
        "CREATE INDEX runs_by_experiment ON runs(experiment_id)",
        """CREATE TABLE metrics (
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            step INTEGER NOT NULL,
            epoch INTEGER NOT NULL,
            model TEXT NOT NULL,
            task TEXT NOT NULL,
            split TEXT NOT NULL,
            name TEXT NOT NULL,
            value REAL
        )""",
        "CREATE INDEX metrics_by_run ON metrics(run_id)",
        """CREATE TABLE artifacts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            path TEXT NOT NULL,
            created REAL NOT NULL,
            meta TEXT
        )""",
        "CREATE INDEX artifacts_by_run ON artifacts(run_id, kind)",
    ],
    # The process that is to run a queued run (a foreground `runs submit`, or the
    # background `runs work` it started); if it dies first, readers fail the run.
    2: ["ALTER TABLE runs ADD COLUMN owner_token TEXT"],
    # Sweeps (mtlcore.sweep): a grid of experiments whose runs are ordinary runs tagged
    # with the sweep and the grid cell they belong to. ``fingerprint`` finds the sweep
    # again when the same grid is started once more (it resumes instead of re-running).
    3: [
        """CREATE TABLE sweeps (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL,
            created REAL NOT NULL,
            spec TEXT NOT NULL,
            fingerprint TEXT NOT NULL
        )""",
        "CREATE INDEX sweeps_by_fingerprint ON sweeps(fingerprint)",
        "ALTER TABLE runs ADD COLUMN sweep_id INTEGER REFERENCES sweeps(id) ON DELETE SET NULL",
        "ALTER TABLE runs ADD COLUMN sweep_cell INTEGER",
        "CREATE INDEX runs_by_sweep ON runs(sweep_id, sweep_cell)",
    ],
    # The baseline cache (mtlcore.runs._baselines): per key and seed, trained single-task
    # baselines whose files live under <home>/baselines/; and the run training a key's
    # baselines right now (a claim), so another run needing them waits instead.
    4: [
        """CREATE TABLE baselines (
            key TEXT NOT NULL,
            seed INTEGER NOT NULL,
            key_text TEXT NOT NULL,
            run_id INTEGER,
            folder TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            seconds REAL,
            metrics TEXT NOT NULL,
            created REAL NOT NULL,
            PRIMARY KEY (key, seed)
        )""",
        """CREATE TABLE baseline_claims (
            key TEXT NOT NULL,
            seed INTEGER NOT NULL,
            run_id INTEGER NOT NULL,
            created REAL NOT NULL,
            PRIMARY KEY (key, seed)
        )""",
    ],
}


class StoreError(RunStoreError):
    """The run store cannot be used (written by a newer version, not a database, ...)."""


def connect(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """Open ``path`` (creating and migrating it when needed) with the store's settings."""
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout_s, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        _retry_locked(lambda: conn.execute("PRAGMA journal_mode = WAL"), busy_timeout_s)
        conn.execute("PRAGMA synchronous = NORMAL")  # WAL keeps the file consistent on a crash
        conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT_BYTES}")  # truncate the WAL
        conn.execute("PRAGMA foreign_keys = ON")
        _migrate(conn, path)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: cannot open the run store ({exc})") from None
    return conn


@contextmanager
def write(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction that holds the write lock from its first statement."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _version(conn: sqlite3.Connection) -> int:
    row = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
    ).fetchone()
    if row is None:
        return 0
    return conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    if _version(conn) == SCHEMA_VERSION:
        return  # the common case: no write lock needed
    with write(conn):
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_version "
            "(version INTEGER PRIMARY KEY, applied REAL NOT NULL)"
        )
        current = _version(conn)  # again, under the lock: another process may have migrated
        if current > SCHEMA_VERSION:
            raise StoreError(
                f"{path}: this run store was written by a newer MTL Studio (schema "
                f"{current}, this version knows {SCHEMA_VERSION}); upgrade MTL Studio "
                "or point MTL_STUDIO_HOME at another folder"
            )
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied) VALUES (?, ?)",
                (version, time.time()),
            )


def _retry_locked(fn, timeout_s: float):
    """Switching to WAL needs a moment without other writers; wait for it."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
