"""Config -> data -> multi-task model (+ single-task baselines) per seed -> one result.

The result is the dictionary written as ``result.json`` (its keys are a contract;
see the README): per task the metric, the multi-task and single-task values and
the relative gain; the overall Δm; the per-epoch history; the weighting method's
learned state; seeds and timings. With several seeds, ``mtl``/``stl``/``gain``/
``delta_m`` are means and a ``*_std`` sits beside each (null with one seed); the
per-seed values, the interval and the verdict come from ``mtlcore.analysis.compare``,
and each task carries its trivial baseline.

Single-task baselines: one :class:`~mtlcore.models.independent.GroupedIndependent`
model holds a network per task, each exactly the multi-task model's network for that
task alone, the same-shaped ones stacked so that each layer runs once per step for
all of them (``torch.baddbmm``); trained with the same optimiser, epochs, seed and
batches (see ``train.py``), each task as it would train alone. Δm uses them as the
baseline, not epoch 0. They depend on the data, the tasks, the network's shape, the
training settings and the seed, not on the sharing strategy or the weighting method,
so a :class:`BaselineCache` (the run store's, ``mtlcore.runs``) can hand a seed's
trained baselines to the next experiment that needs the same ones: it then skips
their training and replays their curves, and ``result.json`` says where they came
from (``baselines_by_seed``).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
from safetensors.torch import save_file

import mtlcore
from mtlcore import saved_preprocessing
from mtlcore.analysis.comparison import compare, trivial_metrics
from mtlcore.analysis.seeds import mean_std
from mtlcore.analysis.transfer import (
    PairwiseSeed,
    check_pairwise,
    cka_rows,
    pairwise_trainings,
    train_pairwise,
    transfer_summary,
)
from mtlcore.config import ConfigError, ExperimentConfig
from mtlcore.csv_safe import write_csv
from mtlcore.data.builtin import load_builtin
from mtlcore.data.ingest import read_csv_table
from mtlcore.data.prepare import PreparedData, TaskData, prepare
from mtlcore.data.spec import Dataset, TaskSpec
from mtlcore.evaluate import evaluate
from mtlcore.limits import check_parameters, max_run_seconds, time_limit
from mtlcore.metrics import HIGHER_IS_BETTER
from mtlcore.models import Architecture, ModelTask, MultiTaskModel, build_model, count_parameters
from mtlcore.models.independent import GroupedIndependent
from mtlcore.train import (
    Callback,
    TrainEvent,
    TrainingCancelled,
    TrainOutcome,
    resolve_device,
    steps_per_epoch,
    train,
    training_steps,
)
from mtlcore.weighting import Weighting, WeightingTask, build_weighting


def load_dataset(config: ExperimentConfig) -> Dataset:
    """The dataset the config names: a built-in one, or the CSV files it lists."""
    data = config.data
    if data.builtin is not None:
        return load_builtin(data.builtin, data.options)
    assert data.csv is not None
    tables = {name: read_csv_table(path, name) for name, path in data.csv.items()}
    return Dataset(name="csv", description="Your CSV files.", tables=tables)


def task_specs(config: ExperimentConfig, dataset: Dataset) -> list[TaskSpec]:
    if config.tasks is None:
        return list(dataset.tasks)
    return [dataset.task(t) if isinstance(t, str) else t.to_spec() for t in config.tasks]


def prepare_data(config: ExperimentConfig, dataset: Dataset | None = None) -> PreparedData:
    dataset = dataset or load_dataset(config)
    d = config.data
    return prepare(
        dataset,
        task_specs(config, dataset),
        val_fraction=d.val_fraction,
        test_fraction=d.test_fraction,
        split_seed=d.split_seed,
        standardize_targets=d.standardize_targets,
        align_columns=d.align_columns,
    )


def architecture(config: ExperimentConfig) -> Architecture:
    m = config.model
    return Architecture(tuple(m.hidden), tuple(m.head_hidden), m.activation, m.dropout)


def model_tasks(data: PreparedData) -> list[ModelTask]:
    return [ModelTask(t.name, t.input_group, t.X["train"].shape[1], t.out_dim) for t in data.tasks]


def build(
    config: ExperimentConfig, data: PreparedData, seed: int
) -> tuple[MultiTaskModel, Weighting]:
    """The multi-task model and weighting method of the config; option errors, and a model
    over the parameter budget (``mtlcore.limits``), as ConfigError."""
    m = config.model
    try:
        tasks, arch = model_tasks(data), architecture(config)
        check_parameters(count_parameters(m.strategy, tasks, arch, m.options), "the model")
        model = build_model(m.strategy, tasks, arch, seed, m.options)
        weighting = build_weighting(
            config.weighting.method,
            [WeightingTask(t.name, t.kind) for t in data.tasks],
            config.weighting.options,
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return model, weighting


def build_baselines(config: ExperimentConfig, data: PreparedData, seed: int):
    """All single-task models as one batched model, trained with plain (unit) loss weights."""
    tasks, arch = model_tasks(data), architecture(config)
    try:
        what = "the single-task baselines (or set baselines: false)"
        check_parameters(count_parameters("independent", tasks, arch), what)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    model = GroupedIndependent(tasks, arch, seed)
    weighting = build_weighting("equal", [WeightingTask(t.name, t.kind) for t in data.tasks])
    return model, weighting


@dataclass
class Baseline:
    """One seed's trained single-task baselines, as a :class:`BaselineCache` keeps them:
    the weights of the batched baseline model, its training's ``epoch`` and ``snapshot``
    events in the order they came (the curves and snapshots a reuse replays), each task's
    test metrics, the seconds its training took and the run that trained it (None
    outside a run store)."""

    state: dict[str, torch.Tensor]
    events: list[TrainEvent]
    metrics: dict[str, dict[str, float]]
    seconds: float
    source_run: int | None = None


class BaselineCache(Protocol):
    """Where an experiment finds single-task baselines trained before, and keeps new ones.

    One cache object serves one experiment config and its prepared data (it knows their
    key); ``find`` and ``keep`` take the seed. See ``mtlcore.runs`` for the run store's.
    """

    def find(self, seed: int, *, wait_seconds: float,
             waiting: Callable[[], None]) -> Baseline | None:  # fmt: skip
        """The seed's cached baselines, or None (the caller then trains and calls
        :meth:`keep`). May wait up to ``wait_seconds`` for another process that is
        training the same ones, calling ``waiting()`` about twice a second (it raises
        :class:`~mtlcore.train.TrainingCancelled` when the run is cancelled)."""
        ...

    def keep(self, seed: int, baseline: Baseline) -> None:
        """Keep a seed's freshly trained baselines (the first kept stays)."""
        ...


