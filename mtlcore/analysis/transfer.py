"""The transfer analysis of one experiment, as the keys it adds to ``result.json``.

One call gathers what :mod:`~mtlcore.analysis.conflict`,
:mod:`~mtlcore.analysis.affinity`, :mod:`~mtlcore.analysis.pairwise` and
:mod:`~mtlcore.analysis.cka` compute from the rows the training loop measured, so
``run_experiment`` adds them with one ``result.update(...)``; the pieces the
experiment also needs while it trains (pair trainings, CKA rows) are re-exported
here so it imports one module. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from mtlcore.analysis.affinity import affinity_summary, suggest_grouping
from mtlcore.analysis.cka import cka_rows
from mtlcore.analysis.conflict import conflict_summary
from mtlcore.analysis.pairwise import (
    PairwiseSeed,
    check_pairwise,
    json_matrix,
    pairwise_summary,
    pairwise_trainings,
    train_pairwise,
)
from mtlcore.analysis.seeds import mean_std_cells

__all__ = [
    "PairwiseSeed",
    "check_pairwise",
    "cka_rows",
    "combine_transfer",
    "pairwise_trainings",
    "train_pairwise",
    "transfer_summary",
]


def transfer_summary(
    tasks: Sequence[str],
    metric: Mapping[str, str],
    *,
    grad_cosine: Sequence[Mapping[str, Any]],
    affinity: Sequence[Mapping[str, Any]],
    affinity_every: int,
    pairwise: Sequence[PairwiseSeed],
    cka: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """``grad_conflict``, ``affinity``, ``pairwise`` and ``cka`` (see the README's table).

    ``affinity`` and ``pairwise`` are None when they were not measured; ``cka`` is a
    list of ``{seed, epoch, task, cka}`` rows (empty without snapshots or baselines).
    """
    return {
        "grad_conflict": conflict_summary(grad_cosine),
        "affinity": affinity_summary(affinity, tasks, affinity_every),
        "pairwise": pairwise_summary(tasks, metric, pairwise),
        "cka": [dict(r) for r in cka],
    }


def combine_transfer(results: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The transfer keys of several ``result.json`` of one experiment (a stored run per
    seed) as one: gradient conflict from the pooled ``grad_cosine`` rows; the affinity
    matrices averaged (weighted by their measurements) and a grouping suggested from the
    mean; the pairwise gains averaged, with their std over the results when there are
    several; the CKA rows side by side. Keys whose analysis no result holds are None
    (``cka``: an empty list); results from before these keys existed count as none.
    """
    results = [r for r in results if r]
    cosines = [row for r in results for row in r.get("grad_cosine") or []]
    return {
        "grad_conflict": conflict_summary(cosines),
        "affinity": _combine_affinity([r["affinity"] for r in results if r.get("affinity")]),
        "pairwise": _combine_pairwise([r["pairwise"] for r in results if r.get("pairwise")]),
        "cka": [dict(row) for r in results for row in r.get("cka") or []],
    }


def _combine_affinity(parts: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    if not parts:
        return None
    tasks = list(parts[0]["tasks"])
    parts = [p for p in parts if list(p["tasks"]) == tasks]
    weights = np.array([max(1, int(p.get("measurements") or 1)) for p in parts], dtype=float)
    stack = np.array([_array(p["matrix"]) for p in parts])
    present = np.isfinite(stack)
    w = weights[:, None, None] * present
    with np.errstate(invalid="ignore"):
        mean = np.where(w.sum(0) > 0, np.nansum(stack * w, 0) / w.sum(0), np.nan)
    return {
        "every": parts[0].get("every"),
        "tasks": tasks,
        "matrix": json_matrix(mean),
        "measurements": int(sum(int(p.get("measurements") or 0) for p in parts)),
        "grouping": suggest_grouping(mean, tasks).to_dict(),
    }


def _combine_pairwise(parts: list[Mapping[str, Any]]) -> dict[str, Any] | None:
    if not parts:
        return None
    if len(parts) == 1:
        return dict(parts[0])
    tasks = list(parts[0]["tasks"])
    parts = [p for p in parts if list(p["tasks"]) == tasks]
    gains = np.array([_array(p["gain"]) for p in parts])
    values = np.array([_array(p["value"]) for p in parts])
    mean, std = mean_std_cells(gains)
    value, _ = mean_std_cells(values)
    return {
        **dict(parts[0]),
        "gain": json_matrix(mean),
        "gain_std": json_matrix(std),
        "value": json_matrix(value),
        "trainings": int(sum(int(p.get("trainings") or 0) for p in parts)),
        "seconds": float(sum(float(p.get("seconds") or 0.0) for p in parts)),
    }


def _array(matrix: Sequence[Sequence[float | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else float(v) for v in row] for row in matrix])
