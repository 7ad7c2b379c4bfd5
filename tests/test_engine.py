"""Properties of the engine: sharing, baselines, weighting, determinism, divergence."""

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
from mtlcore.models import Architecture, build_model
from mtlcore.train import DivergenceError, grad_cosine, steps_per_epoch, train
from mtlcore.weighting import WeightingTask, build_weighting
from tests.toy_tables import two_table_dataset

ARCH = Architecture(hidden=(16, 8))


def fit(strategy: str, data, cfg: TrainConfig, seed: int = 0, method: str = "equal", spe=None):
    model = build_model(strategy, model_tasks(data), ARCH, seed)
    weighting = build_weighting(method, [WeightingTask(t.name, t.kind) for t in data.tasks])
    out = train(model, weighting, data, cfg, seed=seed, n_steps_per_epoch=spe)
    return model, weighting, out


CFG = TrainConfig(epochs=4, batch_size=32, lr=0.01, grad_cosine_every=3)


def test_hard_sharing_with_one_task_is_its_single_task_model():
    ds = two_table_dataset()
    data = prepare(ds, [ds.tasks[0]])
    hard, _, h = fit("hard", data, CFG)
    single, _, s = fit("independent", data, CFG)
    assert [r["loss"] for r in h.history] == pytest.approx([r["loss"] for r in s.history])
    ph, _ = predict(hard, data, "test", torch.device("cpu"))
    ps, _ = predict(single, data, "test", torch.device("cpu"))
    np.testing.assert_allclose(ph["ya"], ps["ya"], rtol=1e-6)


def test_batched_baselines_equal_separately_trained_ones():
    ds = two_table_dataset()
    data = prepare(ds, ds.tasks)
    spe = steps_per_epoch(data, CFG.batch_size)
    batched, _, _ = fit("independent", data, CFG, spe=spe)
    together, _ = predict(batched, data, "test", torch.device("cpu"))
    for spec in ds.tasks:
        alone_data = prepare(ds, [spec])
        alone, _, _ = fit("independent", alone_data, CFG, spe=spe)
        alone_out, _ = predict(alone, alone_data, "test", torch.device("cpu"))
        np.testing.assert_allclose(together[spec.name], alone_out[spec.name], rtol=1e-5, atol=1e-6)


def test_hard_sharing_shares_the_trunk_and_not_the_heads():
    ds = two_table_dataset()
    data = prepare(ds, ds.tasks)
    model = build_model("hard", model_tasks(data), ARCH, 0)
    shared = {id(p) for p in model.shared_parameters()}
    assert {id(p) for p in model.trunk.parameters()} <= shared
    assert not shared & {id(p) for p in model.heads.parameters()}
    # ya and ca read the same columns of table a: their input layer is shared too; yb's is not.
    enc = model.encoders
    assert {id(p) for p in enc[model.group_keys["a:x,z"]].parameters()} <= shared
    assert not shared & {id(p) for p in enc[model.group_keys["b:x,w"]].parameters()}
    assert build_model("independent", model_tasks(data), ARCH, 0).shared_parameters() == []


