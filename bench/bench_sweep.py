"""A sweep's grid wall time on the local worker pool, against the same grid without
baseline reuse, measured in the same run.

The grid: strategies × weighting methods × seeds on the built-in synthetic dataset
(``--strategies``, ``--methods``, ``--seeds``, ``--epochs``). Two ways, each on a fresh
store and a fresh ``LocalExecutor`` of ``--workers`` warm workers (the pool the
dashboard and ``python -m mtlcore sweep`` use):

1. *sweep*: ``mtlcore.sweep.start_sweep``: each baseline trained once per seed and
   baseline group, reused by the other cells;
2. *no reuse*: every cell submitted as its own experiment with its own baselines (what
   one experiment at a time by hand did before the store's baseline cache). Each cell's
   ``train.lr`` is scaled by 1 + 1e-9 × (its index + 1): the same cost, another cache key,
   so the cache does not hand one cell's baselines to the next.

The two alternate ``--repeats`` times (the machine may be shared: alternating spreads
its load over both); reported are the medians of the wall time from submit to the last
run finished, the runs, the baselines trained (counted from the runs' results: each
seed's ``baselines_by_seed`` says whether it trained or reused them), the mean busy seconds
per run (wall time × workers / runs: what one more run costs the pool), the ratio of
the two, and from the per-run cost the wall time of a 100-cell × 5-seed grid on this
pool (an estimate on paper: runs × per-run seconds / workers).

3. *local Ray*: the runs of both ways (the sweep's, and each cell with its own
   baselines; in turn first) through ``mtlcore.runs.ray_backend.run_on_ray`` on a
   local Ray of ``--workers`` CPUs (skipped, with a line saying so, when the Ray extra
   is not installed, or with ``--no-ray``). Its start (``ray.init``, one warm-up task
   per CPU that imports torch and the engine, as the pool's workers do before they are
   ready, and one tiny run per CPU through ``run_on_ray``) is reported apart and not
   counted, like the pool's.

    .venv/bin/python bench/bench_sweep.py              # print the figures
    .venv/bin/python bench/bench_sweep.py --append     # and append them to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import importlib.util
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

from mtlcore.config import ExperimentConfig  # noqa: E402
from mtlcore.runs import DONE, LocalExecutor, RunStore  # noqa: E402
from mtlcore.sweep import Cell, Grid, start_sweep, sweep_from_mapping  # noqa: E402


def grid(args: argparse.Namespace) -> Grid:
    base = {
        "data": {"builtin": "synthetic", "options": {"n_rows": 600, "n_features": 8}},
        "model": {"hidden": [32, 16]},
        "train": {"epochs": args.epochs, "batch_size": 32},
    }
    axes = {"model.strategy": args.strategies.split(","),
            "weighting.method": args.methods.split(",")}  # fmt: skip
    seeds = list(range(args.seeds))
    return sweep_from_mapping({"name": "bench", "base": base, "axes": axes, "seeds": seeds})


def own_baselines(cell: Cell) -> ExperimentConfig:
    """The cell's config under a cache key of its own (see the module docstring)."""
    raw = cell.config.model_dump(mode="json")
    raw["train"]["lr"] *= 1 + 1e-9 * (cell.index + 1)
    return ExperimentConfig.parse(raw)


def trained(store: RunStore, ids: list[int]) -> int:
    """How many single-task baseline trainings the runs did (the rest reused them)."""
    return sum(not b["reused"] for i in ids
               for b in store.run(i).result["baselines_by_seed"].values())  # fmt: skip


def submit(store: RunStore, g: Grid, *, reuse: bool) -> list[int]:
    """Queue the grid's runs: as a sweep (reuse), or each cell with its own baselines."""
    if reuse:
        return start_sweep(store, g).submitted
    return [i for c in g.cells for i in store.submit(own_baselines(c), name=c.label)]


def timed(g: Grid, workers: int, *, reuse: bool) -> tuple[float, int, int]:
    """Wall seconds from submit to the last run done, the number of runs, and the
    baselines they trained."""
    with tempfile.TemporaryDirectory() as home:
        store = RunStore(home)
        with LocalExecutor(store, workers=workers, max_queued=10_000) as pool:
            pool.wait_ready(120)
            t0 = time.perf_counter()
            ids = submit(store, g, reuse=reuse)
            pool.wake()  # start_sweep queues into the store; the workers take them now
            while not all(store.run(i).is_finished for i in ids):
                time.sleep(0.2)
            wall = time.perf_counter() - t0
        bad = [i for i in ids if store.run(i).status != DONE]
        if bad:
            raise SystemExit(f"runs {bad} did not finish: {store.run(bad[0]).error}")
        return wall, len(ids), trained(store, ids)


