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

from mtlcore.analysis.affinity import affinity_summary
from mtlcore.analysis.cka import cka_rows
from mtlcore.analysis.conflict import conflict_summary
from mtlcore.analysis.pairwise import (
    PairwiseSeed,
    check_pairwise,
    pairwise_summary,
    pairwise_trainings,
    train_pairwise,
)

__all__ = [
    "PairwiseSeed",
    "check_pairwise",
    "cka_rows",
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
