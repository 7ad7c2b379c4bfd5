"""Predict page: new rows in, a trained experiment's multi-task predictions out.

Pick a finished experiment, upload a CSV with the input columns its tasks read (other
columns are kept and passed through), look at the first rows, download the predictions
as CSV. The model is rebuilt from the run's safetensors weights and its preprocessing
from the JSON saved with the run (``mtlcore.predict``); nothing trains here.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import downloads, runs_client, ui
from dashboard.text import md_escape
from mtlcore.data.spec import DataError
from mtlcore.predict import MAX_UPLOAD_BYTES, Prediction, predict
from mtlcore.trained import TrainedExperiment, from_store

PREVIEW_ROWS = 20


def main() -> None:
    st.title("Predict")
    st.write(
        "Predict on new rows with a trained experiment's multi-task model: upload a CSV "
        "with the input columns its tasks read, check the first rows, download them all "
        "with one prediction column per task."
    )
    exp, _ = ui.pick_experiment("Experiment", key="predict_exp", only_done=True)
    if exp is None:
        st.info("No finished experiment yet: train one on the Train page.")
        return
    trained = from_store(runs_client.store(), exp)
    expected_columns(trained)
    seed = pick_seed(trained)
    upload = st.file_uploader(
        f"New rows (CSV, at most {MAX_UPLOAD_BYTES / 1e6:.0f} MB)", type=["csv"],
        key=f"predict_upload_{exp}",
    )  # fmt: skip
    if upload is None:
        return
    result, problem = run_prediction(trained, upload.getvalue(), upload.name, seed)
    if problem is not None:
        ui.error(problem)
        return
    assert result is not None
    show(result, exp, upload.name)


def expected_columns(trained: TrainedExperiment) -> None:
    """Which columns each task reads (what the upload needs)."""
    try:
        tasks = trained.saved_tasks()
    except DataError as exc:
        ui.error(str(exc))
        st.stop()
    frame = pd.DataFrame(
        {"task": t.name, "predicts": ", ".join(t.targets), "reads columns": ", ".join(t.inputs)}
        for t in tasks
    )
    st.dataframe(frame, hide_index=True, width="stretch")
    # the table cuts a long list of columns; this says them all
    needed = dict.fromkeys(c for t in tasks for c in t.inputs)
    st.caption(
        md_escape(
            f"The file needs the column(s) {', '.join(needed)}, named as in training (a "
            "task is predicted when the file has every column it reads; other columns are "
            "kept as they are). Empty cells and missing markers such as ? are filled as at "
            "training."
        )
    )
    if trained.left_out:
        st.caption(md_escape("Seeds without a model: " + "; ".join(trained.left_out) + "."))


def pick_seed(trained: TrainedExperiment) -> int:
    seeds = [s.seed for s in trained.seeds]
    if len(seeds) == 1:
        return seeds[0]
    return st.selectbox(
        "Model of seed", seeds, key="predict_seed",
        help="Each seed trained its own multi-task model; pick the one that predicts.",
    )  # fmt: skip


def run_prediction(
    trained: TrainedExperiment, data: bytes, filename: str, seed: int
) -> tuple[Prediction | None, str | None]:
    """The predictions, or the sentence that says what to fix in the file."""
    try:
        return predict(trained, data, seed=seed, name=filename), None
    except DataError as exc:
        return None, str(exc)


def show(result: Prediction, exp: int, filename: str) -> None:
    st.success(
        md_escape(
            f"{len(result.frame)} row(s) predicted by seed {result.seed}'s multi-task model: "
            + ", ".join(result.tasks)
            + "."
        ),
        icon=":material/check_circle:",
    )
    for note in result.notes:
        st.caption(md_escape(note))
    st.dataframe(result.frame.head(PREVIEW_ROWS), hide_index=True, width="stretch",
                 column_order=[*result.columns, *[c for c in result.frame if c not in result.columns]])  # fmt: skip
    if len(result.frame) > PREVIEW_ROWS:
        st.caption(f"The first {PREVIEW_ROWS} of {len(result.frame)} rows; the download has all.")
    stem = filename.rsplit(".", 1)[0] or "rows"
    downloads.csv_button("Download the predictions (CSV)", result.frame,
                         f"{stem}-predictions-experiment{exp}.csv", key="predict_download")  # fmt: skip


main()
