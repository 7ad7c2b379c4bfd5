"""Lesson 6 on the Learn page: test error of a held-out task against its number of examples.

The study (``mtlcore.lessons.few_shot``) runs in a child process through
:func:`dashboard.lesson_client.run_study`; this module holds its widgets and the
chart, :func:`error_vs_k`, a pure function of the study's result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard.charts import LAYOUT, TRIVIAL_LINE
from dashboard.lessons import study_button
from mtlcore.lessons import Lesson

# Methods are not tasks: they get colours of their own, none of them help-green or harm-red.
METHOD_COLORS = {"frozen": "#332288", "scratch": "#DDAA33", "reptile": "#AA4499"}
METHOD_NAMES = {
    "frozen": "multi-task pre-training, frozen",
    "scratch": "from scratch",
    "reptile": "Reptile",
}
RELATEDNESS_CHOICES = (0.0, 0.5, 0.9, 1.0)


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def error_vs_k(result: Mapping[str, Any]) -> go.Figure:
    """Held-out test RMSE against k (log axis): per method its mean over seeds as a line
    and mean ± one standard deviation as a band; the trivial baseline dotted."""
    summary = pd.DataFrame(result["summary"])
    fig = go.Figure(layout={**LAYOUT, "height": 420})
    for method in result["methods"]:
        rows = summary[summary["method"] == method].sort_values("k")
        color = METHOD_COLORS.get(method, "#7f7f7f")
        name = METHOD_NAMES.get(method, method)
        ks = rows["k"].tolist()
        upper = (rows["mean"] + rows["std"]).tolist()
        lower = (rows["mean"] - rows["std"]).clip(lower=0).tolist()
        fig.add_trace(go.Scatter(
            x=ks + ks[::-1], y=upper + lower[::-1], fill="toself", mode="lines",
            line={"width": 0}, fillcolor=_rgba(color, 0.18), hoverinfo="skip",
            showlegend=False, legendgroup=method,
        ))  # fmt: skip
        fig.add_trace(go.Scatter(
            x=ks, y=rows["mean"], mode="lines+markers", name=name, legendgroup=method,
            line={"color": color, "width": 2.5}, marker={"size": 7},
            customdata=rows[["std", "n_seeds"]].to_numpy(),
            hovertemplate=f"{name}<br>k = %{{x}}<br>RMSE %{{y:.3f}} ± %{{customdata[0]:.3f}}"
            " over %{customdata[1]} seeds<extra></extra>",
        ))  # fmt: skip
    trivial = result.get("trivial")
    if trivial is not None:
        fig.add_hline(y=trivial, line=TRIVIAL_LINE, annotation_text="predict the mean",
                      annotation_position="top right")  # fmt: skip
    fig.update_xaxes(type="log", title="k: labelled examples of the held-out task",
                     tickvals=result["ks"], ticktext=[str(k) for k in result["ks"]])  # fmt: skip
    fig.update_yaxes(title="test RMSE (target standard deviations)", rangemode="tozero")
    fig.update_layout(legend={"orientation": "h", "y": -0.25})
    return fig


def result_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """Mean ± standard deviation over seeds: one row per k, one column per method."""
    summary = pd.DataFrame(result["summary"])
    summary["cell"] = [f"{m:.3f} ± {s:.3f}" for m, s in zip(summary["mean"], summary["std"],
                                                            strict=True)]  # fmt: skip
    table = summary.pivot(index="k", columns="method", values="cell")[list(result["methods"])]
    return table.rename(columns=METHOD_NAMES)


def show(lesson: Lesson) -> None:
    """The study's widgets, its Run button and, once run, its chart and table."""
    prefix = f"lesson:{lesson.key}:"
    st.subheader("The study")
    left, right = st.columns(2)
    relatedness = left.select_slider(
        "Relatedness of the training tasks to the held-out task",
        options=RELATEDNESS_CHOICES, value=0.9, key=prefix + "relatedness",
        help="The share of the held-out task's signal in each training task's target: "
        "1 the same signal, 0 nothing in common.",
    )  # fmt: skip
    methods = right.multiselect(
        "Methods", list(METHOD_NAMES), default=list(METHOD_NAMES),
        format_func=METHOD_NAMES.__getitem__, key=prefix + "methods",
    )  # fmt: skip
    st.caption(
        "Three seeds: each draws its own tasks, networks and examples. The whole study "
        "takes about a minute, in a separate process."
    )
    options = {"relatedness": relatedness, "methods": methods}
    result = study_button(lesson.key, options, prefix, working="Pre-training, meta-training and fitting k examples…",
                          disabled=not methods)  # fmt: skip
    if result is None:
        return
    st.plotly_chart(error_vs_k(result), key=prefix + "chart")
    st.dataframe(result_table(result))
    st.caption(
        f"Relatedness {result['options']['relatedness']:g}; test RMSE of the held-out task "
        f"in its target's standard deviations, mean ± standard deviation over "
        f"{len(result['options']['seeds'])} seeds (each the mean of "
        f"{result['options']['draws']} draws of k examples); computed in "
        f"{result['seconds']:.0f} s."
    )
