"""Where MTL Studio keeps its run store and artifacts: ``MTL_STUDIO_HOME`` or ``~/.mtl-studio``."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "MTL_STUDIO_HOME"


def studio_home() -> Path:
    """The project home directory (not created here)."""
    raw = os.environ.get(HOME_ENV, "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".mtl-studio"
