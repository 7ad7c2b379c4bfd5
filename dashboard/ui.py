"""Small Streamlit pieces the pages share: the error guard, messages, run pickers, headers."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import streamlit as st

from dashboard import datasets, runs_client, state
from dashboard.logic import md_escape
from mtlcore.config import ConfigError
from mtlcore.data.spec import DataError
from mtlcore.runs import RunInfo, RunStoreError

log = logging.getLogger("dashboard")
F = TypeVar("F", bound=Callable[..., Any])

UNEXPECTED = "Something went wrong here"
STATUS_ICON = {"queued": "⏳", "running": "🏃", "done": "✅", "failed": "❌", "cancelled": "⏹️"}


def error(message: str, icon: str | None = "⚠️") -> None:
    """An error box whose text is shown as text (names from users stay inert)."""
    st.error(md_escape(message), icon=icon)


@contextlib.contextmanager
def guard(where: str = "this page") -> Iterator[None]:
    """Turn any exception into sentences on the page (never a traceback); logs it."""
    try:
        yield
    except (ConfigError, DataError, RunStoreError) as exc:
        error(str(exc))
    except Exception as exc:  # st.rerun/st.stop are BaseExceptions and pass through
        log.exception("unexpected error on %s", where)
        error(
            f"{UNEXPECTED} ({type(exc).__name__}: {exc}). Your settings and runs are kept; "
            "change the setting you just changed, or reload the page.",
            icon="🛠️",
        )


def guarded(fn: F) -> F:
    """Decorator form of :func:`guard`, for fragments (they rerun outside the page guard)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with guard(fn.__name__):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def explain(entry: Any) -> None:
    """A registry entry's summary and paper, as a caption."""
    text = md_escape(entry.summary)
    if entry.paper:
        text += "  \n*Paper:* " + md_escape(entry.paper)
    st.caption(text)


def when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%d %b %H:%M:%S") if ts else "—"


def run_label(run: RunInfo, names: dict[str, str] | None = None) -> str:
    name = runs_client.display_name(run, names)
    return f"#{run.id} {name} (seed {run.seed}) {STATUS_ICON.get(run.status, '')} {run.status}"


def experiment_label(runs: Sequence[RunInfo], names: dict[str, str] | None = None) -> str:
    first = runs[0]
    name = runs_client.display_name(first, names)
    seeds = ", ".join(str(r.seed) for r in runs)
    statuses = sorted({r.status for r in runs})
    return (
        f"Experiment {first.experiment_id}: {name} · seed{'s' if len(runs) > 1 else ''} {seeds}"
        f" · {'/'.join(statuses)} · {when(first.created)}"
    )


def experiments_in_history(limit: int = 500) -> dict[int, list[RunInfo]]:
    """Experiment id -> its runs (seed order), newest experiment first."""
    groups: dict[int, list[RunInfo]] = {}
    for run in runs_client.list_runs(limit=limit):
        groups.setdefault(run.experiment_id, []).append(run)
    return {k: sorted(v, key=lambda r: r.id) for k, v in groups.items()}


def pick_experiment(
    label: str, key: str, *, only_done: bool = False, help: str | None = None
) -> tuple[int | None, list[RunInfo]]:
    """A select box over the run history, starting at the session's current experiment."""
    groups = experiments_in_history()
    if only_done:
        groups = {k: v for k, v in groups.items() if any(r.status == "done" for r in v)}
    if not groups:
        return None, []
    names = runs_client.display_names()
    ids = list(groups)
    current = state.current_experiment()
    if current in ids:  # the widget follows the session's experiment (set by other pages too)
        st.session_state[key] = current
    elif st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    exp = st.selectbox(
        label, ids, key=key, help=help, format_func=lambda i: experiment_label(groups[i], names),
        on_change=lambda: state.set_current_experiment(st.session_state[key]),
    )  # fmt: skip
    state.set_current_experiment(exp)
    return exp, groups[exp]


def task_order(runs: Sequence[RunInfo]) -> list[str]:
    """The task names of an experiment's runs, in config order."""
    for run in runs:
        if run.result and run.result.get("tasks"):
            return list(run.result["tasks"])
    try:
        config = runs[0].config()
    except ConfigError:
        return []
    names = config.task_names()
    if names is not None:
        return names
    if config.data.builtin:
        from dashboard import cached

        return [t.name for t in cached.builtin(config.data.builtin, config.data.options).tasks]
    return []


def draft_tasks() -> list[datasets.TaskView]:
    """The tasks of the experiment being edited (name, table, inputs), in order."""
    from dashboard import cached

    d = state.draft()
    if d["data"].get("csv") is not None:
        return datasets.csv_task_views([t for t in d.get("tasks") or [] if isinstance(t, dict)])
    try:
        dataset = cached.builtin(d["data"]["builtin"], d["data"]["options"])
    except (ValueError, DataError):
        return []
    chosen = d.get("tasks")
    names = None if chosen is None else [t for t in chosen if isinstance(t, str)]
    return datasets.builtin_task_views(dataset, names)
