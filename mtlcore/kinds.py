"""Task kinds: what regression, binary and multiclass mean to the engine, each in one object.

A task's kind (``TaskSpec.kind``, decided from the data when the config says ``auto``)
settles its loss, how its raw model outputs read as predictions (numbers in the
target's units, or class labels), its probabilities, its metrics and primary metric,
and its trivial baseline. Each kind is one :class:`Kind` object here, looked up by
name with :func:`kind_named`; a prepared task carries its own
(:attr:`mtlcore.data.prepare.TaskData.kind_rules`). The training loop, evaluation,
snapshots, saved predictions, ``result.json`` and the dashboard ask it instead of
branching on the kind's name.

Raw model outputs are (rows, out_dim) arrays: one column per target column for a
regression task, one logit for a binary task (class 1 when it is above 0), one logit
per class for a multiclass task. Trained targets are a regression task's standardised
values ((rows,), or (rows, k) for k target columns) or class indices.

Importing this module imports no torch: the loss and the tensor metrics import it
when called, so the dashboard can ask a kind about a stored result.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

from mtlcore.metrics import classification_metrics, regression_metrics, tensor_metric

if TYPE_CHECKING:
    from torch import Tensor

    from mtlcore.data.prepare import TaskData


class Decodable(Protocol):
    """What decoding a task's outputs reads: a prepared task (``TaskData``) or a saved one
    (``mtlcore.saved_preprocessing.SavedTask``)."""

    targets: Any  # target column names, in output order
    classes: list | None  # class labels (classification), in output order
    target_mean: Any  # a regression target's training mean (per target column for k > 1)
    target_std: Any  # the std it was divided by for training
    target_decimals: Any  # decimals of each target's training values (None/() if unknown)


class Kind(ABC):
    """One task kind; :data:`REGRESSION`, :data:`BINARY` and :data:`MULTICLASS` are the only
    instances."""

    name: ClassVar[str]
    primary_metric: ClassVar[str]  # the metric the comparison and the curves use
    predicts_numbers: ClassVar[bool]  # predictions are numbers in the target's units
    trivial_predictor: ClassVar[str]  # the trivial baseline's prediction, in words
    likelihood: ClassVar[str]  # whose negative log-likelihood the loss is

    def __repr__(self) -> str:
        return f"<task kind {self.name}>"

    def out_dim(self, n_targets: int, n_classes: int) -> int:
        """Outputs the model gives such a task."""
        return n_targets

    @abstractmethod
    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        """The task's mean loss on a batch of raw outputs and trained targets."""

    @abstractmethod
    def decode(self, task: Decodable, output: np.ndarray) -> np.ndarray:
        """Raw outputs -> predictions: float64 in the target's units ((rows,), or (rows, k)
        for k targets) or class labels as a unicode array."""

    @abstractmethod
    def decode_targets(self, task: TaskData, y: np.ndarray) -> np.ndarray:
        """Trained targets -> true values: float64 in the target's units, or class labels."""

    @abstractmethod
    def metrics(self, task: TaskData, output: np.ndarray, y: np.ndarray) -> dict[str, float]:
        """Every metric of raw outputs against trained targets, in the target's units."""

    @abstractmethod
    def tensor_metric(self, task: TaskData, output: Tensor, y: Tensor, metric: str) -> float:
        """One metric of :meth:`metrics` from tensors, on their device: the same number."""

    @abstractmethod
    def trivial_metrics(self, task: TaskData, split: str) -> dict[str, float]:
        """Every metric of the trivial predictor on ``split``, learned from the training rows."""

    @abstractmethod
    def readable(self, task: TaskData, output: np.ndarray, y: np.ndarray) -> list[tuple]:
        """(row, output column, truth, prediction) per row and output, in row order and a
        multi-output task's outputs in target order: numbers rounded to the decimals of
        the target's training values, or class labels as the data holds them."""

    @abstractmethod
    def column_predictions(self, task: Decodable, output: np.ndarray) -> dict[str, list]:
        """Raw outputs as predictions per target column, as written for new rows: numbers
        rounded like the training values, or class labels as the data holds them."""

    def target_scale(self, task: TaskData) -> list[float] | None:
        """Per target column, the std its values were divided by for training; None when
        the kind has no scale (classification)."""
        return None


