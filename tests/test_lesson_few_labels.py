"""Lesson 1's claim, checked with the lesson's own presets (three seeds each, as the page runs them).

The presets are the project's examples (whose five-seed claims tests/test_claims_*.py
check) with the Learn page's three seeds; this checks what a student sees.
"""

from __future__ import annotations

import pytest

from mtlcore.experiment import run_experiment
from mtlcore.lessons import LESSONS

pytestmark = pytest.mark.claim
LESSON = LESSONS["few-labels"]


def task_result(preset: str, task: str) -> dict:
    config = LESSON.preset(preset).experiment()
    assert len(config.seeds) >= 3
    raw = config.model_dump(mode="json")
    raw["train"].update(
        snapshot_every=0, affinity_every=0, grad_cosine_every=0
    )  # not measured here
    result, _ = run_experiment(type(config).parse(raw))
    return result["tasks"][task]


@pytest.mark.parametrize(
    ("related", "unrelated", "task"),
    [("related", "unrelated", "task1"), ("houses", "houses-separate", "apartment_price")],
)
def test_the_data_poor_task_gains_only_from_a_related_partner(related, unrelated, task):
    helped, not_helped = task_result(related, task), task_result(unrelated, task)
    assert helped["verdict"] == "helps", helped
    gains, others = helped["gain_by_seed"], not_helped["gain_by_seed"]  # seed -> gain %
    assert all(g > 0 for g in gains.values()), gains
    assert not_helped["verdict"] != "helps", not_helped
    # Paired by seed (same seeds, same single-task baselines): the related partner wins each.
    assert gains.keys() == others.keys()
    assert all(gains[s] > others[s] for s in gains), (gains, others)
