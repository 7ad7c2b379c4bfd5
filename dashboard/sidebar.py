"""The sidebar: the experiment this page shows (or the draft, on the pages that edit it) in
a few lines, and what classroom mode fixes.

The summary is drawn into a placeholder first with the draft; a page that shows a stored
experiment (Train, Compare, Transfer, Representations: :func:`dashboard.ui.pick_experiment`)
replaces it with that experiment's settings, so the sidebar never describes the draft
beside a finished run's numbers.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

from dashboard import state
from dashboard.draft import draft_summary
from dashboard.text import md_escape
from dashboard.url import flatten
from mtlcore.config import ConfigError, ExperimentConfig
from mtlcore.runs import RunInfo

# The summary's placeholder of the script run on this thread (each session's script runs
# on its own thread; the sidebar sets it at the start of every run).
_current = threading.local()

DRAFT_NOTE = "What the Data and Model pages edit and Train starts."


def sidebar() -> None:
    with st.sidebar:
        _current.summary = st.empty()
        show_draft()
        hidden = sorted(state.hidden_controls())
        if hidden:
            st.info(
                md_escape(
                    f"Classroom mode: this link fixes {', '.join(hidden)}. Those settings are "
                    "hidden; everything else is yours to change."
                ),
                icon=":material/school:",
            )
        st.caption(
            "The address bar holds the whole experiment: copy it to share it. Add "
            "`&hide=optimizer,lr` to fix settings for a class."
        )


def show_draft() -> None:
    with _current.summary.container():
        st.markdown("**Your draft**")
        st.caption("  \n".join(md_escape(line) for line in draft_summary(state.draft())))
        st.caption(DRAFT_NOTE)


def show_experiment(exp: int, runs: Sequence[RunInfo]) -> None:
    """Describe stored experiment ``exp`` (the one the page shows) instead of the draft."""
    slot = getattr(_current, "summary", None)
    if slot is None or not runs:
        return
    from dashboard import cached

    # each run's config holds its own seed; the experiment is all of them
    config = {**cached.run_config(runs[0].config_yaml), "seeds": [r.seed for r in runs]}
    lines = [runs[0].name, *draft_summary(config)]
    with slot.container():
        st.markdown(f"**Experiment #{exp}** (shown on this page)")
        st.caption("  \n".join(md_escape(line) for line in lines))
        st.caption(md_escape(draft_difference(state.draft(), config)))


def draft_difference(draft: Mapping[str, Any], config: Mapping[str, Any]) -> str:
    """A sentence saying whether the draft has this experiment's settings, and if not
    which keys differ (the name aside)."""
    a, b = _settings(draft), _settings(config)
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k) != b.get(k) and k != "name"]
    if not keys:
        return "Your draft (Data and Model pages) has the same settings."
    shown = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
    return f"Your draft (Data and Model pages) differs in {shown}."


def _settings(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Flat settings, validated where possible so that defaults spelled out and left out
    compare equal."""
    with contextlib.suppress(ConfigError):
        raw = ExperimentConfig.parse(dict(raw), source="settings").model_dump(mode="json")
    return flatten(raw)
