"""Options that take one value for every task or one per task (synthetic noise, scales,
labelled rows) get a text field that lands in the config; bad text says why."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.draft import dataset_options_text, draft_summary
from dashboard.options import format_one_or_list, option_fields, parse_one_or_list
from mtlcore.data.builtin import SyntheticOptions
from tests.conftest import DASHBOARD_APP

APP = DASHBOARD_APP
pytestmark = pytest.mark.usefixtures("quiet_dashboard")


def test_one_or_per_task_options_are_recognised():
    kinds = {f.name: (f.kind, f.default) for f in option_fields(SyntheticOptions)}
    assert kinds["noise"] == ("float_or_list", 0.1)
    assert kinds["scales"] == ("float_or_list", 1.0)
    assert kinds["labelled_rows"] == ("int_or_list", None)


@pytest.mark.parametrize(
    ("text", "integer", "allow_none", "value"),
    [
        ("0.5", False, False, 0.5),
        ("0.1, 0.5", False, False, [0.1, 0.5]),
        ("1 2 3", False, False, [1.0, 2.0, 3.0]),
        ("", True, True, None),
        ("all, 30", True, True, [None, 30]),
        ("40", True, True, 40),
    ],
)
def test_parse_one_or_list(text, integer, allow_none, value):
    parsed = parse_one_or_list(text, integer=integer, allow_none=allow_none, what="x")
    assert parsed == value
    if value is not None:  # the field shows what it parsed, and reads it back the same
        shown = format_one_or_list(parsed)
        assert parse_one_or_list(shown, integer=integer, allow_none=allow_none, what="x") == value


@pytest.mark.parametrize(
    ("text", "integer", "allow_none", "says"),
    [
        ("", False, False, "Give a value for noise"),
        ("abc", False, False, "'abc' is not valid in noise: use numbers"),
        ("2.5", True, True, "use whole numbers"),
        ("inf", False, False, "'inf' is not valid"),
        ("all", False, False, "'all' is not valid"),
    ],
)
def test_bad_text_says_what_and_how(text, integer, allow_none, says):
    with pytest.raises(ValueError, match=says):
        parse_one_or_list(text, integer=integer, allow_none=allow_none, what="noise")


def test_the_few_labels_case_can_be_set_on_the_data_page():
    at = AppTest.from_file(APP, default_timeout=90)
    at.run()
    at.selectbox(key="ctl:data.builtin").set_value("synthetic").run()
    at.text_input(key="ctl:data.options.labelled_rows").set_value("all, 30").run()
    at.text_input(key="ctl:data.options.noise").set_value("0.1, 0.5").run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    options = at.session_state["draft"]["data"]["options"]
    assert options["labelled_rows"] == [None, 30] and options["noise"] == [0.1, 0.5]

    at.text_input(key="ctl:data.options.noise").set_value("a lot").run()
    assert any("'a' is not valid in noise" in e.value for e in at.error)
    assert at.session_state["draft"]["data"]["options"]["noise"] == [0.1, 0.5]  # last good value


def test_the_summary_names_the_dataset_options_that_differ_from_the_defaults():
    assert dataset_options_text("synthetic", {}) == ""
    assert dataset_options_text("synthetic", SyntheticOptions().model_dump()) == ""
    text = dataset_options_text(
        "synthetic", {**SyntheticOptions().model_dump(), "relatedness": 0.9,
                      "labelled_rows": [None, 30]}
    )  # fmt: skip
    assert text == " (relatedness 0.9, labelled rows all / 30)"
    raw = {"data": {"builtin": "synthetic", "options": {"relatedness": 0.0}},
           "model": {"strategy": "hard", "hidden": [8]}, "weighting": {"method": "equal"},
           "train": {"optimizer": "adam", "lr": 0.01, "epochs": 30, "steps": 200,
                     "batch_size": 32}}  # fmt: skip
    lines = draft_summary(raw)
    assert lines[0] == "Data: synthetic (relatedness 0)"
    assert "200 steps" in lines[4] and "epochs" not in lines[4]
