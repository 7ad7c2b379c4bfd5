"""The common machinery of the gradient combination methods (PCGrad, MGDA, UPGrad, ...).

A gradient method does not weight the losses: it looks at each task's gradient
on the *shared* parameters and chooses how to combine them into one update. Per
step, :meth:`GradientWeighting.backward`

1. differentiates each task loss on its own (:func:`task_jacobian`): each task
   through its own nodes (its head) to where its graph enters the nodes the tasks
   share, then one pass of the shared layers batched over the tasks. Tasks may read
   different input batches, so the shared representation differs per task;
   differentiating on the shared *parameters* works whatever the inputs were. The
   shared parts of the gradients form the T×P Jacobian J, one row per task.
2. gets the weights w of its combination from the T×T Gramian J Jᵀ (on the CPU):
   with two tasks from the exact two-task form of the method where it has one
   (:meth:`GradientWeighting.two_task_weights`, :mod:`mtlcore.weighting._two_task`:
   MGDA, PCGrad, CAGrad, Nash-MTL; torchjd's weights without its iterative solver),
   otherwise from a torchjd aggregator (not re-implemented here),
3. writes the combined gradient d = wᵀJ into ``.grad`` of the shared
   parameters, and each task-specific parameter's own task gradient into its
   ``.grad`` (exactly what backpropagating Σ L_i gives it),

and returns w. Without shared parameters (the independent model, soft sharing, or
one task) there is nothing to combine and it falls back to backpropagating Σ L_i.

:meth:`GradientWeighting.combine_batch` does step 2 and d = wᵀJ for a stack of S
Jacobians (S, T, P) at once, S independent problems (lesson 4's 2-D toy moves S points
with one call per step); :meth:`~GradientWeighting.combine`, which ``backward`` uses,
is the same code with S = 1. ``closed_form = False`` on an instance makes it ask
torchjd even for two tasks (the benchmark and the tests compare the two).

Scale. Most aggregators' weights sum to 1 when the task gradients agree (MGDA,
IMTL-G, UPGrad, Aligned-MTL, CAGrad's mean g₀), i.e. they return a multiple of
the *mean* gradient, while the ``equal`` baseline steps along the *sum* of the
gradients. Those methods multiply their weights by T (``mean_scaled``), so that on
tasks whose gradients agree every method steps like ``equal`` at the same learning
rate, and the weights shown beside loss weights read on the same scale (all ones =
equal). PCGrad is already on the sum scale; Nash-MTL keeps its own scale (its
weights solve a bargaining problem and its update is clipped to ``max_norm``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor
from torch.autograd.graph import GradientEdge, Node
from torchjd.aggregation import GramianWeightedAggregator, WeightedAggregator

from mtlcore.seeding import derive_seed
from mtlcore.weighting.base import StepContext, Weighting, WeightingTask
from mtlcore.weighting.tracking import RunningMean, last_and_mean, per_task


def _batched_vjp(
    outputs: Sequence[Any], grads: Sequence[Tensor], params: Sequence[Tensor]
) -> list[Tensor | None]:
    """For each of ``params``, the (T, *shape) stack of the T vector-Jacobian products of
    ``outputs`` (tensors or graph edges) with the T rows of ``grads`` (None where no
    output reaches it): one backward pass batched over the rows (vmap). The graph is kept,
    so that should an op of a model have no batching rule the T separate passes can still
    run (and the caller may differentiate it again); it is freed with the step's tensors."""
    try:
        return list(
            torch.autograd.grad(
                outputs,
                params,
                grads,
                retain_graph=True,
                allow_unused=True,
                is_grads_batched=True,
            )
        )
    except RuntimeError:  # an op without a batching rule: one pass per row instead
        rows = [
            torch.autograd.grad(
                outputs, params, [g[i] for g in grads], retain_graph=True, allow_unused=True
            )
            for i in range(len(grads[0]))
        ]
        return [
            None
            if all(r[k] is None for r in rows)
            else torch.stack([r[k] if r[k] is not None else torch.zeros_like(p) for r in rows])
            for k, p in enumerate(params)
        ]


