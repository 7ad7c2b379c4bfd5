"""Gradient methods: our training step against torchjd's own loop, same model and batches.

Workload (issue 12): one table of ``--rows`` rows × 20 numeric columns, three tasks on
it (two regression, one binary), hard sharing (trunk 20→64→64, heads 64→32→1), Adam,
batch 256, one thread, CPU time of this process.

- ours: :func:`mtlcore.train.train` with ``weighting.method`` = the method, two epochs
  of N steps; per step, the CPU time from the end of epoch 1 to the end of epoch 2 (read
  in the training's callback) / N: N steps and one epoch-end evaluation, which counts
  against us (the earlier ``(train(2N) − train(N)) / N`` moved by ±2 ms a step at
  N = 100 with the noise of start-up and evaluations);
- torchjd's loop, as its documentation writes it: one forward pass, the losses,
  ``torchjd.autojac.mtl_backward(losses, features)`` (the Jacobian of the losses on the
  shared parameters through the shared features, each head's own gradient), then
  ``jac_to_grad(shared parameters, aggregator)`` and the optimiser step; the batch
  indices drawn as the trainer draws them (one shared batch a step); the CPU time of its
  N steps / N (the clock starts after the model is built and the warm-up has paid the
  lazy imports; the earlier ``(loop(2N) − loop(N)) / N`` is a difference of two noisy
  samples and once read 1.1 ms for a step that takes 6–8).

The aggregators are torchjd's own (``PCGrad``, ``UPGrad``, ``MGDA``, ``CAGrad(c=0.4)``);
ours reach the same ones through ``mtlcore.weighting`` (three tasks: no two-task closed
form; UPGrad's projections hand the same programs to quadprog directly, without
qpsolvers, the same weights). Each figure is the best of ``--rounds`` interleaved
rounds.

    .venv/bin/python bench/bench_torchjd.py [--rows 100000] [--steps 200] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

METHODS = ("pcgrad", "upgrad", "mgda", "cagrad")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F
    from _workload import issue12_data
    from torchjd.aggregation import MGDA, PCGrad, UPGrad
    from torchjd.aggregation import CAGrad as TorchjdCAGrad
    from torchjd.autojac import jac_to_grad, mtl_backward

    from mtlcore.config import ExperimentConfig
    from mtlcore.experiment import build
    from mtlcore.train import BatchStream, batch_key, configure_torch, train

    configure_torch(1)
    load = os.getloadavg()[0]
    data = issue12_data(args.rows)
    aggregators = {"pcgrad": PCGrad, "upgrad": UPGrad, "mgda": MGDA,
                   "cagrad": lambda: TorchjdCAGrad(c=0.4)}  # fmt: skip

    def config(method: str, steps: int) -> ExperimentConfig:
        return ExperimentConfig.parse({
            "data": {"builtin": "synthetic"},
            "model": {"strategy": "hard", "hidden": [64, 64], "head_hidden": [32]},
            "weighting": {"method": method},
            "train": {"steps": steps, "batch_size": 256, "lr": 1e-3, "optimizer": "adam",
                      "grad_cosine_every": 0, "affinity_every": 0, "snapshot_every": 0},
        })  # fmt: skip

    def ours(method: str, steps: int) -> float:
        """CPU seconds of ``steps`` steps (epoch 2) and one epoch-end evaluation."""
        c = config(method, 2 * steps)
        model, weighting = build(c, data, 0)
        ends: dict[int, float] = {}

        def callback(event) -> None:
            if event.kind == "epoch":
                ends[event.epoch] = time.process_time()

        train(model, weighting, data, c.train, seed=0, n_steps_per_epoch=steps, callback=callback)
        return ends[2] - ends[1]

    def torchjd_loop(method: str, steps: int) -> float:
        c = config("equal", steps)
        model, _ = build(c, data, 0)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x = torch.from_numpy(data.tasks[0].X["train"])
        ys = [torch.from_numpy(t.y["train"]) for t in data.tasks]
        stream = BatchStream(len(x), 256, 0, batch_key(data.tasks[0]))
        encoder = next(iter(model.encoders.values()))
        heads = [model.heads[model.keys[t.name]] for t in data.tasks]
        shared = list(encoder.parameters()) + list(model.trunk.parameters())
        aggregator = aggregators[method]()
        t = time.process_time()
        for _ in range(steps):
            i = stream.next()
            z = model.trunk(encoder(x[i]))
            out = [h(z).squeeze(-1) for h in heads]
            losses = [F.mse_loss(out[0], ys[0][i]), F.mse_loss(out[1], ys[1][i]),
                      F.binary_cross_entropy_with_logits(out[2], ys[2][i])]  # fmt: skip
            opt.zero_grad(set_to_none=True)
            mtl_backward(losses, features=z)
            jac_to_grad(shared, aggregator)
            opt.step()
        return time.process_time() - t

    for method in METHODS:  # warm-up: lazy imports, the first optimiser, the solvers
        ours(method, 3), torchjd_loop(method, 5)
    best: dict[tuple[str, str], float] = {}
    for _ in range(args.rounds):
        for method in METHODS:
            n = args.steps
            samples = {
                "ours": ours(method, n) / n,
                "torchjd": torchjd_loop(method, n) / n,
            }
            for side, seconds in samples.items():
                best[(method, side)] = min(best.get((method, side), float("inf")), seconds)
    print(
        f"{datetime.now():%Y-%m-%d %H:%M}. Machine: {platform.machine()}, {os.cpu_count()} "
        f"cores, load {load:.1f} at start; torch {torch.__version__}, 1 thread; CPU time per "
        f"step, best of {args.rounds} interleaved rounds of {args.steps} steps; "
        f"{args.rows:,} rows × 20 columns, 3 tasks, batch 256.\n"
    )
    print("| method | ours (ms/step) | torchjd's loop (ms/step) | ours / torchjd |")
    print("| --- | --- | --- | --- |")
    for method in METHODS:
        o, j = best[(method, "ours")] * 1e3, best[(method, "torchjd")] * 1e3
        print(f"| {method} | {o:.2f} | {j:.2f} | {o / j:.2f} |")


if __name__ == "__main__":
    main()
