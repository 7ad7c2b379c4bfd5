"""Truth against prediction from a snapshot: the confusion table of a classification
task and the points of a representation chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dashboard.text import md_escape


def confusion_frame(
    truth: Sequence[Any], pred: Sequence[Any], classes: Sequence[Any]
) -> pd.DataFrame:
    """Counts of (true class, predicted class), every pair present (zeros included)."""
    labels = [str(c) for c in classes]
    counts = pd.crosstab(
        pd.Categorical([str(t) for t in truth], categories=labels),
        pd.Categorical([str(p) for p in pred], categories=labels),
        dropna=False,
    )
    counts.index.name, counts.columns.name = "true", "predicted"
    return counts


def representation_points(
    task: str,
    n_rows: int,
    truth: np.ndarray | None = None,
    prediction: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per sampled validation row of ``task``: task, target, prediction, error.

    ``truth`` and ``prediction`` come from the snapshot itself (numbers in the target's
    units, or class labels); without them (snapshots saved before they were stored) only
    ``task`` is known. Regression: the absolute error; classification: right/wrong. A
    multi-output task's (rows, k) values are coloured by its *first* output (its first
    target column; :func:`multi_output_note` says so under the chart): one real value
    in the column's units reads like any other task's, where a norm over outputs on
    different scales would mostly show the largest one.
    """
    out = pd.DataFrame({"task": [task] * n_rows})
    if truth is None or prediction is None or len(truth) != n_rows:
        return out
    if truth.ndim == 2:
        truth, prediction = truth[:, 0], np.asarray(prediction)[:, 0]
    if truth.dtype.kind in "biuf":
        out["target"] = truth.astype(float)
        out["prediction"] = np.asarray(prediction, dtype=float)
        out["error"] = np.abs(out["prediction"] - out["target"])
    else:
        out["target"] = [str(v) for v in truth]
        out["prediction"] = [str(v) for v in prediction]
        out["error"] = np.where(out["target"] == out["prediction"], "right", "wrong")
    return out


def multi_output_note(targets: Mapping[str, Sequence[str]], shown: Sequence[str]) -> str | None:
    """The caption for the tasks among ``shown`` with several outputs: which one colours."""
    parts = [
        f"{md_escape(t)} by its first output, {md_escape(targets[t][0])} (of {len(targets[t])})"
        for t in shown
        if len(targets.get(t, ())) > 1
    ]
    if not parts:
        return None
    return (
        "True value, prediction and error of a multi-output task show one output: "
        + "; ".join(parts)
        + "."
    )
