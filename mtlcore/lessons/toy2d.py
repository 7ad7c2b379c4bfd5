"""Lesson 4's study: the two-objective 2-D toy of CAGrad and Nash-MTL, through our methods.

The toy (Liu et al. 2021, "Conflict-Averse Gradient Descent for Multi-task Learning",
Fig. 1 and ``toy.py`` of Cranial-XIX/CAGrad; reused by Navon et al. 2022, "Multi-Task
Learning as a Bargaining Game", ``experiments/toy``) has one point θ = (x, y) and two
losses. Above the x-axis each loss is a log-cusp valley,
``log max(|a_i(x, y)|, 5e-6) + 6`` with a_1 = −(x + 7)/2 + tanh y and
a_2 = −(x − 3)/2 − tanh y + 2; below it each is a wide bowl,
``((x ∓ 7)² + 0.1 (y + 8)²)/10 − 20`` (centred at x = 7 for L₁, x = −7 for L₂). The two
halves are blended by max(tanh(±y/2), 0). L₁ is multiplied by ``scale`` (1 in CAGrad's
code, 0.1 in Nash-MTL's).

Its Pareto set is the curve where the two bowls trade off: x ∈ [−7, 7], y ≈ −8.36
(−8.355 at x = 0, −8.43 at |x| = 7), computed here from its stationarity condition
(:func:`pareto_set`); scaling a loss does not move it. The minimum of the average
loss ½(scale·L₁ + L₂) is the point of it where the bowls' weights are in the ratio
scale : 1 (x = 0 when scale = 1): :func:`average_optimum`.

Each path: the point as the only (shared) parameter of :class:`ToyPoint`, a
``MultiTaskModel`` with two tasks; per step each point's two task gradients are
combined by the method (``mtlcore.weighting.build_weighting``: a gradient method's
``combine_batch``, the code its ``backward`` runs in the training loop; equal weights
sum the two gradients, what backpropagating L₁ + L₂ gives), then ``torch.optim.Adam``
steps. With two tasks PCGrad, MGDA, CAGrad and Nash-MTL answer from the 2 × 2 Gramian
in closed form (``mtlcore.weighting._two_task``), about a millisecond per step where
torchjd's solvers took up to 60. All paths of a study move together as one (N, 2)
parameter with one Adam (:func:`run_paths_together`): Adam works element by element,
so that is exactly N independent runs, at about the cost of one. Adam divides each
step by the gradient's running size, so a method's overall scale (mean or sum of the
gradients, CAGrad's optional 1/(1 + c)) does not change the path; the direction does.

The toy has no data and no noise: a path depends only on its start, method and
options, so "over seeds" means over starts. PCGrad's random order of the other tasks
is seeded, and with two tasks it has no effect. In the valleys a path is chaotic (a
start moved by 1e-12 can end elsewhere on the Pareto set), so the lesson claims where
paths end up (a valley, the Pareto set, the average's minimum), not the exact point.

With more than one worker allowed, the methods are dealt out to worker processes
(``spawn``): a script that calls :func:`run` that way needs the usual
``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mtlcore.kinds import REGRESSION
from mtlcore.lessons.conflicting_gradients import METHODS, PARETO_TOLERANCE, Toy2DOptions
from mtlcore.models.base import Architecture, ModelOutput, ModelTask, MultiTaskModel
from mtlcore.weighting import METHODS as WEIGHTING_METHODS
from mtlcore.weighting import LossWeighting, Weighting, WeightingTask, build_weighting
from mtlcore.weighting.gradient import GradientWeighting

LOWER = 5e-6  # the papers' floor under |a_i| inside the log: the valleys' depth
TASKS = ("loss1", "loss2")
LIMIT = 10.0  # the page's window: [-LIMIT, LIMIT]²
GRID = 121  # contour grid points per axis
PARETO_POINTS = 281  # points along the Pareto set (x every 0.05)
PARETO_DENSE = 14_001  # for the distance to it (x every 0.001)


def toy_losses(xy: Tensor, scale: float = 1.0) -> Tensor:
    """(L₁, L₂) at the points ``xy`` (..., 2): the papers' formulas, L₁ times ``scale``."""
    x, y = xy[..., 0], xy[..., 1]
    valley1 = torch.clamp((0.5 * (-x - 7) - torch.tanh(-y)).abs(), LOWER).log() + 6
    valley2 = torch.clamp((0.5 * (-x + 3) + torch.tanh(-y) + 2).abs(), LOWER).log() + 6
    above = torch.clamp(torch.tanh(y * 0.5), 0)
    bowl1 = ((-x + 7).pow(2) + 0.1 * (-y - 8).pow(2)) / 10 - 20
    bowl2 = ((-x - 7).pow(2) + 0.1 * (-y - 8).pow(2)) / 10 - 20
    below = torch.clamp(torch.tanh(-y * 0.5), 0)
    loss1 = (valley1 * above + bowl1 * below) * scale
    loss2 = valley2 * above + bowl2 * below
    return torch.stack([loss1, loss2], dim=-1)


