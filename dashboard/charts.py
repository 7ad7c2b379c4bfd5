"""Chart builders: pure functions from DataFrames to plotly figures.

One colour per task, everywhere (:func:`task_colors`, keyed by the task's place in
the experiment); the multi-task model is drawn solid and the single-task baselines
dashed (or hatched, for bars). Green means the verdict is "helps", red "hurts"
(the findings of ``mtlcore.analysis``); everything else, one seed included, is grey.
None of this imports streamlit.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mtlcore.analysis import CONFIDENCE, verdict_label

# Colour-blind-friendly, and free of the pure green and red that mean help and harm.
TASK_PALETTE = (
    "#1f77b4", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
)  # fmt: skip
HELP, HARM, NOISE = "#2ca02c", "#d62728", "#9e9e9e"
MODEL_DASH = {"mtl": "solid", "stl": "dash"}
TRIVIAL_LINE = {"color": NOISE, "dash": "dot", "width": 2}
MODEL_NAME = {"mtl": "multi-task", "stl": "single-task"}
RUN_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "pentagon")
# No template: st.plotly_chart draws with Streamlit's theme, and naming a template costs
# tens of milliseconds per figure (plotly copies it), which a live refresh cannot spare.
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}}


def panels(titles: Sequence[str], *, gap: float = 0.08, height: int = 340) -> go.Figure:
    """A figure with one panel per title, side by side (what make_subplots does for one
    row, at a fraction of its cost: this runs on every live refresh). Panel i draws on
    axes ``x{i+1}``/``y{i+1}``; see :func:`axis_ref`."""
    n = max(1, len(titles))
    width = (1 - gap * (n - 1)) / n
    layout: dict[str, Any] = {"height": height, "annotations": [], **LAYOUT}
    layout["margin"] = {**LAYOUT["margin"], "t": 50}
    for i, title in enumerate(titles):
        lo = i * (width + gap)
        suffix = "" if i == 0 else str(i + 1)
        layout[f"xaxis{suffix}"] = {"domain": [lo, lo + width], "anchor": f"y{suffix}"}
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}"}
        layout["annotations"].append({
            "text": str(title), "x": lo + width / 2, "y": 1.0, "xref": "paper", "yref": "paper",
            "xanchor": "center", "yanchor": "bottom", "showarrow": False, "font": {"size": 14},
        })  # fmt: skip
    return go.Figure(layout=layout)


def axis_ref(col: int) -> dict[str, str]:
    """Trace arguments that put a trace on panel ``col`` (1-based) of :func:`panels`."""
    return {"xaxis": "x" if col == 1 else f"x{col}", "yaxis": "y" if col == 1 else f"y{col}"}


def _t(text: Any) -> str:
    """User text (task names, class labels) as plain text: plotly reads <b>, <a>, … in labels."""
    return html.escape(str(text), quote=False)


def task_colors(tasks: Sequence[str]) -> dict[str, str]:
    """Task -> colour, by the task's position (the same task keeps its colour on every page)."""
    return {t: TASK_PALETTE[i % len(TASK_PALETTE)] for i, t in enumerate(dict.fromkeys(tasks))}


def _color(colors: Mapping[str, str], task: str) -> str:
    return colors.get(task, TASK_PALETTE[hash(task) % len(TASK_PALETTE)])


