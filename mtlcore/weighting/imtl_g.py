"""IMTL-G: the combination whose projection on every task gradient's direction is equal.

Liu, Li, Kuang, Xue, Chen, Yang, Liao & Zhang (2021), "Towards Impartial Multi-task
Learning", ICLR — the gradient part (IMTL-G), generalised to linearly dependent
gradients by Quinton & Rey (2024). The update d = Σ w_i g_i (Σ w_i = 1) has the same
inner product with every unit task gradient g_i/||g_i||, so no task is favoured
because of its gradient's size. torchjd's :class:`~torchjd.aggregation.IMTLG`;
weights ×T.
"""

from __future__ import annotations

from torchjd.aggregation import IMTLG

from mtlcore.weighting.gradient import GradientWeighting
from mtlcore.weighting.registry import METHODS


@METHODS.register("imtl_g")
class IMTLGWeighting(GradientWeighting):
    def make_aggregator(self) -> IMTLG:
        return IMTLG()
