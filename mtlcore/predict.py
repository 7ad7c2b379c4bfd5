"""Predict on new rows with a trained experiment's multi-task model.

:func:`predict` takes a trained experiment (a folder, an experiment id of the run
store, or an opened :class:`~mtlcore.trained.TrainedExperiment`) and a table of new
rows (a CSV file's bytes or path, or a DataFrame). It rebuilds one seed's multi-task
model from the config and its safetensors weights, reads the rows through the
preprocessing fitted at training time (``preprocessing.json``, see
:mod:`mtlcore.saved_preprocessing`) and returns every row with one prediction column
per task output, in the target's units or as its class label::

    from mtlcore.predict import predict
    out = predict("runs/houses", "new_houses.csv")   # a `train --out` folder
    out.frame.head()      # the rows, then "predicted price", ...

A task is predicted when the table has all of its input columns; other columns are
ignored. Bad input raises :class:`~mtlcore.data.spec.DataError` naming the file, the
column and the first bad rows.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mtlcore.data.ingest import MISSING_MARKERS, csv_format, to_dates, with_decimal_points
from mtlcore.data.spec import DataError
from mtlcore.saved_preprocessing import SavedTask
from mtlcore.trained import TrainedExperiment, open_trained

MAX_UPLOAD_BYTES = 20_000_000
SHOWN_BAD_ROWS = 5
TRUE_FALSE = {"true": 1.0, "false": 0.0}


@dataclass
class Prediction:
    """The rows with their predictions, the seed whose model made them, and notes."""

    frame: pd.DataFrame
    seed: int
    tasks: list[str]
    columns: list[str]  # the prediction columns of ``frame``
    notes: list[str] = field(default_factory=list)


def prediction_column(task: SavedTask, target: str) -> str:
    """The output column of one task output: ``predicted <task>`` (``(<target>)`` added
    for a task with several target columns)."""
    return f"predicted {task.name}" + (f" ({target})" if len(task.targets) > 1 else "")


def read_rows(
    source: str | Path | bytes, name: str | None = None, *, max_bytes: int = MAX_UPLOAD_BYTES
) -> pd.DataFrame:
    """A CSV of new rows, every cell as text (NaN where empty or a missing marker such as
    "?", as in training files: :data:`~mtlcore.data.ingest.MISSING_MARKERS`), its separator
    and decimal mark found as for training files (:func:`~mtlcore.data.ingest.csv_format`:
    a semicolon file with decimal commas reads as its comma twin); DataError
    when the file is too large, not UTF-8 CSV, or has no data rows. ``name`` names it in
    messages."""
    if isinstance(source, bytes):
        name, data = name or "the uploaded file", source
    else:
        path = Path(source)
        name = name or path.name
        if not path.is_file():
            raise DataError(f"{path}: no such file. Check the path.", where=str(path))
        if path.stat().st_size > max_bytes:
            data = b"x" * (max_bytes + 1)
        else:
            data = path.read_bytes()
    if len(data) > max_bytes:
        raise DataError(
            f"File '{name}' is larger than {max_bytes / 1e6:.0f} MB. Predict on fewer rows "
            "at a time (split the file).",
            where=name,
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(
            f"File '{name}' is not UTF-8 text. Save it as UTF-8 CSV.", where=name
        ) from None
    fmt = csv_format(text)  # separator and decimal mark found as for training files
    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, skipinitialspace=True, index_col=False,
            na_values=MISSING_MARKERS, sep=fmt.delimiter,
        )  # fmt: skip
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataError(
            f"File '{name}' could not be read as CSV ({str(exc).strip()}). Give a "
            "comma-, semicolon- or tab-separated file with a header row and one row per line.",
            where=name,
        ) from None
    if frame.empty:
        raise DataError(f"File '{name}' has a header but no rows to predict.", where=name)
    if fmt.decimal == ",":
        frame = with_decimal_points(frame)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def predict(
    trained: str | Path | TrainedExperiment,
    rows: str | Path | bytes | pd.DataFrame,
    *,
    seed: int | None = None,
    name: str | None = None,
    store: Any = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> Prediction:
    """Predictions of the multi-task model of ``seed`` (default: the first) on ``rows``."""
    exp = trained if isinstance(trained, TrainedExperiment) else open_trained(trained, store)
    if isinstance(rows, pd.DataFrame):
        frame, name = rows, name or "the table"
    else:
        frame = read_rows(rows, name, max_bytes=max_bytes)
        name = name or (Path(rows).name if not isinstance(rows, bytes) else "the uploaded file")
    saved = exp.saved_tasks()
    usable, missing = [], {}
    for t in saved:
        lacking = [c for c in t.inputs if c not in frame.columns]
        (missing.__setitem__(t.name, lacking) if lacking else usable.append(t))
    if not usable:
        raise DataError(_missing_message(name, saved, missing), where=name)
    inputs = parse_inputs(frame, usable, name)
    files = exp.seed(seed)
    model = build_trained_model(exp, saved, files.seed)
    predicted = {t.name for t in usable}
    xs = {
        t.name: torch.from_numpy(
            t.features(inputs) if t.name in predicted else np.zeros((0, t.n_features), np.float32)
        )
        for t in saved
    }
    with torch.no_grad():
        outputs = model(xs).outputs
    out = frame.copy()
    columns = []
    for t in usable:
        for target, values in t.predictions(outputs[t.name].float().numpy()).items():
            column = prediction_column(t, target)
            out[column] = values
            columns.append(column)
    notes = [
        f"{t}: not predicted; {name} lacks its input column(s) {_quoted(cols)}."
        for t, cols in missing.items()
    ]
    return Prediction(out, files.seed, [t.name for t in usable], columns, notes)


def parse_inputs(frame: pd.DataFrame, tasks: list[SavedTask], name: str) -> pd.DataFrame:
    """The input columns the tasks read: numbers as float64 (NaN when empty), dates as
    datetimes (NaT when empty), text as str (NaN when empty). DataError naming the file,
    the column and its first rows that are not numbers (or not dates written as in the
    training file) where training saw numbers (or dates). Extra columns are ignored; a
    missing one is :func:`predict`'s to name."""
    numeric = {c for t in tasks for c in t.numeric_inputs()}
    dates = {c: fmt for t in tasks for c, fmt in t.date_inputs().items()}
    out = pd.DataFrame(index=frame.index)
    for column in dict.fromkeys(c for t in tasks for c in t.inputs):
        values = frame[column]
        if column in numeric:
            out[column] = _numbers(values, column, name)
        elif column in dates:
            out[column] = _dates(values, column, name, dates[column])
        else:
            text = values.astype(object)
            out[column] = text.where(text.notna(), np.nan)
    return out


