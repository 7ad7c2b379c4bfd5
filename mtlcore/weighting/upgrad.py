"""UPGrad: project every task gradient onto the dual cone of all of them, then average.

Quinton & Rey (2024), "Jacobian Descent for Multi-Objective Optimization",
arXiv:2406.16232. Each task gradient is projected onto the cone of directions that
conflict with no task gradient; the projections are averaged (or weighted by a
preference vector). The update never increases any task loss to first order, and
equals the mean gradient when nothing conflicts. torchjd's
:class:`~torchjd.aggregation.UPGrad` (quadprog solves the projections); weights ×T.
"""

from __future__ import annotations

from torchjd.aggregation import UPGrad
from torchjd.linalg import QuadprogProjector

from mtlcore.weighting.gradient import GradientWeighting, pref_vector
from mtlcore.weighting.registry import METHODS


@METHODS.register("upgrad")
class UPGradWeighting(GradientWeighting):
    def make_aggregator(self) -> UPGrad:
        o = self.options
        projector = QuadprogProjector(norm_eps=o.norm_eps, reg_eps=o.reg_eps)
        return UPGrad(pref_vector=pref_vector(self.names, o.pref_vector), projector=projector)
