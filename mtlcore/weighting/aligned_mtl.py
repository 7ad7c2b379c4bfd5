"""Aligned-MTL: make the task gradients orthogonal and equally long, then combine.

Senushkin, Patakin, Kuznetsov & Konushin (2023), "Independent Component Alignment
for Multi-Task Learning", CVPR. The Gramian's eigen-decomposition gives a linear
map that turns the task gradients into orthogonal vectors of equal norm (the
condition number of the system becomes 1); the aligned gradients are combined with
the preference weights. torchjd's :class:`~torchjd.aggregation.AlignedMTL`; weights ×T.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from torchjd.aggregation import AlignedMTL

from mtlcore.weighting.gradient import GradientWeighting, pref_vector
from mtlcore.weighting.registry import METHODS


class AlignedMTLOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pref_vector: dict[str, float] = Field(
        default_factory=dict,
        description="task name -> preference (>= 0) for combining the aligned gradients; "
        "tasks left out get 1.0",
    )
    scale_mode: Literal["min", "median", "rmse"] = Field(
        "min",
        description="eigenvalue that sets the aligned gradients' length: the smallest, "
        "the median or the mean (the original code's 'rmse')",
    )


@METHODS.register(
    "aligned_mtl",
    title="Aligned-MTL",
    summary="""Rotates and rescales the task gradients on the shared layers until they
    are at right angles and of equal length, then adds them up. Conflicts and
    differences in gradient size both disappear from the update, which helps when a few
    tasks dominate or cancel each other. Costs one backward pass per task and a T×T
    eigen-decomposition per step.""",
    paper="Senushkin, D., Patakin, N., Kuznetsov, A. & Konushin, A. (2023). Independent "
    "Component Alignment for Multi-Task Learning. CVPR.",
    options=AlignedMTLOptions,
)
class AlignedMTLWeighting(GradientWeighting):
    def make_aggregator(self) -> AlignedMTL:
        pref = pref_vector(self.names, self.options.pref_vector)
        return AlignedMTL(pref_vector=pref, scale_mode=self.options.scale_mode)
