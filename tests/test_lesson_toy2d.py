"""Lesson 4 (conflicting gradients): the 2-D toy of CAGrad and Nash-MTL, its claims, its view.

- *The parts*: the losses are the papers' formulas; the Pareto set is Pareto-optimal
  (nothing on a fine grid dominates it) and Pareto-stationary; the average loss's
  minimum; the point a method steps.
- *Our methods take the papers' steps*: paths of the study (``run_path``: the project's
  equal weights, PCGrad, MGDA, CAGrad and Nash-MTL, with Adam) follow, step for step, a
  reference written from the papers' update rules (CAGrad's ``toy.py``: mean gradient,
  PCGrad, MGDA's two-task min-norm point, CAGrad's one-dimensional dual; Nash-MTL's
  two-task bargaining solution, clipped; numpy, float64). Moving several points
  together (``run_paths_together``, what the study does) gives each the path it has
  alone.
- *The claims*, in the papers' own settings (``PUBLISHED``: CAGrad's three starts, Adam
  lr 0.001, 100 000 steps; Nash-MTL's five starts, 35 000 steps, L₁ × 0.1) with the
  papers' rules (the reference), and at the page's setting both with the papers' rules
  and through our methods — what the page runs, about a minute of CPU
  (``bench/bench_toy2d.py`` runs our methods in the papers' settings).

"Over seeds" means over starts: the toy has no data and no noise, and a path is a
function of its start (checked below; PCGrad's seeded order has no effect with two
tasks).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pytest
import streamlit as st
import torch
from pydantic import ValidationError
from streamlit.testing.v1 import AppTest

import dashboard.lessons
from dashboard.lesson_client import run_study
from dashboard.lessons import conflicting_gradients as view
from mtlcore.lessons import LESSONS
from mtlcore.lessons.conflicting_gradients import (
    CAGRAD_STARTS,
    LESSON,
    NASH_STARTS,
    PAGE_LR,
    PAGE_STARTS,
    PAGE_STEPS,
    PARETO_TOLERANCE,
    PUBLISHED,
    Toy2DOptions,
)
from mtlcore.lessons.toy2d import (
    LOWER,
    TASKS,
    ToyPoint,
    average_optimum,
    distance_to_pareto,
    kept_steps,
    pareto_set,
    pareto_y,
    run,
    run_path,
    run_paths_together,
    toy_losses,
)
from mtlcore.weighting import WeightingTask, build_weighting
from tests.conftest import DASHBOARD_APP

KEY = "conflicting-gradients"
ALL_STARTS = tuple(dict.fromkeys(CAGRAD_STARTS + NASH_STARTS))
# Every start but (0, 0), which sits on the toy's axis of symmetry: at the page's budget the
# paths from it are still walking down the axis (y ≈ -8.22 after 8 000 steps at 0.005).
FIVE = tuple(s for s in ALL_STARTS if s != (0.0, 0.0))
STALLING = ((-8.5, 7.5), (9.0, 9.0))  # equal weights' valley starts in CAGrad's Fig. 1
TINY = {"steps": 12, "points": 10, "starts": [(-8.5, 7.5), (9.0, -1.0)], "workers": 1}


# --- the papers' update rules (the reference) ----------------------------------------------


def ref_losses_and_grads(points: np.ndarray, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(L, J): both losses (N, 2) and their gradients (N, task, coordinate) at the points
    (N, 2), differentiated by hand from the papers' formulas (torch's clamp lets the
    gradient through at the bound, so both halves' gates do at y = 0)."""
    x, y = points[:, 0], points[:, 1]
    ty = np.tanh(y)
    dty = 1 - ty**2
    a1, a2 = -0.5 * x - 3.5 + ty, -0.5 * x + 3.5 - ty
    live1, live2 = np.abs(a1) >= LOWER, np.abs(a2) >= LOWER
    v1 = np.log(np.maximum(np.abs(a1), LOWER)) + 6
    v2 = np.log(np.maximum(np.abs(a2), LOWER)) + 6
    r1 = np.where(live1, 1 / np.where(live1, a1, 1), 0.0)
    r2 = np.where(live2, 1 / np.where(live2, a2, 1), 0.0)
    th = np.tanh(y / 2)
    dth = 0.5 * (1 - th**2)
    up, d_up = np.maximum(th, 0), np.where(th >= 0, dth, 0.0)
    down, d_down = np.maximum(-th, 0), np.where(-th >= 0, -dth, 0.0)
    q1 = ((7 - x) ** 2 + 0.1 * (y + 8) ** 2) / 10 - 20
    q2 = ((x + 7) ** 2 + 0.1 * (y + 8) ** 2) / 10 - 20
    g1 = np.stack(
        [
            -0.5 * r1 * up + (x - 7) / 5 * down,
            dty * r1 * up + v1 * d_up + 0.02 * (y + 8) * down + q1 * d_down,
        ],
        -1,
    )
    g2 = np.stack([-0.5 * r2 * up + (x + 7) / 5 * down,
                   -dty * r2 * up + v2 * d_up + 0.02 * (y + 8) * down + q2 * d_down], -1)  # fmt: skip
    losses = np.stack([(v1 * up + q1 * down) * scale, v2 * up + q2 * down], -1)
    return losses, np.stack([g1 * scale, g2], -2)


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(-1)


