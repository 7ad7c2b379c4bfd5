"""Task affinity: how much a step on one task's gradient lowers another task's loss.

The lookahead inter-task affinity of Fifty, Amid, Zhao, Yu, Anil and Finn 2021
("Efficiently Identifying Task Groupings for Multi-Task Learning", NeurIPS — TAG).
Every ``train.affinity_every`` steps the training loop takes, for each task i, a
plain SGD lookahead step of the shared parameters with task i's gradient alone,
θ_s' = θ_s − η ∇_{θ_s} L_i (η = ``train.lr``), and measures on the same batch

    Z_{i→j} = 1 − L_j(θ_s', θ_j) / L_j(θ_s, θ_j)

(positive: task i's update also lowers task j's loss; negative: it raises it). The
measurement happens on a side copy of the parameters and leaves the real training
untouched (``mtlcore.train.lookahead_affinity``). This module averages those rows
into a T × T matrix (row = the task that steps, column = the task measured) and
suggests a grouping of the tasks from it. Nothing here imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

EXHAUSTIVE_MAX_TASKS = 8  # Bell(8) = 4140 partitions; Bell(9) = 21147 still fine, but we stop here
GROUPING_RULE = (
    "every partition of the tasks is scored by the mean over tasks of the mean affinity "
    "each task receives from its group-mates (a task alone scores 0); the best one wins, "
    "and among equal scores the one with fewer groups"
)


@dataclass(frozen=True)
class Grouping:
    """A suggested partition of the tasks into groups that train together."""

    groups: list[list[str]]
    score: float  # mean over tasks of the affinity received from group-mates
    rule: str
    exhaustive: bool  # False: more than EXHAUSTIVE_MAX_TASKS tasks, found greedily

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def affinity_matrix(rows: Iterable[Mapping[str, Any]], tasks: Sequence[str]) -> np.ndarray:
    """The mean of the lookahead affinities Z_{i→j} as a T × T array (row ``source`` i,
    column ``target`` j); NaN where nothing was measured. Non-finite rows are skipped."""
    index = {t: k for k, t in enumerate(tasks)}
    total = np.zeros((len(tasks), len(tasks)))
    count = np.zeros_like(total)
    for r in rows:
        i, j, z = index.get(r["source"]), index.get(r["target"]), r["affinity"]
        if i is None or j is None or z is None or not math.isfinite(z):
            continue
        total[i, j] += z
        count[i, j] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def partitions(items: Sequence[int]) -> Iterator[list[list[int]]]:
    """Every set partition of ``items`` (Bell(n) of them), each a list of groups."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for sub in partitions(rest):
        yield [[first], *sub]
        for k in range(len(sub)):
            yield [*sub[:k], [first, *sub[k]], *sub[k + 1 :]]


def grouping_score(matrix: np.ndarray, groups: Sequence[Sequence[int]]) -> float:
    """Mean over tasks of the mean affinity Z_{i→j} task j receives from its group-mates i
    (0 for a task alone; unmeasured entries count as 0)."""
    z = np.nan_to_num(np.asarray(matrix, dtype=float), nan=0.0)
    n = sum(len(g) for g in groups)
    total = 0.0
    for g in groups:
        if len(g) < 2:
            continue
        for j in g:
            total += sum(z[i, j] for i in g if i != j) / (len(g) - 1)
    return total / n if n else 0.0


def suggest_grouping(matrix: np.ndarray, tasks: Sequence[str]) -> Grouping:
    """The grouping of ``tasks`` the affinity ``matrix`` suggests (rule: :data:`GROUPING_RULE`).

    Up to :data:`EXHAUSTIVE_MAX_TASKS` tasks every partition is scored; beyond that,
    greedily: start from singletons and keep merging the two groups whose merge gives
    the best score, while that does not lower it. TAG itself picks groups under a budget of networks
    by a branch-and-bound search; scoring by received affinity is its criterion without
    the budget.

    >>> z = np.array([[0, .5, -.2], [.5, 0, -.2], [-.2, -.2, 0]])
    >>> suggest_grouping(z, ["a", "b", "c"]).groups
    [['a', 'b'], ['c']]
    """
    n = len(tasks)
    best: tuple[float, int, list[list[int]]] | None = None
    if n <= EXHAUSTIVE_MAX_TASKS:
        for p in partitions(list(range(n))):
            s = grouping_score(matrix, p)
            if (
                best is None
                or s > best[0] + 1e-12
                or (abs(s - best[0]) <= 1e-12 and len(p) < best[1])
            ):
                best = (s, len(p), p)
        exhaustive = True
    else:
        groups = [[i] for i in range(n)]
        score = grouping_score(matrix, groups)
        while True:
            options = [
                (grouping_score(matrix, merged), merged)
                for a in range(len(groups))
                for b in range(a + 1, len(groups))
                for merged in [[g for k, g in enumerate(groups) if k not in (a, b)]
                               + [groups[a] + groups[b]]]
            ]  # fmt: skip
            top = max(options, key=lambda o: o[0], default=None)
            if top is None or top[0] < score - 1e-12:  # ties merge, as above: fewer groups
                break
            score, groups = top
        best = (score, len(groups), groups)
        exhaustive = False
    assert best is not None
    ordered = sorted((sorted(g) for g in best[2]), key=lambda g: g[0])
    return Grouping([[tasks[i] for i in g] for g in ordered], float(best[0]), GROUPING_RULE,
                    exhaustive)  # fmt: skip


def affinity_summary(
    rows: Sequence[Mapping[str, Any]], tasks: Sequence[str], every: int
) -> dict[str, Any] | None:
    """What ``result.json`` holds under ``affinity`` (None when nothing was measured)."""
    if not rows:
        return None
    matrix = affinity_matrix(rows, tasks)
    steps = {(r.get("seed", 0), r["step"]) for r in rows}
    return {
        "every": int(every),
        "tasks": list(tasks),
        "matrix": [[_num(v) for v in row] for row in matrix],
        "measurements": len(steps),
        "grouping": suggest_grouping(matrix, tasks).to_dict(),
    }


def _num(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None