def per_task_grads(losses: Tensor, params: Sequence[Tensor]) -> list[Tensor | None]:
    """For each parameter, the (T, *shape) stack of the T task losses' gradients on it
    (None where no loss reaches it).

    ``losses`` is one stacked tensor, so differentiating ``losses[i]`` alone would run
    backward through every task's graph (with zeros for the others); one backward pass
    batched over the T unit vectors (vmap) does that work at once."""
    eye = torch.eye(len(losses), dtype=losses.dtype, device=losses.device)
    return _batched_vjp([losses], [eye], params)


def _reachable(root: Node) -> set[Node]:
    seen: set[Node] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if node is not None and node not in seen:
            seen.add(node)
            todo.extend(f for f, _ in node.next_functions)
    return seen


COMMON = -1


def _owners(roots: Sequence[Node]) -> dict[Node, int]:
    """Every node of the graph below ``roots``: the index of the one root that reaches it,
    or COMMON where several do. One walk from each root, which stops where it meets
    another's nodes; below a common node every node is common (one more walk there)."""
    owner: dict[Node, int] = {}
    for i, root in enumerate(roots):
        todo: list[tuple[Node | None, bool]] = [(root, False)]
        while todo:
            node, common = todo.pop()
            if node is None:
                continue
            was = owner.get(node)
            if was == COMMON or (was == i and not common):
                continue
            owner[node] = i if was is None and not common else COMMON
            todo.extend((f, owner[node] == COMMON) for f, _ in node.next_functions)
    return owner


def _into_shared(node: Node, index: dict[int, int]) -> bool:
    """Whether ``node`` is an interior node or a shared parameter's accumulator."""
    variable = getattr(node, "variable", None)
    return variable is None or id(variable) in index


@dataclass
class _SharedCut:
    """Where each task's graph enters the part of the graph the tasks have in common.

    ``roots[i]`` is task i's loss in the graph; ``entries[i]`` are the edges (node, input
    number) by which task i's own nodes feed the common ones; ``leaves`` maps a common
    node that is a shared parameter's gradient accumulator to that parameter's index."""

    roots: list[tuple[Node, int]]
    entries: list[list[tuple[Node, int]]]
    leaves: dict[Node, int]


def _shared_cut(losses: Tensor, shared: Sequence[Tensor]) -> _SharedCut | None:
    """The cut of :func:`task_jacobian`'s two-stage pass, or None where it does not apply
    (losses not stacked from one node per task, a task whose loss node the others reach,
    or an entry that the common part reaches from another entry: that gradient would
    count twice)."""
    fn = losses.grad_fn
    if fn is None or type(fn).__name__ != "StackBackward0" or losses.dim() != 1:
        return None
    roots = list(fn.next_functions)
    if len(roots) != len(losses) or any(node is None for node, _ in roots):
        return None
    owner = _owners([node for node, _ in roots])
    if any(owner[node] != i for i, (node, _) in enumerate(roots)):
        return None
    index = {id(p): k for k, p in enumerate(shared)}
    leaves: dict[Node, int] = {}
    entries: list[dict[tuple[Node, int], None]] = [{} for _ in roots]
    for node, i in owner.items():
        if i == COMMON:
            continue
        if id(getattr(node, "variable", None)) in index:
            return None  # a shared parameter only this task reaches
        for f, nr in node.next_functions:
            # (a task parameter that several tasks reach is not an entry: stage one
            # differentiates each task on the task parameters anyway)
            if f is not None and owner[f] == COMMON and _into_shared(f, index):
                entries[i][(f, nr)] = None
    targets = {f for edges in entries for f, _ in edges}
    for f in targets:
        k = index.get(id(getattr(f, "variable", None)))
        if k is not None:
            leaves[f] = k
    if len(targets) > 1 and any(len(_reachable(f) & targets) > 1 for f in targets):
        return None
    return _SharedCut(roots, [list(e) for e in entries], leaves)


