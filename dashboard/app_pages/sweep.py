"""Sweep page: a grid of experiments over strategies, weighting methods and one more setting,
run by the same workers as single runs, with progress per cell, a heatmap of Δm and the
ranking (``mtlcore.sweep``: expansion, baseline reuse, ranking with the engine's verdicts).

The base experiment is the one the Data and Model pages hold; the axes are picked from the
same catalogues as the Model page's controls. Opened from a lesson (the Learn page's "Run
the whole grid"), the grid is the lesson's presets instead (``Lesson.sweep``). Training happens in the run workers; this
page queues the sweep's runs and reads the store, once a second while any run is live.
Pressing Run on a grid the store already holds continues it (finished runs are kept).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import runs_client, state, ui
from dashboard.charts import sweep_heatmap
from dashboard.draft import build_config, draft_summary, format_ints, parse_seeds
from dashboard.options import option_fields
from dashboard.text import md_escape
from mtlcore.config import ConfigError
from mtlcore.data.builtin import BUILTIN_DATASETS
from mtlcore.lessons import LESSONS, Lesson
from mtlcore.models import STRATEGIES
from mtlcore.runs import CANCELLED, FAILED, RunStore
from mtlcore.sweep import (
    CellResult,
    Grid,
    SweepError,
    baseline_counts,
    cell_results,
    finished,
    grid_slice,
    progress,
    ranking_rows,
    start_sweep,
    sweep_from_mapping,
    sweep_grid,
)
from mtlcore.weighting import METHODS

REFRESH_SECONDS = 1.0
MAX_PAGE_RUNS = 100  # runs one sweep may queue from the page (the server's queue bound)
NO_AXIS = "none"
SWEEP_LESSON = "sweep_lesson"  # a lesson whose grid the page shows (set by the Learn page)
# The third axis: training settings, then the numeric options of the draft's built-in dataset.
TRAIN_AXES = {"train.lr": "Learning rate", "train.batch_size": "Batch size",
              "model.dropout": "Dropout"}  # fmt: skip
INT_AXES = {"train.batch_size"}
EXAMPLE_VALUES = {
    "train.lr": "0.01, 0.003",
    "train.batch_size": "32, 64",
    "model.dropout": "0, 0.2",
}


def main() -> None:
    state.leave_lesson_out_of_url()  # the lesson grid comes from the Learn page, not the link
    st.title("Sweep")
    st.write(
        "Which sharing strategy and weighting suit these tasks, and by how much beyond the "
        "noise? A sweep trains every combination of the values you pick, each on the same "
        "seeds, and ranks them by Δm against the single-task baselines. The baselines do not "
        "depend on the strategy or the weighting, so each is trained once per seed and reused."
    )
    grid_section()
    st.divider()
    sweep_id = pick_sweep()
    if sweep_id is None:
        # Only with no sweep on this server yet: otherwise the list above picks one.
        st.info("No sweep on this server yet: build a grid above and press **Run sweep**.")
        return
    watch(sweep_id)


# --- building the grid ---------------------------------------------------------------------


def grid_section() -> None:
    key = st.session_state.get(SWEEP_LESSON)
    if key in LESSONS and LESSONS[key].presets:
        lesson_grid(LESSONS[key])
        return
    d = state.draft()
    st.subheader("The grid")
    st.caption(
        "Base experiment (from the Data and Model pages): "
        + "; ".join(md_escape(line) for line in draft_summary(d))
    )
    st.page_link("app_pages/model.py", label="Change the base on the Model page")
    c1, c2 = st.columns(2)
    strategies = c1.multiselect(
        "Sharing strategies", list(STRATEGIES), default=[d["model"]["strategy"]],
        format_func=lambda n: STRATEGIES[n].title, key="sweep_strategies",
    )  # fmt: skip
    methods = c2.multiselect(
        "Weighting methods", list(METHODS), default=[d["weighting"]["method"]],
        format_func=lambda n: METHODS[n].title, key="sweep_methods",
    )  # fmt: skip
    extra_axes = third_axes(d)
    c3, c4, c5 = st.columns([2, 2, 1])
    extra = c3.selectbox("A third axis (optional)", [NO_AXIS, *extra_axes], key="sweep_extra",
                         format_func=lambda k: "none" if k == NO_AXIS else extra_axes[k])  # fmt: skip
    values_text = ""
    if extra != NO_AXIS:
        values_text = c4.text_input("Its values, comma-separated", key=f"sweep_values:{extra}",
                                    value=EXAMPLE_VALUES.get(extra, ""))  # fmt: skip
    seeds_text = c5.text_input("Seeds", value=format_ints(d.get("seeds") or [0, 1, 2]),
                               key="sweep_seeds", help="Every cell trains these seeds; "
                               "three or more give each Δm an interval.")  # fmt: skip
    grid, problem = build_grid(d, strategies, methods, extra, values_text, seeds_text)
    if problem:
        ui.error(problem)
        return
    assert grid is not None
    run_button(grid)


def lesson_grid(lesson: Lesson) -> None:
    """The grid of a lesson's presets: one cell per preset (a variant of the first), on the
    seeds below; Run queues it like any sweep."""
    st.subheader(f"The grid: lesson {lesson.number}, {lesson.title}")
    st.caption(
        "Every preset of the lesson is one cell, run on each seed and ranked by Δm. Presets "
        "that differ only in sharing strategy or weighting share their single-task baselines."
    )
    default = lesson.sweep().seeds
    seeds_text = st.text_input("Seeds", value=format_ints(default),
                               key=f"sweep_lesson_seeds:{lesson.key}",
                               help="The lesson's claims are checked on these seeds; three or "
                               "more give each Δm an interval.")  # fmt: skip
    try:
        grid = lesson.sweep(parse_seeds(seeds_text))
    except (SweepError, ValueError) as exc:
        ui.error(str(exc))
        grid = None
    if grid is not None:
        st.dataframe(
            pd.DataFrame([{"preset": p.key, "what it is": p.label,
                           "changes from the first": _changes(shown_variant(grid.variants[p.key]))}
                          for p in lesson.presets]),
            hide_index=True, key="sweep_lesson_cells",
        )  # fmt: skip
        run_button(grid)
    if st.button("Build my own grid instead", icon=":material/tune:", key="sweep_own"):
        st.session_state.pop(SWEEP_LESSON, None)
        st.rerun()


def shown_variant(variant: dict[str, Any]) -> dict[str, Any]:
    """A lesson preset's variant as its table row shows it: where the preset changes the
    dataset, the strategy or the weighting, its options are that choice's whole set,
    defaults included (``expert_hidden = None``); only those that differ from the defaults
    are shown. Options of an unchanged choice are the preset's own changes: all shown."""
    catalogues = {"data": ("builtin", BUILTIN_DATASETS), "model": ("strategy", STRATEGIES),
                  "weighting": ("method", METHODS)}  # fmt: skip
    shown = dict(variant)
    for section, (choice, catalogue) in catalogues.items():
        part = variant.get(section)
        if not isinstance(part, dict) or choice not in part or "options" not in part:
            continue
        defaults = catalogue[part[choice]].options_model().model_dump(mode="json")
        options = {k: v for k, v in part["options"].items() if defaults.get(k, object()) != v}
        shown[section] = {k: v for k, v in part.items() if k != "options"}
        if options:
            shown[section]["options"] = options
    return shown


