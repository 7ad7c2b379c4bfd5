"""Numbers over seeds: the one place a mean and a spread over seeds are computed.

Every figure that sums up several seeds goes through :func:`mean_std`: a task's
metric and gain (``result.json`` and the dashboard's pooled one-seed runs alike), the
means of every metric and of the weighting state, and the pairwise-gain matrix cell by
cell (:func:`mean_std_cells`).

The convention, one for all of them:

- only finite values count (a seed without a value, or with NaN, is left out);
- mean and std are exactly rounded (``math.fsum``), so they do not depend on the order
  of the seeds and are exactly odd/even under a change of sign: pooling one-seed runs
  that finished in any order gives the numbers of one multi-seed run, and a verdict
  cannot flip on the order the runs finished in;
- the std is the sample std (n − 1), and it is *missing* below two values: ``None``
  for one number, NaN in an array, ``null`` in ``result.json``, "—" on the pages. One
  seed says nothing about the spread; a 0.0 would read as "no noise at all" and make a
  one-seed difference look certain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def finite(values: Iterable[float | None]) -> np.ndarray:
    """The finite values among ``values`` (``None``, NaN and inf left out)."""
    arr = np.array([v for v in values if v is not None], dtype=float)
    return arr[np.isfinite(arr)]


def mean_std(values: Iterable[float | None]) -> tuple[float | None, float | None]:
    """Mean and sample std over seeds of the finite values; std is None below two values.

    >>> mean_std([1.0, 3.0])
    (2.0, 1.4142135623730951)
    >>> mean_std([2.0, None])
    (2.0, None)
    """
    arr = finite(values)
    if len(arr) == 0:
        return None, None
    mean = math.fsum(arr) / len(arr)
    if len(arr) == 1:
        return mean, None
    return mean, math.sqrt(math.fsum((arr - mean) ** 2) / (len(arr) - 1))


def mean_std_cells(stack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`mean_std` of every cell over the first axis (the seeds): two arrays of the
    shape of one seed's, NaN where a cell has no value (mean) or fewer than two (std)."""
    stack = np.asarray(stack, dtype=float)
    cells = stack.reshape(len(stack), -1).T
    pairs = [mean_std(cell) for cell in cells]
    mean = np.array([np.nan if m is None else m for m, _ in pairs], dtype=float)
    std = np.array([np.nan if s is None else s for _, s in pairs], dtype=float)
    return mean.reshape(stack.shape[1:]), std.reshape(stack.shape[1:])
