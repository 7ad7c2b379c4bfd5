"""The install and CI contract: pinned requirements, a CI entry that runs `make test`,
and a README that tells people how to run and test the project."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _requirement_lines(name: str) -> list[str]:
    lines = (ROOT / name).read_text().splitlines()
    return [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()]


def test_every_runtime_requirement_is_pinned_exactly() -> None:
    lines = _requirement_lines("requirements.txt")
    assert lines, "requirements.txt is empty"
    loose = [
        ln for ln in lines if not re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[^\]]+\])?==[^=<>~!,;\s]+", ln)
    ]
    assert not loose, f"requirements.txt lines not pinned with a single ==: {loose}"


def test_torch_is_pinned_to_the_local_cpu_build() -> None:
    # Any other torch spec makes pip fetch a multi-GB CUDA build.
    torch = [ln for ln in _requirement_lines("requirements.txt") if re.match(r"torch(==|\[|$)", ln)]
    assert torch == ["torch==2.13.0"]


def test_torchjd_extras_are_spelled_with_hyphens() -> None:
    torchjd = [ln for ln in _requirement_lines("requirements.txt") if ln.startswith("torchjd")]
    assert len(torchjd) == 1, f"expected one torchjd line, got {torchjd}"
    extras = re.search(r"\[([^\]]*)\]", torchjd[0])
    assert extras, f"torchjd has no extras: {torchjd[0]}"
    names = [e.strip() for e in extras.group(1).split(",")]
    assert "quadprog-projector" in names and "cagrad" in names, names
    assert not any("_" in e for e in names), f"extras must use hyphens: {names}"


def test_dev_requirements_build_on_runtime_ones() -> None:
    lines = _requirement_lines("requirements-dev.txt")
    assert "-r requirements.txt" in lines
    assert {"pytest", "ruff", "playwright"} <= {re.split(r"[=<>\[]", ln)[0].lower() for ln in lines}


def test_ci_entry_runs_make_test() -> None:
    ci = ROOT / ".ci" / "run"
    text = ci.read_text()
    assert os.access(ci, os.X_OK), ".ci/run must be executable"
    assert "set -euo pipefail" in text
    assert re.search(r"^\s*make test\b", text, re.MULTILINE), ".ci/run must call `make test`"


def test_readme_says_how_to_run_and_test() -> None:
    readme = ROOT / "README.md"
    if not readme.exists():
        pytest.skip("README.md not written yet")
    text = readme.read_text()
    assert "make run" in text and "make test" in text
