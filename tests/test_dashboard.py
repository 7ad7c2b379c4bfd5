"""The first page, driven by Streamlit's AppTest: pick, train, read the comparison."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard.logic import build_config, comparison_table, gain_verdict
from mtlcore.config import ConfigError

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def _clear_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


def app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_page_trains_and_shows_the_comparison():
    at = app()
    assert at.selectbox(key="dataset").value == "houses"
    assert at.multiselect(key="tasks_houses").value == ["house_price", "apartment_price"]
    at.slider(key="epochs").set_value(3)
    at.button(key="train").click().run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    assert list(table["task"]) == ["house_price", "apartment_price"]
    assert table["single-task"].notna().all() and table["gain %"].notna().all()
    assert any("Δm" in m.value for m in at.markdown)


def test_static_weights_get_a_slider_per_task():
    at = app()
    at.selectbox(key="dataset").set_value("penguins").run()
    at.selectbox(key="method").set_value("static").run()
    keys = {s.key for s in at.slider}
    assert {"w_species", "w_sex", "w_body_mass"} <= keys


def test_a_bad_setting_is_a_sentence_not_a_traceback():
    at = app()
    at.selectbox(key="dataset").set_value("penguins").run()
    at.multiselect(key="tasks_penguins").set_value(["species"]).run()
    at.slider(key="epochs").set_value(1)
    at.selectbox(key="optimizer").set_value("sgd")
    at.select_slider(key="lr").set_value(0.1)
    at.button(key="train").click().run()
    assert not at.exception


def test_build_config_rejects_bad_values_naming_the_key():
    with pytest.raises(ConfigError, match="train.epochs"):
        build_config(
            dataset="houses", dataset_options={}, tasks=["house_price"], strategy="hard",
            hidden=[16, 8], method="static", weights={"nope": 1.0}, optimizer="adam", lr=0.01,
            epochs=0, batch_size=32, baselines=True, seed=0,
        )  # fmt: skip


def test_comparison_table_and_verdict():
    result = {
        "tasks": {
            "a": {"kind": "regression", "metric": "rmse", "higher_is_better": False,
                  "mtl": 1.0, "stl": 2.0, "gain": 50.0},
        },
        "delta_m": 50.0,
    }  # fmt: skip
    table = comparison_table(result)
    assert table.loc[0, "metric"] == "rmse ↓" and table.loc[0, "gain %"] == 50.0
    assert "helped" in gain_verdict(result)
    assert "hurt" in gain_verdict({"delta_m": -3.0})
    assert "off" in gain_verdict({"delta_m": None})
