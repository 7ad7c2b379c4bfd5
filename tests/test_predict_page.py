"""Predict page (upload -> preview -> download), the experiment zip on Train and Runs, and
the comparison table as CSV on Compare, driven by Streamlit's AppTest."""

from __future__ import annotations

import io
import zipfile

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import runs_client
from mtlcore.config import ExperimentConfig
from mtlcore.data.spec import DataError
from mtlcore.predict import predict, read_rows
from mtlcore.runs import drain_queue
from tests.conftest import DASHBOARD_APP

pytestmark = pytest.mark.usefixtures("quiet_dashboard")

TINY = {
    "name": "penguins-tiny",
    "data": {"builtin": "penguins"},
    "tasks": ["species", "body_mass"],
    "model": {"strategy": "hard", "hidden": [8]},
    "train": {"epochs": 2, "batch_size": 64},
    "seeds": [0, 1],
}
ROWS = (
    b"name,island,bill_length_mm,bill_depth_mm,flipper_length_mm\n"
    b'=HYPERLINK("x"),Biscoe,47,15,225\nb,Dream,39,18,190\n'
)


@pytest.fixture
def experiment() -> int:
    """A finished two-seed experiment in this test's run store (trained in this process)."""
    store = runs_client.store()
    ids = store.submit(ExperimentConfig.parse(TINY))
    assert [s for _, s in drain_queue(store)] == ["done", "done"]
    return store.run(ids[0]).experiment_id


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(DASHBOARD_APP, default_timeout=90)
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def download_buttons(at: AppTest) -> dict[str, object]:
    return {b.proto.label: b for b in at.get("download_button")}


def test_upload_shows_predictions_and_offers_them_as_csv(experiment):
    at = open_page("predict")
    reads = at.dataframe[0].value
    assert set(reads["task"]) == {"species", "body_mass"}
    assert "flipper_length_mm" in reads["reads columns"].iloc[0]
    at.selectbox(key="predict_seed").set_value(1).run()
    at.file_uploader[0].set_value(("new birds.csv", ROWS, "text/csv")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "2 row(s) predicted by seed 1" in at.success[0].value.replace("\\", "")
    preview = at.dataframe[1].value
    expected = predict(str(experiment), ROWS, seed=1, store=runs_client.store()).frame
    pd.testing.assert_frame_equal(preview.reset_index(drop=True), expected)
    assert "Download the predictions (CSV)" in download_buttons(at)


def test_the_sidebar_gives_the_shown_experiments_seeds(experiment):
    """Each run's config holds only its own seed; the sidebar once read "Seeds: 0" off the
    first run for this two-seed experiment."""
    at = open_page("predict")
    text = " ".join(c.value for c in at.sidebar.caption).replace("\\", "")
    assert f"Experiment #{experiment}" in " ".join(m.value for m in at.sidebar.markdown)
    assert "Seeds: 0, 1;" in text and "Seeds: 0;" not in text


def test_a_file_without_the_input_columns_is_a_sentence(experiment):
    at = open_page("predict")
    at.file_uploader[0].set_value(("wrong.csv", b"island,mass\nBiscoe,3\n", "text/csv")).run()
    assert not at.exception
    message = at.error[0].value.replace("\\", "")
    assert "wrong.csv" in message and "'bill_length_mm'" in message
    assert "Download the predictions (CSV)" not in download_buttons(at)


def test_train_runs_and_compare_offer_the_downloads(experiment):
    at = open_page("train")
    at.selectbox(key="train_exp").set_value(experiment).run()
    assert "Download the experiment (zip)" in download_buttons(at)
    at = open_page("compare")
    assert "Comparison table (CSV)" in download_buttons(at)
    at = open_page("runs")
    assert "Download the experiment (zip)" in download_buttons(at)
    from mtlcore.export import export_experiment

    zf = zipfile.ZipFile(io.BytesIO(export_experiment(str(experiment), store=runs_client.store())))
    assert {"weights/seed0.safetensors", "weights/seed1.safetensors"} <= set(zf.namelist())


def test_uploads_are_size_limited():
    with pytest.raises(DataError, match=r"File 'big.csv' is larger than 0 MB"):
        read_rows(b"a,b\n" + b"1,2\n" * 100, "big.csv", max_bytes=100)
