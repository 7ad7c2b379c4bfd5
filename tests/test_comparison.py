"""The honest comparison: the verdict rule's properties, the trivial baselines, and one
comparison whether the seeds ran in one result or one run each (what the dashboard does)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mtlcore.analysis import (
    FINDINGS,
    combine_results,
    compare,
    delta_m_sentence,
    stored_summary,
    summarize_gains,
    trivial_metrics,
    trivial_sentence,
    verdict_label,
)
from mtlcore.cli import format_summary
from mtlcore.config import ExperimentConfig
from mtlcore.data.prepare import TaskData
from mtlcore.data.spec import TaskSpec
from mtlcore.runs._worker import result_summary

# No subnormals: training in the same process sets torch.set_flush_denormal(True), which is
# process-wide, and hypothesis refuses to draw subnormal floats it cannot represent.
gain = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
several = st.lists(gain, min_size=2, max_size=20)
FLIP = {"helps": "hurts", "hurts": "helps", "within the noise": "within the noise"}


# --- the verdict rule ---------------------------------------------------------------------


@given(gain)
def test_one_seed_is_never_a_finding(g: float):
    s = summarize_gains([g])
    assert s.verdict == "one seed" and s.verdict not in FINDINGS
    assert s.std is None and s.low is None and s.high is None and s.n == 1


@given(
    st.floats(1e-3, 1e4, allow_subnormal=False),
    st.lists(st.floats(1.0, 3.0, allow_subnormal=False), min_size=5, max_size=5),
    st.sampled_from([1.0, -1.0]),
)
def test_five_same_sign_seeds_within_a_factor_three_are_a_finding(
    size: float, spread: list[float], sign: float
):
    """Five gains of one sign, none more than 3x another: the interval excludes 0."""
    s = summarize_gains([sign * size * f for f in spread])
    assert s.verdict == ("helps" if sign > 0 else "hurts")


def test_the_old_two_std_rule_called_five_of_five_negative_seeds_noise():
    gains = [-1.0, -1.0, -1.0, -3.0, -3.0]
    mean, std = np.mean(gains), np.std(gains, ddof=1)
    assert abs(mean) < 2 * std  # what the page used to call "within the noise"
    s = summarize_gains(gains)
    assert s.verdict == "hurts" and s.high < 0


def test_the_interval_is_students_t():
    s = summarize_gains([4.0, 5.0, 6.0])
    half = 4.302652729911275 / math.sqrt(3)  # t(0.975, df=2) * std 1 / sqrt(3)
    assert s.mean == 5.0 and s.std == 1.0 and s.n == 3
    assert (s.low, s.high) == (pytest.approx(5 - half), pytest.approx(5 + half))
    assert summarize_gains([1.0, -1.0, 0.5]).verdict == "within the noise"
    assert summarize_gains([None, math.nan]).verdict == "no baseline"
    assert summarize_gains([2.0, math.nan, None]).verdict == "one seed"


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
def test_the_interval_is_scipy_stats_t_to_the_last_bit(level: float):
    from scipy import stats

    rng = np.random.default_rng(0)
    for n in range(2, 40):
        gains = rng.normal(size=n).tolist()
        s = summarize_gains(gains, level)
        half = float(stats.t.ppf(0.5 + level / 2, df=n - 1)) * s.std / math.sqrt(n)
        assert (s.low, s.high) == (s.mean - half, s.mean + half)


@given(several)
def test_the_interval_contains_the_mean(gains: list[float]):
    s = summarize_gains(gains)
    assert s.low <= s.mean <= s.high


@given(several)
def test_flipping_every_sign_flips_helps_and_hurts(gains: list[float]):
    s, flipped = summarize_gains(gains), summarize_gains([-g for g in gains])
    assert flipped.verdict == FLIP[s.verdict]
    assert (flipped.low, flipped.high) == (-s.high, -s.low)


@given(several, st.randoms(use_true_random=False))
def test_the_verdict_does_not_depend_on_the_order_of_seeds(gains: list[float], rnd):
    shuffled = list(gains)
    rnd.shuffle(shuffled)
    assert summarize_gains(shuffled) == summarize_gains(gains)


# --- the whole comparison ------------------------------------------------------------------


def test_compare_pairs_by_seed_and_gives_delta_m_its_own_verdict():
    out = compare({
        "a": {"higher_is_better": False, "mtl_by_seed": {0: 0.9, 1: 0.8, 2: 1.0},
              "stl_by_seed": {2: 1.1, 0: 1.0, 1: 0.9}},
        "b": {"higher_is_better": True, "mtl_by_seed": {0: 0.8, 1: 0.7, 2: 0.9},
              "stl_by_seed": {0: 0.8, 1: 0.7, 2: 0.9}},
    })  # fmt: skip
    a, b = out["tasks"]["a"], out["tasks"]["b"]
    assert a["gain_by_seed"] == pytest.approx({"0": 10.0, "1": 100 / 9, "2": 100 / 11})
    assert a["verdict"] == "helps" and a["gain_low"] > 0
    assert (
        b["gain_by_seed"] == {"0": 0.0, "1": 0.0, "2": 0.0} and b["verdict"] == "within the noise"
    )
    assert out["delta_m_by_seed"]["0"] == pytest.approx(5.0)
    assert out["delta_m_verdict"] == "helps" and out["confidence"] == 0.95
    assert "Δm" in delta_m_sentence(out) and "95% interval" in delta_m_sentence(out)


def test_without_baselines_there_is_no_verdict_and_one_seed_has_no_spread():
    out = compare({"a": {"higher_is_better": True, "mtl_by_seed": {0: 0.8}, "stl_by_seed": None}})
    a = out["tasks"]["a"]
    assert a["verdict"] == "no baseline" and a["stl"] is None and a["mtl_std"] is None
    assert out["delta_m"] is None and out["delta_m_verdict"] == "no baseline"
    one = compare(
        {"a": {"higher_is_better": True, "mtl_by_seed": {3: 0.8}, "stl_by_seed": {3: 0.7}}}
    )
    assert one["tasks"]["a"]["verdict"] == "one seed" and one["tasks"]["a"]["gain_std"] is None
    assert verdict_label("one seed") == "one seed — run more to tell"


def test_old_run_summaries_count_as_the_one_seed_they_name():
    old = [{"seeds": [s], "tasks": {"a": {"kind": "binary", "metric": "accuracy",
            "higher_is_better": True, "mtl": m, "stl": 0.7, "gain": None}}}
           for s, m in ((0, 0.8), (1, 0.81), (2, 0.79))]  # fmt: skip
    out = combine_results(old)
    assert out["seeds"] == [0, 1, 2] and out["tasks"]["a"]["verdict"] == "helps"
    assert out["tasks"]["a"]["trivial"] is None and stored_summary(out["tasks"]["a"]).n == 3


# --- the trivial baseline ----------------------------------------------------------------------


def task(kind: str, train: list[float], test: list[float], classes=None, **units) -> TaskData:
    empty = np.zeros((0, 1), dtype=np.float32)
    return TaskData(
        spec=TaskSpec("t", "tbl", "y", kind, ("x",)), classes=classes, feature_names=["x"],
        X={"train": empty, "val": empty, "test": empty},
        y={"train": np.array(train), "val": np.array([]), "test": np.array(test)}, **units,
    )  # fmt: skip


def test_trivial_regression_predicts_the_training_mean_in_units():
    # Trained in standard units (mean 10, std 2): the training mean is 10 + 2 * 1.0 = 12.
    t = task("regression", [0.0, 1.0, 2.0], [1.0, 2.0, 4.0], target_mean=10.0, target_std=2.0)
    m = trivial_metrics(t)
    assert m["rmse"] == pytest.approx(math.sqrt((0 + 4 + 36) / 3))  # truth 12, 14, 18
    assert m["mae"] == pytest.approx(8 / 3)


def test_trivial_classification_is_the_majority_class():
    binary = trivial_metrics(task("binary", [1, 1, 1, 0], [0, 0, 1, 0, 1], ["no", "yes"]))
    assert binary["accuracy"] == pytest.approx(2 / 5) and binary["auc"] == 0.5
    multi = task("multiclass", [2, 2, 0, 1, 2], [0, 2, 2, 1], ["a", "b", "c"])
    assert trivial_metrics(multi)["accuracy"] == pytest.approx(2 / 4)


def test_a_model_no_better_than_trivial_is_named():
    entry = {"kind": "regression", "metric": "rmse", "higher_is_better": False,
             "mtl": 5.0, "stl": 3.0, "trivial": 4.0}  # fmt: skip
    assert "multi-task model is no better than predicting the training mean" in trivial_sentence(
        "price", entry
    )
    assert trivial_sentence("price", {**entry, "mtl": 2.0}) is None


# --- result.json and the dashboard's one run per seed ---------------------------------------------

TINY = {
    "data": {"builtin": "synthetic", "options": {"n_rows": 200, "n_features": 4}},
    "model": {"hidden": [8]},
    "train": {"epochs": 2, "batch_size": 32, "grad_cosine_every": 0},
}
COMPARED = ("mtl", "mtl_std", "stl", "stl_std", "gain", "gain_std", "gain_low", "gain_high",
            "verdict", "mtl_by_seed", "stl_by_seed", "gain_by_seed", "trivial")  # fmt: skip
DELTA_M = ("delta_m", "delta_m_std", "delta_m_low", "delta_m_high", "delta_m_verdict",
           "delta_m_by_seed")  # fmt: skip


def test_result_carries_the_comparison_and_one_run_per_seed_gives_the_same():
    from mtlcore.experiment import run_experiment

    three, _ = run_experiment(ExperimentConfig.parse({**TINY, "seeds": [0, 1, 2]}))
    for t in three["tasks"].values():
        assert set(t) >= {*COMPARED, "confidence", "metrics_trivial", "metrics_mtl", "metrics_stl"}
        assert list(t["gain_by_seed"]) == ["0", "1", "2"]
        assert t["gain_low"] <= t["gain"] <= t["gain_high"] and t["confidence"] == 0.95
        assert t["trivial"] == t["metrics_trivial"]["rmse"] > 0
        # one rule for every mean over seeds: the metric means are the comparison's values
        assert t["metrics_mtl"]["rmse"] == t["mtl"] and t["metrics_stl"]["rmse"] == t["stl"]
    assert set(three) >= set(DELTA_M) and len(three["delta_m_by_seed"]) == 3

    ones = [run_experiment(ExperimentConfig.parse({**TINY, "seeds": [s]}))[0] for s in (2, 0, 1)]
    for one in ones:  # one seed: no spread, no interval, no finding
        for t in one["tasks"].values():
            assert t["mtl_std"] is None and t["gain_std"] is None and t["verdict"] == "one seed"
    combined = combine_results([result_summary(r) for r in ones])
    assert combined["seeds"] == [0, 1, 2]
    for name, t in three["tasks"].items():
        for key in COMPARED:
            assert combined["tasks"][name][key] == pytest.approx(t[key]), (name, key)
    for key in DELTA_M:
        assert combined[key] == pytest.approx(three[key]), key


def test_the_cli_table_shows_trivial_interval_and_verdict():
    out = compare({
        "house_price": {"higher_is_better": False, "mtl_by_seed": {0: 90.0, 1: 80.0, 2: 100.0},
                        "stl_by_seed": {0: 100.0, 1: 90.0, 2: 110.0}},
    })  # fmt: skip
    out["tasks"]["house_price"].update(kind="regression", metric="rmse", higher_is_better=False,
                                       trivial=250.0)  # fmt: skip
    text = format_summary({**out, "n_seeds": 3})
    header, row, dm = text.splitlines()
    assert "trivial" in header and "95% interval" in header and "verdict" in header
    assert "250" in row and "helps" in row and " to " in row
    assert dm.startswith("Δm = +") and "95% interval" in dm and "over 3 seeds: helps" in dm
    one = compare(
        {"a": {"higher_is_better": True, "mtl_by_seed": {0: 0.8}, "stl_by_seed": {0: 0.7}}}
    )
    one["tasks"]["a"].update(kind="binary", metric="accuracy", higher_is_better=True, trivial=0.5)
    text = format_summary({**one, "n_seeds": 1})
    assert text.count("one seed — run more to tell") == 2 and "over 1 seed:" in text