def empty_figure(message: str, height: int = 260) -> go.Figure:
    """A blank chart that says why it is blank."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font={"size": 14, "color": "#666"})
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(height=height, **LAYOUT)
    return fig


# --- training curves -----------------------------------------------------------------------


def epoch_ticks(epochs: pd.Series) -> dict[str, Any]:
    """Whole-number epoch ticks (no 1.5), at most about ten of them."""
    top = int(epochs.max()) if len(epochs) else 1
    return {"tick0": 0, "dtick": max(1, math.ceil(top / 10))}


def relative_to_start(history: pd.DataFrame) -> pd.DataFrame:
    """Each curve (task, model, split) divided by its epoch-0 loss, so every curve starts
    at 1 and tasks on different scales read alike; curves without an epoch 0 (runs
    recorded before the engine reported it) are left out."""
    keys = ["task", "model", "split"]
    start = history[history["epoch"] == 0].set_index(keys)["loss"].rename("start")
    out = history.join(start, on=keys, how="inner")
    return out.assign(loss=out["loss"] / out.pop("start"))


def loss_curves(
    history: pd.DataFrame,
    colors: Mapping[str, str],
    *,
    log_y: bool = False,
    relative: bool = False,
) -> go.Figure:
    """Per-task training (left) and validation (right) loss by epoch; MTL solid, STL dashed.

    ``history``: columns model, task, split, epoch, loss (:func:`dashboard.history.loss_history`).
    ``relative``: each curve divided by its epoch-0 loss (:func:`relative_to_start`).
    """
    if history.empty:
        return empty_figure("Waiting for the first epoch…")
    if relative:
        history = relative_to_start(history)
        if history.empty:
            return empty_figure(
                "This run has no epoch 0 (it predates it): show the losses as they are."
            )
    what = "loss ÷ epoch 0" if relative else "loss"
    traces = []
    for (task, model, split), rows in history.groupby(["task", "model", "split"], sort=False):
        col = 1 if split == "train" else 2
        traces.append({
            "type": "scatter", "x": rows["epoch"].to_numpy(), "y": rows["loss"].to_numpy(),
            "mode": "lines+markers" if len(rows) < 3 else "lines",
            "name": f"{_t(task)} · {MODEL_NAME.get(model, model)}", "legendgroup": f"{task}·{model}",
            "showlegend": col == 1,
            "line": {"color": _color(colors, str(task)), "dash": MODEL_DASH.get(model, "dot"),
                     "width": 2.5 if model == "mtl" else 2},
            "hovertemplate": f"epoch %{{x}}<br>{what} %{{y:.4g}}<extra>%{{fullData.name}}</extra>",
            **axis_ref(col),
        })  # fmt: skip
    fig = panels(["Training loss", "Validation loss"], height=360)
    fig.add_traces(traces)
    ticks = {"title": {"text": "epoch"}, **epoch_ticks(history["epoch"])}
    y = {"type": "log" if log_y else "linear", "title": {"text": what if relative else ""}}
    fig.update_layout(
        xaxis=ticks, xaxis2=ticks, yaxis=y, yaxis2=y,
        legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return fig


def weight_curves(weights: pd.DataFrame, colors: Mapping[str, str]) -> go.Figure:
    """The multi-task model's loss weight per task over epochs (columns task, epoch, weight)."""
    if weights.empty:
        return empty_figure("No loss weights yet.")
    fig = go.Figure()
    for task, rows in weights.groupby("task", sort=False):
        fig.add_trace(
            go.Scatter(x=rows["epoch"], y=rows["weight"], name=_t(task), mode="lines+markers",
                       line={"color": _color(colors, str(task))}, marker={"size": 4})
        )  # fmt: skip
    fig.update_xaxes(**epoch_ticks(weights["epoch"]))
    fig.update_layout(
        title="Loss weight per task (multi-task model)", xaxis_title="epoch",
        yaxis_title="w_i", height=300, **LAYOUT,
    )  # fmt: skip
    return fig


# What each weighting method's curves mean, for the caption under the weight chart: a
# rising or wiggling line can puzzle (uncertainty weights grow as the tasks are learnt).
WEIGHT_MEANING = {
    "equal": "Equal weights: every task's weight stays 1.",
    "static": "Your fixed weights: flat lines at the values set on the Model page.",
    "uncertainty": (
        "Uncertainty weighting sets a regression task's weight to 1/(2σ²) (a classification "
        "task's to 1/σ²), with σ learned beside the model. σ² chases the task's training loss "
        "down and lags behind it, so while the loss falls the weight keeps rising: a rising "
        "line means the task is being fitted, not that it has become more important."
    ),
    "dwa": (
        "DWA: after each epoch the task whose loss fell least over the last two epochs gets "
        "the larger weight; the weights sum to the number of tasks, so one rises as another "
        "falls."
    ),
    "gradnorm": (
        "GradNorm learns the weights so that a task whose loss falls slower than the others' "
        "gets a larger gradient on the shared layers; the weights sum to the number of "
        "tasks, so one rises as another falls."
    ),
    "rlw": (
        "RLW draws new random weights at every step; each point is an epoch's mean, so the "
        "lines hover near 1 and their wiggle is chance, not a signal."
    ),
    "famo": (
        "FAMO moves weight towards the tasks whose loss fell least over the last steps, so "
        "that every loss falls by about the same fraction; the weights sum to the number "
        "of tasks."
    ),
}
GRADIENT_WEIGHT_MEANING = (
    "{title} combines the tasks' gradients on the shared layers, so the line is an "
    "effective weight: the step taken is Σ w_i·g_i, and w_i is how much of task i's gradient "
    "went into it."
)


