"""From tables and task specs to per-task arrays: splits, preprocessing, targets.

Splits are made per *table* (so tasks of one table share their test rows) from a
seeded permutation. Preprocessing is learned on each task's training rows only,
with scikit-learn: numbers are imputed with the median and standardised, text is
imputed with the most frequent value and one-hot encoded. Rows whose target is
missing (any of its targets, for a multi-output task) are dropped for that task only,
and counted; imputed input values are
counted too, so the UI can report both.

Aligned inputs (``align_columns``): tasks of *different tables* whose inputs share
column names are put into one feature space, so a model can give them one input
layer and transfer can start at the first layer. Each column name gets one
preprocessor, fitted on the union of those tasks' training rows; a column a task
does not read gets the neutral value (0 after standardising, all-zero one-hot),
and one indicator column per table says which table a row came from. Tasks of a
single table are prepared exactly as without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mtlcore.data.ingest import resolve_task
from mtlcore.data.spec import DataError, Dataset, TaskSpec
from mtlcore.seeding import numpy_rng

SPLITS = ("train", "val", "test")


@dataclass
class AlignedInputs:
    """One feature space for tasks of several tables that read same-named columns.

    ``columns`` maps each column name to its own fitted preprocessor (numbers:
    median imputer + standardiser; text: most-frequent imputer + one-hot), fitted on
    the union of the aligned tasks' training rows that have the column. ``tables``
    are the tables of those tasks, in order: one 0/1 indicator column each.
    """

    columns: dict[str, Pipeline]
    tables: list[str]

    def column_features(self, column: str) -> list[str]:
        return [str(n) for n in self.columns[column].get_feature_names_out()]

    def feature_names(self) -> list[str]:
        names = [n for c in self.columns for n in self.column_features(c)]
        return names + [f"table_{t}" for t in self.tables]

    def numeric(self, column: str) -> bool:
        return isinstance(self.columns[column][-1], StandardScaler)

    def transform(self, rows: pd.DataFrame, table: str, inputs: Sequence[str] | None) -> np.ndarray:
        """Rows of ``table`` read through ``inputs``; every other column is neutral (zeros)."""
        read = [c for c in self.columns if c in (inputs or ())]
        frame = _inputs_frame(
            rows, [c for c in read if self.numeric(c)], [c for c in read if not self.numeric(c)]
        )
        blocks = [
            self.columns[c].transform(frame[[c]])
            if c in read
            else np.zeros((len(frame), len(self.column_features(c))))
            for c in self.columns
        ]
        indicator = np.zeros((len(frame), len(self.tables)))
        indicator[:, self.tables.index(table)] = 1.0
        return np.hstack([*blocks, indicator])


@dataclass
class TaskData:
    """One task's preprocessed arrays per split, and how to read its outputs."""

    spec: TaskSpec  # resolved: kind decided, inputs explicit
    classes: list | None  # class labels (classification), in output order
    feature_names: list[str]  # after one-hot encoding
    X: dict[str, np.ndarray]  # split -> float32 (rows, features), C-contiguous
    # split -> float32 (regression, binary) or int64 (multiclass): (rows,), or (rows, k)
    # for a regression task with k target columns
    y: dict[str, np.ndarray]
    # Regression targets are trained as (y - mean) / std: floats for one target, (k,)
    # arrays (one entry per target column) for k targets.
    target_mean: float | np.ndarray = 0.0
    target_std: float | np.ndarray = 1.0
    dropped_missing_target: int = 0
    unused_train_rows: int = 0  # labelled training rows left out by the task's train_rows cap
    imputed: dict[str, int] = field(default_factory=dict)  # input column -> values imputed
    preprocessor: ColumnTransformer | AlignedInputs | None = None
    aligned_group: str | None = None  # the feature space shared with other tables' tasks

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def input_group(self) -> str:
        """Tasks of one input group share an input layer: they read the same columns of
        the same table, or one aligned feature space across tables."""
        if self.aligned_group is not None:
            return self.aligned_group
        return f"{self.spec.table}:{','.join(self.spec.inputs or ())}"

    @property
    def targets(self) -> tuple[str, ...]:
        """The target column names, one per output of a regression task."""
        return self.spec.targets

    @property
    def multi_output(self) -> bool:
        """A regression task with several target columns: y and predictions are (rows, k)."""
        return self.spec.n_outputs > 1

    @property
    def out_dim(self) -> int:
        return len(self.classes) if self.kind == "multiclass" else self.spec.n_outputs

    def n_rows(self, split: str) -> int:
        return len(self.y[split])

    def target_in_units(self, y: np.ndarray) -> np.ndarray:
        """Regression outputs back in the target columns' own units (per column for
        (rows, k) arrays)."""
        return y * self.target_std + self.target_mean

    def predictions_in_units(self, output: np.ndarray) -> np.ndarray:
        """A regression task's raw model outputs, (rows, out_dim), as predictions in the
        targets' units, shaped like ``y``: (rows,) for one target, (rows, k) for k."""
        return self.target_in_units(output if self.multi_output else output[:, 0])


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
        groups = dict.fromkeys(t.aligned_group for t in self.tasks if t.aligned_group)
        for g in groups:
            members = [t for t in self.tasks if t.aligned_group == g]
            pre = members[0].preprocessor
            assert isinstance(pre, AlignedInputs)
            out.append(
                f"Tasks {', '.join(t.name for t in members)} read tables "
                f"{', '.join(pre.tables)}: their columns {', '.join(pre.columns)} share one "
                "input layer (scaling learned on their training rows together; a column a "
                "table lacks reads as 0; data.align_columns)."
            )
        for t in self.tasks:
            if t.dropped_missing_target:
                which = (
                    f"target '{t.targets[0]}' is missing"
                    if not t.multi_output
                    else f"targets ({', '.join(t.targets)}) miss a value"
                )
                out.append(
                    f"{t.name}: dropped {t.dropped_missing_target} row(s) of table "
                    f"'{t.spec.table}' whose {which}."
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
    align_columns: bool = False,
) -> PreparedData:
    """Validate the tasks against their tables and build their arrays.

    ``align_columns`` puts tasks of different tables that read same-named columns
    into one feature space (see the module docstring); it changes nothing when all
    tasks read one table. Off here so library callers get per-task preprocessing
    unless they ask; the experiment config (``data.align_columns``) turns it on.
    """
    resolved = [resolve_task(dataset, s) for s in specs]
    splits = {
        table: split_rows(
            len(dataset.tables[table]), val_fraction, test_fraction, split_seed, table
        )
        for table in dict.fromkeys(s.table for s in resolved)
    }
    rows = {
        s.name: _task_rows(dataset.tables[s.table], s, splits[s.table], split_seed)
        for s in resolved
    }
    parts = {name: p for name, (p, _) in rows.items()}
    aligned: dict[str, tuple[AlignedInputs, str]] = {}
    for group in aligned_groups(resolved) if align_columns else []:
        pre = _fit_aligned(dataset, group, parts)
        key = f"aligned:{'+'.join(pre.tables)}:{','.join(pre.columns)}"
        aligned.update({s.name: (pre, key) for s in group})
    tasks = []
    for s in resolved:
        table = dataset.tables[s.table]
        if s.name in aligned:
            pre, key = aligned[s.name]
            X = {split: pre.transform(p, s.table, s.inputs) for split, p in parts[s.name].items()}
        else:
            (pre, X), key = _own_features(table, s, parts[s.name]), None
        task = _task_data(table, s, parts[s.name], pre, X, standardize_targets)
        task.unused_train_rows, task.aligned_group = rows[s.name][1], key
        tasks.append(task)
    return PreparedData(dataset, tasks)


