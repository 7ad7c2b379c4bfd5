"""From tables and task specs to per-task arrays: splits, preprocessing, targets.

Splits are made per *table* (so tasks of one table share their test rows) from a
seeded permutation. Preprocessing is learned on the training rows of the table, once
for the tasks that read the same input columns (their inputs only: a row whose target is
missing still shows what the inputs look like; validation and test rows never count) —
except for a task whose ``train_rows`` cap leaves labelled rows out, which plays a task
with few examples and learns its own on the rows it keeps —, with scikit-learn: numbers are imputed
with the median and standardised, text is
imputed with the most frequent value and one-hot encoded, and a date column becomes
seven numbers (:class:`DateFeatures`: its year, and the sine and cosine of its month,
day of year and day of week), imputed with the median and standardised like numbers.
The date features live inside the fitted preprocessor, whose fitted numbers
:mod:`mtlcore.saved_preprocessing` saves with a run so that new rows are read exactly
as the training rows were (:mod:`mtlcore.predict`). Rows whose target is
missing (any of its targets, for a multi-output task) are dropped for that task only,
and counted; imputed input values are
counted too, so the UI can report both. A task's arrays are the rows it keeps of the
table's float32 matrix of each split: the matrix itself when it keeps them all (tasks
of one batch group share those very arrays), else a copy of its rows.

Aligned inputs (``align_columns``): tasks of *different tables* whose inputs share
column names are put into one feature space, so a model can give them one input
layer and transfer can start at the first layer. Each column name gets one
preprocessor, fitted on the union of those tasks' training rows; a column a task
does not read gets the neutral value (0 after standardising, all-zero one-hot),
and one indicator column per table says which table a row came from. Tasks of a
single table are prepared exactly as without it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import reduce

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mtlcore.data.ingest import DATE_FORMATS_ATTR, resolve_task, to_dates
from mtlcore.data.inputs import imputed_counts, input_kinds
from mtlcore.data.spec import DataError, Dataset, TaskSpec
from mtlcore.kinds import Kind, kind_named
from mtlcore.seeding import numpy_rng

# Predictions are written with the decimals their target's training values have, at most this.
MAX_DECIMALS = 6

# The features a date column becomes, in order (see DateFeatures).
DATE_FEATURES = (
    "year", "month_sin", "month_cos", "day_of_year_sin", "day_of_year_cos",
    "day_of_week_sin", "day_of_week_cos",
)  # fmt: skip


def date_features(values: pd.Series, fmt: str | None = None) -> np.ndarray:
    """(rows, 7) float64: a date column's :data:`DATE_FEATURES`; NaN where a date is missing.

    The year stays a number (a trend); month, day of year and day of week are cycles, so
    each becomes a point on a circle, (sin, cos) of 2π·position/period, with periods 12
    months, 365.25 days and 7 days: 31 December sits next to 1 January and Sunday next to
    Monday, which plain numbers (12 vs 1, 6 vs 0) would put far apart. Strings are read
    with ``fmt`` (the format :func:`~mtlcore.data.ingest.parse_dates` found at training).
    """
    dates = to_dates(values, fmt)
    dt = pd.DatetimeIndex(dates)
    cycles = [
        (dt.month.to_numpy(dtype=float) - 1, 12.0),
        (dt.day_of_year.to_numpy(dtype=float) - 1, 365.25),
        (dt.day_of_week.to_numpy(dtype=float), 7.0),
    ]
    columns = [dt.year.to_numpy(dtype=float)]
    for position, period in cycles:
        angle = 2 * np.pi * position / period
        columns += [np.sin(angle), np.cos(angle)]
    return np.column_stack(columns)


class DateFeatures(TransformerMixin, BaseEstimator):
    """Date columns -> :data:`DATE_FEATURES` per column (see :func:`date_features`).

    ``formats`` maps a column to the format its strings are written in (from
    ``DataFrame.attrs["date_formats"]``, set by :func:`~mtlcore.data.ingest.parse_dates`),
    so new rows given as text are read as the training file was. Missing dates give NaN,
    for the imputer that follows.
    """

    def __init__(self, formats: dict[str, str] | None = None):
        self.formats = formats

    def fit(self, X: pd.DataFrame, y: object = None) -> DateFeatures:
        self.feature_names_in_ = np.array([str(c) for c in X.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        formats = self.formats or {}
        blocks = [date_features(X[c], formats.get(c)) for c in self.feature_names_in_]
        return np.hstack(blocks) if blocks else np.zeros((len(X), 0))

    def get_feature_names_out(self, input_features: object = None) -> np.ndarray:
        return np.array(
            [f"{c}_{f}" for c in self.feature_names_in_ for f in DATE_FEATURES], dtype=object
        )


@dataclass
class AlignedInputs:
    """One feature space for tasks of several tables that read same-named columns.

    ``columns`` maps each column name to its own fitted preprocessor (numbers:
    median imputer + standardiser; text: most-frequent imputer + one-hot; dates:
    :class:`DateFeatures` + median imputer + standardiser), fitted on
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
        return isinstance(self.columns[column][-1], StandardScaler) and not self.date(column)

    def date(self, column: str) -> bool:
        return isinstance(self.columns[column][0], DateFeatures)

    def transform(self, rows: pd.DataFrame, table: str, inputs: Sequence[str] | None) -> np.ndarray:
        """Rows of ``table`` read through ``inputs``; every other column is neutral (zeros)."""
        read = [c for c in self.columns if c in (inputs or ())]
        dates = [c for c in read if self.date(c)]
        numeric = [c for c in read if self.numeric(c)]
        text = [c for c in read if c not in numeric and c not in dates]
        frame = _inputs_frame(rows, numeric, text, dates)
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
    # Decimals each regression target's training values are written with (capped at
    # MAX_DECIMALS): predictions are written with as many, in target order.
    target_decimals: tuple[int, ...] = ()
    dropped_missing_target: int = 0
    unused_train_rows: int = 0  # labelled training rows left out by the task's train_rows cap
    imputed: dict[str, int] = field(default_factory=dict)  # input column -> values imputed
    preprocessor: ColumnTransformer | AlignedInputs | None = None
    aligned_group: str | None = None  # the feature space shared with other tables' tasks
    # Tasks with the same batch group read the same columns of the same rows: their X
    # arrays are the very same objects, and training draws one batch for all of them
    # (see mtlcore.train). The key names the table, inputs and rows, never other tasks.
    batch_group: str = ""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def kind_rules(self) -> Kind:
        """The task's kind as an object: its loss, decoding, metrics, trivial baseline."""
        return kind_named(self.spec.kind)

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
        return self.kind_rules.out_dim(self.spec.n_outputs, len(self.classes or []))

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
            dates = [c for c in t.spec.inputs or () if c in _date_inputs(t)]
            if dates:
                out.append(
                    f"{t.name}: read date column(s) {', '.join(dates)} as year and sin/cos of "
                    "month, day of year and day of week."
                )
            for col, n in t.imputed.items():
                out.append(
                    f"{t.name}: filled {n} missing value(s) in '{col}' "
                    "(median of the training rows for numbers, most frequent value for text)."
                )
        return out


