"""The exact two-task forms of MGDA, PCGrad, CAGrad and Nash-MTL (``mtlcore.weighting._two_task``).

With two tasks the methods answer from the 2×2 Gramian in closed form instead of
torchjd's solvers. These tests hold them to torchjd's weights (same scale, same
normalisation and ``norm_eps`` rules) on random Jacobians and on edge cases, and to the
properties each method promises.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mtlcore.weighting import WeightingTask, build_weighting
from mtlcore.weighting.gradient import GradientWeighting

TASKS = [WeightingTask("a", "regression"), WeightingTask("b", "regression")]
FINITE = st.floats(-10, 10, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def jacobians(draw) -> torch.Tensor:
    """2 × P Jacobians (P = 2..5) whose rows differ in size by up to e³ either way and are
    neither tiny nor (nearly) parallel: the closed form's domain, where torchjd agrees."""
    p = draw(st.integers(2, 5))
    rows = draw(arrays(np.float64, (2, p), elements=FINITE))
    scale = np.exp(
        draw(arrays(np.float64, (2, 1), elements=st.floats(-3, 3, allow_subnormal=False)))
    )
    jac = rows * scale
    norms = np.linalg.norm(jac, axis=1)
    if norms.min() < 1e-3:
        jac = jac + np.eye(2, p)
        norms = np.linalg.norm(jac, axis=1)
    cos = jac[0] @ jac[1] / (norms[0] * norms[1])
    if abs(cos) > 1 - 1e-4:  # nearly parallel: bend the second row off the first
        jac[1, 1 if abs(jac[0, 1]) < abs(jac[0, 0]) else 0] += norms[1]
    return torch.tensor(jac)


def pair(method: str, **options) -> tuple[GradientWeighting, GradientWeighting]:
    """(closed form, torchjd) instances of ``method``."""
    ours = build_weighting(method, TASKS, options)
    theirs = build_weighting(method, TASKS, options)
    assert isinstance(ours, GradientWeighting) and isinstance(theirs, GradientWeighting)
    theirs.closed_form = False
    return ours, theirs


def weights(method: GradientWeighting, jac: torch.Tensor) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(not DPP|Solution may be inaccurate).*")
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # cvxpy on a failed solve
        return method.combine(jac)[0]


# --- the same weights as torchjd -------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(jacobians())
def test_mgda_and_pcgrad_give_torchjds_weights(jac):
    for method in ("mgda", "pcgrad"):
        ours, theirs = pair(method)
        # torchjd's MGDA is Frank-Wolfe to a tolerance: rarely a last digit more apart
        torch.testing.assert_close(weights(ours, jac), weights(theirs, jac), atol=1e-8, rtol=1e-5)


@settings(max_examples=40, deadline=None)
@given(jacobians(), st.sampled_from([0.1, 0.5, 2.0]))
def test_cagrad_gives_torchjds_weights_and_a_no_worse_optimum(jac, c):
    """torchjd solves CAGrad's problem with Clarabel (to its tolerance); the closed form
    agrees to 1e-3 and its objective is never worse than the solver's."""
    ours, theirs = pair("cagrad", c=c)
    w, v = weights(ours, jac).double() / 2, weights(theirs, jac).double() / 2  # torchjd's scale
    np.testing.assert_allclose(w.numpy(), v.numpy(), rtol=1e-3, atol=1e-3)
    gramian = (jac @ jac.T).numpy()
    gramian = gramian / np.trace(gramian)
    k = c * np.sqrt(gramian.sum()) / 2

    def cost(weights_: torch.Tensor) -> float:  # f(x) at the x that the weights encode
        x = (weights_.numpy() - 0.5) / (weights_.numpy() - 0.5).sum()
        return float(x @ gramian @ np.ones(2) / 2 + k * np.sqrt(max(x @ gramian @ x, 0)))

    assert cost(w) <= cost(v) + 1e-7  # the x recovered from the weights is rounded


