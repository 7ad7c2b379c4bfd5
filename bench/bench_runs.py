"""The run store and the local executor: start latency, logging overhead, store throughput.

Three measurements, in one run so the ratios compare like with like:

1. Latency: with a warm worker (``LocalExecutor``, one worker), the time from
   ``submit`` to the run being claimed (``running``) and to its first metric row
   being readable, over ``--submits`` tiny runs; also how long a new executor's
   worker takes to get ready, and a replacement worker after a SIGKILL.
2. Logging overhead: the same config trained in this process by ``run_experiment``
   without a callback and with the store's :class:`RunRecorder` (batched metric
   rows, progress, snapshots as npz), alternating, ``--repeats`` times each;
   medians of wall and CPU time and their ratio. The config logs heavily: gradient
   cosines at every step and a snapshot every 5 epochs.
3. Store throughput: metric rows written in batches of 500 by one process and by
   four processes at once (every row checked afterwards), and read back whole and
   by polling (``after=``).

    .venv/bin/python bench/bench_runs.py            # print the figures
    .venv/bin/python bench/bench_runs.py --append   # and append them to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mtlcore.config import ExperimentConfig  # noqa: E402
from mtlcore.runs import LocalExecutor, RunRecorder, RunStore  # noqa: E402
from mtlcore.runs._liveness import process_token  # noqa: E402

TINY = {
    "data": {"builtin": "houses"},
    "model": {"hidden": [8, 8]},
    "train": {"epochs": 3, "grad_cosine_every": 10},
}
HEAVY_LOGGING = {
    "data": {"builtin": "houses"},
    "model": {"hidden": [64, 32]},
    "train": {"epochs": 20, "batch_size": 32, "grad_cosine_every": 1, "snapshot_every": 5},
}

WRITER = """
import sys, time
from mtlcore.runs import RunStore
home, run_id, n_rows, batch = sys.argv[1], *map(int, sys.argv[2:])
store = RunStore(home)
t0 = time.time()
for start in range(0, n_rows, batch):
    store.record(run_id, [(i, 1, "mtl", "t", "train", "loss", float(i))
                          for i in range(start, min(n_rows, start + batch))])