def _date_inputs(task: TaskData) -> list[str]:
    pre = task.preprocessor
    if isinstance(pre, AlignedInputs):
        return [c for c in pre.columns if pre.date(c)]
    if isinstance(pre, ColumnTransformer):
        return [c for name, _, cols in pre.transformers_ if name == "date" for c in cols]
    return []


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
    positions = {name: p for name, (p, _) in rows.items()}
    aligned: dict[str, tuple[AlignedInputs, str]] = {}
    for group in aligned_groups(resolved) if align_columns else []:
        pre = _fit_aligned(dataset, group, positions)
        key = f"aligned:{'+'.join(pre.tables)}:{','.join(pre.columns)}"
        aligned.update({s.name: (pre, key) for s in group})
    tasks = []
    # One preprocessor and one matrix per split for the tasks of a table that read the
    # same inputs; tasks that read the same rows (a batch group) share their arrays.
    tables: dict[tuple[str, tuple[str, ...]], TableFeatures] = {}
    features: dict[str, tuple[ColumnTransformer | AlignedInputs, dict[str, np.ndarray]]] = {}
    for s in resolved:
        table, pos = dataset.tables[s.table], positions[s.name]
        key = aligned[s.name][1] if s.name in aligned else None
        group = _batch_group(s, pos, key)
        if group not in features:
            if s.name in aligned:
                pre = aligned[s.name][0]
                cols = list(s.inputs or ())
                X = {
                    sp: _owned(pre.transform(_take(table, cols, p), s.table, s.inputs), np.float32)
                    for sp, p in pos.items()
                }
                features[group] = pre, X
            elif rows[s.name][1]:  # few labels by design (train_rows): its own rows only
                features[group] = _table_features(table, s, pos).rows(pos)
            else:
                inputs = (s.table, tuple(s.inputs or ()))
                if inputs not in tables:
                    tables[inputs] = _table_features(table, s, splits[s.table])
                features[group] = tables[inputs].rows(pos)
        pre, X = features[group]
        task = _task_data(table, s, pos, pre, X, standardize_targets)
        task.unused_train_rows, task.aligned_group = rows[s.name][1], key
        task.batch_group = group
        tasks.append(task)
    return PreparedData(dataset, tasks)


