"""UPGrad: project every task gradient onto the dual cone of all of them, then average.

Quinton & Rey (2024), "Jacobian Descent for Multi-Objective Optimization",
arXiv:2406.16232. Each task gradient is projected onto the cone of directions that
conflict with no task gradient; the projections are averaged (or weighted by a
preference vector). The update never increases any task loss to first order, and
equals the mean gradient when nothing conflicts. torchjd's
:class:`~torchjd.aggregation.UPGrad`; weights ×T.

The T projections are T small quadratic programs solved by quadprog, as torchjd's
:class:`~torchjd.linalg.QuadprogProjector` solves them, but called directly
(:class:`DirectQuadprogProjector`) rather than through qpsolvers' problem checks and
conversions, which cost more than the solves at the sizes here: the same solver on the
same arrays, so the same weights.
"""

from __future__ import annotations

import numpy as np
import torch
from quadprog import solve_qp
from torch import Tensor
from torchjd._linalg._gramian import normalize, regularize
from torchjd.aggregation import UPGrad
from torchjd.linalg import PSDMatrix, QuadprogProjector

from mtlcore.weighting.gradient import GradientWeighting, pref_vector
from mtlcore.weighting.registry import METHODS


class DirectQuadprogProjector(QuadprogProjector):
    """torchjd's projector with each program min vᵀGv s.t. v ≥ u handed to quadprog as
    qpsolvers hands it over (cost G, linear term −0 = 0, constraints Iᵀv ≥ u)."""

    def __call__(self, U: Tensor, G: PSDMatrix) -> Tensor:
        G = regularize(normalize(G, self.norm_eps), self.reg_eps)
        G_ = G.cpu().detach().numpy().astype(np.float64)
        U_ = U.cpu().detach().numpy().astype(np.float64)
        m = G_.shape[0]
        a, C = -np.zeros(m), np.eye(m)
        rows = U_.reshape(-1, m)
        W = np.empty_like(rows)
        for k, u in enumerate(rows):
            try:
                W[k] = solve_qp(G_, a, C, u, 0)[0]
            except ValueError as error:  # torchjd's message for a program with no solution
                raise ValueError("Failed to solve the quadratic programming problem.") from error
        return torch.as_tensor(W.reshape(U_.shape), device=G.device, dtype=G.dtype)


@METHODS.register("upgrad")
class UPGradWeighting(GradientWeighting):
    def make_aggregator(self) -> UPGrad:
        o = self.options
        projector = DirectQuadprogProjector(norm_eps=o.norm_eps, reg_eps=o.reg_eps)
        return UPGrad(pref_vector=pref_vector(self.names, o.pref_vector), projector=projector)
