"""Loss weighting and gradient combination methods, one module each, behind one registry.

Any method pairs with any sharing strategy (``mtlcore.models``).
"""

from collections.abc import Sequence

from mtlcore.weighting import static, uncertainty  # noqa: F401  (registers the methods)
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