def weight_caption(method: str, title: str, gradient_method: bool) -> str:
    """What the weight chart of a run with this weighting method shows, in words."""
    text = WEIGHT_MEANING.get(method) or (
        GRADIENT_WEIGHT_MEANING.format(title=title)
        if gradient_method
        else f"{title} sets the weights as training goes."
    )
    return (
        text + " Each point is the mean weight over an epoch's steps; epoch 0 is before training."
    )


def cosine_heatmap(cosines: pd.DataFrame) -> go.Figure:
    """Mean gradient cosine per task pair and epoch: blue = tasks agree, red = they conflict.

    ``cosines``: columns step, epoch, pair, cosine (:func:`dashboard.history.cosine_history`).
    """
    if cosines.empty:
        return empty_figure("No gradient agreement measured yet.")
    grid = cosines.pivot_table(index="pair", columns="epoch", values="cosine", aggfunc="mean")
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(), x=[int(e) for e in grid.columns], y=[_t(p) for p in grid.index],
            zmin=-1, zmax=1, zmid=0, colorscale="RdBu", xgap=1, ygap=1,
            colorbar={"title": {"text": "cosine"}, "thickness": 12},
            hovertemplate="%{y}<br>epoch %{x}<br>cosine %{z:.2f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_xaxes(title_text="epoch", **epoch_ticks(cosines["epoch"]))
    fig.update_layout(title="Gradient agreement (cosine, shared layers)",
                      height=max(220, 60 * len(grid) + 140), **LAYOUT)  # fmt: skip
    return fig


def overlay_curves(
    runs: Mapping[str, pd.DataFrame], colors: Mapping[str, str], tasks: Sequence[str]
) -> go.Figure:
    """Validation metric of several runs, one panel per task (task colour; a symbol per run).

    ``runs``: label -> frame with columns model, task, epoch, metric, value.
    """
    tasks = [t for t in tasks if any((df["task"] == t).any() for df in runs.values())]
    if not tasks:
        return empty_figure("Pick runs with finished epochs to overlay.")
    fig = make_subplots(rows=1, cols=len(tasks), subplot_titles=[_t(t) for t in tasks])
    for i, (label, df) in enumerate(runs.items()):
        for col, task in enumerate(tasks, start=1):
            rows = df[(df["task"] == task) & (df["model"] == "mtl")]
            if rows.empty:
                continue
            fig.add_trace(
                go.Scatter(
                    x=rows["epoch"], y=rows["value"], mode="lines+markers", name=_t(label),
                    legendgroup=label, showlegend=col == 1,
                    line={"color": _color(colors, task)},
                    marker={"symbol": RUN_SYMBOLS[i % len(RUN_SYMBOLS)], "size": 7, "color": _color(colors, task)},
                    hovertemplate=f"{_t(label)}<br>epoch %{{x}}<br>%{{y:.4g}}<extra></extra>",
                ),
                row=1, col=col,
            )  # fmt: skip
            fig.update_yaxes(title_text=str(rows["metric"].iloc[0]), row=1, col=col)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(height=360, legend={"orientation": "h", "y": -0.25}, **LAYOUT)
    return fig


# --- multi-task vs single-task ----------------------------------------------------------------


def verdict_color(verdict: str | None) -> str:
    """Green only for "helps", red only for "hurts" (the findings); grey for the rest."""
    return {"helps": HELP, "hurts": HARM}.get(verdict or "", NOISE)


