"""Train page: start and stop a run, follow its progress and live curves (from the run store).

Training happens in the run workers, never here: this page submits the config and
then reads what the run writes, once a second, in a fragment (the rest of the page
stays still). Runs keep going when the tab is closed; the link (``?exp=``) or the
experiment picker brings them back.
"""

from __future__ import annotations

import time
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import cached, datasets, downloads, learned_sigma, runs_client, state, ui
from dashboard.charts import (
    cosine_heatmap,
    empty_figure,
    loss_curves,
    task_colors,
    weight_caption,
    weight_curves,
)
from dashboard.comparison import comparison_markdown
from dashboard.draft import build_config, draft_summary
from dashboard.history import cosine_history, loss_history, task_order, weight_history
from dashboard.objective import is_gradient_method, objective_latex
from dashboard.text import duration, md_escape
from mtlcore.analysis import combine_results
from mtlcore.config import ConfigError, ExperimentConfig
from mtlcore.data.spec import DataError
from mtlcore.runs import QUEUED, RunInfo, reuse_note
from mtlcore.weighting import METHODS

REFRESH_SECONDS = 1.0
# Until a new run's first epoch is drawn the page looks four times as often (its first
# point shows within a quarter second of being written), for at most this long.
FIRST_ROWS_REFRESH_SECONDS = 0.25
FIRST_ROWS_WINDOW_SECONDS = 10.0
DEFAULT_NAME = "experiment"  # the config's default name: the run is named after its settings
PHASE = {
    "mtl": "training the multi-task model",
    "stl": "training the single-task baselines",
    "stl-reused": "copying the single-task baselines an earlier run trained (same data "
    "and settings)",
    "stl-waiting": "waiting for the run that is training the same single-task baselines",
}


def main() -> None:
    st.title("Train")
    start_section()
    st.divider()
    exp, runs = ui.pick_experiment(
        "Experiment to follow", key="train_exp", allow_none=True,
        help="Runs started in this tab, or any run on this server (they keep going when "
        "their tab is closed).",
    )  # fmt: skip
    if exp is None:
        st.info("Press **Train** to start a run, or pick one from the history above.")
        # Where the curves will be. Drawn now, it also has the browser load its chart
        # library (seconds on a busy machine) before the press, not after the first epoch.
        st.plotly_chart(empty_figure("A run's loss curves appear here."), width="stretch",
                        key="curves_placeholder")  # fmt: skip
        return
    watch(exp, runs)


# --- starting ----------------------------------------------------------------------------


def start_section() -> None:
    d = state.draft()
    st.caption("  \n".join(md_escape(line) for line in draft_summary(d)))
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    with c1:
        state.control(
            st.text_input, "Run name", ("name",), hide_id="name", max_chars=120,
            placeholder=run_name({**d, "name": ""}),
            to_widget=lambda v: "" if v == DEFAULT_NAME else v,
            from_widget=lambda v: v.strip() or DEFAULT_NAME,
        )  # fmt: skip
    config, problems = checked_config(d)
    for problem in problems:
        ui.error(problem)
    with c2:
        pressed = st.button(
            "Train", icon=":material/play_arrow:", type="primary", key="train",
            disabled=config is None, width="stretch",
        )  # fmt: skip
    if pressed and config is not None:
        start(config)


def checked_config(d: dict[str, Any]) -> tuple[ExperimentConfig | None, list[str]]:
    """The config to submit, or the sentences that say what to fix first."""
    raw = {**d, "name": run_name(d)}
    try:
        config = build_config(raw)
    except ConfigError as exc:
        return None, [f"Fix these settings first:\n{exc}"]
    if config.data.csv is not None:
        try:
            tables = {t: cached.table(p) for t, p in config.data.csv.items()}
        except (DataError, OSError) as exc:
            return None, [f"A file cannot be read: {exc} Upload it again on the Data page."]
        _, problems = datasets.check_tasks(tables, [t for t in d["tasks"] if isinstance(t, dict)])
        if problems:
            return None, [f"Fix the tasks on the Data page first: {p}" for p in problems.values()]
    return config, []


def run_name(d: dict[str, Any]) -> str:
    """The draft's name, or one made of its dataset, strategy and method."""
    if d.get("name") and d["name"] != DEFAULT_NAME:
        return d["name"]
    data = d["data"].get("builtin") or "csv"
    return f"{data}-{d['model']['strategy']}-{d['weighting']['method']}"


