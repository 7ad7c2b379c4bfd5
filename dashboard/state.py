"""The experiment being edited: held in ``st.session_state`` and mirrored to the URL.

The *draft* is the raw experiment config (the dict ``ExperimentConfig`` validates),
so what the pages edit is exactly what a run saves. How a draft, the hidden controls,
the experiment and the lesson are written into a link and read back is
:mod:`dashboard.url` (plain functions); this module binds them to the session, the
address bar and the widgets.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from dashboard.text import md_escape
from dashboard.url import (
    EXP_KEY,
    HIDE_KEY,
    LESSON_KEY,
    decode_query,
    encode_query,
    lesson_from_link,
)

DRAFT_KEY = "draft"
PROBLEMS_KEY = "url_problems"
LESSON_OUT_OF_URL = "lesson_out_of_url"  # set by a page that means nothing by ?lesson=
WIDGET_PREFIX = "ctl:"


# --- the session ------------------------------------------------------------------------


def start_session() -> None:
    """On a session's first run, read the draft from the URL (once)."""
    if DRAFT_KEY in st.session_state:
        return
    from dashboard import datasets

    params = {k: st.query_params.get(k) for k in st.query_params}
    draft, hide, exp, problems = decode_query(params, upload_path=datasets.upload_path)
    lesson, preset_draft, lesson_problems = lesson_from_link(params)
    st.session_state[DRAFT_KEY] = preset_draft or draft
    st.session_state[LESSON_KEY] = lesson
    problems += lesson_problems
    st.session_state[HIDE_KEY] = hide
    if exp is not None and not experiment_exists(exp):
        problems.append(
            f"exp={exp}: there is no experiment #{exp} on this server (it was deleted, or the "
            "link comes from another server). The pages show the experiment picked in their "
            "history box instead."
        )
        exp = None
    st.session_state[EXP_KEY] = exp
    st.session_state[PROBLEMS_KEY] = problems


def experiment_exists(exp: int) -> bool:
    """Whether the run store holds experiment ``exp`` (a store that cannot be read says so
    on the pages that read it)."""
    from dashboard import runs_client
    from mtlcore.runs import RunNotFound, RunStoreError

    try:
        runs_client.experiment(exp)
    except RunNotFound:
        return False
    except RunStoreError:
        return True
    return True


def draft() -> dict[str, Any]:
    """The experiment being edited (mutable: pages write into it)."""
    start_session()
    return st.session_state[DRAFT_KEY]


def replace_draft(new: Mapping[str, Any]) -> None:
    """Put another experiment in the editor (re-opening a run); widgets start from it."""
    st.session_state[DRAFT_KEY] = copy.deepcopy(dict(new))
    reset_widgets()


def reset_widgets(prefix: str = "") -> None:
    """Forget the widget values under ``prefix`` so they start again from the draft."""
    for key in [k for k in st.session_state if str(k).startswith(WIDGET_PREFIX + prefix)]:
        del st.session_state[key]


def hidden_controls() -> set[str]:
    start_session()
    return st.session_state[HIDE_KEY]


def is_hidden(control_id: str) -> bool:
    return control_id in hidden_controls()


def current_experiment() -> int | None:
    start_session()
    return st.session_state.get(EXP_KEY)


def set_current_experiment(exp: int | None) -> None:
    st.session_state[EXP_KEY] = exp


def current_lesson() -> str | None:
    """The lesson this tab follows (from ``?lesson=`` or the Learn page), if any."""
    start_session()
    return st.session_state.get(LESSON_KEY)


def set_current_lesson(key: str | None) -> None:
    st.session_state[LESSON_KEY] = key


def leave_lesson_out_of_url() -> None:
    """This run's page means nothing by ``?lesson=`` (the Sweep page: a lesson's grid is
    opened by the Learn page's button, not by the link), so :func:`sync_url` leaves it out
    of the address this once; the tab still follows the lesson on the other pages."""
    st.session_state[LESSON_OUT_OF_URL] = True


def my_experiments() -> list[int]:
    """Experiments started from this browser tab, newest first."""
    return st.session_state.setdefault("my_experiments", [])


