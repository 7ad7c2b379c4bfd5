"""Issue 12's "reused baselines still spend seconds on their predictions": writing a run's
``predictions.csv`` with the formula-cell neutralisation of ``mtlcore.csv_safe``, the
per-cell writer it had (``safe_cell`` mapped over every cell of each text column, then
pandas' ``to_csv``; kept in tests/test_export_predict.py as the reference) against the
one now (the cells that start like a formula found per column at once, each distinct
one checked by ``safe_cell``), and ``to_csv`` alone (no neutralisation: the floor).

Table: the predictions of a run with baselines on issue 12's workload (``_workload.py``,
``--rows`` rows, three tasks): per test row and task one multi-task and one single-task
row (seed, model, task, row, truth, prediction, output), built by the engine's own
``readable_predictions`` from random outputs and written as ``write_outputs`` writes them.
Both writers must give the same bytes (checked here, and in tests/test_export_predict.py).
Figures: CPU time (``time.process_time``), median of ``--repeats`` interleaved rounds.

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/bench_csv_safe.py --rows 100000
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


def predictions_table(rows: int):
    """The predictions.csv table of one seed with baselines, as write_outputs builds it."""
    import numpy as np
    import pandas as pd
    from _workload import issue12_data

    from mtlcore.evaluate import readable_predictions
    from mtlcore.experiment import _as_written

    data = issue12_data(rows)
    rng = np.random.default_rng(1)
    out = []
    for model in ("mtl", "stl"):
        for t in data.tasks:
            output = rng.normal(size=(len(t.y["test"]), t.out_dim)).astype(np.float32)
            out += [{"seed": 0, "model": model, "task": t.name, "row": i,
                     "truth": _as_written(a), "prediction": _as_written(b), "output": column}
                    for i, column, a, b in readable_predictions(t, output)]  # fmt: skip
    columns = ["seed", "model", "task", "row", "truth", "prediction", "output"]
    return pd.DataFrame(out, columns=columns)


def main() -> None:
    from _workload import rows_and_repeats

    args = rows_and_repeats(__doc__)

    from mtlcore.csv_safe import csv_text
    from tests.test_export_predict import csv_text_per_cell as per_cell_text

    load = os.getloadavg()[0]
    frame = predictions_table(args.rows)
    assert csv_text(frame) == per_cell_text(frame), "the writers differ"

    def to_csv_alone(frame) -> str:
        return frame.to_csv(index=False, lineterminator="\r\n")

    writers = {"per cell (before)": per_cell_text, "vectorised (now)": csv_text,
               "pandas to_csv alone": to_csv_alone}  # fmt: skip
    times: dict[str, list[float]] = {name: [] for name in writers}
    for _ in range(args.repeats):
        for name, write in writers.items():
            start = time.process_time()
            write(frame)
            times[name].append(time.process_time() - start)
    before, now, _ = (statistics.median(v) for v in times.values())
    print(f"{datetime.now():%Y-%m-%d %H:%M}; {platform.machine()}, {os.cpu_count()} cores, "
          f"load {load:.1f} at start; Python {platform.python_version()}; "
          f"{len(frame):,} predictions rows; median of {args.repeats} interleaved rounds")  # fmt: skip
    print("| writer | CPU s | / before |\n| --- | ---: | ---: |")
    for name, values in times.items():
        print(
            f"| {name} | {statistics.median(values):.3f} | {statistics.median(values) / before:.2f} |"
        )
    print(f"speed-up {before / now:.1f}×; same bytes: yes")


if __name__ == "__main__":
    main()
