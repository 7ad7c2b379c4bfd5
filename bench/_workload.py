"""Issue 12's training workload, shared by the benches that compare against other tools:
one table of ``rows`` rows × 20 numeric columns and three tasks on it (two regression,
one binary), prepared as the engine prepares any table."""

from __future__ import annotations

import argparse


def issue12_table(rows: int):
    """The workload's table (a DataFrame: ``x0``…``x19``, targets ``r1``, ``r2``, ``b``) and
    its three task specs (:class:`mtlcore.data.spec.TaskSpec`), the same for a given
    ``rows`` every time."""
    import numpy as np
    import pandas as pd

    from mtlcore.data.spec import TaskSpec

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
    return df, specs


def issue12_data(rows: int):
    """The prepared data (:class:`mtlcore.data.prepare.PreparedData`) of the workload."""
    from mtlcore.data.prepare import prepare
    from mtlcore.data.spec import Dataset

    df, specs = issue12_table(rows)
    return prepare(Dataset("bench", "bench", {"t": df}, specs), specs)


def rows_and_repeats(doc: str) -> argparse.Namespace:
    """The options of a bench on this workload's predictions: ``--rows`` (the table's rows)
    and ``--repeats`` (interleaved rounds, the median reported)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    return parser.parse_args()