def _changes(variant: dict[str, Any], prefix: str = "") -> str:
    """A variant as dotted keys: ``model.strategy = mmoe; model.options.n_experts = 4``."""
    parts = []
    for key, value in variant.items():
        if isinstance(value, dict) and value:
            parts.append(_changes(value, f"{prefix}{key}."))
        else:
            parts.append(f"{prefix}{key} = {value}")
    return "; ".join(parts) or "(the first preset)"


def counted(n: int, word: str) -> str:
    """``n`` and the word, plural unless n is 1: "1 cell", "3 cells"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def run_button(grid: Grid) -> None:
    """The grid's counts, and Run (when the page may queue that many runs)."""
    n_runs = len(grid.cells) * len(grid.seeds)
    st.caption(
        f"{counted(len(grid.cells), 'cell')} × {counted(len(grid.seeds), 'seed')} = "
        f"{counted(n_runs, 'run')}; single-task baselines trained "
        f"{counted(grid.baselines_trained, 'time')} and reused "
        f"{counted(grid.baselines_reused, 'time')}."
    )
    if n_runs > MAX_PAGE_RUNS:
        ui.error(f"{n_runs} runs is more than the dashboard queues at once ({MAX_PAGE_RUNS}); "
                 "drop some values or seeds, or run it with `python -m mtlcore sweep`.")  # fmt: skip
        return
    if st.button("Run sweep", icon=":material/play_arrow:", type="primary", key="sweep_run"):
        run_sweep(grid)


