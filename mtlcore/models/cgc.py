"""Customized gate control (CGC): shared experts plus each task's own experts, gated per task.

Tang, H., Liu, J., Zhao, M., Gong, X. (2020). Progressive Layered Extraction (PLE):
A Novel Multi-Task Learning (MTL) Model for Personalized Recommendations. RecSys 2020.

CGC is one level of PLE (see ``mtlcore.models.ple``): task ``t``'s head reads a
softmax mixture, chosen by ``t``'s gate from ``t``'s inputs, of ``t``'s own
experts and the shared experts. Task experts never see other tasks' rows, so each
task's experts and gate read only its own table.
"""

from __future__ import annotations

from collections.abc import Sequence

from mtlcore.catalogue import CGCOptions, PLEOptions
from mtlcore.models.base import Architecture, ModelTask
from mtlcore.models.ple import ProgressiveLayeredExtraction
from mtlcore.models.registry import STRATEGIES


@STRATEGIES.register("cgc")
class CustomizedGateControl(ProgressiveLayeredExtraction):
    """CGC: PLE with one level. Shared: the shared experts (their input layer of a group
    only when several tasks read that group). ``features`` are each task's gate mixture."""

    def __init__(
        self,
        tasks: Sequence[ModelTask],
        arch: Architecture,
        seed: int,
        options: CGCOptions | None = None,
    ):
        ple = PLEOptions(**(options or CGCOptions()).model_dump(), n_levels=1)
        super().__init__(tasks, arch, seed, ple)
