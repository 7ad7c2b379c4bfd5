"""Runs page: the shared history of runs; rename, delete, download, and re-open one."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st
import yaml

from dashboard import cached, runs_client, state, ui
from dashboard.downloads import experiment_zip
from dashboard.text import duration, md_escape
from mtlcore.csv_safe import csv_text
from mtlcore.runs import RunInfo


def main() -> None:
    st.title("Runs")
    st.write("Every run on this server, newest first. Runs keep going when you close the tab.")
    mine = st.toggle("Only runs started in this tab", key="runs_mine")
    runs = runs_client.list_runs()
    if mine:
        runs = [r for r in runs if r.experiment_id in state.my_experiments()]
    if not runs:
        st.info("No runs yet: press Train on the Train page.")
        return
    st.dataframe(runs_table(runs), hide_index=True, width="stretch",
                 column_config={"Δm %": st.column_config.NumberColumn(format="%+.1f"),
                                "progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0)})  # fmt: skip
    by_id = {r.id: r for r in runs}
    labels = {r.id: ui.run_label(r) for r in runs}
    rid = st.selectbox("Run", list(by_id), key="runs_pick", format_func=labels.__getitem__)
    actions(by_id[rid])


def runs_table(runs: list[RunInfo]) -> pd.DataFrame:
    rows = []
    for r in runs:
        summary = cached.config_summary(r.config_yaml)
        dm = (r.result or {}).get("delta_m")
        rows.append({
            "run": r.id, "experiment": r.experiment_id, "name": r.name, "seed": r.seed,
            "status": r.status, "progress": r.progress,
            **summary, "Δm %": dm if dm is not None else math.nan,
            "started": ui.when(r.started or r.created), "took": duration(r.elapsed),
            "note": r.error or "",
        })  # fmt: skip
    return pd.DataFrame(rows)


def actions(run: RunInfo) -> None:
    st.subheader(f"Run #{run.id}")
    open_buttons(run)
    c1, c2 = st.columns(2)
    with c1:
        rename_box(run)
        delete_box(run)
    with c2:
        downloads(run)


def open_buttons(run: RunInfo) -> None:
    cols = st.columns(4)
    targets = [("Follow on Train", "app_pages/train.py"), ("Compare", "app_pages/compare.py"),
               ("Representations", "app_pages/representations.py")]  # fmt: skip
    for col, (label, page) in zip(cols, targets):
        if col.button(label, key=f"open_{page}", width="stretch"):
            state.set_current_experiment(run.experiment_id)
            st.switch_page(page)
    if cols[3].button("Load its settings", key="load_settings", width="stretch",
                      help="Put this run's config in the editor (Data and Model pages)."):  # fmt: skip
        config = yaml.safe_load(runs_client.experiment(run.experiment_id).config_yaml) or {}
        state.replace_draft(config)
        state.set_current_experiment(run.experiment_id)
        st.toast("Settings loaded into the editor.")


def rename_box(run: RunInfo) -> None:
    name = st.text_input("New name", value=run.name, key=f"rename_{run.id}", max_chars=200)
    every = st.checkbox(
        "Rename every seed of this experiment", value=True, key=f"rename_all_{run.id}"
    )
    if st.button("Rename", key="rename"):
        ids = [r.id for r in runs_client.experiment_runs(run.experiment_id)] if every else [run.id]
        runs_client.rename(ids, name)
        st.rerun()


def delete_box(run: RunInfo) -> None:
    sure = st.checkbox("Yes, delete this run and its files", key=f"sure_{run.id}")
    if st.button("Delete", key="delete", disabled=not sure or not run.is_finished,
                 help=None if run.is_finished else "Stop the run first."):  # fmt: skip
        runs_client.delete(run.id)
        st.rerun()


def downloads(run: RunInfo) -> None:
    st.markdown("**Downloads**")
    stem = f"run{run.id}"
    st.download_button("Config (YAML)", run.config_yaml, f"{stem}-config.yaml", "application/x-yaml",
                       key="dl_config", on_click="ignore")  # fmt: skip
    st.download_button("Metrics (CSV)", lambda: csv_text(runs_client.metrics(run.id)),
                       f"{stem}-metrics.csv", "text/csv", key="dl_metrics", on_click="ignore")  # fmt: skip
    files = runs_client.artifact_paths(run.id)
    for kind, label, mime in (("result", "Result (JSON)", "application/json"),
                              ("predictions", "Test predictions (CSV)", "text/csv"),
                              ("weights", "Weights (safetensors)", "application/octet-stream")):  # fmt: skip
        path = files.get(kind)
        if path is not None and path.is_file():
            st.download_button(label, path.read_bytes if kind == "weights" else path.read_bytes(),
                               f"{stem}-{path.name}", mime, key=f"dl_{kind}", on_click="ignore")  # fmt: skip
    if not files:
        st.caption(md_escape(f"Result files appear when the run is done (it is {run.status})."))
    if any(r.status == "done" for r in runs_client.experiment_runs(run.experiment_id)):
        experiment_zip(run.experiment_id, key="dl_experiment")


main()