@dataclass
class TableFeatures:
    """The inputs of a table's tasks that read the same columns: one preprocessor, fitted
    on the table's training rows, and the float32 matrix of each split (all its rows)."""

    preprocessor: ColumnTransformer
    split_rows: dict[str, np.ndarray]  # split -> sorted row positions of the table
    X: dict[str, np.ndarray]  # split -> (rows of the split, features)

    def rows(
        self, positions: dict[str, np.ndarray]
    ) -> tuple[ColumnTransformer, dict[str, np.ndarray]]:
        """The preprocessor and the arrays of a task's rows (a subset of each split's): the
        split's own matrix when it keeps every row, else those rows of it."""
        X = {}
        for split, pos in positions.items():
            whole, full = self.split_rows[split], self.X[split]
            same = len(pos) == len(whole) and np.array_equal(pos, whole)
            X[split] = full if same else full[np.searchsorted(whole, pos)]
        return self.preprocessor, X


# Rows are transformed this many at a time, into the float32 matrix: the float64 blocks
# scikit-learn builds stay small.
_TRANSFORM_ROWS = 65_536


def _table_features(
    table: pd.DataFrame, spec: TaskSpec, splits: dict[str, np.ndarray]
) -> TableFeatures:
    """The preprocessor of ``spec``'s inputs fitted on every training row of its table
    (whatever the targets hold: inputs only), and each split's matrix."""
    numeric, text, dates = input_kinds(table, spec)
    columns = [c for c in table.columns if c in set(numeric + text + dates)]
    pre = _column_transformer(table, numeric, text, dates)

    def frame(pos: np.ndarray) -> pd.DataFrame:
        return _inputs_frame(_take(table, columns, pos), numeric, text, dates)

    train: pd.DataFrame | None = frame(splits["train"])
    pre.fit(train)
    n_features = len(pre.get_feature_names_out())
    X = {}
    for split in sorted(splits, key=lambda s: s != "train"):  # while its frame is at hand
        pos = splits[split]
        out = np.empty((len(pos), n_features), dtype=np.float32)
        for start in range(0, len(pos), _TRANSFORM_ROWS):
            stop = min(start + _TRANSFORM_ROWS, len(pos))
            rows = train.iloc[start:stop] if train is not None else frame(pos[start:stop])
            out[start:stop] = pre.transform(rows)
        X[split], train = out, None
    return TableFeatures(pre, splits, {s: X[s] for s in splits})


def _take(table: pd.DataFrame, columns: Sequence[str], positions: np.ndarray) -> pd.DataFrame:
    """Those columns of those rows (one copy of just them)."""
    return table.iloc[positions, table.columns.get_indexer(list(columns))]