@dataclass
class SeedRun:
    seed: int
    model: MultiTaskModel
    weighting: Weighting
    baselines: MultiTaskModel | None
    metrics_mtl: dict[str, dict[str, float]]
    metrics_stl: dict[str, dict[str, float]] | None
    history: list[dict[str, Any]]
    grad_cosine: list[dict[str, Any]]
    seconds: dict[str, float]
    predictions: list[dict[str, Any]]  # per test row and output: model, task, row, truth, ...
    affinity: list[dict[str, Any]] = field(default_factory=list)  # lookahead Z_{i→j} rows
    cka: list[dict[str, Any]] = field(default_factory=list)  # MTL-vs-STL CKA per task, epoch
    pairwise: PairwiseSeed | None = None  # every pair of tasks trained (train.pairwise)
    data: PreparedData | None = None  # what it trained on; its fitted preprocessing is saved
    baselines_from: int | None = None  # the run whose cached baselines it reused, if any
    baselines_reused: bool = False  # its baselines came from a cache (no training)


def run_experiment(
    config: ExperimentConfig,
    callback: Callback | None = None,
    *,
    data: PreparedData | None = None,
    baseline_cache: BaselineCache | None = None,
) -> tuple[dict[str, Any], list[SeedRun]]:
    """Run every seed of the config; return the result dict and the trained runs.

    ``baseline_cache``: where to look for each seed's single-task baselines before
    training them, and to keep them after (see :class:`BaselineCache`).
    The whole experiment trains under the server's wall-clock cap
    (``MTL_STUDIO_MAX_RUN_SECONDS``, see ``mtlcore.limits``); past it, training stops
    with :class:`~mtlcore.train.TimeLimitError`.
    """
    try:
        seconds = max_run_seconds()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    with time_limit(seconds):
        return _run_experiment(config, callback, data, baseline_cache)


