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

:func:`compare` turns per-seed values into the keys ``result.json`` carries per task
and for Δm; :func:`combine_results` does the same over several one-seed results (the
dashboard runs one run per seed), so both paths give one and the same comparison.
Per-seed values are keyed by the seed as text (JSON object keys).

Nothing here imports torch: the CLI table and the dashboard read it too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from mtlcore.analysis.seeds import finite, mean_std
from mtlcore.kinds import BINARY, KINDS
from mtlcore.metrics import delta_m, relative_gain

if TYPE_CHECKING:  # the data layer imports torch; the CLI table should not need it
    from mtlcore.data.prepare import TaskData

Verdict = Literal["helps", "hurts", "within the noise", "one seed", "no baseline"]
VERDICTS: tuple[str, ...] = ("helps", "hurts", "within the noise", "one seed", "no baseline")
FINDINGS: tuple[str, ...] = ("helps", "hurts")  # the verdicts a page may colour
CONFIDENCE = 0.95
# How the CLI table and the pages name a verdict: one seed says what to do about it.
VERDICT_LABELS: dict[str, str] = {
    "helps": "helps",
    "hurts": "hurts",
    "within the noise": "within the noise",
    "one seed": "one seed — run more to tell",
    "no baseline": "no baseline",
}
# What a task carries in every result and run summary besides its comparison.
TASK_FACTS = ("kind", "metric", "higher_is_better", "trivial")


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
    arr = finite(gains)
    n = len(arr)
    mean, std = mean_std(arr)
    if mean is None:
        return GainSummary(None, None, 0, None, None, level, "no baseline")
    if std is None:
        return GainSummary(mean, None, 1, None, None, level, "one seed")
    # Student's t quantile: the function scipy.stats.t.ppf calls (the same numbers), from
    # scipy.special and imported here: this module does not import scipy.stats (0.7-2.8 s)
    from scipy.special import stdtrit

    half = float(stdtrit(n - 1, 0.5 + level / 2)) * std / math.sqrt(n)
    low, high = mean - half, mean + half
    verdict: Verdict = "helps" if low > 0 else "hurts" if high < 0 else "within the noise"
    return GainSummary(mean, std, n, low, high, level, verdict)


def _value(x: float | None) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _seed_key(seed: Any) -> tuple[int, str]:
    text = str(seed)
    return (int(text), text) if text.isdigit() else (1 << 62, text)


def compare_task(
    mtl_by_seed: Mapping[Any, float | None],
    stl_by_seed: Mapping[Any, float | None] | None,
    higher_is_better: bool,
    level: float = CONFIDENCE,
) -> dict[str, Any]:
    """One task's result keys from its per-seed primary metric, paired by seed.

    ``stl_by_seed`` is None without single-task baselines. Returns ``mtl``, ``stl``,
    ``gain`` (means) with ``*_std`` and ``*_by_seed``, the interval ``gain_low``/
    ``gain_high`` at ``confidence`` and the ``verdict``.
    """
    mtl = {
        str(k): _value(v) for k, v in sorted(mtl_by_seed.items(), key=lambda kv: _seed_key(kv[0]))
    }
    out: dict[str, Any] = dict(zip(("mtl", "mtl_std"), mean_std(mtl.values()), strict=True))
    if stl_by_seed is None:
        gains: dict[str, float | None] | None = None
        stl = None
        out.update(stl=None, stl_std=None)
    else:
        stl = {
            str(k): _value(v)
            for k, v in sorted(stl_by_seed.items(), key=lambda kv: _seed_key(kv[0]))
        }
        out.update(zip(("stl", "stl_std"), mean_std(stl.values()), strict=True))
        gains = {
            seed: _value(relative_gain(m, stl[seed], higher_is_better))
            if m is not None and stl[seed] is not None
            else None
            for seed, m in mtl.items()
            if seed in stl
        }
    s = summarize_gains((gains or {}).values(), level)
    out.update(gain=s.mean, gain_std=s.std, gain_low=s.low, gain_high=s.high,
               confidence=s.level, verdict=s.verdict,
               mtl_by_seed=mtl, stl_by_seed=stl, gain_by_seed=gains)  # fmt: skip
    return out


def compare(tasks: Mapping[str, Mapping[str, Any]], level: float = CONFIDENCE) -> dict[str, Any]:
    """The whole comparison: per task (:func:`compare_task`) and for Δm.

    ``tasks``: name -> ``higher_is_better``, ``mtl_by_seed`` and ``stl_by_seed``
    (None without baselines). Δm of a seed is the mean gain over tasks on that seed
    (null when a task has none), and its interval and verdict follow the same rule.
    """
    out_tasks = {
        name: compare_task(t["mtl_by_seed"], t.get("stl_by_seed"), t["higher_is_better"], level)
        for name, t in tasks.items()
    }
    per_task = [t["gain_by_seed"] for t in out_tasks.values()]
    dm_by_seed: dict[str, float | None] | None = None
    if per_task and all(g is not None for g in per_task):
        seeds = sorted({s for g in per_task for s in g}, key=_seed_key)
        dm_by_seed = {
            seed: _value(delta_m([math.nan if g.get(seed) is None else g[seed] for g in per_task]))
            for seed in seeds
        }
    s = summarize_gains((dm_by_seed or {}).values(), level)
    return {
        "tasks": out_tasks,
        "delta_m": s.mean,
        "delta_m_std": s.std,
        "delta_m_low": s.low,
        "delta_m_high": s.high,
        "delta_m_verdict": s.verdict,
        "delta_m_by_seed": dm_by_seed,
        "confidence": level,
    }


