"""The Learn page's views of lessons that have a study of their own.

A lesson with a study (``mtlcore.lessons.Lesson.study``) has a module here named
after its key (``conflicting-gradients`` -> ``conflicting_gradients.py``) with
``show(lesson) -> None``: its option widgets (keys prefixed ``lesson:<key>:``), a
button that runs the study through :func:`dashboard.lesson_client.run_study`
(cached by options) and its charts, built by pure functions testable without
Streamlit. Lessons made only of presets need no module here.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from types import ModuleType
from typing import Any

import streamlit as st

from dashboard.lesson_client import StudyError, run_study


def view(key: str) -> ModuleType | None:
    """The view module of lesson ``key``, or None when it has none."""
    name = f"dashboard.lessons.{key.replace('-', '_')}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


@st.cache_data(show_spinner=False, max_entries=32)
def _study(key: str, options_json: str) -> dict[str, Any]:
    return run_study(key, json.loads(options_json))


def study_button(
    key: str, options: Mapping[str, Any], prefix: str, *, working: str, disabled: bool = False
) -> dict[str, Any] | None:
    """The *Run the study* button of lesson ``key`` with ``options``: runs the study (in a
    child process, cached by options) while ``working`` spins, and returns the result of
    the last run, or None before the first one (or after a failure, shown as an error).
    When the options changed since that run, a caption says the result is the last run's."""
    options_json = json.dumps(dict(options), sort_keys=True)
    ran_key = prefix + "ran"
    if st.button("Run the study", key=prefix + "run", icon=":material/play_arrow:",
                 disabled=disabled):  # fmt: skip
        with st.spinner(working):
            try:
                _study(key, options_json)
            except StudyError as exc:
                st.error(str(exc))
                return None
        st.session_state[ran_key] = options_json
    ran = st.session_state.get(ran_key)
    if ran is None:
        return None
    result = _study(key, ran)  # cached: drawn again without recomputing
    if ran != options_json:
        st.caption("Showing the last run; press Run to see the settings above.")
    return result
