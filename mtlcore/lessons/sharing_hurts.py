"""Lesson 2: when sharing hurts — unrelated tasks in one narrow trunk, and what eases it.

Six synthetic regression tasks (Ma et al., 2018), every one fully labelled, so each
single-task network does well on its own; under hard parameter sharing (Caruana, 1997)
they squeeze through one narrow trunk (``hidden: [16, 8]``). At relatedness 0 the tasks
share nothing and every one of them loses; MMoE (Ma et al., 2018), cross-stitch units
(Misra et al., 2016) and soft sharing (Duong et al., 2015) give each task room of its
own and lose far less. The relatedness presets (0, 0.5, 1) are the slider: the same
hard-sharing experiment with tasks that share more and more of task 0's signal.

Every preset differs from :data:`BASE` in one setting. The claims are checked by
``tests/test_lesson_sharing_hurts.py``; ``docs/lessons.md`` has the numbers.
"""

from __future__ import annotations

import copy
from typing import Any

from mtlcore.lessons import Lesson, Preset

SEEDS = [0, 1, 2]

# Six unrelated, fully labelled tasks (600 rows, 420 to train on) in a narrow trunk.
BASE: dict[str, Any] = {
    "data": {
        "builtin": "synthetic",
        "options": {
            "n_tasks": 6,
            "relatedness": 0.0,
            "noise": 0.1,
            "n_rows": 600,
            "n_features": 8,
        },
    },
    "model": {"strategy": "hard", "hidden": [16, 8]},
    "weighting": {"method": "equal"},
    "train": {
        "optimizer": "adam",
        "lr": 0.01,
        "epochs": 30,
        "batch_size": 32,
        "snapshot_every": 2,  # the Representations page has pictures (gates, α)
    },
    "baselines": True,
    "seeds": SEEDS,
}

# The strategies that give each task room of its own, with their options spelled out.
REMEDIES: dict[str, dict[str, Any]] = {
    "mmoe": {"strategy": "mmoe", "options": {"n_experts": 4}},
    "cross-stitch": {"strategy": "cross_stitch", "options": {"alpha_self": 0.9}},
    "soft": {"strategy": "soft", "options": {"tie_lambda": 0.1}},
}
RELATEDNESS = (0.5, 1.0)  # the slider's other stops; the base experiment is 0


def experiment(
    name: str, *, model: dict[str, Any] | None = None, relatedness: float | None = None
) -> dict[str, Any]:
    """:data:`BASE` named ``name``, with another ``model`` section or ``relatedness``."""
    raw = copy.deepcopy(BASE)
    raw["name"] = name
    if model is not None:
        raw["model"].update(copy.deepcopy(model))
    if relatedness is not None:
        raw["data"]["options"]["relatedness"] = relatedness
    return raw


LESSON = Lesson(
    key="sharing-hurts",
    number=2,
    title="When sharing hurts",
    claim=(
        "Six unrelated tasks (relatedness 0), each with all its labels, lose to their "
        "single-task networks when they share one narrow trunk: Δm, the tasks' mean gain, is "
        "below zero on every seed and its interval lies below zero. MMoE, cross-stitch and "
        "soft sharing each lose far less on the same seeds: their Δm is at least 25 points "
        "above hard sharing's on every seed, and the paired difference's interval lies above "
        "zero. Slide relatedness up and the harm shrinks: at 0.5 hard sharing still loses on "
        "every seed (though with three seeds its interval may reach zero), at 1 (six copies "
        "of one task) it no longer does."
    ),
    what_to_do=(
        "Load *Hard sharing* and press Train. Then train *MMoE*, *Cross-stitch* and *Soft "
        "sharing*: the same six tasks and seeds, another strategy. Last, train the two "
        "relatedness presets (0.5 and 1), or set relatedness yourself in the Data page's "
        "box and train again."
    ),
    look_at=(
        "Compare: Δm with its interval and verdict, and which tasks are red. Representations: "
        "MMoE's gate weights and cross-stitch's α — do the unrelated tasks keep to "
        "themselves?"
    ),
    question=(
        "Each task has 420 rows, as many as its single-task network. What does hard sharing "
        "take away from a task, and how does each of the other three strategies give it back?"
    ),
    sources=(
        "Caruana, R. (1997). Multitask Learning. Machine Learning 28, 41-75.",
        "Ma, J. et al. (2018). Modeling Task Relationships in Multi-task Learning with "
        "Multi-gate Mixture-of-Experts. KDD.",
        "Misra, I., Shrivastava, A., Gupta, A., Hebert, M. (2016). Cross-stitch Networks "
        "for Multi-task Learning. CVPR.",
        "Duong, L., Cohn, T., Bird, S., Cook, P. (2015). Low Resource Dependency Parsing: "
        "Cross-lingual Parameter Sharing in a Neural Network Parser. ACL.",
    ),
    presets=(
        Preset("hard", "Hard sharing (six unrelated tasks)", experiment("lesson2-hard")),
        Preset("mmoe", "MMoE (4 experts)", experiment("lesson2-mmoe", model=REMEDIES["mmoe"])),
        Preset(
            "cross-stitch",
            "Cross-stitch",
            experiment("lesson2-cross-stitch", model=REMEDIES["cross-stitch"]),
        ),
        Preset("soft", "Soft sharing (λ 0.1)", experiment("lesson2-soft", model=REMEDIES["soft"])),
        Preset(
            "related-0.5",
            "Hard sharing, relatedness 0.5",
            experiment("lesson2-related-0.5", relatedness=0.5),
        ),
        Preset(
            "related-1",
            "Hard sharing, relatedness 1",
            experiment("lesson2-related-1", relatedness=1.0),
        ),
    ),
    read_on="compare",
    measured=(
        "Δm (percent; mean [95 % t-interval] over 3 seeds, seeds 0–2 / 3–5). Hard sharing, "
        "relatedness 0: −78.6 [−126.4, −30.8] / −77.3 [−117.3, −37.3]; every seed from −56 to "
        "−96. MMoE −5.5 / −8.5, cross-stitch −4.7 / −6.5, soft sharing −18.8 / −22.9 on the "
        "same seed sets; each at least 37 points above hard sharing on each of the six seeds "
        "(paired intervals' low ends +9 to +43). Relatedness 0.5: −40.8 [−85.6, +4.0] / −56.7 "
        "[−86.0, −27.4], every seed from −29 to −66; 0.8: −31.0 / −33.7; 0.9: −16.3 / "
        "−25.8; 0.95: −13.9 / −23.4 (every seed below zero); 1: +6.2 [−2.4, +14.8] / +13.9 "
        "[−9.8, +37.6]. So the harm shrinks as the tasks share more and turns only between "
        "0.95 and 1, when they are nearly the same."
    ),
)
