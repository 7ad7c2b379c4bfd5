"""Uncertainty weighting's learned σ beside the true noise of the data, for the Train page.

Kendall, Gal & Cipolla (2018) learn a noise level σ_i per task; for a regression task
its optimum is σ_i² = the task's loss. Where the data's own noise is known — the
``synthetic`` dataset with ``data.standardize_targets: false``, whose task i has noise
``scales[i] · noise[i]`` in its target's units — the page can show the two side by
side. Pure functions of the run's metric rows and config: no Streamlit here.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

CAPTION = (
    "Uncertainty weighting's learned σ per task at the latest epoch (its loss weight is "
    "1/(2σ²) for a regression task). σ² tends to the task's training loss, so it ends "
    "near the true noise only where the model fits the task down to its noise. True "
    "noise: the synthetic dataset's scale × noise, in the target's units (shown when the "
    "targets are not standardised)."
)


def true_noise(config: dict[str, Any], tasks: list[str]) -> dict[str, float]:
    """Task -> the data's noise standard deviation in the units the loss sees, where known:
    ``synthetic`` without target standardisation (task i is ``task{i}``); else {}."""
    data = config.get("data") or {}
    if data.get("builtin") != "synthetic" or data.get("standardize_targets", True):
        return {}
    options = data.get("options") or {}
    n = int(options.get("n_tasks", 2))

    def per_task(key: str, default: float) -> list[float]:
        value = options.get(key, default)
        return [float(v) for v in value] if isinstance(value, list) else [float(value)] * n

    sigma = [s * e for s, e in zip(per_task("scales", 1.0), per_task("noise", 0.1), strict=True)]
    return {f"task{i}": v for i, v in enumerate(sigma) if f"task{i}" in tasks}


def sigma_table(metrics: pd.DataFrame, config: dict[str, Any]) -> pd.DataFrame | None:
    """One row per task: the multi-task model's σ at the latest epoch it was recorded and,
    where known, the true noise and their ratio; None when the run learned no σ."""
    if metrics.empty:
        return None
    rows = metrics[(metrics["name"] == "sigma") & (metrics["model"] == "mtl")]
    if rows.empty:
        return None
    latest = rows[rows["epoch"] == rows["epoch"].max()]
    learned = latest.groupby("task", sort=False)["value"].last()
    table = pd.DataFrame({"task": learned.index, "learned σ": learned.to_numpy(dtype=float)})
    truth = true_noise(config, list(learned.index))
    if truth:
        table["true noise σ"] = [truth.get(t, float("nan")) for t in table["task"]]
        table["learned / true"] = table["learned σ"] / table["true noise σ"]
    return table.reset_index(drop=True)
