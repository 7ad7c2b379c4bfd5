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


@METHODS.register(
    "imtl_g",
    title="IMTL-G (impartial gradients)",
    summary="""Chooses the combination of the task gradients whose projection onto
    every task's gradient direction is the same, so each task is pushed equally hard
    whatever the size of its gradient. Helps when one task's gradient is much larger
    than the others' and would otherwise dominate the shared layers. Costs one backward
    pass per task and a T×T pseudo-inverse per step.""",
    paper="Liu, L., Li, Y., Kuang, Z., Xue, J.-H., Chen, Y., Yang, W., Liao, Q. & "
    "Zhang, W. (2021). Towards Impartial Multi-task Learning. ICLR.",
)
class IMTLGWeighting(GradientWeighting):
    def make_aggregator(self) -> IMTLG:
        return IMTLG()