def ref_grads(x: float, y: float, scale: float = 1.0) -> tuple[float, float, float, float]:
    """(∂ₓL₁, ∂ᵧL₁, ∂ₓL₂, ∂ᵧL₂) at one point: :func:`ref_losses_and_grads` in plain floats
    (a path is a long loop of scalar steps; numpy's per-call cost would dominate)."""
    ty = math.tanh(y)
    dty = 1 - ty * ty
    a1, a2 = -0.5 * x - 3.5 + ty, -0.5 * x + 3.5 - ty
    v1, r1 = (math.log(abs(a1)) + 6, 1 / a1) if abs(a1) >= LOWER else (math.log(LOWER) + 6, 0.0)
    v2, r2 = (math.log(abs(a2)) + 6, 1 / a2) if abs(a2) >= LOWER else (math.log(LOWER) + 6, 0.0)
    th = math.tanh(y / 2)
    dth = 0.5 * (1 - th * th)
    up, d_up = (th, dth) if th >= 0 else (0.0, 0.0)
    down, d_down = (-th, -dth) if th <= 0 else (0.0, 0.0)
    q1 = ((7 - x) ** 2 + 0.1 * (y + 8) ** 2) / 10 - 20
    q2 = ((x + 7) ** 2 + 0.1 * (y + 8) ** 2) / 10 - 20
    return (
        (-0.5 * r1 * up + (x - 7) / 5 * down) * scale,
        (dty * r1 * up + v1 * d_up + 0.02 * (y + 8) * down + q1 * d_down) * scale,
        -0.5 * r2 * up + (x + 7) / 5 * down,
        -dty * r2 * up + v2 * d_up + 0.02 * (y + 8) * down + q2 * d_down,
    )


def ref_direction(
    method: str, g1x: float, g1y: float, g2x: float, g2y: float, c: float = 0.5
) -> tuple[float, float]:
    """The update direction of each rule (up to a constant factor, which Adam ignores)."""
    if method == "equal":  # toy.py's mean gradient, times 2
        return g1x + g2x, g1y + g2y
    g11, g22, g12 = g1x * g1x + g1y * g1y, g2x * g2x + g2y * g2y, g1x * g2x + g1y * g2y
    if method == "pcgrad":  # each gradient projected off the other where they conflict
        if g12 >= 0:
            return g1x + g2x, g1y + g2y
        p1, p2 = (g12 / g22 if g22 > 0 else 0.0), (g12 / g11 if g11 > 0 else 0.0)
        return g1x - p1 * g2x + g2x - p2 * g1x, g1y - p1 * g2y + g2y - p2 * g1y
    if method == "mgda":  # the min-norm point of the segment [g2, g1] (toy.py's mgd)
        if g12 < min(g11, g22):
            a = (g22 - g12) / (g11 + g22 - 2 * g12)
        else:
            a = 1.0 if g11 < g22 else 0.0
        return a * g1x + (1 - a) * g2x, a * g1y + (1 - a) * g2y
    if method == "cagrad":
        # g0 + k g_a/‖g_a‖, k = c‖g0‖, g_a = a g1 + (1 − a) g2 minimising F(a) = g_a·g0 +
        # k‖g_a‖ over [0, 1] (toy.py: scipy's bounded minimiser). F is convex; with
        # u = g1 − g2 its stationary point solves (g2·u + a‖u‖²)/‖g_a‖ = −(u·g0)/k, in closed
        # form below; without one in [0, 1], F is monotone and the lower end wins.
        g0x, g0y = (g1x + g2x) / 2, (g1y + g2y) / 2
        k = c * math.hypot(g0x, g0y)
        if k == 0:
            return g0x, g0y
        ux, uy = g1x - g2x, g1y - g2y
        uu, bu, s = ux * ux + uy * uy, g2x * ux + g2y * uy, ux * g0x + uy * g0y
        r = -s / k
        if uu > 0 and r * r < uu:
            d = max(g22 - bu * bu / uu, 0.0)
            t = math.copysign(math.sqrt(r * r * d / (uu * (uu - r * r))), r)
            a = min(max(t - bu / uu, 0.0), 1.0)
        else:
            a = 1.0 if s + k * math.sqrt(g11) < k * math.sqrt(g22) else 0.0
        gax, gay = g2x + a * ux, g2y + a * uy
        n = math.hypot(gax, gay)
        return (g0x + k / n * gax, g0y + k / n * gay) if n > 0 else (g0x, g0y)
    if method == "nash_mtl":
        # α solving Gα = 1/α (the paper's; torchjd's and the authors' solver converge to it
        # on J Jᵀ itself): for two tasks αᵢ = 1/(‖gᵢ‖√(1 + cos)), an update along the bisector
        # of the unit gradients of norm √2, clipped to max_norm 1 — so a unit step along the
        # bisector. Without one (a zero gradient) the first α, (1, 1), clipped.
        n1, n2 = math.sqrt(g11), math.sqrt(g22)
        if n1 > 0 and n2 > 0:
            dx, dy = g1x / n1 + g2x / n2, g1y / n1 + g2y / n2
        else:
            dx, dy = g1x + g2x, g1y + g2y
        n = math.hypot(dx, dy)
        return (dx / n, dy / n) if n > 1 or (n1 > 0 and n2 > 0 and n > 0) else (dx, dy)
    raise ValueError(method)


