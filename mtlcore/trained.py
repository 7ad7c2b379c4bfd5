"""A trained experiment's files, wherever they live: a folder or the run store.

Two places hold a trained experiment:

* a folder written by ``python -m mtlcore train CONFIG --out DIR`` (every seed in one
  ``result.json`` and one ``weights.safetensors``), or an unzipped export of
  :func:`mtlcore.export.export_experiment` (``weights/seed<N>.safetensors``);
* an experiment of the run store (``python -m mtlcore runs``, the dashboard): one run
  per seed, each with its own folder of files.

:func:`open_trained` reads either into one :class:`TrainedExperiment`, which export and
predict use. Weight tensors are named ``seed<N>.<part>.<parameter>`` (part: ``mtl``,
``stl``, ``weighting``) in every file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from safetensors.torch import load_file

from mtlcore import saved_preprocessing
from mtlcore.config import ExperimentConfig
from mtlcore.data.spec import DataError


@dataclass
class SeedFiles:
    """One seed's files (None where the run did not write one)."""

    seed: int
    weights: Path
    result: Path | None = None
    predictions: Path | None = None
    preprocessing: Path | None = None
    run_id: int | None = None  # the run store's run, when it came from there


@dataclass
class TrainedExperiment:
    """What a trained experiment is made of; ``source`` names it in messages."""

    source: str
    name: str
    config_yaml: str
    seeds: list[SeedFiles]
    result: dict[str, Any] | None = None  # a folder's result.json (all seeds)
    metrics: pd.DataFrame | None = None  # the run store's metric rows, with a seed column
    left_out: list[str] = field(default_factory=list)  # seeds without results, and why
    preprocessing: Path | None = None

    def config(self) -> ExperimentConfig:
        return ExperimentConfig.from_text(self.config_yaml, source=f"{self.source} config.yaml")

    def seed(self, seed: int | None = None) -> SeedFiles:
        """The files of ``seed`` (the first seed when None); DataError naming the seeds."""
        if seed is None:
            return self.seeds[0]
        for s in self.seeds:
            if s.seed == seed:
                return s
        have = ", ".join(str(s.seed) for s in self.seeds)
        raise DataError(f"{self.source} has no trained seed {seed}; its seeds are {have}.")

    def weights(self, seed: int) -> dict[str, torch.Tensor]:
        """Every tensor of ``seed`` (names start with ``seed<N>.``)."""
        prefix = f"seed{seed}."
        tensors = load_file(str(self.seed(seed).weights))
        return {k: v for k, v in tensors.items() if k.startswith(prefix)}

    def saved_tasks(self) -> list[saved_preprocessing.SavedTask]:
        """The preprocessing fitted at training time; DataError when the run has none."""
        if self.preprocessing is None or not self.preprocessing.is_file():
            raise DataError(
                f"{self.source} has no {saved_preprocessing.FILENAME}: it was trained before "
                "runs saved their preprocessing, or its preprocessing cannot be saved yet. "
                "Train it again to predict on new rows.",
                where=self.source,
            )
        try:
            return saved_preprocessing.load(self.preprocessing)
        except (ValueError, KeyError, TypeError) as exc:
            raise DataError(f"{self.source}: unreadable preprocessing ({exc}).") from None


def open_trained(source: str | Path, store: Any = None) -> TrainedExperiment:
    """A trained experiment from a folder, or from the run store by experiment id
    (the ``exp`` column of ``python -m mtlcore runs list``, ``#N`` on the dashboard)."""
    text = str(source).strip()
    path = Path(text).expanduser()
    if path.is_dir():
        return from_folder(path)
    if text.lstrip("#").isdigit():
        from mtlcore.runs import RunNotFound, RunStore

        try:
            return from_store(store or RunStore(), int(text.lstrip("#")))
        except RunNotFound as exc:
            raise DataError(
                f"{exc}; `python -m mtlcore runs list` shows the experiments (its 'exp' column).",
                where=text,
            ) from None
    raise DataError(
        f"'{text}' is neither a folder nor an experiment id. Give the folder of "
        "`python -m mtlcore train --out` (or an unzipped export), or an experiment id "
        "from `python -m mtlcore runs list` (its 'exp' column).",
        where=text,
    )


def from_folder(folder: Path) -> TrainedExperiment:
    """A folder of ``train --out`` files or an unzipped export."""
    config = folder / "config.yaml"
    if not config.is_file():
        raise DataError(
            f"{folder} has no config.yaml; give the folder `python -m mtlcore train --out` "
            "wrote (or an unzipped export).",
            where=str(folder),
        )
    files = sorted([*folder.glob("weights.safetensors"), *folder.glob("weights/*.safetensors")])
    result_path = folder / "result.json"
    result = json.loads(result_path.read_text(encoding="utf-8")) if result_path.is_file() else None
    predictions = folder / "predictions.csv"
    seeds = []
    for f in files:
        for seed in _seeds_in(f):
            seeds.append(SeedFiles(
                seed, f, result_path if result else None,
                predictions if predictions.is_file() else None,
            ))  # fmt: skip
    if not seeds:
        raise DataError(f"{folder} holds no weights (weights.safetensors).", where=str(folder))
    text = config.read_text(encoding="utf-8")
    pre = folder / saved_preprocessing.FILENAME
    return TrainedExperiment(
        source=f"folder {folder}",
        name=(result or {}).get("name") or folder.name,
        config_yaml=text,
        seeds=sorted(seeds, key=lambda s: s.seed),
        result=result,
        preprocessing=pre if pre.is_file() else None,
    )


def _seeds_in(path: Path) -> list[int]:
    """The seeds whose tensors a weights file holds (from the tensor names)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        names = list(f.keys())
    seeds = {n.split(".", 1)[0].removeprefix("seed") for n in names if n.startswith("seed")}
    return sorted(int(s) for s in seeds if s.lstrip("-").isdigit())


def from_store(store: Any, experiment_id: int) -> TrainedExperiment:
    """An experiment of the run store: its done runs (one per seed)."""
    info = store.experiment(experiment_id)
    seeds, left_out, frames = [], [], []
    preprocessing = None
    for run_id in info.run_ids:
        run = store.run(run_id)
        files = {a.kind: a.path for a in store.artifacts(run_id) if a.kind != "snapshot"}
        weights = files.get("weights")
        if run.status != "done" or weights is None or not weights.is_file():
            left_out.append(f"seed {run.seed} (run {run.id}: {run.status}"
                            + (f", {run.error}" if run.error else "") + ")")  # fmt: skip
            continue
        pre = files.get("preprocessing")
        preprocessing = preprocessing or (pre if pre is not None and pre.is_file() else None)
        seeds.append(SeedFiles(run.seed, weights, files.get("result"), files.get("predictions"),
                               pre, run.id))  # fmt: skip
        frames.append(store.metrics_frame(run.id).assign(seed=run.seed))
    if not seeds:
        why = "; ".join(left_out) or "it has no runs"
        raise DataError(
            f"Experiment {experiment_id} has no finished run to use yet ({why}).",
            where=f"experiment {experiment_id}",
        )
    return TrainedExperiment(
        source=f"experiment {experiment_id}",
        name=info.name,
        config_yaml=info.config_yaml,
        seeds=sorted(seeds, key=lambda s: s.seed),
        metrics=pd.concat(frames, ignore_index=True),
        left_out=left_out,
        preprocessing=preprocessing,
    )