def _run_experiment(
    config: ExperimentConfig,
    callback: Callback | None,
    data: PreparedData | None,
    cache: BaselineCache | None = None,
) -> tuple[dict[str, Any], list[SeedRun]]:
    started = time.perf_counter()
    data = data or prepare_data(config)
    device = resolve_device(config.train.device)
    spe = steps_per_epoch(data, config.train.batch_size)
    pairwise = config.train.pairwise and len(data.tasks) > 1
    if pairwise:
        try:
            check_pairwise(len(data.tasks))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    total = total_steps(config, data)
    done_steps = 0

    def relay(seed: int) -> Callback:
        def cb(event: TrainEvent) -> Any:
            event.seed = seed
            event.progress = (done_steps + event.step) / total
            return callback(event) if callback else None

        return cb

    runs: list[SeedRun] = []
    for seed in config.seeds:
        model, weighting = build(config, data, seed)
        mtl = train(model, weighting, data, config.train, seed=seed, label="mtl",
                    callback=relay(seed), n_steps_per_epoch=spe, device=device)  # fmt: skip
        done_steps += mtl.steps
        metrics_mtl, predictions = evaluate(model, data, device, "mtl")
        base = metrics_stl = stl = None
        history, seconds = list(mtl.history), {"mtl": mtl.seconds}
        reused, source = False, None
        if config.baselines:
            # Baselines train in less time than the multi-task model took (about 0.7x):
            # another run that is training the same ones now ends well within this.
            wait = 2.0 * mtl.seconds + 30.0
            base, stl, found, events = single_task_baselines(
                config, data, seed, device=device, n_steps_per_epoch=spe,
                callback=relay(seed), cache=cache, wait_seconds=wait)  # fmt: skip
            reused, source = found is not None, found.source_run if found else None
            done_steps += stl.steps
            metrics_stl, stl_predictions = evaluate(base, data, device, "stl")
            if cache is not None and found is None:
                state = {k: v.detach().cpu().clone() for k, v in base.state_dict().items()}
                cache.keep(seed, Baseline(state, events, metrics_stl, stl.seconds))
            predictions += stl_predictions
            history += stl.history
            seconds["stl"] = stl.seconds
        pairs = None
        if pairwise:
            pairs = train_pairwise(config, data, seed, mtl_metrics=metrics_mtl,
                                   stl_metrics=metrics_stl, device=device, n_steps_per_epoch=spe,
                                   callback=relay(seed))  # fmt: skip
            done_steps += training_steps(config.train, spe) * pairs.trainings
        for row in history + predictions:
            row["seed"] = seed
        runs.append(
            SeedRun(
                seed,
                model,
                weighting,
                base,
                metrics_mtl,
                metrics_stl,
                history,
                [{**r, "seed": seed} for r in mtl.grad_cosine],
                seconds,
                predictions,
                affinity=[{**r, "seed": seed} for r in mtl.affinity],
                cka=cka_rows(mtl.snapshots, stl.snapshots, seed=seed) if stl else [],
                pairwise=pairs,
                data=data,
                baselines_from=source,
                baselines_reused=reused,
            )  # fmt: skip
        )
    result = summarize(config, data, runs, device, time.perf_counter() - started)
    result.update(transfer_summary(
        data.names, {t.name: t.kind_rules.primary_metric for t in data.tasks},
        grad_cosine=[row for r in runs for row in r.grad_cosine],
        affinity=[row for r in runs for row in r.affinity],
        affinity_every=config.train.affinity_every,
        pairwise=[r.pairwise for r in runs if r.pairwise is not None],
        cka=[row for r in runs for row in r.cka],
    ))  # fmt: skip
    return result, runs


