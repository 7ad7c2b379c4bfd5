"""Issue 12's "whole run with single-task baselines vs without", through the run store's
baseline cache: a run that trains its baselines (cold cache), the same experiment with
another weighting (its baselines reused from the cache) and the run without baselines.

Workload (issue 12, ``bench/_workload.py``'s table written to a CSV): ``--rows`` rows ×
20 numeric columns, three tasks (two regression, one binary), hard sharing with a trunk
20→64→64 and heads 64→32→1, Adam, batch 256, ``--epochs`` epochs, one thread. Each run
goes through ``execute_run`` in this process, as a worker runs it (CSV read, prepare,
training, evaluation, files, store writes), in a fresh store per round (the cold run
fills it, the reuse reads it). Figures: CPU time of this process (``time.process_time``,
so other work on the shared machine slows them less than wall time) and wall time, the
median of ``--repeats`` interleaved rounds.

    OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/bench_baseline_cache.py
    ... --append    # and add the table to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def workload_csv(rows: int, folder: Path) -> Path:
    """Issue 12's table as a CSV (the run store reads data from its config)."""
    from _workload import issue12_data

    data = issue12_data(rows)
    path = folder / "issue12.csv"
    data.dataset.tables["t"].to_csv(path, index=False)
    return path


def config(csv: Path, epochs: int, *, weighting: str, baselines: bool):
    from mtlcore.config import ExperimentConfig

    inputs = [f"x{i}" for i in range(20)]
    tasks = [{"name": n, "table": "t", "target": n, "kind": k, "inputs": inputs}
             for n, k in (("r1", "regression"), ("r2", "regression"), ("b", "binary"))]  # fmt: skip
    return ExperimentConfig.parse({
        "name": f"bench-{weighting}",
        "data": {"csv": {"t": str(csv)}},
        "tasks": tasks,
        "model": {"strategy": "hard", "hidden": [64, 64], "head_hidden": [32]},
        "weighting": {"method": weighting},
        "train": {"epochs": epochs, "batch_size": 256, "grad_cosine_every": 0,
                  "affinity_every": 0, "threads": 1, "device": "cpu"},
        "baselines": baselines,
        "seeds": [0],
    })  # fmt: skip


def timed_run(store, cfg) -> tuple[float, float, dict]:
    """(CPU s, wall s, result summary) of one run executed here."""
    from mtlcore.runs import DONE, execute_run
    from mtlcore.runs._liveness import process_token

    [rid] = store.submit(cfg)
    assert store.claim(rid, process_token(), os.getpid())
    cpu, wall = time.process_time(), time.perf_counter()
    status = execute_run(store, rid)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    info = store.run(rid)
    if status != DONE:
        raise SystemExit(f"run {rid} ended {status}: {info.error}")
    return cpu, wall, info.result or {}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--append", action="store_true", help="append the table to bench/RESULTS.md")
    args = ap.parse_args()
    import torch

    from mtlcore.runs import RunStore
    from mtlcore.runs._worker import warm_up

    torch.set_num_threads(1)
    warm_up()  # lazy imports (torch._dynamo) paid once, as a worker does before its runs
    load = os.getloadavg()[0]
    started = datetime.now()
    # (weighting, baselines, the run without baselines it is compared with)
    ways = {
        "with baselines, cold cache (trained; equal)": ("equal", True, "equal"),
        "with baselines, another weighting (reused; uncertainty)": ("uncertainty", True,
                                                                    "uncertainty"),
        "without baselines (equal)": ("equal", False, "equal"),
        "without baselines (uncertainty)": ("uncertainty", False, "uncertainty"),
    }  # fmt: skip
    cpu: dict[str, list[float]] = {k: [] for k in ways}
    wall: dict[str, list[float]] = {k: [] for k in ways}
    with tempfile.TemporaryDirectory(prefix="bench-cache-") as tmp:
        csv = workload_csv(args.rows, Path(tmp))
        for r in range(args.repeats):
            store = RunStore(Path(tmp) / f"store{r}")  # a fresh store: a cold cache
            for name, (weighting, baselines, _) in ways.items():
                c, w, summary = timed_run(store, config(csv, args.epochs, weighting=weighting,
                                                        baselines=baselines))  # fmt: skip
                reused = (summary.get("baselines_by_seed") or {}).get("0", {}).get("reused")
                assert reused == ("reused" in name if baselines else None), (name, summary)
                cpu[name].append(c)
                wall[name].append(w)
                print(f"round {r + 1}: {name}: {c:.2f} s CPU, {w:.2f} s wall", file=sys.stderr)
    med = {k: (statistics.median(cpu[k]), statistics.median(wall[k])) for k in ways}
    base = {w: med[f"without baselines ({w})"] for w in ("equal", "uncertainty")}
    lines = [
        "## Baseline cache: whole runs with baselines trained, reused, and none "
        "(`bench_baseline_cache.py`)",
        "",
        f"{started:%Y-%m-%d %H:%M}. Machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"load {load:.1f} at start; Python {platform.python_version()}; 1 thread; median of "
        f"{args.repeats} interleaved rounds. Workload: issue 12's ({args.rows:,} rows × 20 "
        f"columns in a CSV, 3 tasks, trunk 20→64→64, heads 64→32→1, Adam, batch 256), "
        f"{args.epochs} epochs, one seed; each run through `execute_run` in one process "
        "(CSV read, prepare, training, evaluation, files), a fresh store per round.",
        "",
        f"`OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/bench_baseline_cache.py "
        f"--rows {args.rows} --epochs {args.epochs} --repeats {args.repeats}`:",
        "",
        "| run | CPU s | wall s | CPU / without baselines, same weighting | wall / the same |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, (_, _, against) in ways.items():
        (c, w), (c0, w0) = med[name], base[against]
        lines.append(f"| {name} | {c:.2f} | {w:.2f} | {c / c0:.2f} | {w / w0:.2f} |")
    table = "\n".join(lines) + "\n"
    print(table)
    if args.append:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as f:
            f.write("\n" + table)


if __name__ == "__main__":
    main()
