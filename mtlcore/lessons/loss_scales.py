"""Lesson 3: losses on different scales — equal weights neglect the small one.

Two unrelated synthetic regression tasks (relatedness 0) whose targets differ 10× in
scale, with ``data.standardize_targets: false`` so the scales reach the loss: task1's
mean squared error is about 100× task0's, and with equal weights the shared layers
learn for task1 alone. Uncertainty weighting (Kendall, Gal & Cipolla 2018) and GradNorm
(Chen et al. 2018) learn the weights within the run, with ``weight_lr`` (their learned
parameters' own learning rate, as in GradNorm's paper) at 10× the model's. The last two
presets are GradNorm's own toy (Chen et al. 2018, Sec. 4): two tasks of 100 outputs
that share a tanh map, on scales 1 and 100.

The truth to read the learned values against is in the presets' dataset options:
synthetic task i has noise standard deviation ``scales[i] · noise[i]`` in its target's
units, which is the σ_i uncertainty weighting would learn if the model fitted the task
down to its noise.
"""

from __future__ import annotations

from typing import Any

from mtlcore.lessons import Lesson, Preset

SEEDS = [0, 1, 2]
SCALES = [1.0, 10.0]  # task1's target is 10× task0's: its MSE about 100×
NOISE = 0.3  # per task, relative to the signal: true σ_i = SCALES[i] · NOISE
WEIGHT_LR = 0.1  # the learned loss weights' learning rate: 10× train.lr
TOY_SCALES = [1.0, 100.0]  # Chen et al. (2018), Sec. 4, T = 2


