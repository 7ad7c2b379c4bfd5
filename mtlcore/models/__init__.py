"""Sharing strategies: how tasks share parameters. One module each, behind one registry.

Any strategy pairs with any weighting method (``mtlcore.weighting``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Listing the strategies and validating their options needs no torch (mtlcore.catalogue);
# a strategy's module, and torch with it, loads when its model is built.
from mtlcore.models.registry import STRATEGIES

if TYPE_CHECKING:
    from mtlcore.models.base import Architecture, ModelOutput, ModelTask, MultiTaskModel

_BASE = ("Architecture", "ModelOutput", "ModelTask", "MultiTaskModel")


def __getattr__(name: str) -> Any:  # the torch side, imported on first use
    if name in _BASE:
        from mtlcore.models import base

        return getattr(base, name)
    raise AttributeError(f"module 'mtlcore.models' has no attribute {name!r}")


def build_model(
    strategy: str,
    tasks: list[ModelTask],
    arch: Architecture,
    seed: int,
    options: dict | None = None,
) -> MultiTaskModel:
    """The model of ``strategy`` for ``tasks``; options are validated by the strategy."""
    entry = STRATEGIES.get_entry(strategy)
    return entry.factory(tasks, arch, seed, entry.options(options))


def count_parameters(
    strategy: str, tasks: list[ModelTask], arch: Architecture, options: dict | None = None
) -> int:
    """How many parameters ``build_model`` would make, found without allocating them.

    The model is built on PyTorch's ``meta`` device (shapes only, no memory, no
    initialisation work), so a request for a huge model can be refused before it
    exhausts the machine (see ``mtlcore.limits``).
    """
    import torch

    with torch.device("meta"):
        model = build_model(strategy, tasks, arch, 0, options)
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "STRATEGIES",
    "Architecture",
    "ModelOutput",
    "ModelTask",
    "MultiTaskModel",
    "build_model",
    "count_parameters",
]
