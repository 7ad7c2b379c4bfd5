"""UPGrad: project every task gradient onto the dual cone of all of them, then average.

Quinton & Rey (2024), "Jacobian Descent for Multi-Objective Optimization",
arXiv:2406.16232. Each task gradient is projected onto the cone of directions that
conflict with no task gradient; the projections are averaged (or weighted by a
preference vector). The update never increases any task loss to first order, and
equals the mean gradient when nothing conflicts. torchjd's
:class:`~torchjd.aggregation.UPGrad` (quadprog solves the projections); weights ×T.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from torchjd.aggregation import UPGrad
from torchjd.linalg import QuadprogProjector

from mtlcore.weighting.gradient import GradientWeighting, pref_vector
from mtlcore.weighting.registry import METHODS


class UPGradOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    pref_vector: dict[str, float] = Field(
        default_factory=dict,
        description="task name -> preference (>= 0) for combining the projected gradients; "
        "tasks left out get 1.0",
    )
    norm_eps: float = Field(1e-4, ge=0, description="guards the Gramian's normalisation")
    reg_eps: float = Field(
        1e-4, ge=0, description="added to the Gramian's diagonal so the QP is well posed"
    )


@METHODS.register(
    "upgrad",
    title="UPGrad (Jacobian descent)",
    summary="""Projects each task's gradient so that it no longer conflicts with any
    other task's, then averages the projections. The step never makes any task worse
    (to first order) and is the plain average when tasks agree, so it is a safe default
    when tasks conflict. Costs one backward pass per task and T small quadratic programs
    (quadprog) per step.""",
    paper="Quinton, P. & Rey, V. (2024). Jacobian Descent for Multi-Objective "
    "Optimization. arXiv:2406.16232.",
    options=UPGradOptions,
)
class UPGradWeighting(GradientWeighting):
    def make_aggregator(self) -> UPGrad:
        o = self.options
        projector = QuadprogProjector(norm_eps=o.norm_eps, reg_eps=o.reg_eps)
        return UPGrad(pref_vector=pref_vector(self.names, o.pref_vector), projector=projector)
