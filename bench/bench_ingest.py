"""CSV read + prepare of one large table against pandas + one ColumnTransformer (issue 12).

A seeded CSV like real data (numbers with some missing, three text columns of
categories, one date column, three targets: two regression, one binary; 21 columns) is
written into a temporary folder; each variant then runs in a child process of its own,
so its peak RSS is its own, interleaved over the repeats (the order alternates):

- **baseline**: ``pandas.read_csv`` (the date column parsed with its format) and one
  scikit-learn ``ColumnTransformer`` (numbers: median imputer + standardiser; text:
  most-frequent imputer + one-hot; the date: year and the sin/cos of month, day of year
  and day of week, imputed and standardised) fitted on the training split and applied to
  the train, validation and test splits (what a model needs of one table);
- **ours**: :func:`mtlcore.data.ingest.read_csv_table` (what the CLI and the dashboard
  read a CSV with: size limit, UTF-8, separator, header and row checks, missing markers,
  dates) and :func:`mtlcore.data.prepare.prepare` for the three tasks of the table.

Each child reports the CPU time of the read and of the preparation (``time.process_time``,
imports excluded) and its peak RSS (``ru_maxrss``, imports included). Prints each
repeat, the medians, the ratios ours / baseline and the load average::

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/bench_ingest.py [--rows 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

NUMBERS = [f"x{i}" for i in range(14)]
TEXT = ["city", "colour", "grade"]
DATE = "date"
TARGETS = ["price", "score", "sold"]  # regression, regression (some missing), binary


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    """A 21-column table: 14 numbers (about 3 % missing each), 3 text columns of
    categories (about 2 % missing), one date, and three targets (``score`` is missing in
    about 10 % of rows)."""
    rng = np.random.default_rng(seed)
    frame: dict[str, object] = {}
    for i, name in enumerate(NUMBERS):
        x = rng.normal(loc=i, scale=1 + i, size=rows).round(3)
        x[rng.random(rows) < 0.03] = np.nan
        frame[name] = x
    choices = {
        "city": ["Lisbon", "Porto", "Braga", "Faro", "Coimbra", "Evora", "Aveiro", "Viseu"],
        "colour": ["red", "green", "blue", "white", "black"],
        "grade": ["A", "B", "C", "D"],
    }
    for name, values in choices.items():
        col = rng.choice(np.array(values, dtype=object), size=rows)
        col[rng.random(rows) < 0.02] = None
        frame[name] = col
    days = rng.integers(0, 3650, size=rows)
    frame[DATE] = (np.datetime64("2015-01-01") + days.astype("timedelta64[D]")).astype(str)
    signal = np.nan_to_num(frame["x0"]) + 0.1 * np.nan_to_num(frame["x3"])  # type: ignore[arg-type]
    frame["price"] = (100 + 10 * signal + rng.normal(size=rows)).round(2)
    score = (signal - np.nan_to_num(frame["x5"]) + rng.normal(size=rows)).round(2)  # type: ignore[arg-type]
    score[rng.random(rows) < 0.10] = np.nan
    frame["score"] = score
    frame["sold"] = np.where(signal + rng.normal(size=rows) > 0, "yes", "no")
    pd.DataFrame(frame).to_csv(path, index=False)


def _splits(n: int) -> dict[str, np.ndarray]:
    from mtlcore.data.prepare import split_rows

    return split_rows(n, 0.15, 0.15, 0, "table")


def baseline(path: Path) -> tuple[float, float]:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    def date_features(X: pd.DataFrame) -> np.ndarray:
        dt = pd.DatetimeIndex(X.iloc[:, 0])
        cols = [dt.year.to_numpy(dtype=float)]
        for pos, period in ((dt.month - 1, 12), (dt.day_of_year - 1, 365.25), (dt.day_of_week, 7)):
            angle = 2 * np.pi * pos.to_numpy(dtype=float) / period
            cols += [np.sin(angle), np.cos(angle)]
        return np.column_stack(cols)

    start = time.process_time()
    df = pd.read_csv(path, parse_dates=[DATE], date_format="%Y-%m-%d")
    read = time.process_time() - start
    start = time.process_time()
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMBERS),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore", sparse_output=False)), TEXT),
        ("date", make_pipeline(FunctionTransformer(date_features),
                               SimpleImputer(strategy="median"), StandardScaler()), [DATE]),
    ])  # fmt: skip
    parts = {s: df.iloc[idx] for s, idx in _splits(len(df)).items()}
    X = {"train": pre.fit_transform(parts["train"])}
    X.update({s: pre.transform(parts[s]) for s in ("val", "test")})
    assert X["train"].shape[1] == len(NUMBERS) + 8 + 5 + 4 + 7
    return read, time.process_time() - start


def ours(path: Path) -> tuple[float, float]:
    from mtlcore.data.ingest import read_csv_table
    from mtlcore.data.prepare import prepare
    from mtlcore.data.spec import Dataset, TaskSpec

    start = time.process_time()
    table = read_csv_table(path, "table")
    read = time.process_time() - start
    start = time.process_time()
    dataset = Dataset("csv", "", {"table": table})
    inputs = (*NUMBERS, *TEXT, DATE)  # as the page's task editor lists them
    specs = [TaskSpec(t, "table", t, inputs=inputs) for t in TARGETS]
    data = prepare(dataset, specs)
    assert data.tasks[0].X["train"].shape[1] == len(NUMBERS) + 8 + 5 + 4 + 7
    return read, time.process_time() - start


def child(variant: str, path: Path) -> None:
    read, prep = (baseline if variant == "baseline" else ours)(path)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"read": read, "prepare": prep, "peak_mb": peak_mb}))


def run_child(variant: str, path: Path) -> dict[str, float]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parent.parent)}  # fmt: skip
    out = subprocess.run(
        [sys.executable, __file__, "--child", variant, "--path", str(path)],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode:
        sys.exit(f"{variant} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", choices=("baseline", "ours"), help="run one variant (profiling)")
    ap.add_argument("--child", choices=("baseline", "ours"), help=argparse.SUPPRESS)
    ap.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.path)
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "table.csv"
        write_csv(path, args.rows)
        print(f"{args.rows:,} rows x 21 columns, {path.stat().st_size / 1e6:.1f} MB; "
              f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
        variants = [args.only] if args.only else ["baseline", "ours"]
        results: dict[str, list[dict[str, float]]] = {v: [] for v in variants}
        for r in range(args.repeats):
            for v in variants if r % 2 == 0 else variants[::-1]:
                res = run_child(v, path)
                results[v].append(res)
                print(f"  repeat {r + 1} {v:8s}: read {res['read']:6.2f} s, prepare "
                      f"{res['prepare']:6.2f} s, total {res['read'] + res['prepare']:6.2f} s "
                      f"CPU, peak RSS {res['peak_mb']:6.0f} MB")  # fmt: skip
        med = {
            v: {k: statistics.median(x[k] for x in rs) for k in ("read", "prepare", "peak_mb")}
            for v, rs in results.items()
        }
        for v, m in med.items():
            print(f"median {v:8s}: read {m['read']:6.2f} s, prepare {m['prepare']:6.2f} s, "
                  f"total {m['read'] + m['prepare']:6.2f} s CPU, peak RSS {m['peak_mb']:6.0f} MB")  # fmt: skip
        if len(med) == 2:
            b, o = med["baseline"], med["ours"]
            print(f"ours / baseline: read {o['read'] / b['read']:.2f}x, prepare "
                  f"{o['prepare'] / b['prepare']:.2f}x, total "
                  f"{(o['read'] + o['prepare']) / (b['read'] + b['prepare']):.2f}x, peak RSS "
                  f"{o['peak_mb'] / b['peak_mb']:.2f}x ({o['peak_mb'] / 1024:.2f} GB vs "
                  f"{b['peak_mb'] / 1024:.2f} GB)")  # fmt: skip
        print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