class Regression(Kind):
    """Numbers: mean squared error in standardised units; RMSE, MAE and R² in the target's
    units, pooled over the outputs of a multi-output task; the training mean as the
    trivial predictor."""

    name = "regression"
    primary_metric = "rmse"
    predicts_numbers = True
    trivial_predictor = "the training mean"
    likelihood = "gaussian"

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        import torch.nn.functional as F

        return F.mse_loss(out.squeeze(-1), y)

    def decode(self, task: Decodable, output: np.ndarray) -> np.ndarray:
        values = output[:, : len(task.targets)].astype(np.float64)
        values = values * np.asarray(task.target_std) + np.asarray(task.target_mean)
        return values if len(task.targets) > 1 else values[:, 0]

    def decode_targets(self, task: TaskData, y: np.ndarray) -> np.ndarray:
        return task.target_in_units(y.astype(np.float64))

    def metrics(self, task: TaskData, output: np.ndarray, y: np.ndarray) -> dict[str, float]:
        return regression_metrics(task.target_in_units(y), task.predictions_in_units(output))

    def tensor_metric(self, task: TaskData, output: Tensor, y: Tensor, metric: str) -> float:
        import torch

        std = torch.as_tensor(task.target_std, dtype=torch.float64, device=output.device)
        mean = torch.as_tensor(task.target_mean, dtype=torch.float64, device=output.device)
        pred = output if task.multi_output else output[:, 0]
        return tensor_metric(metric, y.double() * std + mean, pred.double() * std + mean)

    def trivial_metrics(self, task: TaskData, split: str) -> dict[str, float]:
        truth = task.target_in_units(task.y[split].astype(np.float64))
        mean = task.target_in_units(task.y["train"].astype(np.float64)).mean(axis=0)
        return regression_metrics(truth, np.broadcast_to(mean, truth.shape))

    def readable(self, task: TaskData, output: np.ndarray, y: np.ndarray) -> list[tuple]:
        from mtlcore.data.prepare import MAX_DECIMALS

        # (rows, k) either way, column by column at numpy speed, then row × output in
        # target order; numbers written with the decimals of the target's training values
        # (14, not 13.999999046)
        truth = task.target_in_units(y).reshape(len(y), -1)
        pred = task.predictions_in_units(output).reshape(len(y), -1)
        decimals = task.target_decimals or (MAX_DECIMALS,) * len(task.targets)
        return _row_tuples(
            task.targets,
            [in_precision_list(truth[:, j], d) for j, d in enumerate(decimals)],
            [in_precision_list(pred[:, j], d) for j, d in enumerate(decimals)],
        )

    def column_predictions(self, task: Decodable, output: np.ndarray) -> dict[str, list]:
        values = self.decode(task, output).reshape(len(output), -1)
        decimals = task.target_decimals or [None] * len(task.targets)
        return {t: in_precision_list(values[:, i], decimals[i]) for i, t in enumerate(task.targets)}

    def target_scale(self, task: TaskData) -> list[float] | None:
        return [float(v) for v in np.atleast_1d(task.target_std)]


