"""Lesson 4 on the Learn page: the 2-D toy of CAGrad and Nash-MTL, one path per method and start.

The study (``mtlcore.lessons.toy2d``) runs in a child process through
:func:`dashboard.lesson_client.run_study`; this module holds its widgets and its
charts, pure functions of the study's result: :func:`paths_figure` (a contour map of
a loss per method, with the Pareto set, the average loss's minimum and the paths),
:func:`loss_space_figure` (the same paths as (L₁, L₂) pairs beside the Pareto front)
and :func:`end_table`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from dashboard.charts import LAYOUT
from dashboard.lessons import study_button
from mtlcore.lessons import Lesson
from mtlcore.lessons.conflicting_gradients import (
    CAGRAD_STARTS,
    METHODS,
    NASH_STARTS,
    PAGE_LR,
    PAGE_STARTS,
    PAGE_STEPS,
    PARETO_TOLERANCE,
    PUBLISHED,
)

METHOD_NAMES = {
    "equal": "Equal weights",
    "pcgrad": "PCGrad",
    "mgda": "MGDA",
    "cagrad": "CAGrad",
    "nash_mtl": "Nash-MTL",
}
# Methods and starts are not tasks: colours of their own, none of them help-green or harm-red.
METHOD_COLORS = {
    "equal": "#555555", "pcgrad": "#EE7733", "mgda": "#33BBEE", "cagrad": "#AA4499",
    "nash_mtl": "#0077BB",
}  # fmt: skip
START_COLORS = ("#332288", "#DDAA33", "#AA4499", "#117733", "#CC6677", "#88CCEE", "#44AA99")
PARETO_COLOR = "#9e9e9e"
SURFACES = {
    "average": "average loss ½(L₁ + L₂)",
    "loss1": "L₁",
    "loss2": "L₂",
}
START_CHOICES: tuple[tuple[float, float], ...] = tuple(dict.fromkeys(CAGRAD_STARTS + NASH_STARTS))
STEP_CHOICES = (500, 1_000, 2_000, 4_000, 8_000, 16_000)  # more: the command line
LR_CHOICES = (0.001, 0.002, 0.005, 0.01, 0.02)
SCALES = {1.0: "as they are (CAGrad's toy)", 0.1: "L₁ × 0.1 (Nash-MTL's toy)"}


def start_label(start: Any) -> str:
    return f"({start[0]:g}, {start[1]:g})"


def _surface_title(surface: str, scale: float) -> str:
    if scale == 1.0 or surface == "loss2":
        return SURFACES[surface]
    return {"average": f"average loss ½({scale:g}·L₁ + L₂)", "loss1": f"{scale:g}·L₁"}[surface]


def _start_colors(result: Mapping[str, Any]) -> dict[str, str]:
    return {start_label(s): START_COLORS[i % len(START_COLORS)]
            for i, s in enumerate(result["starts"])}  # fmt: skip


def paths_figure(result: Mapping[str, Any], surface: str = "average") -> go.Figure:
    """One panel per method: contour lines of ``surface`` (``average``, ``loss1`` or
    ``loss2``), the Pareto set (grey band), the average loss's minimum (star) and the
    method's path from each start (a colour per start; a circle at the start, a cross at
    the end)."""
    methods = list(result["methods"])
    cols = min(3, len(methods))
    rows = math.ceil(len(methods) / cols)
    fig = make_subplots(
        rows=rows, cols=cols, horizontal_spacing=0.05, vertical_spacing=0.1 if rows > 1 else 0,
        subplot_titles=[METHOD_NAMES.get(m, m) for m in methods],
    )  # fmt: skip
    grid = result["grid"]
    pareto, optimum = result["pareto"], result["optimum"]
    colors = _start_colors(result)
    scale = float(result["options"]["scale"])
    for i, method in enumerate(methods):
        row, col = i // cols + 1, i % cols + 1
        first = i == 0
        fig.add_trace(go.Contour(
            x=grid["x"], y=grid["y"], z=grid[surface], ncontours=24, colorscale="Viridis",
            contours={"coloring": "lines"}, line={"width": 1}, showscale=first,
            colorbar={"title": {"text": _surface_title(surface, scale)}, "len": 0.6},
            hovertemplate="x %{x:.2f}, y %{y:.2f}<br>%{z:.2f}<extra></extra>",
        ), row=row, col=col)  # fmt: skip
        fig.add_trace(go.Scatter(
            x=pareto["x"], y=pareto["y"], mode="lines", name="Pareto set",
            line={"color": PARETO_COLOR, "width": 7}, opacity=0.8, legendgroup="pareto",
            showlegend=first, hoverinfo="skip",
        ), row=row, col=col)  # fmt: skip
        fig.add_trace(go.Scatter(
            x=[optimum["x"]], y=[optimum["y"]], mode="markers", name="minimum of the average loss",
            marker={"symbol": "star", "size": 14, "color": "black"}, legendgroup="optimum",
            showlegend=first,
            hovertemplate="minimum of the average loss<br>(%{x:.2f}, %{y:.2f})<extra></extra>",
        ), row=row, col=col)  # fmt: skip
        for path in (p for p in result["paths"] if p["method"] == method):
            label = start_label(path["start"])
            color = colors.get(label, "#555555")
            fig.add_trace(go.Scatter(
                x=path["x"], y=path["y"], mode="lines", name=f"from {label}",
                line={"color": color, "width": 2.5}, legendgroup=label, showlegend=first,
                customdata=path["steps"],
                hovertemplate=f"{METHOD_NAMES.get(method, method)} from {label}<br>"
                "step %{customdata}: (%{x:.3f}, %{y:.3f})<extra></extra>",
            ), row=row, col=col)  # fmt: skip
            fig.add_trace(go.Scatter(
                x=[path["x"][0], path["x"][-1]], y=[path["y"][0], path["y"][-1]],
                mode="markers", legendgroup=label, showlegend=False, hoverinfo="skip",
                marker={"symbol": ["circle", "x"], "size": [9, 11], "color": ["black", color],
                        "line": {"width": 1, "color": "white"}},
            ), row=row, col=col)  # fmt: skip
    limit = max(abs(float(grid["x"][0])), abs(float(grid["x"][-1])))
    fig.update_xaxes(range=[-limit, limit], constrain="domain")
    fig.update_yaxes(range=[-limit, limit], constrain="domain")
    for i in range(len(methods)):
        suffix = "" if i == 0 else str(i + 1)
        fig.layout[f"yaxis{suffix}"].scaleanchor = f"x{suffix}"
    fig.update_layout(**{**LAYOUT, "margin": {**LAYOUT["margin"], "l": 40, "t": 50}},
                      height=380 * rows + 60, legend={"orientation": "h", "y": -0.06, "x": 0})  # fmt: skip
    return fig


def loss_space_figure(result: Mapping[str, Any]) -> go.Figure:
    """The paths as (L₁, L₂) pairs, a colour per method, beside the Pareto front (grey)."""
    fig = go.Figure(layout={**LAYOUT, "margin": {**LAYOUT["margin"], "l": 60}, "height": 460})
    pareto = result["pareto"]
    fig.add_trace(go.Scatter(
        x=pareto["loss1"], y=pareto["loss2"], mode="lines", name="Pareto front",
        line={"color": PARETO_COLOR, "width": 7}, opacity=0.8, hoverinfo="skip",
    ))  # fmt: skip
    shown: set[str] = set()
    for path in result["paths"]:
        method = path["method"]
        name = METHOD_NAMES.get(method, method)
        color = METHOD_COLORS.get(method, "#555555")
        label = start_label(path["start"])
        fig.add_trace(go.Scatter(
            x=path["loss1"], y=path["loss2"], mode="lines", name=name, legendgroup=method,
            showlegend=method not in shown, line={"color": color, "width": 2},
            customdata=path["steps"],
            hovertemplate=f"{name} from {label}<br>step %{{customdata}}: "
            "L₁ %{x:.3f}, L₂ %{y:.3f}<extra></extra>",
        ))  # fmt: skip
        fig.add_trace(go.Scatter(
            x=[path["loss1"][-1]], y=[path["loss2"][-1]], mode="markers", legendgroup=method,
            showlegend=False, marker={"symbol": "x", "size": 10, "color": color},
            hovertemplate=f"{name} from {label}: end<br>L₁ %{{x:.3f}}, L₂ %{{y:.3f}}<extra></extra>",
        ))  # fmt: skip
        shown.add(method)
    scale = float(result["options"]["scale"])
    fig.update_xaxes(title="L₁" if scale == 1.0 else f"{scale:g}·L₁")
    fig.update_yaxes(title="L₂")
    fig.update_layout(legend={"orientation": "h", "y": -0.2})
    return fig


def end_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """Where each path ended: one row per method and start."""
    tol = float(result.get("tolerance", PARETO_TOLERANCE))
    rows = []
    for p in result["paths"]:
        rows.append({
            "method": METHOD_NAMES.get(p["method"], p["method"]),
            "start": start_label(p["start"]),
            "end": f"({p['end'][0]:.2f}, {p['end'][1]:.2f})",
            "L₁": round(p["end_losses"][0], 3),
            "L₂": round(p["end_losses"][1], 3),
            "average loss": round(p["end_average"], 3),
            "distance to the Pareto set": round(p["distance"], 3),
            "on the Pareto set": "yes" if p["distance"] <= tol else "no",
        })  # fmt: skip
    return pd.DataFrame(rows)


def show(lesson: Lesson) -> None:
    """The study's widgets, its Run button and, once run, its charts and table."""
    prefix = f"lesson:{lesson.key}:"
    st.subheader("The study")
    left, right = st.columns(2)
    methods = left.multiselect(
        "Methods", list(METHODS), default=list(METHODS), format_func=METHOD_NAMES.__getitem__,
        key=prefix + "methods",
    )  # fmt: skip
    labels = {start_label(s): s for s in START_CHOICES}
    chosen = right.multiselect(
        "Starting points (x, y)", list(labels), default=[start_label(s) for s in PAGE_STARTS],
        key=prefix + "starts",
        help="CAGrad's paper starts from (−8.5, 7.5), (−8.5, −5) and (9, 9); Nash-MTL's from "
        "(−8.5, 7.5), (0, 0), (9, 9), (−7.5, −0.5) and (9, −1).",
    )  # fmt: skip
    left, middle, right = st.columns(3)
    steps = left.select_slider(
        "Adam steps", options=STEP_CHOICES, value=PAGE_STEPS, key=prefix + "steps",
        format_func=lambda n: f"{n:,}".replace(",", " "),
    )  # fmt: skip
    lr = middle.select_slider(
        "Learning rate", options=LR_CHOICES, value=PAGE_LR, key=prefix + "lr",
        help="The papers use 0.001. Much above 0.005 the equal-weight path jumps out of its "
        "valley, and the toy no longer shows what the papers show.",
    )  # fmt: skip
    scale = right.radio(
        "The losses", list(SCALES), format_func=SCALES.__getitem__, key=prefix + "scale",
        help="Nash-MTL's toy multiplies L₁ by 0.1: a method that cares about scale moves "
        "its end point; the Pareto set does not move.",
    )  # fmt: skip
    cagrad = PUBLISHED["cagrad"]
    published = json.dumps({"steps": cagrad["steps"], "lr": cagrad["lr"]})
    st.caption(
        f"The papers run Adam at lr {cagrad['lr']:g} for {cagrad['steps']:,} steps (CAGrad; "
        "Nash-MTL 35,000). The page takes 5× the step for "
        f"{PAGE_STEPS:,} steps: about a minute for every method from three starts (with two "
        "tasks our PCGrad, MGDA, CAGrad and Nash-MTL compute their weights in closed form, "
        "and all paths move together). The papers' setting takes about ten minutes: "
        f"`python -m mtlcore lesson {lesson.key} --options '{published}' --out toy.json`."
    )
    options = {"methods": methods, "starts": [list(labels[c]) for c in chosen], "steps": steps,
               "lr": lr, "scale": scale}  # fmt: skip
    result = study_button(lesson.key, options, prefix, working="Moving the point with each method from each start…",
                          disabled=not methods or not chosen)  # fmt: skip
    if result is None:
        return
    surface = st.radio(
        "Contours of", list(SURFACES), format_func=SURFACES.__getitem__, horizontal=True,
        key=prefix + "surface",
    )  # fmt: skip
    st.plotly_chart(paths_figure(result, surface), key=prefix + "paths")
    st.caption(
        "Grey band: the Pareto set (no point improves one loss without worsening the other). "
        "Star: the minimum of the average loss. A circle marks each start, a cross each end."
    )
    st.plotly_chart(loss_space_figure(result), key=prefix + "losses")
    st.dataframe(end_table(result), hide_index=True)
    o = result["options"]
    st.caption(
        f"{o['steps']:,} Adam steps at learning rate {o['lr']:g} per path; 'on the Pareto "
        f"set' means within {result.get('tolerance', PARETO_TOLERANCE):g} of it. Computed in "
        f"{result['seconds']:.0f} s."
    )