def _two_stage_grads(
    losses: Tensor, cut: _SharedCut, shared: Sequence[Tensor], specific: Sequence[Tensor]
) -> tuple[list[Tensor | None], list[Tensor | None]]:
    """:func:`task_jacobian`'s two stages: each task's loss on its own entries into the
    common nodes and on ``specific``, then one pass from the entries batched over the
    tasks. Returns the (T, *shape) stacks on ``shared`` and the summed gradients on
    ``specific``."""
    own: list[Tensor | None] = [None] * len(specific)
    at: list[dict[tuple[Node, int], Tensor]] = []
    one = torch.ones((), dtype=losses.dtype, device=losses.device)
    for root, edges in zip(cut.roots, cut.entries, strict=True):
        r = torch.autograd.grad(
            [GradientEdge(*root)], [GradientEdge(*e) for e in edges] + list(specific), [one],
            retain_graph=True, allow_unused=True,
        )  # fmt: skip
        at.append({e: g for e, g in zip(edges, r, strict=False) if g is not None})
        for k, g in enumerate(r[len(edges) :]):
            if g is not None:
                own[k] = g if own[k] is None else own[k] + g
    stacks: dict[tuple[Node, int], Tensor] = {}
    for e in dict.fromkeys(e for edges in cut.entries for e in edges):
        found = [a[e] for a in at if e in a]
        if found:  # a task that does not reach e contributes zeros
            zero = torch.zeros_like(found[0])
            stacks[e] = torch.stack([a.get(e, zero) for a in at])
    inner = [e for e in stacks if e[0] not in cut.leaves]
    grads: list[Tensor | None] = [None] * len(shared)
    if inner:
        grads = _batched_vjp([GradientEdge(*e) for e in inner], [stacks[e] for e in inner], shared)
    for e, g in stacks.items():
        k = cut.leaves.get(e[0])
        if k is not None:  # an entry straight into a shared parameter's accumulator
            grads[k] = g if grads[k] is None else grads[k] + g
    return grads, own


def task_jacobian(
    losses: Tensor, shared: Sequence[Tensor], specific: Sequence[Tensor]
) -> tuple[Tensor, list[Tensor | None]]:
    """(J, g): J is T×P, the task gradients on ``shared`` flattened into rows; g holds
    the gradient of Σ L_i on each of ``specific`` (None where no task uses it).

    Two stages, as torchjd's ``mtl_backward`` differentiates through a model's shared
    features, but found in the graph, whatever the model: each task's loss is
    differentiated on its own (an ordinary pass through its own nodes: its head) up to
    where its graph enters the nodes the tasks have in common (the shared layers), and
    on ``specific``; then one backward pass from those entries, batched over the tasks,
    gives the shared parameters' gradients. Only the shared layers run batched, and
    only once (a single batched pass over everything would also carry every head T
    times); the numbers are those of differentiating each loss alone. Where no such cut
    exists (:func:`_shared_cut`), one batched pass over the whole graph."""
    n = len(losses)
    cut = _shared_cut(losses, shared) if shared else None
    own: list[Tensor | None] = [None] * len(specific)
    if cut is None:
        grads = per_task_grads(losses, shared)
        if specific:
            own = list(
                torch.autograd.grad(
                    losses.sum(), list(specific), retain_graph=True, allow_unused=True
                )
            )
    else:
        grads, own = _two_stage_grads(losses, cut, shared, specific)
    jacobian = torch.cat(
        [
            g.reshape(n, -1) if g is not None else p.new_zeros(n, p.numel())
            for g, p in zip(grads, shared, strict=True)
        ],
        dim=1,
    )
    return jacobian, own


def accumulate_grad(param: Tensor, grad: Tensor) -> None:
    """Add ``grad`` to ``param.grad`` (a regulariser's backward may add more later)."""
    if param.grad is None:
        param.grad = grad.detach().clone()
    else:
        param.grad.add_(grad.detach())


