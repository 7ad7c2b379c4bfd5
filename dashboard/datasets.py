"""The tables and tasks of the experiment being edited, and their checks.

A built-in dataset or the user's uploaded CSV files; uploads are checked with
``mtlcore.data.ingest.read_csv_table`` (from their bytes, size-limited) and kept
under ``<MTL_STUDIO_HOME>/uploads/<digest>.csv``, named by their content, so a run's
worker process can read them and a link can name them without a server path.
Tasks are checked with ``resolve_task``; every problem stays a ``DataError`` with
its ``where``/``column`` so the page can put it next to what caused it.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mtlcore.data.builtin import load_builtin
from mtlcore.data.ingest import read_csv_table, resolve_task
from mtlcore.data.spec import DataError, Dataset, TaskSpec
from mtlcore.runs import studio_home
from mtlcore.runs._hygiene import uploads_dir as hygiene_uploads_dir

UPLOAD_LIMIT_BYTES = 20_000_000  # also .streamlit/config.toml server.maxUploadSize (MB)
MAX_TABLES = 8


def uploads_dir() -> Path:
    """The folder the run store's tidying expires unused uploads from."""
    return hygiene_uploads_dir(studio_home())


def save_upload(data: bytes, filename: str) -> tuple[str, pd.DataFrame]:
    """Check an uploaded CSV and keep it; returns its path and table.

    The same bytes uploaded again are the same file, whose modification time is set to
    now: an upload expires ``UPLOAD_DAYS`` after it was last uploaded, not first.
    Raises :class:`DataError` (naming the file) when it cannot be used.
    """
    table = read_csv_table(data, filename, max_bytes=UPLOAD_LIMIT_BYTES)
    digest = hashlib.sha256(data).hexdigest()[:24]
    path = uploads_dir() / f"{digest}.csv"
    try:
        os.utime(path)  # uploaded again: its expiry starts over
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Its own temporary file: two sessions uploading the same file at once must not
        # write (and move) the same one.
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as tmp:
            tmp.write(data)
        os.replace(tmp.name, path)
    return str(path), table


def upload_id(path: str) -> str | None:
    """The id of an uploaded file's path (its digest), or None for any other path."""
    p = Path(path)
    if p.parent.resolve() == uploads_dir().resolve() and p.suffix == ".csv":
        return p.stem
    return None


def upload_path(upload: str) -> str | None:
    """The path of upload ``upload`` if it exists on this server (never outside uploads/)."""
    if not re.fullmatch(r"[0-9a-f]{8,64}", upload):
        return None
    path = uploads_dir() / f"{upload}.csv"
    return str(path) if path.is_file() else None


def table_name(filename: str, taken: Sequence[str]) -> str:
    """A table name from a file name: ``"My Houses.csv"`` -> ``"my_houses"``, unique."""
    stem = Path(filename).stem.lower()
    base = re.sub(r"[^0-9a-z_]+", "_", stem).strip("_")[:40] or "table"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def read_table(path: str) -> pd.DataFrame:
    """A kept upload (or any CSV path the config names) as a checked table."""
    return read_csv_table(path, Path(path).name)


@dataclass(frozen=True)
class TaskView:
    """What the model page needs of a task: its name, table and input columns."""

    name: str
    table: str
    inputs: tuple[str, ...]
    kind: str = "auto"


def builtin_dataset(name: str, options: Mapping[str, Any]) -> Dataset:
    return load_builtin(name, dict(options))


def builtin_task_views(dataset: Dataset, chosen: Sequence[str] | None) -> list[TaskView]:
    names = list(chosen) if chosen is not None else [t.name for t in dataset.tasks]
    out = []
    for t in dataset.tasks:
        if t.name in names:
            out.append(TaskView(t.name, t.table, tuple(t.inputs or ()), t.kind))
    return out


def csv_task_views(tasks: Sequence[Mapping[str, Any]]) -> list[TaskView]:
    return [
        TaskView(str(t.get("name", "")), str(t.get("table", "")), tuple(t.get("inputs") or ()),
                 str(t.get("kind", "auto")))
        for t in tasks
    ]  # fmt: skip


def default_inputs(
    table: pd.DataFrame, profile: pd.DataFrame, target: str, other_targets: Sequence[str]
) -> list[str]:
    """Every default input column of the table except the targets: not an identifier,
    free text, constant or empty (the profile's ``note`` says why a column is left out)."""
    usable = set(profile.loc[profile["usable_as_input"], "column"])
    skip = {target, *other_targets}
    return [str(c) for c in table.columns if str(c) in usable and str(c) not in skip]


# A column missing in more than this share of rows is a default target only if no other is.
MOSTLY_MISSING_PCT = 50.0


def pick_target(profile: pd.DataFrame, taken: Sequence[str]) -> str | None:
    """A sensible target for a new task: the last free column that can be a default
    target (a number or category, not an identifier, free text or date), preferring one
    with a value in most rows; else the last column that can be a target at all."""
    ok = profile[~profile["task_kind"].str.startswith("unusable")]
    default = ok[ok["default_target"]]
    filled = default[default["pct_missing"] <= MOSTLY_MISSING_PCT]
    for candidates in (filled, default, ok):
        free = [c for c in candidates["column"] if c not in taken]
        if free:
            return free[-1]
    return list(ok["column"])[-1] if len(ok) else None


def unique_task_name(base: str, taken: Sequence[str]) -> str:
    name, n = base[:60] or "task", 2
    while name in taken:
        name, n = f"{base[:56]}_{n}", n + 1
    return name


def is_default_task_name(name: str, columns: Sequence[str]) -> bool:
    """Whether ``name`` is one :func:`unique_task_name` makes from a column of the table
    (``price``, ``price_2``): a name the page gave, which follows the task's target."""
    stems = {str(c)[:60] for c in columns} | {str(c)[:56] for c in columns}
    stem, _, number = name.rpartition("_")
    return name in stems or (number.isdigit() and stem in stems)


def check_tasks(
    tables: Mapping[str, pd.DataFrame], tasks: Sequence[Mapping[str, Any]]
) -> tuple[list[TaskSpec | None], dict[int, DataError]]:
    """Resolve every CSV task against its table; problems by task position.

    A repeated task name is a problem too (of the later task).
    """
    dataset = Dataset("csv", "Your CSV files.", dict(tables))
    resolved: list[TaskSpec | None] = []
    problems: dict[int, DataError] = {}
    seen: set[str] = set()
    for i, t in enumerate(tasks):
        name = str(t.get("name") or "").strip()
        if not name:
            problems[i] = DataError("Give this task a name.", where=t.get("table"))
        elif name in seen:
            problems[i] = DataError(
                f"Two tasks are called '{name}'; give every task its own name.",
                where=t.get("table"),
            )
        seen.add(name)
        if i in problems:
            resolved.append(None)
            continue
        target = t.get("target")  # one column, or a list of them (a multi-output task)
        target = tuple(map(str, target)) if isinstance(target, list) else str(target)
        spec = TaskSpec(name, str(t.get("table")), target, t.get("kind", "auto"),
                        tuple(t["inputs"]) if t.get("inputs") is not None else None)  # fmt: skip
        try:
            resolved.append(resolve_task(dataset, spec))
        except DataError as err:
            problems[i] = err
            resolved.append(None)
    return resolved, problems
