"""Lesson 3's claims (losses on different scales), checked with the lesson's own presets.

Three seeds each, as the Learn page runs them; the margins hold on seeds 3-5 as well
(bench/measure_lessons.py, after batch groups and one preprocessor per table;
docs/lessons.md has the numbers): task0 under equal weights −26…−89 % on every seed;
uncertainty ahead of equal by 46…83 points, GradNorm's mean by 56 and 51; σ of task0
0.29…0.35 (true 0.3), σ1/σ0 18…24, σ²/loss 0.88…1.33; task1 under uncertainty −31…−68 %;
GradNorm's mean weights ≥ 1.65 / ≤ 0.35; toy: L(20)/L(0) 1.69…2.73 and 0.48…0.53 with
equal weights, GradNorm's weights ≥ 1.96 / ≤ 0.04. Gains are paired by seed: every
preset of a dataset trains the same single-task baselines from the same seeds.
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from mtlcore.experiment import run_experiment
from mtlcore.lessons import LESSONS
from mtlcore.lessons.loss_scales import NOISE, SCALES, TOY_SCALES

pytestmark = pytest.mark.claim
LESSON = LESSONS["loss-scales"]
_RUNS: dict[str, tuple[dict[str, Any], list[Any]]] = {}


def run(preset: str) -> tuple[dict[str, Any], list[Any]]:
    """The preset's result and seed runs (trained once per test session)."""
    if preset not in _RUNS:
        config = LESSON.preset(preset).experiment()
        assert len(config.seeds) >= 3
        raw = config.model_dump(mode="json")
        raw["train"].update(snapshot_every=0, affinity_every=0, grad_cosine_every=0)
        _RUNS[preset] = run_experiment(type(config).parse(raw))
    return _RUNS[preset]


def gains(preset: str, task: str) -> dict[str, float]:
    return run(preset)[0]["tasks"][task]["gain_by_seed"]  # seed -> gain in %


def final_train_loss(seed_run: Any, task: str) -> float:
    last = max(r["epoch"] for r in seed_run.history if r["model"] == "mtl")
    return next(r["loss"] for r in seed_run.history if r["model"] == "mtl" and r["epoch"] == last
                and r["task"] == task and r["split"] == "train")  # fmt: skip


def loss_ratio(seed_run: Any, task: str) -> float:
    """L_i(end) / L_i(0) on the training rows, as in GradNorm's Fig. 2."""
    first = next(r["loss"] for r in seed_run.history if r["model"] == "mtl" and r["epoch"] == 0
                 and r["task"] == task and r["split"] == "train")  # fmt: skip
    return final_train_loss(seed_run, task) / first


def test_equal_weights_neglect_the_small_scale_task():
    small = gains("equal", "task0")
    assert all(g < 0 for g in small.values()), small
    assert statistics.mean(small.values()) < -25, small


def test_uncertainty_weighting_rescues_the_small_task_and_learns_the_scales():
    small, equal = gains("uncertainty", "task0"), gains("equal", "task0")
    assert all(small[s] > equal[s] + 20 for s in small), (small, equal)
    true_sigma = [scale * NOISE for scale in SCALES]  # 0.3 and 3, in the targets' units
    for seed_run in run("uncertainty")[1]:
        sigma = seed_run.weighting.state()["sigma"]
        # The small task fits down to near its noise, so its σ ends near the true one.
        assert 0.75 < sigma["task0"] / true_sigma[0] < 1.5, sigma
        # The ratio grows from 1 to at least the true ratio of scale × noise (10).
        assert sigma["task1"] / sigma["task0"] > true_sigma[1] / true_sigma[0], sigma
        # Kendall's optimum: σ_i² is the task's loss.
        for task, s in sigma.items():
            assert 0.65 < s**2 / final_train_loss(seed_run, task) < 1.5, (task, s)
    # What the large task pays: it is worse than alone on every seed.
    large = gains("uncertainty", "task1")
    assert all(g < -10 for g in large.values()), large


def test_gradnorm_gives_the_small_task_most_of_the_weight():
    small, equal = gains("gradnorm", "task0"), gains("equal", "task0")
    assert statistics.mean(small.values()) > statistics.mean(equal.values()) + 20, (small, equal)
    for seed_run in run("gradnorm")[1]:
        mean = seed_run.weighting.state()["mean_weights"]
        assert mean["task0"] > 1.5 > 0.5 > mean["task1"], mean  # Σ w = 2


def test_gradnorm_on_its_own_toy_weights_inversely_to_scale_and_balances_training_rates():
    """Chen et al. (2018), Sec. 4, T = 2, scales 1 and 100: with equal weights the σ = 1
    task's training loss ends above where it started while the σ = 100 task's halves;
    GradNorm puts nearly all the weight on the σ = 1 task and brings the tasks' loss
    ratios L_i(t)/L_i(0) much closer together."""
    assert TOY_SCALES[0] < TOY_SCALES[1]
    equal, gradnorm = run("toy-equal")[1], run("toy-gradnorm")[1]
    gaps = {}
    for name, runs in (("equal", equal), ("gradnorm", gradnorm)):
        ratios = [(loss_ratio(r, "task0"), loss_ratio(r, "task1")) for r in runs]
        gaps[name] = [small / large for small, large in ratios]
        if name == "equal":
            assert all(small > 1.5 and large < 0.6 for small, large in ratios), ratios
    for seed_run in gradnorm:
        mean = seed_run.weighting.state()["mean_weights"]
        assert mean["task0"] > 1.9 > 0.1 > mean["task1"], mean  # Σ w = 2
    assert all(g < e for g, e in zip(gaps["gradnorm"], gaps["equal"], strict=True)), gaps
    assert statistics.mean(gaps["gradnorm"]) < 0.5 * statistics.mean(gaps["equal"]), gaps
    small = [run(p)[0]["tasks"]["task0"]["mtl_by_seed"] for p in ("toy-gradnorm", "toy-equal")]
    assert all(small[0][s] < small[1][s] for s in small[0]), small  # RMSE, paired by seed
    # Not reproduced here: the paper's better test errors. Both tasks stay worse than alone.
    for task in ("task0", "task1"):
        assert all(g < 0 for g in gains("toy-gradnorm", task).values()), task
