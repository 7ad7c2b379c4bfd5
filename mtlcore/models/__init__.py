"""Sharing strategies: how tasks share parameters. One module each, behind one registry.

Any strategy pairs with any weighting method (``mtlcore.weighting``).
"""

from mtlcore.models import hard, independent, soft, hierarchical, cross_stitch, mmoe, ple, cgc  # noqa: F401  # isort: skip  (registers the strategies, in the order they are listed)
from mtlcore.models.base import Architecture, ModelOutput, ModelTask, MultiTaskModel
from mtlcore.models.registry import STRATEGIES


def build_model(
    strategy: str, tasks: list[ModelTask], arch: Architecture, seed: int, options: dict | None = None
) -> MultiTaskModel:
    """The model of ``strategy`` for ``tasks``; options are validated by the strategy."""
    entry = STRATEGIES.get_entry(strategy)
    return entry.factory(tasks, arch, seed, entry.options(options))


__all__ = [
    "STRATEGIES",
    "Architecture",
    "ModelOutput",
    "ModelTask",
    "MultiTaskModel",
    "build_model",
]
