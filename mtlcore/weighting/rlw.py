"""Random Loss Weighting: fresh random loss weights at every step.

Lin, Ye, Zhang & Tsang (2021), "Reasonable Effectiveness of Random Weighting: A
Litmus Test for Multi-Task Learning", arXiv:2111.10603 (TMLR 2022). Each step draws
λ ~ N(0, I_T) and uses w = T · softmax(λ), so the weights are positive and sum to
T (the paper's softmax sums to 1; ×T puts them on the scale of ``equal``, whose
weights are all 1). In expectation every task gets weight 1.

The draws come from a generator of their own, seeded from the model's seed
(``derive_seed(seed, "weighting", "rlw")``): the same config and seed give the same
weights, and drawing them disturbs no other random stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from mtlcore.seeding import derive_seed
from mtlcore.weighting.base import LossWeighting, StepContext, WeightingTask
from mtlcore.weighting.registry import METHODS
from mtlcore.weighting.tracking import RunningMean, last_and_mean


@METHODS.register("rlw")
class RandomLossWeighting(LossWeighting):
    def __init__(self, tasks: Sequence[WeightingTask], options=None):
        super().__init__(tasks, options)
        self.generator: torch.Generator | None = None
        self._weights = RunningMean()

    def seed(self, seed: int) -> None:
        """Restart the stream of weights from ``seed`` (the model's seed, by default)."""
        self.generator = torch.Generator().manual_seed(derive_seed(seed, "weighting", "rlw"))

    def weights(self, losses: Tensor) -> Tensor:
        if self.generator is None:
            self.seed(0)
        assert self.generator is not None
        draw = torch.randn(len(self.tasks), generator=self.generator)
        return (len(self.tasks) * torch.softmax(draw, dim=0)).to(losses)

    def backward(self, losses: Tensor, ctx: StepContext) -> Tensor:
        if self.generator is None:
            self.seed(ctx.model.seed)
        w = super().backward(losses, ctx)
        self._weights.add(w)
        return w

    def state(self) -> dict[str, Any]:
        return last_and_mean("weights", self.names, self._weights)
