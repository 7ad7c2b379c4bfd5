"""Lesson 6's study: learning a held-out task from k examples (learning to learn).

The ``synthetic`` dataset (after Ma et al., KDD 2018) gives one *held-out* task,
task 0, and ``n_train_tasks`` training tasks; each training task i has the target
``r·h_0 + √(1 − r²)·h_i`` with r = ``relatedness``, so it carries a share r of the
held-out task's signal ``h_0`` (see :func:`mtlcore.data.builtin.load_synthetic`).
Per seed, with k examples of the held-out task drawn from its training rows:

- ``frozen`` — multi-task pre-training, then a new head on a frozen representation
  (Caruana 1997, "Multitask Learning"; Baxter 2000, "A Model of Inductive Bias
  Learning"): a hard-sharing network is trained on the training tasks with the
  project's own loop (:func:`mtlcore.train.train`); the held-out task's head is a
  ridge regression on its trunk features, in closed form. Closed form because it is
  exact and has no learning rate or step count to tune for each k; the penalty is
  chosen by leave-one-out error on the k examples themselves (a closed form too,
  Hastie et al., *The Elements of Statistical Learning*, eq. 7.52), so no test or
  validation row is looked at.
- ``scratch`` — the same network (same layers, same initialisation scheme) trained
  from random weights on the k examples alone: full-batch Adam for a fixed number of
  steps (no early stopping: with k examples there are no rows to stop on).
- ``reptile`` — first-order meta-learning (Nichol, Achiam & Schulman 2018, "On
  First-Order Meta-Learning Algorithms", Algorithm 2, the batched version): the same
  network is meta-trained over the training tasks, each iteration running a few
  SGD steps on every task's mini-batches from the current weights φ (giving W_i) and
  moving φ ← φ + ε·mean_i(W_i − φ), ε annealed linearly to 0; then adapted to the k
  examples by SGD steps from φ, as in the paper's sine-wave experiment.

The networks trained on k examples (scratch, Reptile's adaptation) are stepped side
by side as one :class:`StackedNetworks` (every k and draw at once): the same numbers
as one at a time, a fraction of the Python overhead.

Each method is scored by the RMSE of the held-out task on its whole test split, in
units of its target's standard deviation over the training rows (the data are
prepared with standardised targets; predicting the training mean scores about 1).
``draws`` different sets of k examples are averaged per seed; the spread over seeds
is what the page draws as a band.

    >>> result = run(FewShotOptions(seeds=[0], ks=[5], draws=1, pretrain_epochs=2,
    ...                             reptile_iterations=20))  # doctest: +SKIP
    >>> [s["method"] for s in result["summary"]]  # doctest: +SKIP
    ['frozen', 'scratch', 'reptile']
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from mtlcore.config import ExperimentConfig
from mtlcore.data.prepare import PreparedData, TaskData
from mtlcore.experiment import build, prepare_data
from mtlcore.lessons.learning_to_learn import METHODS, FewShotOptions
from mtlcore.models import Architecture, ModelTask, MultiTaskModel, build_model
from mtlcore.seeding import derive_seed, numpy_rng
from mtlcore.train import configure_torch, train

METHOD_LABELS = {
    "frozen": "Multi-task pre-training, frozen representation + new head",
    "scratch": "From scratch on the k examples",
    "reptile": "Reptile meta-learning, then adapted",
}
HELD_OUT = "task0"
HIDDEN = (32, 16)  # the network of every method: inputs -> 32 -> 16 -> 1
RIDGE_LAMBDAS = tuple(10.0 ** np.arange(-3, 4))  # leave-one-out picks one of these
RIDGE_DEFAULT = 1.0  # the penalty when k is too small for leave-one-out (k < 3)


def experiment_config(o: FewShotOptions, seed: int) -> ExperimentConfig:
    """The pre-training experiment of one seed: every task of the synthetic data, hard sharing."""
    return ExperimentConfig.parse(
        {
            "name": "lesson6-pretrain",
            "data": {
                "builtin": "synthetic",
                "options": {
                    "n_tasks": o.n_train_tasks + 1,
                    "relatedness": o.relatedness,
                    "noise": o.noise,
                    "n_rows": o.n_rows,
                    "n_features": o.n_features,
                    "seed": seed,
                },
            },
            "model": {"strategy": "hard", "hidden": list(HIDDEN)},
            "weighting": {"method": "equal"},
            "train": {
                "optimizer": "adam",
                "lr": 0.01,
                "epochs": o.pretrain_epochs,
                "batch_size": 64,
                "grad_cosine_every": 0,
                "affinity_every": 0,
                "device": "cpu",
                "threads": 1,
            },
            "baselines": False,
            "seeds": [seed],
        },  # fmt: skip
        source="lesson few-shot",
    )


# --- the three ways to learn from k examples -------------------------------------


def trunk_features(model: MultiTaskModel, x: Tensor) -> Tensor:
    """A hard-sharing model's shared representation of ``x`` (any task's columns)."""
    (group,) = model.group_keys.values()  # every synthetic task reads the same columns
    with torch.no_grad():
        return model.trunk(model.encoders[group](x))


def ridge_loo(phi: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Ridge regression of ``y`` on ``[phi, 1]`` with the penalty of least leave-one-out error.

    Every coefficient, the intercept too, is shrunk towards 0: targets are in standard
    units, so 0 is the natural guess. The leave-one-out residual of a linear smoother
    is ``e_i / (1 − H_ii)`` (Hastie et al., ESL eq. 7.52), so choosing the penalty costs
    one solve per candidate. With fewer than 3 examples :data:`RIDGE_DEFAULT` is used.
    Returns (coefficients with the intercept last, the penalty).
    """
    A = np.hstack([phi, np.ones((len(phi), 1))])
    k = len(y)

    def solve(lam: float) -> tuple[np.ndarray, np.ndarray]:
        # Dual form: a k × k system, cheaper than the feature-space one while k is small.
        G = A @ A.T
        alpha = np.linalg.solve(G + lam * np.eye(k), y)
        H = G @ np.linalg.inv(G + lam * np.eye(k))
        return A.T @ alpha, H

    if k < 3:
        return solve(RIDGE_DEFAULT)[0], RIDGE_DEFAULT
    best: tuple[float, float, np.ndarray] | None = None
    for lam in RIDGE_LAMBDAS:
        w, H = solve(float(lam))
        resid = (y - A @ w) / np.clip(1.0 - np.diag(H), 1e-9, None)
        err = float(np.mean(resid**2))
        if best is None or err < best[0]:
            best = (err, float(lam), w)
    assert best is not None
    return best[2], best[1]


