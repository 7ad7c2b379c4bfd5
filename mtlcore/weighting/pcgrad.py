"""PCGrad ("gradient surgery"): project away the conflicting part of each task gradient.

Yu, Kumar, Gupta, Levine, Hausman & Finn (2020), "Gradient Surgery for Multi-Task
Learning", NeurIPS. For each task gradient g_i, in a random order of the other
tasks j: if g_i conflicts with g_j (negative inner product), remove from g_i its
component along g_j. The update is the sum of the projected gradients. The
aggregation is torchjd's :class:`~torchjd.aggregation.PCGrad`; its weights are on
the sum scale already (all ones without conflict), so they are not rescaled. Its
random orders come from torch's generator seeded by (model seed, step), so runs
are reproducible and dropout's random stream is left alone.

With two tasks the order is fixed and the weights have a closed form
(:func:`mtlcore.weighting._two_task.pcgrad_weights`): (1 − min(g₁₂, 0)/g₁₁,
1 − min(g₁₂, 0)/g₂₂) on the Gramian G; no random draw is made.
"""

from __future__ import annotations

from torch import Tensor
from torchjd.aggregation import PCGrad

from mtlcore.weighting._two_task import pcgrad_weights
from mtlcore.weighting.gradient import GradientWeighting
from mtlcore.weighting.registry import METHODS


@METHODS.register("pcgrad")
class PCGradWeighting(GradientWeighting):
    mean_scaled = False  # all ones without conflict: already the sum of the gradients
    uses_global_rng = True  # random projection orders (torch.randperm)

    def make_aggregator(self) -> PCGrad:
        return PCGrad()

    def two_task_weights(self, gramians: Tensor) -> tuple[Tensor, Tensor]:
        return pcgrad_weights(gramians)