def gain_bars(cmp: pd.DataFrame) -> go.Figure:
    """Relative gain per task (%, positive = sharing helped) with its confidence interval
    over seeds as whiskers; coloured by the verdict, never by the sign alone."""
    cmp = cmp[np.isfinite(cmp["gain"].astype(float))]
    if cmp.empty:
        return empty_figure("No single-task baselines, so no gains.")
    gain = cmp["gain"].astype(float)
    up, down = (cmp["gain_high"] - gain).fillna(0.0), (gain - cmp["gain_low"]).fillna(0.0)
    has_ci = bool(np.isfinite(cmp["gain_low"].astype(float)).any())
    labels = [_ci_label(lo, hi) for lo, hi in zip(cmp["gain_low"], cmp["gain_high"])]
    fig = go.Figure(
        go.Bar(
            # The gain goes in the tick label: a label on the bar would sit on its whisker.
            x=[f"{_t(t)}<br>{g:+.1f}%" for t, g in zip(cmp["task"], gain)], y=gain,
            marker_color=[verdict_color(v) for v in cmp["verdict"]],
            error_y={"type": "data", "symmetric": False, "array": up, "arrayminus": down,
                     "visible": has_ci, "color": "#444", "thickness": 1.5, "width": 8},
            customdata=list(zip(labels, [verdict_label(v) for v in cmp["verdict"]])),
            hovertemplate="%{x}: %{y:+.2f}%<br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
        )
    )  # fmt: skip
    fig.add_hline(y=0, line_color="#444", line_width=1)
    what = f"whiskers: {CONFIDENCE:.0%} interval" if has_ci else "one seed: no interval"
    fig.update_layout(
        title=f"Gain per task ({what})",
        yaxis_title="gain %", height=340, **LAYOUT,
    )  # fmt: skip
    return fig


def _ci_label(low: float, high: float) -> str:
    if not (math.isfinite(low) and math.isfinite(high)):
        return "no interval"
    return f"interval {low:+.1f}% to {high:+.1f}%"


def metric_bars(cmp: pd.DataFrame, colors: Mapping[str, str]) -> go.Figure:
    """Each task's metric, multi-task (solid) beside single-task (hatched), with ± std,
    and the trivial baseline (training mean / majority class) as a dotted line."""
    if cmp.empty:
        return empty_figure("No results yet.")
    fig = make_subplots(rows=1, cols=len(cmp), subplot_titles=[
        f"{_t(t)} ({m} {'↑' if h else '↓'})" for t, m, h in zip(cmp["task"], cmp["metric"], cmp["higher_is_better"])
    ])  # fmt: skip
    for col, row in enumerate(cmp.itertuples(index=False), start=1):
        c = _color(colors, row.task)
        for model, mean, std in (("mtl", row.mtl, row.mtl_std), ("stl", row.stl, row.stl_std)):
            if mean is None or not math.isfinite(mean):
                continue
            fig.add_trace(
                go.Bar(
                    x=[MODEL_NAME[model]], y=[mean], name=MODEL_NAME[model], showlegend=col == 1,
                    legendgroup=model,
                    marker={"color": c if model == "mtl" else "white", "line": {"color": c, "width": 2},
                            "pattern": {"shape": "" if model == "mtl" else "/", "fgcolor": c}},
                    error_y={"type": "data", "array": [std if math.isfinite(std) else 0.0],
                             "visible": math.isfinite(std)},
                ),
                row=1, col=col,
            )  # fmt: skip
        trivial = getattr(row, "trivial", math.nan)
        if trivial is not None and math.isfinite(trivial):
            fig.add_hline(y=trivial, row=1, col=col, line=TRIVIAL_LINE)
    if np.isfinite(cmp.get("trivial", pd.Series(dtype=float)).astype(float)).any():
        # A line shape has no legend entry: an empty trace with its look gives it one.
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=TRIVIAL_LINE,
                                 name="trivial baseline"))  # fmt: skip
    fig.update_layout(height=320, bargap=0.35, **LAYOUT)
    return fig


def prediction_scatter(points: pd.DataFrame, colors: Mapping[str, str], task: str) -> go.Figure:
    """Predicted vs true values of a regression task; MTL and STL side by side, y = x dashed.

    ``points``: columns model, truth, prediction.
    """
    models = [m for m in ("mtl", "stl") if (points["model"] == m).any()]
    if not models:
        return empty_figure("No predictions saved for this task.")
    fig = make_subplots(rows=1, cols=len(models), subplot_titles=[MODEL_NAME[m] for m in models],
                        shared_yaxes=True)  # fmt: skip
    lo = float(np.nanmin(points[["truth", "prediction"]].to_numpy()))
    hi = float(np.nanmax(points[["truth", "prediction"]].to_numpy()))
    for col, model in enumerate(models, start=1):
        rows = points[points["model"] == model]
        fig.add_trace(
            go.Scatter(
                x=rows["truth"], y=rows["prediction"], mode="markers", name=MODEL_NAME[model],
                marker={"color": _color(colors, task), "size": 6, "opacity": 0.7,
                        "symbol": "circle" if model == "mtl" else "circle-open"},
                hovertemplate="true %{x:.4g}<br>predicted %{y:.4g}<extra></extra>",
            ),
            row=1, col=col,
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", showlegend=False, hoverinfo="skip",
                       line={"color": "#888", "dash": "dash", "width": 1}),
            row=1, col=col,
        )  # fmt: skip
    fig.update_xaxes(title_text="true value")
    fig.update_yaxes(title_text="predicted", col=1)
    fig.update_layout(height=340, showlegend=False, **LAYOUT)
    return fig


