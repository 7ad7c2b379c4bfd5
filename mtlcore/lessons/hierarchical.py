"""Lesson 7: hierarchical sharing — a low-level task supervised at a lower layer.

The ``hierarchy`` dataset has a low-level task (k = 4 projections of the inputs, every
row labelled) and a high-level task that needs them (the sum of their pairwise products,
60 labelled rows). Søgaard & Goldberg (2016) and Hashimoto et al. (2017) attach the
low-level task's head to a lower layer of the shared trunk and the high-level task's
to the top. The presets compare that (``hierarchical``, ``depths: {low: 1}``) with
hard sharing (Caruana, 1997; both heads on the top layer) on the same data, trunk and
seeds; each runs the single-task baselines, which are the same networks in both.

The trunk is ``hidden: [16, 4]``: a top layer of four units, as many as the low task's
features. There the placement decides the outcome (``tests/test_lesson_hierarchical.py``;
numbers in ``docs/lessons.md``): with the low task on layer 1 the high task's error is
far below its error with both heads on top, on every seed; with both on top, the high
task fits its 60 rows and ends worse than alone, and the low task loses accuracy too.
With a wide top layer (``[32, 32]``) the placement made no reliable difference.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from mtlcore.lessons import Lesson, Preset

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEEDS = [0, 1, 2]


def experiment(name: str, model: dict[str, Any] | None = None) -> dict[str, Any]:
    """``examples/hierarchy.yaml`` named ``name``, with three seeds and, if given,
    another ``model`` section."""
    raw = copy.deepcopy(yaml.safe_load((EXAMPLES / "hierarchy.yaml").read_text(encoding="utf-8")))
    raw["name"] = name
    raw["seeds"] = list(SEEDS)
    raw.setdefault("train", {})["snapshot_every"] = 2  # the Representations page has pictures
    if model is not None:
        raw["model"] = {**copy.deepcopy(model), "hidden": raw["model"]["hidden"]}
    return raw


LESSON = Lesson(
    key="hierarchical",
    number=7,
    title="Hierarchical sharing: a low-level task at a lower layer",
    claim=(
        "A high-level task with 60 labelled rows (a sum of products of four hidden "
        "features) shares a trunk whose top layer has only four units with a fully "
        "labelled low-level task that predicts those four features. Where the low task's "
        "head is attached decides how the high task does: with it on layer 1 "
        "(hierarchical sharing) the high task's test error is far lower than with both "
        "heads on the top layer (hard sharing), on every seed, by more than 30 points of "
        "gain over its single-task network. With both heads on top the high task does "
        "worse than alone on every seed, and the low task is less accurate than on "
        "layer 1 on every seed."
    ),
    what_to_do=(
        "Load *Hierarchical (low task on layer 1)* and press Train; then load *Hard "
        "sharing (both on top)* and train it on the same seeds. Both use hidden: [16, 4], "
        "a top layer of four units."
    ),
    look_at=(
        "Compare: the high task's error (RMSE) and gain in both experiments, then the low "
        "task's. Train: the high task's training and validation losses under each "
        "strategy. Representations: what layer 1 looks like when the low task reads it."
    ),
    question=(
        "With both heads on the top layer, the high task's 60 rows and the low task's "
        "hundreds pull on the same four units. What do the high task's training and "
        "validation losses say it does with them, and why does moving the low task's "
        "head to layer 1 change that? What would you expect with a top layer as wide as "
        "the first, and what do you see when you try it?"
    ),
    sources=(
        "Søgaard, A., Goldberg, Y. (2016). Deep multi-task learning with low level tasks "
        "supervised at lower layers. ACL 2016.",
        "Hashimoto, K., Xiong, C., Tsuruoka, Y., Socher, R. (2017). A Joint Many-Task "
        "Model: Growing a Neural Network for Multiple NLP Tasks. EMNLP 2017.",
        "Caruana, R. (1997). Multitask Learning. Machine Learning 28, 41-75.",
    ),
    presets=(
        Preset(
            "hierarchical",
            "Hierarchical (low task on layer 1)",
            experiment("lesson7-hierarchical"),
        ),
        Preset(
            "hard",
            "Hard sharing (both on top)",
            experiment("lesson7-hard", {"strategy": "hard"}),
        ),
    ),
    read_on="compare",
    measured=(
        "Gain in test RMSE over the single-task network, percent, mean [95 % interval] "
        "over 3 seeds. High task, seeds 0–2: hierarchical +30.2 [−15.1, +75.5], hard −49.4 "
        "[−97.7, −1.1], paired difference +79.6 [+59.8, +99.4] (per seed +86.8, +71.0, "
        "+81.0); seeds 3–5: +35.4, −43.9, difference +79.2 [+48.0, +110.5] (+91.4, +80.1, "
        "+66.3). High-task RMSE: hierarchical 0.59–0.90, hard 1.41–1.81, alone 0.99–1.23. "
        "Low-task RMSE: hierarchical 0.058–0.094, hard 0.29–0.66 (3.4 to 7.5 times "
        "hierarchical's on every seed). With hidden: [32, 32] neither was reliably ahead "
        "(high-task RMSE 0.706 vs 0.691 over seeds 0–4, hierarchical ahead on 3 of 5). More "
        "in docs/lessons.md."
    ),
)
