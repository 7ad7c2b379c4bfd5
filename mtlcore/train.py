"""The one training loop, for every sharing strategy and weighting method.

Sampling policy. Tasks that read the same columns of the same rows (a *batch
group*, :attr:`TaskData.batch_group`: tasks of one table whose targets are missing
on the same rows) share one batch per step: the same rows go through the shared
layers once and every task's loss reads them. Tasks with rows of their own (other
tables, a task with missing targets or a ``train_rows`` cap) draw their own. An
epoch is ``ceil(max_g m_g / batch_size)`` steps over the groups' row counts m_g,
and every step draws one batch per group, so the largest group is seen about once
per epoch and smaller ones cycle more often. Each group walks its own seeded
shuffled order (reshuffled when it runs out), seeded by the group's key (table,
inputs, rows) — never by the other tasks: a task's batches are the same whichever
other tasks train beside it, so its single-task baseline sees exactly the batches
the multi-task model saw. The model gets one tensor per group (the same object for
every task of the group) and runs its shared layers once over all the step's
distinct batches (:func:`mtlcore.models.parts.distinct_segments`).

Each step: forward every task's batch, compute each task's loss, let the weighting
method backpropagate them (``weighting.backward`` — one call for loss weights and
gradient methods alike), add the regulariser λR(θ), step the optimiser. Every
``grad_cosine_every`` steps the loop also measures the cosine similarity between
the tasks' gradients on the shared parameters, and every ``affinity_every`` steps
the lookahead task affinity of Fifty et al. 2021 (:func:`lookahead_affinity`).
Both measurements read the step's losses and parameters and leave the training
itself untouched: the same config gives the same numbers with them on or off.
Progress goes to a callback, not to stdout. A non-finite loss stops the run with
:class:`DivergenceError`.

Length and learning rate. A run takes ``train.steps`` optimiser steps, or
``train.epochs`` epochs of ``steps_per_epoch`` steps (:func:`training_steps`); with
``train.steps`` an epoch is still that many steps for reporting, and the last one
may be partial. The learning rate follows ``train.schedule`` after a linear
warm-up (:func:`make_scheduler`), stepped once per optimiser step. Before the
first step the loop reports epoch 0: every task's loss on the whole training and
validation splits of the untrained model, so a curve can be read relative to
where training started.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor
from torch.func import functional_call

from mtlcore.config import ConfigError, TrainConfig
from mtlcore.data.prepare import PreparedData, TaskData
from mtlcore.limits import overtime
from mtlcore.models.base import MultiTaskModel
from mtlcore.seeding import derive_seed, numpy_rng
from mtlcore.weighting.base import LossWeighting, StepContext, Weighting
from mtlcore.weighting.gradient import task_jacobian

# The revision of the training arithmetic: raised by a change that trains other numbers
# from the same config and seed (the optimiser's kernels, the order of a sum), so the
# store's cached single-task baselines (keyed by it) are trained again, not reused.
# 2: fused optimisers (before: foreach).
ARITHMETIC = 2

# On a GPU, training checks that the losses are finite every this many steps (a check
# waits for the GPU); on a CPU, every step.
FINITE_CHECK_EVERY = 25


class DivergenceError(RuntimeError):
    """Training produced NaN or infinity; the message says where and what to try."""


class TimeLimitError(DivergenceError):
    """Training went past the wall-clock cap (``mtlcore.limits.time_limit``).

    A DivergenceError, so whatever reports a run that stopped itself (the CLI's exit
    status 1, the run store's failed run with this message) reports this one alike.
    """


class TrainingCancelled(RuntimeError):
    """The callback asked the loop to stop."""


@dataclass
class TrainEvent:
    """One report from the loop.

    ``kind`` is ``"epoch"`` (``rows``: one history row per task and split; epoch 0,
    before the first step, holds the untrained model's losses),
    ``"grad_cosine"`` (``rows``: one row per pair of tasks), ``"snapshot"``
    (``snapshot``: the shared representation of a fixed sample of validation rows
    and the model's mixing state) or ``"step"`` (progress only, about every 0.2 s).
    """

    kind: Literal["epoch", "grad_cosine", "snapshot", "step"]
    model: str  # "mtl" or "stl"
    epoch: int
    step: int
    total_steps: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    weighting_state: dict[str, Any] = field(default_factory=dict)
    snapshot: Snapshot | None = None
    seed: int = 0  # set by the experiment
    progress: float = 0.0  # fraction of the whole experiment done, set by the experiment
    # what the run is doing, when not training ``model``: "stl-waiting" (for another run
    # training the same baselines), "stl-reused" (replaying cached baselines)
    phase: str | None = None


Callback = Callable[[TrainEvent], Any]


@dataclass
class Snapshot:
    """The shared representation of the same validation rows at one epoch (0 = before training).

    ``truth`` and ``prediction`` are readable: numbers in the target's units
    (regression) or class labels as strings (classification), so a reader needs no
    data preparation to colour the rows.
    """

    epoch: int
    rows: dict[str, np.ndarray]  # task -> positions of the sampled rows in its validation split
    features: dict[str, np.ndarray]  # task -> (rows, dim) float32
    outputs: dict[str, np.ndarray]  # task -> raw model outputs of those rows
    mixing: dict[str, Any]
    truth: dict[str, np.ndarray] = field(default_factory=dict)  # task -> true value per row
    prediction: dict[str, np.ndarray] = field(default_factory=dict)  # task -> decoded output
    # multi-output task -> its target columns, naming the columns of its (rows, k) truth
    targets: dict[str, list[str]] = field(default_factory=dict)


# At most this many snapshots per model and run: 10,000 epochs with a snapshot every
# epoch would otherwise mean 10,000 files (and as many kept in memory for CKA).
MAX_SNAPSHOTS = 50


def snapshot_epochs(epochs: int, every: int, limit: int = MAX_SNAPSHOTS) -> list[int]:
    """The epochs that get a snapshot: every ``every``-th from 0 to ``epochs``, and when
    that is more than ``limit``, ``limit`` of them spread evenly (the first and last kept)."""
    if every <= 0:
        return []
    due = list(range(0, epochs + 1, every))
    if len(due) <= limit:
        return due
    picks = np.linspace(0, len(due) - 1, limit).round().astype(int)
    return [due[i] for i in picks]


def snapshot_rows(data: PreparedData, n: int, seed: int) -> dict[str, np.ndarray]:
    """A fixed, seeded sample of at most n validation rows per task (the same at every epoch)."""
    out = {}
    for t in data.tasks:
        m = t.n_rows("val")
        out[t.name] = np.sort(numpy_rng(seed, "snapshot", t.name).permutation(m)[: min(n, m)])
    return out


@torch.no_grad()
def take_snapshot(
    model, Xv, rows: dict[str, np.ndarray], epoch: int, device, tasks: list[TaskData] | None = None
) -> Snapshot:
    """The model's features and outputs on the sampled validation ``rows``; with ``tasks``,
    also each row's true value and decoded prediction (``Kind.decode``, mtlcore.kinds)."""
    model.eval()
    out = model({k: Xv[k][torch.from_numpy(v).to(device)] for k, v in rows.items()})
    model.train()
    outputs = {k: v.float().cpu().numpy() for k, v in out.outputs.items()}
    by_name = {t.name: t for t in tasks or []}
    return Snapshot(
        epoch,
        rows,
        {k: v.float().cpu().numpy() for k, v in out.features.items()},
        outputs,
        model.mixing_state(),
        truth={
            k: t.kind_rules.decode_targets(t, t.y["val"][rows[k]])
            for k, t in by_name.items()
            if k in rows
        },
        prediction={
            k: t.kind_rules.decode(t, outputs[k]) for k, t in by_name.items() if k in outputs
        },
        targets={k: list(t.targets) for k, t in by_name.items() if t.multi_output},
    )


@dataclass
class TrainOutcome:
    history: list[dict[str, Any]]
    grad_cosine: list[dict[str, Any]]
    steps: int
    seconds: float
    affinity: list[dict[str, Any]] = field(default_factory=list)  # lookahead Z_{i→j} rows
    snapshots: list[Snapshot] = field(default_factory=list)  # also sent to the callback


def resolve_device(device: str) -> torch.device:
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "train.device: 'cuda' was asked for but no CUDA GPU is available here; "
            "use device: auto (the GPU when there is one) or cpu"
        )
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def configure_torch(threads: int) -> None:
    """Pin intra-op threads (2 threads beside a busy process run small models 5-7x slower
    than 1) and flush denormals (they slowed tiny models up to 10x)."""
    torch.set_num_threads(threads)
    torch.set_flush_denormal(True)


def steps_per_epoch(data: PreparedData, batch_size: int) -> int:
    return max(1, math.ceil(max(t.n_rows("train") for t in data.tasks) / batch_size))


def training_steps(cfg: TrainConfig, n_steps_per_epoch: int) -> int:
    """Optimiser steps one training takes: ``train.steps``, else epochs × steps per epoch.

    The one place this is computed, so the loop, the progress and the ETA agree.
    """
    return cfg.steps if cfg.steps is not None else cfg.epochs * n_steps_per_epoch


def make_scheduler(
    optimizer: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """The learning-rate schedule, stepped after every optimiser step; None when the lr
    stays constant (``schedule: none`` without warm-up), so such runs are untouched.

    The k-th of the first W = ``warmup_steps`` steps uses lr·k/W. The D steps after
    it follow ``schedule``: ``cosine`` uses lr·(1 + cos(π·i/D))/2 at its i-th step
    (i from 0; Loshchilov & Hutter 2017, SGDR, without restarts), ``step`` uses
    lr·γ^⌊i/step_every⌋ (γ = ``step_gamma``; ``step_every`` defaults to ⌈D/3⌉), and
    ``none`` keeps lr. Every parameter group is scaled by the same factor of its own
    lr, a weighting method's group (its ``weight_lr``) as well: the weights and the
    model solve one objective, and a warm-up or decay meant for it should not leave
    the weights stepping at full rate.
    """
    sched = torch.optim.lr_scheduler
    warm = cfg.warmup_steps
    decay = max(1, total_steps - warm)
    ramp = sched.LambdaLR(optimizer, lambda i: min(1.0, (i + 1) / warm)) if warm else None
    main: sched.LRScheduler | None = None
    if cfg.schedule == "cosine":
        main = sched.CosineAnnealingLR(optimizer, T_max=decay)
    elif cfg.schedule == "step":
        every = cfg.step_every or math.ceil(decay / 3)
        main = sched.StepLR(optimizer, step_size=every, gamma=cfg.step_gamma)
    if ramp is None or main is None:
        return ramp or main
    return sched.SequentialLR(optimizer, [ramp, main], milestones=[warm])


def initial_weights(weighting: Weighting, losses: Tensor) -> Tensor:
    """Epoch 0's loss weights: what a loss-weighting method would apply to ``losses``
    now, asked of a copy so that no state or random stream moves (RLW draws once);
    1 per task for a gradient method, whose weights need a step's gradients."""
    if not isinstance(weighting, LossWeighting):
        return torch.ones(len(losses))
    with torch.no_grad():
        return copy.deepcopy(weighting).weights(losses).detach().float().cpu()


class BatchStream:
    """A batch group's endless stream of batches: seeded shuffled passes over its training
    rows (``key``: the group's key, see :func:`batch_key`), as index tensors on ``device``.

    Each pass's order is drawn on the CPU and copied to the device once; a batch is a
    slice (a view) of it, so a step copies no indices.
    """

    def __init__(self, n_rows: int, batch_size: int, seed: int, key: str, device=None):
        self.n, self.b = n_rows, min(batch_size, n_rows)
        self.rng = numpy_rng(seed, "batches", key)
        self.device = device or torch.device("cpu")
        self._shuffle()

    def _shuffle(self) -> None:
        self.order, self.pos = torch.from_numpy(self.rng.permutation(self.n)).to(self.device), 0

    def next(self) -> Tensor:
        if self.pos + self.b > self.n:  # a short tail would give a noisy small batch
            self._shuffle()
        idx = self.order[self.pos : self.pos + self.b]
        self.pos += self.b
        return idx


def batch_key(task: TaskData) -> str:
    """The key of the stream ``task`` draws its batches from: its batch group (prepared
    data), else its name."""
    return task.batch_group or task.name


def batch_groups(tasks: list[TaskData]) -> dict[str, list[TaskData]]:
    """Stream key -> the tasks that read its batches, in task order. Tasks share a stream
    only when they hold the very same training array (as prepared data gives them)."""
    groups: dict[str, list[TaskData]] = {}
    for t in tasks:
        key = batch_key(t)
        while key in groups and groups[key][0].X["train"] is not t.X["train"]:
            key += "'"  # same key, other rows: its own stream (the same seeded order)
        groups.setdefault(key, []).append(t)
    return groups


def split_tensors(tasks: list[TaskData], split: str, device: torch.device) -> dict[str, Tensor]:
    """Task -> its ``split`` inputs on ``device``; tasks that share an array share one tensor
    (so the model runs them once)."""
    tensors: dict[int, Tensor] = {}
    for t in tasks:
        a = t.X[split]
        if id(a) not in tensors:
            tensors[id(a)] = torch.from_numpy(a).to(device)
    return {t.name: tensors[id(t.X[split])] for t in tasks}


def task_loss(task: TaskData, out: Tensor, y: Tensor) -> Tensor:
    """The task's mean loss on a batch (its kind's, ``Kind.loss``): a multi-output
    regression task's MSE is the mean over every row and output."""
    return task.kind_rules.loss(out, y)


def make_optimizer(
    params: list, cfg: TrainConfig, extra: list | None = None, extra_lr: float | None = None
):
    groups: list[dict[str, Any]] = [{"params": params}]
    if extra:  # a weighting method's own parameters: never decayed, own lr if it has one
        groups.append({"params": extra, "weight_decay": 0.0})
        if extra_lr is not None:
            groups[-1]["lr"] = extra_lr
    # fused: torch's one-kernel update per parameter, on CPUs and GPUs alike. On the small
    # models trained here the optimiser's Python is a third of a step (bench/RESULTS.md:
    # Adam 0.9 ms a step with foreach, 0.25 ms fused). Its arithmetic differs from the
    # foreach and per-parameter forms in the last bits (~2e-7 on a weight after 500 steps).
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, fused=True)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(groups, lr=cfg.lr, fused=True)
    return torch.optim.AdamW(groups, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)


def regularizer(model: MultiTaskModel, kind: str) -> Tensor | None:
    """R(θ) over the weight matrices (not biases): Σ|θ| for L1, Σθ² for L2."""
    weights = model.weight_matrices()
    if kind == "none" or not weights:
        return None
    if kind == "l1":
        return sum(p.abs().sum() for p in weights)
    return sum(p.pow(2).sum() for p in weights)


def grad_cosine(losses: Tensor, shared: list[torch.nn.Parameter]) -> np.ndarray:
    """(T, T) cosine similarity of the tasks' gradients on the shared parameters."""
    G, _ = task_jacobian(losses, shared, [])
    return jacobian_cosine(G)


def jacobian_cosine(G: Tensor) -> np.ndarray:
    """(T, T) cosines between the rows of a T × P task Jacobian."""
    G = G / G.norm(dim=1, keepdim=True).clamp_min(1e-12)
    return (G @ G.T).cpu().numpy()


@torch.no_grad()
def lookahead_affinity(
    model: MultiTaskModel,
    xs: dict[str, Tensor],
    ys: dict[str, Tensor],
    tasks: list[TaskData],
    G: Tensor,
    shared: list[torch.nn.Parameter],
    lr: float,
    *,
    seed: int,
    base: Tensor | None = None,
) -> np.ndarray:
    """(T, T) lookahead inter-task affinity Z[i, j] = 1 − L_j(θ_s', θ_j) / L_j(θ_s, θ_j),
    θ_s' = θ_s − lr · ∇_{θ_s} L_i (Fifty et al. 2021, "Efficiently Identifying Task
    Groupings for Multi-Task Learning", NeurIPS, eq. 3; a plain SGD lookahead as there).

    ``G`` is the T × P Jacobian of the task losses on ``shared`` (rows in task order,
    parameters flattened in ``shared``'s order); ``xs``/``ys`` the step's batches. The
    lookahead parameters live in a side dict passed through ``functional_call``: the
    model's parameters, their gradients and the optimiser are untouched. Every forward
    pass here runs under a forked RNG reseeded with ``seed``, so dropout draws the same
    masks before and after the lookahead and the training's own RNG stream is not
    advanced. ``base``: the step's own losses, to reuse when the forward pass is
    deterministic (no active dropout), which saves one pass of the T + 1.
    """
    names = {id(p): n for n, p in model.named_parameters(remove_duplicate=False)}
    shared_names = [names[id(p)] for p in shared]
    sizes = [p.numel() for p in shared]
    device = G.device
    fork = [device.index or 0] if device.type == "cuda" else []

    def losses(params: dict[str, Tensor] | None) -> Tensor:
        torch.manual_seed(seed)
        out = functional_call(model, params, (xs,)) if params else model(xs)
        return torch.stack([task_loss(t, out.outputs[t.name], ys[t.name]) for t in tasks])

    with torch.random.fork_rng(devices=fork, device_type=device.type):
        base = (losses(None) if base is None else base.detach()).clamp_min(1e-12)
        rows = []
        for i in range(len(tasks)):
            step = G[i].split(sizes)
            moved = {n: p - lr * g.view_as(p) for n, p, g in zip(shared_names, shared, step,
                                                                   strict=True)}  # fmt: skip
            rows.append(1.0 - losses(moved) / base)
    return torch.stack(rows).cpu().numpy()


def train(
    model: MultiTaskModel,
    weighting: Weighting,
    data: PreparedData,
    cfg: TrainConfig,
    *,
    seed: int,
    label: str = "mtl",
    callback: Callback | None = None,
    n_steps_per_epoch: int | None = None,
    device: torch.device | None = None,
) -> TrainOutcome:
    """Train ``model`` on every task of ``data``; report to ``callback``; return the history.

    A callback that returns ``False`` (or raises :class:`TrainingCancelled`) stops the run.
    """
    device = device or resolve_device(cfg.device)
    configure_torch(cfg.threads)
    torch.manual_seed(derive_seed(seed, "train", label))  # dropout masks
    model.to(device).train()
    weighting.to(device)
    tasks = data.tasks
    X = split_tensors(tasks, "train", device)
    Y = {t.name: torch.from_numpy(t.y["train"]).to(device) for t in tasks}
    Xv = split_tensors(tasks, "val", device)
    Yv = {t.name: torch.from_numpy(t.y["val"]).to(device) for t in tasks}
    groups = batch_groups(tasks)
    group_of = {t.name: g for g, members in groups.items() for t in members}
    streams = {
        g: BatchStream(
            members[0].n_rows("train"), cfg.batch_size, seed, batch_key(members[0]), device
        )
        for g, members in groups.items()
    }
    optimizer = make_optimizer(
        list(model.parameters()), cfg, list(weighting.parameters()), weighting.parameter_lr()
    )
    shared = model.shared_parameters()
    spe = n_steps_per_epoch or steps_per_epoch(data, cfg.batch_size)
    total = training_steps(cfg, spe)
    scheduler = make_scheduler(optimizer, cfg, total)
    measure_cosine = cfg.grad_cosine_every > 0 and len(tasks) > 1 and bool(shared)
    measure_affinity = cfg.affinity_every > 0 and len(tasks) > 1 and bool(shared)
    check_every = 1 if device.type == "cpu" else FINITE_CHECK_EVERY
    stochastic = any(isinstance(m, torch.nn.Dropout) and m.p > 0 for m in model.modules())

    def emit(event: TrainEvent) -> None:
        if callback is not None and callback(event) is False:
            raise TrainingCancelled(f"{label} training was cancelled at step {event.step}")

    history: list[dict[str, Any]] = []
    cosines: list[dict[str, Any]] = []
    affinities: list[dict[str, Any]] = []
    snapshots: list[Snapshot] = []
    snap_rows = snapshot_rows(data, cfg.snapshot_rows, seed) if cfg.snapshot_every else None
    snap_at = set(snapshot_epochs(math.ceil(total / spe), cfg.snapshot_every))

    def snapshot(epoch: int) -> None:
        if snap_rows is not None and epoch in snap_at:
            snap = take_snapshot(model, Xv, snap_rows, epoch, device, tasks)
            snapshots.append(snap)
            emit(TrainEvent("snapshot", label, epoch, step, total, snapshot=snap))

    step = 0
    snapshot(0)
    # Epoch 0: the untrained model on the whole splits (eval mode: no dropout, no update).
    lr = optimizer.param_groups[0]["lr"]  # the model's: the lr of the step about to run
    start = _split_losses(model, tasks, X, Y)
    rows = _epoch_rows(model, data, Xv, Yv, start.cpu(), initial_weights(weighting, start), 0,
                       label, lr)  # fmt: skip
    history.extend(rows)
    emit(TrainEvent("epoch", label, 0, 0, total, rows, weighting.state()))
    started = last_report = time.perf_counter()
    for epoch in range(1, math.ceil(total / spe) + 1):
        n = min(spe, total - step)  # with train.steps the last epoch may be partial
        sums = torch.zeros(len(tasks), device=device)
        weight_sums = torch.zeros(len(tasks), device=device)
        for i in range(n):
            step += 1
            stop = overtime(lambda e=epoch, s=step: f"epoch {e}, step {s} of the {_what(label)}")
            if stop is not None:
                raise TimeLimitError(stop)
            lr = optimizer.param_groups[0]["lr"]  # the model's lr for this step
            # One batch per group: every task of a group gets the same tensor object.
            idx = {g: st.next() for g, st in streams.items()}
            xg = {g: X[members[0].name][idx[g]] for g, members in groups.items()}
            xs = {t.name: xg[group_of[t.name]] for t in tasks}
            ys = {t.name: Y[t.name][idx[group_of[t.name]]] for t in tasks}
            out = model(xs)
            losses = torch.stack([task_loss(t, out.outputs[t.name], ys[t.name]) for t in tasks])
            sums += losses.detach()
            # Losses are never negative, so a non-finite one stays in the epoch's sums: one
            # check every `check_every` steps finds it (each check syncs a GPU).
            if (step % check_every == 0 or i == n - 1) and not bool(torch.isfinite(sums).all()):
                _diverged(data, sums, epoch, step, cfg, label, check_every)
            due_cosine = measure_cosine and (step - 1) % cfg.grad_cosine_every == 0
            due_affinity = measure_affinity and (step - 1) % cfg.affinity_every == 0
            if due_cosine or due_affinity:  # one Jacobian serves both measurements
                G, _ = task_jacobian(losses, shared, [])
            if due_affinity:
                Z = lookahead_affinity(model, xs, ys, tasks, G, shared, lr,
                                       seed=derive_seed(seed, "affinity", step),
                                       base=None if stochastic else losses)  # fmt: skip
                affinities.extend(_affinity_rows(Z, tasks, epoch, step, label))
            if due_cosine:
                rows = _cosine_rows(jacobian_cosine(G), tasks, epoch, step, label)
                cosines.extend(rows)
                emit(TrainEvent("grad_cosine", label, epoch, step, total, rows))

            optimizer.zero_grad(set_to_none=True)
            weights = weighting.backward(losses, StepContext(model, step, epoch))
            extra = _extra_loss(model, cfg)
            if extra is not None:
                extra.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            weight_sums += weights.to(device)
            now = time.perf_counter()
            if now - last_report > 0.2:
                last_report = now
                emit(TrainEvent("step", label, epoch, step, total))

        train_loss = (sums / n).cpu()
        weighting.epoch_end(epoch, train_loss)  # never for epoch 0: no step has been taken
        rows = _epoch_rows(model, data, Xv, Yv, train_loss, (weight_sums / n).cpu(), epoch, label,
                           lr)  # fmt: skip
        history.extend(rows)
        emit(TrainEvent("epoch", label, epoch, step, total, rows, weighting.state()))
        snapshot(epoch)
    return TrainOutcome(
        history, cosines, step, time.perf_counter() - started, affinities, snapshots
    )


def _extra_loss(model: MultiTaskModel, cfg: TrainConfig) -> Tensor | None:
    terms = []
    if cfg.regularization != "none" and cfg.reg_lambda > 0:
        r = regularizer(model, cfg.regularization)
        if r is not None:
            terms.append(cfg.reg_lambda * r)
    penalty = model.penalty()
    if penalty is not None:
        terms.append(penalty)
    return sum(terms) if terms else None


@torch.no_grad()
def _split_losses(model: MultiTaskModel, tasks: list[TaskData], X, Y) -> Tensor:
    """Each task's mean loss over every row of a split, in eval mode."""
    model.eval()
    out = model(X)
    model.train()
    return torch.stack([task_loss(t, out.outputs[t.name], Y[t.name]) for t in tasks])


@torch.no_grad()
def _epoch_rows(
    model, data, Xv, Yv, train_loss, weights, epoch, label, lr: float
) -> list[dict[str, Any]]:
    """A history row per task and split; ``lr`` (the model's learning rate at the epoch's
    last step, epoch 0: its first) goes on the train rows."""
    model.eval()
    out = model(Xv)
    model.train()
    rows = []
    for i, t in enumerate(data.tasks):
        val_loss = float(task_loss(t, out.outputs[t.name], Yv[t.name]))
        metric = t.kind_rules.primary_metric
        value = t.kind_rules.tensor_metric(t, out.outputs[t.name].float(), Yv[t.name], metric)
        base = {"model": label, "epoch": epoch, "task": t.name, "weight": float(weights[i])}
        rows.append({**base, "split": "train", "loss": float(train_loss[i]), "lr": lr})
        rows.append({**base, "split": "val", "loss": val_loss, metric: value})
    return rows


def _cosine_rows(matrix: np.ndarray, tasks, epoch: int, step: int, label: str):
    return [
        {"model": label, "epoch": epoch, "step": step, "task_a": a.name, "task_b": b.name,
         "cosine": float(matrix[i, j])}
        for i, a in enumerate(tasks) for j, b in enumerate(tasks) if i < j
    ]  # fmt: skip


def _affinity_rows(matrix: np.ndarray, tasks, epoch: int, step: int, label: str):
    return [
        {"model": label, "epoch": epoch, "step": step, "source": a.name, "target": b.name,
         "affinity": float(matrix[i, j])}
        for i, a in enumerate(tasks) for j, b in enumerate(tasks)
    ]  # fmt: skip


def _what(label: str) -> str:
    """A training's label in words: "multi-task model", "single-task baselines", ..."""
    return {"mtl": "multi-task model", "stl": "single-task baselines"}.get(label, f"{label} model")


def _diverged(
    data, losses: Tensor, epoch: int, step: int, cfg: TrainConfig, label: str, every: int = 1
):
    bad = [t.name for t, v in zip(data.tasks, losses.tolist(), strict=True) if not math.isfinite(v)]
    what = "multi-task" if label == "mtl" else "single-task baseline"
    when = f"step {step}" if every == 1 else f"one of the {every} steps up to step {step}"
    raise DivergenceError(
        f"The {what} run diverged at epoch {epoch}, {when}: the loss of "
        f"{', '.join(repr(b) for b in bad)} became NaN or infinite. Lower the learning "
        f"rate (train.lr is {cfg.lr:g}), use Adam instead of SGD, or standardise the targets "
        "(data.standardize_targets: true)."
    )
