"""GradNorm: learn loss weights that balance the tasks' gradient norms and training rates.

Chen, Badrinarayanan, Lee & Rabinovich (2018), "GradNorm: Gradient Normalization for
Adaptive Loss Balancing in Deep Multitask Networks", ICML.

Per step, with W the weight matrix of the last shared layer and learned w_i:

- G_i = ||∇_W w_i L_i|| and Ḡ = mean_i G_i: how hard each weighted task pulls on W;
- L̃_i = L_i / L_i(0) and r_i = L̃_i / mean_j L̃_j: the task's *inverse training
  rate* (r_i > 1: its loss has fallen less than the others');
- L_grad = Σ_i |G_i − Ḡ r_i^α|, with the target Ḡ r_i^α held constant.

The model steps on Σ w_i L_i; the w_i step (with the model's optimiser, never
decayed, at ``weight_lr`` — the paper's own learning rate for the weights — or, by
default, the model's) on ∂L_grad/∂w_i = sign(G_i − target_i) · ||∇_W L_i||, and are renormalised
to Σ w_i = T after every step (at the start of the next, before they are used).
A task whose loss falls slowest gets a larger target and so a larger weight; α sets
how strongly. L_i(0) is the loss of the first step.

"The last shared layer": the last shared parameter with two or more dimensions in
the model's registration order (for hard sharing, the trunk's last linear layer).
Without shared parameters (the independent model) there is nothing to balance and
the weights stay at 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from mtlcore.catalogue import GradNormOptions
from mtlcore.weighting.base import LossWeighting, StepContext, WeightedModel, WeightingTask
from mtlcore.weighting.gradient import per_task_grads
from mtlcore.weighting.registry import METHODS
from mtlcore.weighting.tracking import RunningMean, last_and_mean, per_task

MIN_WEIGHT = 1e-3  # a weight pushed to or below zero by the optimiser is clamped here


def last_shared_weight(model: WeightedModel) -> nn.Parameter | None:
    """The last shared parameter (in registration order) that is a matrix, else the last
    shared parameter, else None."""
    shared = {id(p) for p in model.shared_parameters()}
    ordered = [p for p in model.parameters() if id(p) in shared and p.requires_grad]
    matrices = [p for p in ordered if p.dim() > 1]
    return (matrices or ordered or [None])[-1]


@METHODS.register("gradnorm")
class GradNormWeighting(LossWeighting):
    def __init__(self, tasks: Sequence[WeightingTask], options: GradNormOptions):
        super().__init__(tasks, options)
        n = len(self.tasks)
        self.w = nn.Parameter(torch.ones(n))
        self.register_buffer("initial_losses", torch.full((n,), float("nan")))
        self._weights = RunningMean()
        self._grad_norms: Tensor | None = None  # G_i of the last step
        self._ratio: Tensor | None = None  # r_i of the last step

    @torch.no_grad()
    def renormalize(self) -> None:
        """Σ w_i = T, every w_i > 0."""
        self.w.clamp_(min=MIN_WEIGHT)
        self.w.mul_(len(self.w) / self.w.sum())

    def weights(self, losses: Tensor) -> Tensor:
        return self.w.detach()

    def backward(self, losses: Tensor, ctx: StepContext) -> Tensor:
        self.renormalize()
        w = self.w.detach().clone()
        layer = last_shared_weight(ctx.model)
        if layer is not None and len(losses) > 1:
            grad = self._weight_grad(losses, layer, w)
            self.w.grad = grad if self.w.grad is None else self.w.grad + grad
        (w * losses).sum().backward()
        self._weights.add(w)
        return w

    def _weight_grad(self, losses: Tensor, layer: Tensor, w: Tensor) -> Tensor:
        """∂L_grad/∂w with the target held constant."""
        (grads,) = per_task_grads(losses, [layer])
        norms = grads.flatten(1).norm(dim=1) if grads is not None else torch.zeros_like(w)
        with torch.no_grad():
            if not bool(torch.isfinite(self.initial_losses).all()):
                self.initial_losses.copy_(losses.detach().clamp_min(1e-12))
            G = w * norms
            rate = losses.detach() / self.initial_losses
            ratio = rate / rate.mean().clamp_min(1e-12)
            target = G.mean() * ratio**self.options.alpha
            self._grad_norms, self._ratio = G, ratio
            return torch.sign(G - target) * norms

    def parameter_lr(self) -> float | None:
        return self.options.weight_lr

    def epoch_end(self, epoch: int, train_losses: Tensor) -> None:
        self.renormalize()  # so the saved and shown weights are the ones the next step uses

    def state(self) -> dict[str, Any]:
        with torch.no_grad():
            w = self.w.clamp(min=MIN_WEIGHT)
            w = w * len(w) / w.sum()
        out: dict[str, Any] = {"weights": per_task(self.names, w)}
        mean = last_and_mean("weights", self.names, self._weights)
        if mean:
            out["mean_weights"] = mean["mean_weights"]
        if self._grad_norms is not None and self._ratio is not None:
            out["grad_norm"] = per_task(self.names, self._grad_norms)
            out["inverse_training_rate"] = per_task(self.names, self._ratio)
        return out
