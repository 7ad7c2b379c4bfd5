"""The interface every sharing strategy implements, and the layer builders they share.

A model takes one input batch per task (tasks may read different tables with
different columns) and returns each task's output and its *shared
representation*: the features the tasks have in common, which the dashboard
projects and the gradient methods differentiate through. Tasks that read the same
rows get the same tensor object; a model runs such a batch once
(:func:`mtlcore.models.parts.distinct_segments`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor, nn

from mtlcore.seeding import derive_seed, seeded

ACTIVATIONS: dict[str, type[nn.Module]] = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU}


@dataclass(frozen=True)
class ModelTask:
    """What a model needs to know about a task: its input group and its sizes.

    Tasks with the same ``input_group`` read the same columns of the same table,
    so they can share the layer that reads those inputs.
    """

    name: str
    input_group: str
    in_dim: int
    out_dim: int  # 1 for regression and binary, the class count for multiclass


@dataclass(frozen=True)
class Architecture:
    """Layer sizes common to every strategy (see ``ModelConfig``)."""

    hidden: tuple[int, ...] = (64, 32)
    head_hidden: tuple[int, ...] = ()
    activation: str = "relu"
    dropout: float = 0.0


@dataclass
class ModelOutput:
    outputs: dict[str, Tensor]  # task -> logits or predictions, shape (batch, out_dim)
    features: dict[str, Tensor]  # task -> shared representation of that task's batch
    extra: dict[str, Tensor] = field(default_factory=dict)  # e.g. gate weights of this batch


class MultiTaskModel(nn.Module):
    """Base class of the sharing strategies.

    Subclasses build their layers in ``__init__`` with :func:`mlp` under
    :func:`seeded` component seeds, and implement :meth:`forward` and
    :meth:`shared_parameters`.
    """

    def __init__(self, tasks: Sequence[ModelTask], arch: Architecture, seed: int):
        super().__init__()
        if not tasks:
            raise ValueError("a model needs at least one task")
        self.tasks = list(tasks)
        self.arch = arch
        self.seed = seed
        self.keys = module_keys([t.name for t in tasks])  # task name -> ModuleDict key

    def forward(self, xs: Mapping[str, Tensor]) -> ModelOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def shared_parameters(self) -> list[nn.Parameter]:
        """Parameters used by more than one task (empty when nothing is shared)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def task_parameters(self) -> list[nn.Parameter]:
        """Every parameter that is not shared."""
        shared = {id(p) for p in self.shared_parameters()}
        return [p for p in self.parameters() if id(p) not in shared]

    def weight_matrices(self) -> list[nn.Parameter]:
        """The weights a regulariser R(θ) acts on: every weight matrix, no bias (stacked
        layers' biases are matrices, too: they are told by name)."""
        return [p for n, p in self.named_parameters() if p.dim() > 1 and not n.endswith("bias")]

    def mixing_state(self, xs: Mapping[str, Tensor] | None = None) -> dict[str, Any]:
        """How tasks mix (gate weights, cross-stitch α) for the dashboard; {} if fixed.

        Input-dependent mixing (gates) is averaged over the last forward pass, or over
        ``xs`` when given.
        """
        return {}

    def penalty(self) -> Tensor | None:
        """A strategy's own regulariser (e.g. soft sharing's tie), added to the loss."""
        return None

    def component_seed(self, *parts: object) -> int:
        return derive_seed(self.seed, *parts)


def mlp(sizes: Sequence[int], arch: Architecture, *, last_activation: bool) -> nn.Sequential:
    """Linear layers through ``sizes``; activation (and dropout) after each but maybe the last."""
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=False)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2 or last_activation:
            layers.append(ACTIVATIONS[arch.activation]())
            if arch.dropout > 0:
                layers.append(nn.Dropout(arch.dropout))
    return nn.Sequential(*layers)


def seeded_mlp(seed: int, sizes: Sequence[int], arch: Architecture, *, last_activation: bool):
    return seeded(seed, lambda: mlp(sizes, arch, last_activation=last_activation))


def module_keys(names: Sequence[str]) -> dict[str, str]:
    """Names made safe as ``nn.ModuleDict`` keys (no dots), kept readable and unique."""
    keys: dict[str, str] = {}
    for name in names:
        key = re.sub(r"[^0-9A-Za-z_]", "_", name) or "task"
        base, n = key, 2
        while key in keys.values():
            key, n = f"{base}_{n}", n + 1
        keys[name] = key
    return keys


def input_groups(tasks: Sequence[ModelTask]) -> dict[str, list[ModelTask]]:
    """input group -> its tasks, in order of first appearance."""
    groups: dict[str, list[ModelTask]] = {}
    for t in tasks:
        groups.setdefault(t.input_group, []).append(t)
    return groups


def unique_parameters(modules: Sequence[nn.Module]) -> list[nn.Parameter]:
    seen: set[int] = set()
    out: list[nn.Parameter] = []
    for m in modules:
        for p in m.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out
