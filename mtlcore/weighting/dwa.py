"""Dynamic Weight Average: weight each task by how slowly its loss fell last epoch.

Liu, Johns & Davison (2019), "End-to-End Multi-Task Learning with Attention", CVPR.
With r_i = L_i(t-1) / L_i(t-2), the ratio of task i's mean training loss over the
last two epochs, epoch t uses w_i = T · exp(r_i / τ) / Σ_j exp(r_j / τ), so Σ w_i = T.
A task whose loss stopped falling (r_i near 1 or above) gets more weight than one
still improving fast. The first two epochs use w_i = 1 (no ratio yet).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from mtlcore.catalogue import DWAOptions
from mtlcore.weighting.base import LossWeighting, WeightingTask
from mtlcore.weighting.registry import METHODS
from mtlcore.weighting.tracking import per_task


@METHODS.register("dwa")
class DWAWeighting(LossWeighting):
    def __init__(self, tasks: Sequence[WeightingTask], options: DWAOptions):
        super().__init__(tasks, options)
        n = len(self.tasks)
        self.register_buffer("w", torch.ones(n))  # weights of the current epoch
        self.register_buffer("last_losses", torch.full((n,), float("nan")))  # epoch t-1
        self.register_buffer("prev_losses", torch.full((n,), float("nan")))  # epoch t-2

    def weights(self, losses: Tensor) -> Tensor:
        return self.w

    def epoch_end(self, epoch: int, train_losses: Tensor) -> None:
        losses = train_losses.detach().to(self.w)
        self.prev_losses.copy_(self.last_losses)
        self.last_losses.copy_(losses)
        if bool(torch.isfinite(self.prev_losses).all()):
            self.w.copy_(dwa_weights(self.last_losses, self.prev_losses, self.options.temperature))

    def state(self) -> dict[str, Any]:
        out: dict[str, Any] = {"weights": per_task(self.names, self.w)}
        if bool(torch.isfinite(self.prev_losses).all()):
            ratio = self.last_losses / self.prev_losses.clamp_min(1e-12)
            out["loss_ratio"] = per_task(self.names, ratio)
        return out


def dwa_weights(last: Tensor, prev: Tensor, temperature: float) -> Tensor:
    """T · softmax((last / prev) / τ): the DWA weights from two epochs' mean losses."""
    ratio = last / prev.clamp_min(1e-12)
    return len(ratio) * torch.softmax(ratio / temperature, dim=0)
