"""What one run may cost: the server owner's caps, and reading a file without being fooled.

A dashboard link or a config file can ask for any model size and any training
length, and a path in a config can name anything on disk. These guards keep one
request from exhausting the machine; the server's owner sets them in the
environment of the dashboard and its workers (or of a CLI call):

- ``MTL_STUDIO_MAX_PARAMS`` (default 5,000,000): the most parameters one model may
  have, the multi-task model and the single-task baselines each. The largest
  example or lesson model has under 100,000.
- ``MTL_STUDIO_MAX_RUN_SECONDS`` (default 3600): the wall-clock time one experiment
  (all its seeds, baselines and pairwise runs) may train; ``0`` turns the cap off.
- ``MTL_STUDIO_MAX_CSV_MB`` (default 300): the largest CSV file a config or the CLI
  may read, in MB. Reading and preparing a table takes about ten times its file size
  in memory (a 1,000,000-row, 21-column file of 127 MB peaks near 1.25 GB), so the
  default fits a few million rows on a machine with 4 GB or more to spare. Uploads
  through the page have their own, smaller limit (``dashboard/datasets.py``).

Files (configs, CSVs) are read with :func:`read_regular_file`: only a regular file,
and never more than a given number of bytes, so ``/dev/zero``, a named pipe or a
folder is refused with a sentence instead of filling memory, hanging or crashing.
This module imports nothing heavy; callers turn its ``ValueError``\\ s into their own
error types (``ConfigError``, ``DataError``).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import stat
import time
from collections.abc import Callable, Iterator, Sequence

MAX_PARAMS_ENV = "MTL_STUDIO_MAX_PARAMS"
MAX_RUN_SECONDS_ENV = "MTL_STUDIO_MAX_RUN_SECONDS"
MAX_CSV_MB_ENV = "MTL_STUDIO_MAX_CSV_MB"
DEFAULT_MAX_PARAMS = 5_000_000
DEFAULT_MAX_RUN_SECONDS = 3600.0
DEFAULT_MAX_CSV_MB = 300


class UnreadableFile(ValueError):
    """A path that is not a readable regular file, or one larger than allowed.

    ``reason`` completes a sentence about the file: "is a folder, not a file".
    """

    def __init__(self, reason: str, *, missing: bool = False, too_large: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.missing = missing
        self.too_large = too_large


def read_regular_file(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of the regular file at ``path``; at most ``max_bytes`` are ever read.

    The file is opened without blocking and checked on the open descriptor, so a
    named pipe cannot hang the reader and a path swapped between a check and the
    open cannot slip through. Raises :class:`UnreadableFile` for a missing file, a
    folder, a device, a pipe or socket, an unreadable file, or one over ``max_bytes``.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise UnreadableFile("does not exist; check the path", missing=True) from None
    except IsADirectoryError:
        raise UnreadableFile("is a folder, not a file; give the path of a file") from None
    except PermissionError:
        raise UnreadableFile("cannot be read (permission denied)") from None
    except OSError as exc:
        raise UnreadableFile(f"cannot be opened ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise UnreadableFile("is a folder, not a file; give the path of a file")
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile(
                "is not a regular file (a device, a named pipe or a socket); "
                "give the path of a file saved on disk"
            )
        if info.st_size > max_bytes:
            raise UnreadableFile(
                f"is {_size(info.st_size)}, more than the {_size(max_bytes)} limit", too_large=True
            )
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(max_bytes + 1)  # the file may grow after the size check
    except OSError as exc:
        raise UnreadableFile(f"cannot be read ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise UnreadableFile(f"is more than the {_size(max_bytes)} limit", too_large=True)
    return data


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes:,} bytes"


def max_parameters() -> int:
    """The parameter budget of one model: ``MTL_STUDIO_MAX_PARAMS`` or the default."""
    raw = os.environ.get(MAX_PARAMS_ENV, "").strip().replace("_", "")
    if not raw:
        return DEFAULT_MAX_PARAMS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(
            f"{MAX_PARAMS_ENV}={os.environ[MAX_PARAMS_ENV]!r} is not a whole number of "
            f"parameters; set it to a number such as {DEFAULT_MAX_PARAMS} or unset it"
        )
    return int(raw)


def max_csv_bytes() -> int:
    """The largest CSV file to read, in bytes: ``MTL_STUDIO_MAX_CSV_MB`` or the default."""
    raw = os.environ.get(MAX_CSV_MB_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_CSV_MB * 1_000_000
    try:
        mb = float(raw)
    except ValueError:
        mb = math.nan
    if not math.isfinite(mb) or mb <= 0:
        raise ValueError(
            f"{MAX_CSV_MB_ENV}={raw!r} is not a size in MB; set it to a number such as "
            f"{DEFAULT_MAX_CSV_MB} or unset it"
        )
    return int(mb * 1_000_000)


def max_run_seconds() -> float | None:
    """The wall-clock cap of one experiment in seconds (None: no cap)."""
    raw = os.environ.get(MAX_RUN_SECONDS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_RUN_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(
            f"{MAX_RUN_SECONDS_ENV}={raw!r} is not a number of seconds; set it to a number "
            f"such as {DEFAULT_MAX_RUN_SECONDS:g}, or 0 for no limit, or unset it"
        )
    return seconds or None


def min_parameters(hidden: Sequence[int], head_hidden: Sequence[int] = (), experts: int = 1) -> int:
    """The fewest parameters any sharing strategy has with these layer widths: ``experts``
    trunks of widths ``hidden`` reading one input, and one head ending in one output.

    A lower bound for one task with one input column, counted without building anything,
    so a config can be checked against the budget before its data is known.
    """
    trunk = sum((a + 1) * b for a, b in zip([1, *hidden], hidden, strict=False))
    head = [hidden[-1] if hidden else 1, *head_hidden, 1]
    return experts * trunk + sum((a + 1) * b for a, b in zip(head, head[1:], strict=False))


def check_parameters(n_params: int, what: str) -> None:
    """Refuse a model over the budget, with a sentence that says what to change."""
    budget = max_parameters()
    if n_params > budget:
        raise ValueError(
            f"model: {what} would have {n_params:,} parameters, more than this server's "
            f"budget of {budget:,} ({MAX_PARAMS_ENV}); use fewer or narrower layers in "
            "model.hidden and model.head_hidden (or fewer experts)"
        )


# --- the wall-clock cap ------------------------------------------------------------------

_DEADLINE: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "mtl_studio_deadline", default=None
)


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Training inside the block stops (see :func:`overtime`) after ``seconds``.

    Nested limits keep the earlier deadline. ``None`` adds no limit.
    """
    outer = _DEADLINE.get()
    deadline = None if seconds is None else (time.monotonic() + seconds, seconds)
    if outer is not None and (deadline is None or outer[0] <= deadline[0]):
        deadline = outer
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def overtime(where: str | Callable[[], str]) -> str | None:
    """The sentence to stop training with when the current time limit has passed, else None.

    ``where`` completes "The run was stopped at ...": ``epoch 3, step 120 of the
    multi-task model`` (or a function that gives it, so a loop that asks every step
    formats nothing until the limit is reached).
    """
    limit = _DEADLINE.get()
    if limit is None or time.monotonic() <= limit[0]:
        return None
    where = where() if callable(where) else where
    return (
        f"The run was stopped at {where}: it reached this server's time limit of "
        f"{limit[1]:g} s ({MAX_RUN_SECONDS_ENV}). Train fewer epochs or steps, a "
        "smaller model or fewer seeds, or ask the server's owner to raise the limit."
    )
