"""Numbers over seeds (mtlcore.analysis.seeds): one rule for every mean and std over seeds.

A std needs two values: with one seed it is missing (None / NaN / null), never 0.0, for
the task comparison and the pairwise-gain matrix alike, whether the seeds come from one
multi-seed run or from the dashboard's pooled one-seed runs.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtlcore.analysis import combine_transfer, pairwise_summary
from mtlcore.analysis.pairwise import PairwiseSeed
from mtlcore.analysis.seeds import mean_std, mean_std_cells

FLOATS = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)


def test_one_value_has_no_spread_and_missing_values_are_left_out():
    assert mean_std([]) == (None, None)
    assert mean_std([3.0]) == (3.0, None)
    assert mean_std([3.0, None, math.nan, math.inf]) == (3.0, None)
    mean, std = mean_std([1.0, 2.0, 6.0])
    assert mean == 3.0 and std == pytest.approx(np.std([1.0, 2.0, 6.0], ddof=1))


@given(st.lists(FLOATS, min_size=2, max_size=8), st.randoms(use_true_random=False))
def test_the_order_of_the_seeds_changes_nothing_and_a_sign_flip_flips_the_mean(values, rnd):
    shuffled = list(values)
    rnd.shuffle(shuffled)
    assert mean_std(shuffled) == mean_std(values)
    mean, std = mean_std(values)
    assert mean_std([-v for v in values]) == (-mean, std)


def test_cells_follow_the_same_rule_as_single_numbers():
    stack = np.array([[[np.nan, 1.0], [4.0, np.nan]], [[np.nan, 3.0], [np.nan, np.nan]]])
    mean, std = mean_std_cells(stack)
    assert mean.shape == std.shape == (2, 2)
    assert mean[0, 1] == 2.0 and std[0, 1] == mean_std([1.0, 3.0])[1]
    assert mean[1, 0] == 4.0 and np.isnan(std[1, 0])  # one seed has the value: no spread
    assert np.isnan(mean[0, 0]) and np.isnan(std[0, 0])


def seed_run(seed: int, a_beside_b: float) -> PairwiseSeed:
    metrics = {"a": {"rmse": a_beside_b}, "b": {"rmse": 1.0}}
    return PairwiseSeed(seed, {"a": {"rmse": 1.0}, "b": {"rmse": 1.0}}, {("a", "b"): metrics},
                        trainings=1, seconds=0.0)  # fmt: skip


def test_one_seed_of_pairwise_gains_has_no_std_in_the_engine_or_the_pooled_runs():
    metric = {"a": "rmse", "b": "rmse"}
    one = pairwise_summary(["a", "b"], metric, [seed_run(0, 0.8)])
    assert one is not None and one["gain"][0][1] == pytest.approx(20.0)
    assert one["gain_std"] == [[None, None], [None, None]]  # not 0.0
    assert combine_transfer([{"pairwise": one}])["pairwise"]["gain_std"][0][1] is None

    both = pairwise_summary(["a", "b"], metric, [seed_run(0, 0.8), seed_run(1, 0.9)])
    other = pairwise_summary(["a", "b"], metric, [seed_run(1, 0.9)])
    pooled = combine_transfer([{"pairwise": one}, {"pairwise": other}])["pairwise"]
    assert both is not None and both["gain_std"][0][1] == pytest.approx(math.sqrt(50))
    for key in ("gain", "gain_std", "value"):  # one run of two seeds = two one-seed runs
        assert pooled[key] == both[key], key