class Classification(Kind):
    """Class labels: accuracy (primary), F1 and ROC AUC; the training class frequencies as
    the trivial predictor (its accuracy is the majority-class rate, its AUC 0.5)."""

    primary_metric = "accuracy"
    predicts_numbers = False
    trivial_predictor = "the majority class"
    label_dtype: ClassVar[type]  # the dtype of the class index as the kind's loss reads it

    @abstractmethod
    def class_index(self, output: np.ndarray) -> np.ndarray:
        """The predicted class of each row (its index in ``classes``)."""

    @abstractmethod
    def probabilities(self, output: np.ndarray) -> np.ndarray:
        """(rows,) probability of class 1 (binary) or (rows, classes) (multiclass)."""

    def decode(self, task: Decodable, output: np.ndarray) -> np.ndarray:
        return _labels(task, self.class_index(output))

    def decode_targets(self, task: TaskData, y: np.ndarray) -> np.ndarray:
        return _labels(task, y.astype(int))

    def n_classes(self, task: Decodable) -> int:
        return len(task.classes or [])

    def metrics(self, task: TaskData, output: np.ndarray, y: np.ndarray) -> dict[str, float]:
        proba = self.probabilities(output)
        return classification_metrics(y.astype(int), proba, self.n_classes(task))

    def trivial_metrics(self, task: TaskData, split: str) -> dict[str, float]:
        y, n = task.y[split], self.n_classes(task)
        counts = np.bincount(task.y["train"].astype(int), minlength=n).astype(float)
        proba = self.trivial_probabilities(counts / counts.sum(), len(y))
        return classification_metrics(y.astype(int), proba, n)

    @abstractmethod
    def trivial_probabilities(self, freq: np.ndarray, rows: int) -> np.ndarray:
        """What the trivial predictor gives each of ``rows`` rows, from the training class
        frequencies ``freq``, shaped as :meth:`probabilities`."""

    def readable(self, task: TaskData, output: np.ndarray, y: np.ndarray) -> list[tuple]:
        labels = _label_objects(task)
        return _row_tuples(
            task.targets[:1],
            [labels[y.astype(int)].tolist()],
            [labels[self.class_index(output)].tolist()],
        )

    def column_predictions(self, task: Decodable, output: np.ndarray) -> dict[str, list]:
        return {task.targets[0]: _label_objects(task)[self.class_index(output)].tolist()}


