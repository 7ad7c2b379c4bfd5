"""Per-step cost of every weighting method, relative to plain summed losses (``equal``).

Every method trains the same hard-sharing model on the same hand-made data (tasks
in two tables with different columns, so the tasks read different batches), with
the training loop's own step: forward every task's batch, the task losses,
``weighting.backward``, ``optimizer.step``. One process, torch on one thread;
after a warm-up, the methods take turns in rounds of ``--steps`` steps so that
drift in the machine's speed hits them alike, and each method's time is the median
over ``--repeats`` rounds. Time is the process's CPU time by default (``--clock
cpu``): on one thread it equals wall time on an idle machine, and unlike wall time
it is not inflated when other processes share the cores; ``--clock wall`` measures
wall time.

    .venv/bin/python bench/bench_weighting.py            # 3 tasks, hidden 64,32, batch 64
    .venv/bin/python bench/bench_weighting.py --tasks 6 --hidden 256,128
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from importlib.util import find_spec
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from mtlcore.config import TrainConfig  # noqa: E402
from mtlcore.data.prepare import PreparedData, prepare  # noqa: E402
from mtlcore.data.spec import Dataset, TaskSpec  # noqa: E402
from mtlcore.models import Architecture, ModelTask, build_model  # noqa: E402
from mtlcore.train import BatchStream, configure_torch, make_optimizer, task_loss  # noqa: E402
from mtlcore.weighting import METHODS, StepContext, WeightingTask, build_weighting  # noqa: E402


def synthetic_data(n_tasks: int, rows: int, seed: int = 0) -> PreparedData:
    """n_tasks tasks over two tables (different columns); every third task is binary."""
    rng = np.random.default_rng(seed)
    tables = {
        "a": pd.DataFrame(rng.normal(size=(rows, 8)), columns=[f"a{i}" for i in range(8)]),
        "b": pd.DataFrame(rng.normal(size=(rows, 6)), columns=[f"b{i}" for i in range(6)]),
    }
    specs = []
    for k in range(n_tasks):
        name, table = f"t{k}", "ab"[k % 2]
        df = tables[table]
        x = df.to_numpy() @ rng.normal(size=df.shape[1])
        y = np.sin(x) + 0.1 * rng.normal(size=rows)
        binary = k % 3 == 2
        df[name] = (y > 0).astype(int) if binary else y
        inputs = tuple(c for c in df.columns if not c.startswith("t"))
        specs.append(TaskSpec(name, table, name, "binary" if binary else "regression", inputs))
    return prepare(Dataset("bench", "", tables, specs), specs)


def time_method(method, data, arch, cfg, warmup: int, clock=time.process_time):
    """A closure that runs n training steps of ``method`` and returns the seconds taken."""
    tasks = [ModelTask(t.name, t.input_group, t.X["train"].shape[1], t.out_dim) for t in data.tasks]
    model = build_model("hard", tasks, arch, 0).train()
    weighting = build_weighting(method, [WeightingTask(t.name, t.kind) for t in data.tasks])
    optimizer = make_optimizer(list(model.parameters()), cfg, list(weighting.parameters()))
    X = {t.name: torch.from_numpy(t.X["train"]) for t in data.tasks}
    Y = {t.name: torch.from_numpy(t.y["train"]) for t in data.tasks}
    streams = {
        t.name: BatchStream(t.n_rows("train"), cfg.batch_size, 0, t.name) for t in data.tasks
    }
    step = 0

    def run(n: int) -> float:
        nonlocal step
        started = clock()
        for _ in range(n):
            step += 1
            idx = {k: s.next() for k, s in streams.items()}
            out = model({k: X[k][i] for k, i in idx.items()})
            losses = torch.stack(
                [task_loss(t, out.outputs[t.name], Y[t.name][idx[t.name]]) for t in data.tasks]
            )
            optimizer.zero_grad(set_to_none=True)
            weighting.backward(losses, StepContext(model, step, 1))
            optimizer.step()
        return clock() - started

    run(warmup)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=3)
    parser.add_argument("--hidden", default="64,32", help="hidden layer sizes, comma-separated")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rows", type=int, default=2000, help="training rows per table")
    parser.add_argument("--steps", type=int, default=20, help="steps per timed round")
    parser.add_argument("--repeats", type=int, default=11, help="timed rounds per method")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--clock", choices=["cpu", "wall"], default="cpu")
    args = parser.parse_args()

    configure_torch(1)
    arch = Architecture(hidden=tuple(int(h) for h in args.hidden.split(",")))
    cfg = TrainConfig(batch_size=args.batch, lr=1e-3, optimizer="adam")
    data = synthetic_data(args.tasks, args.rows)
    methods = [m for m in METHODS if m != "nash_mtl" or find_spec("ecos") is not None]
    skipped = sorted(set(METHODS) - set(methods))

    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    runners = {m: time_method(m, data, arch, cfg, args.warmup, clock) for m in methods}
    times: dict[str, list[float]] = {m: [] for m in methods}
    for _ in range(args.repeats):
        for m in methods:
            times[m].append(runners[m](args.steps) / args.steps * 1000)

    base = statistics.median(times["equal"])
    print(
        f"# {args.tasks} tasks, hard sharing, hidden {args.hidden}, batch {args.batch}, "
        f"torch {torch.__version__} on 1 thread, python {platform.python_version()}; "
        f"{args.clock} time, median of {args.repeats} rounds of {args.steps} steps"
    )
    print(f"| {'method':<12} | {'ms/step':>8} | {'× equal':>8} |")
    print(f"| {'-' * 12} | {'-' * 8}:| {'-' * 8}:|")
    for m in methods:
        ms = statistics.median(times[m])
        print(f"| {m:<12} | {ms:>8.2f} | {ms / base:>8.2f} |")
    if skipped:
        print(f"not measured (missing optional dependency): {', '.join(skipped)}")


if __name__ == "__main__":
    main()
