"""CAGrad: the update that maximises the worst task's improvement near the mean gradient.

Liu, Liu, Jin, Stone & Liu (2021), "Conflict-Averse Gradient Descent for Multi-task
Learning", NeurIPS. Within a ball of radius c·||g₀|| around the mean gradient g₀,
choose the direction d that maximises min_i ⟨g_i, d⟩. c = 0 is the mean gradient;
larger c moves towards MGDA. Solved by torchjd's :class:`~torchjd.aggregation.CAGrad`
(cvxpy with Clarabel); torchjd returns d = g₀ + (√φ/||g_w||) g_w without the
paper's optional rescaling by 1/(1+c²); weights ×T.

With two tasks the convex problem is one-dimensional and solved exactly
(:func:`mtlcore.weighting._two_task.cagrad_weights`: its stationary point from a
quadratic, or an end of [0, 1]), with torchjd's normalisation (G / tr G) and its
``norm_eps`` rules, so no cvxpy solve is made; torchjd answers for more tasks.
"""

from __future__ import annotations

from torch import Tensor
from torchjd.aggregation import CAGrad

from mtlcore.weighting._two_task import cagrad_weights
from mtlcore.weighting.gradient import GradientWeighting
from mtlcore.weighting.registry import METHODS


@METHODS.register("cagrad")
class CAGradWeighting(GradientWeighting):
    def make_aggregator(self) -> CAGrad:
        return CAGrad(c=self.options.c, norm_eps=self.options.norm_eps)

    def two_task_weights(self, gramians: Tensor) -> tuple[Tensor, Tensor]:
        return cagrad_weights(gramians, self.options.c, self.options.norm_eps)