def _batch_group(spec: TaskSpec, positions: dict[str, np.ndarray], aligned: str | None) -> str:
    """The key of the tasks that read ``spec``'s columns of the same rows in every split:
    its table, inputs, aligned feature space and a digest of its rows per split."""
    digest = hashlib.blake2b(digest_size=12)
    for split in sorted(positions):
        digest.update(split.encode())
        digest.update(np.ascontiguousarray(positions[split], dtype=np.int64).tobytes())
    inputs = ",".join(spec.inputs or ())
    return f"{spec.table}:{inputs}|{aligned or ''}|{digest.hexdigest()}"


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
) -> tuple[dict[str, np.ndarray], int]:
    """The positions of the task's labelled rows per split, its training rows capped by
    ``train_rows``, and how many labelled training rows the cap left out."""
    has_target = table[list(spec.targets)].notna().all(axis=1).to_numpy()
    parts = {split: idx[has_target[idx]] for split, idx in rows.items()}
    labelled_train = len(parts["train"])
    if spec.train_rows is not None and spec.train_rows < labelled_train:
        # A seeded sample of the labelled training rows, the same whichever tasks train
        # beside this one; validation and test rows stay whole.
        keep = numpy_rng(split_seed, "train_rows", spec.name).permutation(labelled_train)
        parts["train"] = parts["train"][np.sort(keep[: spec.train_rows])]
    if len(parts["train"]) < 2:
        raise DataError(
            f"Task '{spec.name}': only {len(parts['train'])} training row(s) have a value in "
            f"{_quoted(spec.targets)}. Add rows or lower data.val_fraction / data.test_fraction.",
            where=spec.table,
            column=spec.targets[0],
        )
    return parts, labelled_train - len(parts["train"])


def _number_pipeline() -> Pipeline:
    return make_pipeline(SimpleImputer(strategy="median"), StandardScaler())


def _date_pipeline(formats: dict[str, str]) -> Pipeline:
    return make_pipeline(DateFeatures(formats), SimpleImputer(strategy="median"), StandardScaler())


def _date_formats(table: pd.DataFrame) -> dict[str, str]:
    return dict(table.attrs.get(DATE_FORMATS_ATTR, {}))


def _text_pipeline() -> Pipeline:
    return make_pipeline(
        SimpleImputer(strategy="most_frequent"),
        OneHotEncoder(handle_unknown="ignore", sparse_output=False),
    )


def _column_transformer(
    table: pd.DataFrame, numeric: list[str], text: list[str], dates: list[str]
) -> ColumnTransformer:
    """Numbers, text and dates each through their pipeline (text goes in as object
    strings, see :func:`_inputs_frame`, so missing values are np.nan for the imputer)."""
    transformers = []
    if numeric:
        transformers.append(("num", _number_pipeline(), numeric))
    if text:
        transformers.append(("cat", _text_pipeline(), text))
    if dates:
        transformers.append(("date", _date_pipeline(_date_formats(table)), dates))
    return ColumnTransformer(transformers, verbose_feature_names_out=False)


def _fit_aligned(
    dataset: Dataset, group: list[TaskSpec], positions: dict[str, dict[str, np.ndarray]]
) -> AlignedInputs:
    """One preprocessor per column name, fitted on the union of the group's training rows.

    A row of a table counts once however many tasks of that table train on it. A
    column that is text in any table is read as text everywhere; a column that is a
    date in every table is read as a date.
    """
    tables = list(dict.fromkeys(s.table for s in group))
    columns = list(dict.fromkeys(c for s in group for c in s.inputs or ()))
    pipelines: dict[str, Pipeline] = {}
    for c in columns:
        readers = [s for s in group if c in (s.inputs or ())]
        frames = [dataset.tables[s.table] for s in readers]
        date = all(pd.api.types.is_datetime64_any_dtype(f[c]) for f in frames)
        numeric = not date and all(pd.api.types.is_numeric_dtype(f[c]) for f in frames)
        kind = "date" if date else "numeric" if numeric else "text"
        values = []
        for t in tables:
            index = [positions[s.name]["train"] for s in readers if s.table == t]
            if index:
                rows = _take(dataset.tables[t], [c], reduce(np.union1d, index))
                values.append(_inputs_frame(rows, *_one_kind(c, kind)))
        formats = next(({c: _date_formats(f)[c]} for f in frames if c in _date_formats(f)), {})
        pipe = (
            _date_pipeline(formats) if date else _number_pipeline() if numeric else _text_pipeline()
        )
        pipelines[c] = pipe.fit(pd.concat(values, ignore_index=True))
    return AlignedInputs(pipelines, tables)


