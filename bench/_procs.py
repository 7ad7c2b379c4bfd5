"""Process helpers the benches share."""

from __future__ import annotations

import subprocess


def stop(proc: subprocess.Popen, grace_s: float = 15.0) -> None:
    """End a process the bench started: SIGTERM, then SIGKILL after ``grace_s``."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
