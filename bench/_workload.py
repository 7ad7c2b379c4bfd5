"""Issue 12's training workload, shared by the benches that compare against other tools:
one table of ``rows`` rows × 20 numeric columns and three tasks on it (two regression,
one binary), prepared as the engine prepares any table."""

from __future__ import annotations


def issue12_data(rows: int):
    """The prepared data (:class:`mtlcore.data.prepare.PreparedData`) of the workload."""
    import numpy as np
    import pandas as pd

    from mtlcore.data.prepare import prepare
    from mtlcore.data.spec import Dataset, TaskSpec

    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 20)).astype(np.float32)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(20)])
    df["r1"] = X[:, :5].sum(1) + rng.normal(scale=0.3, size=rows)
    df["r2"] = np.sin(X[:, 5:10]).sum(1) + rng.normal(scale=0.3, size=rows)
    df["b"] = np.where(X[:, 10:15].sum(1) + rng.normal(size=rows) > 0, "yes", "no")
    inputs = tuple(f"x{i}" for i in range(20))
    specs = [
        TaskSpec("r1", "t", "r1", "regression", inputs),
        TaskSpec("r2", "t", "r2", "regression", inputs),
        TaskSpec("b", "t", "b", "binary", inputs),
    ]
    return prepare(Dataset("bench", "bench", {"t": df}, specs), specs)