@settings(max_examples=40, deadline=None)
@given(jacobians())
def test_nash_mtl_gives_torchjds_weights_where_its_solver_converges(jac):
    """torchjd's α solves α_i (Gα)_i = 1 on J Jᵀ itself when its 20 iterations converge
    (most first solves; checked on its own answer); there the closed form is the same α.
    Unclipped, the closed form always solves it."""
    ours, theirs = pair("nash_mtl", max_norm=0.0)
    gramian = (jac @ jac.T).double()
    alpha = weights(ours, jac).double()
    torch.testing.assert_close(alpha * (gramian @ alpha), torch.ones(2, dtype=torch.float64))
    other = weights(theirs, jac).double()
    if (other * (gramian @ other) - 1).abs().max() < 1e-6:
        torch.testing.assert_close(alpha, other, rtol=1e-5, atol=0)


def test_torchjds_nash_mtl_converges_on_most_first_solves():
    """The scale the closed form takes is torchjd's: on 40 random Jacobians most of its
    first solves end at α_i (Gα)_i = 1 on J Jᵀ, and none at that on J Jᵀ/‖J Jᵀ‖_F."""
    rng = np.random.default_rng(3)
    converged = 0
    for _ in range(40):
        jac = torch.tensor(rng.normal(size=(2, 4)) * np.exp(rng.normal(size=(2, 1))))
        ours, theirs = pair("nash_mtl", max_norm=0.0)
        other = weights(theirs, jac).double()
        gramian = (jac @ jac.T).double()
        if (other * (gramian @ other) - 1).abs().max() < 1e-6:
            converged += 1
            torch.testing.assert_close(weights(ours, jac).double(), other, rtol=1e-5, atol=0)
    assert converged >= 30


def test_the_clip_and_the_reuse_are_torchjds():
    """max_norm clips the update on the Jacobian; update_weights_every = 3 solves on calls
    0, 3, … and reuses the last α (clipped again on the new Jacobian) in between."""
    rng = np.random.default_rng(4)
    jacs = [torch.tensor(rng.normal(size=(2, 3)) * 5) for _ in range(6)]
    ours, theirs = pair("nash_mtl", max_norm=0.5, update_weights_every=3)
    ws = [weights(ours, j).double() for j in jacs]
    vs = [weights(theirs, j).double() for j in jacs]
    for i, (j, w, v) in enumerate(zip(jacs, ws, vs, strict=True)):
        norm = float((w @ j).norm())  # a solve's update has norm √2 > 0.5: clipped
        assert norm == pytest.approx(0.5) if i % 3 == 0 else norm <= 0.5 + 1e-9
        torch.testing.assert_close(w, v, rtol=1e-4, atol=0)
    # Between solves the direction of α is the last solve's.
    assert float(ws[1][0] / ws[1][1]) == pytest.approx(float(ws[0][0] / ws[0][1]))
    assert float(ws[3][0] / ws[3][1]) != pytest.approx(float(ws[0][0] / ws[0][1]))


# --- the properties each method promises ------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(jacobians())
def test_mgdas_direction_lowers_both_losses(jac):
    ours, _ = pair("mgda")
    w = weights(ours, jac)
    step = w @ jac
    scale = float(jac.norm(dim=1).max()) ** 2
    assert (jac @ step >= -1e-9 * scale).all()
    assert w.min() >= 0 and float(w.sum()) == pytest.approx(2.0)  # on the simplex, ×T


@settings(max_examples=60, deadline=None)
@given(jacobians())
def test_cagrad_with_c_0_is_the_mean_and_pcgrad_without_conflict_is_the_sum(jac):
    ours, _ = pair("cagrad", c=0.0)
    torch.testing.assert_close(weights(ours, jac), torch.ones(2, dtype=jac.dtype))
    agreeing = torch.stack([jac[0], jac[0] + 0.1 * jac[1].abs()])
    if float(agreeing[0] @ agreeing[1]) >= 0:
        pcgrad, _ = pair("pcgrad")
        torch.testing.assert_close(weights(pcgrad, agreeing), torch.ones(2, dtype=jac.dtype))


