"""Lesson 2's claims, checked with its own presets over their three seeds.

Six unrelated, fully labelled synthetic tasks in a narrow hard-sharing trunk lose to
their single-task networks (Caruana, 1997; the tasks after Ma et al., 2018); MMoE
(Ma et al., 2018), cross-stitch (Misra et al., 2016) and soft sharing (Duong et al.,
2015) lose far less on the same seeds; at relatedness 0.5 hard sharing still hurts,
at 1 it does not.

The presets run as the lesson's grid (``Lesson.sweep``, run in this process by
``mtlcore.sweep.run_cells``): the remedies are in the hard preset's baseline group, so
they run without baselines — their single-task networks would be the hard preset's,
number for number (the baselines depend on the data, the trunk, the training settings
and the seed, never on the strategy) — and their gains are taken against the hard
preset's baselines, paired by seed (``by_variant``). Measurement the claims do
not read (gradient cosines, task affinity, snapshots) is off; it does not change the
training.

Margins (Δm per seed, percent, measured with bench/measure_lessons.py after batch groups
and one preprocessor per table): hard sharing at relatedness 0, seeds 0..2 −89/−91/−56,
seeds 3..5 −69/−67/−96 (intervals [−126, −31] and [−117, −37]); each remedy's Δm minus
hard sharing's, seeds 0..2 / 3..5: MMoE +96/+74/+49 / +68/+54/+84, cross-stitch
+85/+80/+57 / +72/+59/+82, soft +71/+71/+38 / +44/+44/+75 — every one ≥ 37, hence the
per-seed margin of 25 here; the paired intervals' low ends +15/+38/+12 (seeds 0..2) and
+31/+43/+9 (3..5). Relatedness 0.5: −32/−62/−29 / −66/−43/−61 (below −29 on every
seed, but the interval of seeds 0..2 reaches +4: its verdict is not claimed); relatedness
1: +6 [−2, +15] / +14 [−10, +38], at least 58 points above relatedness 0 on every seed.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from mtlcore.analysis import summarize_gains
from mtlcore.lessons import lesson
from mtlcore.lessons.sharing_hurts import REMEDIES
from mtlcore.sweep import by_variant, measurements_off, run_cells

pytestmark = pytest.mark.claim

LESSON = lesson("sharing-hurts")
MARGIN = 25.0  # points of Δm by which every remedy beats hard sharing on every seed
HALF_LOSS = -15.0  # Δm every seed stays below at relatedness 0.5 (−29 the highest measured)
# The lesson's grid (its presets, their seeds), measurement the claims do not read off.
GRID = LESSON.sweep(changes=measurements_off())


@functools.cache
def results() -> dict[str, dict[str, Any]]:
    """Every preset's result, compared with its baseline group's single-task networks by
    seed; the remedies reuse the hard preset's baselines (one group)."""
    return by_variant(GRID, run_cells(GRID))


def result(key: str) -> dict[str, Any]:
    return results()[key]


def test_presets_differ_from_the_hard_one_in_one_setting() -> None:
    hard = LESSON.preset("hard").experiment()
    assert hard.data.options["relatedness"] == 0.0 and hard.model.strategy == "hard"
    assert len(hard.seeds) >= 3
    for key, model in REMEDIES.items():
        config = LESSON.preset(key).experiment()
        assert config.model.strategy == model["strategy"]
        assert config.data == hard.data and config.train == hard.train
    for key, r in (("related-0.5", 0.5), ("related-1", 1.0)):
        config = LESSON.preset(key).experiment()
        assert config.data.options == {**hard.data.options, "relatedness": r}
        assert config.model == hard.model


def test_unrelated_tasks_lose_under_hard_sharing() -> None:
    hard = result("hard")
    by_seed = list(hard["delta_m_by_seed"].values())
    assert len(by_seed) == 3 and all(d < -25.0 for d in by_seed), by_seed
    assert hard["delta_m_verdict"] == "hurts", (hard["delta_m_low"], hard["delta_m_high"])
    assert all(t["gain"] < 0 for t in hard["tasks"].values()), {
        name: t["gain"] for name, t in hard["tasks"].items()
    }


@pytest.mark.parametrize("key", list(REMEDIES))
def test_mmoe_cross_stitch_and_soft_sharing_lose_far_less(key: str) -> None:
    assert GRID.owner_of(GRID.variant(key)) == GRID.variant("hard")  # the same baselines
    hard = result("hard")["delta_m_by_seed"]
    remedy = result(key)["delta_m_by_seed"]
    differences = [remedy[s] - hard[s] for s in hard]
    assert all(d > MARGIN for d in differences), (key, hard, remedy)
    assert summarize_gains(differences).verdict == "helps", (key, differences)


def test_the_harm_shrinks_as_relatedness_rises() -> None:
    unrelated = result("hard")["delta_m_by_seed"]
    half, same = result("related-0.5"), result("related-1")
    # At 0.5 every seed still loses (its interval over three seeds may reach zero).
    assert all(d < HALF_LOSS for d in half["delta_m_by_seed"].values()), half["delta_m_by_seed"]
    assert same["delta_m_verdict"] != "hurts", same["delta_m_by_seed"]
    assert same["delta_m"] > half["delta_m"] + 25.0, (half["delta_m"], same["delta_m"])
    # On every seed, six copies of one task fare far better than six unrelated tasks.
    assert all(same["delta_m_by_seed"][s] > unrelated[s] + 30.0 for s in unrelated), (
        unrelated,
        same["delta_m_by_seed"],
    )
