"""Epoch cost against DeepCTR-Torch 0.3.0's multi-task models, parameter-matched.

Workload (issue 12): one table of ``--rows`` rows × 20 numeric columns, three tasks on
it (two regression, one binary); the training split (70 % of the rows) for one epoch at
batch 256 with Adam (lr 1e-3), one thread, CPU time of this process.

- Shared bottom: ours ``hard`` with hidden 20→64→64 and heads 64→32→1; DeepCTR's
  ``SharedBottom(bottom_dnn_hidden_units=(64, 64), tower_dnn_hidden_units=(32,))``.
- MMoE: ours ``mmoe`` with 3 experts 20→64→64, a linear gate per task and heads
  64→32→1; DeepCTR's ``MMOE(num_experts=3, expert_dnn_hidden_units=(64, 64),
  gate_dnn_hidden_units=(), tower_dnn_hidden_units=(32,))``.

Both sides' parameter counts are printed (DeepCTR adds a per-task bias and, for the
gates, nothing else). Our epoch is the CPU time from the end of epoch 1 to the end of epoch 2
(read in the training callback), so it includes
one epoch-end evaluation on the validation split (DeepCTR's ``fit`` without validation
data has none); DeepCTR's is ``fit(epochs=1)``. Each figure is the best of ``--rounds``
interleaved rounds (the least-disturbed round on a shared machine).

DeepCTR-Torch is a bench-only dependency and is not in the requirements:

    .venv/bin/pip install --no-deps deepctr-torch==0.3.0 tqdm
    .venv/bin/python bench/bench_deepctr.py [--rows 100000] [--rounds 3]

It imports ``requests`` without declaring it and asks the package index for its latest
version in a thread at import; a stub ``requests`` stands in for it here (no network, no
time in the figures).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import sys
import time
import types
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def stub_requests() -> None:
    """A ``requests`` that answers every GET with a non-OK status, so DeepCTR's version
    check thread ends at once without the network."""
    stub = types.ModuleType("requests")
    stub.codes = types.SimpleNamespace(ok=200)
    stub.get = lambda *a, **k: types.SimpleNamespace(status_code=0, text="")
    sys.modules.setdefault("requests", stub)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    import numpy as np
    import torch

    stub_requests()
    try:
        from deepctr_torch.inputs import DenseFeat
        from deepctr_torch.models.multitask import MMOE, SharedBottom
    except ImportError:
        sys.exit(
            "DeepCTR-Torch is missing: .venv/bin/pip install --no-deps deepctr-torch==0.3.0 tqdm"
        )

    from _workload import issue12_data

    from mtlcore.config import ExperimentConfig
    from mtlcore.experiment import build
    from mtlcore.train import configure_torch, train

    configure_torch(1)
    load = os.getloadavg()[0]
    data = issue12_data(args.rows)
    train_x = data.tasks[0].X["train"]
    train_y = np.stack([t.y["train"] for t in data.tasks], axis=1).astype(np.float32)
    features = [DenseFeat(f"x{i}", 1) for i in range(20)]
    feed = {f"x{i}": train_x[:, i] for i in range(20)}
    kinds = ("regression", "regression", "binary")

    def config(strategy: str, epochs: int) -> ExperimentConfig:
        model = {"strategy": strategy, "hidden": [64, 64], "head_hidden": [32]}
        if strategy == "mmoe":
            model["options"] = {"n_experts": 3}
        return ExperimentConfig.parse({
            "data": {"builtin": "synthetic"}, "model": model, "weighting": {"method": "equal"},
            "train": {"epochs": epochs, "batch_size": 256, "lr": 1e-3, "optimizer": "adam",
                      "grad_cosine_every": 0, "affinity_every": 0, "snapshot_every": 0},
        })  # fmt: skip

    def ours(strategy: str) -> tuple[float, int]:
        """The CPU time between the ends of epochs 1 and 2 (an epoch's steps and its
        epoch-end evaluation), read in the training's own callback."""
        c = config(strategy, 2)
        model, weighting = build(c, data, 0)
        ends: list[float] = []

        def at_epoch(event) -> None:
            if event.kind == "epoch":
                ends.append(time.process_time())

        train(model, weighting, data, c.train, seed=0, callback=at_epoch)
        return ends[2] - ends[1], sum(p.numel() for p in model.parameters())

    def theirs(strategy: str) -> tuple[float, int]:
        common = {"task_types": kinds, "task_names": ("r1", "r2", "b"), "device": "cpu",
                  "tower_dnn_hidden_units": (32,)}  # fmt: skip
        with contextlib.redirect_stdout(io.StringIO()):
            model = build_theirs(strategy, common)
        model.compile("adam", loss=["mse", "mse", "binary_crossentropy"])
        t = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            model.fit(feed, train_y, batch_size=256, epochs=1, verbose=0)
        return time.process_time() - t, sum(p.numel() for p in model.parameters())

    def build_theirs(strategy: str, common: dict):
        if strategy == "hard":
            return SharedBottom(features, bottom_dnn_hidden_units=(64, 64), **common)
        return MMOE(features, num_experts=3, expert_dnn_hidden_units=(64, 64),
                    gate_dnn_hidden_units=(), **common)  # fmt: skip

    with contextlib.redirect_stdout(io.StringIO()):  # DeepCTR prints the device and a line a fit
        ours("hard"), theirs("hard")  # warm-up: lazy imports, the first optimiser, allocator
    best: dict[tuple[str, str], float] = {}
    params: dict[tuple[str, str], int] = {}
    for _ in range(args.rounds):
        for strategy in ("hard", "mmoe"):
            for side, fn in (("ours", ours), ("DeepCTR", theirs)):
                seconds, n = fn(strategy)
                key = (strategy, side)
                best[key] = min(best.get(key, float("inf")), seconds)
                params[key] = n
    lines = ["| model | ours (s/epoch) | DeepCTR-Torch (s/epoch) | DeepCTR / ours | parameters ours / DeepCTR |",
             "| --- | --- | --- | --- | --- |"]  # fmt: skip
    for strategy, name in (("hard", "shared bottom"), ("mmoe", "MMoE, 3 experts")):
        o, d = best[(strategy, "ours")], best[(strategy, "DeepCTR")]
        lines.append(f"| {name} | {o:.2f} | {d:.2f} | {d / o:.2f} | "
                     f"{params[(strategy, 'ours')]:,} / {params[(strategy, 'DeepCTR')]:,} |")  # fmt: skip
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    print(
        f"{when}. Machine: {platform.machine()}, {os.cpu_count()} cores, load {load:.1f} at "
        f"start; torch {torch.__version__}, 1 thread; CPU time, best of {args.rounds} "
        f"interleaved rounds; {len(train_x):,} training rows × 20 columns, batch 256.\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
