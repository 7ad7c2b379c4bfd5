"""From tables and task specs to per-task arrays: splits, preprocessing, targets.

Splits are made per *table* (so tasks of one table share their test rows) from a
seeded permutation. Preprocessing is learned on each task's training rows only,
with scikit-learn: numbers are imputed with the median and standardised, text is
imputed with the most frequent value and one-hot encoded. Rows whose target is
missing are dropped for that task only, and counted; imputed input values are
counted too, so the UI can report both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mtlcore.data.ingest import resolve_task
from mtlcore.data.spec import DataError, Dataset, TaskSpec
from mtlcore.seeding import numpy_rng

SPLITS = ("train", "val", "test")


@dataclass
class TaskData:
    """One task's preprocessed arrays per split, and how to read its outputs."""

    spec: TaskSpec  # resolved: kind decided, inputs explicit
    classes: list | None  # class labels (classification), in output order
    feature_names: list[str]  # after one-hot encoding
    X: dict[str, np.ndarray]  # split -> float32 (rows, features), C-contiguous
    y: dict[str, np.ndarray]  # split -> float32 (regression, binary) or int64 (multiclass)
    target_mean: float = 0.0  # regression targets are trained as (y - mean) / std
    target_std: float = 1.0
    dropped_missing_target: int = 0
    unused_train_rows: int = 0  # labelled training rows left out by the task's train_rows cap
    imputed: dict[str, int] = field(default_factory=dict)  # input column -> values imputed
    preprocessor: ColumnTransformer | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def input_group(self) -> str:
        """Tasks that read the same columns of the same table share an input layer."""
        return f"{self.spec.table}:{','.join(self.spec.inputs or ())}"

    @property
    def out_dim(self) -> int:
        return len(self.classes) if self.kind == "multiclass" else 1

    def n_rows(self, split: str) -> int:
        return len(self.y[split])

    def target_in_units(self, y: np.ndarray) -> np.ndarray:
        """Regression outputs back in the target column's own units."""
        return y * self.target_std + self.target_mean


@dataclass
class PreparedData:
    dataset: Dataset
    tasks: list[TaskData]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def task(self, name: str) -> TaskData:
        return next(t for t in self.tasks if t.name == name)

    def notes(self) -> list[str]:
        """Plain sentences on what preprocessing did to the user's data."""
        out = []
        for t in self.tasks:
            if t.dropped_missing_target:
                out.append(
                    f"{t.name}: dropped {t.dropped_missing_target} row(s) of table "
                    f"'{t.spec.table}' whose target '{t.spec.target}' is missing."
                )
            if t.unused_train_rows:
                out.append(
                    f"{t.name}: trained on {t.n_rows('train')} of its "
                    f"{t.n_rows('train') + t.unused_train_rows} labelled training rows "
                    f"(train_rows); validation and test rows are kept whole."
                )
            for col, n in t.imputed.items():
                out.append(
                    f"{t.name}: filled {n} missing value(s) in '{col}' "
                    "(median of the training rows for numbers, most frequent value for text)."
                )
        return out


def split_rows(n: int, val_fraction: float, test_fraction: float, seed: int, table: str):
    """Seeded train/val/test row positions of a table with n rows."""
    perm = numpy_rng(seed, "split", table).permutation(n)
    n_test = max(1, round(n * test_fraction))
    n_val = max(1, round(n * val_fraction))
    return {
        "test": np.sort(perm[:n_test]),
        "val": np.sort(perm[n_test : n_test + n_val]),
        "train": np.sort(perm[n_test + n_val :]),
    }


def prepare(
    dataset: Dataset,
    specs: Sequence[TaskSpec],
    *,
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    split_seed: int = 0,
    standardize_targets: bool = True,
) -> PreparedData:
    """Validate the tasks against their tables and build their arrays."""
    resolved = [resolve_task(dataset, s) for s in specs]
    splits = {
        table: split_rows(
            len(dataset.tables[table]), val_fraction, test_fraction, split_seed, table
        )
        for table in dict.fromkeys(s.table for s in resolved)
    }
    tasks = [
        _prepare_task(
            dataset.tables[s.table], s, splits[s.table], standardize_targets, split_seed
        )
        for s in resolved
    ]
    return PreparedData(dataset, tasks)


