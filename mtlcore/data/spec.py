"""What a task is, what a dataset is, and the error every data problem raises.

A *task* names a target column in a table (or several numeric ones: a multi-output
regression task), its kind and its input columns. Tasks
may come from different tables with different rows and different input columns
(the houses-vs-apartments case). A *dataset* is a set of named tables plus the
tasks it defines by default and a short description the UI can show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

TaskKind = Literal["regression", "binary", "multiclass"]
TASK_KINDS: tuple[str, ...] = ("regression", "binary", "multiclass")

# A numeric column with at most this many distinct values is read as classes.
MAX_CLASSES_FOR_NUMERIC = 10
# A text column with more distinct values than this is not a usable class target.
MAX_CLASSES = 50


class DataError(ValueError):
    """A problem with the user's data, phrased for the user.

    The message names the file/table, the column and what to do. ``where`` is the
    file or table and ``column`` the column, when there is one, so a UI can place
    the message next to what caused it.
    """

    def __init__(self, message: str, *, where: str | None = None, column: str | None = None):
        super().__init__(message)
        self.where = where
        self.column = column


@dataclass(frozen=True)
class TaskSpec:
    """One task: predict ``target`` of ``table`` from ``inputs``.

    ``target`` is one column name, or a sequence of names for a multi-output regression
    task (stored as a tuple; :attr:`targets` gives the names as a tuple either way).

    ``kind`` may be ``"auto"``; :func:`detect_task_kind` then decides from the data.
    ``inputs`` of ``None`` means every column of the table that is not the target
    of a task in the same table. ``train_rows`` caps the labelled rows the task
    trains on (a seeded sample of its training split; validation and test rows are
    kept whole so the task is still judged on enough rows): the few-labels case in
    which a related task can bring what this one lacks. ``None`` uses them all.
    """

    name: str
    table: str
    target: str | tuple[str, ...]
    kind: TaskKind | Literal["auto"] = "auto"
    inputs: tuple[str, ...] | None = None
    description: str = ""
    train_rows: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.target, str):  # a list from a config or a page: hashable tuple
            object.__setattr__(self, "target", tuple(str(c) for c in self.target))

    @property
    def targets(self) -> tuple[str, ...]:
        """The target column names, in output order (one name for a single-output task)."""
        return (self.target,) if isinstance(self.target, str) else self.target

    @property
    def n_outputs(self) -> int:
        """Target columns predicted: more than one makes a multi-output regression task."""
        return len(self.targets)


@dataclass
class Dataset:
    """Named tables plus the tasks defined on them."""

    name: str
    description: str
    tables: dict[str, pd.DataFrame]
    tasks: list[TaskSpec] = field(default_factory=list)
    source: str = ""  # origin and licence, shown with the description

    def task(self, name: str) -> TaskSpec:
        for t in self.tasks:
            if t.name == name:
                return t
        known = ", ".join(t.name for t in self.tasks) or "none"
        raise DataError(
            f"Dataset '{self.name}' has no task '{name}'. Its tasks are: {known}.",
            where=self.name,
        )


def detect_task_kind(target: pd.Series) -> TaskKind:
    """The task kind a target column makes: regression, binary or multiclass.

    Two distinct values make a binary task; a text column or a whole-number column
    with few distinct values makes a multiclass task; any other numeric column
    makes a regression task. Raises :class:`DataError` when the column cannot be
    a target at all (empty, one class, too many text classes, dates).
    """
    values = target.dropna()
    name = str(target.name)
    if pd.api.types.is_datetime64_any_dtype(target):
        raise DataError(
            f"Column '{name}' holds dates, which can be an input (read as year, month, day "
            "of year and day of week) but not a target. Pick another target column.",
            column=name,
        )
    n_unique = values.nunique()
    if len(values) == 0:
        raise DataError(
            f"Column '{name}' has no values, so it cannot be a target. Pick another column.",
            column=name,
        )
    if n_unique < 2:
        raise DataError(
            f"Column '{name}' has a single value ({values.iloc[0]!r}) in every row, "
            "so there is nothing to predict. Pick another target column.",
            column=name,
        )
    if n_unique == 2:
        return "binary"
    if pd.api.types.is_numeric_dtype(values):
        whole = bool((values.astype(float) % 1 == 0).all())
        if whole and n_unique <= MAX_CLASSES_FOR_NUMERIC:
            return "multiclass"
        return "regression"
    if n_unique > MAX_CLASSES:
        raise DataError(
            f"Column '{name}' holds text with {n_unique} distinct values: too many "
            f"classes (at most {MAX_CLASSES}) and not numbers, so it cannot be a "
            "target. Pick a numeric column or one with fewer categories.",
            column=name,
        )
    return "multiclass"
