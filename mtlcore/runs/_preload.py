"""Imported once by the forkserver that forks the worker processes (see ``_executor``).

Every worker forked from it starts with torch and the engine already imported,
including ``torch._dynamo``, which the first optimiser would otherwise import
(seconds), and ``sklearn.metrics``, which ``mtlcore.metrics`` imports only when a run
first scores its test split (so that the dashboard's pages, which read that module,
do not load scikit-learn). Workers train on one thread each, so the thread count is
pinned before torch loads.
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import sklearn.metrics  # noqa: E402, F401
import torch  # noqa: E402, F401
import torch._dynamo  # noqa: E402, F401

import mtlcore.experiment  # noqa: E402, F401
import mtlcore.runs._worker  # noqa: E402, F401
