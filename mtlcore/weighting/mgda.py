"""MGDA: step along the minimum-norm point of the convex hull of the task gradients.

Désidéri (2012), "Multiple-gradient descent algorithm (MGDA) for multiobjective
optimization", and its deep-learning use by Sener & Koltun (2018), "Multi-Task
Learning as Multi-Objective Optimization", NeurIPS. The weights w on the simplex
minimise ||Σ w_i g_i||; the resulting direction decreases every task loss at once
(or is zero at a Pareto-stationary point). Solved by torchjd's
:class:`~torchjd.aggregation.MGDA` (Frank-Wolfe on the Gramian); weights ×T.

With two tasks the min-norm point of the segment [g₂, g₁] is computed exactly
(:func:`mtlcore.weighting._two_task.mgda_weights`): x = clip((g₂₂ − g₁₂)/‖g₁ − g₂‖², 0, 1),
the point Frank-Wolfe's line search converges to; ``epsilon`` and ``max_iters`` then have
nothing to bound. torchjd answers for more tasks and where g₁ = g₂.
"""

from __future__ import annotations

from torch import Tensor
from torchjd.aggregation import MGDA

from mtlcore.weighting._two_task import mgda_weights
from mtlcore.weighting.gradient import GradientWeighting
from mtlcore.weighting.registry import METHODS


@METHODS.register("mgda")
class MGDAWeighting(GradientWeighting):
    def make_aggregator(self) -> MGDA:
        return MGDA(epsilon=self.options.epsilon, max_iters=self.options.max_iters)

    def two_task_weights(self, gramians: Tensor) -> tuple[Tensor, Tensor]:
        return mgda_weights(gramians)
