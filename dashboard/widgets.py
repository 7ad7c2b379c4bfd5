"""Widgets for a registry entry's options, rendered generically from its pydantic model.

Whole numbers and numbers become number inputs (bounded as the model says), yes/no a
toggle, a fixed set of choices a select box, layer widths a text field, and a
number per task one slider per task (static loss weights, preference vectors,
hierarchical depths). Each is bound to the draft, so it lands in the config.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st
from pydantic import BaseModel

from dashboard import state
from dashboard.draft import format_ints, parse_widths
from dashboard.options import OptionField, format_one_or_list, option_fields, parse_one_or_list
from dashboard.text import md_escape

PER_TASK_FLOAT_MAX = 5.0


def option_widgets(
    model: type[BaseModel],
    path: tuple[Any, ...],
    *,
    tasks: Sequence[str],
    hide_id: str,
    depth_limit: int = 1,
) -> None:
    """One widget per option of ``model``, bound to ``draft[path][option]``.

    ``hide_id`` hides them all (e.g. ``?hide=strategy_options``); ``depth_limit``
    bounds the per-task whole numbers (a hierarchical head's layer).
    """
    if state.is_hidden(hide_id):
        return
    for f in option_fields(model):
        _option_widget(f, (*path, f.name), tasks, depth_limit)
    prune_per_task(model, path, tasks)


def prune_per_task(model: type[BaseModel], path: tuple[Any, ...], tasks: Sequence[str]) -> None:
    """Drop per-task values of tasks that are no longer in the experiment."""
    options = state.get_in(state.draft(), path)
    if not isinstance(options, dict):
        return
    for f in option_fields(model):
        values = options.get(f.name)
        if f.kind.startswith("per_task") and isinstance(values, dict):
            for name in [n for n in values if n not in tasks]:
                del values[name]


def _option_widget(f: OptionField, path: tuple[Any, ...], tasks: Sequence[str], depth: int) -> None:
    help_text = f.help or None
    if f.kind == "bool":
        state.control(st.toggle, f.label, path, default=f.default, help=help_text)
    elif f.kind == "choice":
        state.control(st.selectbox, f.label, path, default=f.default, options=list(f.choices),
                      help=help_text)  # fmt: skip
    elif f.kind == "int":
        state.control(
            st.number_input, f.label, path, default=f.default,
            min_value=int(f.low) if f.low is not None else None,
            max_value=int(f.high) if f.high is not None else None,
            step=1, help=help_text, to_widget=lambda v: int(v) if v is not None else None,
        )  # fmt: skip
    elif f.kind == "float":
        state.control(
            st.number_input, f.label, path, default=f.default,
            min_value=f.low, max_value=f.high, step=_float_step(f.default), format="%g",
            help=help_text, to_widget=lambda v: float(v) if v is not None else None,
        )  # fmt: skip
    elif f.kind == "widths":
        state.control(
            st.text_input, f.label, path, default=f.default,
            help=(help_text or "") + " Leave empty for the default.",
            to_widget=lambda v: format_ints(v or []),
            from_widget=lambda s: parse_widths(s, what=f.label.lower(), allow_empty=True) or None,
        )  # fmt: skip
    elif f.kind in ("float_or_list", "int_or_list"):
        optional = f.default is None
        state.control(
            st.text_input, f.label, path, default=f.default,
            help=(help_text or "") + " One value for every task, or one per task in task "
            "order, separated by commas" + (" (empty or 'all': every row)." if optional else "."),
            to_widget=format_one_or_list,
            from_widget=lambda s: parse_one_or_list(
                s, integer=f.kind == "int_or_list", allow_none=optional, what=f.label.lower()
            ),
        )  # fmt: skip
    elif f.kind == "per_task_float":
        st.markdown(
            f"**{md_escape(f.label)}**" + (f" — {md_escape(help_text)}" if help_text else "")
        )
        for task in tasks:
            state.control(st.slider, md_escape(task), (*path, task), hide_id=path[-1], default=1.0,
                          min_value=0.0, max_value=PER_TASK_FLOAT_MAX, step=0.1,
                          to_widget=lambda v: float(min(max(v or 0.0, 0.0), PER_TASK_FLOAT_MAX)))  # fmt: skip
    elif f.kind == "per_task_int":
        st.markdown(
            f"**{md_escape(f.label)}**" + (f" — {md_escape(help_text)}" if help_text else "")
        )
        top = max(1, depth)
        for task in tasks:
            if top == 1:
                st.caption(f"{md_escape(task)}: layer 1 (add hidden layers to choose)")
                continue
            state.control(st.slider, md_escape(task), (*path, task), hide_id=path[-1], default=top,
                          min_value=1, max_value=top, step=1,
                          to_widget=lambda v, top=top: int(min(max(v or top, 1), top)))  # fmt: skip


def _float_step(default: Any) -> float:
    if isinstance(default, int | float) and default:
        return float(f"{abs(default) / 10:.1g}")
    return 0.01
