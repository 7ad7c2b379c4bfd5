"""Exact two-task forms of the gradient methods' weights, from the 2×2 Gramian.

With two tasks the simplex of weights is a segment, w = (x, 1 − x), and the problems
torchjd's aggregators solve iteratively (Frank-Wolfe, a cvxpy program, a sequence of
cvxpy programs) have closed-form answers. These functions give the *same weights on
the same scale* as torchjd's (``torchjd/aggregation/_mgda.py``, ``_pcgrad.py``,
``_cagrad.py``, ``_nash_mtl.py``, version 0.18), for a stack of S Gramians at once:
each takes G of shape (S, 2, 2) (float64) and returns the weights (S, 2) and a boolean
mask ``ok`` (S,), False where the closed form does not apply (a degenerate Gramian) and
the caller falls back to torchjd. Write g₁₁ = G₁₁, g₂₂ = G₂₂, g₁₂ = G₁₂.

- **MGDA** (Sener & Koltun 2018, Alg. 2; torchjd's Frank-Wolfe): the min-norm point of
  the segment [g₂, g₁], x = clip((g₂₂ − g₁₂)/(g₁₁ + g₂₂ − 2g₁₂), 0, 1) — the one-dimensional
  line search that Frank-Wolfe's first iteration performs from (½, ½). torchjd stops when
  a step falls below ``epsilon``; the exact point is within that tolerance. Degenerate:
  g₁ = g₂ (any x is a minimum).
- **PCGrad** (Yu et al. 2020, Alg. 1): each gradient loses its component along the other
  when g₁₂ < 0, so the sum of the projected gradients has weights
  (1 − min(g₁₂, 0)/g₁₁, 1 − min(g₁₂, 0)/g₂₂). The random order of "the other tasks" is a
  single task: no randomness. Never degenerate (g₁₂ < 0 implies g₁₁, g₂₂ > 0).
- **CAGrad** (Liu et al. 2021, Alg. 1; torchjd's cvxpy program): on Ĝ = G/tr G (zero when
  tr G < ``norm_eps``), w minimises the convex f(x) = wᵀĜ1/2 + k·√(wᵀĜw), k = c‖g₀‖ with
  ‖g₀‖ = √(1ᵀĜ1)/2. With u = ĝ₁₁ + ĝ₂₂ − 2ĝ₁₂ = ‖g₁ − g₂‖², v = ĝ₁₂ − ĝ₂₂,
  D = ĝ₁₁ĝ₂₂ − ĝ₁₂² and p = (ĝ₁₁ − ĝ₂₂)/2, f(x) = p·x + k√(ux² + 2vx + ĝ₂₂) + const;
  f'(x) = 0 squares to a quadratic in s = ux + v, s² = p²D/(k²u − p²) (real when
  k²u > p²), with s of the sign of −p. The minimum is that stationary point clipped to
  [0, 1] or an end point, whichever f is smaller at. Then torchjd's weights:
  1/2 + (k/‖g_w‖)·w, or zeros where ‖g_w‖ = √(wᵀĜw) < ``norm_eps`` ("on the Pareto
  front"). Degenerate: tr G = 0 with ``norm_eps`` = 0.
- **Nash-MTL** (Navon et al. 2022, Alg. 1): α > 0 with Gα = 1/α, i.e. αᵢ⟨gᵢ, d⟩ = 1 for
  d = Σ αⱼgⱼ. With nᵢ = √gᵢᵢ and cos = g₁₂/(n₁n₂) the solution is αᵢ = 1/(nᵢ√(1 + cos)):
  α₁n₁ = α₂n₂, a step along the bisector of the two unit gradients, of norm √2
  (dᵀd = αᵀGα = Σᵢ αᵢ(Gα)ᵢ = 2). torchjd (as the authors' code) iterates towards it by
  at most ``optim_niter`` convex-concave steps warm-started from the last α, on the
  Gramian divided by its Frobenius norm for conditioning, with that factor put back in
  the constraints αᵢ(Gα)ᵢ ≥ 1 — so its α is on the scale of G itself: on random
  Gramians its α solves αᵢ(Gα)ᵢ = 1 to a median 2e-7 (its own stop test, on the
  normalised Gramian, is rarely met; about one solve in ten stops short after its 20
  iterations, where this exact form differs from it). Degenerate: a zero gradient or
  exactly opposed gradients (cos = −1: no finite solution);
  :mod:`mtlcore.weighting.nash_mtl` handles those and the clipping to ``max_norm``,
  which needs the Jacobian.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _entries(gramians: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    return gramians[:, 0, 0], gramians[:, 1, 1], gramians[:, 0, 1]


def mgda_weights(gramians: Tensor) -> tuple[Tensor, Tensor]:
    """MGDA's weights (summing to 1) and the rows where they are unique."""
    g11, g22, g12 = _entries(gramians)
    u = g11 + g22 - 2 * g12
    ok = u > 0
    x = ((g22 - g12) / torch.where(ok, u, 1.0)).clamp(0.0, 1.0)
    return torch.stack([x, 1 - x], dim=1), ok


