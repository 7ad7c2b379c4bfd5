"""Missing-value markers: real files write a missing number as "?" (auto-mpg), "NA" or
"-"; such a column stays numeric, and its missing values are imputed and counted on the
Data page, in training files and in new rows for Predict alike."""

from __future__ import annotations

import pytest

from mtlcore.data.ingest import MISSING_MARKERS, profile_table, read_csv_table
from mtlcore.predict import read_rows
from tests.messy_csv import cars_frame
from tests.test_data_page import assert_clean, page_with


def _cars_with(marker: str) -> bytes:
    """The auto-mpg-like table with its missing values written as ``marker``."""
    return cars_frame().to_csv(index=False, na_rep=marker).encode()


@pytest.mark.parametrize("marker", MISSING_MARKERS)
def test_a_numeric_column_with_a_missing_marker_stays_numeric(marker):
    df = read_csv_table(_cars_with(marker), "auto-mpg.csv")
    expected = cars_frame()
    for column in ("mpg", "horsepower"):
        assert df[column].dtype == "float64", (marker, column)
        assert df[column].isna().sum() == expected[column].isna().sum() > 0
    prof = profile_table(df).set_index("column")
    assert prof.loc["horsepower", "role"] == "number"  # not text, not an "identifier"
    assert prof.loc["horsepower", "task_kind"] == "regression"


def test_markers_inside_text_are_kept():
    rows = "".join(f"{i},{i}?,a-b,{'N/A' if i % 2 else 'x'}\n" for i in range(25))
    df = read_csv_table(("n,code,pair,tag\n" + rows).encode(), "t.csv")
    assert df["code"].notna().all() and df["pair"].eq("a-b").all()  # only whole cells
    assert df["tag"].isna().sum() == 12


@pytest.mark.usefixtures("quiet_dashboard")
def test_the_data_page_imputes_and_counts_question_marks():
    at = page_with("auto-mpg.csv", _cars_with("?"))
    at.button(key="add_task").click().run()
    at.selectbox(key="ctl:tasks.0.target").set_value("mpg").run()
    assert_clean(at)
    frame = cars_frame()
    labelled = frame[frame["mpg"].notna()]
    summary = next(df.value for df in at.dataframe if "read_as" in df.value.columns)
    row = summary.set_index("column").loc["horsepower"]
    filled = int(labelled["horsepower"].isna().sum())
    assert filled > 0 and row["filled"] == f"{filled} (median)"
    assert row["read_as"] == "number, standardised"
    assert any(f"Drops {int(frame['mpg'].isna().sum())} row(s)" in c.value for c in at.caption)


def test_new_rows_read_the_same_markers_as_missing():
    frame = read_rows(b"horsepower,weight\n?,3000\n130,-\n NA,--\n", "new.csv")
    assert frame.isna().sum().tolist() == [2, 2]
    assert frame.loc[1, "horsepower"] == "130"