def ref_path(
    method: str,
    start: Sequence[float],
    steps: int,
    lr: float,
    scale: float = 1.0,
    every: int = 0,
) -> np.ndarray:
    """The rule's path from ``start`` under torch's Adam (β 0.9/0.999, ε 1e-8), float64:
    its points every ``every`` steps and the end (only the end when ``every`` is 0)."""  # fmt: skip
    x, y = float(start[0]), float(start[1])
    mx = my = vx = vy = 0.0
    b1 = b2 = 1.0
    kept = [(x, y)] if every else []
    for t in range(1, steps + 1):
        gx, gy = ref_direction(method, *ref_grads(x, y, scale))
        mx, my = 0.9 * mx + 0.1 * gx, 0.9 * my + 0.1 * gy
        vx, vy = 0.999 * vx + 0.001 * gx * gx, 0.999 * vy + 0.001 * gy * gy
        b1, b2 = b1 * 0.9, b2 * 0.999
        x -= lr * (mx / (1 - b1)) / (math.sqrt(vx / (1 - b2)) + 1e-8)
        y -= lr * (my / (1 - b1)) / (math.sqrt(vy / (1 - b2)) + 1e-8)
        if every and t % every == 0:
            kept.append((x, y))
    if not every or steps % every:
        kept.append((x, y))
    return np.array(kept)


def ref_paths(
    methods: Sequence[str],
    starts: Iterable[Sequence[float]],
    steps: int,
    lr: float,
    scale: float = 1.0,
) -> dict[tuple[str, tuple[float, float]], np.ndarray]:
    """(method, start) -> the rule's path's end, shape (1, 2)."""
    return {(m, (float(s[0]), float(s[1]))): ref_path(m, s, steps, lr, scale)
            for m in methods for s in starts}  # fmt: skip


# --- the parts -----------------------------------------------------------------------------