def confusion_heatmap(counts: pd.DataFrame, title: str) -> go.Figure:
    """A confusion matrix (rows: true class, columns: predicted) with the counts written in."""
    z = counts.to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[_t(c) for c in counts.columns], y=[_t(i) for i in counts.index],
            colorscale="Blues", showscale=False, text=z, texttemplate="%{text}",
            hovertemplate="true %{y}<br>predicted %{x}<br>%{z} rows<extra></extra>",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", title_text="true")
    fig.update_xaxes(title_text="predicted")
    fig.update_layout(title=_t(title), height=320, **LAYOUT)
    return fig


# --- representations ---------------------------------------------------------------------------


def projection_scatter(
    points: pd.DataFrame, color_by: str, colors: Mapping[str, str], title: str
) -> go.Figure:
    """2-D projection of the shared representation; ``points`` has x, y, task and ``color_by``.

    Colour by ``task`` uses the task colours; a numeric column a continuous scale;
    anything else (classes, right/wrong) discrete colours.
    """
    if points.empty:
        return empty_figure("No snapshot to project.")
    fig = go.Figure()
    hover = "%{customdata}<extra></extra>"
    custom = points["task"].map(_t)
    if color_by == "task":
        # Tasks that read the same rows can share one representation: later tasks get
        # smaller dots, so coinciding points show as a dot inside a ring.
        for i, (task, rows) in enumerate(points.groupby("task", sort=False)):
            fig.add_trace(go.Scattergl(
                x=rows["x"], y=rows["y"], mode="markers", name=_t(task),
                marker={"color": _color(colors, str(task)), "size": max(4, 11 - 3 * i), "opacity": 0.8},
                customdata=rows["task"].map(_t), hovertemplate=hover,
            ))  # fmt: skip
    elif pd.api.types.is_numeric_dtype(points[color_by]):
        fig.add_trace(go.Scattergl(
            x=points["x"], y=points["y"], mode="markers", showlegend=False,
            marker={"color": points[color_by], "colorscale": "Viridis", "size": 6, "opacity": 0.8,
                    "colorbar": {"title": {"text": color_by}, "thickness": 12}},
            customdata=custom + ": " + points[color_by].map("{:.4g}".format), hovertemplate=hover,
        ))  # fmt: skip
    else:
        for i, (value, rows) in enumerate(points.groupby(color_by, sort=True)):
            fig.add_trace(go.Scattergl(
                x=rows["x"], y=rows["y"], mode="markers", name=_t(value),
                marker={"color": CLASS_PALETTE[i % len(CLASS_PALETTE)], "size": 6, "opacity": 0.8},
                customdata=rows["task"].map(_t) + ": " + _t(value), hovertemplate=hover,
            ))  # fmt: skip
    fig.update_layout(title=title, height=420, xaxis_title="component 1",
                      yaxis_title="component 2", **LAYOUT)  # fmt: skip
    return fig


# Classes and right/wrong get their own colours, distinct from the task colours.
CLASS_PALETTE = (
    "#4daf4a",
    "#e41a1c",
    "#377eb8",
    "#984ea3",
    "#ff7f00",
    "#a65628",
    "#f781bf",
    "#999999",
)


def gate_heatmap(mixing: Mapping[str, Any]) -> go.Figure:
    """MMoE/CGC/PLE gate usage: per level, each gate's mean weight on each expert."""
    levels = mixing.get("levels") or []
    if not levels:
        return empty_figure("No gate weights in this snapshot.")
    panels = []
    for level in levels:
        gates = dict(level.get("gates", {}))
        if level.get("shared_gate"):
            gates["shared gate"] = level["shared_gate"]
        experts = list(dict.fromkeys(e for g in gates.values() for e in g["experts"]))
        z = [[math.nan] * len(experts) for _ in gates]
        for r, g in enumerate(gates.values()):
            for e, w in zip(g["experts"], g["weights"]):
                z[r][experts.index(e)] = w
        panels.append(go.Heatmap(
            z=z, x=[_t(e) for e in experts], y=[_t(g) for g in gates], zmin=0, zmax=1, colorscale="Purples",
            text=[[_pct(v) for v in row] for row in z],
            texttemplate="%{text}", hovertemplate="%{y} → %{x}: %{z:.2f}<extra></extra>",
        ))  # fmt: skip
    return _heatmap_panels([f"level {lv['level']}" for lv in levels], panels,
                           "Gate weights: how much each task uses each expert")  # fmt: skip


