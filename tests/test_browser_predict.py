"""In a real browser: a finished experiment downloads as one zip from Train, and the
Predict page turns uploaded rows into a predictions CSV. Screenshots in tests/screenshots/."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from mtlcore.config import ExperimentConfig
from mtlcore.runs import RunStore, drain_queue
from tests.test_browser import go, idle, shot

pytestmark = pytest.mark.browser

TINY = {
    "name": "penguins-tiny",
    "data": {"builtin": "penguins"},
    "tasks": ["species", "body_mass"],
    "model": {"strategy": "hard", "hidden": [8]},
    "train": {"epochs": 2, "batch_size": 64},
    "seeds": [0, 1],
}


def test_zip_from_train_and_predictions_from_uploaded_rows(
    mtl_studio_home, streamlit_server, open_app, tmp_path
):
    store = RunStore(mtl_studio_home)  # the server reads this test's store
    ids = store.submit(ExperimentConfig.parse(TINY))
    assert [s for _, s in drain_queue(store)] == ["done", "done"]
    exp = store.run(ids[0]).experiment_id

    page = open_app(f"train?exp={exp}", timeout_ms=120_000)
    button = page.get_by_role("button", name="Download the experiment (zip)")
    button.wait_for(timeout=60_000)
    with page.expect_download() as info:
        button.click()
    zipped = Path(info.value.path()).read_bytes()
    names = set(zipfile.ZipFile(io.BytesIO(zipped)).namelist())
    assert {"README.txt", "result.json", "metrics.csv", "predictions.csv", "preprocessing.json",
            "weights/seed0.safetensors", "weights/seed1.safetensors"} <= names  # fmt: skip
    shot(page, "predict_1_train_zip")

    go(page, "Predict")
    rows = tmp_path / "new birds.csv"
    rows.write_text(
        "name,island,bill_length_mm,bill_depth_mm,flipper_length_mm\n"
        '=HYPERLINK("http://x"),Biscoe,47,15,225\nkiwi,Dream,39,18,190\n'
    )
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(rows))
    page.get_by_text("2 row(s) predicted by seed 0").wait_for(timeout=30_000)
    idle(page)
    shot(page, "predict_2_preview")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the predictions (CSV)").click()
    text = Path(info.value.path()).read_text()
    frame = pd.read_csv(io.StringIO(text))
    assert frame["name"].tolist() == ['\'=HYPERLINK("http://x")', "kiwi"]
    assert frame["predicted species"].isin(["Adelie", "Chinstrap", "Gentoo"]).all()
    assert frame["predicted body_mass"].between(1000, 10000).all()

    bad = tmp_path / "bad.csv"
    bad.write_text("island,bill_length_mm\nBiscoe,abc\n")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(bad))
    page.get_by_text("lacks the input column").wait_for(timeout=30_000)
    idle(page)
    shot(page, "predict_3_missing_columns")
