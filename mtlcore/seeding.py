"""Seeds derived from one experiment seed, so every component is reproducible on its own.

A component's seed depends only on the experiment seed and the component's name
(``derive_seed(seed, "head", "house_price")``), not on how many other components
were built before it. That is what lets a single-task model start from exactly the
weights its task's parts have in the multi-task model, and lets the batched
baselines equal separately trained ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def derive_seed(seed: int, *parts: object) -> int:
    """A stable 31-bit seed from ``seed`` and any names (same inputs -> same seed, any machine)."""
    text = "\x1f".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") & 0x7FFF_FFFF


@contextmanager
def torch_seed(seed: int) -> Iterator[None]:
    """Seed torch's CPU generator inside the block and restore it afterwards."""
    import torch  # here, not at the top: the data side (numpy_rng) serves the torch-free server

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def seeded(seed: int, build: Callable[[], T]) -> T:
    """``build()`` under ``torch_seed(seed)``: module initialisation that ignores build order."""
    with torch_seed(seed):
        return build()


def numpy_rng(seed: int, *parts: object) -> np.random.Generator:
    return np.random.default_rng(derive_seed(seed, *parts))