@settings(max_examples=60, deadline=None)
@given(jacobians())
def test_nash_mtls_step_bisects_the_unit_gradients(jac):
    """α₁‖g₁‖ = α₂‖g₂‖: blind to a loss's scale; scaling one task's gradient by 10 keeps
    the clipped step."""
    ours, _ = pair("nash_mtl")
    w = weights(ours, jac).double()
    norms = jac.norm(dim=1)
    assert float(w[0] * norms[0]) == pytest.approx(float(w[1] * norms[1]), rel=1e-9)
    scaled = jac * torch.tensor([[10.0], [1.0]], dtype=jac.dtype)
    again, _ = pair("nash_mtl")
    torch.testing.assert_close(weights(again, scaled) @ scaled, w @ jac)


# --- edge cases ---------------------------------------------------------------------------------

EDGES = {
    "a zero gradient": [[0.0, 0.0, 0.0], [1.0, -2.0, 0.5]],
    "identical gradients": [[1.0, -2.0, 0.5], [1.0, -2.0, 0.5]],
    "exactly opposed gradients": [[1.0, -2.0, 0.5], [-2.0, 4.0, -1.0]],
    "both zero": [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]],
}


@pytest.mark.parametrize("case", list(EDGES))
@pytest.mark.parametrize("method", ["mgda", "pcgrad", "cagrad"])
def test_edge_cases_match_torchjd(method, case):
    """Where the closed form has no unique answer it asks torchjd; elsewhere it agrees."""
    jac = torch.tensor(EDGES[case], dtype=torch.float64)
    ours, theirs = pair(method)
    w, v = weights(ours, jac), weights(theirs, jac)
    assert torch.isfinite(w).all()
    torch.testing.assert_close(w @ jac, v @ jac, atol=1e-6, rtol=1e-4)


def test_nash_mtls_edge_cases():
    """A zero gradient or exactly opposed gradients: no finite α (and no bisector of
    opposite unit gradients), so the last α is kept (ones at first, then clipped), as
    torchjd keeps its start when its solver fails there. Nearly opposed, the step has
    the clip's norm along the bisector of the unit gradients."""
    for case in ("a zero gradient", "exactly opposed gradients"):
        jac = torch.tensor(EDGES[case], dtype=torch.float64)
        ours, theirs = pair("nash_mtl")
        w = weights(ours, jac)
        torch.testing.assert_close(w / w[0], torch.ones(2, dtype=w.dtype))
        assert float((w @ jac).norm()) == pytest.approx(1.0)
        torch.testing.assert_close(w, weights(theirs, jac))
    ours, _ = pair("nash_mtl")
    opposed = torch.tensor(EDGES["exactly opposed gradients"], dtype=torch.float64)
    nearly = opposed + torch.tensor([[0.0, 0.0, 0.0], [0.0, 0.0, 1e-7]], dtype=torch.float64)
    step = weights(ours, nearly) @ nearly
    assert float(step.norm()) == pytest.approx(1.0)
    units = nearly / nearly.norm(dim=1, keepdim=True)
    bisector = units.sum(0) / units.sum(0).norm()
    assert float(step @ bisector) == pytest.approx(1.0, abs=1e-3)


def test_a_batch_is_row_by_row_and_more_tasks_use_torchjd():
    """combine_batch on a stack of S Jacobians gives each row what combine gives it
    alone; with three tasks the methods still answer (torchjd's solvers)."""
    rng = np.random.default_rng(5)
    stack = torch.tensor(rng.normal(size=(4, 2, 3)))
    for method in ("mgda", "pcgrad", "cagrad", "nash_mtl"):
        ours, _ = pair(method)
        w, d, gramians = ours.combine_batch(stack)
        assert w.shape == (4, 2) and d.shape == (4, 3) and gramians.shape == (4, 2, 2)
        for s in range(4):
            alone, _ = pair(method)
            w_s, d_s = alone.combine(stack[s])
            torch.testing.assert_close(w[s], w_s)
            torch.testing.assert_close(d[s], d_s)
    three = [WeightingTask(n, "regression") for n in "abc"]
    for method in ("mgda", "pcgrad", "cagrad", "nash_mtl"):
        w = weights(build_weighting(method, three), torch.tensor(rng.normal(size=(3, 4))))
        assert w.shape == (3,) and torch.isfinite(w).all()
