"""Task metrics, and the relative gain / Δm of multi-task over single-task.

Regression is scored in the target's own units (RMSE, MAE, R²; pooled over the outputs
of a multi-output task), classification by
accuracy, F1 and ROC AUC. Each task kind (``mtlcore.kinds``) has a primary metric that the
comparison uses.

The reported test metrics come from scikit-learn (:func:`regression_metrics`,
:func:`classification_metrics`). The per-epoch validation metrics of the training
curves are computed on the tensors where they are (:func:`tensor_metric`: no copy to
the CPU, no scikit-learn call each epoch), to the same numbers.

scikit-learn is imported by the functions that call it, not by this module: the pages
read :data:`HIGHER_IS_BETTER` and the gains through ``mtlcore.kinds`` and
``mtlcore.analysis``, and scikit-learn (which imports ``scipy.stats``) is seconds of
the dashboard's first page on a busy machine (issue 12). The run workers import it
before their first run (``mtlcore.runs._preload``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # tensors are only passed in: importing this module imports no torch
    from torch import Tensor

HIGHER_IS_BETTER = {
    "rmse": False, "mae": False, "r2": True, "accuracy": True, "f1": True, "auc": True, "loss": False,
}  # fmt: skip


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² of (rows,) values, or of (rows, k) values of a multi-output task.

    With k outputs, RMSE is the root of the mean squared error over every row and output
    (one number for the task, in the targets' units: outputs on larger scales weigh
    more), MAE the mean absolute error over them, and R² the mean of the k per-output
    R² (scikit-learn's ``multioutput="uniform_average"``, the default of all three).
    """
    from sklearn import metrics as skm

    return {
        "rmse": float(math.sqrt(skm.mean_squared_error(y_true, y_pred))),
        "mae": float(skm.mean_absolute_error(y_true, y_pred)),
        "r2": float(skm.r2_score(y_true, y_pred)) if len(y_true) > 1 else float("nan"),
    }


def tensor_metric(metric: str, y_true: Tensor, y_pred: Tensor) -> float:
    """One metric of :func:`regression_metrics` (``rmse``, ``mae``, ``r2``: values in the
    target's units, (rows,) or (rows, k)) or ``accuracy`` (class labels), computed in
    float64 on the tensors' device; the same number as scikit-learn's."""
    if metric == "accuracy":
        return float((y_true == y_pred).double().mean())
    y_true, y_pred = y_true.double(), y_pred.double()
    err = y_pred - y_true
    if metric == "rmse":
        return float(err.pow(2).mean().sqrt())
    if metric == "mae":
        return float(err.abs().mean())
    if metric != "r2":
        raise ValueError(f"unknown metric {metric!r}")
    if len(y_true) < 2:
        return float("nan")
    res = err.pow(2).sum(dim=0)
    tot = (y_true - y_true.mean(dim=0)).pow(2).sum(dim=0)
    # scikit-learn's force_finite: a constant target scores 1 when fitted exactly, else 0
    score = (1 - res / tot.where(tot != 0, 1.0)).where(tot != 0, (res == 0).double())
    return float(score.mean())


def classification_metrics(
    y_true: np.ndarray, proba: np.ndarray, n_classes: int
) -> dict[str, float]:
    """``proba``: (rows,) probability of class 1 for binary, (rows, classes) for multiclass."""
    from sklearn import metrics as skm

    if n_classes == 2:
        pred = (proba >= 0.5).astype(int)
        f1 = skm.f1_score(y_true, pred, zero_division=0)
    else:
        pred = proba.argmax(axis=1)
        f1 = skm.f1_score(y_true, pred, average="macro", zero_division=0)
    return {
        "accuracy": float(skm.accuracy_score(y_true, pred)),
        "f1": float(f1),
        "auc": _auc(y_true, proba, n_classes),
    }


def _auc(y_true: np.ndarray, proba: np.ndarray, n_classes: int) -> float:
    from sklearn import metrics as skm

    present = np.unique(y_true)
    if len(present) < 2:
        return float("nan")  # undefined with one class in the split
    if n_classes == 2:
        return float(skm.roc_auc_score(y_true, proba))
    if len(present) < n_classes:
        return float("nan")
    return float(skm.roc_auc_score(y_true, proba, multi_class="ovr", labels=list(range(n_classes))))


def relative_gain(mtl: float, stl: float, higher_is_better: bool) -> float:
    """(MTL - STL) / |STL| in percent, signed so that positive means sharing helped."""
    if not (math.isfinite(mtl) and math.isfinite(stl)) or stl == 0:
        return float("nan")
    sign = 1.0 if higher_is_better else -1.0
    return 100.0 * sign * (mtl - stl) / abs(stl)


def delta_m(gains: Iterable[float]) -> float:
    """Δm (Maninis et al. 2019; LibMTL): the mean relative gain over tasks, in percent."""
    values = [g for g in gains]
    if not values or not all(math.isfinite(g) for g in values):
        return float("nan")
    return float(np.mean(values))
