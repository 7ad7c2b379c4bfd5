"""Multi-task vs single-task laid out for the tables and sentences of the pages.

The comparison itself (pairing by seed, the interval, the verdict) is computed once in
``mtlcore.analysis`` (``combine_results`` pools an experiment's one-seed runs); this only
lays it out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from dashboard.text import md_escape
from mtlcore.analysis import (
    CONFIDENCE,
    FINDINGS,
    delta_m_sentence,
    interval_text,
    stored_summary,
    trivial_sentence,
    verdict_label,
    verdict_sentence,
)

COMPARISON_COLUMNS = ["task", "kind", "metric", "higher_is_better", "n_seeds", "mtl", "mtl_std",
                      "stl", "stl_std", "trivial", "gain", "gain_std", "gain_low", "gain_high",
                      "verdict"]  # fmt: skip
_NUMBERS = ["mtl", "mtl_std", "stl", "stl_std", "trivial", "gain", "gain_std", "gain_low",
            "gain_high"]  # fmt: skip
FINDING_COLOR = {"helps": "green", "hurts": "red"}  # markdown colours, for FINDINGS only


def comparison_frame(comparison: Mapping[str, Any]) -> pd.DataFrame:
    """One row per task of a comparison (``combine_results`` of an experiment's runs).

    Missing numbers (no baseline, no spread with one seed) are NaN, so the charts can
    test them; ``n_seeds`` counts the seeds the task's multi-task value rests on.
    """
    rows = []
    for task, t in (comparison.get("tasks") or {}).items():
        row = {"task": task, **{k: t.get(k) for k in COMPARISON_COLUMNS[1:]}}
        row["higher_is_better"] = bool(row["higher_is_better"])
        row["n_seeds"] = sum(v is not None for v in (t.get("mtl_by_seed") or {}).values())
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    frame[_NUMBERS] = frame[_NUMBERS].astype(float)
    return frame


def comparison_markdown(comparison: Mapping[str, Any]) -> list[str]:
    """The verdicts in words, as safe markdown: Δm first, then each task, then any model
    no better than the trivial baseline. Only a finding (helps/hurts) is coloured."""
    lines = [_finding_md(delta_m_sentence(comparison), comparison.get("delta_m_verdict"))]
    tasks = (comparison.get("tasks") or {}).items()
    lines += [
        _finding_md(verdict_sentence(n, stored_summary(t)), t.get("verdict")) for n, t in tasks
    ]
    lines += [md_escape(text) for n, t in tasks if (text := trivial_sentence(n, t))]
    return lines


def _finding_md(sentence: str, verdict: str | None) -> str:
    color = FINDING_COLOR.get(verdict or "") if verdict in FINDINGS else None
    return f":{color}[{md_escape(sentence)}]" if color else md_escape(sentence)


def display_table(cmp: pd.DataFrame, level: float = CONFIDENCE) -> pd.DataFrame:
    """The comparison as the pages show it: values with ± std over seeds, the trivial
    baseline, the gain with its interval, and the verdict."""
    return pd.DataFrame(
        {
            "task": cmp["task"],
            "metric": cmp["metric"] + np.where(cmp["higher_is_better"], " ↑", " ↓"),
            "multi-task": [_pm(m, s) for m, s in zip(cmp["mtl"], cmp["mtl_std"])],
            "single-task": [_pm(m, s) for m, s in zip(cmp["stl"], cmp["stl_std"])],
            "trivial": [_pm(m, math.nan) for m in cmp["trivial"]],
            "gain %": cmp["gain"],
            f"{level:.0%} interval": [
                interval_text(_finite(lo), _finite(hi))
                for lo, hi in zip(cmp["gain_low"], cmp["gain_high"])
            ],
            "verdict": [verdict_label(v) for v in cmp["verdict"]],
            "seeds": cmp["n_seeds"],
        }
    )


def _finite(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _pm(mean: float | None, std: float | None) -> str:
    """``28,260 ± 350`` or ``0.8125 ± 0.021``: readable, with the spread when there is one."""
    if _finite(mean) is None:
        return "—"
    big = abs(mean) >= 1000
    text = f"{mean:,.0f}" if big else f"{mean:.4g}"
    if _finite(std) is not None:
        text += f" ± {std:,.0f}" if big else f" ± {std:.2g}"
    return text