def start(config: ExperimentConfig) -> None:
    # No wait for the first epoch here: the page is drawn at once (its charts saying they
    # wait) while the worker prepares the data, and the live panel then looks every
    # FIRST_ROWS_REFRESH_SECONDS until the first points come.
    with st.spinner("Starting the run (the first one after a server start takes a few seconds)…"):
        exp, _ = runs_client.submit(config, name=config.name)
    state.set_current_experiment(exp)
    state.my_experiments().insert(0, exp)
    st.rerun()


# --- following -----------------------------------------------------------------------------


def watch(exp: int, runs: list[RunInfo]) -> None:
    live = any(not r.is_finished for r in runs)
    c1, c2, c3 = st.columns([3, 2, 1], vertical_alignment="bottom")
    with c1:
        run = pick_seed(runs)
    with c2:
        log_y = st.toggle("Log scale for losses", key="log_y")
        relative = st.toggle("Losses relative to their start", key="relative_loss",
                             help="Each curve divided by its loss before training (epoch 0), "
                             "so tasks on different scales can be compared.")  # fmt: skip
    with c3:
        if live and st.button("Stop", icon=":material/stop:", key="stop", width="stretch"):
            for r in runs:
                if not r.is_finished:
                    runs_client.cancel(r.id)
            st.rerun()

    waiting = live and first_rows_pending(run)
    period = FIRST_ROWS_REFRESH_SECONDS if waiting else REFRESH_SECONDS

    @st.fragment(run_every=period if live else None)
    @ui.guarded
    def live_panel() -> None:
        with ui.timed("live_refresh" if live else "final_render"):
            render_live(exp, run.id, log_y=log_y, relative=relative, was_live=live,
                        was_waiting=waiting)  # fmt: skip

    live_panel()


def pick_seed(runs: list[RunInfo]) -> RunInfo:
    if len(runs) == 1:
        return runs[0]
    by_id = {r.id: r for r in runs}
    default = next((r.id for r in runs if not r.is_finished), runs[0].id)
    if st.session_state.get("train_seed") not in by_id:
        st.session_state["train_seed"] = default
    rid = st.radio("Seed", list(by_id), key="train_seed", horizontal=True,
                   format_func=lambda i: f"seed {by_id[i].seed}")  # fmt: skip
    return by_id[rid]


def first_rows_pending(run: RunInfo) -> bool:
    """Whether a run started less than FIRST_ROWS_WINDOW_SECONDS ago has no metric rows yet."""
    return time.time() - run.created < FIRST_ROWS_WINDOW_SECONDS and feed(run.id).poll().empty


def render_live(
    exp: int, run_id: int, *, log_y: bool, relative: bool, was_live: bool, was_waiting: bool
) -> None:
    """Progress, curves and (when done) the headline comparison of one experiment.

    ``was_waiting``: the panel refreshes quickly until the first rows come; once they are
    drawn (or the wait is over) the page runs again to refresh once a second."""
    runs = runs_client.experiment_runs(exp)
    for r in runs:
        progress(r)
    run = next((r for r in runs if r.id == run_id), runs[0])
    rows = feed(run.id)
    frame = rows.poll()
    tasks = ui.task_order(runs)
    method = cached.run_config(run.config_yaml)["weighting"]["method"]
    draw_curves(figures(frame, (run.id, rows.last_id, log_y, relative), tasks, log_y=log_y,
                        relative=relative), method)  # fmt: skip
    live_objective(run, frame, tasks)
    if all(r.is_finished for r in runs):
        if was_live:
            st.rerun(scope="app")  # stop refreshing; show the final page
        outcome(runs)
    elif was_waiting and not first_rows_pending(run):
        st.rerun(scope="app")  # the first points are drawn: refresh at the normal pace


def feed(run_id: int) -> runs_client.MetricsFeed:
    feeds: dict[int, runs_client.MetricsFeed] = st.session_state.setdefault("feeds", {})
    if run_id not in feeds:
        feeds[run_id] = runs_client.MetricsFeed(run_id)
    return feeds[run_id]


