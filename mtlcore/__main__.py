"""``python -m mtlcore``: see :mod:`mtlcore.cli`."""

import sys

from mtlcore.cli import main

sys.exit(main())
