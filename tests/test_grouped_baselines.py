"""The batched single-task baselines (GroupedIndependent) are the separate networks.

Each task's network in the grouped model gives the outputs, features and gradients
of the same task's network built alone, and training the grouped model trains each
task as it would train alone (same seeds, same batches), whichever rows each task has.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mtlcore.config import TrainConfig
from mtlcore.data.prepare import prepare
from mtlcore.data.spec import Dataset, TaskSpec
from mtlcore.evaluate import predict
from mtlcore.experiment import model_tasks
from mtlcore.models import Architecture, ModelTask, build_model
from mtlcore.models.hard import HardSharing
from mtlcore.models.independent import GroupedIndependent
from mtlcore.train import steps_per_epoch, train
from mtlcore.weighting import WeightingTask, build_weighting

ARCH = Architecture(hidden=(16, 8), head_hidden=(4,))
TASKS = [
    ModelTask("a", "t1", 3, 1),
    ModelTask("b", "t1", 3, 1),
    ModelTask("c", "t2", 5, 4),  # a group of its own: other input and output widths
    ModelTask("d", "t3", 3, 1),  # another table with a's widths: in a's group
]


@pytest.mark.parametrize(
    "rows",
    [
        {"a": 6, "b": 6, "c": 6, "d": 6},  # equal batches: one stacked product per layer
        {"a": 6, "b": 4, "c": 2, "d": 5},  # uneven: zero-padded
        {"a": 40, "b": 1, "c": 3, "d": 2},  # too uneven to pad: a slice of weights each
        {"b": 5, "d": 5},  # some tasks absent
    ],
)
def test_each_grouped_network_is_the_task_network_alone(rows):
    torch.manual_seed(0)
    grouped = GroupedIndependent(TASKS, ARCH, seed=3)
    xs = {t.name: torch.randn(rows[t.name], t.in_dim) for t in TASKS if t.name in rows}
    out = grouped(xs)
    assert set(out.outputs) == set(rows)
    sum(o.pow(2).sum() for o in out.outputs.values()).backward()
    grads = {n: p.grad if p.grad is not None else torch.zeros_like(p)
             for n, p in grouped.named_parameters()}  # fmt: skip
    for t in TASKS:
        alone = HardSharing([t], ARCH, seed=3)
        if t.name not in rows:
            continue
        ref = alone({t.name: xs[t.name]})
        torch.testing.assert_close(out.outputs[t.name], ref.outputs[t.name], rtol=1e-6, atol=1e-6)
        torch.testing.assert_close(out.features[t.name], ref.features[t.name], rtol=1e-6, atol=1e-6)
        ref.outputs[t.name].pow(2).sum().backward()
        linears = [m for m in alone.modules() if isinstance(m, torch.nn.Linear)]
        group = next(i for i, m in enumerate(grouped.members) if TASKS.index(t) in m)
        slot = grouped.members[group].index(TASKS.index(t))
        for k, lin in enumerate(linears):
            g_w = grads[f"groups.{group}.weights.{k}"][slot]
            torch.testing.assert_close(g_w, lin.weight.grad, rtol=1e-5, atol=1e-6)
    absent = [TASKS.index(t) for t in TASKS if t.name not in rows]
    for group, members in enumerate(grouped.members):  # an absent task's weights get no gradient
        for slot, i in enumerate(members):
            if i in absent:
                assert not grads[f"groups.{group}.weights.0"][slot].any()


def test_grouped_model_has_the_parameter_count_of_separate_networks():
    grouped = GroupedIndependent(TASKS, ARCH, seed=0)
    separate = build_model("independent", TASKS, ARCH, seed=0)
    assert sum(p.numel() for p in grouped.parameters()) == sum(
        p.numel() for p in separate.parameters()
    )
    assert grouped.shared_parameters() == []
    assert len(grouped.members) == 2  # (3 in, 1 out) and (5 in, 4 out)


def few_labels_dataset(n: int = 200) -> Dataset:
    """One table; task 'few' has a target on 25 rows only, 'cls' is a 3-class task."""
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    df["y"] = np.sin(df.x) + 0.3 * df.z + rng.normal(scale=0.1, size=n)
    df["few"] = np.where(np.arange(n) < 25, df.x * df.z, np.nan)
    df["cls"] = np.digitize(df.x, [-0.5, 0.5]).astype(str)
    df["bin"] = np.where(df.z > 0, "up", "down")
    return Dataset(
        "few",
        "toy data",
        {"t": df},
        [
            TaskSpec("y", "t", "y", "regression", ("x", "z")),
            TaskSpec("few", "t", "few", "regression", ("x", "z")),
            TaskSpec("cls", "t", "cls", "multiclass", ("x", "z")),
            TaskSpec("bin", "t", "bin", "binary", ("x", "z")),
        ],
    )


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_training_the_grouped_baselines_trains_each_task_as_alone(optimizer):
    ds = few_labels_dataset()
    data = prepare(ds, ds.tasks)
    cfg = TrainConfig(epochs=3, batch_size=16, lr=0.01, optimizer=optimizer,
                      regularization="l2", reg_lambda=1e-3)  # fmt: skip
    spe = steps_per_epoch(data, cfg.batch_size)
    equal = build_weighting("equal", [WeightingTask(t.name, t.kind) for t in data.tasks])
    grouped = GroupedIndependent(model_tasks(data), ARCH, seed=5)
    together = train(grouped, equal, data, cfg, seed=5, label="stl", n_steps_per_epoch=spe)
    outputs, _ = predict(grouped, data, "test", torch.device("cpu"))
    for spec in ds.tasks:
        alone_data = prepare(ds, [spec])
        model = build_model("independent", model_tasks(alone_data), ARCH, seed=5)
        w = build_weighting("equal", [WeightingTask(spec.name, alone_data.tasks[0].kind)])
        alone = train(model, w, alone_data, cfg, seed=5, label="stl", n_steps_per_epoch=spe)
        ref, _ = predict(model, alone_data, "test", torch.device("cpu"))
        np.testing.assert_allclose(outputs[spec.name], ref[spec.name], rtol=1e-5, atol=1e-6)
        mine = [r["loss"] for r in together.history if r["task"] == spec.name]
        theirs = [r["loss"] for r in alone.history]
        np.testing.assert_allclose(mine, theirs, rtol=1e-5, atol=1e-7)
