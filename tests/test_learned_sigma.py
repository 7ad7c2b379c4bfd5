"""The Train page's table of uncertainty weighting's learned σ beside the true noise."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import runs_client
from dashboard.learned_sigma import (
    AS_TRAINED,
    IN_UNITS,
    RATIO,
    TRUE_NOISE,
    caption,
    sigma_table,
    true_noise,
)

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")

COLUMNS = ["id", "run_id", "step", "epoch", "model", "task", "split", "name", "value"]


def metrics(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(
        [(i, 1, 10 * e, e, m, t, s, n, v) for i, (e, m, t, s, n, v) in enumerate(rows)],
        columns=COLUMNS,
    )


SYNTHETIC = {"data": {"builtin": "synthetic", "standardize_targets": False,
                      "options": {"n_tasks": 2, "scales": [1.0, 10.0], "noise": 0.3}}}  # fmt: skip


def test_latest_sigma_per_task_beside_scale_times_noise():
    frame = metrics([
        (1, "mtl", "task0", "state", "sigma", 0.8), (1, "mtl", "task1", "state", "sigma", 2.0),
        (2, "mtl", "task0", "state", "sigma", 0.33), (2, "mtl", "task1", "state", "sigma", 6.0),
        (2, "stl", "task0", "state", "sigma", 9.0), (2, "mtl", "task0", "train", "loss", 0.1),
    ])  # fmt: skip
    table = sigma_table(frame, SYNTHETIC)
    assert table["task"].tolist() == ["task0", "task1"]
    assert table[IN_UNITS].tolist() == [0.33, 6.0]  # not standardised: σ is in target units
    assert AS_TRAINED not in table.columns
    assert table[TRUE_NOISE].tolist() == pytest.approx([0.3, 3.0])
    assert table[RATIO].tolist() == pytest.approx([1.1, 2.0])


def test_no_truth_without_target_units_or_not_synthetic_and_no_table_without_sigma():
    standardised = {"data": {**SYNTHETIC["data"], "standardize_targets": True}}
    assert true_noise(standardised, ["task0"]) == {"task0": pytest.approx(0.3)}
    assert true_noise({"data": {"builtin": "houses"}}, ["house_price"]) == {}
    assert true_noise({"data": {"builtin": "synthetic", "standardize_targets": False,
                                "options": {"noise": 0.5}}}, ["task0", "task1"]) == {
        "task0": 0.5, "task1": 0.5}  # fmt: skip
    frame = metrics([(1, "mtl", "task0", "state", "sigma", 0.5)])
    table = sigma_table(frame, standardised)  # a live run: no target scales yet
    assert table.columns.tolist() == ["task", AS_TRAINED]
    weights_only = metrics([(1, "mtl", "task0", "train", "weight", 1.0)])
    assert sigma_table(weights_only, SYNTHETIC) is None
    assert sigma_table(metrics([]), SYNTHETIC) is None


def test_the_train_page_shows_learned_sigma_of_the_lesson_preset(monkeypatch):
    monkeypatch.setenv(runs_client.EAGER_ENV, "0")
    st.cache_data.clear()
    try:
        at = AppTest.from_file(APP, default_timeout=120)
        at.query_params.update({"lesson": "loss-scales", "preset": "uncertainty"})
        at.run()
        at.switch_page("app_pages/model.py").run()
        at.slider(key="ctl:train.epochs").set_value(2).run()  # short: the table, not the claim
        at.switch_page("app_pages/train.py").run()
        at.button(key="train").click().run()
        deadline = time.monotonic() + 120
        while any(not r.is_finished for r in runs_client.list_runs()):
            assert time.monotonic() < deadline, "the run did not finish in time"
            time.sleep(0.3)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        tables = [d.value for d in at.dataframe if IN_UNITS in d.value.columns]
        assert len(tables) == 1, [d.value.columns for d in at.dataframe]
        assert tables[0][TRUE_NOISE].tolist() == pytest.approx([0.3, 3.0])
        assert (tables[0][IN_UNITS] > 0).all()
        text = caption(standardised=False, scales_known=True, true_noise_shown=True)
        assert any(c.value == text for c in at.caption)
    finally:
        runs_client.shutdown()
        st.cache_data.clear()
