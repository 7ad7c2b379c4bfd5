"""Uncertainty weighting: learn each task's noise σ_i and weight its loss by it.

Kendall, Gal & Cipolla (2018), "Multi-Task Learning Using Uncertainty to Weigh
Losses for Scene Geometry and Semantics", CVPR. With s_i = log σ_i² learned, the
objective is Σ_i c_i exp(-s_i) L_i + s_i / 2, where c_i = 1/2 for a regression
(Gaussian likelihood) and 1 for a classification task. For a regression task the
optimum is σ_i² = L_i: a noisier task learns a larger σ and gets a smaller weight.

The s_i start at 0 (σ_i = 1) and step with the model's optimiser; ``weight_lr`` gives
them a learning rate of their own (default: the model's), so that σ_i can travel the
few units of log scale to σ_i² ≈ L_i within a short run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mtlcore.catalogue import UncertaintyOptions
from mtlcore.kinds import kind_named
from mtlcore.weighting.base import LossWeighting, WeightingTask
from mtlcore.weighting.registry import METHODS


@METHODS.register("uncertainty")
class UncertaintyWeighting(LossWeighting):
    def __init__(self, tasks: Sequence[WeightingTask], options: UncertaintyOptions | None = None):
        super().__init__(tasks, options or UncertaintyOptions())
        self.log_var = nn.Parameter(torch.zeros(len(self.tasks)))  # s_i = log σ_i²
        c = [0.5 if kind_named(t.kind).likelihood == "gaussian" else 1.0 for t in self.tasks]
        self.register_buffer("c", torch.tensor(c))

    def weights(self, losses: Tensor) -> Tensor:
        return self.c * torch.exp(-self.log_var)

    def objective(self, losses: Tensor) -> tuple[Tensor, Tensor]:
        w = self.weights(losses)
        return (w * losses).sum() + 0.5 * self.log_var.sum(), w

    def sigma(self) -> Tensor:
        return torch.exp(0.5 * self.log_var.detach())

    def parameter_lr(self) -> float | None:
        return self.options.weight_lr

    def state(self) -> dict[str, Any]:
        return {"sigma": dict(zip(self.names, self.sigma().tolist(), strict=True))}