def write_flat_grad(params: Sequence[Tensor], flat: Tensor) -> None:
    """Split a flat vector over ``params`` (in order) and add it to their ``.grad``."""
    offset = 0
    for p in params:
        n = p.numel()
        accumulate_grad(p, flat[offset : offset + n].view_as(p))
        offset += n


class GradientWeighting(Weighting):
    """Base class of the gradient methods: a torchjd aggregator applied to the task Jacobian.

    Subclasses implement :meth:`make_aggregator`; one that is not Gramian-based
    overrides :meth:`aggregator_weights`; one with an exact two-task form overrides
    :meth:`two_task_weights`.
    """

    mean_scaled: ClassVar[bool] = True  # the aggregator's weights sum to ~1: multiply by T
    uses_global_rng: ClassVar[bool] = False  # the aggregator draws from torch's generator

    def __init__(self, tasks: Sequence[WeightingTask], options: Any = None):
        super().__init__(tasks, options)
        self.aggregator = self.make_aggregator()
        self.closed_form = True  # False: torchjd's solver even where a two-task form exists
        self._weights = RunningMean()
        self._cosine = RunningMean()
        self._grad_norm = RunningMean()
        self._task_grad_norm = RunningMean()

    def make_aggregator(self) -> WeightedAggregator:
        raise NotImplementedError  # pragma: no cover - abstract

    def aggregator_weights(self, jacobian: Tensor, gramian: Tensor) -> Tensor:
        """The aggregator's weights (its own scale) from J (T×P) and its Gramian (T×T, on CPU)."""
        agg = self.aggregator
        assert isinstance(agg, GramianWeightedAggregator)
        return agg.gramian_weighting(gramian)

    def two_task_weights(self, gramians: Tensor) -> tuple[Tensor, Tensor] | None:
        """The aggregator's weights (its own scale) for a stack of 2×2 Gramians (S, 2, 2,
        float64) in closed form, and the rows (S,) where that form applies (torchjd
        answers the others); None: the method has no two-task form."""
        return None

    def torchjd_weights(self, jacobian: Tensor, gramian: Tensor, seed: int, step: int) -> Tensor:
        """:meth:`aggregator_weights`; an aggregator's random draws come from torch's CPU
        generator seeded by (seed, step), which is then restored: the method neither
        disturbs nor depends on the other random streams (dropout)."""
        if not self.uses_global_rng:
            return self.aggregator_weights(jacobian, gramian)
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(
                derive_seed(seed, "weighting", type(self).__name__, step)
            )
            return self.aggregator_weights(jacobian, gramian)

    def batch_weights(self, jacobians: Tensor, gramians: Tensor, seed: int, step: int) -> Tensor:
        """The aggregator's weights (its own scale, float64, on the CPU) for S problems:
        Jacobians (S, T, P) and their Gramians (S, T, T, on the CPU)."""
        found = None
        if self.closed_form and gramians.shape[-1] == 2:
            found = self.two_task_weights(gramians.double())
        if found is not None and bool(found[1].all()):
            return found[0]
        w = gramians.new_zeros(gramians.shape[:2], dtype=torch.float64)
        if found is not None:
            w.copy_(found[0])
        for s in range(len(gramians)):
            if found is None or not found[1][s]:
                w[s] = self.torchjd_weights(jacobians[s], gramians[s], seed, step).double().cpu()
        return w

    def combine_batch(
        self, jacobians: Tensor, *, seed: int = 0, step: int = 0
    ) -> tuple[Tensor, Tensor, Tensor]:
        """(w, d, G) for S independent problems: from the Jacobians (S, T, P), the weights
        (S, T) on this project's scale, the combined gradients d = wᵀJ (S, P) and the
        Gramians (S, T, T, on the CPU). Records nothing (:meth:`combine` does)."""
        with torch.no_grad():
            gramians = (jacobians @ jacobians.mT).cpu()
            w = self.batch_weights(jacobians, gramians, seed, step)
            w = w.to(device=jacobians.device, dtype=jacobians.dtype)
            if self.mean_scaled:
                w = w * jacobians.shape[1]
            d = (w.unsqueeze(1) @ jacobians).squeeze(1)
        return w, d, gramians

    def combine(self, jacobian: Tensor, *, seed: int = 0, step: int = 0) -> tuple[Tensor, Tensor]:
        """(w, d): the weights on the task gradients (on this project's scale) and the
        combined gradient d = wᵀJ; records the step's statistics for :meth:`state`.

        ``seed`` and ``step`` seed the random draws of an aggregator that makes any.
        """
        w, d, gramians = self.combine_batch(jacobian.unsqueeze(0), seed=seed, step=step)
        w, d = w[0], d[0]
        with torch.no_grad():
            self._record(w, gramians[0].to(w.dtype), d)
        return w, d

    def backward(self, losses: Tensor, ctx: StepContext) -> Tensor:
        shared = [p for p in ctx.model.shared_parameters() if p.requires_grad]
        if not shared or len(losses) < 2:
            losses.sum().backward()  # nothing shared, nothing to combine
            w = torch.ones_like(losses.detach())
            self._weights.add(w)
            return w
        specific = [p for p in ctx.model.task_parameters() if p.requires_grad]
        jacobian, specific_grads = task_jacobian(losses, shared, specific)
        w, d = self.combine(jacobian, seed=ctx.model.seed, step=ctx.step)
        write_flat_grad(shared, d)
        for p, g in zip(specific, specific_grads, strict=True):
            if g is not None:
                accumulate_grad(p, g)
        return w.detach().to(losses.dtype)

    def _record(self, w: Tensor, gramian: Tensor, d: Tensor) -> None:
        task_norms = gramian.diagonal().clamp_min(0).sqrt()
        d_norm = d.norm()
        dots = gramian @ w.cpu()  # ⟨d, g_i⟩ = (G w)_i
        self._weights.add(w)
        self._grad_norm.add(d_norm.reshape(1))
        self._task_grad_norm.add(task_norms)
        self._cosine.add(dots / (task_norms * d_norm.cpu()).clamp_min(1e-12))

    def state(self) -> dict[str, Any]:
        """Last-step values and running means: ``weights``, ``cosine`` (of the combined
        gradient with each task's), ``grad_norm`` (of the combined gradient) and
        ``task_grad_norm``, each also as ``mean_*``."""
        out: dict[str, Any] = last_and_mean("weights", self.names, self._weights)
        out.update(last_and_mean("cosine", self.names, self._cosine))
        if self._grad_norm.last is not None and self._grad_norm.mean is not None:
            out["grad_norm"] = float(self._grad_norm.last)
            out["mean_grad_norm"] = float(self._grad_norm.mean)
        if self._task_grad_norm.last is not None:
            out["task_grad_norm"] = per_task(self.names, self._task_grad_norm.last)
        out["steps"] = self._weights.count
        return out


def pref_vector(
    names: Sequence[str], given: dict[str, float], key: str = "weighting.options.pref_vector"
) -> Tensor | None:
    """A torchjd preference vector (summing to 1 at equal preferences) from ``{task: pref}``
    on this project's scale (1 = neutral), or None for torchjd's default (the mean)."""
    if not given:
        return None
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(
            f"{key}: no task named {', '.join(map(repr, unknown))}; "
            f"the tasks are: {', '.join(names)}"
        )
    bad = {k: v for k, v in given.items() if not (0 <= v < float("inf"))}
    if bad:
        raise ValueError(f"{key}: preferences must be finite and >= 0, got {bad}")
    return torch.tensor([float(given.get(n, 1.0)) for n in names]) / len(names)


__all__ = [
    "GradientWeighting",
    "accumulate_grad",
    "pref_vector",
    "task_jacobian",
    "write_flat_grad",
]