def third_axes(d: dict[str, Any]) -> dict[str, str]:
    """Keys a third axis may take, with their labels: training settings, and the numbers
    among the options of the draft's built-in dataset."""
    axes = dict(TRAIN_AXES)
    builtin = d["data"].get("builtin")
    if builtin in BUILTIN_DATASETS:
        for f in option_fields(BUILTIN_DATASETS[builtin].options_model):
            if f.kind in ("int", "float"):
                axes[f"data.options.{f.name}"] = f"{f.label} ({builtin} data)"
    return axes


def build_grid(
    d: dict[str, Any], strategies: list[str], methods: list[str], extra: str, values_text: str,
    seeds_text: str,
) -> tuple[Grid | None, str | None]:  # fmt: skip
    """The sweep the controls describe, or the sentence that says what to fix."""
    if not strategies or not methods:
        return None, "Pick at least one sharing strategy and one weighting method."
    try:
        seeds = parse_seeds(seeds_text)
        axes: dict[str, list[Any]] = {"model.strategy": strategies, "weighting.method": methods}
        if extra != NO_AXIS:
            axes[extra] = parse_values(values_text, integer=extra in INT_AXES)
        base = build_config({**d, "name": "sweep"}).model_dump(mode="json")
        name = f"{d['data'].get('builtin') or 'csv'} sweep"
        grid = sweep_from_mapping({"name": name, "base": base, "axes": axes, "seeds": seeds},
                                  source="the grid")  # fmt: skip
    except SweepError as exc:
        return None, str(exc)
    except ConfigError as exc:
        return None, f"Fix these settings first: {exc}"
    except ValueError as exc:
        return None, str(exc)
    return grid, None


def parse_values(text: str, *, integer: bool) -> list[float | int]:
    """``"0.01, 0.003"`` -> numbers; ValueError with a sentence for anything else."""
    values: list[float | int] = []
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        try:
            values.append(int(part) if integer else float(part))
        except ValueError:
            kind = "a whole number" if integer else "a number"
            raise ValueError(f"'{part}' is not {kind}; give values separated by commas, "
                             "e.g. 0.01, 0.003.") from None  # fmt: skip
    if not values:
        raise ValueError("Give the third axis at least one value, or choose none.")
    return list(dict.fromkeys(values))


def run_sweep(grid: Grid) -> None:
    with st.spinner("Queuing the sweep's runs…"):
        pool = runs_client.executor()  # the workers that run them (started on first use)
        started = start_sweep(runs_client.store(), grid)
        pool.wake()  # idle workers take the runs now, not at their next look at the queue
    st.session_state["sweep_id"] = started.sweep_id
    st.session_state["sweep_pick"] = started.sweep_id
    st.rerun()


# --- following -------------------------------------------------------------------------------


def pick_sweep() -> int | None:
    sweeps = runs_client.store().sweeps(limit=50)
    if not sweeps:
        return None
    by_id = {s.id: s for s in sweeps}
    if st.session_state.get("sweep_pick") not in by_id:
        st.session_state["sweep_pick"] = st.session_state.get("sweep_id", sweeps[0].id)
        if st.session_state["sweep_pick"] not in by_id:
            st.session_state["sweep_pick"] = sweeps[0].id
    return st.selectbox("Sweep to follow", list(by_id), key="sweep_pick",
                        format_func=lambda i: f"#{i} {by_id[i].name} "
                        f"({len(by_id[i].run_ids)} runs)")  # fmt: skip


