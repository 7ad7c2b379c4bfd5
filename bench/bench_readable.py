"""Issue 12's readable predictions: ``Kind.readable`` (the (row, output, truth,
prediction) rows of ``predictions.csv``, numbers rounded to the decimals of the target's
training values, or class labels) built row by row as it was (one Python tuple and one
``in_precision`` call per value; kept in tests/test_kinds.py as the reference) against
the vectorised build now (numpy rounds each column at once, Python's ``round`` only for
values on a rounding half), on the same outputs.

Tasks: issue 12's workload (``_workload.py``, ``--rows`` rows × 20 columns; two
regression tasks, one binary) and a multiclass task and a two-target regression task on
the same rows; every split, so each task reads ``--rows`` rows. Outputs: random. Both
builds must give the same rows (``repr`` equal: 3 vs 3.0, -0.0, numpy vs Python scalars;
checked here, and in tests/test_kinds.py). Figures: CPU time (``time.process_time``),
median of ``--repeats`` interleaved rounds, per kind and in all.

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/bench_readable.py --rows 100000
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def workload_tasks(rows: int):
    """(task, outputs, targets) per task and split: the workload's three tasks and a
    multiclass and a two-target regression task on its table, with random outputs."""
    import numpy as np
    import pandas as pd
    from _workload import issue12_table

    from mtlcore.data.prepare import prepare
    from mtlcore.data.spec import Dataset, TaskSpec

    df, specs = issue12_table(rows)
    rng = np.random.default_rng(1)
    df["grade"] = pd.Series(rng.choice(["low", "mid", "high", "top"], rows))
    df["r1_2dp"] = np.round(df["r1"], 2)
    inputs = specs[0].inputs
    specs = [
        *specs,
        TaskSpec("grade", "t", "grade", "multiclass", inputs),
        TaskSpec("two", "t", ("r1_2dp", "r2"), "regression", inputs),
    ]
    data = prepare(Dataset("bench", "bench", {"t": df}, specs), specs)
    return [
        (t, rng.normal(size=(len(t.y[s]), t.out_dim)).astype(np.float32), t.y[s])
        for t in data.tasks
        for s in ("train", "val", "test")
    ]


def main() -> None:
    from _workload import rows_and_repeats

    args = rows_and_repeats(__doc__)

    from tests.test_kinds import readable_row_by_row

    load = os.getloadavg()[0]
    cases = workload_tasks(args.rows)
    for task, out, y in cases:
        assert repr(task.kind_rules.readable(task, out, y)) == repr(
            readable_row_by_row(task, out, y)
        ), f"the builds differ on {task.name}"

    builds = {"row by row (before)": readable_row_by_row,
              "vectorised (now)": lambda t, out, y: t.kind_rules.readable(t, out, y)}  # fmt: skip
    names = [c[0].name for c in cases[::3]]
    times = {(b, n): [] for b in builds for n in names}
    for _ in range(args.repeats):
        for task, out, y in cases:
            for build_name, build in builds.items():
                start = time.process_time()
                build(task, out, y)
                times[build_name, task.name].append(time.process_time() - start)
    # the medians per split, summed over the three splits of a task (appended in turn)
    print(f"{datetime.now():%Y-%m-%d %H:%M}; {platform.machine()}, {os.cpu_count()} cores, "
          f"load {load:.1f} at start; Python {platform.python_version()}; {args.rows:,} rows "
          f"per task; CPU time, median of {args.repeats} interleaved rounds")  # fmt: skip
    print("| task (kind, outputs) | row by row, s | vectorised, s | speed-up |")
    print("| --- | ---: | ---: | ---: |")
    total = dict.fromkeys(builds, 0.0)
    for (task, _, _), name in zip(cases[::3], names, strict=True):
        before, now = (_split_sum(times[b, name], args.repeats) for b in builds)
        total["row by row (before)"] += before
        total["vectorised (now)"] += now
        what = f"{task.kind}, {len(task.targets)}"
        print(f"| {name} ({what}) | {before:.3f} | {now:.3f} | {before / now:.1f}× |")
    before, now = total.values()
    print(f"| all five | {before:.3f} | {now:.3f} | {before / now:.1f}× |")
    print(f"per 100,000 rows and output: {before / _outputs(cases) * 1e5:.3f} s before, "
          f"{now / _outputs(cases) * 1e5:.3f} s now; same rows: yes")  # fmt: skip


def _split_sum(values: list[float], repeats: int) -> float:
    """A task's time for all its splits: the median round of each split, summed."""
    per_split = [values[i::3] for i in range(3)]
    assert all(len(v) == repeats for v in per_split)
    return sum(statistics.median(v) for v in per_split)


def _outputs(cases) -> int:
    return sum(len(y) * len(t.targets) for t, _, y in cases)


if __name__ == "__main__":
    main()