def combine_results(
    results: Iterable[Mapping[str, Any]], level: float = CONFIDENCE
) -> dict[str, Any]:
    """One comparison over several results of one experiment, e.g. its one-seed runs.

    Each result (a ``result.json`` or a run summary) gives its tasks' per-seed values;
    they are pooled by seed and compared as if one run had trained every seed. The
    result has ``tasks`` (the task facts and comparison keys), the Δm keys, ``seeds``
    and ``n_seeds``. Summaries written before per-seed values existed count as the
    one seed they name.
    """
    tasks: dict[str, dict[str, Any]] = {}
    seeds: list[Any] = []
    for result in results:
        own = list(result.get("seeds") or [])
        seeds += own
        for name, t in (result.get("tasks") or {}).items():
            merged = tasks.setdefault(
                name, {**{k: t.get(k) for k in TASK_FACTS}, "mtl_by_seed": {}, "stl_by_seed": None}
            )
            merged["mtl_by_seed"].update(_by_seed(t, "mtl", own))
            stl = _by_seed(t, "stl", own)
            if stl:
                merged["stl_by_seed"] = {**(merged["stl_by_seed"] or {}), **stl}
    out = compare(tasks, level)
    out["tasks"] = {
        name: {**{k: tasks[name][k] for k in TASK_FACTS}, **entry}
        for name, entry in out["tasks"].items()
    }
    out["seeds"] = sorted(set(seeds), key=_seed_key)
    out["n_seeds"] = len(out["seeds"])
    return out


def _by_seed(task: Mapping[str, Any], key: str, seeds: list[Any]) -> dict[str, float | None]:
    values = task.get(f"{key}_by_seed")
    if values is not None:
        return dict(values)
    if len(seeds) == 1 and task.get(key) is not None:  # a summary from before *_by_seed
        return {str(seeds[0]): task[key]}
    return {}


def stored_summary(entry: Mapping[str, Any], key: str = "gain") -> GainSummary:
    """The :class:`GainSummary` that a result's keys hold (``key``: ``gain`` of a task
    entry, or ``delta_m`` of a whole result)."""
    verdict = entry.get("verdict" if key == "gain" else f"{key}_verdict") or "no baseline"
    n = len(finite((entry.get(f"{key}_by_seed") or {}).values()))
    level = entry.get("confidence") or CONFIDENCE
    low, high = entry.get(f"{key}_low"), entry.get(f"{key}_high")
    return GainSummary(entry.get(key), entry.get(f"{key}_std"), n, low, high, level, verdict)


def verdict_label(verdict: str | None) -> str:
    """The verdict as the CLI table and the pages name it."""
    return VERDICT_LABELS.get(verdict or "no baseline", str(verdict))


def interval_text(low: float | None, high: float | None) -> str:
    """``+1.2 to +5.6`` (percent), or ``—`` without an interval."""
    return "—" if low is None or high is None else f"{low:+.1f} to {high:+.1f}"


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


def delta_m_sentence(result: Mapping[str, Any]) -> str:
    """The headline: Δm (the mean gain over tasks) and its verdict, in one sentence."""
    s = stored_summary(result, "delta_m")
    if s.verdict == "no baseline":
        return "Single-task baselines were off (or a task has no gain), so there is no Δm."
    return verdict_sentence("Δm, the mean gain over tasks", s)


def trivial_sentence(task: str, entry: Mapping[str, Any]) -> str | None:
    """A warning when a model is no better than the trivial baseline, else None."""
    trivial, hib = entry.get("trivial"), entry.get("higher_is_better")
    if trivial is None:
        return None
    worse = [
        name
        for name, key in (("multi-task", "mtl"), ("single-task", "stl"))
        if entry.get(key) is not None and (entry[key] <= trivial if hib else entry[key] >= trivial)
    ]
    if not worse:
        return None
    kind = KINDS.get(entry.get("kind") or "")
    what = kind.trivial_predictor if kind is not None else BINARY.trivial_predictor
    return (
        f"{task}: the {' and the '.join(worse)} model{'s are' if len(worse) > 1 else ' is'} no "
        f"better than predicting {what} ({entry.get('metric')} {trivial:.4g})."
    )


def trivial_metrics(task: TaskData, split: str = "test") -> dict[str, float]:
    """Every metric of the trivial predictor on ``split``, learned from the training rows.

    Regression predicts the training mean (in the target's units; per target column
    for a multi-output task); classification predicts the training class frequencies,
    so its accuracy is the majority-class rate and its AUC 0.5.
    """
    return task.kind_rules.trivial_metrics(task, split)
