"""Representation snapshots on disk: one ``.npz`` per model and epoch, never pickle.

A file holds, per task, the positions of the sampled validation rows
(``rows_<i>``), their shared representation (``features_<i>``, float32) and the
model's raw outputs (``outputs_<i>``), where ``i`` indexes the task list in
``meta``: a JSON string with the format, model, epoch, seed, task names and the
model's mixing state (gate weights and the like). Task names stay out of the
array names, so any name is safe. Loading uses ``allow_pickle=False``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "mtlcore-snapshot-1"


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
    }
    arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(meta))}
    for i, task in enumerate(tasks):
        arrays[f"rows_{i}"] = np.asarray(snapshot.rows[task], dtype=np.int64)
        arrays[f"features_{i}"] = np.asarray(snapshot.features[task], dtype=np.float32)
        arrays[f"outputs_{i}"] = np.asarray(snapshot.outputs[task], dtype=np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(path)  # readers never see a half-written file
    return path


def load_snapshot(path: str | Path) -> StoredSnapshot:
    """Read a snapshot written by :func:`save_snapshot`."""
    with np.load(Path(path), allow_pickle=False) as npz:
        meta = json.loads(str(npz["meta"]))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: not an MTL Studio snapshot ({meta.get('format')!r})")
        tasks = meta["tasks"]
        return StoredSnapshot(
            model=meta["model"],
            epoch=meta["epoch"],
            seed=meta["seed"],
            rows={t: npz[f"rows_{i}"] for i, t in enumerate(tasks)},
            features={t: npz[f"features_{i}"] for i, t in enumerate(tasks)},
            outputs={t: npz[f"outputs_{i}"] for i, t in enumerate(tasks)},
            mixing=meta["mixing"],
        )


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
