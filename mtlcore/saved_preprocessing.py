"""The preprocessing fitted at training time, saved as JSON beside a run's weights.

To predict on new rows, a trained model needs its inputs exactly as at training time:
each number imputed with its training median and standardised with its training mean
and scale, each text column imputed with its most frequent training value and one-hot
encoded over its training categories, each date column read as its seven date features
(:func:`~mtlcore.data.prepare.date_features`, with the training file's date format), each
imputed with its training median and standardised (see :mod:`mtlcore.data.prepare`); and
its outputs read back in the targets' units (target mean and std) or labels (classes). This module
writes those fitted numbers as plain JSON (``preprocessing.json``, never pickle) and
applies them again with numpy, giving the very arrays scikit-learn gave at training.

Format ``mtlcore-preprocessing-1``::

    {"format": "mtlcore-preprocessing-1",
     "tasks": [{"name", "kind", "table", "inputs", "targets", "classes",
                "target_mean", "target_std", "target_decimals", "input_group",
                "n_features", "out_dim",
                "feature_names",
                "columns": [{"name", "type": "number", "fill", "mean", "scale"}
                            | {"name", "type": "text", "fill", "categories"}
                            | {"name", "type": "date", "format", "fill", "mean", "scale"}],
                "tables": null | [table, ...]}]}

``columns`` lists every column of the task's feature space in feature order; a date
column's ``format`` is the strptime format its text is read with (null: pandas' own
reading) and its ``fill``, ``mean`` and ``scale`` are lists of seven, one per
:data:`~mtlcore.data.prepare.DATE_FEATURES`. With
aligned inputs (``tables`` set) a column the task does not read (not in ``inputs``)
gives zeros, and one 0/1 indicator per table follows. A fitted step this module does
not know raises :class:`UnsupportedPreprocessing`, so a run is never saved with a
description that would predict wrongly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mtlcore.data.prepare import (
    DATE_FEATURES,
    AlignedInputs,
    DateFeatures,
    PreparedData,
    TaskData,
    date_features,
)
from mtlcore.kinds import kind_named

FORMAT = "mtlcore-preprocessing-1"
FILENAME = "preprocessing.json"


class UnsupportedPreprocessing(ValueError):
    """A fitted preprocessing step that cannot be written as JSON (yet)."""


# --- writing -----------------------------------------------------------------------------


def describe(data: PreparedData) -> dict[str, Any]:
    """Every task's fitted preprocessing and output decoding, as JSON-ready data."""
    return {"format": FORMAT, "tasks": [_task(t) for t in data.tasks]}