def _prepare_task(
    table: pd.DataFrame,
    spec: TaskSpec,
    rows: dict[str, np.ndarray],
    standardize: bool,
    split_seed: int = 0,
) -> TaskData:
    inputs = list(spec.inputs or ())
    target = table[spec.target]
    has_target = target.notna().to_numpy()
    parts = {split: table.iloc[idx][has_target[idx]] for split, idx in rows.items()}
    labelled_train = len(parts["train"])
    if spec.train_rows is not None and spec.train_rows < labelled_train:
        # A seeded sample of the labelled training rows, the same whichever tasks train
        # beside this one; validation and test rows stay whole.
        keep = numpy_rng(split_seed, "train_rows", spec.name).permutation(labelled_train)
        parts["train"] = parts["train"].iloc[np.sort(keep[: spec.train_rows])]
    train = parts["train"]
    if len(train) < 2:
        raise DataError(
            f"Task '{spec.name}': only {len(train)} training row(s) have a value in "
            f"'{spec.target}'. Add rows or lower data.val_fraction / data.test_fraction.",
            where=spec.table,
            column=spec.target,
        )

    numeric = [c for c in inputs if pd.api.types.is_numeric_dtype(table[c])]
    text = [c for c in inputs if c not in numeric]
    transformers = []
    if numeric:
        transformers.append(
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric)
        )
    if text:
        transformers.append(
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                text,
            )
        )
    pre = ColumnTransformer(transformers, verbose_feature_names_out=False)
    # Text columns go through as object strings so missing values are np.nan for the imputer.
    frames = {s: _inputs_frame(p, numeric, text) for s, p in parts.items()}
    pre.fit(frames["train"])
    X = {s: _owned(pre.transform(f), np.float32) for s, f in frames.items()}

    classes: list | None = None
    mean, std = 0.0, 1.0
    if spec.kind == "regression":
        y_raw = {s: p[spec.target].to_numpy(dtype=np.float64) for s, p in parts.items()}
        if standardize:
            mean = float(y_raw["train"].mean())
            std = float(y_raw["train"].std()) or 1.0
        y = {s: ((v - mean) / std).astype(np.float32) for s, v in y_raw.items()}
    else:
        classes = sorted(target.dropna().unique().tolist(), key=str)
        index = {c: i for i, c in enumerate(classes)}
        dtype = np.float32 if spec.kind == "binary" else np.int64
        y = {s: p[spec.target].map(index).to_numpy(dtype=dtype) for s, p in parts.items()}

    all_rows = table[has_target]
    imputed = {c: int(all_rows[c].isna().sum()) for c in inputs if all_rows[c].isna().any()}
    return TaskData(
        spec=spec,
        classes=classes,
        feature_names=[str(n) for n in pre.get_feature_names_out()],
        X=X,
        y={s: _owned(v, v.dtype) for s, v in y.items()},
        target_mean=mean,
        target_std=std,
        dropped_missing_target=int((~has_target).sum()),
        unused_train_rows=labelled_train - len(train),
        imputed=imputed,
        preprocessor=pre,
    )


def _owned(a: np.ndarray, dtype) -> np.ndarray:
    """A writable C-contiguous copy (pandas may hand out read-only or column-major views)."""
    return np.array(a, dtype=dtype, order="C", copy=True)


def _inputs_frame(part: pd.DataFrame, numeric: list[str], text: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(index=part.index)
    for c in numeric:
        frame[c] = part[c].astype("float64")
    for c in text:
        col = part[c]
        frame[c] = col.astype(str).astype(object).where(col.notna(), np.nan)
    return frame
