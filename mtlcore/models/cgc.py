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

from mtlcore.models.base import Architecture, ModelTask
from mtlcore.models.ple import PAPER, CGCOptions, PLEOptions, ProgressiveLayeredExtraction
from mtlcore.models.registry import STRATEGIES


@STRATEGIES.register(
    "cgc",
    title="Customized gate control (CGC)",
    summary="""Like MMoE, each task has a gate that mixes experts for its head, but
    besides the shared experts every task also gets experts of its own that only it
    uses. Shared experts carry what the tasks have in common and task experts keep
    what would conflict apart, so it helps when tasks are related but hard sharing
    or MMoE let one task improve at another's expense. Costs (shared experts + tasks
    x task experts) networks the size of hard sharing's shared part, plus one gate
    per task.""",
    paper=PAPER,
    options=CGCOptions,
)
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
