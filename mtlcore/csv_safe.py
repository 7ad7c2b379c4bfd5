"""CSV text that a spreadsheet opens as data, never as formulas.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return before one) as a formula, so a class label or column name such as
``=HYPERLINK(...)`` in a user's CSV would run when our download is opened (CSV
injection). Every CSV the project writes goes through :func:`csv_text` or
:func:`write_csv`: a *text* cell starting with one of those characters gets a leading
``'`` (the usual neutralisation; spreadsheets hide it). Numbers are left alone,
negative ones included, and so is text that reads as a plain number (``-1.5``), which
a spreadsheet takes as that number, not a formula.
"""

from __future__ import annotations

import operator
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_ASCII_NUMBER = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"


def safe_cell(value: Any) -> Any:
    """``value`` with a leading ``'`` if it is text a spreadsheet would run as a formula."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if _PLAIN_NUMBER.fullmatch(value):
        return value
    return "'" + value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its text cells and column names neutralised, as :func:`safe_cell`
    on each would (the same CSV bytes), without a Python call per cell: a string column
    finds its formula-like cells at once (see :func:`_safe_values`). A column of Python
    objects gets the dtype its values suggest (``infer_objects``: ``[1, None]`` reads as
    floats), as mapping :func:`safe_cell` over it gave; ``frame`` itself is left alone."""
    out = frame.copy(deep=False)
    for position in range(frame.shape[1]):
        values = frame.iloc[:, position]
        if isinstance(values.dtype, pd.StringDtype):
            safe = _safe_values(values)
        elif values.dtype == object:
            safe = _safe_values(values)
            safe = (values if safe is None else safe).infer_objects()
        else:
            continue
        if safe is not None:
            out.isetitem(position, safe)
    out.columns = [safe_cell(str(c)) for c in frame.columns]
    return out


def _safe_values(values: pd.Series) -> pd.Series | None:
    """``values`` with a ``'`` before each text cell a spreadsheet would run as a
    formula; None when there is none. Only cells starting with one of
    :data:`FORMULA_STARTS` (found at once in a string column) are looked at, each
    distinct one once."""
    if isinstance(values.dtype, pd.StringDtype):
        starts = values.str.startswith(FORMULA_STARTS, na=False).to_numpy(dtype=bool)
        positions = np.flatnonzero(starts)
        # a plain number in ASCII digits is one for safe_cell too ([0-9] within \d)
        plain = values.iloc[positions].str.fullmatch(_ASCII_NUMBER, na=False)
        positions = positions[~plain.to_numpy(dtype=bool)]
    else:  # any objects: only text can start a formula
        positions = np.fromiter(
            (i for i, v in enumerate(values.to_numpy(dtype=object))
             if isinstance(v, str) and v.startswith(FORMULA_STARTS)), dtype=np.intp
        )  # fmt: skip
    if not len(positions):
        return None
    codes, uniques = pd.factorize(values.iloc[positions], use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    safe = np.array([safe_cell(u) for u in uniques], dtype=object)
    changed = np.fromiter(map(operator.ne, safe, uniques), dtype=bool, count=len(safe))
    hit = codes >= 0
    hit[hit] = changed[codes[hit]]
    if not hit.any():
        return None
    out = values.to_numpy(dtype=object, copy=True)
    out[positions[hit]] = safe[codes[hit]]
    return pd.Series(out, index=values.index, name=values.name, dtype=values.dtype)


def csv_text(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text (no index, CRLF line ends as RFC 4180 has them, so a cell
    holding a line break is quoted), formula cells neutralised."""
    return safe_frame(frame).to_csv(index=False, lineterminator="\r\n")


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as a UTF-8 CSV file (no index), formula cells neutralised."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(frame), encoding="utf-8")
    return path
