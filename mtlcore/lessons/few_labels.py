"""Lesson 1: a related task helps a data-poor one; an unrelated one does not.

Presets are the project's own examples (``examples/synthetic.yaml``,
``examples/houses.yaml``) with three seeds, and one setting changed for the contrast:
relatedness 0.9 → 0, and aligned columns on → off. Caruana (1997) for the idea;
the synthetic tasks follow Ma et al. (2018).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from mtlcore.lessons import Lesson, Preset

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEEDS = [0, 1, 2]


def example(file: str, name: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """``examples/<file>`` named ``name``, with three seeds and ``changes``
    (``{"data.options.x": v}``) applied."""
    raw = copy.deepcopy(yaml.safe_load((EXAMPLES / file).read_text(encoding="utf-8")))
    raw["name"] = name
    raw["seeds"] = list(SEEDS)
    raw.setdefault("train", {})["snapshot_every"] = 2  # the Representations page has pictures
    for dotted, value in (changes or {}).items():
        node = raw
        *path, last = dotted.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return raw


LESSON = Lesson(
    key="few-labels",
    number=1,
    title="A related task helps a data-poor one",
    claim=(
        "A task with only 30 labelled rows predicts better when it trains beside a related "
        "task that has all its labels (relatedness 0.9), and gains nothing measurable beside "
        "an unrelated one (relatedness 0). On houses & apartments, the apartments task (60 "
        "labelled rows) gains when the columns both tables share feed one input layer, and "
        "not when each table has its own."
    ),
    what_to_do=(
        "Load *Related partner* and press Train; when it is done, load *Unrelated partner* "
        "and train again. Then do the same with the two houses presets."
    ),
    look_at=(
        "Compare: task1's gain, its interval and its verdict in each experiment (and the "
        "trivial baseline beside them). Train: how fast task1's validation loss falls with "
        "each partner."
    ),
    question=(
        "Both partners give task1 exactly the same extra rows to look at. Why does only one "
        "of them help?"
    ),
    sources=(
        "Caruana, R. (1997). Multitask Learning. Machine Learning 28, 41-75.",
        "Ma, J. et al. (2018). Modeling Task Relationships in Multi-task Learning with "
        "Multi-gate Mixture-of-Experts. KDD.",
    ),
    presets=(
        Preset(
            "related",
            "Related partner (relatedness 0.9)",
            example("synthetic.yaml", "lesson1-related"),
        ),
        Preset(
            "unrelated",
            "Unrelated partner (relatedness 0)",
            example("synthetic.yaml", "lesson1-unrelated", {"data.options.relatedness": 0.0}),
        ),
        Preset(
            "houses",
            "Houses & apartments, shared columns aligned",
            example("houses.yaml", "lesson1-houses"),
        ),
        Preset(
            "houses-separate",
            "Houses & apartments, each table its own input layer",
            example("houses.yaml", "lesson1-houses-separate", {"data.align_columns": False}),
        ),
    ),  # fmt: skip
    read_on="compare",
    measured=(
        "Few-labels task's RMSE gain over its single-task model, mean [95 % interval], 5 "
        "seeds (0–4): relatedness 0.9: +22.9 % [+13.6, +32.2]; relatedness 0: +1.2 % [−8.2, "
        "+10.6]. Apartments: aligned +28.5 % [+17.3, +39.6]; separate first layers +4.2 % "
        "[−6.2, +14.6]. The page's three seeds and seeds 3–5 in docs/lessons.md."
    ),
)
