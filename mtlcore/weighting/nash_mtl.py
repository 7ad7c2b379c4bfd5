"""Nash-MTL: combine the task gradients as the Nash bargaining solution between tasks.

Navon, Shamsian, Achituve, Maron, Kawaguchi, Chechik & Fetaya (2022), "Multi-Task
Learning as a Bargaining Game", ICML. The weights α > 0 solve (J Jᵀ) α = 1/α
elementwise, i.e. the update d = Σ α_j g_j satisfies α_i ⟨g_i, d⟩ = 1 for every
task, found by a sequence of convex problems (cvxpy with the ECOS solver; it divides
the Gramian by its Frobenius norm and puts that factor back in its constraints, so α
is on the scale of J Jᵀ itself); the update is clipped to ``max_norm``. torchjd's
:class:`~torchjd.aggregation.NashMTL`, which is *stateful* (warm starts): one instance
per run. Its weights keep their own scale.

With two tasks the bargaining solution has a closed form
(:func:`mtlcore.weighting._two_task.nash_alpha`): αᵢ = 1/(‖gᵢ‖√(1 + cos)), cos the
gradients' cosine — the point torchjd's iteration converges to (on the scale of J Jᵀ
itself, as in the paper and the authors' code), reached exactly rather than within
``optim_niter`` iterations (which then bounds nothing). The rest is torchjd's: new
weights every ``update_weights_every`` steps (the last α reused in between), the
update clipped to ``max_norm`` on the Jacobian. For two tasks the unclipped update
always has norm √2 (αᵀGα = Σᵢ αᵢ(Gα)ᵢ = 2). Where no finite solution exists, exactly
opposed gradients (cos = −1) take its limit as cos → −1, α ∝ (1/‖g₁‖, 1/‖g₂‖) with an
update of norm √2; a zero gradient (or an update that cancels exactly) keeps the last
α (ones at first), as torchjd does when its solver fails there.

Needs the ``ecos`` package (``torchjd[nash_mtl]``); without it, building the method
raises a ValueError that says so.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from importlib.util import find_spec

import torch
from torch import Tensor
from torchjd.aggregation import NashMTL

from mtlcore.catalogue import NashMTLOptions
from mtlcore.weighting._two_task import nash_alpha
from mtlcore.weighting.base import WeightingTask
from mtlcore.weighting.gradient import GradientWeighting
from mtlcore.weighting.registry import METHODS


@METHODS.register("nash_mtl")
class NashMTLWeighting(GradientWeighting):
    mean_scaled = False  # α has its own scale, and the update is clipped to max_norm

    def __init__(self, tasks: Sequence[WeightingTask], options: NashMTLOptions):
        if find_spec("ecos") is None:
            raise ValueError(
                "weighting.method: 'nash_mtl' needs the ECOS solver, which is not installed. "
                "Install it with: pip install 'torchjd[nash_mtl]' (or pip install ecos), "
                "or choose another method."
            )
        super().__init__(tasks, options)
        self._alpha: Tensor | None = None  # the last solution (S, 2) of the two-task form
        self._solves = 0  # calls of the two-task form, for update_weights_every

    def make_aggregator(self) -> NashMTL:
        o = self.options
        return NashMTL(
            n_tasks=len(self.tasks),
            max_norm=o.max_norm,
            update_weights_every=o.update_weights_every,
            optim_niter=o.optim_niter,
        )

    def aggregator_weights(self, jacobian: Tensor, gramian: Tensor) -> Tensor:
        # Nash-MTL weighs the matrix itself (it keeps a warm-started cvxpy problem).
        with warnings.catch_warnings():
            # cvxpy warns on every call that the problem is not DPP (no speed-up from caching).
            warnings.filterwarnings("ignore", message=".*not DPP.*")
            return self.aggregator.weighting(jacobian)

    def batch_weights(self, jacobians: Tensor, gramians: Tensor, seed: int, step: int) -> Tensor:
        if not self.closed_form or gramians.shape[-1] != 2:
            return super().batch_weights(jacobians, gramians, seed, step)
        o = self.options
        rows = len(gramians)
        if self._alpha is None or len(self._alpha) != rows:
            self._alpha = torch.ones(rows, 2, dtype=torch.float64)  # torchjd's start
        jac = jacobians.detach().cpu().double()
        if self._solves % o.update_weights_every == 0:
            alpha, ok = nash_alpha(gramians.double())
            if not bool(ok.all()):
                alpha = torch.where(ok[:, None], alpha, self._opposed_limit(jac, gramians))
            self._alpha = alpha
        self._solves += 1
        alpha = self._alpha
        if o.max_norm > 0:
            norm = (alpha.unsqueeze(1) @ jac).squeeze(1).norm(dim=1, keepdim=True)
            alpha = torch.where(norm > o.max_norm, alpha / norm * o.max_norm, alpha)
        return alpha

    def _opposed_limit(self, jac: Tensor, gramians: Tensor) -> Tensor:
        """Where the solution is not finite: for exactly opposed gradients its limit as
        cos → −1, α ∝ (1/‖g₁‖, 1/‖g₂‖) with an update of norm √2 (that of every two-task
        solution); for a zero gradient, or where that update cancels exactly, the last α."""
        norms = gramians.double().diagonal(dim1=1, dim2=2).clamp_min(0).sqrt()
        unit = 1 / torch.where(norms > 0, norms, 1.0)
        length = (unit.unsqueeze(1) @ jac).squeeze(1).norm(dim=1, keepdim=True)
        usable = (norms > 0).all(1, keepdim=True) & (length > 0)
        assert self._alpha is not None
        return torch.where(usable, unit * math.sqrt(2) / torch.where(usable, length, 1.0),
                           self._alpha)  # fmt: skip
