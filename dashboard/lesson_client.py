"""Runs a lesson's study in a separate process, so the server never trains or imports torch.

``python -m mtlcore lesson KEY --options JSON --out FILE`` computes the study and
writes its JSON; this module starts it, waits, and reads the file. The page caches
the result by lesson and options, so a second look costs nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STUDY_TIMEOUT_S = 600  # a study is meant to take seconds; this only stops a runaway one


class StudyError(RuntimeError):
    """A study could not run; the message is the engine's one-line reason."""


def run_study(key: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The study of lesson ``key`` with ``options``, computed in a child process."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="mtl-study-") as tmp:
        out = Path(tmp) / "study.json"
        cmd = [sys.executable, "-m", "mtlcore", "lesson", key, "--options",
               json.dumps(dict(options or {})), "--out", str(out), "-q"]  # fmt: skip
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=STUDY_TIMEOUT_S)  # fmt: skip
        except subprocess.TimeoutExpired:
            raise StudyError(
                f"The study of lesson '{key}' ran past {STUDY_TIMEOUT_S} s and was stopped; "
                "choose fewer steps or starts."
            ) from None
        if proc.returncode != 0 or not out.is_file():
            lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
            reason = lines[-1] if lines else f"exit status {proc.returncode}"
            raise StudyError(
                f"The study of lesson '{key}' failed: {reason.removeprefix('error: ')}"
            )
        return json.loads(out.read_text(encoding="utf-8"))
