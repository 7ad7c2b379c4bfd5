"""Which process owns a run, and whether that process is still alive.

A run in the store records its worker's *token*, ``host:pid:start``, where
``start`` is the process's start time from ``/proc`` (empty where there is no
``/proc``). Comparing the start time catches a pid that the system has since
given to an unrelated process.

:func:`death_reason` words why a run's worker is gone, for the run's ``error``:
from the exit status where it can still be read (a killed process stays a zombie
until its parent collects it, and ``/proc`` keeps its exit status until then).
"""

from __future__ import annotations

import os
import signal
import socket

# Why a run failed when its process is gone and its exit status can no longer be read.
ORPHAN_REASON = (
    "the worker process ended without finishing the run (killed, crashed, or its server "
    "restarted); the metrics so far are kept"
)


def process_token(pid: int | None = None) -> str:
    """The token of process ``pid`` (default: this process)."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or ''}"


def token_alive(token: str | None) -> bool:
    """False when the token's process has exited or its pid now belongs to another process.

    A token from another host cannot be checked here and counts as alive.
    """
    if not token:
        return False
    host, _, rest = token.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname():
        return True
    try:
        pid = int(pid_text)
    except ValueError:
        return False
    if not pid_alive(pid):
        return False
    return not start or _start_time(pid) == start


def token_pid(token: str | None) -> int | None:
    """The pid in a token, or None."""
    pid_text = (token or "").split(":")[1:2]
    return int(pid_text[0]) if pid_text and pid_text[0].isdigit() else None


def death_reason(token: str | None) -> str:
    """Why the (dead) process of ``token`` no longer runs its run, as one sentence."""
    pid = token_pid(token)
    fields = _stat_fields(pid) if pid else None
    if fields and fields[0] == "Z" and len(fields) > 49 and fields[49].isdigit():
        status = int(fields[49])  # waitpid status: low 7 bits the signal, else code << 8
        return worker_death_reason(-(status & 0x7F) if status & 0x7F else status >> 8)
    return ORPHAN_REASON


def worker_death_reason(exitcode: int | None) -> str:
    """A readable reason for a run whose worker process ended under it (``exitcode``:
    negative for a signal, as multiprocessing reports it)."""
    if exitcode is not None and exitcode < 0:
        try:
            how = f"was killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            how = f"was killed by signal {-exitcode}"
        hint = " (out of memory, or stopped from outside)" if -exitcode == signal.SIGKILL else ""
        return f"the worker process {how}{hint}; the metrics so far are kept"
    return f"the worker process exited with code {exitcode} during the run"


def pid_alive(pid: int) -> bool:
    """True for a running process; False for an exited one, zombies included."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    stat = _stat_fields(pid)
    return stat is None or stat[0] != "Z"


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state first), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()  # the name may hold spaces and parentheses


def _start_time(pid: int) -> str | None:
    fields = _stat_fields(pid)
    return fields[19] if fields and len(fields) > 19 else None  # field 22 of stat
