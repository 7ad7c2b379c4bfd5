"""Fixed loss weights: the user's own w_i (``static``) or all ones (``equal``).

The joint objective of the textbooks, min_θ Σ_i w_i L_i(θ); with equal weights,
the plain sum of the task losses.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from mtlcore.catalogue import StaticOptions
from mtlcore.weighting.base import LossWeighting, WeightingTask, per_task_weights
from mtlcore.weighting.registry import METHODS


@METHODS.register("equal")
class EqualWeighting(LossWeighting):
    def __init__(self, tasks: Sequence[WeightingTask], options=None):
        super().__init__(tasks, options)
        self.register_buffer("w", torch.ones(len(self.tasks)))

    def weights(self, losses: Tensor) -> Tensor:
        return self.w


@METHODS.register("static")
class StaticWeighting(EqualWeighting):
    def __init__(self, tasks: Sequence[WeightingTask], options: StaticOptions):
        super().__init__(tasks, options)
        unknown = sorted(set(options.weights) - set(self.names))
        if unknown:
            raise ValueError(
                f"weighting.options.weights: no task named {', '.join(map(repr, unknown))}; "
                f"the tasks are: {', '.join(self.names)}"
            )
        bad = {k: v for k, v in options.weights.items() if not (v >= 0 and v < float("inf"))}
        if bad:
            raise ValueError(
                f"weighting.options.weights: weights must be finite and >= 0, got {bad}"
            )
        self.w = per_task_weights(self.names, options.weights, default=1.0)
