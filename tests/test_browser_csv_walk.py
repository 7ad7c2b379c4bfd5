"""Issue 10's end-to-end walk in a real browser: a raw penguins CSV with a date column, a
free-text column, ID columns and missing values (written as "?", as auto-mpg does) is
uploaded; two tasks are mapped by picking targets that are not the defaults; it trains
(two seeds, a few epochs), Compare gives both tasks, the experiment downloads as a zip,
and Predict turns new rows into a predictions CSV for both tasks (both read the date).
Screenshots of every step: tests/screenshots/browser_csv_walk_*.png."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from tests.messy_csv import penguins_raw_frame
from tests.test_browser import TRAIN_TIMEOUT_MS, go, idle, shot

pytestmark = pytest.mark.browser

TARGETS = ("Body Mass (g)", "Species")  # neither is what "Add a task" picks first
SETTINGS = "?seeds=[0,1]&train.epochs=4&model.hidden=[16,8]&train.batch_size=32"


def _csv(frame: pd.DataFrame, path: Path) -> Path:
    frame.to_csv(path, index=False, na_rep="?")
    return path


def _page_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def test_csv_upload_map_train_compare_zip_and_predict(open_app, tmp_path):
    from playwright.sync_api import expect

    raw = penguins_raw_frame()
    page = open_app(SETTINGS)
    page.get_by_text("My CSV files").click()
    idle(page)
    upload = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    upload.set_input_files(str(_csv(raw, tmp_path / "penguins raw.csv")))
    expect(page.get_by_text(f"{len(raw)} rows × {raw.shape[1]} columns")).to_be_visible(
        timeout=20_000
    )
    idle(page)

    # Data: two tasks, each with a target picked by hand; each task is named after it.
    for i, target in enumerate(TARGETS):
        page.get_by_role("button", name="Add a task").click()
        idle(page)
        box = page.get_by_role("combobox", name="Target (what to predict)").nth(i)
        assert box.input_value() != target  # the default is another column
        box.click()
        page.get_by_role("option", name=target, exact=True).click()
        idle(page)
        expect(page.get_by_label("Task name").nth(i)).to_have_value(target)
    expect(page.get_by_text("2 task(s) ready to train.")).to_be_visible()
    assert page.get_by_text("unknown kind").count() == 0

    # What preprocessing does: the date becomes its features, "?" gaps are filled, counted.
    page.get_by_text("What preprocessing does to this task's data").first.click()
    idle(page)
    summary = page.locator('[data-testid="stExpanderDetails"]').first
    n_gaps = int(raw["Delta 15 N (o/oo)"].isna().sum())
    table = summary.locator('[data-testid="stDataFrame"]')
    expect(table).to_be_visible()
    shot(page, "csv_walk_1_data")
    cells = pd.DataFrame(_grid(table)).set_index("column")
    assert (
        "year, and sin/cos of month, day of year, day of week" in cells.loc["Date Egg", "read as"]
    )
    assert cells.loc["Date Egg", "features"] == "7"
    assert cells.loc["Delta 15 N (o/oo)", "values filled in"] == f"{n_gaps} (median)"
    assert cells.loc["Delta 15 N (o/oo)", "read as"] == "number, standardised"
    assert (
        cells.loc["Sex", "values filled in"]
        == f"{int(raw['Sex'].isna().sum())} (most frequent value)"
    )
    assert not {"Comments", "Individual ID", "Sample Number"} & set(cells.index)

    # Train: two seeds, a few epochs; then the experiment as one zip.
    go(page, "Train")
    page.get_by_role("button", name="Train").click()
    expect(page.get_by_text("Compare in detail")).to_be_visible(timeout=TRAIN_TIMEOUT_MS)
    idle(page)
    shot(page, "csv_walk_2_trained")
    button = page.get_by_role("button", name="Download the experiment (zip)")
    with page.expect_download() as info:
        button.click()
    zipped = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    assert {"README.txt", "config.yaml", "result.json", "metrics.csv", "predictions.csv",
            "preprocessing.json", "weights/seed0.safetensors",
            "weights/seed1.safetensors"} <= set(zipped.namelist())  # fmt: skip
    predictions = pd.read_csv(zipped.open("predictions.csv"))
    assert set(predictions.task) == set(TARGETS) and set(predictions.seed) == {0, 1}

    # Compare: both tasks, named after their targets, with a two-seed verdict.
    go(page, "Compare")
    expect(page.get_by_text("Predictions vs truth")).to_be_visible()
    verdicts = page.locator('[data-testid="stCaptionContainer"]').filter(has_text="2 seeds")
    for target in TARGETS:
        expect(verdicts.filter(has_text=f"{target}: ").first).to_contain_text(
            re.compile("helps|hurts|within the noise")
        )
    shot(page, "csv_walk_3_compare")

    # Predict: new rows (no targets, gaps as "?") get both tasks' predictions.
    go(page, "Predict")
    needs = page.get_by_text("The file needs the column(s)")
    expect(needs).to_contain_text("Date Egg")
    assert "Body Mass" not in needs.inner_text() and "Comments" not in needs.inner_text()
    new = penguins_raw_frame(per_species=2, seed=7).drop(columns=list(TARGETS))
    new.loc[1, "Culmen Length (mm)"] = None
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        str(_csv(new, tmp_path / "new penguins.csv"))
    )
    page.get_by_text(f"{len(new)} row(s) predicted by seed 0").wait_for(timeout=30_000)
    idle(page)
    shot(page, "csv_walk_4_predict")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the predictions (CSV)").click()
    got = pd.read_csv(info.value.path())
    assert len(got) == len(new) and got["Date Egg"].tolist() == new["Date Egg"].tolist()
    assert got["predicted Body Mass (g)"].between(2000, 7000).all()  # grams
    assert set(got["predicted Species"]) <= set(raw["Species"])


def _grid(table) -> list[dict[str, str]]:
    """The rows of a st.dataframe as the browser draws them (a canvas with an aria grid)."""
    rows = table.locator('[role="row"]')
    header = [c.inner_text().strip() for c in rows.first.locator('[role="columnheader"]').all()]
    out = []
    for row in rows.all()[1:]:
        cells = [c.inner_text().strip() for c in row.locator('[role="gridcell"]').all()]
        out.append(dict(zip(header[-len(cells) :], cells, strict=True)))
    return out
