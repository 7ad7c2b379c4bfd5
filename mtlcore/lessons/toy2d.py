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
``MultiTaskModel`` with two tasks; per step the two losses go to the method's
``backward`` (``mtlcore.weighting.build_weighting``, the same call the training loop
makes), then ``torch.optim.Adam`` steps. Equal weights backpropagate L₁ + L₂; PCGrad,
MGDA, CAGrad and Nash-MTL combine the two gradients of θ. Adam divides each step by
the gradient's running size, so a method's overall scale (mean or sum of the
gradients, CAGrad's optional 1/(1 + c)) does not change the path; the direction does.

The toy has no data and no noise: a path depends only on its start, method and
options, so "over seeds" means over starts. PCGrad's random order of the other tasks
is seeded, and with two tasks it has no effect. In the valleys a path is chaotic (a
start moved by 1e-12 can end elsewhere on the Pareto set), so the lesson claims where
paths end up (a valley, the Pareto set, the average's minimum), not the exact point.

Paths run in worker processes (``spawn``) when more than one is allowed: a script that
calls :func:`run` that way needs the usual ``if __name__ == "__main__":`` guard.
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

from mtlcore.lessons.conflicting_gradients import METHODS, PARETO_TOLERANCE, Toy2DOptions
from mtlcore.models.base import Architecture, ModelOutput, ModelTask, MultiTaskModel
from mtlcore.weighting import METHODS as WEIGHTING_METHODS
from mtlcore.weighting import StepContext, WeightingTask, build_weighting

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

    What a weighting method asks of a model: ``shared_parameters()``,
    ``task_parameters()`` and ``seed``.
    """

    def __init__(self, start: Sequence[float], seed: int = 0):
        tasks = [ModelTask(name, input_group="xy", in_dim=2, out_dim=1) for name in TASKS]
        super().__init__(tasks, Architecture(hidden=()), seed)
        self.xy = nn.Parameter(torch.tensor([float(start[0]), float(start[1])]))
        self.scale = 1.0

    def forward(self, xs: Any = None) -> ModelOutput:
        losses = toy_losses(self.xy, self.scale)
        return ModelOutput(
            outputs={name: losses[i].reshape(1, 1) for i, name in enumerate(TASKS)},
            features={name: self.xy.reshape(1, 2) for name in TASKS},
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


def run_path(method: str, start: Sequence[float], options: Toy2DOptions) -> dict[str, Any]:
    """One path: ``options.steps`` Adam steps from ``start``, combined by ``method``."""
    torch.set_num_threads(1)
    torch.set_flush_denormal(True)
    began = time.perf_counter()
    point = ToyPoint(start, seed=options.seed)
    point.scale = options.scale
    weighting = build_weighting(
        method, [WeightingTask(name, "regression") for name in TASKS],
        method_options(method, options),
    )  # fmt: skip
    optimizer = torch.optim.Adam(point.parameters(), lr=options.lr)
    keep = set(kept_steps(options.steps, options.points))
    xs, ys, kept = [], [], []
    weights = torch.ones(2)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(not DPP|Solution may be inaccurate).*")
        for step in range(options.steps + 1):
            if step in keep:
                x, y = point.xy.tolist()
                xs.append(x)
                ys.append(y)
                kept.append(step)
            if step == options.steps:
                break
            optimizer.zero_grad(set_to_none=True)
            output = point()
            losses = torch.cat([output.outputs[name].reshape(1) for name in TASKS])
            weights = weighting.backward(losses, StepContext(point, output, step, 0))
            optimizer.step()
    end_x, end_y = xs[-1], ys[-1]
    end_losses = toy_losses_np(np.array(end_x), np.array(end_y), options.scale)
    path_losses = toy_losses_np(np.array(xs), np.array(ys), options.scale)
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
        "seconds": time.perf_counter() - began,
    }


def _run_path_job(job: tuple[str, tuple[float, float], dict[str, Any]]) -> dict[str, Any]:
    method, start, raw = job
    return run_path(method, start, Toy2DOptions.model_validate(raw))


SMALL_STEPS = 2_000  # below this, starting worker processes (torch, cvxpy) costs more than it saves


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
    """Every (method, start) path, in the order methods × starts; in worker processes
    when more than one is allowed (each path is independent: the numbers are the same)."""
    methods = [m for m in METHODS if m in options.methods]
    jobs = [(m, (float(s[0]), float(s[1])), options.model_dump(mode="json"))
            for m in methods for s in options.starts]  # fmt: skip
    n = _workers(options, len(jobs))
    if n <= 1:
        return [_run_path_job(job) for job in jobs]
    # Slowest methods first, so no worker is left alone with a long path at the end.
    cost = {"nash_mtl": 0, "cagrad": 1, "mgda": 2, "pcgrad": 3, "equal": 4}
    order = sorted(range(len(jobs)), key=lambda i: cost.get(jobs[i][0], 5))
    with ProcessPoolExecutor(max_workers=n, mp_context=get_context("spawn")) as pool:
        done = dict(zip(order, pool.map(_run_path_job, [jobs[i] for i in order]), strict=True))
    return [done[i] for i in range(len(jobs))]


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
