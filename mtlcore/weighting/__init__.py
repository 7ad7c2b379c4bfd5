"""Loss weighting and gradient combination methods, one module each, behind one registry.

Any method pairs with any sharing strategy (``mtlcore.models``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

# Listing the methods and validating their options needs no torch (mtlcore.catalogue, in
# menu order); a method's module, and torch with it, loads when its weighting is built.
from mtlcore.weighting.registry import METHODS

if TYPE_CHECKING:
    from mtlcore.weighting.base import (
        LossWeighting,
        StepContext,
        WeightedModel,
        Weighting,
        WeightingTask,
    )

_BASE = ("LossWeighting", "StepContext", "WeightedModel", "Weighting", "WeightingTask")


def __getattr__(name: str) -> Any:  # the torch side, imported on first use
    if name in _BASE:
        from mtlcore.weighting import base

        return getattr(base, name)
    raise AttributeError(f"module 'mtlcore.weighting' has no attribute {name!r}")


def build_weighting(
    method: str, tasks: Sequence[WeightingTask], options: dict | None = None
) -> Weighting:
    """The weighting of ``method`` for ``tasks``; options are validated by the method."""
    entry = METHODS.get_entry(method)
    return entry.factory(tasks, entry.options(options))


__all__ = [
    "METHODS",
    "LossWeighting",
    "StepContext",
    "WeightedModel",
    "Weighting",
    "WeightingTask",
    "build_weighting",
]
