"""The interface of every weighting method: turn per-task losses into a parameter update.

Loss-level methods (static, uncertainty, DWA, ...) choose weights w_i and
backpropagate Σ w_i L_i. Gradient-level methods (PCGrad, MGDA, ...) instead
combine the per-task gradients on the shared parameters. Both are one call in the
training loop: ``weights = method.backward(losses, ctx)``.

A method sees the model only through :class:`WeightedModel` (its shared and task
parameters, and its seed): any sharing strategy satisfies it, and nothing here imports
``mtlcore.models``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class WeightingTask:
    name: str
    kind: str  # regression | binary | multiclass


class WeightedModel(Protocol):
    """What a weighting method needs of the model it weights (every
    ``mtlcore.models.MultiTaskModel`` has it)."""

    seed: int  # the run's seed: methods that draw at random derive their stream from it

    def shared_parameters(self) -> list[nn.Parameter]:
        """The parameters every task's loss reaches (the ones gradient methods combine)."""
        ...

    def task_parameters(self) -> list[nn.Parameter]:
        """The parameters only one task's loss reaches (heads)."""
        ...

    def parameters(self, recurse: bool = True) -> Iterator[nn.Parameter]:
        """All parameters, in registration order."""
        ...


@dataclass
class StepContext:
    """What a method may look at in one step besides the losses."""

    model: WeightedModel
    step: int
    epoch: int


class Weighting(nn.Module):
    """Base class. An ``nn.Module`` so learned weights move with the model and are saved."""

    def __init__(self, tasks: Sequence[WeightingTask], options: Any = None):
        super().__init__()
        self.tasks = list(tasks)
        self.options = options

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def backward(self, losses: Tensor, ctx: StepContext) -> Tensor:
        """Backpropagate the combined objective; return the weights used (detached, shape T)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def state(self) -> dict[str, Any]:
        """What the method has learned, for result.json and the dashboard ({} if nothing)."""
        return {}

    def parameter_lr(self) -> float | None:
        """The learning rate of the method's own parameters (e.g. uncertainty's log σ_i²),
        which the training loop's optimiser steps as a group of their own; None: the
        model's (``train.lr``)."""
        return None

    def epoch_end(self, epoch: int, train_losses: Tensor) -> None:
        """Called after each epoch with the epoch's mean training loss per task."""


class LossWeighting(Weighting):
    """A method that sets a weight per task loss: backpropagates Σ w_i L_i + extra."""

    def weights(self, losses: Tensor) -> Tensor:
        raise NotImplementedError  # pragma: no cover - abstract

    def objective(self, losses: Tensor) -> tuple[Tensor, Tensor]:
        w = self.weights(losses)
        return (w * losses).sum(), w

    def backward(self, losses: Tensor, ctx: StepContext) -> Tensor:
        total, w = self.objective(losses)
        total.backward()
        return w.detach()


def per_task_weights(names: Sequence[str], given: dict[str, float], *, default: float) -> Tensor:
    return torch.tensor([float(given.get(n, default)) for n in names])
