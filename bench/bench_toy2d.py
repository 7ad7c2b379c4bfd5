"""Lesson 4's 2-D toy: our methods in the papers' settings, their cost per step, the page's study.

Three measurements (``--only`` picks some):

- ``steps``: CPU time per Adam step of one path moved by each method through the
  training loop's call (``weighting.backward`` on a one-point ``ToyPoint``), with the
  exact two-task forms (new) and with torchjd's solvers (old, ``closed_form = False``),
  measured in the same run, and the study's: all methods from the page's three starts
  moved together (``run_paths_together``).
- ``page``: the wall time of the page's default study (``toy2d.run(Toy2DOptions())``,
  its worker processes included), as the page's child process runs it.
- ``published``: the end points through our methods in the papers' settings
  (``PUBLISHED``: CAGrad's toy, 100 000 steps from three starts; Nash-MTL's, 35 000 from
  five, L₁ × 0.1), with each end's distance d to the Pareto set where it is off it.

Run: ``OMP_NUM_THREADS=1 PYTHONPATH=. .venv/bin/python bench/bench_toy2d.py``; the
figures go to bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import torch

from mtlcore.lessons.conflicting_gradients import METHODS, PAGE_STARTS, PUBLISHED, Toy2DOptions
from mtlcore.lessons.toy2d import (
    TASKS,
    ToyPoint,
    build_method,
    run,
    run_paths_together,
)
from mtlcore.weighting import StepContext
from mtlcore.weighting.gradient import GradientWeighting


def path_cpu_per_step(method: str, steps: int, closed_form: bool) -> float:
    """CPU ms per step of one path from (−8.5, 7.5) through ``weighting.backward``."""
    options = Toy2DOptions()
    point = ToyPoint(PAGE_STARTS[0])
    weighting = build_method(method, options)
    if isinstance(weighting, GradientWeighting):
        weighting.closed_form = closed_form
    optimizer = torch.optim.Adam(point.parameters(), lr=options.lr)
    began = time.process_time()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*(not DPP|Solution may be inaccurate).*")
        for step in range(steps):
            optimizer.zero_grad(set_to_none=True)
            output = point()
            losses = torch.cat([output.outputs[name].reshape(1) for name in TASKS])
            weighting.backward(losses, StepContext(point, step, 0))
            optimizer.step()
    return (time.process_time() - began) / steps * 1e3


def bench_steps(steps: int) -> None:
    print(f"\nCPU ms per step, one path from (-8.5, 7.5), {steps} steps (median of 3)")
    print("| method | torchjd's solver (old) | two-task form (new) | old / new |")
    print("| --- | ---: | ---: | ---: |")
    for method in METHODS:
        old = sorted(path_cpu_per_step(method, steps, False) for _ in range(3))[1]
        new = sorted(path_cpu_per_step(method, steps, True) for _ in range(3))[1]
        print(f"| {method} | {old:.2f} | {new:.2f} | {old / new:.1f} |", flush=True)
    options = Toy2DOptions(steps=steps * 4, workers=1)
    began = time.process_time()
    run_paths_together(list(METHODS), list(PAGE_STARTS), options)
    together = (time.process_time() - began) / options.steps * 1e3
    print(f"| the study: all 5 methods x 3 starts together | | {together:.2f} | |")


def bench_page() -> None:
    began, cpu = time.perf_counter(), os.times()
    result = run(Toy2DOptions())
    wall, after = time.perf_counter() - began, os.times()
    used = sum(after[:4]) - sum(cpu[:4])  # this process and its worker processes
    off = [(p["method"], p["start"], round(p["distance"], 3)) for p in result["paths"]]
    print(f"\nthe page's default study (8 000 steps, 5 methods x 3 starts): {wall:.1f} s wall, "
          f"{used:.1f} s CPU (workers included), load {os.getloadavg()[0]:.1f}")  # fmt: skip
    print("distance to the Pareto set per (method, start):", off)


def bench_published(workers: int, settings: list[str]) -> None:
    for name in settings:
        setting = PUBLISHED[name]
        options = Toy2DOptions(
            starts=list(setting["starts"]),  # type: ignore[arg-type]
            steps=int(setting["steps"]),  # type: ignore[call-overload]
            lr=float(setting["lr"]),  # type: ignore[arg-type]
            scale=float(setting["scale"]),  # type: ignore[arg-type]
            points=50,
            workers=workers,
        )
        began = time.perf_counter()
        result = run(options)
        wall = time.perf_counter() - began
        ends = {(p["method"], tuple(p["start"])): p for p in result["paths"]}
        print(f"\n{name}'s toy: {options.steps} steps, lr {options.lr:g}, scale {options.scale:g} "
              f"({wall:.0f} s wall)")  # fmt: skip
        print("| start | " + " | ".join(METHODS) + " |")
        print("| --- " * (len(METHODS) + 1) + "|")
        for start in options.starts:
            cells = []
            for method in METHODS:
                p = ends[(method, (float(start[0]), float(start[1])))]
                cell = f"({p['end'][0]:.2f}, {p['end'][1]:.2f})"
                cells.append(cell + (f" d {p['distance']:.1f}" if p["distance"] > 0.05 else ""))
            print(f"| ({start[0]:g}, {start[1]:g}) | " + " | ".join(cells) + " |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=["steps", "page", "published"],
                        choices=["steps", "page", "published"])  # fmt: skip
    parser.add_argument("--steps", type=int, default=300, help="steps per timed path")
    parser.add_argument("--workers", type=int, default=0, help="for the published settings")
    parser.add_argument("--settings", nargs="*", default=list(PUBLISHED), choices=list(PUBLISHED),
                        help="which of the papers' settings to run")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
          f"Python {platform.python_version()}, torch {torch.__version__}")  # fmt: skip
    if "steps" in args.only:
        bench_steps(args.steps)
    if "page" in args.only:
        bench_page()
    if "published" in args.only:
        bench_published(args.workers, args.settings)


if __name__ == "__main__":
    main()
