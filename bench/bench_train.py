"""Training cost: the trainer's step against hand-written loops, runs with and without
the single-task baselines, per-epoch evaluation; this tree against an older one.

Workload (issue 12; ``_workload.py`` of this tree builds it for every tree measured): one
table of ``--rows`` rows × 20 numeric columns, three tasks on it (two regression, one
binary), hard sharing with a trunk 20→64→64 and heads 64→32→1, Adam, batch 256, one thread. Every figure is CPU time of this process
(``time.process_time``), so other work on the machine slows it less than wall time;
each is the median of ``--repeats``, the trees measured in turn in separate processes; the
step figures (trainer and hand loops) are the best of ``--rounds`` interleaved rounds.

- trainer step: ``(train(2N steps) − train(N steps)) / N``, so start-up and the
  evaluations at epoch ends cancel, with the measurements off (the hand loops measure
  nothing; before 2026-11-30 22:30 this row kept task affinity every 25 steps, the
  config's default); with gradient cosines every 10 steps; and with the defaults
  (cosines every 10, task affinity every 25).
- hand loop: the same model and optimiser in a minimal loop, one batch shared by the
  three tasks (one trunk pass a step, what the trainer does since batch groups), and one
  batch per task (three trunk passes, what the trainer did before); with torch's default
  Adam (one kernel per parameter on a CPU) and with ``fused=True``, which the trainer uses
  (``foreach=True`` before ``mtlcore.train.ARITHMETIC`` 2).
- whole run: ``run_experiment`` for ``--epochs`` epochs, with and without baselines;
  the single-task training alone (``timings.stl_seconds``) against the multi-task one.
- evaluation: one epoch-end evaluation (validation loss and primary metric per task).

    .venv/bin/python bench/bench_train.py --base /tmp/base   # /tmp/base: git worktree of the old tree
    .venv/bin/python bench/bench_train.py --base /tmp/base --append   # and add to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, sys, time
import torch
torch.set_num_threads(1)
from mtlcore.config import ExperimentConfig, TrainConfig
from mtlcore.experiment import build, run_experiment
from mtlcore import train as T

rows, epochs, steps, rounds = map(int, sys.argv[1:5])
sys.path.append(sys.argv[5])  # this tree's bench/: the one table build, whichever tree is measured
from _workload import issue12_data
data = issue12_data(rows)
raw = {"data": {"builtin": "synthetic"}, "model": {"strategy": "hard", "hidden": [64, 64], "head_hidden": [32]},
       "weighting": {"method": "equal"},
       "train": {"epochs": epochs, "batch_size": 256, "lr": 1e-3, "optimizer": "adam", "grad_cosine_every": 0}}

def cfg(**train):
    c = json.loads(json.dumps(raw)); c["train"].update(train)
    if "steps" in train:
        del c["train"]["epochs"]
    return ExperimentConfig.parse(c)

def cpu(fn):
    t = time.process_time(); fn(); return time.process_time() - t

def trainer(n, every=0, affinity=0):
    c = cfg(steps=n, grad_cosine_every=every, affinity_every=affinity)
    model, w = build(c, data, 0)
    return cpu(lambda: T.train(model, w, data, c.train, seed=0, n_steps_per_epoch=10**9))

def hand(n, per_task, fused=None):
    c = cfg(); model, _ = build(c, data, 0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused)
    Xs = {t.name: torch.from_numpy(t.X["train"]) for t in data.tasks}
    Ys = {t.name: torch.from_numpy(t.y["train"]) for t in data.tasks}
    names = [t.name for t in data.tasks]
    m = len(Xs["r1"])
    def loop():
        g = torch.Generator().manual_seed(0)
        for _ in range(n):
            if per_task:
                idx = {k: torch.randint(m, (256,), generator=g) for k in names}
                out = model({k: Xs[k][idx[k]] for k in names}).outputs
            else:
                i = torch.randint(m, (256,), generator=g)
                z = model.trunk(next(iter(model.encoders.values()))(Xs["r1"][i]))
                out = {k: model.heads[k](z) for k in names}; idx = {k: i for k in names}
            loss = (torch.nn.functional.mse_loss(out["r1"].squeeze(-1), Ys["r1"][idx["r1"]])
                    + torch.nn.functional.mse_loss(out["r2"].squeeze(-1), Ys["r2"][idx["r2"]])
                    + torch.nn.functional.binary_cross_entropy_with_logits(out["b"].squeeze(-1), Ys["b"][idx["b"]]))
            opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    return cpu(loop)

def run(baselines):
    c = cfg(); c.baselines = baselines
    out = {}
    def go():
        out["r"] = run_experiment(c, data=data)[0]
    total = cpu(go)
    return total, out["r"]["timings"]

def evaluation():
    c = cfg(); model, w = build(c, data, 0)
    Xv = {t.name: torch.from_numpy(t.X["val"]) for t in data.tasks}
    Yv = {t.name: torch.from_numpy(t.y["val"]) for t in data.tasks}
    w3 = torch.ones(3)
    return cpu(lambda: [T._epoch_rows(model, data, Xv, Yv, w3, w3, 1, "mtl", 1e-3) for _ in range(5)]) / 5

t = time.process_time(); torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))]); first_adam = time.process_time() - t
hand(20, False)  # warm the allocator and the lazy imports of a first training
trainer(20)
r = {"first_adam_s": first_adam}
# The step figures interleaved, best of `rounds`: on a shared machine the least-disturbed
# round is the closest to each loop's own cost, and interleaving exposes both to the same load.
best = {}
for _ in range(rounds):
    for key, fn in (("step_ms", lambda: (trainer(2 * steps) - trainer(steps))),
                    ("hand_ms", lambda: hand(steps, False)),
                    ("step_cos_ms", lambda: (trainer(2 * steps, 10) - trainer(steps, 10))),
                    ("step_defaults_ms", lambda: (trainer(2 * steps, 10, 25) - trainer(steps, 10, 25))),
                    ("hand_per_task_ms", lambda: hand(steps, True)),
                    ("hand_fused_ms", lambda: hand(steps, False, True))):
        best[key] = min(best.get(key, float("inf")), fn() / steps * 1e3)
r.update(best)
r["eval_ms"] = evaluation() * 1e3
r["run_without_s"], _ = run(False)
r["run_with_s"], tm = run(True)
r["mtl_s"], r["stl_s"] = tm["mtl_seconds"], tm["stl_seconds"]
print("RESULT " + json.dumps(r))
"""