def timed_ray(
    g: Grid, workers: int, *, reuse_first: bool
) -> tuple[dict[bool, tuple[float, int, int]], float]:
    """Both ways on one local Ray (``reuse_first``: the sweep first), each on a fresh store:
    per way (reuse or not) the wall seconds from submit to the last run done, the runs and
    the baselines they trained; and the seconds to start Ray and warm its workers (not
    counted)."""
    from mtlcore.runs.ray_backend import ray_session, run_on_ray

    out: dict[bool, tuple[float, int, int]] = {}
    t_start = time.perf_counter()
    with ray_session(num_cpus=workers) as ray:
        warm = ray.remote(num_cpus=1)(_warm_worker)
        ray.get([warm.remote() for _ in range(workers)])
        # and a tiny run per CPU through run_on_ray: a worker's first run task costs seconds
        # more than warm_up (8 s here), whichever way would come first
        with tempfile.TemporaryDirectory() as home:
            store = RunStore(home)
            run_on_ray(store, store.submit(ExperimentConfig.parse(TINY_RUN | {
                "seeds": list(range(workers))})))  # fmt: skip
        start = time.perf_counter() - t_start
        for reuse in (reuse_first, not reuse_first):
            with tempfile.TemporaryDirectory() as home:
                store = RunStore(home)
                t0 = time.perf_counter()
                ids = submit(store, g, reuse=reuse)
                ended = run_on_ray(store, ids)
                wall = time.perf_counter() - t0
                bad = [i for i, status in ended if status != DONE]
                if bad or len(ended) != len(ids):
                    raise SystemExit(f"Ray runs {bad} did not finish: {store.run(bad[0]).error}")
                out[reuse] = (wall, len(ids), trained(store, ids))
    return out, start


TINY_RUN = {"data": {"builtin": "synthetic", "options": {"n_rows": 40, "n_features": 4}},
            "model": {"hidden": [4]}, "train": {"epochs": 1, "batch_size": 16},
            "baselines": False}  # fmt: skip


def _warm_worker() -> None:
    """Import torch and the engine in a Ray worker (held a second so each CPU gets one)."""
    from mtlcore.runs._worker import warm_up

    warm_up()
    time.sleep(1.0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--strategies", default="hard,mmoe")
    p.add_argument("--methods", default="equal,uncertainty,dwa")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeats", type=int, default=2, help="alternating runs of each way")
    p.add_argument("--append", action="store_true", help="append the figures to RESULTS.md")
    p.add_argument("--no-ray", action="store_true", help="skip the local-Ray column")
    args = p.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    g = grid(args)
    sweeps, plains, rays = [], [], []
    use_ray = not args.no_ray and importlib.util.find_spec("ray") is not None
    for _ in range(args.repeats):
        sweeps.append(timed(g, args.workers, reuse=True))
        plains.append(timed(g, args.workers, reuse=False))
        if use_ray:  # the two ways in turn first
            rays.append(timed_ray(g, args.workers, reuse_first=len(rays) % 2 == 0))
    sweep_s, (_, sweep_runs, sweep_trained) = statistics.median(w for w, _, _ in sweeps), sweeps[0]
    plain_s, (_, plain_runs, plain_trained) = statistics.median(w for w, _, _ in plains), plains[0]
    per_run = sweep_s * args.workers / sweep_runs
    estimate = 100 * 5 * per_run / args.workers
    lines = [
        f"## Sweep grid on the local pool (`bench_sweep.py`), {len(g.cells)} cells × "
        f"{len(g.seeds)} seeds",
        "",
        f"{datetime.now():%Y-%m-%d}. Machine: `nproc` {os.cpu_count()}, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}; "
        f"{args.workers} workers. `python bench/bench_sweep.py --strategies {args.strategies} "
        f"--methods {args.methods} --seeds {args.seeds} --epochs {args.epochs} "
        f"--workers {args.workers} --repeats {args.repeats}` (medians of {args.repeats}, "
        "alternating)",
        "",
        "| way | runs | baselines trained | wall s | busy s per run |",
        "| --- | ---: | ---: | ---: | ---: |",
        f"| sweep (baselines reused) | {sweep_runs} | {sweep_trained} | {sweep_s:.1f} | "
        f"{per_run:.2f} |",
        f"| every cell its own baselines | {plain_runs} | {plain_trained} | "
        f"{plain_s:.1f} | {plain_s * args.workers / plain_runs:.2f} |",
        *_ray_rows(rays, args.workers, sweep_s),
        "",
        f"Ratio sweep / no reuse: {sweep_s / plain_s:.2f}. From the sweep's busy seconds per "
        f"run, a 100-cell × 5-seed grid of these runs on this pool: about "
        f"{estimate / 60:.0f} min ({estimate:.0f} s; 500 runs × {per_run:.2f} s / "
        f"{args.workers} workers), estimated, not measured.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.append:
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as f:
            f.write("\n" + text)


def _ray_rows(
    rays: list[tuple[dict[bool, tuple[float, int, int]], float]], workers: int, pool_s: float
) -> list[str]:
    """The local-Ray rows of the table, and a line on its start and its ratios."""
    if not rays:
        return ["", "Local Ray: not measured (the Ray extra is not installed, or --no-ray)."]
    walls = {
        reuse: statistics.median(ways[reuse][0] for ways, _ in rays) for reuse in (True, False)
    }
    start = statistics.median(s for _, s in rays)
    rows = []
    for reuse, way in ((True, "sweep on a local Ray"), (False, "its own baselines, local Ray")):
        _, runs, baselines = rays[0][0][reuse]
        rows.append(f"| {way} ({workers} CPUs) | {runs} | {baselines} | {walls[reuse]:.1f} | "
                    f"{walls[reuse] * workers / runs:.2f} |")  # fmt: skip
    return [
        *rows,
        "",
        f"Local Ray / local pool, same sweep: {walls[True] / pool_s:.2f}. On the local Ray, "
        f"sweep / no reuse: {walls[True] / walls[False]:.2f}. Ray's start (`ray.init`, a "
        f"warm-up task and a tiny run per CPU; one start per repeat serves both ways), not "
        f"counted above: "
        f"{start:.1f} s.",
    ]


if __name__ == "__main__":
    main()