def synthetic(name: str, method: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The two-scale synthetic experiment of this lesson with weighting ``method``."""
    return {
        "name": name,
        "data": {
            "builtin": "synthetic",
            "options": {"n_tasks": 2, "relatedness": 0.0, "noise": NOISE, "scales": SCALES,
                        "n_rows": 600, "n_features": 8},
            "standardize_targets": False,  # the scales reach the loss
        },
        "model": {"strategy": "hard", "hidden": [32, 16]},
        "weighting": {"method": method, "options": dict(options or {})},
        "train": {"optimizer": "adam", "lr": 0.01, "epochs": 20, "batch_size": 32,
                  "snapshot_every": 2},
        "baselines": True,
        "seeds": list(SEEDS),
    }  # fmt: skip


def toy(name: str, method: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """GradNorm's toy (the ``gradnorm_toy`` dataset) with weighting ``method``."""
    return {
        "name": name,
        "data": {
            "builtin": "gradnorm_toy",
            # 25 inputs, not the paper's 250: from 700 training rows a 250-input map teaches
            # no model anything (test error = the targets' spread); 25 it learns in seconds.
            "options": {"scales": TOY_SCALES, "n_rows": 1000, "n_inputs": 25},
            "standardize_targets": False,
        },
        "model": {"strategy": "hard", "hidden": [100, 100, 100, 100]},  # the paper's trunk
        "weighting": {"method": method, "options": dict(options or {})},
        "train": {"optimizer": "adam", "lr": 0.01, "epochs": 20, "batch_size": 64},
        "baselines": True,
        "seeds": list(SEEDS),
    }  # fmt: skip


LESSON = Lesson(
    key="loss-scales",
    number=3,
    title="Losses on different scales",
    claim=(
        "Two unrelated tasks whose targets differ 10× in scale, so that one task's loss is "
        "about 100× the other's. With equal weights the shared layers learn for the large "
        "task and the small one is worse than alone on every seed. Uncertainty weighting "
        "and GradNorm rebalance within the run: the small task does much better than under "
        "equal weights (on every seed with uncertainty weighting, on average with GradNorm). "
        "Uncertainty weighting's σ of the small task ends near its true noise level, the "
        "ratio of the two σ ends above the true ratio of scale × noise, each σ² near its "
        "task's loss, and the large task now pays: it is worse than alone on every seed. "
        "GradNorm gives the small task most of the weight. On GradNorm's own toy (scales 1 "
        "and 100) equal weights leave the σ = 1 task's training loss above where it started; "
        "GradNorm puts nearly all the weight on it and narrows the gap between the tasks' "
        "training rates, but here both tasks stay worse than alone."
    ),
    what_to_do=(
        "Load *Equal weights* and press Train; then *Uncertainty weighting* and *GradNorm*. "
        "The Data page shows the truth: scales 1 and 10, noise 0.3 (so the noise is 0.3 in "
        "task0's units and 3 in task1's). Then train the two toy presets."
    ),
    look_at=(
        "Compare: task0's gain and verdict under each weighting, and task1's under "
        "uncertainty weighting. Train: the loss weights chart — uncertainty weighting's "
        "weight is 1/(2σ²), so σ = 1/√(2·weight); GradNorm's weights sum to 2. On the toy, "
        "the loss curves relative to epoch 0."
    ),
    question=(
        "Uncertainty weighting sets σ² to each task's loss. Why then does its σ for task1 end "
        "well above task1's true noise of 3, and what does task1 pay for it?"
    ),
    sources=(
        "Kendall, A., Gal, Y. & Cipolla, R. (2018). Multi-Task Learning Using Uncertainty "
        "to Weigh Losses for Scene Geometry and Semantics. CVPR.",
        "Chen, Z., Badrinarayanan, V., Lee, C.-Y. & Rabinovich, A. (2018). GradNorm: "
        "Gradient Normalization for Adaptive Loss Balancing in Deep Multitask Networks. ICML.",
    ),
    presets=(
        Preset("equal", "Equal weights (scales 1 and 10)", synthetic("lesson3-equal", "equal")),
        Preset(
            "uncertainty",
            "Uncertainty weighting, weight_lr 0.1",
            synthetic("lesson3-uncertainty", "uncertainty", {"weight_lr": WEIGHT_LR}),
        ),
        Preset(
            "gradnorm",
            "GradNorm, weight_lr 0.1",
            synthetic("lesson3-gradnorm", "gradnorm", {"weight_lr": WEIGHT_LR}),
        ),
        Preset(
            "toy-equal",
            "GradNorm's toy (scales 1 and 100), equal weights",
            toy("lesson3-toy-equal", "equal"),
        ),
        Preset(
            "toy-gradnorm",
            "GradNorm's toy (scales 1 and 100), GradNorm",
            toy("lesson3-toy-gradnorm", "gradnorm", {"weight_lr": WEIGHT_LR}),
        ),
    ),
    read_on="compare",
    measured=(
        "Gain of task0 (scale 1) over its single-task model, mean [95 % interval] over "
        "seeds 0-2 / 3-5: equal weights −57.9 [−136.1, +20.3] / −79.1 [−99.3, −58.9] "
        "(negative on all 6 seeds); uncertainty (weight_lr 0.1) +5.5 / −8.7, ahead of equal "
        "by 46-83 points on every seed; GradNorm (weight_lr 0.1) −2.3 / −27.8, ahead of "
        "equal by 21-77. Uncertainty's σ (true 0.3 and 3): task0 0.29-0.35, task1 6.2-7.0, "
        "ratio 18-24; σ² within 35 % of the final training loss; task1's gain −39.6 / −60.9 "
        "('hurts' on each set). GradNorm's mean weights: task0 1.65-1.85, task1 0.15-0.35. "
        "Toy (scales 1, 100): L(20)/L(0) of the σ = 1 task 1.69-2.73 with equal weights, "
        "1.00-1.43 with GradNorm (σ = 100 task: 0.48-0.53 / 0.69-0.75); GradNorm's mean "
        "weights 1.96-1.97 / 0.03-0.04, its last weight of the σ = 100 task 0.001-0.013 (the "
        "floor is 0.001); task0's gain −151.3 / −147.8 (equal) and −79.6 / −80.5 (GradNorm), "
        "task1's +0.4 / +0.4 and −14.8 / −13.8. 2-core CPU, November 2026."
    ),
)