def alpha_heatmap(mixing: Mapping[str, Any]) -> go.Figure:
    """Cross-stitch α per layer: row i is how task i's tower mixes the towers."""
    layers = mixing.get("layers") or []
    tasks = [str(t) for t in mixing.get("tasks", [])]
    if not layers:
        return empty_figure("No cross-stitch α in this snapshot.")
    panels = [
        go.Heatmap(
            z=layer["alpha"], x=[_t(t) for t in tasks], y=[_t(t) for t in tasks], colorscale="RdBu", zmid=0,
            text=[[f"{v:.2f}" for v in row] for row in layer["alpha"]], texttemplate="%{text}",
            hovertemplate="%{y} takes %{z:.2f} of %{x}<extra></extra>",
        )
        for layer in layers
    ]  # fmt: skip
    return _heatmap_panels([f"layer {lv['layer']}" for lv in layers], panels,
                           "Cross-stitch α: how each task's tower mixes the towers")  # fmt: skip


def _heatmap_panels(titles: Sequence[str], panels: Sequence[go.Heatmap], title: str) -> go.Figure:
    """Heatmaps side by side (a level or layer each): rows top-down, the row labels and the
    colour scale shown once."""
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(titles))
    for col, heatmap in enumerate(panels, start=1):
        heatmap.showscale = col == len(panels)
        fig.add_trace(heatmap, row=1, col=col)
        fig.update_yaxes(autorange="reversed", showticklabels=col == 1, row=1, col=col)
    fig.update_layout(title=title, height=320, **LAYOUT)
    fig.update_layout(margin={**LAYOUT["margin"], "t": 80})
    return fig


def _pct(v: float) -> str:
    return "" if v is None or not math.isfinite(v) else f"{100 * v:.0f}%"


# --- transfer ---------------------------------------------------------------------------------

# Task pairs are not tasks: their curves take these, never a task's colour.
PAIR_PALETTE = (
    "#393b79", "#8c6d31", "#7b4173", "#3182bd", "#637939", "#843c39", "#636363", "#e6550d",
)  # fmt: skip
GAIN_SCALE = [[0.0, HARM], [0.5, "#f7f7f7"], [1.0, HELP]]


def _task_matrix(
    matrix: pd.DataFrame, text: list[list[str]], *, zmax: float, colorscale: Any, colorbar: str,
    hover: str, title: str, x_title: str, y_title: str,
) -> go.Figure:  # fmt: skip
    """A task × task heatmap with a text per cell, rows top-down in the frame's order."""
    z = [[None if not np.isfinite(v) else float(v) for v in row] for row in matrix.to_numpy(float)]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[_t(c) for c in matrix.columns], y=[_t(r) for r in matrix.index],
            zmin=-zmax, zmax=zmax, zmid=0, colorscale=colorscale, xgap=2, ygap=2,
            text=text, texttemplate="%{text}", hovertemplate=hover,
            colorbar={"title": {"text": colorbar}, "thickness": 12},
        )
    )  # fmt: skip
    n = len(matrix)
    fig.update_yaxes(autorange="reversed", title_text=y_title)
    fig.update_xaxes(title_text=x_title, side="bottom")
    fig.update_layout(title=title, height=max(260, 70 * n + 150), **LAYOUT)
    return fig


def conflict_heatmap(cosine: pd.DataFrame, share: pd.DataFrame) -> go.Figure:
    """Per pair of tasks: the mean gradient cosine on the shared layers (colour: blue =
    they agree, red = they conflict) and the share of measured steps in conflict (text).

    ``cosine``, ``share``: symmetric task × task frames (:func:`mtlcore.analysis.pair_matrix`);
    the diagonal is NaN.
    """
    if cosine.empty or not np.isfinite(cosine.to_numpy(float)).any():
        return empty_figure("No gradient agreement was measured.")
    text = [
        ["" if not np.isfinite(c) else f"{c:+.2f}<br>{_pct(s)} in conflict"
         for c, s in zip(crow, srow, strict=True)]
        for crow, srow in zip(cosine.to_numpy(float), share.to_numpy(float), strict=True)
    ]  # fmt: skip
    return _task_matrix(
        cosine, text, zmax=1.0, colorscale="RdBu", colorbar="mean cosine",
        hover="%{y} · %{x}<br>mean cosine %{z:.2f}<extra></extra>",
        title="Gradient agreement per pair (mean over training)", x_title="", y_title="",
    )  # fmt: skip


