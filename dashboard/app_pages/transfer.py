"""Transfer page: which tasks help each other, measured four ways from a finished experiment.

Gradient conflict (do the tasks' gradients on the shared layers point the same way?),
lookahead task affinity with a suggested grouping (Fifty et al. 2021), the pairwise-gain
matrix (every pair trained) and the similarity of the multi-task and single-task
representations (linear CKA, Kornblith et al. 2019). Everything is computed in
``mtlcore.analysis`` and read from the runs' result.json; this page only lays it out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import cached, ui
from dashboard.charts import (
    affinity_heatmap,
    cka_curves,
    conflict_curves,
    conflict_heatmap,
    pairwise_heatmap,
    task_colors,
)
from dashboard.text import md_escape
from mtlcore.analysis import CKA_MEANING, MAX_PAIRWISE_TASKS, combine_transfer, pair_matrix
from mtlcore.runs import RunInfo


def main() -> None:
    st.title("Transfer")
    st.write(
        "Which tasks help each other? Four views of the same question, from a finished "
        "experiment: whether the tasks' gradients agree on the shared layers, how much a "
        "step for one task lowers another's loss, what each task gains from each partner "
        "when every pair is trained, and how far sharing moved each task's representation."
    )
    exp, runs = ui.pick_experiment("Experiment", key="transfer_exp", only_done=True)
    if exp is None:
        st.info("No finished runs yet: train one on the Train page.")
        return
    done = [r for r in runs if r.status == "done"]
    results = [res for r in done if (res := cached.result(r.id))]
    if not results:
        st.info("This experiment's results are not on disk (deleted?); pick another.")
        return
    seeds = f"{len(results)} seed{'s' if len(results) > 1 else ''}"
    st.caption(f"From {seeds}; with several, the numbers are pooled or averaged over them.")
    tasks = ui.task_order(done)
    transfer = combine_transfer(results)
    if len(tasks) < 2:
        st.info("Transfer needs at least two tasks; this experiment has one.")
        return
    st.subheader("Gradient conflict")
    conflict(transfer["grad_conflict"], tasks, done)
    st.subheader("Task affinity")
    affinity(transfer["affinity"], done)
    st.subheader("Pairwise transfer")
    pairwise(transfer["pairwise"], tasks)
    st.subheader("Representation similarity")
    similarity(transfer["cka"], tasks)


def setting(runs: list[RunInfo], key: str) -> Any:
    """A train.* setting of the experiment's saved config."""
    return (cached.run_config(runs[0].config_yaml).get("train") or {}).get(key)


def conflict(summary: dict[str, Any], tasks: list[str], runs: list[RunInfo]) -> None:
    if not summary["pairs"]:
        every = setting(runs, "grad_cosine_every")
        why = ("it was off (`train.grad_cosine_every: 0`)" if every == 0 else
               "the tasks share no parameters under this strategy")  # fmt: skip
        st.caption(f"No gradient agreement was measured: {why}.")
        return
    cosine = pair_matrix(summary["pairs"], tasks, "mean_cosine")
    share = pair_matrix(summary["pairs"], tasks, "conflict_share")
    left, right = st.columns([2, 3])
    left.plotly_chart(conflict_heatmap(cosine, share), width="stretch", key="conflict_matrix")
    by_epoch = pd.DataFrame(summary["by_epoch"])
    by_epoch["pair"] = by_epoch["task_a"] + " · " + by_epoch["task_b"]
    right.plotly_chart(conflict_curves(by_epoch), width="stretch", key="conflict_curves")
    every = setting(runs, "grad_cosine_every")
    st.caption(
        f"Every {every} training steps the loop takes each task's gradient on the shared "
        "layers alone and measures the cosine between every two of them. Left, per pair of "
        "tasks: the mean of those cosines over training (blue: the gradients point the same "
        "way, so a step for one task also helps the other; red: they pull the shared layers "
        "apart) and the share of measured steps in conflict (cosine below 0). Right: the same "
        "two numbers epoch by epoch. Conflict on some steps is normal; a pair that is mostly "
        "red is where sharing costs, and where gradient methods such as PCGrad step in."
    )
    st.dataframe(
        pd.DataFrame(summary["pairs"]).rename(columns={
            "task_a": "task", "task_b": "other task", "mean_cosine": "mean cosine",
            "conflict_share": "in conflict", "measurements": "measured steps",
        }),
        hide_index=True, width="stretch",
        column_config={
            "mean cosine": st.column_config.NumberColumn(format="%+.2f"),
            "in conflict": st.column_config.ProgressColumn(format="percent", min_value=0.0,
                                                           max_value=1.0),
        },
    )  # fmt: skip


