"""Lesson 7: hierarchical sharing — a low-level task supervised at a lower layer.

The ``hierarchy`` dataset has a low-level task (k projections of the inputs, every row
labelled) and a high-level task that needs them (the sum of their pairwise products,
60 labelled rows). Søgaard & Goldberg (2016) and Hashimoto et al. (2017) attach the
low-level task's head to a lower layer of the shared trunk and the high-level task's
to the top. The presets compare that (``hierarchical``, ``depths: {low: 1}``) with
hard sharing (Caruana, 1997; both heads on the top layer) on the same data, trunk and
seeds; each runs the single-task baselines, which are the same networks in both.

What the runs showed (``tests/test_lesson_hierarchical.py``; numbers in
``docs/lessons.md``): the low task helps the high one a great deal wherever it is
attached, and attaching it lower did not help the high task more — it shielded the
low task itself, which is more accurate on layer 1 than on the top.
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
        "features) predicts far better beside a fully labelled low-level task that "
        "predicts those four features: its error falls by more than a fifth against its "
        "single-task network on every seed, both with the low task's head on layer 1 "
        "(hierarchical sharing) and on the top layer (hard sharing). Where the low task "
        "is attached mattered less than whether it is there: the high task did no better "
        "with the low task below it. Attaching the low task lower helped the low task "
        "itself: its error on layer 1 is below its error on the top layer on every seed."
    ),
    what_to_do=(
        "Load *Hierarchical (low task on layer 1)* and press Train; then load *Hard "
        "sharing (both on top)* and train it on the same seeds."
    ),
    look_at=(
        "Compare: the high task's gain and verdict in both experiments, then the low task's "
        "error (RMSE) in both. Representations: what layer 1 looks like when the low task "
        "reads it."
    ),
    question=(
        "Under hard sharing the high task's gradients reach the layer the low task reads; "
        "under hierarchical sharing they do not. Which task does that matter to, and why "
        "did it not matter to the other one here?"
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
        "over 3 seeds. High task, seeds 0–2: hierarchical +34.2 [+28.5, +39.9], hard +32.2 "
        "[+28.6, +35.7], paired difference +2.1 [−4.4, +8.5]; seeds 3–5: +31.7, +35.2, "
        "difference −3.6 [−25.8, +18.7]; every seed from +26 to +40. Low task, hierarchical "
        "− hard: +16.1 [+6.8, +25.4] (seeds 0–2) and +19.8 (3–5; per seed +3.4 to +32.2). "
        "With 30 high labels hierarchical led on 5 of 6 seeds, not all. More in "
        "docs/lessons.md."
    ),
)