def progress(run: RunInfo) -> None:
    label = f"Seed {run.seed}: "
    if run.status == QUEUED:
        ahead = sum(r.id < run.id for r in runs_client.store().runs(status=QUEUED))
        st.progress(0.0, text=label + f"waiting for a free worker ({ahead} run(s) ahead)")
    elif run.status == "running":
        eta = run.eta_seconds
        text = (
            f"{PHASE.get(run.phase or '', 'training the model')}, epoch {run.epoch} · "
            f"{100 * run.progress:.0f}% · "
            + (f"about {duration(eta)} left" if eta is not None else "estimating time left…")
        )
        st.progress(min(max(run.progress, 0.0), 1.0), text=label + text)
    elif run.status == "done":
        st.progress(1.0, text=label + f"done in {duration(run.elapsed)}")
    elif run.status == "failed":
        ui.error(f"Seed {run.seed} failed: {run.error or 'no reason was recorded'}")
    else:
        st.info(md_escape(f"Seed {run.seed} was stopped ({run.error or 'cancelled'}); "
                          "the curves so far are kept."), icon=":material/stop_circle:")  # fmt: skip


def figures(
    frame: pd.DataFrame, version: tuple, tasks: list[str], *, log_y: bool, relative: bool
) -> dict[str, Any]:
    """The live figures, rebuilt only when new metric rows arrived (or the scale changed)."""
    memo = st.session_state.get("live_figures")
    if memo is not None and memo[0] == version:
        return memo[1]
    colors = task_colors(task_order(frame, tasks))
    cos = cosine_history(frame)
    figs = {
        "loss": loss_curves(loss_history(frame), colors, log_y=log_y, relative=relative),
        "weights": weight_curves(weight_history(frame), colors),
        "cosine": cosine_heatmap(cos) if not cos.empty else None,
    }
    st.session_state["live_figures"] = (version, figs)
    return figs


def draw_curves(figs: dict[str, Any], method: str) -> None:
    st.plotly_chart(figs["loss"], width="stretch", key="loss_curves")
    st.caption("Solid: the multi-task model. Dashed: each task trained alone. One colour per task.")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(figs["weights"], width="stretch", key="weight_curves")
        st.caption(weight_caption(method, METHODS[method].title,
                                  is_gradient_method(method)))  # fmt: skip
    with right:
        if figs["cosine"] is None:
            st.caption(
                "Gradient agreement appears here once measured (needs two tasks that share layers)."
            )
        else:
            st.plotly_chart(figs["cosine"], width="stretch", key="cosine_heatmap")
            st.caption(
                "One row per pair of tasks, one column per epoch: the mean cosine between the "
                "two tasks' gradients on the shared layers over that epoch's measurements. "
                "Blue: they point the same way (a step for one helps the other); red: they "
                "conflict. The Transfer page sums it up per pair."
            )


def live_objective(run: RunInfo, frame: pd.DataFrame, tasks: list[str]) -> None:
    """The objective with the loss weights of the latest epoch plugged in."""
    weights = weight_history(frame)
    if weights.empty:
        return
    latest = weights.sort_values("epoch").groupby("task")["weight"].last().to_dict()
    config = cached.run_config(run.config_yaml)
    method = config["weighting"]["method"]
    st.latex(
        objective_latex(
            [t for t in tasks if t in latest], weights=latest, method_title=METHODS[method].title,
            gradient_method=is_gradient_method(method),
            regularization=config["train"]["regularization"],
            reg_lambda=config["train"]["reg_lambda"],
        )
    )  # fmt: skip
    st.caption(
        f"The objective at epoch {int(weights['epoch'].max())}, with the mean loss weights of "
        "that epoch."
    )
    result = cached.result(run.id) if run.status == "done" else None  # its target scales
    sigma = learned_sigma.sigma_table(frame, config, result)  # uncertainty weighting only
    if sigma is not None:
        st.dataframe(sigma.round(3), hide_index=True)
        st.caption(learned_sigma.caption(
            standardised=config["data"].get("standardize_targets", True),
            scales_known=learned_sigma.IN_UNITS in sigma.columns,
            true_noise_shown=learned_sigma.TRUE_NOISE in sigma.columns,
        ))  # fmt: skip


def outcome(runs: list[RunInfo]) -> None:
    summaries = [r.result for r in runs if r.status == "done" and r.result]
    if not summaries:
        return
    st.subheader("Result")
    comparison = combine_results(summaries)
    first, *rest = comparison_markdown(comparison)
    st.markdown(first)
    ui.comparison_table(comparison)
    if rest:
        st.caption("  \n".join(rest))
    if note := reuse_note(summaries):
        st.caption(note)
    c1, c2, c3 = st.columns(3, vertical_alignment="center")
    c1.page_link("app_pages/compare.py", label="Compare in detail", icon=":material/balance:")
    c2.page_link("app_pages/predict.py", label="Predict on new rows",
                 icon=":material/online_prediction:")  # fmt: skip
    with c3:
        downloads.experiment_zip(runs[0].experiment_id, key="train_zip")


main()
