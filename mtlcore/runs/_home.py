"""Where MTL Studio keeps its run store and artifacts: ``MTL_STUDIO_HOME`` or ``~/.mtl-studio``."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "MTL_STUDIO_HOME"


def studio_home() -> Path:
    """The project home directory (not created here)."""
    raw = os.environ.get(HOME_ENV, "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".mtl-studio"


def home_problem() -> str | None:
    """Why the home folder cannot hold the run store (a file there, or a folder that cannot
    be created), as one sentence naming ``MTL_STUDIO_HOME``; None when it can (it is then
    created). The CLI prints it and exits 2; the dashboard shows it instead of its pages."""
    home = studio_home()
    hint = f"point {HOME_ENV} at a folder you can write to"
    if home.exists() and not home.is_dir():
        return f"{HOME_ENV}: {home} is a file, not a folder; {hint} (it is created if missing)"
    try:
        home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return f"{HOME_ENV}: cannot create the folder {home} ({exc.strerror}); {hint}"
    return None
