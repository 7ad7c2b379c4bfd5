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
those of the next step's batches (as in LibMTL): free, but noisier, since each task
reads its own batch stream. The loss minima are taken as 0 (MSE and cross-entropy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor

from mtlcore.weighting.base import LossWeighting, StepContext, WeightingTask
from mtlcore.weighting.registry import METHODS
from mtlcore.weighting.tracking import RunningMean, last_and_mean, per_task

EPS = 1e-8  # keeps log L and 1/L finite at a zero loss


class FAMOOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    w_lr: float = Field(0.025, gt=0, description="learning rate (Adam) of the task logits")
    gamma: float = Field(0.01, ge=0, description="weight decay of the task logits")


@METHODS.register(
    "famo",
    title="FAMO (fast adaptive)",
    summary="""Weights the losses so that every task's loss falls by about the same
    fraction each step, and keeps learning from what actually happened: a task whose
    loss fell less than the others' gets more priority next step. Gets much of the
    balance of the gradient methods (conflicts, losses on different scales) from the
    losses alone, so it costs almost nothing per step.""",
    paper="Liu, B., Feng, Y., Stone, P. & Liu, Q. (2023). FAMO: Fast Adaptive Multitask "
    "Optimization. NeurIPS.",
    options=FAMOOptions,
)
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
