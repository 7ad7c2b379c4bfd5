"""CLI start-up: wall time and peak memory of the light commands, with and without torch.

Issue 11, item 11: every CLI process used to import torch (through ``mtlcore.train``
at the top of ``mtlcore/cli.py``). Each command here runs in a fresh interpreter,
``--repeats`` times; the figures are the median wall time and the median peak
resident memory (``wait4``'s ``ru_maxrss``) of the child. The baseline runs the
same command after ``import mtlcore.train`` (what the old ``cli.py`` imported
first), in the same run, alternating, so the ratio compares like with like.

    .venv/bin/python bench/bench_cli.py            # print the figures
    .venv/bin/python bench/bench_cli.py --append   # and append them to bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNNER = (
    "import runpy, sys\n"
    "{pre}"
    "sys.argv = ['mtlcore', *sys.argv[1:]]\n"
    "runpy.run_module('mtlcore', run_name='__main__', alter_sys=True)\n"
)
COMMANDS = {
    "list": ["list"],
    "inspect houses.csv": ["inspect", str(ROOT / "sample_data" / "houses.csv")],
    "runs list": ["runs", "list"],
    "runs show 1": ["runs", "show", "1"],
}


def measure(args: list[str], env: dict[str, str], *, torch_first: bool) -> tuple[float, float]:
    """(seconds, peak MB) of one ``python -m mtlcore ARGS`` in a fresh interpreter."""
    code = RUNNER.format(pre="import mtlcore.train\n" if torch_first else "")
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"`python -m mtlcore {' '.join(args)}` exited with {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024  # KB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    opts = parser.parse_args()

    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "MTL_STUDIO_HOME": home, "PYTHONPATH": str(ROOT),
               "OMP_NUM_THREADS": "1"}  # fmt: skip
        setup = ("from mtlcore.config import ExperimentConfig\nfrom mtlcore.runs import RunStore\n"
                 "RunStore().submit(ExperimentConfig.parse({'data': {'builtin': 'houses'}}))")  # fmt: skip
        subprocess.run([sys.executable, "-c", setup], env=env, cwd=ROOT, check=True)
        rows = []
        for label, args in COMMANDS.items():
            light, heavy = [], []
            for _ in range(opts.repeats):  # alternate, so load changes hit both alike
                light.append(measure(args, env, torch_first=False))
                heavy.append(measure(args, env, torch_first=True))
            med = [statistics.median(x) for x in zip(*light, strict=True)]
            base = [statistics.median(x) for x in zip(*heavy, strict=True)]
            rows.append((label, med[0], base[0], med[1], base[1]))

    lines = [
        "| command | s now | s with torch | × | MB now | MB with torch | × |",
        "| ------- | -----:| ------------:| -:| ------:| -------------:| -:|",
    ]
    for label, s, s0, mb, mb0 in rows:
        lines.append(f"| `{label}` | {s:.2f} | {s0:.2f} | {s / s0:.2f} | {mb:.0f} | {mb0:.0f} | "
                     f"{mb / mb0:.2f} |")  # fmt: skip
    table = "\n".join(lines)
    print(table)
    if opts.append:
        import torch

        cpu = platform.processor() or platform.machine()
        section = (
            "\n## CLI start-up without torch (`bench_cli.py`)\n\n"
            f"{date.today():%Y-%m-%d}. Machine: `nproc` {os.cpu_count()}, {cpu}, shared with "
            "other work while measuring (so wall times are noisy; the ratio is measured in the "
            f"same run, alternating). Python {platform.python_version()}, torch "
            f"{torch.__version__}. Median of {opts.repeats} fresh interpreters per command; "
            '"with torch" runs the same command after `import mtlcore.train`, which the '
            "old `cli.py` did first. MB: peak resident memory of the process.\n\n"
            f"`.venv/bin/python bench/bench_cli.py --repeats {opts.repeats}`:\n\n{table}\n"
        )
        with (ROOT / "bench" / "RESULTS.md").open("a", encoding="utf-8") as fh:
            fh.write(section)


if __name__ == "__main__":
    main()
