"""Loss weighting and gradient combination methods, one module each, behind one registry.

Any method pairs with any sharing strategy (``mtlcore.models``).
"""

from collections.abc import Sequence

# Importing a method's module registers it; the order here is the order of the menu:
# the fixed weights, the loss weighting methods, then the gradient methods.
# isort: off
from mtlcore.weighting import static, uncertainty, dwa, gradnorm, rlw, famo  # noqa: F401
from mtlcore.weighting import pcgrad, mgda, cagrad, imtl_g, aligned_mtl, upgrad, nash_mtl  # noqa: F401

# isort: on
from mtlcore.weighting.base import LossWeighting, StepContext, Weighting, WeightingTask
from mtlcore.weighting.registry import METHODS


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
    "Weighting",
    "WeightingTask",
    "build_weighting",
]
