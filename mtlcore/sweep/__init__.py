"""Sweeps: a base config × axes × seeds, run as ordinary runs, ranked by Δm.

::

    from mtlcore.runs import RunStore
    from mtlcore.sweep import load_sweep, start_sweep, cell_results, ranking_table

    grid = load_sweep("examples/sweeps/synthetic.yaml")   # validated cells
    started = start_sweep(RunStore(), grid)              # queued (or resumed) runs
    ...                                                  # a worker pool runs them
    print(ranking_table(grid, cell_results(store, started.sweep_id, grid)))

Single-task baselines are trained once per seed and baseline group and reused by
every cell of the group (``Grid.baselines_trained`` / ``baselines_reused``). See
``docs/sweeps.md``. Nothing here imports torch or streamlit.
"""

from mtlcore.sweep._local import (
    against_baselines,
    by_variant,
    measurements_off,
    run_cell,
    run_cells,
)
from mtlcore.sweep._rank import (
    CellResult,
    baseline_counts,
    cell_folder,
    cell_results,
    grid_slice,
    ranked,
    ranking_rows,
    ranking_table,
    sweep_summary,
    with_baselines,
    write_sweep,
)
from mtlcore.sweep._schedule import (
    CellProgress,
    Started,
    finished,
    latest_runs,
    member_name,
    progress,
    start_sweep,
    sweep_grid,
)
from mtlcore.sweep._spec import (
    MAX_SWEEP_RUNS,
    PAIRS_MEASUREMENTS_OFF,
    VARIANT,
    Cell,
    Grid,
    SweepError,
    SweepSpec,
    baseline_key,
    cell_task_names,
    expand,
    load_sweep,
    merge_variant,
    options_for_tasks,
    pairs_grid,
    sweep_from_mapping,
    sweep_from_text,
    variant_between,
)

__all__ = [
    "against_baselines",
    "by_variant",
    "measurements_off",
    "run_cell",
    "run_cells",
    "MAX_SWEEP_RUNS",
    "PAIRS_MEASUREMENTS_OFF",
    "VARIANT",
    "Cell",
    "CellProgress",
    "CellResult",
    "Grid",
    "Started",
    "SweepError",
    "SweepSpec",
    "baseline_counts",
    "baseline_key",
    "cell_folder",
    "cell_results",
    "cell_task_names",
    "expand",
    "finished",
    "grid_slice",
    "latest_runs",
    "load_sweep",
    "merge_variant",
    "options_for_tasks",
    "pairs_grid",
    "member_name",
    "progress",
    "ranked",
    "ranking_rows",
    "ranking_table",
    "start_sweep",
    "sweep_from_mapping",
    "sweep_from_text",
    "sweep_grid",
    "sweep_summary",
    "variant_between",
    "with_baselines",
    "write_sweep",
]
