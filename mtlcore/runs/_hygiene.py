"""Keeping MTL Studio's home folder from growing without bound.

:func:`tidy` runs when an executor starts (the dashboard starting) and when a
``runs work`` process starts; it is quick and safe while other processes use the
store:

* uploads (``<home>/uploads/*.csv``) that no run or experiment in the store names
  are deleted once they are :data:`UPLOAD_DAYS` days old (by the file's
  modification time); a half-written ``.tmp`` upload after a day;
* worker logs (``<home>/logs/worker-*.log``): only the newest :data:`KEEP_LOGS`
  are kept (:func:`prune_logs` also runs before a new background worker starts);
* folders of the baseline cache (``<home>/baselines``) that no cache entry names are
  deleted after a day (a run that died between writing an entry's files and recording
  them, or lost the race to another run and died before removing its copy);
* the SQLite write-ahead log is checkpointed and truncated when no other process
  is reading at that moment (otherwise SQLite's own checkpoints keep it in bounds,
  and ``journal_size_limit`` truncates it after the next one).

Snapshots are bounded where they are taken (``mtlcore.train.MAX_SNAPSHOTS``).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mtlcore.runs._store import RunStore

UPLOAD_DAYS = 14.0  # an upload no run uses is deleted this long after it was written
KEEP_LOGS = 20  # newest worker logs kept
LOG_GLOB = "worker-*.log"
DAY = 86400.0


@dataclass
class Tidied:
    """What one :func:`tidy` removed."""

    uploads: list[Path] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    wal_truncated: bool = False
    baselines: list[Path] = field(default_factory=list)


def uploads_dir(home: Path) -> Path:
    """Where the dashboard keeps uploaded CSV files (``<home>/uploads``)."""
    return home / "uploads"


def logs_dir(home: Path) -> Path:
    """Where background ``runs work`` processes write their logs (``<home>/logs``)."""
    return home / "logs"


def tidy(store: RunStore, *, upload_days: float = UPLOAD_DAYS, now: float | None = None) -> Tidied:
    """Expire unused uploads, rotate worker logs and checkpoint the WAL (module docstring)."""
    return Tidied(
        uploads=expire_uploads(store, upload_days=upload_days, now=now),
        logs=prune_logs(store.home),
        wal_truncated=store.checkpoint(),
        baselines=stray_baselines(store, now=now),
    )


def expire_uploads(
    store: RunStore, *, upload_days: float = UPLOAD_DAYS, now: float | None = None
) -> list[Path]:
    """Delete uploads older than ``upload_days`` that no stored run or experiment names."""
    folder = uploads_dir(store.home)
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    gone = []
    for path in sorted(folder.iterdir()):
        age = now - _mtime(path)
        if path.suffix == ".tmp" and age > DAY:
            gone.append(path)  # an upload that was never finished
        elif path.suffix == ".csv" and age > upload_days * DAY and not store.names_file(path.name):
            gone.append(path)
    for path in gone:
        path.unlink(missing_ok=True)
    return gone


def stray_baselines(store: RunStore, *, now: float | None = None) -> list[Path]:
    """Delete the baseline cache's folders older than a day that no entry names."""
    import shutil

    from mtlcore.runs._baselines import FOLDER, cached_baselines

    folder = store.home / FOLDER
    if not folder.is_dir():
        return []
    now = time.time() if now is None else now
    named = {e.folder.resolve() for e in cached_baselines(store)}
    gone = [
        entry
        for key in sorted(folder.iterdir())
        if key.is_dir()
        for entry in sorted(key.iterdir())
        if entry.resolve() not in named and now - _mtime(entry) > DAY
    ]
    for entry in gone:
        shutil.rmtree(entry, ignore_errors=True)
    return gone


def prune_logs(home: Path, keep: int = KEEP_LOGS) -> list[Path]:
    """Delete all but the newest ``keep`` worker logs."""
    folder = logs_dir(home)
    if not folder.is_dir():
        return []
    logs = sorted(folder.glob(LOG_GLOB), key=_mtime, reverse=True)
    for path in logs[keep:]:
        path.unlink(missing_ok=True)
    return logs[keep:]


def _mtime(path: Path) -> float:
    with contextlib.suppress(OSError):
        return path.stat().st_mtime
    return time.time()  # vanished meanwhile: counts as new, so it is left alone
