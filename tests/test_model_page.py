"""Model page controls for the training length (epochs or steps), the learning-rate
schedule and the transfer measurements land in the config the run uses."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from mtlcore.config import ExperimentConfig
from tests.conftest import DASHBOARD_APP

APP = DASHBOARD_APP
pytestmark = pytest.mark.usefixtures("quiet_dashboard")


def model_page(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=90)
    at.query_params.update(query or {})
    at.run()
    at.switch_page("app_pages/model.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def train_cfg(at: AppTest) -> dict:
    """The draft's train section, validated as the run would be."""
    draft = at.session_state["draft"]
    return ExperimentConfig.parse(draft).model_dump(mode="json")["train"]


def test_steps_instead_of_epochs_and_back():
    at = model_page()
    at.slider(key="ctl:train.epochs").set_value(50).run()
    at.radio(key="length_mode").set_value("steps").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    at.number_input(key="ctl:train.steps").set_value(250).run()
    t = train_cfg(at)
    assert t["steps"] == 250 and t["epochs"] == 30  # epochs back at its default: one or the other
    at.radio(key="length_mode").set_value("epochs").run()
    assert not at.error
    assert train_cfg(at)["steps"] is None


def test_schedule_warmup_and_measurements():
    at = model_page()
    at.selectbox(key="ctl:train.schedule").set_value("step").run()
    at.number_input(key="ctl:train.warmup_steps").set_value(40).run()
    at.select_slider(key="ctl:train.step_gamma").set_value(0.5).run()
    at.number_input(key="ctl:train.affinity_every").set_value(5).run()
    at.toggle(key="ctl:train.pairwise").set_value(True).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    t = train_cfg(at)
    assert (t["schedule"], t["warmup_steps"], t["step_gamma"]) == ("step", 40, 0.5)
    assert t["affinity_every"] == 5 and t["pairwise"] is True


def test_a_steps_link_opens_with_steps_chosen():
    at = model_page({"train.steps": "300"})
    assert at.radio(key="length_mode").value == "steps"
    assert at.number_input(key="ctl:train.steps").value == 300


def test_classroom_mode_hides_the_length_and_schedule():
    at = model_page({"hide": "epochs,schedule"})
    assert not [r for r in at.radio if r.key == "length_mode"]
    assert not [n for n in at.number_input if n.key == "ctl:train.warmup_steps"]
