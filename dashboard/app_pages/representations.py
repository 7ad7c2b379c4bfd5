"""Representations page: the shared representation of fixed validation rows, projected to 2-D
(PCA, or t-SNE on demand), epoch by epoch; multi-task beside single-task; gates and α."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import cached, logic, runs_client, ui
from dashboard.charts import alpha_heatmap, gate_heatmap, projection_scatter, task_colors
from dashboard.logic import TaskTruth, md_escape
from mtlcore.runs import Artifact, RunInfo

COLOR_BY = {"task": "task", "target": "true value", "prediction": "prediction", "error": "error"}


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
    epoch, color_by, task, method = controls(snaps["mtl"], tasks)
    truths = task_truths(run)
    cols = st.columns(2 if snaps["stl"] else 1)
    for col, model in zip(cols, ("mtl", "stl")):
        with col:
            panel(model, snaps[model], epoch, color_by, task, method, truths, tasks)
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


def task_truths(run: RunInfo) -> dict[str, TaskTruth]:
    """True values of the validation rows, from the data as the run prepared it."""
    try:
        data = cached.prepared(run.config_yaml)
    except Exception as exc:  # the data may be gone (a deleted upload); colour by task still works
        st.caption(md_escape(f"True values are not available ({exc}); colour by task only."))
        return {}
    out = {}
    for t in data.tasks:
        y = t.y["val"]
        if t.kind == "regression":
            truth = t.target_in_units(y)
        else:
            truth = np.array([str((t.classes or [])[int(i)]) for i in y], dtype=object)
        out[t.name] = TaskTruth(t.kind, truth, t.classes, t.target_mean, t.target_std)
    return out


def nearest(snaps: list[Artifact], epoch: int) -> Artifact | None:
    if not snaps:
        return None
    return min(snaps, key=lambda a: abs(int(a.meta.get("epoch", 0)) - epoch))


def panel(model, snaps, epoch, color_by, task, method, truths, tasks) -> None:
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
        frames.append(logic.representation_points(
            name, snap.features[name], snap.outputs[name], snap.rows[name], truths.get(name)))  # fmt: skip
        feats.append(snap.features[name])
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