def single_task_baselines(
    config: ExperimentConfig,
    data: PreparedData,
    seed: int,
    *,
    device: torch.device,
    n_steps_per_epoch: int,
    callback: Callback,
    cache: BaselineCache | None = None,
    wait_seconds: float = 0.0,
) -> tuple[MultiTaskModel, TrainOutcome, Baseline | None, list[TrainEvent]]:
    """A seed's single-task baselines: from ``cache`` when it has them (their curves and
    snapshots replayed to ``callback`` as their training sent them, with the event's
    ``phase`` "stl-reused"), else trained (the caller keeps them in ``cache`` once it has
    their test metrics). Returns the model, the outcome (a reused one took 0 seconds),
    the cached :class:`Baseline` or None, and a trained one's epoch and snapshot events
    (with a cache; [] otherwise)."""
    model, weighting = build_baselines(config, data, seed)
    total = training_steps(config.train, n_steps_per_epoch)

    def waiting() -> None:
        if callback(TrainEvent("step", "stl", 0, 0, total, phase="stl-waiting")) is False:
            raise TrainingCancelled("cancelled while waiting for the single-task baselines")

    found = None
    if cache is not None:
        found = cache.find(seed, wait_seconds=wait_seconds, waiting=waiting)
    if found is not None:
        model.load_state_dict(found.state)
        model.to(device)
        for event in found.events:
            event.phase = "stl-reused"
            if callback(event) is False:
                raise TrainingCancelled(f"cancelled while copying the baselines of run "
                                        f"{found.source_run}")  # fmt: skip
        history = [row for e in found.events if e.kind == "epoch" for row in e.rows]
        snaps = [e.snapshot for e in found.events if e.kind == "snapshot" and e.snapshot]
        return model, TrainOutcome(history, [], total, 0.0, snapshots=snaps), found, []
    events: list[TrainEvent] = []

    def record(event: TrainEvent) -> Any:
        if event.kind in ("epoch", "snapshot"):
            events.append(copy.deepcopy(event))  # as sent, before anyone adds to its rows
        return callback(event)

    stl = train(model, weighting, data, config.train, seed=seed, label="stl",
                callback=record if cache is not None else callback,
                n_steps_per_epoch=n_steps_per_epoch, device=device)  # fmt: skip
    return model, stl, None, events


def total_steps(config: ExperimentConfig, data: PreparedData) -> int:
    """Optimiser steps the whole experiment takes: every seed's multi-task model, its
    baselines and (with ``train.pairwise``) its pair models. The denominator of the
    progress and the ETA, here and in the run store's worker."""
    n_tasks = len(data.tasks)
    pairwise = config.train.pairwise and n_tasks > 1
    runs_per_seed = (2 if config.baselines else 1) + (
        pairwise_trainings(n_tasks, config.baselines) if pairwise else 0
    )
    per_run = training_steps(config.train, steps_per_epoch(data, config.train.batch_size))
    return per_run * runs_per_seed * len(config.seeds)


def summarize(
    config: ExperimentConfig,
    data: PreparedData,
    runs: list[SeedRun],
    device: torch.device,
    seconds: float,
) -> dict[str, Any]:
    cmp = compare({t.name: _seed_values(t, runs, config.baselines) for t in data.tasks})
    tasks = {t.name: _task_entry(t, runs, cmp["tasks"][t.name]) for t in data.tasks}
    del cmp["tasks"]
    states = [r.weighting.state() for r in runs]
    return {
        "name": config.name,
        "dataset": data.dataset.name,
        "strategy": config.model.strategy,
        "weighting": config.weighting.method,
        "tasks": tasks,
        **cmp,  # delta_m with its std, interval, verdict and per-seed values; confidence
        "history": [row for r in runs for row in r.history],
        "grad_cosine": [row for r in runs for row in r.grad_cosine],
        "weighting_state": _mean_state(states),
        "weighting_state_by_seed": {str(r.seed): s for r, s in zip(runs, states, strict=True)},
        "seeds": list(config.seeds),
        "n_seeds": len(runs),
        # per seed with baselines: the run whose cached baselines it reused (null: trained)
        "baselines_by_seed": {
            str(r.seed): {"reused": r.baselines_reused, "from_run": r.baselines_from}
            for r in runs
            if r.metrics_stl is not None
        },  # fmt: skip
        "notes": data.notes(),
        "timings": {
            "total_seconds": seconds,
            "mtl_seconds": float(sum(r.seconds["mtl"] for r in runs)),
            "stl_seconds": float(sum(r.seconds.get("stl", 0.0) for r in runs)),
            "steps_per_epoch": steps_per_epoch(data, config.train.batch_size),
        },
        "environment": {
            "device": str(device),
            "torch": torch.__version__,
            "mtlcore": mtlcore.__version__,
            "python": platform.python_version(),
        },
    }


def _seed_values(task: TaskData, runs: list[SeedRun], baselines: bool) -> dict[str, Any]:
    """A task's primary test metric per seed, multi-task and single-task, for ``compare``."""
    metric = task.kind_rules.primary_metric
    return {
        "higher_is_better": HIGHER_IS_BETTER[metric],
        "mtl_by_seed": {r.seed: r.metrics_mtl[task.name][metric] for r in runs},
        "stl_by_seed": {r.seed: r.metrics_stl[task.name][metric] for r in runs if r.metrics_stl}
        if baselines
        else None,
    }