def test_the_losses_and_their_gradients_are_the_papers():
    """toy_losses (the study's torch code) against the formulas differentiated by hand."""
    rng = np.random.default_rng(0)
    points = np.vstack([rng.uniform(-10, 10, (200, 2)), [[0.0, 0.0], [-8.5, 7.5], [9.0, -1.0]]])
    for scale in (1.0, 0.1):
        xy = torch.tensor(points, dtype=torch.float64, requires_grad=True)
        losses = toy_losses(xy, scale)
        grads = [torch.autograd.grad(losses[:, i].sum(), xy, retain_graph=True)[0].numpy()
                 for i in range(2)]  # fmt: skip
        want, jac = ref_losses_and_grads(points, scale)
        np.testing.assert_allclose(losses.detach().numpy(), want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(np.stack(grads, 1), jac, rtol=1e-9, atol=1e-12)
    # The scalar copy the reference paths use is the same.
    for (x, y), j in zip(points[:50], ref_losses_and_grads(points[:50], 0.1)[1], strict=True):
        np.testing.assert_allclose(ref_grads(x, y, 0.1), j.ravel(), rtol=1e-12, atol=1e-12)
    # The papers' landmarks: each bowl's floor is -20 + 0.01·(y+8)²-ish at its own x.
    at = toy_losses(torch.tensor([[7.0, -8.0], [-7.0, -8.0]], dtype=torch.float64))
    assert at[0, 0] == pytest.approx(-20 * np.tanh(4.0)) and at[1, 1] == pytest.approx(at[0, 0])


def test_the_pareto_set_is_pareto_stationary_and_where_the_papers_draw_it():
    px, py = pareto_set()
    _, jac = ref_losses_and_grads(np.stack([px, py], 1))
    g1, g2 = jac[:, 0], jac[:, 1]
    inner = px[1:-1]  # at x = ±7 one gradient vanishes
    cos = _dot(g1, g2)[1:-1] / np.sqrt(_dot(g1, g1) * _dot(g2, g2))[1:-1]
    assert inner.size and cos.max() < -1 + 1e-9  # the two gradients point exactly apart
    # The papers draw the set as the segment y = -8.3552, x ∈ [-7, 7]; it bends slightly.
    assert pareto_y(np.array([0.0]))[0] == pytest.approx(-8.3552, abs=1e-4)
    assert py.min() == pytest.approx(-8.4345, abs=1e-4) and py.max() == pytest.approx(
        -8.3551, abs=1e-4
    )
    # Off the set (0.2 above or below it) the two gradients do not point apart.
    for dy in (-0.2, 0.2):
        _, jac = ref_losses_and_grads(np.stack([inner, pareto_y(inner) + dy], 1))
        off = _dot(jac[:, 0], jac[:, 1]) / np.sqrt(
            _dot(jac[:, 0], jac[:, 0]) * _dot(jac[:, 1], jac[:, 1])
        )
        assert off.max() < 0 and off.min() > -1 + 1e-6


def test_nothing_on_a_fine_grid_dominates_the_pareto_set():
    """Pareto-optimal, not only stationary: no point of a 401 × 401 grid over [-10, 10]²
    (nor the valley floors above the axis) is better on both losses than any point of it."""
    axis = np.linspace(-10, 10, 401)
    xx, yy = np.meshgrid(axis, axis)
    grid, _ = ref_losses_and_grads(np.stack([xx.ravel(), yy.ravel()], 1))
    px, py = pareto_set()
    front, _ = ref_losses_and_grads(np.stack([px, py], 1))
    for chunk in np.array_split(front, 8):
        dominated = (grid[None, :, 0] < chunk[:, None, 0] - 1e-9) & (
            grid[None, :, 1] < chunk[:, None, 1] - 1e-9
        )
        assert not dominated.any()
    # A valley floor (a_i = 0, so L_i = log(5e-6) + 6 ≈ -6.2 times its gate) is no match.
    assert front[:, 0].min() < -19.9 and front[:, 1].min() < -19.9


@pytest.mark.parametrize("scale", [1.0, 0.1])
def test_the_average_optimum_minimises_the_average_loss(scale):
    x, y = average_optimum(scale)
    best = ref_losses_and_grads(np.array([[x, y]]), scale)[0].mean()
    axis = np.linspace(-10, 10, 801)
    xx, yy = np.meshgrid(axis, axis)
    grid = ref_losses_and_grads(np.stack([xx.ravel(), yy.ravel()], 1), scale)[0].mean(1)
    assert best <= grid.min() + 1e-9
    assert distance_to_pareto(x, y) < 1e-3  # the set is sampled every 0.001 in x
    if scale == 1.0:
        assert (x, y) == pytest.approx((0.0, -8.3551), abs=1e-4)


def test_the_point_is_a_model_whose_only_parameter_is_shared():
    point = ToyPoint((1.0, -2.0), seed=3)
    assert point.shared_parameters() == [point.xy] and point.task_parameters() == []
    assert [t.name for t in point.tasks] == list(TASKS) and point.seed == 3
    out = point()
    torch.testing.assert_close(
        torch.cat([out.outputs[n].reshape(1) for n in TASKS]), toy_losses(point.xy).detach()
    )


def test_options_name_a_bad_value():
    with pytest.raises(ValidationError, match="methods"):
        Toy2DOptions(methods=["sum"])
    with pytest.raises(ValidationError, match="starts"):
        Toy2DOptions(starts=[(0.0, 11.0)])
    with pytest.raises(ValidationError, match="lr"):
        Toy2DOptions(lr=0)
    assert Toy2DOptions().steps == PAGE_STEPS and Toy2DOptions().lr == PAGE_LR


def test_kept_steps_are_even_and_end_at_the_last_step():
    assert kept_steps(10, 400) == list(range(11))
    assert kept_steps(1000, 3) == [0, 334, 668, 1000]
    kept = kept_steps(100_000, 400)
    assert kept[0] == 0 and kept[-1] == 100_000 and len(kept) == 401


# --- our methods take the papers' steps ----------------------------------------------------


@pytest.mark.parametrize("method", ["equal", "pcgrad", "mgda", "cagrad", "nash_mtl"])
def test_our_methods_take_the_papers_steps(method):
    """200 steps at lr 0.005 (the point moves about a unit) from each of the papers' starts:
    the same points as the papers' rule, to the 5 decimals the study keeps (float32 vs
    float64 differ by less)."""
    options = Toy2DOptions(steps=200, points=200, lr=0.005, workers=1)
    paths = run_paths_together([method], list(ALL_STARTS), options)
    for start, path in zip(ALL_STARTS, paths, strict=True):
        ours = np.stack([path["x"], path["y"]], 1)
        ref = ref_path(method, start, 200, 0.005, every=1)
        if start == (0.0, 0.0) and method in ("cagrad", "nash_mtl"):
            # On the axis of symmetry the rule's x-step is exactly 0, ours (from float32
            # gradients) about 1e-7, and Adam, which divides by its running size, turns that
            # into x-steps of up to lr: only y is the rule's, x stays within 2·lr of 0.
            assert np.abs(ours[:, 0]).max() <= 2 * options.lr
            ours, ref = ours[:, 1], ref[:, 1]
        np.testing.assert_allclose(ours, ref, atol=1e-4, rtol=0)


def test_points_moved_together_take_the_paths_they_take_alone():
    """The study moves every method's points from every start as one (N, 2) parameter
    with one Adam; each path is the one its point takes alone."""
    options = Toy2DOptions(steps=150, points=50, lr=0.01, workers=1)
    together = run_paths_together(list(view.METHODS), list(ALL_STARTS), options)
    assert [(p["method"], tuple(p["start"])) for p in together] == [
        (m, s) for m in view.METHODS for s in ALL_STARTS
    ]
    for path in together[:: len(ALL_STARTS) - 1]:
        alone = run_path(path["method"], path["start"], options)
        assert alone["x"] == path["x"] and alone["y"] == path["y"], path["method"]
        assert alone["last_weights"] == path["last_weights"]


def test_nash_mtl_steps_along_the_bisector_of_the_unit_gradients():
    """Our Nash-MTL's weights at 40 points of each toy: α₁‖g₁‖ = α₂‖g₂‖ (its bargaining
    solution for two tasks), so its step bisects the two unit gradients and does not
    care which loss is larger; it improves both losses and has the clip's norm, 1."""
    rng = np.random.default_rng(1)
    points = rng.uniform(-10, 10, (40, 2))
    for scale in (1.0, 0.1):
        _, jac = ref_losses_and_grads(points, scale)
        nash = build_weighting("nash_mtl", [WeightingTask(n, "regression") for n in TASKS])
        w, step, _ = nash.combine_batch(torch.tensor(jac))
        norms = np.linalg.norm(jac, axis=2)
        w = w.numpy()
        np.testing.assert_allclose(w[:, 0] * norms[:, 0], w[:, 1] * norms[:, 1], rtol=1e-9)
        np.testing.assert_allclose(step.norm(dim=1).numpy(), 1.0, rtol=1e-9)
        assert (np.einsum("ntc,nc->nt", jac, step.numpy()) > 0).all()


# --- the study -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny() -> dict:
    return run(Toy2DOptions(**TINY))


def test_the_study_is_json_safe_and_complete(tiny):
    json.dumps(tiny, allow_nan=False)
    assert tiny["methods"] == ["equal", "pcgrad", "mgda", "cagrad", "nash_mtl"]
    assert [(p["method"], tuple(p["start"])) for p in tiny["paths"]] == [
        (m, s) for m in tiny["methods"] for s in TINY["starts"]
    ]
    for p in tiny["paths"]:
        assert p["steps"][0] == 0 and p["steps"][-1] == TINY["steps"]
        assert (p["x"][0], p["y"][0]) == tuple(p["start"]) and p["finite"]
        assert len(p["x"]) == len(p["loss1"]) == len(p["steps"]) <= TINY["points"] + 2
    grid = tiny["grid"]
    assert np.array(grid["average"]).shape == (len(grid["y"]), len(grid["x"]))
    assert tiny["optimum"]["x"] == pytest.approx(0.0) and tiny["tolerance"] == PARETO_TOLERANCE


def test_the_same_options_give_the_same_paths_in_one_process_or_several(tiny):
    again = run(Toy2DOptions(**{**TINY, "workers": 2}))
    for a, b in zip(tiny["paths"], again["paths"], strict=True):
        assert {k: a[k] for k in ("x", "y", "end", "end_losses")} == {
            k: b[k] for k in ("x", "y", "end", "end_losses")
        }


def test_pcgrads_seed_changes_nothing_with_two_tasks():
    """PCGrad draws a random order of the other tasks; with one other task there is none."""
    ends = {seed: run_path("pcgrad", (-7.5, -0.5), Toy2DOptions(steps=40, seed=seed))["end"]
            for seed in (0, 1, 2)}  # fmt: skip
    assert ends[0] == ends[1] == ends[2]


def test_the_lesson_is_in_the_catalogue_with_its_study():
    assert LESSONS.get(KEY) is LESSON
    assert LESSON.number == 4 and LESSON.read_on == "learn" and LESSON.study is not None
    assert LESSON.study.options_model is Toy2DOptions and LESSON.study.function() is run


def test_the_study_runs_in_a_child_process_for_the_page():
    """What the page's Run button does: ``mtlcore lesson KEY --options`` in a subprocess."""
    result = run_study(KEY, {"methods": ["mgda"], "starts": [[9.0, -1.0]], "steps": 5})
    assert result["methods"] == ["mgda"] and len(result["paths"]) == 1


# --- the page ------------------------------------------------------------------------------


def test_the_paths_figure_has_a_panel_per_method_with_everything_on_it(tiny):
    fig = view.paths_figure(tiny, "average")
    contours = [t for t in fig.data if t.type == "contour"]
    assert len(contours) == len(tiny["methods"])
    assert sum(bool(t.showscale) for t in contours) == 1
    np.testing.assert_array_equal(np.array(contours[0].z), np.array(tiny["grid"]["average"]))
    paths = [t for t in fig.data if t.type == "scatter" and (t.name or "").startswith("from ")]
    assert len(paths) == len(tiny["paths"])
    first = tiny["paths"][0]
    assert list(paths[0].x) == first["x"] and list(paths[0].y) == first["y"]
    assert [a.text for a in fig.layout.annotations] == [
        view.METHOD_NAMES[m] for m in tiny["methods"]
    ]
    assert {t.name for t in fig.data if t.showlegend} >= {"Pareto set", "from (-8.5, 7.5)"}
    loss1 = view.paths_figure(tiny, "loss1")
    assert np.array(loss1.data[0].z).tolist() == tiny["grid"]["loss1"]


def test_the_loss_space_figure_and_the_table(tiny):
    fig = view.loss_space_figure(tiny)
    assert fig.data[0].name == "Pareto front"
    lines = [t for t in fig.data[1:] if t.mode == "lines"]
    assert len(lines) == len(tiny["paths"])
    assert [t.name for t in lines if t.showlegend] == [
        view.METHOD_NAMES[m] for m in tiny["methods"]
    ]
    table = view.end_table(tiny)
    assert len(table) == len(tiny["paths"])
    assert set(table["on the Pareto set"]) <= {"yes", "no"}
    assert table.iloc[0]["start"] == "(-8.5, 7.5)"


def _page(lesson_key: str) -> None:
    from dashboard.lessons import conflicting_gradients as page
    from mtlcore.lessons import conflicting_gradients as catalogue

    assert catalogue.LESSON.key == lesson_key
    page.show(catalogue.LESSON)


def test_the_view_runs_the_study_and_draws_it(tiny, monkeypatch):
    """Run calls the study client once per setting (then the cache answers); the charts
    and the table appear; changed settings say the charts are the last run's."""
    calls: list[dict] = []

    def fake_run_study(key: str, options: dict) -> dict:
        calls.append(dict(options))
        return tiny

    monkeypatch.setattr(dashboard.lessons, "run_study", fake_run_study)
    st.cache_data.clear()
    at = AppTest.from_function(_page, args=(KEY,), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.get("plotly_chart")
    at.button(key=f"lesson:{KEY}:run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert calls == [{
        "methods": list(view.METHODS), "starts": [list(s) for s in PAGE_STARTS],
        "steps": PAGE_STEPS, "lr": PAGE_LR, "scale": 1.0,
    }]  # fmt: skip
    assert len(at.get("plotly_chart")) == 2 and at.dataframe
    at.radio(key=f"lesson:{KEY}:surface").set_value("loss2").run()
    assert not at.exception and len(calls) == 1
    at.select_slider(key=f"lesson:{KEY}:steps").set_value(1_000).run()
    assert any("Showing the last run" in c.value for c in at.caption)
    at.button(key=f"lesson:{KEY}:run").click().run()
    at.button(key=f"lesson:{KEY}:run").click().run()
    assert [c["steps"] for c in calls] == [PAGE_STEPS, 1_000]
    st.cache_data.clear()


@pytest.mark.usefixtures("quiet_dashboard")
def test_the_learn_page_opens_the_lesson_and_runs_its_study(tiny, monkeypatch):
    """From its link, the Learn page shows the lesson's text, its measured table and the
    view; Run draws the charts."""
    monkeypatch.setattr(dashboard.lessons, "run_study", lambda key, options: tiny)
    at = AppTest.from_file(DASHBOARD_APP, default_timeout=90)
    at.query_params["lesson"] = KEY
    at.run()
    at.switch_page("app_pages/learn.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(LESSON.title in h.value for h in at.header)
    assert not at.get("plotly_chart")
    at.button(key=f"lesson:{KEY}:run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) == 2


# --- the claims ----------------------------------------------------------------------------


def ends(paths: dict, method: str, starts: Iterable[Sequence[float]]) -> np.ndarray:
    return np.array([paths[(method, (float(s[0]), float(s[1])))][-1] for s in starts])


def distances(points: np.ndarray) -> np.ndarray:
    return np.array([distance_to_pareto(float(x), float(y)) for x, y in points])


def average(points: np.ndarray, scale: float = 1.0) -> np.ndarray:
    return ref_losses_and_grads(points, scale)[0].mean(1)


def check_cagrad_figure_1(paths: dict, starts: Sequence[tuple[float, float]]) -> None:
    """CAGrad's Fig. 1 (scale 1): equal weights stall in a valley from (-8.5, 7.5) and
    (9, 9) and reach the average loss's minimum from the other starts; PCGrad and MGDA
    reach the Pareto set from every start, at points away from that minimum; CAGrad ends
    at the minimum from every start."""
    opt = np.array(average_optimum(1.0))
    best = average(opt[None])[0]
    stalled = ends(paths, "equal", STALLING)
    assert (stalled[:, 1] > 0).all() and (distances(stalled) > 9).all()
    others = [s for s in starts if s not in STALLING]
    assert (np.linalg.norm(ends(paths, "equal", others) - opt, axis=1) <= PARETO_TOLERANCE).all()
    for method in ("pcgrad", "mgda"):
        assert (distances(ends(paths, method, starts)) <= PARETO_TOLERANCE).all(), method
    for method in ("pcgrad", "mgda"):  # on the set, but away from the average's minimum
        assert average(ends(paths, method, starts)).max() > best + 1, method
    cagrad = ends(paths, "cagrad", starts)
    assert (np.linalg.norm(cagrad - opt, axis=1) <= PARETO_TOLERANCE).all()
    assert average(cagrad).max() <= best + 1e-3


def check_nash_toy(paths: dict, starts: Sequence[tuple[float, float]]) -> None:
    """L₁ × 0.1: Nash-MTL ends on the Pareto set from every start; from (9, 9) equal
    weights stall in the valley (above the axis) and PCGrad and CAGrad do not reach the
    Pareto set either (at the page's setting ours are just leaving the valley: y ≈ −2)."""
    assert (distances(ends(paths, "nash_mtl", starts)) <= PARETO_TOLERANCE).all()
    equal = ends(paths, "equal", [(9.0, 9.0)])
    assert equal[0, 1] > 0 and distances(equal)[0] > 9
    for method in ("pcgrad", "cagrad"):
        assert distances(ends(paths, method, [(9.0, 9.0)]))[0] > 5, method


def check_page(paths: dict, starts: Sequence[tuple[float, float]]) -> None:
    """The page's setting, scale 1: equal weights in the valley from (-8.5, 7.5) and
    (9, 9); MGDA and Nash-MTL on the Pareto set from every start; CAGrad at the average's
    minimum from the starts below the valleys (from the valley starts it is on its way)."""
    stalled = ends(paths, "equal", STALLING)
    assert (stalled[:, 1] > 0).all() and (distances(stalled) > 9).all()
    for method in ("mgda", "nash_mtl"):
        assert (distances(ends(paths, method, starts)) <= PARETO_TOLERANCE).all(), method
    opt = np.array(average_optimum(1.0))
    below = [s for s in starts if s not in STALLING]
    assert (np.linalg.norm(ends(paths, "cagrad", below) - opt, axis=1) <= PARETO_TOLERANCE).all()


@pytest.mark.claim
def test_cagrad_figure_1_in_its_own_setting_with_the_papers_rules():
    o = PUBLISHED["cagrad"]
    paths = ref_paths(["equal", "pcgrad", "mgda", "cagrad"], o["starts"], o["steps"], o["lr"])
    check_cagrad_figure_1(paths, CAGRAD_STARTS)


@pytest.mark.claim
def test_nash_mtls_toy_in_its_own_setting_with_the_papers_rules():
    o = PUBLISHED["nash_mtl"]
    methods = ["nash_mtl", "equal", "pcgrad", "cagrad"]
    check_nash_toy(ref_paths(methods, o["starts"], o["steps"], o["lr"], o["scale"]), NASH_STARTS)


@pytest.mark.claim
def test_nash_mtls_ends_do_not_move_when_a_loss_is_scaled():
    """Nash-MTL's own point, with its rule in its setting: L₁ × 0.1 moves its ends by less
    than 0.1 (measured: 0.03); it moves MGDA's by more than 1 (from (0, 0): 6.1)."""
    o = PUBLISHED["nash_mtl"]
    scaled = ref_paths(["nash_mtl", "mgda"], NASH_STARTS, o["steps"], o["lr"], o["scale"])
    plain = ref_paths(["nash_mtl", "mgda"], NASH_STARTS, o["steps"], o["lr"], 1.0)
    nash = ends(scaled, "nash_mtl", NASH_STARTS) - ends(plain, "nash_mtl", NASH_STARTS)
    assert np.abs(nash).max() < 0.1
    mgda = ends(scaled, "mgda", NASH_STARTS) - ends(plain, "mgda", NASH_STARTS)
    assert np.abs(mgda[:, 0]).max() > 1


@pytest.mark.claim
@pytest.mark.parametrize("starts", [PAGE_STARTS, FIVE], ids=["page", "five"])
def test_the_pages_setting_shows_the_page_claims_with_the_papers_rules(starts):
    o = Toy2DOptions()
    check_page(ref_paths(list(view.METHODS), starts, o.steps, o.lr), list(starts))
    scaled = ref_paths(["nash_mtl", "equal", "pcgrad", "cagrad"], starts, o.steps, o.lr, 0.1)
    check_nash_toy(scaled, list(starts))


def _as_paths(result: dict) -> dict:
    return {(p["method"], tuple(p["start"])): np.array([p["end"]]) for p in result["paths"]}


@pytest.mark.claim
@pytest.mark.slow  # about 90 s of CPU: every path the page draws, twice
def test_the_pages_setting_shows_the_page_claims_through_our_methods():
    """What the page runs, through our methods: every method from the five starts (the
    page's three and Nash-MTL's two others) at scale 1, and with L₁ × 0.1 from the
    page's starts."""
    check_page(_as_paths(run(Toy2DOptions(starts=list(FIVE), workers=1))), list(FIVE))
    scaled = run(Toy2DOptions(methods=["nash_mtl", "equal", "pcgrad", "cagrad"], scale=0.1,
                              workers=1))  # fmt: skip
    check_nash_toy(_as_paths(scaled), list(PAGE_STARTS))


@pytest.mark.browser
def test_the_learn_page_runs_the_study_in_a_browser(open_app):
    """In a real browser: the lesson's link opens it on the Learn page; with the steps
    slider at its smallest (500) Run computes the study in a child process and draws its
    charts and table, without an error. (The page's default takes about a minute:
    bench/RESULTS.md.)"""
    import re

    from playwright.sync_api import expect

    page = open_app(f"learn?lesson={KEY}", timeout_ms=120_000)
    expect(page.get_by_role("button", name="Run the study")).to_be_visible()
    steps = page.get_by_role("slider").first
    steps.focus()
    steps.press("Home")
    expect(steps).to_have_attribute("aria-valuetext", "500", timeout=20_000)
    page.get_by_role("button", name="Run the study").click()
    expect(page.get_by_text(re.compile(r"500 Adam steps at learning rate 0\.005"))).to_be_visible(
        timeout=240_000
    )
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    expect(page.get_by_text("The study of lesson")).to_have_count(0)  # StudyError's message
    # The caption comes first; on a loaded machine the charts follow it by seconds.
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(2, timeout=120_000)
    expect(page.locator('[data-testid="stDataFrame"]')).to_have_count(1, timeout=120_000)
