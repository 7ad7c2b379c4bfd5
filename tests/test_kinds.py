"""Task kinds (mtlcore/kinds.py): each kind's loss, decoding, metrics and trivial baseline
agree with one another, and no other module branches on a kind's name."""

from __future__ import annotations

import ast
import math
import typing
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mtlcore.config import TaskConfig
from mtlcore.data.prepare import prepare
from mtlcore.data.spec import TASK_KINDS, Dataset, TaskSpec
from mtlcore.evaluate import score
from mtlcore.kinds import BINARY, KINDS, MULTICLASS, REGRESSION, kind_named, predicts_numbers

ROOT = Path(__file__).resolve().parent.parent

# The files that may spell a kind's name, and why: the kind objects themselves, and the
# places that declare or check which kind a task is (the config and task schema, the
# built-in datasets' task lists, the check of a chosen kind against its column), plus
# the target encoding of data preparation, which is being reworked for ingest speed.
ALLOWED = {
    "mtlcore/kinds.py": "the kind objects",
    "mtlcore/config.py": "the config schema: a task's kind choice",
    "mtlcore/data/spec.py": "the task schema and the kind detected from a column",
    "mtlcore/data/builtin.py": "the built-in datasets declare their tasks' kinds",
    "mtlcore/data/ingest.py": "checks a chosen kind against its column",
}