def sync_url() -> None:
    """Write the draft (and hide/exp) into the address bar when it changed."""
    from dashboard import datasets

    lesson = None if st.session_state.pop(LESSON_OUT_OF_URL, False) else current_lesson()
    wanted = encode_query(
        draft(), hide=sorted(hidden_controls()), exp=current_experiment(),
        lesson=lesson, upload_id=datasets.upload_id,
    )  # fmt: skip
    current = {k: st.query_params.get(k) for k in st.query_params}
    if current != wanted:
        st.query_params.from_dict(wanted)


def show_url_problems() -> None:
    """Say once which parts of the link could not be used."""
    for problem in st.session_state.pop(PROBLEMS_KEY, []):
        st.warning(md_escape(problem), icon=":material/link:")


# --- widgets bound to the draft --------------------------------------------------------------


def get_in(tree: Mapping[str, Any], path: Sequence[Any], default: Any = None) -> Any:
    node: Any = tree
    for p in path:
        in_dict = isinstance(node, Mapping) and p in node
        in_list = isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node)
        if not (in_dict or in_list):
            return default
        node = node[p]
    return node


def set_in(tree: dict[str, Any], path: Sequence[Any], value: Any) -> None:
    node: Any = tree
    for p in path[:-1]:
        if isinstance(node, dict):
            nxt = node.get(p)
            if not isinstance(nxt, dict | list):
                nxt = node[p] = {}
            node = nxt
        else:
            node = node[p]
    node[path[-1]] = value


def widget_key(path: Sequence[Any]) -> str:
    return WIDGET_PREFIX + ".".join(str(p) for p in path)


def control(
    widget: Callable[..., Any],
    label: str,
    path: Sequence[Any],
    *,
    hide_id: str | None = None,
    default: Any = None,
    to_widget: Callable[[Any], Any] = lambda v: v,
    from_widget: Callable[[Any], Any] = lambda v: v,
    on_change: Callable[..., Any] | None = None,
    args: Sequence[Any] = (),
    **kwargs: Any,
) -> Any:
    """A widget bound to ``draft[path]``; returns the draft's value after the widget.

    Hidden (classroom mode, ``hide_id`` in ``?hide=``) -> no widget, the value stays.
    The widget starts from the draft. A change is written back through ``from_widget``
    in the widget's callback, i.e. before the page is drawn, so everything on the page
    (the diagram, the objective) already shows it; a ValueError from ``from_widget``
    is shown under the widget and the draft keeps its last good value. ``on_change``
    (with ``args``) runs after the write-back.
    """
    d = draft()
    current = get_in(d, path, default)
    if is_hidden(hide_id or str(path[-1])):
        return current
    key = widget_key(path)
    options = kwargs.get("options")
    if key not in st.session_state or _stale(st.session_state[key], options):
        st.session_state[key] = _fit(to_widget(current), options)
        _write(path, from_widget, key)  # an option that vanished: the draft follows the widget

    def changed() -> None:
        if _write(path, from_widget, key) and on_change is not None:
            on_change(*args)

    widget(label, key=key, on_change=changed, **kwargs)
    if ERROR_PREFIX + key in st.session_state:
        st.error(md_escape(st.session_state[ERROR_PREFIX + key]))
    return get_in(d, path, default)


ERROR_PREFIX = "error:"


def _write(path: Sequence[Any], from_widget: Callable[[Any], Any], key: str) -> bool:
    """The widget's value into the draft; a ValueError is kept to show under the widget."""
    if key not in st.session_state:  # the widget left the page before its callback ran
        return False
    try:
        value = from_widget(st.session_state[key])
    except ValueError as exc:
        st.session_state[ERROR_PREFIX + key] = str(exc)
        return False
    st.session_state.pop(ERROR_PREFIX + key, None)
    d = draft()
    if get_in(d, path, object()) != value:
        set_in(d, path, value)
    return True


def _fit(value: Any, options: Sequence[Any] | None) -> Any:
    """A start value the widget accepts: one of its options (or only options, for lists)."""
    if options is None:
        return value
    opts = list(options)
    if isinstance(value, list):
        return [v for v in value if v in opts]
    return value if value in opts else (opts[0] if opts else None)


def _stale(value: Any, options: Sequence[Any] | None) -> bool:
    """The widget holds a value its options no longer offer."""
    if options is None:
        return False
    opts = list(options)
    if isinstance(value, list):
        return any(v not in opts for v in value)
    return value not in opts
