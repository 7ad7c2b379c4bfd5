"""How a task's input columns are read, worked out from the table alone (no fitting).

Each input is a number, a date or text (:func:`input_kinds`), which decides how
:mod:`mtlcore.data.prepare` encodes it; :func:`imputed_counts` counts the missing
values its preprocessing fills in, and :func:`describe_inputs` puts both in the table
the Data page shows. This module imports no scikit-learn (``prepare`` does, with
``scipy.stats`` through it: seconds of the dashboard's first page on a busy machine,
issue 12), so the page can describe a task without loading it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mtlcore.data.spec import TaskSpec


def input_kinds(table: pd.DataFrame, spec: TaskSpec) -> tuple[list[str], list[str], list[str]]:
    """The task's inputs split into numeric, text and date columns."""
    inputs = list(spec.inputs or ())
    dates = [c for c in inputs if pd.api.types.is_datetime64_any_dtype(table[c])]
    numeric = [c for c in inputs if c not in dates and pd.api.types.is_numeric_dtype(table[c])]
    return numeric, [c for c in inputs if c not in numeric and c not in dates], dates


def imputed_counts(table: pd.DataFrame, spec: TaskSpec) -> dict[str, int]:
    """Input column -> missing values filled in, over the rows that have the task's target
    (the rows the task trains, validates and tests on)."""
    labelled = table[list(spec.targets)].notna().all(axis=1).to_numpy()
    missing = {
        c: np.count_nonzero(table[c].isna().to_numpy() & labelled) for c in spec.inputs or ()
    }
    return {str(c): int(n) for c, n in missing.items() if n}


def describe_inputs(table: pd.DataFrame, spec: TaskSpec) -> pd.DataFrame:
    """What preprocessing does to each input of a resolved task, without fitting anything:
    one row per input column with ``column``, ``read_as`` (how it is encoded), ``features``
    (how many model inputs it becomes) and ``filled`` (missing values imputed, and how).
    :func:`~mtlcore.data.ingest.missing_target_count` gives the rows the task drops."""
    numeric, text, dates = input_kinds(table, spec)
    filled = imputed_counts(table, spec)
    labelled = table[list(spec.targets)].notna().all(axis=1)  # a mask: no copy of the table
    rows = []
    for c in spec.inputs or ():
        if c in dates:
            read_as, n = "date: year, and sin/cos of month, day of year, day of week", 7
            how = "median date feature"
        elif c in numeric:
            read_as, n, how = "number, standardised", 1, "median"
        else:
            n = int(table.loc[labelled, c].nunique())
            read_as, how = f"category, one-hot ({n} values)", "most frequent value"
        k = filled.get(c, 0)
        rows.append({"column": c, "read_as": read_as, "features": n,
                     "filled": f"{k} ({how})" if k else "0"})  # fmt: skip
    return pd.DataFrame(rows, columns=["column", "read_as", "features", "filled"])
