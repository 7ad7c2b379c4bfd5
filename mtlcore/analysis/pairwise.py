"""Pairwise transfer: the gain each task gets from each partner, every pair trained.

For T ≤ 5 tasks (``train.pairwise: true``), every pair {i, j} trains as its own
two-task model (the config's strategy, weighting, optimiser, epochs, seed and steps
per epoch), and each task's test metric is compared with its single-task baseline:
``gain[i][j]`` is the relative gain in percent of task i trained beside partner j,
signed so that positive means the partner helped (the per-task gain of Maninis et
al. 2019, as Δm uses it). This is the exhaustive measurement that the lookahead
affinity of Fifty et al. 2021 (TAG, NeurIPS) approximates from one run; Standley
et al. 2020 ("Which Tasks Should Be Learned Together in Multi-task Learning?",
ICML) train every pair the same way.

The pairs are a grid of the sweep machinery (:func:`mtlcore.sweep.pairs_grid`): one
cell per pair, a ``tasks`` axis over the experiment's tasks, each cell a config the
loader validated (per-task options such as static weights cut to the pair,
measurements off). A sweep file with the same ``tasks`` axis trains the same models
and gives the same gains for the same seeds (``tests/test_pairwise_grid.py``). Here
the cells run in the experiment's own process, on its prepared data cut to the pair
(the same rows, preprocessing and steps per epoch), one after another.

Baselines are trained once per seed and reused by every cell: every component is
seeded by its own name and a task's batches do not depend on the other tasks (see
``mtlcore/train.py``), so a task's single-task network is the same whichever
partner it is compared against — the experiment's own baselines when
``baselines: true``. (A sweep file over pairs puts each pair in a baseline group of
its own and trains its baselines again; the same numbers when the pair's own data
preparation equals the experiment's, see ``docs/sweeps.md``.) With two tasks the one pair
*is* the multi-task model, so nothing extra trains. The statistics need no torch;
:func:`train_pairwise` imports the training machinery when called.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from mtlcore.analysis.seeds import mean_std_cells
from mtlcore.metrics import HIGHER_IS_BETTER, relative_gain

MAX_PAIRWISE_TASKS = 5

Metrics = dict[str, dict[str, float]]  # task -> metric name -> value


@dataclass
class PairwiseSeed:
    """One seed's pair trainings: each pair's test metrics per task, and the baselines."""

    seed: int
    stl: Metrics
    pairs: dict[tuple[str, str], Metrics]
    trainings: int  # models trained for the matrix alone (pairs, and baselines if not reused)
    seconds: float


def pair_names(tasks: Sequence[str]) -> list[tuple[str, str]]:
    """Every unordered pair of tasks, in config order."""
    return list(combinations(tasks, 2))


def pairwise_trainings(n_tasks: int, baselines: bool) -> int:
    """How many models :func:`train_pairwise` trains per seed (for progress and tests)."""
    if n_tasks < 2:
        return 0
    return (len(pair_names(range(n_tasks))) if n_tasks > 2 else 0) + (0 if baselines else 1)


def check_pairwise(n_tasks: int) -> None:
    """Raise ValueError naming ``train.pairwise`` when the experiment has too many tasks."""
    if n_tasks > MAX_PAIRWISE_TASKS:
        raise ValueError(
            f"train.pairwise: trains every pair of tasks, so it allows at most "
            f"{MAX_PAIRWISE_TASKS} tasks ({MAX_PAIRWISE_TASKS * (MAX_PAIRWISE_TASKS - 1) // 2} "
            f"pairs); this experiment has {n_tasks}. Choose fewer tasks or turn it off; "
            "train.affinity_every estimates the same from one run."
        )


def gain_matrix(
    tasks: Sequence[str], metric: Mapping[str, str], seed_run: PairwiseSeed
) -> np.ndarray:
    """T × T relative gains (%) of one seed: row = the task, column = its partner; NaN diagonal."""
    n = len(tasks)
    out = np.full((n, n), np.nan)
    for (a, b), metrics in seed_run.pairs.items():
        for task, partner in ((a, b), (b, a)):
            m = metric[task]
            out[tasks.index(task), tasks.index(partner)] = relative_gain(
                metrics[task][m], seed_run.stl[task][m], HIGHER_IS_BETTER[m]
            )
    return out


def pairwise_summary(
    tasks: Sequence[str], metric: Mapping[str, str], seeds: Sequence[PairwiseSeed]
) -> dict[str, Any] | None:
    """What ``result.json`` holds under ``pairwise``: mean (and std over seeds) gain matrix,
    the metric values behind it (diagonal: the single-task baseline), and the cost."""
    if not seeds:
        return None
    tasks = list(tasks)
    gains = np.stack([gain_matrix(tasks, metric, s) for s in seeds])
    values = np.full((len(seeds), len(tasks), len(tasks)), np.nan)
    for k, s in enumerate(seeds):
        for i, t in enumerate(tasks):
            values[k, i, i] = s.stl[t][metric[t]]
        for (a, b), m in s.pairs.items():
            ia, ib = tasks.index(a), tasks.index(b)
            values[k, ia, ib] = m[a][metric[a]]
            values[k, ib, ia] = m[b][metric[b]]
    mean, std = mean_std_cells(gains)  # the diagonal has no gain: NaN
    value, _ = mean_std_cells(values)
    return {
        "tasks": tasks,
        "metric": dict(metric),
        "gain": json_matrix(mean),
        "gain_std": json_matrix(std),
        "value": json_matrix(value),
        "trainings": int(sum(s.trainings for s in seeds)),
        "seconds": float(sum(s.seconds for s in seeds)),
    }


def train_pairwise(
    config: Any,
    data: Any,
    seed: int,
    *,
    mtl_metrics: Metrics,
    stl_metrics: Metrics | None,
    device: Any,
    n_steps_per_epoch: int,
    callback: Callable[[Any], Any] | None = None,
) -> PairwiseSeed:
    """Train every pair of ``data``'s tasks for one seed and test each model.

    ``stl_metrics``: the experiment's baselines of this seed (reused), or None to train
    them here once. ``mtl_metrics``: the full multi-task model's, reused when there are
    exactly two tasks. Progress goes to ``callback`` as ``step`` events of model
    ``"pairs"`` whose ``step`` counts on over all pair trainings of the seed (so the
    stored run's curves only ever hold the real models' rows).
    """
    from mtlcore.data.prepare import PreparedData
    from mtlcore.evaluate import evaluate
    from mtlcore.experiment import build, build_baselines
    from mtlcore.sweep import PAIRS_MEASUREMENTS_OFF, cell_task_names, pairs_grid
    from mtlcore.train import train

    started = time.perf_counter()
    names = [t.name for t in data.tasks]
    offset = 0

    def relay(event: Any) -> Any:
        if callback is None:
            return None
        return callback(dataclasses.replace(
            event, kind="step", model="pairs", step=offset + event.step, rows=[],
            weighting_state={}, snapshot=None,
        ))  # fmt: skip

    def fit(model: Any, weighting: Any, sub: Any, cfg: Any, label: str) -> Metrics:
        nonlocal offset
        out = train(model, weighting, sub, cfg, seed=seed, label=label, callback=relay,
                    n_steps_per_epoch=n_steps_per_epoch, device=device)  # fmt: skip
        offset += out.steps
        return evaluate(model, sub, device, label)[0]

    grid = pairs_grid(config, names, check_task_names=False)  # names: the data's own
    trainings = 0
    if stl_metrics is None:
        cfg = config.train.model_copy(update=PAIRS_MEASUREMENTS_OFF)
        stl_metrics = fit(*build_baselines(config, data, seed), data, cfg, "stl")
        trainings += 1
    pairs: dict[tuple[str, str], Metrics] = {}
    for cell in grid.cells:
        a, b = cell_task_names(cell)
        pair = (a, b)
        if len(names) == 2:
            pairs[pair] = {a: mtl_metrics[a], b: mtl_metrics[b]}
            continue
        # The experiment's own prepared data, cut to the pair: the same rows, preprocessing
        # and steps per epoch as the experiment's models (and its baselines, reused).
        sub = PreparedData(data.dataset, [data.task(a), data.task(b)])
        model, weighting = build(cell.config, sub, seed)
        pairs[pair] = fit(model, weighting, sub, cell.config.train, f"pair:{a}|{b}")
        trainings += 1
    return PairwiseSeed(seed, stl_metrics, pairs, trainings, time.perf_counter() - started)


def json_matrix(m: np.ndarray) -> list[list[float | None]]:
    """A float array as nested lists for JSON, NaN and infinities as None."""
    return [[float(v) if math.isfinite(v) else None for v in row] for row in m]