def save(data: PreparedData, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(describe(data), indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return path


def _task(task: TaskData) -> dict[str, Any]:
    pre = task.preprocessor
    if isinstance(pre, AlignedInputs):
        columns = [c for name, pipe in pre.columns.items() for c in _pipeline(pipe, [name])]
        tables: list[str] | None = list(pre.tables)
    elif isinstance(pre, ColumnTransformer):
        columns = [
            c
            for name, pipe, cols in pre.transformers_
            if name != "remainder" and pipe != "drop"
            for c in _pipeline(pipe, list(cols))
        ]
        tables = None
    else:
        raise UnsupportedPreprocessing(f"task '{task.name}': no fitted preprocessor to save")
    return {
        "name": task.name,
        "kind": task.kind,
        "table": task.spec.table,
        "inputs": list(task.spec.inputs or ()),
        "targets": list(task.targets),
        "classes": _plain(task.classes),
        "target_mean": _plain(task.target_mean),
        "target_std": _plain(task.target_std),
        # decimals of each target's training values, to round predictions like the run's own
        # (null where the data layer does not tell)
        "target_decimals": _plain(getattr(task, "target_decimals", None)),
        "input_group": task.input_group,
        "n_features": int(task.X["train"].shape[1]),
        "out_dim": task.out_dim,
        "feature_names": list(task.feature_names),
        "columns": columns,
        "tables": tables,
    }


def _pipeline(pipe: Any, names: list[str]) -> list[dict[str, Any]]:
    """Per column, the fitted numbers of a median-imputer + scaler, a date-features +
    median-imputer + scaler or a most-frequent imputer + one-hot pipeline (the three
    that ``prepare`` fits)."""
    steps = [s for _, s in pipe.steps] if isinstance(pipe, Pipeline) else [pipe]
    kinds = [type(s) for s in steps]
    if kinds == [SimpleImputer, StandardScaler] and steps[0].strategy == "median":
        imputer, scaler = steps
        _check_imputed(imputer, names)
        fill, mean, scale = _imputed_scaled(imputer, scaler)
        return [
            {"name": n, "type": "number", "fill": fill[i], "mean": mean[i], "scale": scale[i]}
            for i, n in enumerate(names)
        ]
    if kinds == [DateFeatures, SimpleImputer, StandardScaler] and steps[1].strategy == "median":
        dates, imputer, scaler = steps
        k = len(DATE_FEATURES)
        _check_imputed(imputer, [f"{n}_{f}" for n in names for f in DATE_FEATURES])
        fill, mean, scale = _imputed_scaled(imputer, scaler)
        formats = dates.formats or {}
        return [
            {"name": n, "type": "date", "format": formats.get(n), "fill": fill[k * i : k * i + k],
             "mean": mean[k * i : k * i + k], "scale": scale[k * i : k * i + k]}
            for i, n in enumerate(names)
        ]  # fmt: skip
    if kinds == [SimpleImputer, OneHotEncoder] and steps[0].strategy == "most_frequent":
        imputer, onehot = steps
        _check_imputed(imputer, names)
        if onehot.drop_idx_ is not None or onehot.handle_unknown != "ignore":
            raise UnsupportedPreprocessing(
                f"columns {names}: a one-hot encoder that drops or errors"
            )
        return [
            {"name": n, "type": "text", "fill": _plain(imputer.statistics_[i]),
             "categories": [_plain(c) for c in onehot.categories_[i]]}
            for i, n in enumerate(names)
        ]  # fmt: skip
    raise UnsupportedPreprocessing(
        f"columns {names}: the steps {[k.__name__ for k in kinds]} cannot be saved for "
        "predictions yet"
    )


def _imputed_scaled(
    imputer: SimpleImputer, scaler: StandardScaler
) -> tuple[list[float], list[float], list[float]]:
    """Per feature: the imputer's fill value and the scaler's mean and scale."""
    n = len(imputer.statistics_)
    mean = scaler.mean_ if scaler.with_mean else np.zeros(n)
    scale = scaler.scale_ if scaler.with_std else np.ones(n)
    return (
        [float(v) for v in imputer.statistics_],
        [float(v) for v in mean],
        [float(v) for v in scale],
    )


def _check_imputed(imputer: SimpleImputer, names: list[str]) -> None:
    if len(imputer.statistics_) != len(names) or any(
        isinstance(v, float) and np.isnan(v) for v in imputer.statistics_
    ):
        raise UnsupportedPreprocessing(f"columns {names}: a column had no training values")


def _plain(x: Any) -> Any:
    """numpy scalars and arrays as JSON values."""
    if isinstance(x, np.ndarray):
        return [_plain(v) for v in x.tolist()]
    if isinstance(x, list | tuple):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


# --- reading -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedTask:
    """One task's saved preprocessing: turns input rows into features and model outputs
    into predictions in the targets' units or labels."""

    name: str
    kind: str
    table: str
    inputs: tuple[str, ...]
    targets: tuple[str, ...]
    classes: list | None
    target_mean: float | list[float]
    target_std: float | list[float]
    target_decimals: list[int] | None
    input_group: str
    n_features: int
    out_dim: int
    columns: tuple[dict[str, Any], ...]
    tables: tuple[str, ...] | None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SavedTask:
        return cls(
            name=d["name"], kind=d["kind"], table=d["table"], inputs=tuple(d["inputs"]),
            targets=tuple(d["targets"]), classes=d["classes"], target_mean=d["target_mean"],
            target_std=d["target_std"], target_decimals=d.get("target_decimals"),
            input_group=d["input_group"],
            n_features=int(d["n_features"]), out_dim=int(d["out_dim"]),
            columns=tuple(d["columns"]), tables=tuple(d["tables"]) if d["tables"] else None,
        )  # fmt: skip

    def numeric_inputs(self) -> list[str]:
        return self._inputs_of_type("number")

    def date_inputs(self) -> dict[str, str | None]:
        """Each date input and the strptime format its text is read with."""
        return {c["name"]: c.get("format") for c in self.columns
                if c["type"] == "date" and c["name"] in self.inputs}  # fmt: skip

    def _inputs_of_type(self, kind: str) -> list[str]:
        return [c["name"] for c in self.columns if c["type"] == kind and c["name"] in self.inputs]

    def features(self, frame: pd.DataFrame) -> np.ndarray:
        """float32 (rows, n_features) from rows holding the task's inputs: numbers as
        float64 (NaN = missing), dates as datetimes (NaT = missing), text as str or NaN
        (:func:`mtlcore.predict.parse_inputs` reads them so, with one set of messages)."""
        blocks = []
        for c in self.columns:
            read = self.tables is None or c["name"] in self.inputs
            blocks.append(_column(c, frame[c["name"]] if read else None, len(frame)))
        if self.tables is not None:
            indicator = np.zeros((len(frame), len(self.tables)))
            indicator[:, self.tables.index(self.table)] = 1.0
            blocks.append(indicator)
        X = np.hstack(blocks) if blocks else np.zeros((len(frame), 0))
        return np.array(X, dtype=np.float32, order="C")

    def predictions(self, output: np.ndarray) -> dict[str, list]:
        """Raw model outputs (rows, out_dim) as predictions: target column -> values in
        its units (regression, one per target, rounded like its training values) or class
        labels (classification); see ``Kind.column_predictions``."""
        return kind_named(self.kind).column_predictions(self, output)


def _column(c: dict[str, Any], values: pd.Series | None, n: int) -> np.ndarray:
    if c["type"] in ("number", "date"):
        if values is None:
            return np.zeros((n, 1 if c["type"] == "number" else len(DATE_FEATURES)))
        if c["type"] == "number":
            x = values.to_numpy(dtype=np.float64).reshape(-1, 1)
        else:
            x = date_features(values, c.get("format"))
        fill, mean, scale = (np.asarray(c[k], dtype=np.float64) for k in ("fill", "mean", "scale"))
        x = np.where(np.isnan(x), fill, x)
        return (x - mean) / scale
    cats = c["categories"]
    out = np.zeros((n, len(cats)))
    if values is None:
        return out
    filled = values.where(values.notna(), c["fill"]).astype(str)
    index = {str(v): i for i, v in enumerate(cats)}
    for row, v in enumerate(filled):
        if v in index:  # unknown categories read as all zeros, as at training
            out[row, index[v]] = 1.0
    return out


def load(path: str | Path) -> list[SavedTask]:
    """The saved tasks of a ``preprocessing.json``; ValueError for another format."""
    raw = json.loads(Path(path).read_text(encoding="utf-8"))
    return from_json(raw, str(path))


def from_json(raw: Any, where: str) -> list[SavedTask]:
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        found = raw.get("format") if isinstance(raw, dict) else None
        raise ValueError(f"{where}: not a {FORMAT} file (format: {found!r})")
    return [SavedTask.from_dict(t) for t in raw["tasks"]]


def by_name(tasks: Sequence[SavedTask]) -> dict[str, SavedTask]:
    return {t.name: t for t in tasks}
