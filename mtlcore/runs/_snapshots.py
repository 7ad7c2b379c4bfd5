"""Representation snapshots on disk: one ``.npz`` per model and epoch, never pickle.

A file holds, per task, the positions of the sampled validation rows
(``rows_<i>``), their shared representation (``features_<i>``, float32), the
model's raw outputs (``outputs_<i>``) and each row's true value and decoded
prediction (``truth_<i>``, ``prediction_<i>``: float64 in the target's units for
regression — (rows, k) for a task with k target columns — and a unicode array of
class labels for classification), where ``i`` indexes the task list in ``meta``: a
JSON string with the format, model, epoch, seed, task names, the model's mixing
state (gate weights and the like) and ``targets`` (multi-output task -> its target
columns, the columns of its truth and prediction; absent in older files). Task
names stay out of the array names, so any name is safe. Loading uses
``allow_pickle=False``. Files of the first format (``mtlcore-snapshot-1``) have
no truths or predictions and still load, with those dicts empty.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "mtlcore-snapshot-2"
READABLE_FORMATS = ("mtlcore-snapshot-1", FORMAT)


@dataclass(frozen=True)
class StoredSnapshot:
    """A snapshot read back from disk (the arrays of :class:`mtlcore.train.Snapshot`)."""

    model: str  # "mtl" or "stl"
    epoch: int  # 0 = before training
    seed: int
    rows: dict[str, np.ndarray]  # task -> positions of the sampled rows in its validation split
    features: dict[str, np.ndarray]  # task -> (rows, dim) float32
    outputs: dict[str, np.ndarray]  # task -> raw model outputs of those rows
    mixing: dict[str, Any]
    truth: dict[str, np.ndarray] = field(default_factory=dict)  # task -> value or label per row
    prediction: dict[str, np.ndarray] = field(default_factory=dict)  # empty in old files
    # multi-output task -> its target columns (the columns of its (rows, k) truth)
    targets: dict[str, list[str]] = field(default_factory=dict)

    @property
    def has_truth(self) -> bool:
        """Whether the file carries true values and predictions (format 2 onwards)."""
        return bool(self.truth)


def snapshot_filename(model: str, epoch: int) -> str:
    return f"{model}-epoch{epoch:05d}.npz"


def save_snapshot(snapshot: Any, path: Path, *, model: str, seed: int) -> Path:
    """Write a :class:`mtlcore.train.Snapshot` to ``path`` (an ``.npz``)."""
    tasks = list(snapshot.features)
    meta = {
        "format": FORMAT,
        "model": model,
        "epoch": int(snapshot.epoch),
        "seed": int(seed),
        "tasks": tasks,
        "mixing": _jsonable(snapshot.mixing),
        "targets": {t: list(c) for t, c in (getattr(snapshot, "targets", None) or {}).items()},
    }
    arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(meta))}
    for i, task in enumerate(tasks):
        arrays[f"rows_{i}"] = np.asarray(snapshot.rows[task], dtype=np.int64)
        arrays[f"features_{i}"] = np.asarray(snapshot.features[task], dtype=np.float32)
        arrays[f"outputs_{i}"] = np.asarray(snapshot.outputs[task], dtype=np.float32)
        for key in ("truth", "prediction"):
            values = (getattr(snapshot, key, None) or {}).get(task)
            if values is not None:
                arrays[f"{key}_{i}"] = _plain(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)  # readers never see a half-written file
    return path


def load_snapshot(path: str | Path) -> StoredSnapshot:
    """Read a snapshot written by :func:`save_snapshot`."""
    with np.load(Path(path), allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        if meta.get("format") not in READABLE_FORMATS:
            raise ValueError(f"{path}: not an MTL Studio snapshot ({meta.get('format')!r})")
        tasks = meta["tasks"]
        names = set(npz.files)
        return StoredSnapshot(
            model=meta["model"],
            epoch=meta["epoch"],
            seed=meta["seed"],
            rows={t: npz[f"rows_{i}"] for i, t in enumerate(tasks)},
            features={t: npz[f"features_{i}"] for i, t in enumerate(tasks)},
            outputs={t: npz[f"outputs_{i}"] for i, t in enumerate(tasks)},
            mixing=meta["mixing"],
            truth={t: npz[f"truth_{i}"] for i, t in enumerate(tasks) if f"truth_{i}" in names},
            prediction={
                t: npz[f"prediction_{i}"] for i, t in enumerate(tasks) if f"prediction_{i}" in names
            },
            targets=meta.get("targets") or {},
        )


def _plain(values: Any) -> np.ndarray:
    """Numbers as float64, anything else as a unicode array (never an object array)."""
    arr = np.asarray(values)
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float64)
    return np.asarray([str(v) for v in arr.tolist()], dtype=str)


def _jsonable(x: Any) -> Any:
    """Mixing states may hold tensors or arrays; JSON wants lists and floats."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if hasattr(x, "tolist"):  # numpy arrays and scalars, torch tensors
        return _jsonable(x.tolist())
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x