def pcgrad_weights(gramians: Tensor) -> tuple[Tensor, Tensor]:
    """PCGrad's weights (all ones without conflict): the sum of the projected gradients."""
    g11, g22, g12 = _entries(gramians)
    conflict = g12 < 0
    w1 = 1 - torch.where(conflict, g12 / torch.where(conflict, g11, 1.0), 0.0)
    w2 = 1 - torch.where(conflict, g12 / torch.where(conflict, g22, 1.0), 0.0)
    return torch.stack([w1, w2], dim=1), torch.ones_like(conflict)


def cagrad_weights(gramians: Tensor, c: float, norm_eps: float) -> tuple[Tensor, Tensor]:
    """CAGrad's weights as torchjd returns them (1/2 + (k/‖g_w‖)·w, or zeros)."""
    trace = gramians.diagonal(dim1=1, dim2=2).sum(1)
    small = trace < norm_eps
    ok = trace > 0 if norm_eps == 0 else torch.ones_like(small)
    scale = torch.where(small | (trace <= 0), 0.0, 1 / torch.where(trace > 0, trace, 1.0))
    a, b, m = _entries(gramians * scale[:, None, None])
    p = (a - b) / 2
    k = c * (a + b + 2 * m).clamp_min(0).sqrt() / 2
    u = a + b - 2 * m
    v = m - b
    det = (a * b - m * m).clamp_min(0)
    gap = k * k * u - p * p
    inside = (u > 0) & (gap > 0)
    s = -torch.sign(p) * (p * p * det / torch.where(inside, gap, 1.0)).sqrt()
    stationary = ((s - v) / torch.where(inside, u, 1.0)).clamp(0.0, 1.0)
    candidates = torch.stack(
        [torch.where(inside, stationary, 0.0), torch.zeros_like(a), torch.ones_like(a)], dim=1
    )

    def norm_at(x: Tensor) -> Tensor:
        return (u[:, None] * x * x + 2 * v[:, None] * x + b[:, None]).clamp_min(0).sqrt()

    cost = p[:, None] * candidates + k[:, None] * norm_at(candidates)
    x = candidates.gather(1, cost.argmin(dim=1, keepdim=True)).squeeze(1)
    g_w = norm_at(x[:, None]).squeeze(1)
    w = torch.stack([x, 1 - x], dim=1)
    far = g_w >= norm_eps
    weights = 0.5 + (k / torch.where(far, g_w, 1.0))[:, None] * w
    return torch.where(far[:, None], weights, 0.0), ok


def nash_alpha(gramians: Tensor) -> tuple[Tensor, Tensor]:
    """Nash-MTL's α (before clipping) solving Gα = 1/α, and the rows where it exists
    (two non-zero gradients, not exactly opposed)."""
    g11, g22, g12 = _entries(gramians)
    n1, n2 = g11.clamp_min(0).sqrt(), g22.clamp_min(0).sqrt()
    nonzero = (n1 > 0) & (n2 > 0)
    cos = g12 / torch.where(nonzero, n1 * n2, 1.0)
    ok = nonzero & (1 + cos > 0)
    root = torch.where(ok, (1 + cos).clamp_min(0).sqrt(), 1.0)
    alpha = torch.stack([1 / (torch.where(ok, n1, 1.0) * root),
                         1 / (torch.where(ok, n2, 1.0) * root)], dim=1)  # fmt: skip
    return alpha, ok


__all__ = ["cagrad_weights", "mgda_weights", "nash_alpha", "pcgrad_weights"]
