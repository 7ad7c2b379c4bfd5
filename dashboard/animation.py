"""The shared representation over training, animated: one fixed 2-D projection, frames per epoch.

The Representations page steps through snapshot epochs one picture at a time, each with
its own PCA; axes that are refitted at every epoch turn and flip, so a reader cannot tell
points that moved from axes that moved. Here each model's projection is fitted *once*, on
all its snapshot epochs together, and every epoch is drawn in those two directions: the
points move, the axes stay. Multi-task and single-task sit side by side, coloured by the
task's true value (or class), and each frame's title gives the linear CKA (Kornblith et
al. 2019, "Similarity of Neural Network Representations Revisited", ICML) between the two
representations at that epoch.

Everything is numpy and plotly: no streamlit, no torch, no t-SNE (t-SNE has no fixed
projection to reuse across frames, and is too slow to refit per frame).

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> xy = fixed_pca([rng.normal(size=(30, 5)) for _ in range(3)])
    >>> [a.shape for a in xy]
    [(30, 2), (30, 2), (30, 2)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import CLASS_PALETTE, LAYOUT, _t, axis_ref, empty_figure, panels

# What the page's caption says about the projection (the tests read it from here).
PROJECTION_NOTE = (
    "One PCA per model, fitted once on the rows of all its snapshot epochs together: every "
    "frame is drawn in the same two directions, so the dots move and the axes stay."
)
FRAME_MS = 700  # per epoch while playing
MOVE_MS = 400  # how long the dots glide from one epoch to the next


class SnapshotLike(Protocol):
    """What a snapshot needs here (``mtlcore.runs.StoredSnapshot`` or ``mtlcore.train.Snapshot``)."""

    epoch: int
    features: Mapping[str, np.ndarray]
    truth: Mapping[str, np.ndarray]


def fixed_pca(features: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Each epoch's (rows, dim) features projected on the two principal axes of all epochs
    stacked together (centred by their common mean): one projection for every frame.

    Fewer than two feature dimensions (or no variance) leave the missing coordinates at 0.
    """
    arrays = [np.asarray(f, dtype=np.float64).reshape(len(f), -1) for f in features]
    if not arrays:
        return []
    stacked = np.vstack(arrays)
    mean = stacked.mean(axis=0)
    centred = stacked - mean
    axes = np.zeros((stacked.shape[1], 2))
    if len(stacked) >= 2 and np.any(centred):
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        k = min(2, len(vt))
        axes[:, :k] = vt[:k].T
        # A sign convention, so the picture does not flip between two runs of the same data.
        flip = np.sign((centred @ axes)[np.abs(centred @ axes).argmax(axis=0), range(2)])
        axes *= np.where(flip == 0, 1.0, flip)
    return [(a - mean) @ axes for a in arrays]


def target_values(truth: np.ndarray) -> np.ndarray:
    """What colours a row: a number (a multi-output task's first output) or a class label."""
    arr = np.asarray(truth)
    if arr.ndim == 2:
        arr = arr[:, 0]
    return arr.astype(float) if arr.dtype.kind in "biuf" else arr.astype(str)


