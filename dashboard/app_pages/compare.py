"""Compare page: multi-task vs single-task per task, with the trivial baseline and the
verdict of ``mtlcore.analysis`` over the experiment's seeds; predictions vs truth on the
test rows; several runs from the history side by side."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import cached, downloads, runs_client, ui
from dashboard.charts import (
    confusion_heatmap,
    gain_bars,
    metric_bars,
    overlay_curves,
    prediction_scatter,
    task_colors,
)
from dashboard.comparison import comparison_frame, comparison_markdown
from dashboard.history import val_metric_history
from dashboard.predictions import confusion_frame
from dashboard.text import md_escape
from mtlcore.analysis import combine_results, interval_text, verdict_label
from mtlcore.kinds import predicts_numbers
from mtlcore.runs import RunInfo, reuse_note


def main() -> None:
    st.title("Compare")
    st.write(
        "Did sharing help? Each task's test metric for the multi-task model, for the "
        "same network trained on that task alone and for a trivial predictor, the relative "
        "gain (positive = sharing helped) with its interval over seeds, the verdict, and Δm, "
        "the mean gain over tasks."
    )
    exp, runs = ui.pick_experiment("Experiment", key="compare_exp", only_done=True)
    if exp is None:
        st.info("No finished runs yet: train one on the Train page.")
        return
    done = [r for r in runs if r.status == "done" and r.result]
    if len(done) < len(runs):
        st.caption(f"{len(runs) - len(done)} of {len(runs)} seeds did not finish; the numbers "
                   f"below rest on the {len(done)} that did.")  # fmt: skip
    tasks = ui.task_order(done)
    colors = task_colors(tasks)
    headline(done, colors)
    st.subheader("Predictions vs truth (test rows)")
    predictions_section(done, tasks, colors)
    st.subheader("Several runs side by side")
    overlay_section(exp, tasks, colors)


VERDICT_RULE = (
    "Each seed trains the multi-task model and the single-task baselines from the same seed, "
    "so the per-seed gains are paired. The verdict rests on their {level} Student-t interval: "
    "**helps** (green) when the whole interval is above 0, **hurts** (red) when it is below, "
    "**within the noise** (grey) when it covers 0. One seed has no interval: run more seeds "
    "to tell."
)


def headline(done: list[RunInfo], colors: dict[str, str]) -> None:
    comparison = combine_results([r.result for r in done if r.result])
    cmp = comparison_frame(comparison)
    dm = comparison["delta_m"]
    c1, c2 = st.columns([1, 4])
    c1.metric("Δm", f"{dm:+.1f}%" if dm is not None else "—",
              delta=verdict_label(comparison["delta_m_verdict"]), delta_color="off", delta_arrow="off",
              help="Mean relative gain over tasks; positive means sharing helped.")  # fmt: skip
    first, *rest = comparison_markdown(comparison)
    c2.markdown(first)
    c2.caption("  \n".join(rest))
    if note := reuse_note([r.result for r in done if r.result]):
        c2.caption(note)
    ui.comparison_table(comparison)
    downloads.csv_button("Comparison table (CSV)", cmp,
                         f"experiment{done[0].experiment_id}-comparison.csv", key="dl_comparison")  # fmt: skip
    left, right = st.columns(2)
    left.plotly_chart(metric_bars(cmp, colors), width="stretch", key="metric_bars")
    left.caption("Solid: multi-task. Hatched: single-task. Whiskers: ± std over seeds. "
                 "Dotted: the trivial baseline (training mean or majority class).")  # fmt: skip
    right.plotly_chart(gain_bars(cmp), width="stretch", key="gain_bars")
    right.caption(VERDICT_RULE.format(level=f"{comparison['confidence']:.0%}"))


@st.cache_data(show_spinner=False, max_entries=32)
def predictions(run_id: int, mtime: float) -> pd.DataFrame | None:
    return runs_client.predictions(run_id)


def predictions_section(done: list[RunInfo], tasks: list[str], colors: dict[str, str]) -> None:
    run = done[0]
    if len(done) > 1:
        by_id = {r.id: r for r in done}
        run = by_id[st.selectbox("Seed", list(by_id), key="compare_seed",
                                 format_func=lambda i: f"seed {by_id[i].seed}")]  # fmt: skip
    path = runs_client.artifact_paths(run.id).get("predictions")
    preds = predictions(run.id, path.stat().st_mtime) if path and path.is_file() else None
    if preds is None or preds.empty:
        st.info("This run saved no test predictions (runs from before predictions were saved).")
        return
    kinds = {t: v.get("kind") for t, v in (run.result or {}).get("tasks", {}).items()}
    for tab, task in zip(st.tabs([md_escape(t) for t in tasks]), tasks):
        with tab:
            rows = preds[preds["task"].astype(str) == task]
            if predicts_numbers(kinds.get(task)):
                rows, note = one_output(rows, task)
                points = rows.assign(truth=pd.to_numeric(rows["truth"], errors="coerce"),
                                     prediction=pd.to_numeric(rows["prediction"], errors="coerce"))  # fmt: skip
                st.plotly_chart(prediction_scatter(points, colors, task), width="stretch",
                                key=f"pred_{task}")  # fmt: skip
                st.caption(note or "Each dot is a test row; on the dashed line the prediction "
                           "is exact.")  # fmt: skip
            else:
                confusion(rows, task)


POOLED = "all outputs, pooled"


def one_output(rows: pd.DataFrame, task: str) -> tuple[pd.DataFrame, str | None]:
    """A multi-output task's rows of the output picked (or all, pooled) and a caption
    saying what the dots are; other tasks' rows as they are, without a caption."""
    outputs = list(dict.fromkeys(rows["output"].astype(str))) if "output" in rows else []
    if len(outputs) < 2:
        return rows, None
    picked = st.selectbox(f"Output ({len(outputs)} target columns)", [*outputs, POOLED],
                          key=f"pred_output_{task}")  # fmt: skip
    if picked == POOLED:
        return rows, (
            f"Each dot is one test row's value of one of the {len(outputs)} outputs, all on "
            "the same axes (outputs on larger scales spread wider); on the dashed line the "
            "prediction is exact."
        )
    return rows[rows["output"].astype(str) == picked], (
        f"Each dot is a test row's {md_escape(picked)}; on the dashed line the prediction is exact."
    )


