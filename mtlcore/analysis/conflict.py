"""Gradient conflict: how often, and how strongly, two tasks pull the shared layers apart.

The training loop measures, every ``train.grad_cosine_every`` steps, the cosine
between each pair of tasks' gradients on the shared parameters (``grad_cosine``
rows of ``result.json``). Two gradients *conflict* when their cosine is negative:
a step along one task's gradient then raises the other task's loss to first order
(Yu et al. 2020, "Gradient Surgery for Multi-Task Learning", NeurIPS — the
observation PCGrad is built on). This module summarises those measurements per
pair: the mean cosine and the share of measured steps in conflict, over the whole
training and epoch by epoch. Nothing here imports torch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

PAIR_KEYS = ["task_a", "task_b"]


def conflict_summary(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per pair of tasks: mean cosine, share of measured steps with cosine < 0, and count.

    ``rows``: the ``grad_cosine`` rows (``task_a``, ``task_b``, ``epoch``, ``cosine``, and
    usually ``seed`` and ``step``), of one seed or pooled over seeds (each measured step
    counts once). Returns ``{"pairs": [...], "by_epoch": [...]}``; each entry has
    ``task_a``, ``task_b``, ``mean_cosine``, ``conflict_share`` (0–1) and ``measurements``,
    and the ``by_epoch`` entries their ``epoch``. Pairs keep their order of appearance.

    >>> s = conflict_summary([
    ...     {"task_a": "a", "task_b": "b", "epoch": 1, "cosine": 0.5},
    ...     {"task_a": "a", "task_b": "b", "epoch": 2, "cosine": -0.3},
    ... ])
    >>> s["pairs"][0]["conflict_share"], round(s["pairs"][0]["mean_cosine"], 2)
    (0.5, 0.1)
    """
    df = pd.DataFrame(list(rows), columns=None)
    if df.empty or "cosine" not in df:
        return {"pairs": [], "by_epoch": []}
    df = df[np.isfinite(df["cosine"].astype(float))].copy()
    df["conflict"] = (df["cosine"] < 0).astype(float)
    return {
        "pairs": _aggregate(df, PAIR_KEYS),
        "by_epoch": _aggregate(df, [*PAIR_KEYS, "epoch"]),
    }


def _aggregate(df: pd.DataFrame, keys: list[str]) -> list[dict[str, Any]]:
    grouped = df.groupby(keys, sort=False).agg(
        mean_cosine=("cosine", "mean"),
        conflict_share=("conflict", "mean"),
        measurements=("cosine", "size"),
    )
    if "epoch" in keys:
        grouped = grouped.sort_index(level="epoch", sort_remaining=False, kind="stable")
    out = []
    for key, row in grouped.iterrows():
        entry = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        if "epoch" in entry:
            entry["epoch"] = int(entry["epoch"])
        entry.update(
            mean_cosine=float(row["mean_cosine"]),
            conflict_share=float(row["conflict_share"]),
            measurements=int(row["measurements"]),
        )
        out.append(entry)
    return out


def pair_matrix(
    pairs: Iterable[Mapping[str, Any]], tasks: Sequence[str], value: str = "mean_cosine"
) -> pd.DataFrame:
    """A symmetric task × task frame of one pair statistic (``mean_cosine`` or
    ``conflict_share``); the diagonal and unmeasured pairs are NaN."""
    names = list(tasks)
    m = pd.DataFrame(np.nan, index=names, columns=names, dtype=float)
    for p in pairs:
        a, b = p["task_a"], p["task_b"]
        if a in m.index and b in m.index:
            m.loc[a, b] = m.loc[b, a] = float(p[value])
    return m