def kind_name_literals(path: Path) -> list[int]:
    """Lines of ``path`` holding a string literal that is exactly a kind's name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in KINDS
    ]


def test_kind_names_appear_only_in_the_kind_objects_and_the_schema():
    found = {}
    for folder in ("mtlcore", "dashboard"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            lines = kind_name_literals(path)
            if lines and rel not in ALLOWED:
                found[rel] = lines
    assert not found, (
        f"a kind's name spelled outside mtlcore/kinds.py and the schema: {found}; ask the "
        "task's kind object (TaskData.kind_rules, mtlcore.kinds.kind_named) instead"
    )


def test_the_check_sees_a_branch_on_a_kind_name(tmp_path: Path):
    branch = tmp_path / "branch.py"
    branch.write_text('def f(task):\n    return task.kind == "binary"\n', encoding="utf-8")
    assert kind_name_literals(branch) == [2]


def test_every_kind_of_the_schema_has_an_object():
    config_kinds = set(typing.get_args(TaskConfig.model_fields["kind"].annotation)) - {"auto"}
    assert set(KINDS) == set(TASK_KINDS) == config_kinds
    assert [kind_named(k).name for k in TASK_KINDS] == list(TASK_KINDS)
    with pytest.raises(ValueError, match="unknown task kind 'ordinal'.*regression, binary"):
        kind_named("ordinal")
    assert predicts_numbers("regression") and not predicts_numbers("binary")
    assert not predicts_numbers(None) and not predicts_numbers("?")


def _data(seed: int):
    rng = np.random.default_rng(seed)
    n = 150
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    df["y"] = 40 + 8 * df.x + rng.normal(size=n)
    df["y2"] = -3 + df.z
    df["c"] = rng.choice(["a", "b", "c"], n, p=[0.5, 0.3, 0.2])
    df["b"] = rng.choice(["no", "yes"], n, p=[0.7, 0.3])
    specs = [
        TaskSpec("reg", "t", "y", "regression", ("x", "z")),
        TaskSpec("multi", "t", ("y", "y2"), "regression", ("x", "z")),
        TaskSpec("cls", "t", "c", "multiclass", ("x", "z")),
        TaskSpec("bin", "t", "b", "binary", ("x", "z")),
    ]
    return prepare(Dataset("k", "k", {"t": df}, specs), specs, standardize_targets=True)


SEEDS = [0, 1, 2]


@pytest.mark.parametrize("seed", SEEDS)
def test_prepared_tasks_carry_their_kind(seed):
    data = _data(seed)
    rules = {t.name: t.kind_rules for t in data.tasks}
    assert rules == {"reg": REGRESSION, "multi": REGRESSION, "cls": MULTICLASS, "bin": BINARY}
    assert [t.out_dim for t in data.tasks] == [1, 2, 3, 1]


@pytest.mark.parametrize("seed", SEEDS)
def test_each_loss_is_the_negative_log_likelihood_of_its_probabilities(seed):
    rng = np.random.default_rng(seed)
    for task in _data(seed).tasks:
        y = task.y["train"]
        out = (rng.normal(size=(len(y), task.out_dim)) * 3).astype(np.float32)
        loss = float(task.kind_rules.loss(torch.from_numpy(out), torch.from_numpy(y)))
        if task.kind_rules is REGRESSION:
            expected = np.mean((out.reshape(y.shape) - y) ** 2)
        elif task.kind_rules is BINARY:
            p = BINARY.probabilities(out.astype(np.float64))
            expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
        else:
            p = MULTICLASS.probabilities(out.astype(np.float64))
            expected = -np.mean(np.log(p[np.arange(len(y)), y]))
        assert loss == pytest.approx(expected, rel=1e-5), task.name


@pytest.mark.parametrize("seed", SEEDS)
def test_metrics_score_the_decoded_predictions_against_the_decoded_truth(seed):
    rng = np.random.default_rng(seed)
    for task in _data(seed).tasks:
        rules, y = task.kind_rules, task.y["test"]
        out = rng.normal(size=(len(y), task.out_dim)).astype(np.float32)
        metrics = score(task, out, "test")
        pred, truth = rules.decode(task, out), rules.decode_targets(task, y)
        assert pred.shape == truth.shape
        if rules.predicts_numbers:
            rmse = math.sqrt(np.mean((pred - truth) ** 2))
            assert metrics["rmse"] == pytest.approx(rmse, rel=1e-5), task.name
        else:
            assert set(pred) <= {str(c) for c in task.classes}
            assert metrics["accuracy"] == pytest.approx(np.mean(pred == truth)), task.name
        readable = rules.readable(task, out, y)
        assert len(readable) == len(y) * len(task.targets)
        assert {column for _, column, _, _ in readable} == set(task.targets)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_trivial_baseline_predicts_the_training_mean_or_majority(seed):
    for task in _data(seed).tasks:
        rules = task.kind_rules
        trivial = rules.trivial_metrics(task, "test")
        truth = rules.decode_targets(task, task.y["test"])
        if rules.predicts_numbers:
            mean = rules.decode_targets(task, task.y["train"]).mean(axis=0)
            rmse = math.sqrt(np.mean((truth - mean) ** 2))
            assert trivial["rmse"] == pytest.approx(rmse, rel=1e-9), task.name
            assert rules.target_scale(task) == pytest.approx(np.atleast_1d(task.target_std))
        else:
            train = pd.Series(rules.decode_targets(task, task.y["train"]))
            majority = train.value_counts().idxmax()
            assert trivial["accuracy"] == pytest.approx(np.mean(truth == majority)), task.name
            assert rules.target_scale(task) is None


# --- readable predictions: the vectorised rows give what the row-by-row build gave ---


def readable_row_by_row(task, output: np.ndarray, y: np.ndarray) -> list[tuple]:
    """``Kind.readable`` as it was built before, one Python tuple per row and output: the
    reference the vectorised build must match (also bench/bench_readable.py's baseline)."""
    from mtlcore.data.prepare import MAX_DECIMALS
    from mtlcore.kinds import in_precision

    if task.kind_rules.predicts_numbers:
        truth = task.target_in_units(y).reshape(len(y), -1).tolist()
        pred = task.predictions_in_units(output).reshape(len(y), -1).tolist()
        decimals = task.target_decimals or (MAX_DECIMALS,) * len(task.targets)
        return [
            (i, column, in_precision(a, d), in_precision(b, d))
            for i, (row_truth, row_pred) in enumerate(zip(truth, pred, strict=True))
            for column, a, b, d in zip(task.targets, row_truth, row_pred, decimals, strict=True)
        ]
    classes, column = task.classes or [], task.targets[0]
    index = task.kind_rules.class_index(output)
    return [
        (i, column, classes[int(a)], classes[int(b)])
        for i, (a, b) in enumerate(zip(y, index, strict=True))
    ]


def column_predictions_row_by_row(task, output: np.ndarray) -> dict[str, list]:
    """``Kind.column_predictions`` as it was built before, one call per value."""
    from mtlcore.kinds import in_precision

    rules = task.kind_rules
    if rules.predicts_numbers:
        values = rules.decode(task, output).reshape(len(output), -1)
        decimals = task.target_decimals or [None] * len(task.targets)
        return {
            t: [in_precision(v, decimals[i]) for v in values[:, i].tolist()]
            for i, t in enumerate(task.targets)
        }
    classes = task.classes or []
    return {task.targets[0]: [classes[int(i)] for i in rules.class_index(output)]}


def _readable_data(seed: int):
    """Every kind of target readable rows meet: regression with 2 decimals, whole numbers
    (written as ints), 6 decimals and more; two and three targets of one task; binary and multiclass with text labels, multiclass with number
    labels; missing targets and inputs (rows without a target are dropped, inputs imputed)."""
    rng = np.random.default_rng(seed)
    n = 400
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    df.loc[rng.random(n) < 0.1, "x"] = np.nan
    df["price"] = np.round(40 + 8 * rng.normal(size=n), 2)
    df.loc[:15, "price"] = range(16)
    df["count"] = rng.integers(-50, 5000, n).astype(float)
    df.loc[rng.random(n) < 0.1, "count"] = np.nan
    df["fine"] = rng.normal(size=n) * 1e-3
    df["c"] = rng.choice(["a", "b", "ç c"], n)
    df["grade"] = rng.choice([3, 7, 11], n)
    df["b"] = rng.choice(["no", "yes"], n)
    specs = [
        TaskSpec("price", "t", "price", "regression", ("x", "z")),
        TaskSpec("count", "t", "count", "regression", ("x", "z")),
        TaskSpec("two", "t", ("price", "fine"), "regression", ("x", "z")),
        TaskSpec("three", "t", ("count", "price", "fine"), "regression", ("x", "z")),
        TaskSpec("cls", "t", "c", "multiclass", ("x", "z")),
        TaskSpec("grade", "t", "grade", "multiclass", ("x", "z")),
        TaskSpec("bin", "t", "b", "binary", ("x", "z")),
    ]
    return prepare(Dataset("k", "k", {"t": df}, specs), specs, standardize_targets=True)


def _odd_outputs(rng, rows: int, width: int) -> np.ndarray:
    """Model outputs with what a diverging or extreme model gives too: NaN, ±inf, huge."""
    out = (rng.normal(size=(rows, width)) * 3).astype(np.float32)
    out.flat[:6] = [np.nan, np.inf, -np.inf, 3e38, -3e38, 0.0]
    return out


@pytest.mark.filterwarnings("ignore:overflow encountered in multiply")  # the 3e38 output
@pytest.mark.parametrize("seed", SEEDS)
def test_readable_rows_are_the_row_by_row_rows(seed):
    rng = np.random.default_rng(seed)
    data = _readable_data(seed)
    assert {t.name: t.target_decimals for t in data.tasks if t.kind_rules is REGRESSION} == {
        "price": (2,), "count": (0,), "two": (2, 6), "three": (0, 2, 6)
    }  # fmt: skip
    for task in data.tasks:
        for split in ("train", "test"):
            y = task.y[split]
            out = _odd_outputs(rng, len(y), task.out_dim)
            new, old = task.kind_rules.readable(task, out, y), readable_row_by_row(task, out, y)
            # repr tells 3 from 3.0, -0.0 from 0.0 and numpy scalars from Python's
            assert repr(new) == repr(old), (task.name, split)
            assert repr(task.kind_rules.column_predictions(task, out)) == repr(
                column_predictions_row_by_row(task, out)
            ), task.name
    assert any(type(truth) is int for *_, truth, _ in data.tasks[1].kind_rules.readable(
        data.tasks[1], _odd_outputs(rng, 3, 1), data.tasks[1].y["test"][:3]))  # fmt: skip


HALVES = [2.675, 1.005, 0.125, -2.675, 0.5, 1.5, 2.5, -0.5, 0.285, 1.0000005, 5e-7, -4e-7]


@pytest.mark.parametrize("decimals", [None, 0, 1, 2, 3, 6])
def test_rounding_a_column_is_pythons_round_of_each_value(decimals):
    from mtlcore.kinds import in_precision, in_precision_list

    rng = np.random.default_rng(decimals or 0)
    odd = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e300, -1e300, 2.0**53 + 2, 4.5e15 + 0.5]
    values = np.array(
        HALVES + odd + [h * 10.0**e for h in HALVES for e in range(-3, 9)]
        + (rng.normal(size=3000) * 10.0 ** rng.integers(-4, 12, 3000)).tolist()
    )  # fmt: skip
    got = in_precision_list(values, decimals)
    assert repr(got) == repr([in_precision(v, decimals) for v in values.tolist()])


@given(
    st.lists(st.floats(allow_subnormal=False, width=64), min_size=1, max_size=50),
    st.sampled_from([0, 1, 2, 4, 6]),
)
@settings(max_examples=200, deadline=None)
def test_rounding_any_floats_is_pythons_round(values, decimals):
    from mtlcore.kinds import in_precision, in_precision_list

    got = in_precision_list(np.array(values), decimals)
    assert repr(got) == repr([in_precision(v, decimals) for v in values])
