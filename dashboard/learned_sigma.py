"""Uncertainty weighting's learned σ, in the loss's units and in the target's, beside the
true noise of the data, for the Train page.

Kendall, Gal & Cipolla (2018) learn a noise level σ_i per task; for a regression task
its optimum is σ_i² = the task's loss. The loss is computed on the targets as trained:
with ``data.standardize_targets`` (the default) in standard units, so σ is too, while
the test RMSE beside it is in the target's own units. ``result.json`` carries each
regression task's ``target_scale`` (the std its target was divided by), so once a run
has finished σ × scale gives σ in the target's units as well. Where the data's own noise
is known — the ``synthetic`` dataset, whose task i has noise ``scales[i] · noise[i]`` in
its target's units — the page shows the two side by side. Pure functions of the run's
metric rows, config and result: no Streamlit here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from mtlcore.kinds import predicts_numbers

AS_TRAINED = "learned σ (standardised units)"
IN_UNITS = "learned σ (target units)"
TRUE_NOISE = "true noise σ (target units)"
RATIO = "learned / true"


def caption(standardised: bool, scales_known: bool, true_noise_shown: bool = False) -> str:
    """What the σ table shows, saying in which units."""
    text = (
        "Uncertainty weighting's learned σ per task at the latest epoch (its loss weight is "
        "1/(2σ²) for a regression task). σ² tends to the task's training loss, so it ends "
        "near the true noise only where the model fits the task down to its noise. "
    )
    if not standardised:
        text += "The targets are not standardised, so σ is in the target's own units."
    elif scales_known:
        text += (
            "The targets were standardised for training, so σ is learned in standard units; "
            "× the target's standard deviation (result.json's target_scale) gives it in the "
            "target's own units, those of the test RMSE."
        )
    else:
        text += (
            "The targets are standardised for training, so σ is in standard units, not those "
            "of the test RMSE; σ in the target's own units appears when the run has finished."
        )
    text += (
        " A classification task's σ has no units; a task with several target columns has "
        "one σ over all of them, so no single unit."
    )
    if true_noise_shown:
        text += " True noise (synthetic dataset): scale × noise, in the target's units."
    return text


def true_noise(config: Mapping[str, Any], tasks: Sequence[str]) -> dict[str, float]:
    """Task -> the data's noise standard deviation in the target's units, where known:
    the ``synthetic`` dataset (task i is ``task{i}``); else {}."""
    data = config.get("data") or {}
    if data.get("builtin") != "synthetic":
        return {}
    options = data.get("options") or {}
    n = int(options.get("n_tasks", 2))

    def per_task(key: str, default: float) -> list[float]:
        value = options.get(key, default)
        return [float(v) for v in value] if isinstance(value, list) else [float(value)] * n

    sigma = [s * e for s, e in zip(per_task("scales", 1.0), per_task("noise", 0.1), strict=True)]
    return {f"task{i}": v for i, v in enumerate(sigma) if f"task{i}" in tasks}


def target_scales(result: Mapping[str, Any] | None) -> dict[str, float]:
    """Task -> the std its one target was divided by for training, from ``result.json``
    (single-target regression tasks only; {} for results written before it was stored)."""
    out = {}
    for name, task in ((result or {}).get("tasks") or {}).items():
        scale = task.get("target_scale")
        if isinstance(scale, list) and len(scale) == 1 and scale[0] is not None:
            out[name] = float(scale[0])
    return out


def sigma_table(
    metrics: pd.DataFrame, config: Mapping[str, Any], result: Mapping[str, Any] | None = None
) -> pd.DataFrame | None:
    """One row per task: the multi-task model's σ at the latest epoch it was recorded, in
    the units it was learned in and (where known) in the target's units, and the true
    noise with the ratio where known; None when the run learned no σ.

    ``result``: the run's result.json, for each task's ``target_scale`` (None while the
    run is going)."""
    if metrics.empty:
        return None
    rows = metrics[(metrics["name"] == "sigma") & (metrics["model"] == "mtl")]
    if rows.empty:
        return None
    latest = rows[rows["epoch"] == rows["epoch"].max()]
    learned = latest.groupby("task", sort=False)["value"].last()
    tasks = [str(t) for t in learned.index]
    sigma = learned.to_numpy(dtype=float)
    standardised = bool((config.get("data") or {}).get("standardize_targets", True))
    table = pd.DataFrame({"task": tasks})
    if standardised:
        table[AS_TRAINED] = sigma
        scales = target_scales(result)
        in_units = [s * scales[t] if t in scales else math.nan for t, s in zip(tasks, sigma)]
    else:
        kinds = {n: t.get("kind") for n, t in ((result or {}).get("tasks") or {}).items()}
        in_units = [s if t not in kinds or predicts_numbers(kinds[t]) else math.nan
                    for t, s in zip(tasks, sigma)]  # fmt: skip
    if not standardised or any(math.isfinite(v) for v in in_units):
        table[IN_UNITS] = in_units
        truth = true_noise(config, tasks)
        if truth:
            table[TRUE_NOISE] = [truth.get(t, math.nan) for t in tasks]
            table[RATIO] = table[IN_UNITS] / table[TRUE_NOISE]
    return table