def confusion(rows: pd.DataFrame, task: str) -> None:
    classes = sorted(set(rows["truth"].astype(str)) | set(rows["prediction"].astype(str)))
    cols = st.columns(2)
    for col, model in zip(cols, ("mtl", "stl")):
        part = rows[rows["model"] == model]
        if part.empty:
            continue
        counts = confusion_frame(part["truth"], part["prediction"], classes)
        name = "multi-task" if model == "mtl" else "single-task"
        acc = (part["truth"].astype(str) == part["prediction"].astype(str)).mean()
        col.plotly_chart(confusion_heatmap(counts, f"{name}: accuracy {acc:.1%}"),
                         width="stretch", key=f"cm_{task}_{model}")  # fmt: skip
    st.caption("Each cell counts the test rows of a true class (row) given a predicted class "
               "(column): the diagonal holds the right answers, the rest who is taken for "
               "whom. Left: the multi-task model; right: the task trained alone.")  # fmt: skip


def same_tasks(
    exp: int, groups: dict[int, list[RunInfo]], tasks: list[str]
) -> tuple[list[int], int]:
    """The other finished experiments on the same tasks as ``exp`` (any order), and how
    many were left out for having other tasks."""
    others = [k for k in groups if k != exp]
    same = [k for k in others if set(ui.task_order(groups[k])) == set(tasks)]
    return same, len(others) - len(same)


def other_tasks_note(n: int) -> str:
    if not n:
        return ""
    return (f" {n} finished experiment{'s are' if n > 1 else ' is'} on other tasks and "
            f"{'are' if n > 1 else 'is'} not offered.")  # fmt: skip


@st.cache_data(show_spinner=False, max_entries=64)
def finished_metrics(run_id: int) -> pd.DataFrame:
    return val_metric_history(runs_client.metrics(run_id))


def overlay_section(exp: int, tasks: list[str], colors: dict[str, str]) -> None:
    groups = {k: v for k, v in ui.experiments_in_history().items()
              if any(r.status == "done" for r in v)}  # fmt: skip
    others, elsewhere = same_tasks(exp, groups, tasks)
    if not others:
        st.caption(
            "Train another experiment on the same tasks (say, with another strategy) to "
            "overlay it here." + other_tasks_note(elsewhere)
        )
        return
    labels = {k: ui.experiment_label(v) for k, v in groups.items()}
    picked = st.multiselect("Add runs from the history", others, key="overlay",
                            format_func=labels.__getitem__,
                            help="Only experiments on the same tasks: their curves share "
                            "the panels, one per task.")  # fmt: skip
    if elsewhere:
        st.caption(other_tasks_note(elsewhere).strip())
    chosen = [exp, *picked]
    curves, rows = {}, []
    for k in chosen:
        done = [r for r in groups[k] if r.status == "done"]
        curves[f"#{k} {done[0].name}"] = finished_metrics(done[0].id)
        summary = cached.config_summary(done[0].config_yaml)
        c = combine_results([r.result for r in done if r.result])
        rows.append({"experiment": f"#{k}", "name": done[0].name, "dataset": summary["dataset"],
                     "strategy": summary["strategy"],
                     "weighting": summary["weighting"], "Δm %": c["delta_m"],
                     "interval": interval_text(c["delta_m_low"], c["delta_m_high"]),
                     "verdict": verdict_label(c["delta_m_verdict"]), "seeds": c["n_seeds"]})  # fmt: skip
    st.plotly_chart(overlay_curves(curves, colors, tasks), width="stretch", key="overlay_chart")
    st.caption(
        "Validation metric of the multi-task model per epoch (first seed); a symbol per run."
    )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={"Δm %": st.column_config.NumberColumn(format="%+.1f")})  # fmt: skip


main()