FIGURES = [
    ("trainer step (ms)", "step_ms"),
    ("trainer step, grad cosine every 10 (ms)", "step_cos_ms"),
    ("trainer step, the defaults: cosine every 10, affinity every 25 (ms)", "step_defaults_ms"),
    ("hand loop, one shared batch (ms/step)", "hand_ms"),
    ("hand loop, one batch per task (ms/step)", "hand_per_task_ms"),
    ("hand loop, one shared batch, fused Adam (ms/step)", "hand_fused_ms"),
    ("trainer step / hand loop", "step_vs_hand"),
    ("trainer step / hand loop with fused Adam", "step_vs_hand_fused"),
    ("trainer step / hand loop with per-task batches", "step_vs_hand_per_task"),
    ("one epoch-end evaluation (ms)", "eval_ms"),
    ("whole run without baselines (s)", "run_without_s"),
    ("whole run with baselines (s)", "run_with_s"),
    ("whole run with / without baselines", "run_ratio"),
    ("single-task training / multi-task training", "stl_vs_mtl"),
    ("first Adam(...) in a process (torch._dynamo import, s)", "first_adam_s"),
]


def measure(tree: Path, rows: int, epochs: int, steps: int, rounds: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(rows), str(epochs), str(steps), str(rounds),
         str(ROOT / "bench")],
        env=env, cwd=tree, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode:
        sys.exit(f"{tree}: the measurement failed:\n{out.stderr[-3000:]}")
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RESULT "))
    r = json.loads(line[len("RESULT ") :])
    r["step_vs_hand"] = r["step_ms"] / r["hand_ms"]
    r["step_vs_hand_fused"] = r["step_ms"] / r["hand_fused_ms"]
    r["step_vs_hand_per_task"] = r["step_ms"] / r["hand_per_task_ms"]
    r["run_ratio"] = r["run_with_s"] / r["run_without_s"]
    r["stl_vs_mtl"] = r["stl_s"] / r["mtl_s"]
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", type=Path, help="an older tree (git worktree) to measure beside")
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the step figures")
    ap.add_argument("--append", action="store_true", help="append the table to bench/RESULTS.md")
    args = ap.parse_args()
    trees = {"this tree": ROOT, **({"base": args.base} if args.base else {})}
    load = os.getloadavg()[0]
    samples: dict[str, list[dict[str, float]]] = {k: [] for k in trees}
    for _ in range(args.repeats):
        for name, tree in trees.items():
            samples[name].append(measure(tree, args.rows, args.epochs, args.steps, args.rounds))
    med = {
        n: {k: statistics.median(s[k] for s in runs) for k in runs[0]}
        for n, runs in samples.items()
    }
    head = "| what | " + " | ".join(trees) + (" | this / base |" if args.base else " |")
    lines = [head, "|" + " --- |" * (len(trees) + 1 + bool(args.base))]
    for label, key in FIGURES:
        cells = [f"{med[n][key]:.3g}" for n in trees]
        if args.base:
            cells.append(f"{med['this tree'][key] / med['base'][key]:.2f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    intro = (
        f"{when}. Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load {load:.1f} at start; Python {platform.python_version()}; 1 thread; CPU time, "
        f"median of {args.repeats} (step figures: best of {args.rounds} interleaved rounds). "
        f"Workload: {args.rows:,} rows × 20 columns, 3 tasks "
        f"(2 regression, 1 binary), trunk 20→64→64, heads 64→32→1, Adam, batch 256; "
        f"steps {args.steps}/{2 * args.steps}, whole runs of {args.epochs} epochs."
    )
    cmd = "`.venv/bin/python bench/bench_train.py " + " ".join(sys.argv[1:]) + "`"
    text = "\n".join([intro, "", cmd + ":", "", *lines])
    print(text)
    if args.append:
        with open(ROOT / "bench" / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