def single_network(task: TaskData, seed: int) -> MultiTaskModel:
    """A fresh network of the held-out task alone: the pre-trained model's shape."""
    arch = Architecture(HIDDEN, (), "relu", 0.0)
    return build_model(
        "hard", [ModelTask(task.name, task.input_group, task.X["train"].shape[1], 1)], arch, seed
    )


class StackedNetworks(nn.Module):
    """B copies of one ReLU network evaluated side by side, each with its own weights.

    Built from B single-task networks (their ``nn.Linear`` layers in order, stacked), so
    each copy starts exactly as its network would. Member b reads ``x[b]``; the loss is a
    sum over members, so every member's gradient is its own and Adam (elementwise) or
    SGD steps it exactly as if it trained alone — one batched step instead of B.
    """

    def __init__(self, networks: list[nn.Module]):
        super().__init__()
        layers = [[m for m in net.modules() if isinstance(m, nn.Linear)] for net in networks]
        self.weights = nn.ParameterList(
            nn.Parameter(torch.stack([ls[i].weight.detach().mT for ls in layers]).clone())
            for i in range(len(layers[0]))
        )  # (B, in, out) per layer
        self.biases = nn.ParameterList(
            nn.Parameter(torch.stack([ls[i].bias.detach() for ls in layers])[:, None].clone())
            for i in range(len(layers[0]))
        )  # (B, 1, out) per layer

    def forward(self, x: Tensor) -> Tensor:
        """(B, rows, inputs) -> (B, rows) outputs."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu(x)
        return x.squeeze(-1)


def padded(x: np.ndarray, y: np.ndarray, index_sets: list[np.ndarray]) -> tuple[Tensor, ...]:
    """Member b's rows ``index_sets[b]``, padded to the longest: (x, y, mask), mask 1/k_b."""
    n = max(len(i) for i in index_sets)
    xs = np.zeros((len(index_sets), n, x.shape[1]), np.float32)
    ys = np.zeros((len(index_sets), n), np.float32)
    mask = np.zeros((len(index_sets), n), np.float32)
    for b, idx in enumerate(index_sets):
        xs[b, : len(idx)], ys[b, : len(idx)], mask[b, : len(idx)] = x[idx], y[idx], 1 / len(idx)
    return torch.from_numpy(xs), torch.from_numpy(ys), torch.from_numpy(mask)