def animation_points(
    snapshots: Mapping[str, Sequence[SnapshotLike]], task: str, epochs: Sequence[int]
) -> pd.DataFrame:
    """Tidy frame for :func:`representation_animation`: one row per (panel, epoch, row) with
    ``panel``, ``epoch``, ``row``, ``x``, ``y`` and ``value`` (the row's true value or class).

    ``snapshots``: panel title -> that model's snapshots; only ``epochs`` (those every panel
    has) are kept, and each panel's projection is :func:`fixed_pca` over them.
    """
    frames = []
    for title, snaps in snapshots.items():
        by_epoch = {int(s.epoch): s for s in snaps if task in s.features}
        picked = [by_epoch[e] for e in epochs if e in by_epoch]
        if not picked:
            continue
        truth = next((s.truth[task] for s in picked if task in s.truth), None)
        for snap, xy in zip(picked, fixed_pca([s.features[task] for s in picked]), strict=True):
            n = len(xy)
            frames.append(pd.DataFrame({
                "panel": title, "epoch": int(snap.epoch), "row": np.arange(n),
                "x": xy[:, 0], "y": xy[:, 1],
                "value": target_values(truth) if truth is not None and len(truth) == n else "",
            }))  # fmt: skip
    cols = ["panel", "epoch", "row", "x", "y", "value"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


def _class_order(values: pd.Series) -> list[str]:
    """Class labels in reading order: numerically when every label is a number ("2" < "10")."""
    labels = sorted({str(v) for v in values})
    try:
        return sorted(labels, key=float)
    except ValueError:
        return labels


def _range(values: pd.Series) -> list[float]:
    lo, hi = float(values.min()), float(values.max())
    pad = 0.06 * (hi - lo) if hi > lo else 1.0
    return [lo - pad, hi + pad]


def frame_title(task: str, epoch: int, cka: float | None) -> str:
    """The title of one frame: the task, the epoch and the CKA between the two pictures (in
    bold markup of its own: a frame replaces the title, and with it any theme's font)."""
    head = f"{_t(task)}, epoch {epoch}"
    if cka is None or not math.isfinite(cka):
        return f"<b>{head}</b>"
    return f"<b>{head} · linear CKA multi-task vs single-task: {cka:.2f}</b>"


def representation_animation(
    points: pd.DataFrame,
    task: str,
    cka: Mapping[int, float] | None = None,
    value_name: str = "true value",
) -> go.Figure:
    """The projection over the snapshot epochs as a plotly animation: one panel per model
    (``points["panel"]``, in order of appearance), one frame per epoch (play/pause buttons
    and an epoch slider), axes fixed over all frames, dots coloured by ``value`` (a
    continuous scale for numbers, one colour per class otherwise); ``cka`` (epoch -> linear
    CKA) goes into each frame's title. The figure opens on the last epoch; Play runs all
    epochs from the first.

    ``points``: columns panel, epoch, row, x, y, value (see :func:`animation_points`).
    """
    if points.empty:
        return empty_figure("No snapshots to animate.")
    titles = list(dict.fromkeys(points["panel"]))
    epochs = sorted(int(e) for e in points["epoch"].unique())
    cka = dict(cka or {})
    numeric = pd.api.types.is_numeric_dtype(points["value"])
    classes = [] if numeric else _class_order(points["value"])
    if numeric:
        cmin, cmax = float(points["value"].min()), float(points["value"].max())

    def traces(epoch: int) -> list[go.Scatter]:
        """The traces of one epoch, always in the same order (panel, then class)."""
        out = []
        for col, title in enumerate(titles, start=1):
            rows = points[(points["panel"] == title) & (points["epoch"] == epoch)]
            rows = rows.sort_values("row")
            if numeric:
                out.append(go.Scatter(
                    x=rows["x"], y=rows["y"], mode="markers", showlegend=False, name=_t(title),
                    marker={"color": rows["value"], "colorscale": "Viridis", "cmin": cmin,
                            "cmax": cmax, "size": 7, "opacity": 0.85,
                            "showscale": col == len(titles),
                            "colorbar": {"title": {"text": _t(value_name)}, "thickness": 12}},
                    customdata=rows["value"].map("{:.4g}".format),
                    hovertemplate=f"{_t(value_name)} %{{customdata}}<extra></extra>",
                    **axis_ref(col),
                ))  # fmt: skip
                continue
            for i, label in enumerate(classes):
                sub = rows[rows["value"].astype(str) == label]
                out.append(go.Scatter(
                    x=sub["x"], y=sub["y"], mode="markers", name=_t(label), legendgroup=label,
                    showlegend=col == 1,
                    marker={"color": CLASS_PALETTE[i % len(CLASS_PALETTE)], "size": 7,
                            "opacity": 0.85},
                    hovertemplate=f"{_t(value_name)} {_t(label)}<extra></extra>", **axis_ref(col),
                ))  # fmt: skip
        return out

    last = epochs[-1]
    fig = panels(titles, height=500)
    fig.add_traces(traces(last))
    for col, title in enumerate(titles, start=1):
        mine = points[points["panel"] == title]
        ref = axis_ref(col)
        fig.update_layout({
            ref["xaxis"].replace("x", "xaxis"): {"range": _range(mine["x"]), "autorange": False,
                                                 "title": {"text": "component 1"}},
            ref["yaxis"].replace("y", "yaxis"): {"range": _range(mine["y"]), "autorange": False,
                                                 "title": {"text": "component 2"}},
        })  # fmt: skip
    fig.frames = [
        go.Frame(
            name=str(e),
            data=traces(e),
            traces=list(range(len(fig.data))),
            layout={"title": {"text": frame_title(task, e, cka.get(e))}},
        )
        for e in epochs
    ]
    play = {"frame": {"duration": FRAME_MS, "redraw": True}, "fromcurrent": False,
            "transition": {"duration": MOVE_MS, "easing": "cubic-in-out"}}  # fmt: skip
    still = {"frame": {"duration": 0, "redraw": True}, "mode": "immediate",
             "transition": {"duration": 0}}  # fmt: skip
    fig.update_layout(
        title={"text": frame_title(task, last, cka.get(last))},
        margin={**LAYOUT["margin"], "t": 80, "b": 110},
        legend={"title": {"text": _t(value_name)}, "itemsizing": "constant"},
        updatemenus=[{
            "type": "buttons", "direction": "left", "showactive": False,
            "x": 0.0, "y": -0.17, "xanchor": "left", "yanchor": "top",
            "pad": {"r": 10, "t": 10},
            "buttons": [
                {"label": "▶ Play", "method": "animate", "args": [None, play]},
                {"label": "❚❚ Pause", "method": "animate", "args": [[None], still]},
            ],
        }],
        sliders=[{
            "active": len(epochs) - 1, "x": 0.19, "len": 0.81, "y": -0.17, "yanchor": "top",
            "currentvalue": {"visible": False},  # the title says the epoch
            "pad": {"t": 10},
            "steps": [{"label": str(e), "method": "animate", "args": [[str(e)], still]}
                      for e in epochs],
        }],
    )  # fmt: skip
    return fig


def cka_by_epoch(rows: Sequence[Mapping[str, Any]], task: str) -> dict[int, float]:
    """Epoch -> linear CKA of ``task`` from result.json's ``cka`` rows (one run's seed)."""
    return {int(r["epoch"]): float(r["cka"]) for r in rows if r.get("task") == task}