def watch(sweep_id: int) -> None:
    store = runs_client.store()
    grid = sweep_grid(store, sweep_id)
    cells = progress(store, sweep_id, grid)
    live = not finished(cells, len(grid.seeds))
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    axes = "; ".join(f"{k}: {', '.join(str(v) for v in values)}" for k, values in grid.axes)
    c1.caption(md_escape(f"{len(grid.cells)} cells × seeds {format_ints(grid.seeds)}. {axes}"))
    with c2:
        if live and st.button("Stop sweep", icon=":material/stop:", key="sweep_stop"):
            store.cancel_sweep(sweep_id)
            st.rerun()
        lost = [r for c in cells for r in c.runs if r.status in (FAILED, CANCELLED)]
        if lost and st.button("Run the rest", key="sweep_resume",
                              help="Queue again the runs that failed or were stopped (a "
                              "server restart stops the running ones); finished runs are "
                              "kept."):  # fmt: skip
            run_sweep(grid)
    if lost:
        first = next((r for r in lost if r.status == FAILED), lost[0])
        st.caption(md_escape(f"{len(lost)} run(s) failed or were stopped; run {first.id}: "
                             f"{first.error or first.status}."))  # fmt: skip

    @st.fragment(run_every=REFRESH_SECONDS if live else None)
    @ui.guarded
    def live_panel() -> None:
        show(store, sweep_id, grid)
        if live and finished(progress(store, sweep_id, grid), len(grid.seeds)):
            st.rerun(scope="app")  # the buttons above and the refresh follow the end

    live_panel()


def baselines_text(grid: Grid, results: list[CellResult]) -> str:
    """How the runs got their single-task baselines: as done runs say, then as planned
    for the runs not done yet (a group already in the store's cache trains none)."""
    counts = baseline_counts(grid, results)
    done, planned = counts["done"], counts["planned"]
    text = f"baselines trained {done['trained']}, reused {done['reused']}"
    if planned["trained"] or planned["reused"]:
        text += (f" so far; planned for the rest: trained {planned['trained']}, "
                 f"reused {planned['reused']}")  # fmt: skip
    return text


def show(store: RunStore, sweep_id: int, grid: Grid) -> None:
    results = cell_results(store, sweep_id, grid)
    n_runs = len(grid.cells) * len(grid.seeds)
    done = sum(c.progress for c in results) / max(1, len(results))
    st.progress(done, text=f"{done:.0%} of {n_runs} runs ({baselines_text(grid, results)})")
    heatmap(grid, results)
    st.subheader("Ranking")
    st.caption(
        "Highest Δm first. Each verdict compares the cell with the single-task baselines over "
        "its seeds: helps or hurts only when the whole interval lies on one side of 0."
    )
    table = pd.DataFrame(ranking_rows(grid, results))
    st.dataframe(
        table, hide_index=True, key="sweep_ranking",
        column_config={"Δm %": st.column_config.NumberColumn(format="%+.2f"),
                       "interval": st.column_config.TextColumn(width="medium"),
                       "verdict": st.column_config.TextColumn(width="medium"),
                       "progress": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0)},
    )  # fmt: skip


def heatmap(grid: Grid, results: list[CellResult]) -> None:
    keys = [k for k, _ in grid.axes]
    varied = [k for k, v in grid.axes if len(v) > 1] or keys[:1]
    c1, c2, *rest = st.columns(2 + max(0, len(keys) - 2))
    x = c1.selectbox("Across (x)", varied, key="sweep_x")
    others = [k for k in varied if k != x]
    y = c2.selectbox("Down (y)", [*others, NO_AXIS], key="sweep_y")
    y = None if y == NO_AXIS else y
    fixed = {}
    slots = iter(rest)
    for key, values in grid.axes:
        if key in (x, y):
            continue
        if len(values) == 1:
            fixed[key] = values[0]
            continue
        col = next(slots, None) or st
        fixed[key] = col.selectbox(f"At {md_escape(key)}", values, key=f"sweep_at:{key}")
    frame = pd.DataFrame(grid_slice(grid, results, x, y, fixed))
    st.plotly_chart(sweep_heatmap(frame, x, y or ""), key="sweep_heatmap")


main()
