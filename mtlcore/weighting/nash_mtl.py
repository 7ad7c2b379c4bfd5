"""Nash-MTL: combine the task gradients as the Nash bargaining solution between tasks.

Navon, Shamsian, Achituve, Maron, Kawaguchi, Chechik & Fetaya (2022), "Multi-Task
Learning as a Bargaining Game", ICML. The weights α > 0 solve (J Jᵀ) α = 1/α
elementwise, i.e. the update d = Σ α_j g_j satisfies α_i ⟨g_i, d⟩ = 1 for every
task (on the Gramian normalised to unit norm), found by a sequence of convex
problems (cvxpy with the ECOS solver); the update is clipped to ``max_norm``. torchjd's :class:`~torchjd.aggregation.NashMTL`, which is
*stateful* (warm starts): one instance per run. Its weights keep their own scale.

Needs the ``ecos`` package (``torchjd[nash_mtl]``); without it, building the method
raises a ValueError that says so.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from importlib.util import find_spec

from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor
from torchjd.aggregation import NashMTL

from mtlcore.weighting.base import WeightingTask
from mtlcore.weighting.gradient import GradientWeighting
from mtlcore.weighting.registry import METHODS


class NashMTLOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_norm: float = Field(
        1.0, ge=0, description="clip the combined gradient's norm to this (0 = no clipping)"
    )
    update_weights_every: int = Field(
        1, ge=1, description="solve for new weights every this many steps (reuse in between)"
    )
    optim_niter: int = Field(20, ge=1, description="most convex-concave iterations per solve")


@METHODS.register(
    "nash_mtl",
    title="Nash-MTL (bargaining)",
    summary="""Lets the tasks bargain over the shared update: finds the weights of the
    Nash bargaining solution, in which no task can gain without another losing more,
    and clips the combined step to a maximum norm. Helps when tasks conflict and differ
    in gradient size, and is scale invariant. The most expensive method here: one
    backward pass per task plus a sequence of convex solves (cvxpy, ECOS) per step;
    update_weights_every trades accuracy for speed.""",
    paper="Navon, A., Shamsian, A., Achituve, I., Maron, H., Kawaguchi, K., Chechik, G. "
    "& Fetaya, E. (2022). Multi-Task Learning as a Bargaining Game. ICML.",
    options=NashMTLOptions,
)
class NashMTLWeighting(GradientWeighting):
    mean_scaled = False  # α has its own scale, and the update is clipped to max_norm

    def __init__(self, tasks: Sequence[WeightingTask], options: NashMTLOptions):
        if find_spec("ecos") is None:
            raise ValueError(
                "weighting.method: 'nash_mtl' needs the ECOS solver, which is not installed. "
                "Install it with: pip install 'torchjd[nash_mtl]' (or pip install ecos), "
                "or choose another method."
            )
        super().__init__(tasks, options)

    def make_aggregator(self) -> NashMTL:
        o = self.options
        return NashMTL(
            n_tasks=len(self.tasks),
            max_norm=o.max_norm,
            update_weights_every=o.update_weights_every,
            optim_niter=o.optim_niter,
        )

    def aggregator_weights(self, jacobian: Tensor, gramian: Tensor) -> Tensor:
        # Nash-MTL weighs the matrix itself (it keeps a warm-started cvxpy problem).
        with warnings.catch_warnings():
            # cvxpy warns on every call that the problem is not DPP (no speed-up from caching).
            warnings.filterwarnings("ignore", message=".*not DPP.*")
            return self.aggregator.weighting(jacobian)
