"""The Data page with realistic CSVs (tests/messy_csv.py), driven by AppTest: task names
follow the target, sensible default targets and inputs, what preprocessing does is on the
page, the Kind box never turns its label into a value, and the synthetic dataset's text
matches its controls."""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.options import option_fields
from mtlcore.data.builtin import BUILTIN_DATASETS, SyntheticOptions
from tests.conftest import DASHBOARD_APP
from tests.messy_csv import cars_csv, cars_frame, penguins_raw_csv, weather_csv

pytestmark = pytest.mark.usefixtures("quiet_dashboard")


def page_with(name: str, data: bytes) -> AppTest:
    at = AppTest.from_file(DASHBOARD_APP, default_timeout=90)
    at.run()
    at.radio(key="ctl:source").set_value("csv").run()
    at.file_uploader[0].set_value((name, data, "text/csv")).run()
    assert_clean(at)
    return at


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def tasks(at: AppTest) -> list[dict]:
    return at.session_state["draft"]["tasks"]


def plain(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def test_a_task_named_by_the_page_follows_its_target_and_a_typed_name_stays():
    at = page_with("weather.csv", weather_csv())
    at.button(key="add_task").click().run()
    assert [(t["name"], t["target"]) for t in tasks(at)] == [("weather", "weather")]
    at.selectbox(key="ctl:tasks.0.target").set_value("temp_max").run()
    assert (tasks(at)[0]["name"], tasks(at)[0]["target"]) == ("temp_max", "temp_max")
    assert at.text_input(key="ctl:tasks.0.name").value == "temp_max"
    at.button(key="add_task").click().run()  # the false error came here
    assert_clean(at)
    assert [t["kind"] for t in tasks(at)] == ["auto", "auto"]
    assert [t["name"] for t in tasks(at)] == ["temp_max", "weather"]

    at.selectbox(key="ctl:tasks.1.target").set_value("temp_min").run()
    assert tasks(at)[1]["name"] == "temp_min"
    at.text_input(key="ctl:tasks.1.name").set_value("tomorrow").run()
    at.selectbox(key="ctl:tasks.1.target").set_value("wind").run()
    assert (tasks(at)[1]["name"], tasks(at)[1]["target"]) == ("tomorrow", "wind")
    assert_clean(at)


def test_a_column_that_stops_being_the_target_becomes_an_input_again():
    at = page_with("weather.csv", weather_csv())
    at.button(key="add_task").click().run()
    assert tasks(at)[0]["target"] == "weather" and "weather" not in tasks(at)[0]["inputs"]
    at.selectbox(key="ctl:tasks.0.target").set_value("temp_max").run()
    inputs = tasks(at)[0]["inputs"]
    assert "weather" in inputs and "temp_max" not in inputs
    assert at.multiselect(key="ctl:tasks.0.inputs").value == inputs
    at.selectbox(key="ctl:tasks.0.target").set_value("temp_min").run()
    assert "temp_max" in tasks(at)[0]["inputs"] and "temp_min" not in tasks(at)[0]["inputs"]
    assert_clean(at)


def test_the_kind_box_shows_fixed_labels_and_the_detected_kind_beside_them():
    at = page_with("weather.csv", weather_csv())
    at.button(key="add_task").click().run()
    kind = at.selectbox(key="ctl:tasks.0.kind")
    assert kind.options == ["auto (from the data)", "regression", "binary", "multiclass"]
    captions = [c.value for c in at.caption]
    assert "Detected from the data: multiclass" in captions
    at.selectbox(key="ctl:tasks.0.target").set_value("temp_max").run()
    assert at.selectbox(key="ctl:tasks.0.kind").options == kind.options  # unchanged labels
    assert "Detected from the data: regression" in [c.value for c in at.caption]


def test_raw_penguins_get_a_sensible_task_and_the_profile_says_why_columns_are_left_out():
    at = page_with("penguins_raw.csv", penguins_raw_csv())
    at.button(key="add_task").click().run()
    assert_clean(at)
    task = tasks(at)[0]
    assert task["target"] != "Comments" and task["name"] == task["target"]
    assert "Date Egg" in task["inputs"]
    assert not {"Comments", "Sample Number", "Individual ID", "Region"} & set(task["inputs"])
    profile = next(df.value for df in at.dataframe if "note" in df.value.columns)
    notes = profile.set_index("column")["note"]
    assert "free text" in notes["Comments"] and "ID" in notes["Sample Number"]
    assert "day of week" in notes["Date Egg"]


def test_what_preprocessing_does_is_on_the_page():
    at = page_with("cars.csv", cars_csv())
    at.button(key="add_task").click().run()
    at.selectbox(key="ctl:tasks.0.target").set_value("mpg").run()
    assert_clean(at)
    frame = cars_frame()
    labelled = frame[frame["mpg"].notna()]
    dropped = int(frame["mpg"].isna().sum())
    assert any(f"Drops {dropped} row(s)" in c.value for c in at.caption)
    summary = next(df.value for df in at.dataframe if "read_as" in df.value.columns)
    rows = summary.set_index("column")
    filled = int(labelled["horsepower"].isna().sum())
    assert filled > 0 and rows.loc["horsepower", "filled"] == f"{filled} (median)"
    assert rows.loc["cylinders", "read_as"] == "number, standardised"
    assert "name" not in rows.index  # free text is not an input
    assert tasks(at)[0]["name"] == "mpg"


def test_a_date_input_is_described_as_its_features():
    at = page_with("weather.csv", weather_csv())
    at.button(key="add_task").click().run()
    summary = next(df.value for df in at.dataframe if "read_as" in df.value.columns)
    row = summary.set_index("column").loc["date"]
    assert row["features"] == 7 and "day of week" in row["read_as"]


def test_every_synthetic_option_has_a_control_and_the_text_names_no_other():
    fields = {f.name for f in option_fields(SyntheticOptions)}
    assert fields == set(SyntheticOptions.model_fields)  # scales included
    at = AppTest.from_file(DASHBOARD_APP, default_timeout=90)
    at.run()
    at.selectbox(key="ctl:data.builtin").set_value("synthetic").run()
    keys = {w.key for w in [*at.number_input, *at.text_input, *at.toggle, *at.selectbox]}
    assert {f"ctl:data.options.{name}" for name in fields} <= keys
    text = BUILTIN_DATASETS["synthetic"].description + " ".join(
        f.description or "" for f in SyntheticOptions.model_fields.values()
    )
    assert "slide" not in text.lower()


def test_classroom_mode_on_the_data_page_names_fixed_choices_and_leaves_no_empty_column():
    at = AppTest.from_file(DASHBOARD_APP, default_timeout=90)
    at.query_params.update({"hide": "dataset,dataset_options", "data.builtin": "synthetic"})
    at.run()
    assert_clean(at)
    captions = plain("\n".join(c.value for c in at.caption))
    title = BUILTIN_DATASETS["synthetic"].title
    assert f"{title}, fixed by this link." in captions
    assert "Source:" not in captions  # the fixed dataset's description is not shown
    assert not at.expander or all("Dataset options" not in e.label for e in at.expander)

    at = page_with("weather.csv", weather_csv())
    at.button(key="add_task").click().run()
    at.selectbox(key="ctl:tasks.0.target").set_value("temp_max").run()
    at.session_state["hide"] = {"tasks"}  # as ?hide=tasks would set it
    at.run()
    assert_clean(at)
    assert all(col.children for col in at.columns), "an empty column on the Data page"
    fixed = next(df.value for df in at.dataframe if "inputs" in df.value.columns)
    assert fixed[["task", "target"]].values.tolist() == [["temp_max", "temp_max"]]
    assert "weather" in fixed["inputs"][0]
    assert not [b for b in at.button if b.key in ("add_task", "remove_task_0")]
