"""The honest comparison: a task's multi-task gain over its single-task baseline, over seeds.

Each seed trains the multi-task model and the single-task baselines from the same
seed, so the per-seed relative gains are *paired* differences. Their mean gets a
Student-t confidence interval, and the verdict follows the interval only:

- ``"helps"``: the whole interval lies above 0;
- ``"hurts"``: the whole interval lies below 0;
- ``"within the noise"``: the interval covers 0;
- ``"one seed"``: a single seed has no spread to judge by; run more to tell;
- ``"no baseline"``: no single-task value to compare with.

Only ``helps`` and ``hurts`` are findings; a page colours nothing else. The
trivial baseline (the training mean for regression, the majority class for
classification) shows whether a model learned anything at all.

Nothing here imports torch: the CLI table and the dashboard read it too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats

from mtlcore.data.prepare import TaskData
from mtlcore.metrics import classification_metrics, regression_metrics

Verdict = Literal["helps", "hurts", "within the noise", "one seed", "no baseline"]
VERDICTS: tuple[str, ...] = ("helps", "hurts", "within the noise", "one seed", "no baseline")
FINDINGS: tuple[str, ...] = ("helps", "hurts")  # the verdicts a page may colour
CONFIDENCE = 0.95


@dataclass(frozen=True)
class GainSummary:
    """Mean relative gain (percent) over seeds, its confidence interval and the verdict.

    ``low``/``high`` bound the mean gain at ``level`` confidence (None with fewer
    than two seeds); ``std`` is the sample std over seeds (None with one seed).
    """

    mean: float | None
    std: float | None
    n: int
    low: float | None
    high: float | None
    level: float
    verdict: Verdict

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize_gains(gains: Iterable[float | None], level: float = CONFIDENCE) -> GainSummary:
    """The paired comparison of per-seed gains (``None``/NaN entries are left out).

    >>> summarize_gains([4.0, 5.0, 6.0]).verdict
    'helps'
    >>> summarize_gains([4.0]).verdict
    'one seed'
    """
    arr = np.array([g for g in gains if g is not None], dtype=float)
    arr = arr[np.isfinite(arr)]
    n = len(arr)
    if n == 0:
        return GainSummary(None, None, 0, None, None, level, "no baseline")
    mean = float(arr.mean())
    if n == 1:
        return GainSummary(mean, None, 1, None, None, level, "one seed")
    std = float(arr.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, df=n - 1)) * std / math.sqrt(n)
    low, high = mean - half, mean + half
    verdict: Verdict = "helps" if low > 0 else "hurts" if high < 0 else "within the noise"
    return GainSummary(mean, std, n, low, high, level, verdict)


def verdict_sentence(task: str, s: GainSummary) -> str:
    """One plain sentence on a task's verdict, with the numbers it rests on."""
    if s.verdict == "no baseline":
        return f"{task}: no single-task baseline to compare with."
    if s.verdict == "one seed":
        return (
            f"{task}: {s.mean:+.1f}% on one seed — one seed cannot tell a difference from "
            "noise; run more seeds to tell."
        )
    ci = f"{s.level:.0%} interval {s.low:+.1f}% to {s.high:+.1f}%, {s.n} seeds"
    if s.verdict == "within the noise":
        return f"{task}: {s.mean:+.1f}% ({ci}) — within the noise: the interval covers 0."
    how = "sharing helps" if s.verdict == "helps" else "sharing hurts"
    return f"{task}: {how}, {s.mean:+.1f}% ({ci})."


def trivial_metrics(task: TaskData, split: str = "test") -> dict[str, float]:
    """Every metric of the trivial predictor on ``split``, learned from the training rows.

    Regression predicts the training mean (in the target's units); classification
    predicts the training class frequencies, so its accuracy is the majority-class
    rate and its AUC 0.5.
    """
    y_train, y = task.y["train"], task.y[split]
    if task.kind == "regression":
        truth = task.target_in_units(y.astype(np.float64))
        mean = float(task.target_in_units(y_train.astype(np.float64)).mean())
        return regression_metrics(truth, np.full(len(truth), mean))
    n_classes = len(task.classes or [])
    counts = np.bincount(y_train.astype(int), minlength=n_classes).astype(float)
    freq = counts / counts.sum()
    if task.kind == "binary":
        return classification_metrics(y.astype(int), np.full(len(y), freq[1]), 2)
    # Ties broken towards the most frequent class by argmax on a tiny tilt.
    proba = np.tile(freq + 1e-9 * (freq == freq.max()), (len(y), 1))
    return classification_metrics(y.astype(int), proba, n_classes)
