"""`python -m mtlcore ... | head`: a reader that stops early ends our output quietly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_closed_pipe_ends_the_output_without_a_traceback():
    read, write = os.pipe()
    os.close(read)  # nobody reads: the first write that reaches the pipe fails
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "mtlcore", "list"],
        stdout=write, stderr=subprocess.PIPE, env=env, cwd=ROOT, text=True, timeout=120,
    )  # fmt: skip
    os.close(write)
    assert proc.returncode == 141, proc.stderr
    assert proc.stderr == ""
