"""A widget's callback that runs after its widget left the page (a browser under load
sends a change for the built-in dataset box just as *My CSV files* is chosen) changes
nothing and raises nothing: it used to raise KeyError outside every page guard, which
Streamlit shows as "This app has encountered an error" (found by bench/bench_soak.py with
10 sessions)."""

from __future__ import annotations

import pytest
import streamlit as st

from dashboard import state
from dashboard.url import default_draft


def test_a_callback_for_a_widget_that_is_gone_changes_nothing(monkeypatch: pytest.MonkeyPatch):
    session: dict = {"draft": default_draft()}
    monkeypatch.setattr(st, "session_state", session)
    assert state._write(("data", "builtin"), str, "ctl:data.builtin") is False
    assert session == {"draft": default_draft()}
    session["ctl:data.builtin"] = "penguins"  # the widget still there: its value lands
    assert state._write(("data", "builtin"), str, "ctl:data.builtin") is True
    assert session["draft"]["data"]["builtin"] == "penguins"