print(t0, time.time())
"""


def wait(predicate, timeout: float = 120.0, poll: float = 0.002) -> float:
    """Seconds until predicate() is true (polling every `poll` s)."""
    t0 = time.perf_counter()
    while not predicate():
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the run did not get there in time")
        time.sleep(poll)
    return time.perf_counter() - t0


def latency(home: Path, submits: int) -> dict[str, float]:
    store = RunStore(home)
    config = ExperimentConfig.parse(TINY)
    t0 = time.perf_counter()
    ex = LocalExecutor(store, workers=1)
    try:
        ex.wait_ready(300)
        out = {"worker_ready_s": time.perf_counter() - t0}
        to_running, to_row = [], []
        for _ in range(submits):
            t0 = time.perf_counter()
            [rid] = ex.submit(config)
            wait(lambda rid=rid: store.run(rid).status != "queued")
            to_running.append(time.perf_counter() - t0)
            wait(lambda rid=rid: bool(store.metrics(rid)))
            to_row.append(time.perf_counter() - t0)
            wait(lambda rid=rid: store.run(rid).is_finished)
        out["submit_to_running_s"] = statistics.median(to_running)
        out["submit_to_first_row_s"] = statistics.median(to_row)
        out["submit_to_first_row_max_s"] = max(to_row)
        # A replacement after SIGKILL: from the kill to the new worker's first metric row.
        long = ExperimentConfig.parse({**TINY, "train": {"epochs": 5000}, "baselines": False})
        [rid] = ex.submit(long)
        wait(lambda: store.run(rid).step > 0)
        t0 = time.perf_counter()
        os.kill(store.run(rid).worker_pid, signal.SIGKILL)
        wait(lambda: store.run(rid).status == "failed")
        [nxt] = ex.submit(config)
        wait(lambda: bool(store.metrics(nxt)))
        out["sigkill_to_next_first_row_s"] = time.perf_counter() - t0
        wait(lambda: store.run(nxt).is_finished)
    finally:
        ex.shutdown()
    return out


def overhead(home: Path, repeats: int) -> dict[str, float]:
    from mtlcore.experiment import prepare_data, run_experiment
    from mtlcore.train import configure_torch

    configure_torch(1)
    store = RunStore(home)
    config = ExperimentConfig.parse(HEAVY_LOGGING)
    data = prepare_data(config)
    run_experiment(config, data=data)  # warm-up: lazy imports, allocator
    plain_wall, plain_cpu, logged_wall, logged_cpu, rows = [], [], [], [], 0
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        run_experiment(config, data=data)
        plain_wall.append(time.perf_counter() - w)
        plain_cpu.append(time.process_time() - c)

        [rid] = store.submit(config)
        store.claim(rid, process_token(), os.getpid())
        recorder = RunRecorder(store, rid)
        w, c = time.perf_counter(), time.process_time()
        run_experiment(config, recorder, data=data)
        recorder.flush()
        logged_wall.append(time.perf_counter() - w)
        logged_cpu.append(time.process_time() - c)
        rows = recorder.rows_written
        store.finish(rid, "done")
    pw, pc = statistics.median(plain_wall), statistics.median(plain_cpu)
    lw, lc = statistics.median(logged_wall), statistics.median(logged_cpu)
    return {
        "plain_wall_s": pw,
        "logged_wall_s": lw,
        "wall_ratio": lw / pw,
        "plain_cpu_s": pc,
        "logged_cpu_s": lc,
        "cpu_ratio": lc / pc,
        "rows_per_run": rows,
        "snapshots_per_run": len(store.snapshots(rid)),
    }


def throughput(home: Path, n_rows: int, batch: int = 500) -> dict[str, float]:
    store = RunStore(home)
    config = ExperimentConfig.parse(TINY)
    [rid] = store.submit(config)
    t0 = time.perf_counter()
    for start in range(0, n_rows, batch):
        store.record(rid, [(i, 1, "mtl", "t", "train", "loss", float(i))
                           for i in range(start, min(n_rows, start + batch))])  # fmt: skip
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    rows = store.metrics(rid)
    read_s = time.perf_counter() - t0
    assert len(rows) == n_rows
    t0 = time.perf_counter()
    tail = store.metrics(rid, after=rows[-200].id)
    poll_s = time.perf_counter() - t0
    assert len(tail) == 199

    n_proc, per_proc = 4, n_rows // 4
    ids = [store.submit(config)[0] for _ in range(n_proc)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-c", WRITER, str(home)]
    procs = [subprocess.Popen([*cmd, str(i), str(per_proc), str(batch)], env=env,
                              stdout=subprocess.PIPE, text=True) for i in ids]  # fmt: skip
    spans = [tuple(map(float, p.communicate()[0].split())) for p in procs]
    assert [p.returncode for p in procs] == [0] * n_proc
    # From the first writer's first row to the last writer's last: the time they overlap.
    concurrent_s = max(end for _, end in spans) - min(start for start, _ in spans)
    for i in ids:
        assert [m.value for m in store.metrics(i)] == [float(v) for v in range(per_proc)]
    return {
        "rows": n_rows,
        "write_rows_per_s": n_rows / write_s,
        "read_rows_per_s": n_rows / read_s,
        "poll_200_rows_ms": poll_s * 1000,
        "concurrent_writers": n_proc,
        "concurrent_rows_per_s": n_proc * per_proc / concurrent_s,
    }


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores, load {load:.1f} at start; {platform.system()} "
            f"{platform.release()}; Python {platform.python_version()}")  # fmt: skip


def report(lat: dict, ovh: dict, thr: dict, args: argparse.Namespace) -> str:
    import torch

    command = " ".join(["bench/bench_runs.py", *(a for a in sys.argv[1:] if a != "--append")])
    return "\n".join([
        "## Runs in the background: start latency, logging overhead, store throughput "
        "(`bench_runs.py`)",
        "",
        f"{datetime.now():%Y-%m-%d %H:%M}. Machine: {machine()}; torch {torch.__version__} "
        "on 1 thread. Wall-clock figures, so they include whatever else the machine did.",
        "",
        f"`.venv/bin/python {command}`:",
        "",
        "| what | figure |",
        "| --- | --- |",
        f"| new executor: worker ready (forkserver start + torch import + warm-up) | {lat['worker_ready_s']:.2f} s |",
        f"| submit -> run claimed (`running`), median of {args.submits} | {lat['submit_to_running_s'] * 1000:.0f} ms |",
        f"| submit -> first metric row readable, median (max) of {args.submits} | {lat['submit_to_first_row_s'] * 1000:.0f} ms ({lat['submit_to_first_row_max_s'] * 1000:.0f} ms) |",
        f"| SIGKILL of a worker -> next run's first metric row | {lat['sigkill_to_next_first_row_s']:.2f} s |",
        f"| training without the store, median of {args.repeats} (wall / CPU) | {ovh['plain_wall_s']:.2f} s / {ovh['plain_cpu_s']:.2f} s |",
        f"| same training logged to the store ({ovh['rows_per_run']} rows, {ovh['snapshots_per_run']} snapshots) | {ovh['logged_wall_s']:.2f} s / {ovh['logged_cpu_s']:.2f} s |",
        f"| logging overhead: logged / plain (wall / CPU) | {ovh['wall_ratio']:.3f} / {ovh['cpu_ratio']:.3f} |",
        f"| store write, one process, batches of 500 | {thr['write_rows_per_s']:,.0f} rows/s |",
        f"| store write, {thr['concurrent_writers']} processes at once (all rows checked) | {thr['concurrent_rows_per_s']:,.0f} rows/s |",
        f"| store read, {thr['rows']:,} rows of one run | {thr['read_rows_per_s']:,.0f} rows/s |",
        f"| poll the newest 200 rows (`metrics(after=...)`) | {thr['poll_200_rows_ms']:.1f} ms |",
        "",
        "Reading them: the first metric row of a run is readable about a tenth of a second "
        "after submit (data preparation, the first training step, one write); a warm worker "
        "is what makes that possible, as a fresh one needs seconds. Logging costs one short "
        "transaction about twice a second, so a ratio within a few percent of 1.00 is the "
        "noise of a shared machine. Training writes at most a few thousand rows a second, "
        "two orders of magnitude below what the store takes, even with writers in parallel.",
        "",
    ])  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submits", type=int, default=5, help="tiny runs for the latency")
    parser.add_argument("--repeats", type=int, default=3, help="runs per arm for the overhead")
    parser.add_argument("--rows", type=int, default=100_000, help="rows for the throughput")
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_runs_") as tmp:
        tmp_path = Path(tmp)
        lat = latency(tmp_path / "latency", args.submits)
        ovh = overhead(tmp_path / "overhead", args.repeats)
        thr = throughput(tmp_path / "throughput", args.rows)
    text = report(lat, ovh, thr, args)
    print(text)
    if args.append:
        results = Path(__file__).resolve().parent / "RESULTS.md"
        if not results.exists():
            results.write_text("# Benchmark results\n\nSections appended by the bench/ scripts.\n")
        with results.open("a", encoding="utf-8") as fh:
            fh.write("\n" + text)
        print(f"appended to {results}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