def test_same_seed_same_numbers_and_other_seed_other_numbers():
    ds = two_table_dataset()
    data = prepare(ds, ds.tasks)
    runs = [fit("hard", data, CFG, seed=s)[2].history for s in (3, 3, 4)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


def test_uncertainty_weighting_learns_larger_sigma_for_noisier_task():
    rng = np.random.default_rng(1)
    n = 400
    t = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    signal = np.sin(2 * t.x) + t.z
    t["clean"] = signal + rng.normal(scale=0.05, size=n)
    t["noisy"] = signal + rng.normal(scale=1.5, size=n)
    ds = Dataset("u", "", {"t": t}, [
        TaskSpec("clean", "t", "clean", "regression", ("x", "z")),
        TaskSpec("noisy", "t", "noisy", "regression", ("x", "z")),
    ])  # fmt: skip
    data = prepare(ds, ds.tasks, standardize_targets=False)
    cfg = TrainConfig(epochs=40, batch_size=64, lr=0.02, grad_cosine_every=0)
    _, weighting, out = fit("hard", data, cfg, method="uncertainty")
    sigma = weighting.state()["sigma"]
    assert sigma["noisy"] > 3 * sigma["clean"]
    # σ² tracks the task's loss, so the noisy task ends with the smaller weight.
    last = {r["task"]: r["weight"] for r in out.history if r["epoch"] == 40}
    assert last["noisy"] < last["clean"]


def test_static_weights_scale_the_objective_and_reject_unknown_tasks():
    tasks = [WeightingTask("a", "regression"), WeightingTask("b", "binary")]
    w = build_weighting("static", tasks, {"weights": {"a": 2.0}})
    total, weights = w.objective(torch.tensor([1.0, 3.0]))
    assert weights.tolist() == [2.0, 1.0] and float(total) == 5.0
    with pytest.raises(ValueError, match="no task named 'c'"):
        build_weighting("static", tasks, {"weights": {"c": 1.0}})


def test_gradient_cosine_of_aligned_and_opposed_losses():
    p = torch.nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))
    f = (p**2).sum()
    m = grad_cosine(torch.stack([f, 3 * f, -f]), [p])
    np.testing.assert_allclose(m, [[1, 1, -1], [1, 1, -1], [-1, -1, 1]], atol=1e-6)


def test_training_reports_cosines_history_and_weights():
    ds = two_table_dataset()
    data = prepare(ds, ds.tasks)
    events = []
    out = train(
        build_model("hard", model_tasks(data), ARCH, 0),
        build_weighting("static", [WeightingTask(t.name, t.kind) for t in data.tasks],
                        {"weights": {"yb": 0.5}}),
        data, CFG, seed=0, callback=events.append,
    )  # fmt: skip
    epochs = [e for e in events if e.kind == "epoch"]
    assert [e.epoch for e in epochs] == [0, 1, 2, 3, 4]  # 0: before the first step
    assert {r["task"]: r["weight"] for r in epochs[0].rows}["yb"] == 0.5  # the static weight
    rows = epochs[-1].rows
    assert {(r["task"], r["split"]) for r in rows} == {
        (t, s) for t in ("ya", "yb", "ca") for s in ("train", "val")
    }
    assert {r["task"]: r["weight"] for r in rows}["yb"] == 0.5
    assert "rmse" in next(r for r in rows if r["task"] == "ya" and r["split"] == "val")
    assert "accuracy" in next(r for r in rows if r["task"] == "ca" and r["split"] == "val")
    assert out.grad_cosine and all(-1.0001 <= r["cosine"] <= 1.0001 for r in out.grad_cosine)
    assert {(r["task_a"], r["task_b"]) for r in out.grad_cosine} == {
        ("ya", "yb"),
        ("ya", "ca"),
        ("yb", "ca"),
    }


def test_callback_returning_false_cancels():
    from mtlcore.train import TrainingCancelled

    ds = two_table_dataset()
    data = prepare(ds, ds.tasks)
    model = build_model("hard", model_tasks(data), ARCH, 0)
    weighting = build_weighting("equal", [WeightingTask(t.name, t.kind) for t in data.tasks])
    with pytest.raises(TrainingCancelled):
        train(model, weighting, data, CFG, seed=0, callback=lambda e: e.kind != "epoch")


def test_diverging_run_stops_with_a_clear_message():
    ds = two_table_dataset()
    data = prepare(ds, ds.tasks, standardize_targets=False)
    cfg = TrainConfig(optimizer="sgd", lr=10.0, momentum=0.9, epochs=50, batch_size=32)
    with pytest.raises(DivergenceError, match=r"diverged at epoch \d+, step \d+.*train\.lr is 10"):
        fit("hard", data, cfg)


def test_hard_sharing_of_different_tables_needs_a_shared_layer():
    ds = two_table_dataset()
    data = prepare(ds, ds.tasks)
    with pytest.raises(ValueError, match="model.hidden"):
        build_model("hard", model_tasks(data), Architecture(hidden=(16,)), 0)
