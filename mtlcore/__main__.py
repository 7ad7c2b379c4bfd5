"""``python -m mtlcore``: see :mod:`mtlcore.cli`."""

import os
import sys

from mtlcore.cli import main


def run() -> int:
    """:func:`main`, quiet when the reader of our output goes away (``mtlcore list | head``):
    the rest of the output is dropped and the exit status is 141, as for other tools a
    closed pipe stops (128 + SIGPIPE)."""
    try:
        status = main()
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at /dev/null so that flush is silent.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


sys.exit(run())
