"""Which process owns a run, and whether that process is still alive.

A run in the store records its worker's *token*, ``host:pid:start``, where
``start`` is the process's start time from ``/proc`` (empty where there is no
``/proc``). Comparing the start time catches a pid that the system has since
given to an unrelated process.
"""

from __future__ import annotations

import os
import socket


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