def _numbers(values: pd.Series, column: str, name: str) -> pd.Series:
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype("float64")
    text, lowered = _cells(values)
    parsed = pd.to_numeric(lowered.map(lambda v: TRUE_FALSE.get(v, v)), errors="coerce")
    _check_parsed(text, lowered, parsed, name, column, "numbers", ("a number", "numbers"))
    return parsed.astype("float64")


def _dates(values: pd.Series, column: str, name: str, fmt: str | None) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    text, lowered = _cells(values)
    parsed = to_dates(text.where(lowered != "", None), fmt)
    written = f" written like {pd.Timestamp(2012, 1, 31).strftime(fmt)}" if fmt else ""
    _check_parsed(
        text, lowered, parsed, name, column, f"dates{written}", ("such a date", "such dates")
    )
    return parsed


def _cells(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The cells as objects (None where missing) and stripped, lower-cased."""
    text = values.astype(object).where(values.notna(), None)
    return text, text.map(lambda v: v.strip().lower() if isinstance(v, str) else v)


def _check_parsed(
    text: pd.Series, lowered: pd.Series, parsed: pd.Series, name: str, column: str,
    expected: str, not_what: tuple[str, str],
) -> None:  # fmt: skip
    """DataError naming the first cells that hold a value but did not parse."""
    bad = parsed.isna() & text.notna() & (lowered != "")
    if not bad.any():
        return
    positions = np.flatnonzero(bad.to_numpy())
    shown = ", ".join(
        f"row {i + 1} ({str(text.iloc[i])[:40]!r})" for i in positions[:SHOWN_BAD_ROWS]
    )
    more = f" and {len(positions) - SHOWN_BAD_ROWS} more" if len(positions) > SHOWN_BAD_ROWS else ""
    verb = f"is not {not_what[0]}" if len(positions) == 1 else f"are not {not_what[1]}"
    raise DataError(
        f"File '{name}', column '{column}': the model read {expected} there, but "
        f"{shown}{more} {verb} "
        "(rows count from 1 after the header). Fix those cells or leave them empty (an "
        "empty cell gets the training median).",
        where=name,
        column=column,
    )


def build_trained_model(exp: TrainedExperiment, saved: list[SavedTask], seed: int):
    """The multi-task model of ``seed``, built from the config and loaded from safetensors."""
    from mtlcore.experiment import architecture
    from mtlcore.models import ModelTask, build_model

    config = exp.config()
    tasks = [ModelTask(t.name, t.input_group, t.n_features, t.out_dim) for t in saved]
    model = build_model(
        config.model.strategy, tasks, architecture(config), seed, config.model.options
    )
    prefix = f"seed{seed}.mtl."
    state = {k[len(prefix) :]: v for k, v in exp.weights(seed).items() if k.startswith(prefix)}
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise DataError(
            f"{exp.source}: the weights of seed {seed} do not fit the model its config "
            f"builds ({str(exc).splitlines()[0]})."
        ) from None
    return model.eval()


def _missing_message(name: str, saved: list[SavedTask], missing: dict[str, list[str]]) -> str:
    if len({tuple(cols) for cols in missing.values()}) == 1:  # every task lacks the same
        reads = dict.fromkeys(c for t in saved for c in t.inputs)
        return (
            f"File '{name}' lacks the input column(s) {_quoted(next(iter(missing.values())))} "
            f"that the model reads. Add them (same names as at training: {_quoted(reads)}); "
            "other columns are ignored."
        )
    per_task = "; ".join(f"{t}: {_quoted(cols)}" for t, cols in missing.items())
    return (
        f"File '{name}' lacks input columns every task reads, so no task can be "
        f"predicted. Missing per task: {per_task}. Add the columns of one task's table."
    )


def _quoted(columns: Any) -> str:
    return ", ".join(f"'{c}'" for c in columns)