def conflict_curves(by_epoch: pd.DataFrame) -> go.Figure:
    """Per pair of tasks, by epoch: the mean gradient cosine (left; below 0 = conflict) and
    the share of the epoch's measured steps in conflict (right).

    ``by_epoch``: columns pair, epoch, mean_cosine, conflict_share.
    """
    if by_epoch.empty:
        return empty_figure("No gradient agreement was measured.")
    fig = panels(["Mean cosine", "Share of measured steps in conflict"], height=340)
    for k, (pair, rows) in enumerate(by_epoch.sort_values("epoch").groupby("pair", sort=False)):
        color = PAIR_PALETTE[k % len(PAIR_PALETTE)]
        for col, value in ((1, "mean_cosine"), (2, "conflict_share")):
            fig.add_trace(go.Scatter(
                x=rows["epoch"], y=rows[value], mode="lines+markers", name=_t(pair),
                legendgroup=str(pair), showlegend=col == 1, line={"color": color},
                hovertemplate=f"{_t(pair)}<br>epoch %{{x}}<br>%{{y:.2f}}<extra></extra>",
                **axis_ref(col),
            ))  # fmt: skip
    fig.add_hline(y=0, line={"color": "#999", "dash": "dot"}, xref="x", yref="y")
    fig.update_layout(
        xaxis={"title": {"text": "epoch"}, **epoch_ticks(by_epoch["epoch"])},
        xaxis2={"title": {"text": "epoch"}, **epoch_ticks(by_epoch["epoch"])},
        yaxis={"range": [-1.05, 1.05]},
        yaxis2={"range": [-0.05, 1.05], "tickformat": ".0%"},
        legend={"orientation": "h", "y": -0.25},
    )  # fmt: skip
    return fig


def affinity_heatmap(matrix: pd.DataFrame, groups: Sequence[Sequence[str]] = ()) -> go.Figure:
    """Lookahead task affinity Z_{i→j} (Fifty et al. 2021): row i = the task whose
    gradient took the step, column j = the task whose loss was measured; green = the
    step lowered j's loss, red = it raised it. With ``groups``, tasks are ordered by
    group and each group's block is outlined.
    """
    if matrix.empty or not np.isfinite(matrix.to_numpy(float)).any():
        return empty_figure("No task affinity was measured.")
    order = [t for g in groups for t in g if t in matrix.index]
    order += [t for t in matrix.index if t not in order]
    m = matrix.loc[order, order]
    values = m.to_numpy(float)
    zmax = float(np.nanmax(np.abs(values))) or 1.0
    text = [["" if not np.isfinite(v) else f"{v:+.2g}" for v in row] for row in values]
    fig = _task_matrix(
        m, text, zmax=zmax, colorscale=GAIN_SCALE, colorbar="Z",
        hover="step on %{y} → loss of %{x}<br>Z = %{z:.3g}<extra></extra>",
        title="Task affinity (lookahead)", x_title="loss measured on",
        y_title="step taken for",
    )  # fmt: skip
    start = 0
    for g in groups:
        size = len([t for t in g if t in m.index])
        if size > 1:
            fig.add_shape(type="rect", x0=start - 0.5, x1=start + size - 0.5, y0=start - 0.5,
                          y1=start + size - 0.5, line={"color": "#222", "width": 2})  # fmt: skip
        start += size
    return fig