class Binary(Classification):
    """Two classes: one logit, binary cross-entropy; class 1 when the logit is above 0."""

    name = "binary"
    likelihood = "bernoulli"
    label_dtype = np.float32  # the class index as BCE's float target

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        import torch.nn.functional as F

        return F.binary_cross_entropy_with_logits(out.squeeze(-1), y)

    def class_index(self, output: np.ndarray) -> np.ndarray:
        return (output[:, 0] > 0).astype(int)

    def probabilities(self, output: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # a very negative logit: exp overflows, p = 0
            return 1 / (1 + np.exp(-output[:, 0]))

    def n_classes(self, task: Decodable) -> int:
        return 2

    def tensor_metric(self, task: TaskData, output: Tensor, y: Tensor, metric: str) -> float:
        import torch

        proba = 1 / (1 + torch.exp(-output[:, 0].double()))
        return tensor_metric(metric, y.long(), (proba >= 0.5).long())

    def trivial_probabilities(self, freq: np.ndarray, rows: int) -> np.ndarray:
        return np.full(rows, freq[1])


class Multiclass(Classification):
    """Three classes or more: one logit per class, cross-entropy; the largest logit wins."""

    name = "multiclass"
    likelihood = "categorical"
    label_dtype = np.int64  # the class index as cross-entropy's target

    def out_dim(self, n_targets: int, n_classes: int) -> int:
        return n_classes

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        import torch.nn.functional as F

        return F.cross_entropy(out, y)

    def class_index(self, output: np.ndarray) -> np.ndarray:
        return output.argmax(axis=1)

    def probabilities(self, output: np.ndarray) -> np.ndarray:
        e = np.exp(output - output.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def tensor_metric(self, task: TaskData, output: Tensor, y: Tensor, metric: str) -> float:
        e = (output - output.max(dim=1, keepdim=True).values).exp()
        return tensor_metric(metric, y.long(), (e / e.sum(dim=1, keepdim=True)).argmax(dim=1))

    def trivial_probabilities(self, freq: np.ndarray, rows: int) -> np.ndarray:
        # Ties broken towards the most frequent class by argmax on a tiny tilt.
        return np.tile(freq + 1e-9 * (freq == freq.max()), (rows, 1))


REGRESSION, BINARY, MULTICLASS = Regression(), Binary(), Multiclass()
KINDS: dict[str, Kind] = {k.name: k for k in (REGRESSION, BINARY, MULTICLASS)}


def kind_named(name: str) -> Kind:
    """The kind object of a kind's name (``TaskSpec.kind``, ``result.json``'s ``kind``)."""
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown task kind {name!r}; choose one of: {', '.join(KINDS)}") from None


def predicts_numbers(name: str | None) -> bool:
    """Whether the kind of this name predicts numbers (regression); False for an unknown
    name or None (a stored result without the kind)."""
    kind = KINDS.get(name or "")
    return kind is not None and kind.predicts_numbers


def in_precision(x: float, decimals: int | None) -> float | int:
    """``x`` rounded to ``decimals`` (a whole number for 0; as it is for None); NaN and inf
    stay as they are."""
    if decimals is None or not math.isfinite(x):
        return x
    return int(round(x)) if decimals == 0 else round(x, decimals)


def in_precision_list(values: np.ndarray, decimals: int | None) -> list:
    """:func:`in_precision` of every value of a 1-d array, as a list of the very same Python
    numbers, without a Python call per value: numpy rounds ``x·10^d`` and divides back,
    which is Python's ``round(x, d)`` except where the product lands within a few ulps of
    a half (2.675·100 is 267.49999999999997 or 267.5 depending on how it is computed,
    Python rounds the exact decimal value) or is too large for that; those few values
    are rounded by :func:`in_precision` itself."""
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    if decimals is None:
        return x.tolist()
    finite = np.isfinite(x)
    with np.errstate(over="ignore", invalid="ignore"):  # huge values: doubtful, done below
        scaled = np.where(finite, x, 0.0) * 10.0**decimals
        whole = np.rint(scaled)
        doubtful = ~finite | ~(np.abs(scaled) < 2.0**52)
        doubtful |= np.abs(np.abs(scaled - whole) - 0.5) <= 8 * np.spacing(np.abs(scaled))
    whole[doubtful] = 0.0  # set below; and no cast of a huge value to int64
    if decimals == 0:  # whole numbers as Python ints
        out = whole.astype(np.int64).tolist()
    else:  # n / 10^d: the double nearest the decimal n·10^-d, as Python's round gives
        out = (whole / 10.0**decimals).tolist()
    for i in np.flatnonzero(doubtful).tolist():
        out[i] = in_precision(float(x[i]), decimals)
    return out


def _row_tuples(targets: Sequence[str], truth: list[list], pred: list[list]) -> list[tuple]:
    """(row, output column, truth, prediction) per row and output, from one list per output
    column: rows in order, a multi-output task's outputs in target order within a row."""
    rows, k = len(truth[0]), len(targets)
    if k == 1:
        return list(zip(range(rows), repeat(targets[0], rows), truth[0], pred[0], strict=True))
    cells = np.empty((2, rows, k), dtype=object)  # objects: the lists' own ints and floats
    for j in range(k):
        cells[0, :, j], cells[1, :, j] = truth[j], pred[j]
    return list(
        zip(
            np.repeat(np.arange(rows), k).tolist(),
            list(targets) * rows,
            cells[0].ravel().tolist(),
            cells[1].ravel().tolist(),
            strict=True,
        )
    )


def _label_objects(task: Decodable) -> np.ndarray:
    """The class labels as the data holds them, in an object array a class index picks from."""
    classes = task.classes or []
    labels = np.empty(len(classes), dtype=object)
    labels[:] = classes
    return labels


def _labels(task: Decodable, idx: np.ndarray) -> np.ndarray:
    names = np.array([str(c) for c in task.classes or []], dtype=str)
    return names[idx] if len(names) else idx.astype(str)