def fit_stacked(
    nets: StackedNetworks, batch: tuple[Tensor, ...], steps: int, optimizer: torch.optim.Optimizer
) -> None:
    """``steps`` full-batch steps; member b minimises the mean squared error on its rows."""
    x, y, mask = batch
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loss = (mask * (nets(x) - y) ** 2).sum()
        loss.backward()
        optimizer.step()


def member_rmse(nets: StackedNetworks, x_test: Tensor, y_test: np.ndarray) -> list[float]:
    """Each member's RMSE on the test rows."""
    with torch.no_grad():
        pred = nets(x_test.expand(len(nets.weights[0]), -1, -1)).double().numpy()
    return [rmse(p, y_test) for p in pred]


def meta_train_reptile(data: PreparedData, o: FewShotOptions, seed: int) -> StackedNetworks:
    """Reptile (Nichol et al. 2018, Algorithm 2, the batched version) over the training tasks.

    One network with one output, φ, is meta-trained: each iteration every training task
    runs ``reptile_inner_steps`` plain SGD steps on its own mini-batches, starting from
    φ (giving W_i), and φ moves a fraction ε of the way to their mean:
    φ ← φ + ε · mean_i(W_i − φ). ε falls linearly from ``reptile_outer_step`` to 0, as in
    the paper's sine-wave experiment. Returns φ as a one-member stack.
    """
    held = data.task(HELD_OUT)
    tasks = [t for t in data.tasks if t.name != HELD_OUT]
    meta = StackedNetworks([single_network(held, derive_seed(seed, "reptile"))])
    inner = StackedNetworks([single_network(held, 0) for _ in tasks])
    rng = numpy_rng(seed, "reptile", "batches")
    X = [torch.from_numpy(t.X["train"]) for t in tasks]
    Y = [torch.from_numpy(t.y["train"]) for t in tasks]
    n_rows = min(len(y) for y in Y)
    params, meta_params = list(inner.parameters()), list(meta.parameters())
    for it in range(o.reptile_iterations):
        with torch.no_grad():
            for p, q in zip(params, meta_params, strict=True):
                p.copy_(q.expand_as(p))
        for _ in range(o.reptile_inner_steps):
            idx = [torch.from_numpy(rng.choice(n_rows, o.reptile_inner_batch, replace=False))
                   for _ in tasks]  # fmt: skip
            x = torch.stack([X[i][j] for i, j in enumerate(idx)])
            y = torch.stack([Y[i][j] for i, j in enumerate(idx)])
            loss = ((inner(x) - y) ** 2).mean(dim=1).sum()
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g in zip(params, grads, strict=True):
                    p -= o.reptile_inner_lr * g
        eps = o.reptile_outer_step * (1.0 - it / o.reptile_iterations)
        with torch.no_grad():
            for q, p in zip(meta_params, params, strict=True):
                q += eps * (p.mean(dim=0, keepdim=True) - q)
    return meta


def rmse(pred: np.ndarray, y: np.ndarray) -> float:
    return float(math.sqrt(np.mean((pred - y) ** 2)))


