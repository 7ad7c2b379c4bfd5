"""UPGrad's projections: quadprog called directly gives torchjd's weights exactly.

:class:`mtlcore.weighting.upgrad.DirectQuadprogProjector` skips qpsolvers' wrapping; the
programs, the solver and so the weights must stay those of torchjd's own
:class:`~torchjd.linalg.QuadprogProjector`, on conflicting and agreeing task gradients,
rank-deficient Jacobians, preference vectors and batches of weight vectors.
"""

from __future__ import annotations

import pytest
import torch
from torchjd.aggregation import UPGrad
from torchjd.linalg import QuadprogProjector

from mtlcore.weighting import WeightingTask, build_weighting
from mtlcore.weighting.upgrad import DirectQuadprogProjector


def same(a: torch.Tensor, b: torch.Tensor) -> None:
    torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)


def jacobians() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    out = [torch.randn(t, p, generator=g) for t in (2, 3, 5, 8) for p in (4, 50)]
    out.append(torch.tensor([[1.0, 0.0], [-1.0, 0.1], [0.5, 0.5]]))  # strong conflict
    out.append(torch.randn(1, 30, generator=g).repeat(4, 1))  # one gradient, four times
    out.append(torch.zeros(3, 7))  # nothing to project
    return out


@pytest.mark.parametrize("J", jacobians(), ids=lambda J: "x".join(map(str, J.shape)))
@pytest.mark.parametrize(("norm_eps", "reg_eps"), [(1e-4, 1e-4), (0.0, 1e-3)])
def test_direct_quadprog_gives_torchjds_weights(J, norm_eps, reg_eps):
    gramian = J @ J.T
    ours = DirectQuadprogProjector(norm_eps=norm_eps, reg_eps=reg_eps)
    theirs = QuadprogProjector(norm_eps=norm_eps, reg_eps=reg_eps)
    U = torch.rand(3, 2, len(J), generator=torch.Generator().manual_seed(1))
    same(ours(U, gramian), theirs(U, gramian))  # (NaN for both on a zero Gramian, norm_eps 0)
    assert ours(U, gramian).shape == U.shape
    pref = torch.linspace(1.0, 2.0, len(J))
    for p in (None, pref / pref.sum()):
        w = UPGrad(pref_vector=p, projector=ours).gramian_weighting(gramian)
        w0 = UPGrad(pref_vector=p, projector=theirs).gramian_weighting(gramian)
        same(w, w0)


def test_upgrad_method_uses_the_direct_solver_and_torchjds_weights():
    tasks = [WeightingTask(n, "regression") for n in "abc"]
    method = build_weighting("upgrad", tasks, {"pref_vector": {"a": 2.0}})
    assert isinstance(method.aggregator.projector, DirectQuadprogProjector)
    J = torch.randn(3, 20, generator=torch.Generator().manual_seed(2))
    J[1] = -0.7 * J[0] + 0.1 * J[1]  # a and b conflict
    w, d = method.combine(J)
    reference = UPGrad(pref_vector=torch.tensor([2.0, 1.0, 1.0]) / 3)
    w0 = reference.gramian_weighting(J @ J.T) * 3  # (the method's Gramian is a batched product)
    torch.testing.assert_close(w, w0, rtol=1e-5, atol=1e-6)
    assert not torch.allclose(w0, torch.ones(3))  # the conflict moved the weights
    torch.testing.assert_close(d, w0 @ J)
