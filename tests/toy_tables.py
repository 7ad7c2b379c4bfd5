"""The small two-table dataset the engine and weighting tests train on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtlcore.data.spec import Dataset, TaskSpec


def two_table_dataset(n_big: int = 240, n_small: int = 60, *, b_sign: float = 1.0) -> Dataset:
    """Two regression tasks in different tables with different columns, plus a class task.

    Table b's target is ``b_sign · sin(x)`` plus its own column's effect: -1 makes the two
    regression tasks pull the shared layers opposite ways.
    """
    rng = np.random.default_rng(0)
    a = pd.DataFrame({"x": rng.normal(size=n_big), "z": rng.normal(size=n_big)})
    a["y"] = np.sin(a.x) + 0.5 * a.z + rng.normal(scale=0.1, size=n_big)
    a["cls"] = np.where(a.x > 0, "pos", "neg")
    b = pd.DataFrame({"x": rng.normal(size=n_small), "w": rng.choice(["u", "v"], n_small)})
    b["y"] = b_sign * np.sin(b.x) + (b.w == "u") + rng.normal(scale=0.1, size=n_small)
    return Dataset("toy", "toy data", {"a": a, "b": b}, [
        TaskSpec("ya", "a", "y", "regression", ("x", "z")),
        TaskSpec("yb", "b", "y", "regression", ("x", "w")),
        TaskSpec("ca", "a", "cls", "binary", ("x", "z")),
    ])  # fmt: skip
