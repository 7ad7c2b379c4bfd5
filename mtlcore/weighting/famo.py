"""FAMO: fast adaptive multitask optimisation — balance the tasks' rates of improvement.

Liu, Feng, Stone & Liu (2023), "FAMO: Fast Adaptive Multitask Optimization", NeurIPS.
FAMO keeps task logits ξ (z = softmax(ξ)) and steps the model along the gradient of
Σ_i z_i log L_i / c with c = Σ_j z_j / L_j, i.e. it weights the losses by

    w_i = T · (z_i / L_i) / Σ_j (z_j / L_j)          (Σ w_i = T)

(the paper's weights sum to 1; ×T puts them on the scale of ``equal``). Dividing by
L_i makes the step balance the *relative* decrease of the losses. After each step
the logits learn from how much each log-loss actually fell, δ_i = log L_i(before) −
log L_i(after): ξ ← Adam(ξ, ∇_ξ zᵀδ) with weight decay γ, so a task that improved
less than the others gains priority.

Cost: O(T) per step — no per-task backward passes. Where the paper re-evaluates the
*same* batch after the step (one extra forward pass), here the "after" losses are
those of the next step's batches (as in LibMTL): free, but noisier, since the next step
reads other rows. The loss minima are taken as 0 (MSE and cross-entropy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from mtlcore.catalogue import FAMOOptions
from mtlcore.weighting.base import LossWeighting, StepContext, WeightingTask
from mtlcore.weighting.registry import METHODS
from mtlcore.weighting.tracking import RunningMean, last_and_mean, per_task

EPS = 1e-8  # keeps log L and 1/L finite at a zero loss


@METHODS.register("famo")
class FAMOWeighting(LossWeighting):
    def __init__(self, tasks: Sequence[WeightingTask], options: FAMOOptions):
        super().__init__(tasks, options)
        self.register_buffer("logits", torch.zeros(len(self.tasks)))  # ξ
        self._optimizer: torch.optim.Adam | None = None
        self._before: Tensor | None = None  # the previous step's losses
        self._weights = RunningMean()

    def priority(self) -> Tensor:
        """z = softmax(ξ)."""
        return torch.softmax(self.logits.detach(), dim=0)

    def weights(self, losses: Tensor) -> Tensor:
        inv = self.priority().to(losses) / (losses.detach() + EPS)
        return len(inv) * inv / inv.sum()

    def backward(self, losses: Tensor, ctx: StepContext) -> Tensor:
        now = losses.detach()
        if self._before is not None:
            self._learn(self._before, now)
        self._before = now
        w = super().backward(losses, ctx)
        self._weights.add(w)
        return w

    def _learn(self, before: Tensor, after: Tensor) -> None:
        """One Adam step of ξ on ∇_ξ zᵀδ, δ = log L(before) − log L(after)."""
        if self._optimizer is None:  # made here, after the module was moved to its device
            self.logits.requires_grad_(True)
            self._optimizer = torch.optim.Adam(
                [self.logits], lr=self.options.w_lr, weight_decay=self.options.gamma
            )
        delta = (torch.log(before + EPS) - torch.log(after + EPS)).to(self.logits)
        z = self.priority()
        self.logits.grad = z * (delta - (z * delta).sum())  # softmax's vector-Jacobian product
        self._optimizer.step()

    def state(self) -> dict[str, Any]:
        out = last_and_mean("weights", self.names, self._weights)
        out["priority"] = per_task(self.names, self.priority())
        return out
