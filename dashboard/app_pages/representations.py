"""Representations page: the shared representation of fixed validation rows, projected to 2-D
(PCA, or t-SNE on demand), epoch by epoch — or animated over all snapshot epochs in one fixed
PCA projection (:mod:`dashboard.animation`); multi-task beside single-task; how similar the two
are over training (linear CKA); gates and α.

True values and predictions come from the snapshots themselves: the page never prepares
the data again (and needs no torch)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import cached, runs_client, ui
from dashboard.animation import (
    PROJECTION_NOTE,
    animation_points,
    cka_by_epoch,
    representation_animation,
)
from dashboard.charts import (
    alpha_heatmap,
    cka_curves,
    gate_heatmap,
    projection_scatter,
    task_colors,
)
from dashboard.predictions import multi_output_note, representation_points
from dashboard.text import md_escape
from mtlcore.analysis import CKA_MEANING, cka_rows
from mtlcore.runs import Artifact, RunInfo

COLOR_BY = {"task": "task", "target": "true value", "prediction": "prediction", "error": "error"}
VIEWS = {"step": "One epoch at a time", "animate": "Animated over training"}


def main() -> None:
    st.title("Representations")
    st.write(
        "What the network has learned to compute, before the task heads: each dot is one "
        "validation row, placed by a 2-D projection of its shared representation. Slide "
        "through the epochs to watch the structure form."
    )
    exp, runs = ui.pick_experiment("Experiment", key="repr_exp")
    if exp is None:
        st.info("No runs yet: train one on the Train page.")
        return
    run = pick_run(runs)
    snaps = {m: runs_client.snapshots(run.id, model=m) for m in ("mtl", "stl")}
    if not snaps["mtl"]:
        st.info("This run saved no snapshots (yet). Snapshots are taken every N epochs as set "
                "under *Measurements* on the Model page.")  # fmt: skip
        return
    tasks = ui.task_order(runs)
    view = st.radio("View", list(VIEWS), format_func=VIEWS.get, key="repr_view", horizontal=True,
                    help="Animated: every snapshot epoch in one fixed PCA projection, with "
                    "play and an epoch slider.")  # fmt: skip
    if view == "animate":
        animated(run, snaps, tasks)
        similarity(run, snaps, tasks)
        return
    epoch, color_by, task, method = controls(snaps["mtl"], tasks)
    cols = st.columns(2 if snaps["stl"] else 1)
    for col, model in zip(cols, ("mtl", "stl")):
        with col:
            panel(model, snaps[model], epoch, color_by, task, method, tasks)
    similarity(run, snaps, tasks)
    mixing(snaps["mtl"], epoch)


def pick_run(runs: list[RunInfo]) -> RunInfo:
    if len(runs) == 1:
        return runs[0]
    by_id = {r.id: r for r in runs}
    rid = st.radio("Seed", list(by_id), key="repr_seed", horizontal=True,
                   format_func=lambda i: f"seed {by_id[i].seed}")  # fmt: skip
    return by_id[rid]


def controls(snaps: list[Artifact], tasks: list[str]) -> tuple[int, str, str | None, str]:
    epochs = sorted({int(a.meta.get("epoch", 0)) for a in snaps})
    if st.session_state.get("repr_epoch") not in epochs:
        st.session_state["repr_epoch"] = epochs[-1]
    c1, c2, c3 = st.columns([4, 3, 2])
    with c1:
        epoch = (st.select_slider("Epoch (0 = before training)", epochs, key="repr_epoch")
                 if len(epochs) > 1 else epochs[0])  # fmt: skip
    with c2:
        color_by = st.radio("Colour by", list(COLOR_BY), format_func=COLOR_BY.get, horizontal=True,
                            key="repr_color")  # fmt: skip
        task = None
        if color_by != "task" and tasks:
            task = st.selectbox("Task", tasks, key="repr_task",
                                help="True values, predictions and errors are per task.")  # fmt: skip
    with c3:
        method = st.radio("Projection", ["PCA", "t-SNE"], key="repr_method", horizontal=True,
                          help="t-SNE shows neighbourhoods better but takes a few seconds "
                          "and its axes mean nothing.")  # fmt: skip
    return epoch, color_by, task, method


def nearest(snaps: list[Artifact], epoch: int) -> Artifact | None:
    if not snaps:
        return None
    return min(snaps, key=lambda a: abs(int(a.meta.get("epoch", 0)) - epoch))


def panel(model, snaps, epoch, color_by, task, method, tasks) -> None:
    title = "Multi-task (shared)" if model == "mtl" else "Single-task (each its own network)"
    art = nearest(snaps, epoch)
    if art is None:
        return
    snap = cached.snapshot(str(art.path))
    names = [task] if task else [t for t in tasks if t in snap.features] or list(snap.features)
    frames, feats = [], []
    for name in names:
        if name not in snap.features:
            continue
        frames.append(representation_points(
            name, len(snap.features[name]), snap.truth.get(name), snap.prediction.get(name)))  # fmt: skip
        feats.append(snap.features[name])
    note = multi_output_note(snap.targets, names)
    if color_by != "task" and note:
        st.caption(note)
    if color_by != "task" and not snap.has_truth:
        st.caption("This run's snapshots were saved before they carried true values and "
                   "predictions; colour by task only.")  # fmt: skip
    if not feats:
        st.info("This snapshot has no rows of the chosen task.")
        return
    points = pd.concat(frames, ignore_index=True)
    X = np.vstack(feats).astype(np.float32)
    if method == "t-SNE":
        xy = cached.tsne(X, 30.0)
    else:
        xy = cached.pca(X)
    points["x"], points["y"] = xy[:, 0], xy[:, 1]
    by = color_by if color_by in points else "task"
    fig = projection_scatter(
        points, by, task_colors(tasks), f"{title}, epoch {art.meta.get('epoch')}"
    )
    st.plotly_chart(fig, width="stretch", key=f"proj_{model}")
    if model == "stl":
        st.caption(
            "Each task's points come from its own network, so closeness across tasks means little here."
        )
    elif color_by == "task" and coincide(feats):
        st.caption("Tasks that read the same rows can share one representation: their dots "
                   "coincide (a smaller dot inside a ring).")  # fmt: skip


def animated(run: RunInfo, snaps: dict[str, list[Artifact]], tasks: list[str]) -> None:
    """One task's rows over all snapshot epochs, multi-task beside single-task, in one
    figure with frames (PCA only: t-SNE has no projection to keep fixed across frames)."""
    mtl = [cached.snapshot(str(a.path)) for a in snaps["mtl"]]
    stl = [cached.snapshot(str(a.path)) for a in snaps["stl"]]
    known = [t for t in tasks if any(t in s.features for s in mtl)] or sorted(
        {t for s in mtl for t in s.features}
    )
    if not known:
        st.info("This run's snapshots hold no task's rows.")
        return
    task = st.selectbox("Task", known, key="repr_anim_task",
                        help="Its validation rows, coloured by their true value or class.")  # fmt: skip
    epochs = sorted({int(s.epoch) for s in mtl if task in s.features})
    if stl:
        epochs = sorted(set(epochs) & {int(s.epoch) for s in stl if task in s.features})
    if len(epochs) < 2:
        st.info("The animation needs snapshots at two epochs or more on both models; set "
                "*snapshot every* under *Measurements* on the Model page.")  # fmt: skip
        return
    models = {"Multi-task (shared)": mtl}
    if stl:
        models["Single-task (its own network)"] = stl
    points = animation_points(models, task, epochs)
    rows = (cached.result(run.id) or {}).get("cka")
    if rows is None:  # still training: the CKA from the files
        rows = cka_from_snapshots(snaps)
    numeric = pd.api.types.is_numeric_dtype(points["value"])
    fig = representation_animation(points, task, cka_by_epoch(rows, task) if stl else None,
                                   value_name="true value" if numeric else "class")  # fmt: skip
    st.plotly_chart(fig, width="stretch", key="repr_animation")
    note = multi_output_note(mtl[-1].targets, [task])
    st.caption(
        f"{PROJECTION_NOTE} Press ▶ Play to watch {md_escape(task)}'s rows from epoch "
        f"{epochs[0]} (before training) to {epochs[-1]}, or drag the slider; the title gives the "
        "linear CKA between the two pictures at that epoch (1 = the shared layers compute what "
        "the task alone would). Each panel has its own projection, so compare the shapes, not "
        "the coordinates." + (f" {note}" if note else "")
    )


def similarity(run: RunInfo, snaps: dict[str, list[Artifact]], tasks: list[str]) -> None:
    """Linear CKA between the multi-task and single-task representation, epoch by epoch."""
    st.subheader("How close is the shared representation to each task's own?")
    rows = (cached.result(run.id) or {}).get("cka")
    if rows is None:  # still training, or a run from before result.json held it: the files
        rows = cka_from_snapshots(snaps)
    if not rows:
        st.caption("Needs the single-task baselines and snapshots on both models; this run "
                   "has no pair of snapshots at the same epoch yet.")  # fmt: skip
        return
    st.plotly_chart(cka_curves(pd.DataFrame(rows), task_colors(tasks)), width="stretch",
                    key="cka_curves")  # fmt: skip
    st.caption(
        f"{CKA_MEANING} Under hard sharing both networks start from the same weights, so the "
        "curve starts at 1."
    )


def cka_from_snapshots(snaps: dict[str, list[Artifact]]) -> list[dict]:
    """CKA rows from the snapshot files (while a run trains, before its result.json)."""
    stl_epochs = {int(a.meta.get("epoch", -1)) for a in snaps["stl"]}
    pick = [a for a in snaps["mtl"] if int(a.meta.get("epoch", -1)) in stl_epochs]
    if not pick:
        return []
    mtl = [cached.snapshot(str(a.path)) for a in pick]
    stl = [cached.snapshot(str(a.path)) for a in snaps["stl"]]
    return cka_rows(mtl, stl)


def coincide(feats: list[np.ndarray]) -> bool:
    """Whether two tasks' representations are the same points (same rows, shared layers)."""
    return any(
        a.shape == b.shape and np.allclose(a, b)
        for i, a in enumerate(feats)
        for b in feats[i + 1 :]
    )


def mixing(snaps: list[Artifact], epoch: int) -> None:
    art = nearest(snaps, epoch)
    if art is None:
        return
    mix = cached.snapshot(str(art.path)).mixing or {}
    if mix.get("kind") == "gates":
        st.subheader("Gate usage")
        st.plotly_chart(gate_heatmap(mix), width="stretch", key="gates")
        st.caption("Each row is a gate: the share of its mixture it gives each expert, averaged "
                   "over the snapshot's rows. Tasks that use the same experts share features.")  # fmt: skip
    elif mix.get("kind") == "cross_stitch":
        st.subheader("Cross-stitch α")
        st.plotly_chart(alpha_heatmap(mix), width="stretch", key="alpha")
        st.caption("Row i: how much task i's tower takes from each tower after that layer. "
                   "The identity means no sharing.")  # fmt: skip


main()