def toy_losses_np(x: np.ndarray, y: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """:func:`toy_losses` on numpy arrays, in float64: shape (..., 2)."""
    xy = torch.from_numpy(np.stack(np.broadcast_arrays(x, y), axis=-1).astype(np.float64))
    with torch.no_grad():
        return toy_losses(xy, scale).numpy()


class ToyPoint(MultiTaskModel):
    """The point (x, y) as the one parameter both tasks share; no task-specific parameters.

    ``start`` is one point (x, y) or a list of N points: then ``xy`` is (N, 2) and each
    loss has N values, one per point (independent copies of the toy, moved together).
    What a weighting method asks of a model: ``shared_parameters()``,
    ``task_parameters()`` and ``seed``.
    """

    def __init__(self, start: Sequence[float] | Sequence[Sequence[float]], seed: int = 0):
        tasks = [ModelTask(name, input_group="xy", in_dim=2, out_dim=1) for name in TASKS]
        super().__init__(tasks, Architecture(hidden=()), seed)
        self.xy = nn.Parameter(torch.tensor(start, dtype=torch.float32))
        self.scale = 1.0

    def forward(self, xs: Any = None) -> ModelOutput:
        losses = toy_losses(self.xy, self.scale)
        return ModelOutput(
            outputs={name: losses[..., i].reshape(-1, 1) for i, name in enumerate(TASKS)},
            features={name: self.xy.reshape(-1, 2) for name in TASKS},
        )

    def shared_parameters(self) -> list[nn.Parameter]:
        return [self.xy]


# ----------------------------------------------------------------------------- geometry


def _bowl_weight(x: np.ndarray) -> np.ndarray:
    """w₁ with w₁·∂ₓL₁ + (1 − w₁)·∂ₓL₂ = 0 below the axis (scale 1): (x + 7)/14."""
    return (np.asarray(x, dtype=np.float64) + 7.0) / 14.0


def pareto_y(x: np.ndarray) -> np.ndarray:
    """The y of the Pareto set at each x ∈ [−7, 7].

    Below the axis L_i = b(y)·(q_i(x) + 0.01(y + 8)² − 20) with b = tanh(−y/2), so with
    the weights w of :func:`_bowl_weight` a point is Pareto-stationary when
    d/dy [b(y)·(Q(x) + 0.01(y + 8)² − 20)] = 0, Q = w q₁ + (1 − w) q₂. That derivative
    is positive at y = −8 and negative at y = −11 for every x; bisection between.
    """
    x = np.asarray(x, dtype=np.float64)
    w = _bowl_weight(x)
    q = w * (x - 7) ** 2 / 10 + (1 - w) * (x + 7) ** 2 / 10

    def slope(y: np.ndarray) -> np.ndarray:
        t = np.tanh(-y / 2)
        return -0.5 * (1 - t**2) * (q + 0.01 * (y + 8) ** 2 - 20) + t * 0.02 * (y + 8)

    lo, hi = np.full_like(x, -11.0), np.full_like(x, -8.0)
    for _ in range(60):
        mid = (lo + hi) / 2
        neg = slope(mid) < 0
        lo = np.where(neg, mid, lo)
        hi = np.where(neg, hi, mid)
    return (lo + hi) / 2


def pareto_set(n: int = PARETO_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) of ``n`` points along the Pareto set, x from −7 to 7."""
    x = np.linspace(-7.0, 7.0, n)
    return x, pareto_y(x)


def average_optimum(scale: float = 1.0) -> tuple[float, float]:
    """The minimiser of ½(scale·L₁ + L₂): the Pareto point whose bowl weights are in the
    ratio scale : 1, i.e. x = 14·scale/(1 + scale) − 7."""
    x = 14.0 * scale / (1.0 + scale) - 7.0
    return float(x), float(pareto_y(np.array([x]))[0])


_DENSE: tuple[np.ndarray, np.ndarray] | None = None


def distance_to_pareto(x: float, y: float) -> float:
    """Euclidean distance from (x, y) to the Pareto set (sampled every 0.001 in x)."""
    global _DENSE
    if _DENSE is None:
        _DENSE = pareto_set(PARETO_DENSE)
    px, py = _DENSE
    return float(np.sqrt(np.min((px - x) ** 2 + (py - y) ** 2)))


# ----------------------------------------------------------------------------- paths


def method_options(method: str, options: Toy2DOptions) -> dict[str, Any]:
    """The method's options as in the papers' toys (every other option at our default)."""
    if method == "cagrad":
        return {"c": options.c}
    if method == "nash_mtl":
        return {"max_norm": 1.0, "update_weights_every": 1, "optim_niter": 20}
    return {}


def kept_steps(steps: int, points: int) -> list[int]:
    """The steps whose positions a path keeps: about ``points`` evenly, always 0 and the end."""
    every = max(1, math.ceil(steps / points))
    kept = list(range(0, steps + 1, every))
    if kept[-1] != steps:
        kept.append(steps)
    return kept


def build_method(method: str, options: Toy2DOptions) -> Weighting:
    """The project's weighting ``method`` for the toy's two tasks, with the papers' options."""
    tasks = [WeightingTask(name, REGRESSION.name) for name in TASKS]
    return build_weighting(method, tasks, method_options(method, options))


def combine_points(
    weighting: Weighting, jacobians: Tensor, losses: Tensor, seed: int, step: int
) -> tuple[Tensor, Tensor]:
    """(w, d) for S points: their task Jacobians (S, 2, 2) combined by ``weighting`` as its
    ``backward`` combines a model's. A gradient method's
    :meth:`~mtlcore.weighting.gradient.GradientWeighting.combine_batch` takes the stack; a
    loss weighting's d is Σ w_i ∇L_i with its weights for each point's losses (S, 2), what
    backpropagating Σ w_i L_i gives."""
    if isinstance(weighting, GradientWeighting):
        w, d, _ = weighting.combine_batch(jacobians, seed=seed, step=step)
        return w, d
    if not isinstance(weighting, LossWeighting):  # pragma: no cover - every method is one
        raise TypeError(f"{type(weighting).__name__} is neither a loss nor a gradient method")
    w = torch.stack([weighting.weights(row) for row in losses.detach()]).to(jacobians.dtype)
    return w, (w.unsqueeze(1) @ jacobians).squeeze(1)


def task_jacobians(xy: Tensor, scale: float) -> tuple[Tensor, Tensor]:
    """(L, J) at the points ``xy`` (N, 2): the losses (N, 2) and each point's task
    Jacobian (N, 2 tasks, 2 coordinates), from one backward pass over two copies of the
    points, copy i differentiated through loss i only (the points are independent)."""
    copies = xy.detach().expand(len(TASKS), *xy.shape).clone().requires_grad_()
    with torch.enable_grad():
        losses = toy_losses(copies, scale)  # (copy, point, task)
        own = sum(losses[i, :, i].sum() for i in range(len(TASKS)))
        (grads,) = torch.autograd.grad(own, copies)
    return losses[0].detach(), grads.transpose(0, 1)


def run_paths_together(
    methods: Sequence[str], starts: Sequence[Sequence[float]], options: Toy2DOptions
) -> list[dict[str, Any]]:
    """The paths of every method in ``methods`` from every start, moved together.

    One :class:`ToyPoint` holds all len(methods) × len(starts) points and one
    ``torch.optim.Adam`` steps them: Adam works element by element, so that is exactly
    as many independent Adam runs, for about the price of one (the toy's cost is per
    step, hardly per point). Per step the two task gradients of every point come from
    one backward pass (:func:`task_jacobians`), and each method combines those of its
    own points (:func:`combine_points`).
    Returns the paths in the order methods × starts.
    """
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    began = time.perf_counter()
    n = len(starts)
    point = ToyPoint([list(s) for _ in methods for s in starts], seed=options.seed)
    point.scale = options.scale
    weightings = [build_method(m, options) for m in methods]
    blocks = [slice(i * n, (i + 1) * n) for i in range(len(methods))]
    optimizer = torch.optim.Adam(point.parameters(), lr=options.lr)
    keep = set(kept_steps(options.steps, options.points))
    kept: list[int] = []
    positions: list[Tensor] = []
    weights = torch.ones(len(methods) * n, len(TASKS))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(not DPP|Solution may be inaccurate).*")
        for step in range(options.steps + 1):
            if step in keep:
                positions.append(point.xy.detach().clone())
                kept.append(step)
            if step == options.steps:
                break
            losses, jacobians = task_jacobians(point.xy, point.scale)
            grad = torch.empty_like(point.xy)
            for weighting, rows in zip(weightings, blocks, strict=True):
                w, d = combine_points(weighting, jacobians[rows], losses[rows], options.seed, step)
                grad[rows] = d
                weights[rows] = w
            point.xy.grad = grad
            optimizer.step()
    seconds = (time.perf_counter() - began) / len(methods)
    track = torch.stack(positions).double().numpy()  # (kept, points, 2)
    return [
        _path(m, starts[j], kept, track[:, i * n + j], weights[i * n + j], options, seconds)
        for i, m in enumerate(methods)
        for j in range(n)
    ]


def _path(
    method: str,
    start: Sequence[float],
    kept: list[int],
    track: np.ndarray,
    weights: Tensor,
    options: Toy2DOptions,
    seconds: float,
) -> dict[str, Any]:
    """One path's record from its kept positions ``track`` (kept, 2)."""
    xs, ys = track[:, 0].tolist(), track[:, 1].tolist()
    end_x, end_y = xs[-1], ys[-1]
    end_losses = toy_losses_np(np.array(end_x), np.array(end_y), options.scale)
    path_losses = toy_losses_np(track[:, 0], track[:, 1], options.scale)
    return {
        "method": method,
        "start": [float(start[0]), float(start[1])],
        "steps": kept,
        "x": [round(v, 5) for v in xs],
        "y": [round(v, 5) for v in ys],
        "loss1": [round(float(v), 5) for v in path_losses[:, 0]],
        "loss2": [round(float(v), 5) for v in path_losses[:, 1]],
        "end": [float(end_x), float(end_y)],
        "end_losses": [float(end_losses[0]), float(end_losses[1])],
        "end_average": float(end_losses.mean()),
        "distance": distance_to_pareto(end_x, end_y),
        "last_weights": [float(w) for w in weights.tolist()],
        "finite": bool(np.isfinite([end_x, end_y]).all()),
        "seconds": seconds,
    }


def run_path(method: str, start: Sequence[float], options: Toy2DOptions) -> dict[str, Any]:
    """One path: ``options.steps`` Adam steps from ``start``, combined by ``method``."""
    return run_paths_together([method], [start], options)[0]


def _run_group_job(job: tuple[list[str], list[list[float]], dict[str, Any]]) -> list[dict]:
    methods, starts, raw = job
    return run_paths_together(methods, starts, Toy2DOptions.model_validate(raw))


SMALL_STEPS = 4_000  # below this, starting worker processes (torch) costs more than it saves
# The most expensive methods per step (Nash-MTL, CAGrad) first when methods are split.
COST_ORDER = ("nash_mtl", "cagrad", "mgda", "pcgrad", "equal")


def _workers(options: Toy2DOptions, jobs: int) -> int:
    if options.workers:
        return min(options.workers, jobs)
    if options.steps < SMALL_STEPS:
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, jobs))