def affinity(summary: dict[str, Any] | None, runs: list[RunInfo]) -> None:
    if summary is None:
        every = setting(runs, "affinity_every")
        why = ("it was off" if every == 0 else "the tasks share no parameters under this "
               "strategy, or the run predates it")  # fmt: skip
        st.caption(
            f"No task affinity was measured ({why}). Set `train.affinity_every` to the number "
            "of steps between measurements, e.g. `&train.affinity_every=25` in the address."
        )
        return
    tasks = summary["tasks"]
    matrix = pd.DataFrame(summary["matrix"], index=tasks, columns=tasks, dtype=float)
    groups = summary["grouping"]["groups"]
    left, right = st.columns([3, 2])
    left.plotly_chart(affinity_heatmap(matrix, groups), width="stretch", key="affinity")
    with right:
        st.markdown("**Suggested grouping**")
        for k, g in enumerate(groups, start=1):
            st.write(md_escape(f"Group {k}: {', '.join(g)}"))
        st.caption(md_escape(
            f"Rule: {summary['grouping']['rule']}. Score {summary['grouping']['score']:+.3g}."
        ))  # fmt: skip
    st.caption(
        f"Lookahead affinity (Fifty et al. 2021, *Efficiently Identifying Task Groupings for "
        f"Multi-Task Learning*): every {summary['every']} steps, for each task i the shared "
        "layers take a trial SGD step with task i's gradient alone (learning rate `train.lr`), "
        "and for every task j the loss on the same batch is compared before and after: "
        "Z(i→j) = 1 − after / before. Row i is the task that took the step, column j the task "
        f"measured; green: the step lowered j's loss, red: it raised it. Averaged over "
        f"{summary['measurements']} measurements; the diagonal (a task on itself) is the "
        "scale to compare with. The trial steps never touch the training itself. Outlined "
        "blocks are the suggested groups."
    )


def pairwise(summary: dict[str, Any] | None, tasks: list[str]) -> None:
    if summary is None:
        if len(tasks) > MAX_PAIRWISE_TASKS:
            st.caption(f"Pairwise training is for at most {MAX_PAIRWISE_TASKS} tasks; this "
                       f"experiment has {len(tasks)}.")  # fmt: skip
        else:
            n = len(tasks) * (len(tasks) - 1) // 2
            st.info(
                f"Not measured for this experiment. With `train.pairwise: true` every pair of "
                f"tasks also trains as its own two-task model ({n} more model{'s' * (n > 1)} "
                "per seed; the single-task baselines are reused) and this shows what each task "
                "gains from each partner. In the dashboard add `&train.pairwise=true` to the "
                "address and train again; in a YAML config put `pairwise: true` under `train`.",
                icon=":material/info:",
            )
        return
    names = summary["tasks"]
    gain = pd.DataFrame(summary["gain"], index=names, columns=names, dtype=float)
    std = pd.DataFrame(summary["gain_std"], index=names, columns=names, dtype=float)
    st.plotly_chart(pairwise_heatmap(gain, std), width="stretch", key="pairwise")
    st.caption(
        "Row: a task; column: the partner it was trained with as a two-task model (same "
        "strategy, weighting, optimiser, epochs and seed). Each cell is the task's relative "
        "gain on the test rows over the same network trained on that task alone (positive: "
        "the partner helped; ± the spread over seeds). Compare it with the affinity above: "
        "affinity is measured inside one run, this trains every pair."
    )


def similarity(rows: list[dict[str, Any]], tasks: list[str]) -> None:
    if not rows:
        st.caption("No representation similarity: it needs the single-task baselines and "
                   "snapshots (`train.snapshot_every` > 0).")  # fmt: skip
        return
    st.plotly_chart(cka_curves(pd.DataFrame(rows), task_colors(tasks)), width="stretch",
                    key="transfer_cka")  # fmt: skip
    st.caption(f"{CKA_MEANING} The Representations page shows the rows themselves.")


main()
