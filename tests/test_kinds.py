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