def pairwise_heatmap(gain: pd.DataFrame, std: pd.DataFrame | None = None) -> go.Figure:
    """Relative gain (%) of each task (row) trained beside each partner (column) over the
    task alone: green = the partner helped, red = it hurt; ± the std over seeds."""
    if gain.empty or not np.isfinite(gain.to_numpy(float)).any():
        return empty_figure("No pairs were trained.")
    values = gain.to_numpy(float)
    spread = std.to_numpy(float) if std is not None else np.full_like(values, np.nan)
    text = [
        ["" if not np.isfinite(v) else f"{v:+.1f}%" + (f" ± {s:.1f}" if np.isfinite(s) and s > 0 else "")
         for v, s in zip(row, srow, strict=True)]
        for row, srow in zip(values, spread, strict=True)
    ]  # fmt: skip
    zmax = float(np.nanmax(np.abs(values))) or 1.0
    return _task_matrix(
        gain, text, zmax=zmax, colorscale=GAIN_SCALE, colorbar="gain %",
        hover="%{y} beside %{x}: %{z:+.1f}%<extra></extra>",
        title="Gain of each task from each partner", x_title="partner", y_title="task",
    )  # fmt: skip


def cka_curves(cka: pd.DataFrame, colors: Mapping[str, str]) -> go.Figure:
    """Linear CKA (Kornblith et al. 2019) between the multi-task and the single-task
    representation of each task's snapshot rows, by epoch (mean over seeds): 1 = the shared
    layers compute what the task alone would, lower = sharing changed the representation.

    ``cka``: columns epoch, task, cka (and seed).
    """
    if cka.empty:
        return empty_figure("No representation similarity yet.")
    mean = cka.groupby(["task", "epoch"], sort=False)["cka"].mean().reset_index()
    fig = go.Figure()
    for task, rows in mean.sort_values("epoch").groupby("task", sort=False):
        fig.add_trace(go.Scatter(
            x=rows["epoch"], y=rows["cka"], mode="lines+markers", name=_t(task),
            line={"color": _color(colors, str(task))},
            hovertemplate=f"{_t(task)}<br>epoch %{{x}}<br>CKA %{{y:.3f}}<extra></extra>",
        ))  # fmt: skip
    fig.update_xaxes(title_text="epoch (0 = before training)", **epoch_ticks(mean["epoch"]))
    fig.update_yaxes(title_text="linear CKA", range=[0, 1.05])
    fig.update_layout(title="Multi-task vs single-task representation (linear CKA)",
                      height=340, legend={"orientation": "h", "y": -0.25}, **LAYOUT)  # fmt: skip
    return fig


# --- sweeps -----------------------------------------------------------------------------------


def sweep_heatmap(cells: pd.DataFrame, x_title: str, y_title: str) -> go.Figure:
    """Δm of each cell of a sweep over two axes (``cells``: columns ``x``, ``y``,
    ``delta_m``, ``verdict``, ``delta_m_low``, ``delta_m_high``; one row per cell, in
    axis order). Coloured only where the verdict is a finding (green helps, red hurts);
    a cell within the noise, of one seed or not done yet stays white (0 on the colour scale);
    its text says which."""
    if cells.empty:
        return empty_figure("No cells to draw.")
    xs, ys = list(dict.fromkeys(cells["x"])), list(dict.fromkeys(cells["y"]))
    by_cell = {(r.x, r.y): r for r in cells.itertuples()}
    values = pd.DataFrame(np.nan, index=[str(y) for y in ys], columns=[str(x) for x in xs])
    text = []
    for y in ys:
        row_text = []
        for x in xs:
            r = by_cell.get((x, y))
            if r is not None:
                values.loc[str(y), str(x)] = 0.0  # drawn, white: not a finding (yet)
            dm = None if r is None else r.delta_m
            if dm is None or not math.isfinite(dm):
                row_text.append("" if r is None else _t(verdict_label(r.verdict)))
                continue
            if r.verdict in ("helps", "hurts"):
                values.loc[str(y), str(x)] = dm
            low, high = (
                math.nan if v is None else float(v) for v in (r.delta_m_low, r.delta_m_high)
            )
            row_text.append(f"{dm:+.1f}%<br>{_t(verdict_label(r.verdict))}<br>"
                            f"{_ci_label(low, high)}")  # fmt: skip
        text.append(row_text)
    finite = np.abs(cells["delta_m"].astype(float).to_numpy())
    zmax = float(np.nanmax(finite)) if np.isfinite(finite).any() else 1.0
    return _task_matrix(
        values, text, zmax=zmax or 1.0, colorscale=GAIN_SCALE, colorbar="Δm %",
        hover=f"{_t(y_title)} %{{y}}, {_t(x_title)} %{{x}}<br>%{{text}}<extra></extra>",
        title="Δm over the grid (coloured where it helps or hurts beyond the noise)",
        x_title=_t(x_title), y_title=_t(y_title),
    )  # fmt: skip