def aligned_groups(specs: Sequence[TaskSpec]) -> list[list[TaskSpec]]:
    """Sets of tasks, from two or more tables, linked by input columns of the same name.

    Two tasks of different tables that read a column of the same name are linked;
    each connected set of linked tasks becomes one feature space. A task that
    shares no column name with another table's task keeps its own preprocessing.
    """
    parent = list(range(len(specs)))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i, a in enumerate(specs):
        for j in range(i):
            b = specs[j]
            if a.table != b.table and set(a.inputs or ()) & set(b.inputs or ()):
                parent[root(i)] = root(j)
    groups: dict[int, list[TaskSpec]] = {}
    for i, s in enumerate(specs):
        groups.setdefault(root(i), []).append(s)
    return [g for g in groups.values() if len({s.table for s in g}) > 1]


def _task_rows(
    table: pd.DataFrame, spec: TaskSpec, rows: dict[str, np.ndarray], split_seed: int
) -> tuple[dict[str, pd.DataFrame], int]:
    """The task's labelled rows per split, its training rows capped by ``train_rows``,
    and how many labelled training rows the cap left out."""
    has_target = table[list(spec.targets)].notna().all(axis=1).to_numpy()
    parts = {split: table.iloc[idx][has_target[idx]] for split, idx in rows.items()}
    labelled_train = len(parts["train"])
    if spec.train_rows is not None and spec.train_rows < labelled_train:
        # A seeded sample of the labelled training rows, the same whichever tasks train
        # beside this one; validation and test rows stay whole.
        keep = numpy_rng(split_seed, "train_rows", spec.name).permutation(labelled_train)
        parts["train"] = parts["train"].iloc[np.sort(keep[: spec.train_rows])]
    if len(parts["train"]) < 2:
        raise DataError(
            f"Task '{spec.name}': only {len(parts['train'])} training row(s) have a value in "
            f"{_quoted(spec.targets)}. Add rows or lower data.val_fraction / data.test_fraction.",
            where=spec.table,
            column=spec.targets[0],
        )
    return parts, labelled_train - len(parts["train"])


def _kinds(table: pd.DataFrame, spec: TaskSpec) -> tuple[list[str], list[str]]:
    """The task's inputs split into numeric and text columns."""
    inputs = list(spec.inputs or ())
    numeric = [c for c in inputs if pd.api.types.is_numeric_dtype(table[c])]
    return numeric, [c for c in inputs if c not in numeric]