def _task_entry(task: TaskData, runs: list[SeedRun], comparison: dict[str, Any]) -> dict[str, Any]:
    """A task's ``result.json`` entry: what it is, the comparison, the trivial baseline."""
    metric = task.kind_rules.primary_metric
    trivial = {k: _clean(v) for k, v in trivial_metrics(task).items()}
    entry: dict[str, Any] = {
        "kind": task.kind,
        "metric": metric,
        "higher_is_better": HIGHER_IS_BETTER[metric],
        **comparison,
        "trivial": trivial[metric],
        "table": task.spec.table,
        "target": task.targets[0],  # the first target, for readers of one-target results
        "targets": list(task.targets),
        "inputs": list(task.spec.inputs or ()),
        "classes": task.classes,
        # per target column, the std its values were divided by for training (1 without
        # data.standardize_targets): what turns a loss-scale number (a learned σ) into the
        # target's units; null for classification
        "target_scale": task.kind_rules.target_scale(task),
        "rows": {s: task.n_rows(s) for s in ("train", "val", "test")},
        "metrics_mtl": _mean_dict([r.metrics_mtl[task.name] for r in runs]),
        "metrics_trivial": trivial,
    }
    if any(r.metrics_stl for r in runs):
        entry["metrics_stl"] = _mean_dict([r.metrics_stl[task.name] for r in runs if r.metrics_stl])
    return entry


def _clean(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _mean_dict(dicts: list[dict[str, float]]) -> dict[str, float | None]:
    """Each metric's mean over seeds, by the one rule (:mod:`mtlcore.analysis.seeds`): the
    primary metric's equals the task's ``mtl``/``stl`` to the last digit."""
    return {k: mean_std(d[k] for d in dicts)[0] for k in dicts[0]} if dicts else {}


def _mean_state(states: list[Any]) -> Any:
    """The mean over seeds of every number in the weighting states (same structure)."""
    first = states[0] if states else {}
    if isinstance(first, dict):
        return {k: _mean_state([s[k] for s in states]) for k in first}
    if isinstance(first, int | float):
        return mean_std(states)[0]
    return first


# --- files -------------------------------------------------------------------------


def write_outputs(
    out_dir: str | Path, config: ExperimentConfig, result: dict[str, Any], runs: list[SeedRun]
) -> dict[str, Path]:
    """Write result.json, config.yaml, weights.safetensors, predictions.csv (test rows) and
    preprocessing.json (the preprocessing fitted at training, to predict on new rows; left
    out when a fitted step cannot be saved, see ``mtlcore.saved_preprocessing``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "result": out / "result.json",
        "config": out / "config.yaml",
        "weights": out / "weights.safetensors",
        "predictions": out / "predictions.csv",
    }
    paths["result"].write_text(json.dumps(_json_safe(result), indent=2) + "\n", encoding="utf-8")
    config.save(paths["config"])
    columns = ["seed", "model", "task", "row", "truth", "prediction", "output"]
    # truth and prediction as the text they were rounded to (``Kind.readable``): a
    # whole-number target's 3124 and a class 4 stay so (a float64 column writes 3124.0)
    rows = [
        {**p, "truth": _as_written(p["truth"]), "prediction": _as_written(p["prediction"])}
        for r in runs
        for p in r.predictions
    ]
    write_csv(pd.DataFrame(rows, columns=columns), paths["predictions"])
    data = next((r.data for r in runs if r.data is not None), None)
    if data is not None:
        with contextlib.suppress(saved_preprocessing.UnsupportedPreprocessing):
            paths["preprocessing"] = saved_preprocessing.save(
                data, out / saved_preprocessing.FILENAME
            )
    tensors: dict[str, torch.Tensor] = {}
    for r in runs:
        parts = {"mtl": r.model, "weighting": r.weighting, "stl": r.baselines}
        for part, module in parts.items():
            if module is None:
                continue
            for k, v in module.state_dict().items():
                tensors[f"seed{r.seed}.{part}.{k}"] = v.detach().cpu().contiguous()
    metadata = {"config": config.to_yaml(), "format": "mtlcore-weights-1"}
    save_file(tensors, str(paths["weights"]), metadata=metadata)
    return paths


def _as_written(value: Any) -> str | None:
    """A truth or prediction as predictions.csv writes it: its text, empty when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)


def _json_safe(x: Any) -> Any:
    """NaN/inf become null: result.json must be strict JSON for outside tools."""
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, np.generic):
        return _json_safe(x.item())
    return x