def run_seed(o: FewShotOptions, seed: int) -> tuple[list[dict[str, Any]], float]:
    """Every method at every k for one seed: rows of (method, k, seed, rmse, rmse per draw),
    and the trivial RMSE (predicting the training mean, 0 in standard units)."""
    config = experiment_config(o, seed)
    data = prepare_data(config)
    held = data.task(HELD_OUT)
    others = PreparedData(data.dataset, [t for t in data.tasks if t.name != HELD_OUT])
    x_pool, y_pool = held.X["train"], held.y["train"]
    x_test = torch.from_numpy(held.X["test"])
    y_test = held.y["test"].astype(np.float64)
    draws = {
        k: [numpy_rng(seed, "examples", k, d).choice(len(y_pool), k, replace=False)
            for d in range(o.draws)]
        for k in o.ks
    }  # fmt: skip

    results: dict[str, dict[int, list[float]]] = {m: {k: [] for k in o.ks} for m in o.methods}
    if "frozen" in o.methods:
        model, weighting = build(config, others, seed)
        train(model, weighting, others, config.train, seed=seed, label="pretrain")
        model.eval()
        phi_pool = trunk_features(model, torch.from_numpy(x_pool)).double().numpy()
        phi_test = trunk_features(model, x_test).double().numpy()
        # Features in standard units over the pre-training rows (no held-out label used).
        mu, sd = phi_pool.mean(0), phi_pool.std(0) + 1e-6
        phi_pool, phi_test = (phi_pool - mu) / sd, (phi_test - mu) / sd
        a_test = np.hstack([phi_test, np.ones((len(phi_test), 1))])
        for k, sets in draws.items():
            for idx in sets:
                w, _ = ridge_loo(phi_pool[idx], y_pool[idx].astype(np.float64))
                results["frozen"][k].append(rmse(a_test @ w, y_test))
    index_sets = [idx for sets in draws.values() for idx in sets]  # k-major, then draws
    batch = padded(x_pool, y_pool, index_sets)
    keys = [k for k, sets in draws.items() for _ in sets]
    if "scratch" in o.methods:
        nets = StackedNetworks([single_network(held, derive_seed(seed, "scratch", k, d))
                                for k, sets in draws.items() for d in range(len(sets))])  # fmt: skip
        fit_stacked(nets, batch, o.scratch_steps, torch.optim.Adam(nets.parameters(), o.scratch_lr))
        for k, value in zip(keys, member_rmse(nets, x_test, y_test), strict=True):
            results["scratch"][k].append(value)
    if "reptile" in o.methods:
        meta = meta_train_reptile(data, o, seed)
        nets = StackedNetworks([single_network(held, 0) for _ in index_sets])
        with torch.no_grad():
            for p, q in zip(nets.parameters(), meta.parameters(), strict=True):
                p.copy_(q.expand_as(p))
        opt = torch.optim.SGD(nets.parameters(), lr=o.reptile_inner_lr)
        fit_stacked(nets, batch, o.reptile_adapt_steps, opt)
        for k, value in zip(keys, member_rmse(nets, x_test, y_test), strict=True):
            results["reptile"][k].append(value)
    rows = [
        {"method": m, "k": k, "seed": seed, "rmse": float(np.mean(v)), "draws": v}
        for m, per_k in results.items()
        for k, v in per_k.items()
    ]
    return rows, rmse(np.zeros_like(y_test), y_test)


def summarize(rows: list[dict[str, Any]], methods: list[str], ks: list[int]) -> list[dict]:
    """Per method and k: mean, standard deviation (n − 1; 0 with one seed), min and max
    over seeds of the per-seed RMSE."""
    out = []
    for m in methods:
        for k in ks:
            v = np.array([r["rmse"] for r in rows if r["method"] == m and r["k"] == k])
            out.append({
                "method": m, "k": k, "mean": float(v.mean()),
                "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
                "min": float(v.min()), "max": float(v.max()), "n_seeds": len(v),
            })  # fmt: skip
    return out


def run(options: FewShotOptions) -> dict[str, Any]:
    """The study: held-out-task test RMSE against k for each method, per seed and summarised.

    Returns a JSON-safe dict: ``options``, ``ks``, ``methods``, ``labels`` (method ->
    text), ``rows`` (one per method, k and seed: ``rmse`` averaged over the draws of k
    examples, and the per-draw values), ``summary`` (per method and k over seeds), ``trivial``
    (the mean over seeds of the RMSE of predicting the training mean) and ``seconds``.
    """
    configure_torch(1)
    started = time.perf_counter()
    methods = [m for m in METHODS if m in options.methods]
    ks = sorted(set(options.ks))
    o = options.model_copy(update={"methods": methods, "ks": ks})
    per_seed = [run_seed(o, seed) for seed in o.seeds]
    rows = [row for seed_rows, _ in per_seed for row in seed_rows]
    return {
        "options": o.model_dump(),
        "ks": ks,
        "methods": methods,
        "labels": {m: METHOD_LABELS[m] for m in methods},
        "rows": rows,
        "summary": summarize(rows, methods, ks),
        "trivial": float(np.mean([trivial for _, trivial in per_seed])),
        "seconds": round(time.perf_counter() - started, 2),
    }


__all__ = ["METHODS", "FewShotOptions", "run"]
