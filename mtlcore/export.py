"""One download per experiment: a zip of its config, result, metrics, predictions and weights.

:func:`export_experiment` packs a trained experiment (a ``train --out`` folder or an
experiment of the run store, see :mod:`mtlcore.trained`) into one zip::

    README.txt              what each file is
    config.yaml             the experiment's config (every seed)
    result.json             the result over every seed: per-task comparison and verdicts,
                            Δm, history (see below)
    metrics.csv             the metric rows, long: seed, step, epoch, model, task, split,
                            name, value
    predictions.csv         the test-row predictions of every seed and model
    preprocessing.json      the preprocessing fitted at training (to predict on new rows)
    weights/seed<N>.safetensors   each seed's weights (multi-task, single-task, weighting)

Unzipped, the folder is itself a trained experiment: ``python -m mtlcore predict
FOLDER rows.csv`` predicts with it. CSVs are written through :mod:`mtlcore.csv_safe`.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pandas as pd
from safetensors.torch import load_file, save

from mtlcore.analysis import combine_results
from mtlcore.csv_safe import csv_text
from mtlcore.trained import TrainedExperiment, open_trained

METRIC_COLUMNS = ["seed", "step", "epoch", "model", "task", "split", "name", "value"]
# result.json history rows: these are coordinates, every other number is a metric.
HISTORY_KEYS = ("seed", "step", "epoch", "model", "task", "split")

README = """\
MTL Studio experiment: {name}
From {source}; seeds {seeds}.{left_out}

config.yaml         The experiment's config (every seed). Train it again with
                    `python -m mtlcore train config.yaml --out DIR`.
result.json         The result over every seed: per task the metric, the multi-task
                    (mtl) and single-task (stl) values, the gain with its interval and
                    the verdict (helps / hurts / within the noise / one seed), the
                    trivial baseline; delta_m with its interval and verdict; the
                    per-epoch history.{by_seed}
metrics.csv         Every metric row, long: seed, step, epoch, model (mtl = the
                    multi-task model, stl = each task trained alone), task, split,
                    name, value.
predictions.csv     The test rows' predictions of every seed and model: seed, model,
                    task, row (test row position), truth, prediction, output (the
                    target column).
preprocessing.json  The preprocessing fitted on the training rows (medians, means,
                    scales, categories, target units and classes), format
                    mtlcore-preprocessing-1; used to predict on new rows.
weights/            One safetensors file per seed; tensors are named
                    seed<N>.mtl.* (multi-task model), seed<N>.stl.* (single-task
                    baselines) and seed<N>.weighting.* (the weighting method's state).

Predict on new rows: unzip, then
    python -m mtlcore predict THIS_FOLDER rows.csv --out predictions.csv
Text cells a spreadsheet would run as formulas (starting with = + - @) carry a
leading ' in the CSV files.
"""


def export_experiment(
    source: str | Path | TrainedExperiment, out: str | Path | None = None, *, store: Any = None
) -> bytes:
    """The experiment's zip as bytes (also written to ``out`` when given).

    ``source``: a folder, an experiment id of the run store (``store``, or the default
    one), or an opened :class:`TrainedExperiment`.
    """
    trained = source if isinstance(source, TrainedExperiment) else open_trained(source, store)
    files = experiment_files(trained)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    data = buffer.getvalue()
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_bytes(data)
    return data


def experiment_files(trained: TrainedExperiment) -> dict[str, bytes]:
    """File name in the zip -> its bytes."""
    seeds = [s.seed for s in trained.seeds]
    result = combined_result(trained)
    files = {
        "README.txt": README.format(
            name=trained.name,
            source=trained.source,
            seeds=", ".join(map(str, seeds)),
            left_out=("\nLeft out (no results): " + "; ".join(trained.left_out) + ".")
            if trained.left_out
            else "",
            by_seed="\n                    by_seed: each seed's own result."
            if "by_seed" in result
            else "",
        ),  # fmt: skip
        "config.yaml": trained.config_yaml,
        "result.json": json.dumps(result, indent=2, allow_nan=False) + "\n",
        "metrics.csv": csv_text(metrics_frame(trained, result)),
        "predictions.csv": csv_text(predictions_frame(trained)),
    }
    if trained.preprocessing is not None:
        files["preprocessing.json"] = trained.preprocessing.read_text(encoding="utf-8")
    for s in trained.seeds:
        tensors = {k: v.contiguous() for k, v in load_file(str(s.weights)).items()
                   if k.startswith(f"seed{s.seed}.")}  # fmt: skip
        metadata = {"format": "mtlcore-weights-1", "config": trained.config_yaml}
        files[f"weights/seed{s.seed}.safetensors"] = save(tensors, metadata)
    return {k: v.encode("utf-8") if isinstance(v, str) else v for k, v in files.items()}


def combined_result(trained: TrainedExperiment) -> dict[str, Any]:
    """A folder's result.json as it is; for the run store's one-run-per-seed results,
    one result pooled over the seeds (``mtlcore.analysis.combine_results``: per-task
    comparison and verdicts, Δm) with the history of every seed and ``by_seed``."""
    if trained.result is not None:
        return trained.result
    results = [
        json.loads(s.result.read_text(encoding="utf-8"))
        for s in trained.seeds
        if s.result is not None and s.result.is_file()
    ]
    if not results:
        return {"name": trained.name, "seeds": [s.seed for s in trained.seeds]}
    first = results[0]
    return {
        "name": trained.name,
        **{k: first.get(k) for k in ("dataset", "strategy", "weighting")},
        **combine_results(results),
        "history": [row for r in results for row in r.get("history", [])],
        "weighting_state_by_seed": {
            k: v for r in results for k, v in (r.get("weighting_state_by_seed") or {}).items()
        },
        "left_out": trained.left_out,
        "by_seed": results,
    }


def metrics_frame(trained: TrainedExperiment, result: dict[str, Any]) -> pd.DataFrame:
    """Long metric rows: the run store's rows, or a folder's history melted to long rows."""
    if trained.metrics is not None:
        return trained.metrics.reindex(columns=METRIC_COLUMNS)
    history = pd.DataFrame(result.get("history") or [])
    if history.empty:
        return pd.DataFrame(columns=METRIC_COLUMNS)
    keys = [k for k in HISTORY_KEYS if k in history]
    long = history.melt(id_vars=keys, var_name="name", value_name="value").dropna(subset=["value"])
    return long.reindex(columns=METRIC_COLUMNS).reset_index(drop=True)


def predictions_frame(trained: TrainedExperiment) -> pd.DataFrame:
    paths = list(dict.fromkeys(s.predictions for s in trained.seeds if s.predictions))
    frames = [pd.read_csv(p, keep_default_na=False, na_values=[""]) for p in paths if p.is_file()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
