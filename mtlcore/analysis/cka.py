"""Representation similarity: linear CKA between the multi-task and single-task features.

Centred kernel alignment with a linear kernel (Kornblith, Norouzi, Lee and Hinton
2019, "Similarity of Neural Network Representations Revisited", ICML):

    CKA(X, Y) = ‖Yᵀ X‖²_F / (‖Xᵀ X‖_F · ‖Yᵀ Y‖_F)

for column-centred X (n × d₁) and Y (n × d₂) holding the *same n inputs* in rows.
It is 1 for identical representations, invariant to orthogonal transforms and
isotropic scaling of either side (not to arbitrary invertible linear maps), and
near 0 for unrelated ones. Here X is the multi-task model's shared representation
of a task's sampled validation rows and Y the single-task network's, at the same
snapshot epoch: how much of what the shared layers compute is what the task alone
would have learned. Nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

CKA_MEANING = (
    "Linear CKA (Kornblith et al. 2019) between the multi-task model's shared representation "
    "of a task's sampled validation rows and the single-task network's representation of the "
    "same rows: 1 means the shared layers compute what the task alone would (up to a rotation "
    "and a scale); lower means the other tasks reshaped it."
)


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA of two representations of the same rows (rows = inputs, in the same order).

    NaN when either side is constant over the rows (nothing to align).

    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(50, 4))
    >>> round(linear_cka(a, 3 * a), 6)
    1.0
    """
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"CKA needs the same rows on both sides, got {x.shape[0]} and {y.shape[0]}"
        )
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    if x.shape[0] < x.shape[1] + y.shape[1]:  # fewer rows than features: n × n Gram matrices
        kx, ky = x @ x.T, y @ y.T
        cross, nx, ny = float((kx * ky).sum()), np.linalg.norm(kx), np.linalg.norm(ky)
    else:
        cross = float(np.linalg.norm(y.T @ x) ** 2)
        nx, ny = np.linalg.norm(x.T @ x), np.linalg.norm(y.T @ y)
    denom = float(nx * ny)
    if not denom > 0:
        return math.nan
    return cross / denom


def cka_rows(mtl: Iterable[Any], stl: Iterable[Any], *, seed: int = 0) -> list[dict[str, Any]]:
    """CKA per task and snapshot epoch between two models' snapshots of the same rows.

    ``mtl`` and ``stl``: snapshots (anything with ``epoch``, ``rows`` and ``features``
    dicts keyed by task: :class:`mtlcore.train.Snapshot` or a stored one). Epochs and
    tasks found on both sides whose sampled rows agree give a row ``{seed, epoch,
    task, cka}``, in epoch then task order.
    """
    by_epoch = {int(s.epoch): s for s in stl}
    out = []
    for a in sorted(mtl, key=lambda s: int(s.epoch)):
        b = by_epoch.get(int(a.epoch))
        if b is None:
            continue
        for task, fa in a.features.items():
            fb = b.features.get(task)
            if fb is None or not np.array_equal(a.rows[task], b.rows[task]) or len(fa) < 2:
                continue
            out.append(
                {"seed": seed, "epoch": int(a.epoch), "task": task, "cka": linear_cka(fa, fb)}
            )
    return out
