"""The learning-rate schedule, training for a number of steps, and epoch 0 in the history."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch

from mtlcore.config import ConfigError, ExperimentConfig, TrainConfig
from mtlcore.experiment import build, prepare_data, run_experiment, total_steps
from mtlcore.train import make_scheduler, steps_per_epoch, task_loss, train, training_steps


def lrs(cfg: TrainConfig, total: int, group_lrs: tuple[float, ...] = (1.0,)) -> list[list[float]]:
    """The lr of every parameter group at each of ``total`` steps, as the loop steps them."""
    groups = [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": lr} for lr in group_lrs]
    optimizer = torch.optim.SGD(groups, lr=group_lrs[0])
    scheduler = make_scheduler(optimizer, cfg, total)
    seen = []
    for _ in range(total):
        seen.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return seen


def closed_form(k: int, cfg: TrainConfig, total: int) -> float:
    """The lr of step k (1-based) for train.lr = 1, as README states it."""
    w = cfg.warmup_steps
    if k <= w:
        return k / w
    i, d = k - w - 1, total - w
    if cfg.schedule == "cosine":
        return (1 + math.cos(math.pi * i / d)) / 2
    if cfg.schedule == "step":
        return cfg.step_gamma ** (i // (cfg.step_every or math.ceil(d / 3)))
    return 1.0


@pytest.mark.parametrize("warmup", [0, 5])
def test_cosine_schedule_follows_the_closed_form(warmup):
    cfg = TrainConfig(schedule="cosine", warmup_steps=warmup)
    seen = [g[0] for g in lrs(cfg, 40)]
    assert seen == pytest.approx([closed_form(k, cfg, 40) for k in range(1, 41)], rel=1e-9)
    assert seen[warmup] == pytest.approx(1.0) and 0 < seen[-1] < 0.01  # full, then near 0


def test_warmup_ramps_linearly_then_holds():
    seen = [g[0] for g in lrs(TrainConfig(warmup_steps=4), 10)]
    assert seen == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])


def test_step_schedule_drops_by_gamma():
    cfg = TrainConfig(schedule="step", step_every=3, step_gamma=0.5, warmup_steps=2)
    seen = [g[0] for g in lrs(cfg, 10)]
    assert seen == pytest.approx([0.5, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])
    # Without step_every: a drop after each third of the steps after the warm-up.
    thirds = [g[0] for g in lrs(TrainConfig(schedule="step"), 9)]
    assert thirds == pytest.approx([1] * 3 + [0.1] * 3 + [0.01] * 3)


def test_every_parameter_group_follows_the_same_factor():
    # A weighting method's own group (its weight_lr) is scaled like the model's.
    seen = lrs(TrainConfig(schedule="cosine", warmup_steps=3), 12, group_lrs=(0.01, 0.5))
    assert [b / a for a, b in seen] == pytest.approx([50.0] * 12)


def test_no_schedule_makes_no_scheduler():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    assert make_scheduler(optimizer, TrainConfig(), 100) is None


def tiny(train: dict | None = None, method: str = "equal", **top) -> ExperimentConfig:
    """Two synthetic regression tasks, about 84 training rows each: 3 steps per epoch;
    3 epochs unless ``train`` gives steps."""
    train = {"epochs": 3, **(train or {})} if "steps" not in (train or {}) else train
    return ExperimentConfig.parse({
        "data": {"builtin": "synthetic", "options": {"n_rows": 120, "n_features": 4}},
        "model": {"hidden": [8]},
        "weighting": {"method": method},
        "train": {"batch_size": 32, "grad_cosine_every": 0, "affinity_every": 0, **train},
        **top,
    })  # fmt: skip


def fit(config: ExperimentConfig, events: list | None = None):
    data = prepare_data(config)
    model, weighting = build(config, data, 0)
    out = train(model, weighting, data, config.train, seed=0,
                callback=events.append if events is not None else None)  # fmt: skip
    return data, out


def final_losses(out) -> list[float]:
    last = max(r["epoch"] for r in out.history)
    return [r["loss"] for r in out.history if r["epoch"] == last]


def test_steps_trains_exactly_that_many_steps_with_a_partial_last_epoch():
    events: list = []
    data, out = fit(tiny({"steps": 7}), events)
    assert steps_per_epoch(data, 32) == 3
    assert out.steps == 7
    epochs = [e for e in events if e.kind == "epoch"]
    assert [(e.epoch, e.step, e.total_steps) for e in epochs] == [
        (0, 0, 7), (1, 3, 7), (2, 6, 7), (3, 7, 7)
    ]  # fmt: skip
    assert all(len(e.rows) == 4 for e in epochs)  # 2 tasks x train/val
    assert sorted({r["epoch"] for r in out.history}) == [0, 1, 2, 3]


def test_steps_of_whole_epochs_equal_training_for_epochs():
    _, by_epochs = fit(tiny({"epochs": 3}))
    _, by_steps = fit(tiny({"steps": 9}))  # 3 epochs of 3 steps
    assert by_steps.history == by_epochs.history


def test_default_schedule_leaves_every_number_as_before():
    _, without = fit(tiny())
    _, explicit = fit(tiny({"schedule": "none", "warmup_steps": 0}))
    # A scheduler that keeps lr (step with γ = 1) must not move a number either.
    _, flat = fit(tiny({"schedule": "step", "step_gamma": 1.0}))
    assert final_losses(explicit) == final_losses(without) == final_losses(flat)
    assert {r["lr"] for r in without.history if r["split"] == "train"} == {0.01}
    _, cosine = fit(tiny({"schedule": "cosine"}))
    assert final_losses(cosine) != final_losses(without)


def test_history_records_the_lr_of_each_epochs_last_step():
    config = tiny({"schedule": "cosine", "warmup_steps": 2, "lr": 0.05})
    cfg = config.train
    data, out = fit(config)
    total = training_steps(cfg, steps_per_epoch(data, 32))
    lr = {r["epoch"]: r["lr"] for r in out.history if r["split"] == "train"}
    expected = {0: closed_form(1, cfg, total)} | {
        e: closed_form(3 * e, cfg, total) for e in (1, 2, 3)
    }  # fmt: skip
    assert lr == pytest.approx({e: 0.05 * v for e, v in expected.items()})
    assert all("lr" not in r for r in out.history if r["split"] == "val")


@pytest.mark.parametrize("method", ["equal", "uncertainty"])
def test_epoch_zero_holds_the_untrained_models_losses_and_initial_weights(method):
    config = tiny(method=method)
    data = prepare_data(config)
    untrained, _ = build(config, data, 0)  # the same seed builds the same initial weights
    untrained.eval()
    _, out = fit(config)
    zero = [r for r in out.history if r["epoch"] == 0]
    with torch.no_grad():
        for split in ("train", "val"):
            xs = {t.name: torch.from_numpy(t.X[split]) for t in data.tasks}
            outputs = untrained(xs).outputs
            for t in data.tasks:
                (row,) = [r for r in zero if r["task"] == t.name and r["split"] == split]
                y = torch.from_numpy(t.y[split])
                assert row["loss"] == pytest.approx(float(task_loss(t, outputs[t.name], y)))
                # equal: 1; uncertainty: ½·exp(−log σ²) with log σ² = 0 for regression
                assert row["weight"] == (1.0 if method == "equal" else 0.5)
    assert zero[0]["loss"] > final_losses(out)[0]


def test_dwa_sees_no_epoch_zero():
    # DWA keeps w = 1 for its first two epochs; an epoch_end for epoch 0 would shift that.
    _, out = fit(tiny({"epochs": 3}, method="dwa"))
    weights = {(r["epoch"], r["task"]): r["weight"] for r in out.history if r["split"] == "train"}
    assert {w for (e, _), w in weights.items() if e <= 2} == {1.0}
    assert {w for (e, _), w in weights.items() if e == 3} != {1.0}


def test_progress_of_a_step_run_ends_at_one():
    config = tiny({"steps": 5}, baselines=True, seeds=[0, 1])
    assert total_steps(config, prepare_data(config)) == 5 * 2 * 2
    events: list = []
    result, _ = run_experiment(config, events.append)
    assert events[-1].progress == pytest.approx(1.0)
    assert max(e.progress for e in events) == pytest.approx(1.0)
    rows = {(r["seed"], r["model"], r["epoch"]) for r in result["history"]}
    assert rows == {(s, m, e) for s in (0, 1) for m in ("mtl", "stl") for e in (0, 1, 2)}


@pytest.mark.parametrize(
    ("train", "key"),
    [
        ({"schedule": "linear"}, "train.schedule"),
        ({"warmup_steps": -1}, "train.warmup_steps"),
        ({"step_every": 0}, "train.step_every"),
        ({"step_gamma": 0}, "train.step_gamma"),
        ({"step_gamma": 1.5}, "train.step_gamma"),
        ({"steps": 0}, "train.steps"),
        ({"steps": 100, "epochs": 5}, "train.steps"),
    ],
)
def test_bad_values_name_the_key(train, key):
    with pytest.raises(ConfigError, match=rf"config: {key}: "):
        ExperimentConfig.parse({"train": train})


def test_a_step_config_round_trips():
    # A dumped config holds the default epochs beside steps, and must load again.
    config = ExperimentConfig.parse({"train": {"steps": 100, "schedule": "cosine"}})
    again = ExperimentConfig.from_text(config.to_yaml())
    assert again.to_yaml() == config.to_yaml() and again.train.steps == 100


def test_loss_chart_relative_to_start_divides_each_curve_by_its_epoch_zero():
    from dashboard import charts

    history = pd.DataFrame({
        "model": ["mtl"] * 4 + ["stl"] * 2, "task": ["a", "a", "b", "b", "a", "a"],
        "split": ["train"] * 6, "epoch": [0, 1, 0, 1, 1, 2], "loss": [2.0, 1.0, 8.0, 2.0, 1.0, 0.5],
    })  # fmt: skip
    rel = charts.relative_to_start(history)
    # The baseline curve has no epoch 0 (a run from before it was recorded): left out.
    assert rel[["task", "model", "epoch", "loss"]].values.tolist() == [
        ["a", "mtl", 0, 1.0], ["a", "mtl", 1, 0.5], ["b", "mtl", 0, 1.0], ["b", "mtl", 1, 0.25]
    ]  # fmt: skip
    fig = charts.loss_curves(history, charts.task_colors(["a", "b"]), relative=True)
    assert [list(t.y) for t in fig.data] == [[1.0, 0.5], [1.0, 0.25]]
    assert fig.layout.yaxis.title.text == "loss ÷ epoch 0"