def _number_pipeline() -> Pipeline:
    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler())


def _text_pipeline() -> Pipeline:
    return make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )


def _own_features(
    table: pd.DataFrame, spec: TaskSpec, parts: dict[str, pd.DataFrame]
) -> tuple[ColumnTransformer, dict[str, np.ndarray]]:
    """The task's own preprocessor, fitted on its training rows, and its arrays."""
    numeric, text = _kinds(table, spec)
    transformers = []
    if numeric:
        transformers.append(("num", _number_pipeline(), numeric))
    if text:
        transformers.append(("cat", _text_pipeline(), text))
    pre = ColumnTransformer(transformers, verbose_feature_names_out=False)
    # Text columns go through as object strings so missing values are np.nan for the imputer.
    frames = {s: _inputs_frame(p, numeric, text) for s, p in parts.items()}
    pre.fit(frames["train"])
    return pre, {s: pre.transform(f) for s, f in frames.items()}


def _fit_aligned(
    dataset: Dataset, group: list[TaskSpec], parts: dict[str, dict[str, pd.DataFrame]]
) -> AlignedInputs:
    """One preprocessor per column name, fitted on the union of the group's training rows.

    A row of a table counts once however many tasks of that table train on it. A
    column that is text in any table is read as text everywhere.
    """
    tables = list(dict.fromkeys(s.table for s in group))
    columns = list(dict.fromkeys(c for s in group for c in s.inputs or ()))
    pipelines: dict[str, Pipeline] = {}
    for c in columns:
        readers = [s for s in group if c in (s.inputs or ())]
        numeric = all(pd.api.types.is_numeric_dtype(dataset.tables[s.table][c]) for s in readers)
        values = []
        for t in tables:
            index = [parts[s.name]["train"].index for s in readers if s.table == t]
            if index:
                rows = dataset.tables[t].loc[reduce(pd.Index.union, index)]
                values.append(_inputs_frame(rows, [c] if numeric else [], [] if numeric else [c]))
        pipe = _number_pipeline() if numeric else _text_pipeline()
        pipelines[c] = pipe.fit(pd.concat(values, ignore_index=True))
    return AlignedInputs(pipelines, tables)


def _task_data(
    table: pd.DataFrame,
    spec: TaskSpec,
    parts: dict[str, pd.DataFrame],
    pre: ColumnTransformer | AlignedInputs,
    X: dict[str, np.ndarray],
    standardize: bool,
) -> TaskData:
    column = spec.targets[0]  # the one target of a single-output task
    classes: list | None = None
    mean: float | np.ndarray = 0.0
    std: float | np.ndarray = 1.0
    if spec.kind == "regression" and spec.n_outputs > 1:
        y, mean, std = _multi_output_targets(parts, spec.targets, standardize)
    elif spec.kind == "regression":
        y_raw = {s: p[column].to_numpy(dtype=np.float64) for s, p in parts.items()}
        if standardize:
            mean = float(y_raw["train"].mean())
            std = float(y_raw["train"].std()) or 1.0
        y = {s: ((v - mean) / std).astype(np.float32) for s, v in y_raw.items()}
    else:
        classes = sorted(table[column].dropna().unique().tolist(), key=str)
        index = {c: i for i, c in enumerate(classes)}
        dtype = np.float32 if spec.kind == "binary" else np.int64
        y = {s: p[column].map(index).to_numpy(dtype=dtype) for s, p in parts.items()}

    inputs = list(spec.inputs or ())
    has_target = table[list(spec.targets)].notna().all(axis=1)
    all_rows = table[has_target]
    imputed = {c: int(all_rows[c].isna().sum()) for c in inputs if all_rows[c].isna().any()}
    names = pre.feature_names() if isinstance(pre, AlignedInputs) else pre.get_feature_names_out()
    return TaskData(
        spec=spec,
        classes=classes,
        feature_names=[str(n) for n in names],
        X={s: _owned(v, np.float32) for s, v in X.items()},
        y={s: _owned(v, v.dtype) for s, v in y.items()},
        target_mean=mean,
        target_std=std,
        dropped_missing_target=int((~has_target).sum()),
        imputed=imputed,
        preprocessor=pre,
    )


def _multi_output_targets(
    parts: dict[str, pd.DataFrame], targets: Sequence[str], standardize: bool
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """(rows, k) float32 targets per split, standardised per column on the training rows
    (each output then weighs alike in the mean squared error), with each column's
    mean and std; a constant training column keeps std 1."""
    y_raw = {s: p[list(targets)].to_numpy(dtype=np.float64) for s, p in parts.items()}
    k = len(targets)
    mean, std = np.zeros(k), np.ones(k)
    if standardize:
        mean = y_raw["train"].mean(axis=0)
        std = y_raw["train"].std(axis=0)
        std[std == 0] = 1.0
    return {s: ((v - mean) / std).astype(np.float32) for s, v in y_raw.items()}, mean, std


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(f"'{c}'" for c in columns)


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