def run_paths(options: Toy2DOptions) -> list[dict[str, Any]]:
    """Every (method, start) path, in the order methods × starts: all in this process
    (:func:`run_paths_together`), or with the methods dealt out to worker processes
    when more than one is allowed (each path is independent: the numbers are the same)."""
    methods = [m for m in METHODS if m in options.methods]
    starts = [[float(s[0]), float(s[1])] for s in options.starts]
    n = _workers(options, len(methods))
    if n <= 1:
        return run_paths_together(methods, starts, options)
    dealt = sorted(methods, key=lambda m: COST_ORDER.index(m) if m in COST_ORDER else 0)
    groups = [dealt[i::n] for i in range(n)]
    raw = options.model_dump(mode="json")
    with ProcessPoolExecutor(max_workers=n, mp_context=get_context("spawn")) as pool:
        done = pool.map(_run_group_job, [(g, starts, raw) for g in groups])
        by_key = {(p["method"], tuple(p["start"])): p for paths in done for p in paths}
    return [by_key[(m, tuple(s))] for m in methods for s in starts]


# ----------------------------------------------------------------------------- the study


def surfaces(scale: float, n: int = GRID, limit: float = LIMIT) -> dict[str, Any]:
    """L₁, L₂ and their average on an n × n grid over [−limit, limit]² (rows are y)."""
    axis = np.linspace(-limit, limit, n)
    xx, yy = np.meshgrid(axis, axis)
    values = toy_losses_np(xx, yy, scale)

    def rounded(a: np.ndarray) -> list[list[float]]:
        return np.round(a, 4).tolist()

    return {
        "x": np.round(axis, 4).tolist(),
        "y": np.round(axis, 4).tolist(),
        "loss1": rounded(values[..., 0]),
        "loss2": rounded(values[..., 1]),
        "average": rounded(values.mean(axis=-1)),
    }


