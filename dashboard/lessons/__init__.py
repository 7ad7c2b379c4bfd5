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
from types import ModuleType


def view(key: str) -> ModuleType | None:
    """The view module of lesson ``key``, or None when it has none."""
    name = f"dashboard.lessons.{key.replace('-', '_')}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise
