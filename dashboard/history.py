"""A run's long metric rows (``RunStore.metrics_frame``) reshaped for the training charts."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def loss_history(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per-epoch losses: columns model, task, split, epoch, loss (train and val)."""
    rows = metrics[(metrics["name"] == "loss") & metrics["split"].isin(["train", "val"])]
    return (
        rows.rename(columns={"value": "loss"})[["model", "task", "split", "epoch", "loss"]]
        .sort_values(["model", "task", "split", "epoch"])
        .reset_index(drop=True)
    )


def weight_history(metrics: pd.DataFrame) -> pd.DataFrame:
    """The multi-task model's mean loss weight per task and epoch: task, epoch, weight."""
    rows = metrics[
        (metrics["name"] == "weight") & (metrics["split"] == "train") & (metrics["model"] == "mtl")
    ]
    return (
        rows.rename(columns={"value": "weight"})[["task", "epoch", "weight"]]
        .sort_values(["task", "epoch"])
        .reset_index(drop=True)
    )


def cosine_history(metrics: pd.DataFrame) -> pd.DataFrame:
    """Gradient cosine between task pairs over training: step, epoch, pair, cosine."""
    rows = metrics[(metrics["name"] == "cosine") & (metrics["model"] == "mtl")]
    out = rows.rename(columns={"value": "cosine"})[["step", "epoch", "task", "cosine"]].copy()
    out["pair"] = out.pop("task").str.replace("|", " · ", regex=False)
    return out.sort_values(["pair", "step"]).reset_index(drop=True)


def val_metric_history(metrics: pd.DataFrame) -> pd.DataFrame:
    """The primary validation metric per epoch: model, task, epoch, metric, value."""
    rows = metrics[(metrics["split"] == "val") & ~metrics["name"].isin(["loss", "weight"])]
    return rows.rename(columns={"name": "metric"})[["model", "task", "epoch", "metric", "value"]]


def task_order(metrics: pd.DataFrame, known: Sequence[str] = ()) -> list[str]:
    """Tasks in the order the config lists them, then any others in order of appearance."""
    seen = list(dict.fromkeys(known))
    losses = metrics[metrics["name"] == "loss"]["task"]
    return seen + [t for t in dict.fromkeys(losses) if t not in seen]
