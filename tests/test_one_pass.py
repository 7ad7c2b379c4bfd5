"""One pass of the shared layers per step (issue 12): tasks that read the same rows share
one batch; every distinct batch goes through the shared layers in one concatenated pass.

The pass must be a pure speed-up: the same losses and gradients as a pass per task on
the same batches, and a task's batches must not depend on which other tasks train
beside it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from mtlcore.config import TrainConfig
from mtlcore.data.prepare import prepare
from mtlcore.data.spec import Dataset, TaskSpec
from mtlcore.experiment import model_tasks
from mtlcore.models import STRATEGIES, Architecture, build_model
from mtlcore.train import batch_groups, split_tensors, task_loss, train
from mtlcore.weighting import WeightingTask, build_weighting

ARCH = Architecture(hidden=(16, 8))
CPU = torch.device("cpu")


def three_kinds_of_rows() -> Dataset:
    """Table a: ``ya`` and ``ca`` read the same rows; ``za``'s target is missing on some
    rows, so it reads fewer. Table b: ``yb`` reads other columns of other rows."""
    rng = np.random.default_rng(3)
    a = pd.DataFrame({"x": rng.normal(size=90), "z": rng.normal(size=90)})
    a["y"] = np.sin(a.x) + 0.5 * a.z
    a["cls"] = np.where(a.x + a.z > 0, "pos", "neg")
    a["y2"] = np.where(rng.random(90) < 0.2, np.nan, a.x - a.z)
    b = pd.DataFrame({"x": rng.normal(size=40), "w": rng.choice(["u", "v"], 40)})
    b["y"] = np.cos(b.x) + (b.w == "u")
    return Dataset(
        "rows",
        "three kinds of rows",
        {"a": a, "b": b},
        [
            TaskSpec("ya", "a", "y", "regression", ("x", "z")),
            TaskSpec("ca", "a", "cls", "binary", ("x", "z")),
            TaskSpec("za", "a", "y2", "regression", ("x", "z")),
            TaskSpec("yb", "b", "y", "regression", ("x", "w")),
        ],
    )


DS = three_kinds_of_rows()
DATA = prepare(DS, DS.tasks)


def test_tasks_of_the_same_rows_share_one_array_and_one_batch_group():
    t = {x.name: x for x in DATA.tasks}
    assert t["ya"].batch_group == t["ca"].batch_group
    for split in ("train", "val", "test"):
        assert t["ya"].X[split] is t["ca"].X[split]
    assert len({t["ya"].batch_group, t["za"].batch_group, t["yb"].batch_group}) == 3
    assert t["za"].n_rows("train") < t["ya"].n_rows("train")
    assert [[m.name for m in g] for g in batch_groups(DATA.tasks).values()] == [
        ["ya", "ca"], ["za"], ["yb"]
    ]  # fmt: skip
    # The key names the table, inputs and rows only: the same whatever else is prepared.
    alone = prepare(DS, [DS.tasks[0]]).tasks[0]
    assert alone.batch_group == t["ya"].batch_group
    np.testing.assert_array_equal(alone.X["train"], t["ya"].X["train"])


def _losses_and_grads(model, xs, ys):
    model.zero_grad(set_to_none=True)
    out = model(xs)
    losses = torch.stack([task_loss(t, out.outputs[t.name], ys[t.name]) for t in DATA.tasks])
    losses.sum().backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return losses.detach(), grads


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_one_pass_gives_the_losses_and_gradients_of_a_pass_per_task(name):
    model = build_model(name, model_tasks(DATA), ARCH, 0)
    shared = split_tensors(DATA.tasks, "train", CPU)
    assert shared["ya"] is shared["ca"]
    apart = {k: v.clone() for k, v in shared.items()}  # other objects: a pass per task
    ys = {t.name: torch.from_numpy(t.y["train"]) for t in DATA.tasks}
    one_losses, one_grads = _losses_and_grads(model, shared, ys)
    per_losses, per_grads = _losses_and_grads(model, apart, ys)
    torch.testing.assert_close(one_losses, per_losses, rtol=1e-5, atol=1e-6)
    assert one_grads.keys() == per_grads.keys()
    for n in one_grads:
        torch.testing.assert_close(one_grads[n], per_grads[n], rtol=1e-4, atol=1e-6, msg=n)


def _count_calls(module: torch.nn.Module) -> list[int]:
    calls = [0]
    module.register_forward_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    return calls


@pytest.mark.parametrize("name", ["hard", "hierarchical"])
def test_the_trunk_runs_once_per_step_whatever_the_number_of_tasks(name):
    cfg = TrainConfig(steps=5, batch_size=16, lr=0.01, grad_cosine_every=0, affinity_every=0)
    model = build_model(name, model_tasks(DATA), ARCH, 0)
    calls = _count_calls(model.trunk[0])
    weighting = build_weighting("equal", [WeightingTask(t.name, t.kind) for t in DATA.tasks])
    out = train(model, weighting, DATA, cfg, seed=0)
    evaluations = sum(1 for r in out.history if r["split"] == "val")  # one pass per task's row
    epochs = len({r["epoch"] for r in out.history})
    # 5 steps, plus one pass per evaluation (epoch 0's train and val, each epoch's val)
    assert calls[0] == 5 + epochs + 1, (calls[0], evaluations)


def test_mmoe_runs_all_experts_in_one_pass_per_step():
    cfg = TrainConfig(steps=4, batch_size=16, lr=0.01, grad_cosine_every=0, affinity_every=0)
    model = build_model("mmoe", model_tasks(DATA), ARCH, 0, {"n_experts": 3})
    (layer,) = model.experts.layers  # the experts' second layer, all 3 stacked
    assert layer.weight.shape == (3, ARCH.hidden[1], ARCH.hidden[0])
    calls = _count_calls(layer)
    weighting = build_weighting("equal", [WeightingTask(t.name, t.kind) for t in DATA.tasks])
    out = train(model, weighting, DATA, cfg, seed=0)
    epochs = len({r["epoch"] for r in out.history})
    assert calls[0] == 4 + epochs + 1


def test_a_tasks_batches_do_not_depend_on_the_tasks_beside_it():
    """Single-task towers see only their task's batches: trained with every task or alone,
    ``ya`` learns exactly the same numbers (its baseline sees the multi-task batches)."""
    cfg = TrainConfig(epochs=3, batch_size=16, lr=0.01, grad_cosine_every=0)

    def history(data):
        model = build_model("independent", model_tasks(data), ARCH, 0)
        w = build_weighting("equal", [WeightingTask(t.name, t.kind) for t in data.tasks])
        rows = train(model, w, data, cfg, seed=4, n_steps_per_epoch=6).history
        return [(r["epoch"], r["split"], r["loss"]) for r in rows if r["task"] == "ya"]

    together = history(DATA)
    for others in ([], ["ca"], ["za", "yb"]):
        specs = [s for s in DS.tasks if s.name in ["ya", *others]]
        alone = history(prepare(DS, specs))
        assert [k[:2] for k in alone] == [k[:2] for k in together]
        np.testing.assert_allclose([k[2] for k in alone], [k[2] for k in together], rtol=1e-5)