def run(options: Toy2DOptions) -> dict[str, Any]:
    """The study: paths of every method from every start, and the toy's geometry.

    Returns a JSON-safe dict: ``options``; ``methods`` and ``titles`` (method -> name);
    ``starts``; ``grid`` (x, y and the surfaces ``loss1``, ``loss2``, ``average``);
    ``pareto`` (x, y, loss1, loss2 along the Pareto set); ``optimum`` (the minimiser of
    the average loss and its value); ``paths`` (per method and start: the kept ``steps``
    with ``x``, ``y``, ``loss1``, ``loss2``; ``end``, ``end_losses``, ``end_average``,
    ``distance`` to the Pareto set, ``last_weights``, ``seconds``); ``seconds``.
    """
    began = time.perf_counter()
    methods = [m for m in METHODS if m in options.methods]
    o = options.model_copy(update={"methods": methods})
    paths = run_paths(o)
    px, py = pareto_set()
    pl = toy_losses_np(px, py, o.scale)
    ox, oy = average_optimum(o.scale)
    return {
        "options": o.model_dump(mode="json"),
        "methods": methods,
        "titles": {m: WEIGHTING_METHODS.get_entry(m).title for m in methods},
        "starts": [[float(s[0]), float(s[1])] for s in o.starts],
        "grid": surfaces(o.scale),
        "pareto": {
            "x": np.round(px, 5).tolist(),
            "y": np.round(py, 5).tolist(),
            "loss1": np.round(pl[:, 0], 5).tolist(),
            "loss2": np.round(pl[:, 1], 5).tolist(),
        },
        "optimum": {
            "x": ox,
            "y": oy,
            "average": float(toy_losses_np(np.array(ox), np.array(oy), o.scale).mean()),
        },
        "paths": paths,
        "tolerance": PARETO_TOLERANCE,
        "seconds": time.perf_counter() - began,
    }


__all__ = [
    "ToyPoint",
    "average_optimum",
    "distance_to_pareto",
    "pareto_set",
    "pareto_y",
    "run",
    "run_path",
    "toy_losses",
]
