"""Small Streamlit pieces the pages share: the error guard, messages, run pickers, headers,
the comparison table."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, TypeVar

import streamlit as st

from dashboard import datasets, runs_client, state
from dashboard.charts import verdict_color
from dashboard.comparison import comparison_frame, display_table
from dashboard.draft import dataset_options_text
from dashboard.sidebar import show_experiment
from dashboard.text import md_escape
from mtlcore.analysis import FINDINGS, verdict_label
from mtlcore.config import ConfigError
from mtlcore.data.spec import DataError
from mtlcore.runs import RunInfo, RunStoreError

log = logging.getLogger("dashboard")
F = TypeVar("F", bound=Callable[..., Any])

UNEXPECTED = "Something went wrong here"
NO_EXPERIMENT = "— none: pick one from the history —"


def error(message: str, icon: str | None = ":material/error:") -> None:
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
            icon=":material/build:",
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


def data_options(run: RunInfo) -> str:
    """`` (relatedness 0.9, noise 0.5)``: the run's dataset options that differ from the
    dataset's defaults (``""`` for none, or CSV data), so two runs named
    ``synthetic-hard-equal`` can be told apart."""
    from dashboard import cached

    data = cached.run_config(run.config_yaml).get("data") or {}
    builtin = data.get("builtin")
    return dataset_options_text(builtin, data.get("options") or {}) if builtin else ""


def run_label(run: RunInfo) -> str:
    return f"#{run.id} {run.name}{data_options(run)} (seed {run.seed}) · {run.status}"


def experiment_label(runs: Sequence[RunInfo]) -> str:
    first = runs[0]
    mine = " · this tab" if first.experiment_id in state.my_experiments() else ""
    seeds = ", ".join(str(r.seed) for r in runs)
    # No status here: a label that changes while the box is open confuses the widget.
    return (
        f"#{first.experiment_id} {first.name}{data_options(first)}{mine} · "
        f"seed{'s' if len(runs) > 1 else ''} {seeds} · {when(first.created)}"
    )


def experiments_in_history(limit: int = 500) -> dict[int, list[RunInfo]]:
    """Experiment id -> its runs (seed order), newest experiment first."""
    groups: dict[int, list[RunInfo]] = {}
    for run in runs_client.list_runs(limit=limit):
        groups.setdefault(run.experiment_id, []).append(run)
    return {k: sorted(v, key=lambda r: r.id) for k, v in groups.items()}


def pick_experiment(
    label: str,
    key: str,
    *,
    only_done: bool = False,
    allow_none: bool = False,
    help: str | None = None,
) -> tuple[int | None, list[RunInfo]]:
    """A select box over the run history, starting at the session's current experiment.

    Without one, it starts at the newest experiment, or (``allow_none``) at none.
    """
    groups = experiments_in_history()
    if only_done:
        groups = {k: v for k, v in groups.items() if any(r.status == "done" for r in v)}
    if not groups:
        return None, []
    ids: list[Any] = ([None] if allow_none else []) + list(groups)
    current = state.current_experiment()
    if current in ids:  # the widget follows the session's experiment (set by other pages too)
        st.session_state[key] = current
    elif st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    labels = {i: experiment_label(groups[i]) if i is not None else NO_EXPERIMENT for i in ids}
    exp = st.selectbox(
        label, ids, key=key, help=help, format_func=labels.__getitem__,
        on_change=lambda: state.set_current_experiment(st.session_state[key]),
    )  # fmt: skip
    state.set_current_experiment(exp)
    if exp is not None:  # the sidebar describes what this page shows, not the draft
        show_experiment(exp, groups[exp])
    return exp, groups[exp] if exp is not None else []


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


TABLE_FORMAT = {
    "gain %": st.column_config.NumberColumn(
        format="%+.1f", help="Mean over seeds of (MTL − STL)/|STL|; positive: sharing helped."
    ),
    "trivial": st.column_config.TextColumn(
        help="The trivial baseline: predicting the training mean (regression) or the "
        "majority class (classification)."
    ),
    "verdict": st.column_config.TextColumn(
        help="helps / hurts: the whole interval of the gain is above / below 0. Within the "
        "noise: it covers 0. One seed has no interval: run more seeds to tell."
    ),
}


def comparison_table(comparison: dict[str, Any]) -> None:
    """The per-task comparison table; only a verdict that is a finding is coloured."""
    table = display_table(comparison_frame(comparison))
    colors = {verdict_label(v): verdict_color(v) for v in FINDINGS}
    styled = table.style.map(
        lambda v: f"color: {colors[v]}; font-weight: 600" if v in colors else "", subset=["verdict"]
    )
    st.dataframe(styled, hide_index=True, width="stretch", column_config=TABLE_FORMAT)


# Set MTL_STUDIO_TIMINGS to a file path to log how long each live refresh takes on the
# server (one JSON line per refresh); bench/bench_dashboard.py reads it.
TIMINGS_ENV = "MTL_STUDIO_TIMINGS"


@contextlib.contextmanager
def timed(what: str) -> Iterator[None]:
    """Log the server time of a block to MTL_STUDIO_TIMINGS (when set)."""
    path = os.environ.get(TIMINGS_ENV)
    if not path:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        line = json.dumps(
            {"what": what, "seconds": time.perf_counter() - started, "at": time.time()}
        )
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")