def _task_data(
    table: pd.DataFrame,
    spec: TaskSpec,
    positions: dict[str, np.ndarray],
    pre: ColumnTransformer | AlignedInputs,
    X: dict[str, np.ndarray],
    standardize: bool,
) -> TaskData:
    column = spec.targets[0]  # the one target of a single-output task
    parts = {split: _take(table, spec.targets, pos) for split, pos in positions.items()}
    classes: list | None = None
    decimals: tuple[int, ...] = ()
    mean: float | np.ndarray = 0.0
    std: float | np.ndarray = 1.0
    kind = kind_named(spec.kind)
    if kind.predicts_numbers:
        decimals = tuple(
            decimals_of(parts["train"][c].to_numpy(dtype=np.float64)) for c in spec.targets
        )
    if kind.predicts_numbers and spec.n_outputs > 1:
        y, mean, std = _multi_output_targets(parts, spec.targets, standardize)
    elif kind.predicts_numbers:
        y_raw = {s: p[column].to_numpy(dtype=np.float64) for s, p in parts.items()}
        if standardize:
            mean = float(y_raw["train"].mean())
            std = float(y_raw["train"].std()) or 1.0
        y = {s: ((v - mean) / std).astype(np.float32) for s, v in y_raw.items()}
    else:
        values = pd.Index(table[column].dropna().unique())
        classes = sorted(map(_label, values.tolist()), key=str)
        index = {c: i for i, c in enumerate(classes)}
        code = np.array([index[_label(v)] for v in values.tolist()])  # per distinct value
        dtype = kind.label_dtype  # a classification kind: the class index as its loss reads it
        y = {s: code[values.get_indexer(p[column])].astype(dtype) for s, p in parts.items()}

    has_target = table[list(spec.targets)].notna().all(axis=1)
    names = pre.feature_names() if isinstance(pre, AlignedInputs) else pre.get_feature_names_out()
    return TaskData(
        spec=spec,
        classes=classes,
        feature_names=[str(n) for n in names],
        X=X,  # owned float32 arrays, shared by the tasks of one batch group
        y={s: _owned(v, v.dtype) for s, v in y.items()},
        target_mean=mean,
        target_std=std,
        target_decimals=decimals,
        dropped_missing_target=int((~has_target).sum()),
        imputed=imputed_counts(table, spec),
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


def decimals_of(values: np.ndarray, cap: int = MAX_DECIMALS) -> int:
    """The fewest decimals that write every finite value exactly (3.5 -> 1, 1200 -> 0),
    at most ``cap``."""
    v = values[np.isfinite(values)]
    for d in range(cap + 1):
        if np.all(np.abs(np.round(v, d) - v) <= 1e-9 * np.maximum(1.0, np.abs(v))):
            return d
    return cap


def _label(value: object) -> object:
    """A class label as the file wrote it: 4 rather than 4.0 (a whole-number column with a
    missing value is read as floats)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _quoted(columns: Sequence[str]) -> str:
    return ", ".join(f"'{c}'" for c in columns)


def _owned(a: np.ndarray, dtype) -> np.ndarray:
    """A writable C-contiguous copy (pandas may hand out read-only or column-major views)."""
    return np.array(a, dtype=dtype, order="C", copy=True)


def _one_kind(column: str, kind: str) -> tuple[list[str], list[str], list[str]]:
    """``column`` as the numeric, text or date list of :func:`_inputs_frame`'s arguments."""
    return tuple([column] if kind == k else [] for k in ("numeric", "text", "date"))  # type: ignore[return-value]


def _inputs_frame(
    part: pd.DataFrame, numeric: list[str], text: list[str], dates: Sequence[str] = ()
) -> pd.DataFrame:
    """The input columns as the preprocessors read them: numbers as float64, text as
    object strings (missing as NaN), dates as they are. Built at once: a column-by-column
    build fragments a wide frame (a PerformanceWarning per column)."""
    columns: dict[str, pd.Series] = {c: part[c].astype("float64") for c in numeric}
    for c in text:
        col = part[c]
        if isinstance(col.dtype, pd.StringDtype):  # strings already (what read_csv gives)
            values = col.to_numpy(dtype=object, na_value=np.nan)
            columns[c] = pd.Series(values, index=part.index, dtype=object)
        else:
            columns[c] = col.astype(str).astype(object).where(col.notna(), np.nan)
    columns.update({c: part[c] for c in dates})
    order = [c for c in part.columns if c in columns]
    return pd.DataFrame({c: columns[c] for c in order}, index=part.index)
