"""Evaluating a trained model: its outputs on a split, its test metrics, readable predictions.

:func:`predict` runs the model once over every row of a split (eval mode); :func:`score`
gives all metrics of a task's outputs, in the target's units (each task's kind computes
them, see :mod:`mtlcore.kinds`); :func:`evaluate` gives both for the test split, with
the test predictions as readable rows (``predictions.csv``). The training loop
(``mtlcore.train``) measures its per-epoch validation curves with the same kind objects
on tensors, to the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from mtlcore.data.prepare import PreparedData, TaskData
from mtlcore.models.base import MultiTaskModel
from mtlcore.train import split_tensors


@torch.no_grad()
def predict(
    model: MultiTaskModel, data: PreparedData, split: str, device: torch.device
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per task: (raw outputs as numpy, features as numpy) on every row of ``split``."""
    model.eval()
    out = model(split_tensors(data.tasks, split, device))
    model.train()
    return (
        {k: v.float().cpu().numpy() for k, v in out.outputs.items()},
        {k: v.float().cpu().numpy() for k, v in out.features.items()},
    )


def score(task: TaskData, output: np.ndarray, split: str) -> dict[str, float]:
    """All metrics of a task's raw model outputs on ``split``, in the target's units
    (pooled over the outputs of a multi-output task, see
    :func:`mtlcore.metrics.regression_metrics`)."""
    return task.kind_rules.metrics(task, output, task.y[split])


def evaluate(
    model: MultiTaskModel, data: PreparedData, device: torch.device, label: str
) -> tuple[dict[str, dict[str, float]], list[dict[str, Any]]]:
    """Test metrics per task, and the test predictions as rows (in the target's units/labels):
    one row per test row and output (``output`` names the target column)."""
    outputs, _ = predict(model, data, "test", device)
    metrics = {t.name: score(t, outputs[t.name], "test") for t in data.tasks}
    rows = [
        {"model": label, "task": t.name, "row": i, "truth": truth, "prediction": pred,
         "output": column}
        for t in data.tasks
        for i, column, truth, pred in readable_predictions(t, outputs[t.name])
    ]  # fmt: skip
    return metrics, rows


def readable_predictions(task: TaskData, output: np.ndarray) -> list[tuple[int, str, Any, Any]]:
    """(row, output, truth, prediction) per test row and output: numbers in the target's
    units, rounded to the decimals of its training values, or class labels; ``output`` is
    the target column's name. Rows come in test-row order, a multi-output task's outputs
    in target order within each row."""
    return task.kind_rules.readable(task, output, task.y["test"])
