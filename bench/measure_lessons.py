"""Re-measure the figures every lesson's ``measured`` text and docs/lessons.md quote.

For a lesson key (or ``all``) and a seed set, this runs the lesson's presets exactly as
the Learn page loads them, as cells of the lesson's grid (``Lesson.sweep``: the expansion
the Sweep page and the claim tests use; presets of one baseline group reuse its first
preset's baselines), with the measurements the claims do not read (gradient cosines,
task affinity, and snapshots unless a figure of the lesson reads them) turned off, as
the claim tests do (``measurements_off``), on the CPU, and prints every figure the lesson's
text quotes, in the text's own form, so the text can be rewritten from the output.
Where a figure is not a preset run it reuses the lesson's own study function or the
claim test's measuring function (the few-shot study, the representation's kNN R² and
CKA, the digit picture's grouping), so bench and test cannot disagree on what a figure
means.

Lesson 4 (conflicting gradients) is not measured: its 2-D toy trains no table (a point
moved by Adam on two closed-form losses, ``mtlcore/lessons/toy2d.py``), so neither
batch groups nor preprocessing can change its numbers; ``bench/bench_toy2d.py`` and
``tests/test_lesson_toy2d.py`` cover it.

    OMP_NUM_THREADS=1 .venv/bin/python bench/measure_lessons.py few-labels --seeds 0-4
    OMP_NUM_THREADS=1 .venv/bin/python bench/measure_lessons.py all --seeds 3-5 --json out.json

``--extra`` adds the side figures the docs quote beyond the claims (lesson 2's other
relatedness stops, lesson 3's run at the model's lr, lesson 6's Reptile at relatedness 0,
lesson 7's wide trunk); they cost about as much again.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from mtlcore.analysis import summarize_gains  # noqa: E402
from mtlcore.config import ExperimentConfig  # noqa: E402
from mtlcore.lessons import LESSONS  # noqa: E402
from mtlcore.sweep import Grid, by_variant, measurements_off, run_cell, run_cells  # noqa: E402
from mtlcore.train import configure_torch  # noqa: E402

Figures = dict[str, Any]


# --- running presets --------------------------------------------------------------------


def lesson_grid(
    lesson: str,
    seeds: Sequence[int],
    presets: Sequence[str] | None = None,
    *,
    snapshots: bool = False,
    changes: Mapping[str, Any] | None = None,
) -> Grid:
    """The lesson's grid (``Lesson.sweep``: its presets, as the page loads them) on
    ``seeds``, measurement the figures do not read off as in the claim tests
    (``measurements_off``: snapshots kept only with ``snapshots``); ``presets``: only these;
    ``changes``: ``{"model.hidden": [32, 32]}``."""
    off = measurements_off(snapshots=snapshots)
    return LESSONS[lesson].sweep(seeds, {**off, **(changes or {})}, presets)


def timed(label: str, run: Callable[[ExperimentConfig], dict[str, Any]]) -> Callable:
    """``run`` that says on stderr how long each config took."""

    def timed_run(config: ExperimentConfig) -> dict[str, Any]:
        started = time.perf_counter()
        result = run(config)
        print(f"  [{label}/{config.name}: {time.perf_counter() - started:.0f} s]",
              file=sys.stderr)  # fmt: skip
        return result

    return timed_run


def run_preset(
    lesson: str,
    preset: str,
    seeds: Sequence[int],
    *,
    baselines: bool = True,
    snapshots: bool = False,
    changes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One preset with ``changes`` (a setting off the lesson's grid), as a cell of its grid
    (:func:`lesson_grid`), with or without baselines: its result (with ``snapshots``, its
    snapshots per (seed, model) under ``"snapshots"``)."""
    grid = lesson_grid(lesson, seeds, [preset], snapshots=snapshots, changes=changes)
    config = grid.variant(preset).member_config(grid.seeds, trains_baselines=baselines)
    return timed(lesson, lambda c: run_cell(c, snapshots=snapshots))(config)


def run_grid(
    lesson: str, seeds: Sequence[int], presets: Sequence[str], *, snapshots: bool = False
) -> dict[str, dict[str, Any]]:
    """Several presets as the lesson's grid (the presets of one baseline group share its
    first preset's baselines): preset -> its result, compared with its group's baselines by
    seed (``by_variant``); with ``snapshots``, each with its snapshots."""
    grid = lesson_grid(lesson, seeds, presets, snapshots=snapshots)
    run = timed(lesson, lambda c: run_cell(c, snapshots=snapshots))
    return by_variant(grid, run_cells(grid, run=run))


# --- how figures are written ------------------------------------------------------------


def signed(x: float, digits: int = 1) -> str:
    return f"{x:+.{digits}f}".replace("-", "−")


def plain(x: float, digits: int = 2) -> str:
    return f"{x:.{digits}f}".replace("-", "−")


def interval(values: Iterable[float]) -> str:
    """Mean [95 % t-interval] of per-seed values, as the lessons write it."""
    s = summarize_gains(list(values))
    if s.low is None or s.high is None:
        return f"{signed(s.mean)} (one seed)"
    return f"{signed(s.mean)} [{signed(s.low)}, {signed(s.high)}] {s.verdict}"


def per_seed(values: Iterable[float], digits: int = 1, sign: bool = True) -> str:
    return " / ".join(signed(v, digits) if sign else plain(v, digits) for v in values)


def span(values: Iterable[float], digits: int = 2) -> str:
    v = list(values)
    return f"{plain(min(v), digits)}–{plain(max(v), digits)}"


def by_seed(entry: Mapping[str, Any], key: str = "gain_by_seed") -> list[float]:
    """A result entry's per-seed values in seed order."""
    return [float(v) for _, v in sorted(entry[key].items(), key=lambda kv: int(kv[0]))]


def line(label: str, text: str) -> None:
    print(f"  {label}: {text}")


# --- lesson 1 ---------------------------------------------------------------------------

FEW_LABELS_TASKS = {"related": "task1", "unrelated": "task1", "opposed": "task1",
                    "houses": "apartment_price", "houses-separate": "apartment_price"}  # fmt: skip


def few_labels(seeds: Sequence[int], extra: bool) -> Figures:
    """The data-poor task's gain with each partner (and relatedness −1, the claims test's)."""
    gains: dict[str, list[float]] = {}
    # Every preset changes the data, so each is its own baseline group in the grid.
    grid = run_grid("few-labels", seeds, [p for p in FEW_LABELS_TASKS if p != "opposed"])
    for preset, task in FEW_LABELS_TASKS.items():
        if preset == "opposed":
            result = run_preset("few-labels", "related", seeds,
                                changes={"data.options.relatedness": -1.0})  # fmt: skip
        else:
            result = grid[preset]
        gains[preset] = by_seed(result["tasks"][task])
        line(f"{preset} ({task})", f"{interval(gains[preset])}; per seed "
             f"{per_seed(gains[preset])}")  # fmt: skip
    for a, b in (("related", "unrelated"), ("houses", "houses-separate")):
        wins = sum(x > y for x, y in zip(gains[a], gains[b], strict=True))
        line(f"{a} ahead of {b}", f"{wins} of {len(seeds)} seeds; "
             f"by {per_seed(x - y for x, y in zip(gains[a], gains[b], strict=True))}")  # fmt: skip
    return {"gains": gains}


# --- lesson 2 ---------------------------------------------------------------------------

REMEDY_PRESETS = ("mmoe", "cross-stitch", "soft")
OTHER_RELATEDNESS = (0.8, 0.9, 0.95)  # --extra: where hard sharing's harm turns


def sharing_hurts(seeds: Sequence[int], extra: bool) -> Figures:
    out: Figures = {}
    grid = run_grid("sharing-hurts", seeds, ["hard", *REMEDY_PRESETS, "related-0.5", "related-1"])
    hard = grid["hard"]
    hard_dm = by_seed(hard, "delta_m_by_seed")
    out["hard"] = hard_dm
    line("hard Δm", f"{interval(hard_dm)}; per seed {per_seed(hard_dm)}")
    line("hard task gains (mean)", ", ".join(f"{n} {signed(t['gain'])}"
                                             for n, t in hard["tasks"].items()))  # fmt: skip
    for key in REMEDY_PRESETS:
        dm = by_seed(grid[key], "delta_m_by_seed")  # against hard's baselines (one group)
        diff = [r - h for r, h in zip(dm, hard_dm, strict=True)]
        out[key], out[f"{key}-hard"] = dm, diff
        line(f"{key} Δm", f"{interval(dm)}; per seed {per_seed(dm)}")
        line(f"{key} − hard, paired", f"{interval(diff)}; per seed {per_seed(diff)}")
    for key in ("related-0.5", "related-1"):
        dm = by_seed(grid[key], "delta_m_by_seed")
        out[key] = dm
        line(f"{key} Δm", f"{interval(dm)}; per seed {per_seed(dm)}; "
             f"above relatedness 0 by {per_seed(d - h for d, h in zip(dm, hard_dm))}")  # fmt: skip
    for r in OTHER_RELATEDNESS if extra else ():
        dm = by_seed(run_preset("sharing-hurts", "hard", seeds,
                                changes={"data.options.relatedness": r}), "delta_m_by_seed")  # fmt: skip
        out[f"related-{r}"] = dm
        line(f"related-{r} Δm", f"{interval(dm)}; per seed {per_seed(dm)}")
    return out


# --- lesson 3 ---------------------------------------------------------------------------


def loss_scales(seeds: Sequence[int], extra: bool) -> Figures:
    from tests.test_lesson_loss_scales import loss_ratio, states, train_loss

    out: Figures = {}
    presets = ["equal", "uncertainty", "gradnorm", "toy-equal", "toy-gradnorm"]
    # Two baseline groups: the synthetic presets' (equal's) and the toy presets' (toy-equal's).
    runs = run_grid("loss-scales", seeds, presets)
    for preset in presets:
        for task in ("task0", "task1"):
            g = by_seed(runs[preset]["tasks"][task])
            out[f"{preset}/{task}"] = g
            line(f"{preset}, {task} gain", f"{interval(g)}; per seed {per_seed(g)}")
    equal = out["equal/task0"]
    for preset in ("uncertainty", "gradnorm"):
        ahead = [g - e for g, e in zip(out[f"{preset}/task0"], equal, strict=True)]
        line(f"{preset} − equal, task0", f"per seed {per_seed(ahead)}; "
             f"ahead on {sum(a > 0 for a in ahead)} of {len(ahead)}")  # fmt: skip

    def sigmas(result: dict[str, Any]) -> None:
        sigma = [(seed, state["sigma"]) for seed, state in states(result)]
        for task in ("task0", "task1"):
            line(f"  σ {task}", span(s[task] for _, s in sigma))
        line("  σ1/σ0", span((s["task1"] / s["task0"] for _, s in sigma), 1))
        line("  σ²/final train loss", span(s[t] ** 2 / train_loss(result, seed, t)
                                         for seed, s in sigma for t in s))  # fmt: skip

    line("uncertainty", "learned σ (true 0.3 and 3)")
    sigmas(runs["uncertainty"])
    if extra:
        line("uncertainty at the model's lr (no weight_lr)", "")
        result = run_preset("loss-scales", "uncertainty", seeds,
                            changes={"weighting.options": {}})  # fmt: skip
        sigmas(result)
        line("  task0 gain", per_seed(by_seed(result["tasks"]["task0"])))
    for preset, name in (("gradnorm", "GradNorm"), ("toy-gradnorm", "toy GradNorm")):
        means = [state["mean_weights"] for _, state in states(runs[preset])]
        line(f"{name} mean weights", f"task0 {span(m['task0'] for m in means)}, "
             f"task1 {span(m['task1'] for m in means)}")  # fmt: skip
    for preset in ("toy-equal", "toy-gradnorm"):
        result = runs[preset]
        ratios = {t: [loss_ratio(result, seed, t) for seed in result["seeds"]]
                  for t in ("task0", "task1")}  # fmt: skip
        out[f"{preset}/ratios"] = ratios
        line(f"{preset} L(end)/L(0)", f"σ = 1 task {span(ratios['task0'])}, "
             f"σ = 100 task {span(ratios['task1'])}")  # fmt: skip
    last = [state["weights"]["task1"] for _, state in states(runs["toy-gradnorm"])]
    line("toy GradNorm last weight of the σ = 100 task", per_seed(last, 4, sign=False))
    rmse = {p: by_seed(runs[p]["tasks"]["task0"], "mtl_by_seed")
            for p in ("toy-equal", "toy-gradnorm")}  # fmt: skip
    line("toy task0 RMSE equal / gradnorm", f"{per_seed(rmse['toy-equal'], 3, False)} vs "
         f"{per_seed(rmse['toy-gradnorm'], 3, False)}")  # fmt: skip
    return out


# --- lesson 5 ---------------------------------------------------------------------------


def representation(seeds: Sequence[int], extra: bool) -> Figures:
    from tests.test_lesson_representation import EARLY_EPOCH, measure

    out: Figures = {}
    for preset in ("related", "unrelated"):
        m = measure(preset, tuple(seeds))
        out[preset] = m
        line(f"{preset} sorted (kNN R²), multi-task", per_seed(m["mtl"], 2, False))
        line(f"{preset} sorted (kNN R²), single-task", per_seed(m["stl"], 2, False))
        line(f"{preset} CKA mean over epochs", per_seed(m["cka_mean"], 2, False))
        line(f"{preset} CKA last epoch", per_seed(m["cka"], 3, False))
        line(f"{preset} CKA to last at epoch 0 → {EARLY_EPOCH}",
             " / ".join(f"{plain(a)}→{plain(b)}" for a, b in zip(m["start"], m["early"])))  # fmt: skip
    return out


# --- lesson 6 ---------------------------------------------------------------------------

FEW_SHOT_TABLE_KS = (1, 5, 10, 20, 100)


def learning_to_learn(seeds: Sequence[int], extra: bool) -> Figures:
    from mtlcore.lessons.few_shot import FewShotOptions, run

    related = run(FewShotOptions(relatedness=0.9, seeds=list(seeds)))
    unrelated = run(FewShotOptions(relatedness=0.0, seeds=list(seeds),
                                   methods=["frozen", "scratch", "reptile"] if extra
                                   else ["frozen", "scratch"]))  # fmt: skip
    print(f"  [few-shot studies: {related['seconds']:.0f} s, {unrelated['seconds']:.0f} s]",
          file=sys.stderr)  # fmt: skip

    def values(result: dict[str, Any], method: str, k: int) -> list[float]:
        return [r["rmse"] for r in result["rows"] if r["method"] == method and r["k"] == k]

    def cell(v: list[float]) -> str:
        return f"{np.mean(v):.2f} ± {np.std(v, ddof=1):.2f}"

    line("trivial (predicting the mean)", f"{related['trivial']:.2f}")
    print("  | k | frozen, r 0.9 | scratch | Reptile, r 0.9 | frozen, r 0 |")
    for k in related["ks"]:
        mark = "" if k in FEW_SHOT_TABLE_KS else " (not in the table)"
        print(f"  | {k} | {cell(values(related, 'frozen', k))} | "
              f"{cell(values(related, 'scratch', k))} | {cell(values(related, 'reptile', k))} | "
              f"{cell(values(unrelated, 'frozen', k))} |{mark}")  # fmt: skip
    for method, result in (("frozen", related), ("scratch", related), ("reptile", related),
                           ("frozen r 0", unrelated)):  # fmt: skip
        m = method.split()[0]
        line(f"{method} per seed", "; ".join(f"k {k}: {per_seed(values(result, m, k), 2, False)}"
                                             for k in result["ks"]))  # fmt: skip
    if extra:
        v = [x for k in unrelated["ks"] for x in values(unrelated, "reptile", k)]
        line("Reptile at r 0, every k and seed", span(v))
    return {"related": related["rows"], "unrelated": unrelated["rows"],
            "trivial": [related["trivial"], unrelated["trivial"]]}  # fmt: skip


# --- lesson 7 ---------------------------------------------------------------------------


def hierarchical(seeds: Sequence[int], extra: bool) -> Figures:
    out: Figures = {}
    grid = run_grid("hierarchical", seeds, ["hierarchical", "hard"])  # one baseline group
    hier, hard = grid["hierarchical"], grid["hard"]
    for task in ("high", "low"):
        h, d = by_seed(hier["tasks"][task]), by_seed(hard["tasks"][task])
        diff = [a - b for a, b in zip(h, d, strict=True)]
        out[task] = {"hierarchical": h, "hard": d, "difference": diff}
        line(f"{task} task, hierarchical", f"{interval(h)} ({', '.join(signed(x) for x in h)})")
        line(f"{task} task, hard", f"{interval(d)} ({', '.join(signed(x) for x in d)})")
        line(f"{task}, hierarchical − hard",
             f"{interval(diff)} ({', '.join(signed(x) for x in diff)})")  # fmt: skip
        line(f"{task} RMSE hierarchical / hard / alone",
             f"{per_seed(by_seed(hier['tasks'][task], 'mtl_by_seed'), 3, False)}; "
             f"{per_seed(by_seed(hard['tasks'][task], 'mtl_by_seed'), 3, False)}; "
             f"{per_seed(by_seed(hier['tasks'][task], 'stl_by_seed'), 3, False)}")  # fmt: skip
    epochs = LESSONS["hierarchical"].preset("hard").experiment().train.epochs
    for name, result in (("hard", hard), ("hierarchical", hier)):

        def loss(split: str, epoch: int, rows: list[dict[str, Any]] = result["history"]) -> list:
            return [r["loss"] for r in sorted(rows, key=lambda r: r["seed"])
                    if r["task"] == "high" and r["split"] == split and r["epoch"] == epoch
                    and r["model"] == "mtl"]  # fmt: skip

        first, end, train_end = loss("val", 1), loss("val", epochs), loss("train", epochs)
        line(f"{name}: high task's train loss after epoch {epochs}", per_seed(train_end, 3, False))
        line(f"{name}: high task's val loss after epoch 1 → {epochs}",
             " / ".join(f"{plain(a)}→{plain(b)} (×{b / a:.2f})" for a, b in zip(first, end)))  # fmt: skip
    if extra:
        wide = {"model.hidden": [32, 32]}
        w_hier = run_preset("hierarchical", "hierarchical", seeds, baselines=False, changes=wide)
        w_hard = run_preset("hierarchical", "hard", seeds, baselines=False, changes=wide)
        a = by_seed(w_hier["tasks"]["high"], "mtl_by_seed")
        b = by_seed(w_hard["tasks"]["high"], "mtl_by_seed")
        line("hidden [32, 32], high RMSE hierarchical vs hard",
             f"{statistics.mean(a):.3f} vs {statistics.mean(b):.3f}; hierarchical ahead on "
             f"{sum(x < y for x, y in zip(a, b))} of {len(a)}")  # fmt: skip
    return out


# --- lesson 8 ---------------------------------------------------------------------------


def vision(seeds: Sequence[int], extra: bool) -> Figures:
    from tests.test_lesson_vision import grouping

    out: Figures = {}
    # Each preset keeps other digit labels, so each is its own baseline group in the grid.
    grid = run_grid("vision", seeds, ["few-digit-labels", "all-digit-labels"], snapshots=True)
    for preset, result in grid.items():
        digit = result["tasks"]["digit"]
        g = by_seed(digit)
        out[preset] = g
        line(f"{preset} digit gain", f"{interval(g)}; per seed {per_seed(g)}")
        line(f"{preset} accuracy multi-task vs single-task",
             f"{statistics.mean(by_seed(digit, 'mtl_by_seed')):.3f} vs "
             f"{statistics.mean(by_seed(digit, 'stl_by_seed')):.3f}")  # fmt: skip
        if preset == "few-digit-labels":  # the picture the lesson's figures read
            snaps = result["snapshots"]
            before = [grouping(snaps[(s, "mtl")][0]) for s in seeds]
            mtl = [grouping(snaps[(s, "mtl")][-1]) for s in seeds]
            stl = [grouping(snaps[(s, "stl")][-1]) for s in seeds]
            out["grouping"] = {"before": before, "mtl": mtl, "stl": stl}
            line("grouping before training (multi-task)", per_seed(before, 2, False))
            line("grouping at the last epoch, multi-task vs single-task",
                 f"{per_seed(mtl, 2, False)} vs {per_seed(stl, 2, False)}; advantage "
                 f"{per_seed((m - s for m, s in zip(mtl, stl)), 2)}")  # fmt: skip
    return out


# --- the command ------------------------------------------------------------------------

MEASURES: dict[str, Callable[[Sequence[int], bool], Figures]] = {
    "few-labels": few_labels,
    "sharing-hurts": sharing_hurts,
    "loss-scales": loss_scales,
    "representation": representation,
    "learning-to-learn": learning_to_learn,
    "hierarchical": hierarchical,
    "vision": vision,
}
UNAFFECTED = {"conflicting-gradients": "its 2-D toy trains no table; nothing to re-measure"}


def seed_list(text: str) -> list[int]:
    """``0-2`` or ``0,1,2`` -> [0, 1, 2]."""
    if "-" in text:
        low, high = (int(x) for x in text.split("-"))
        return list(range(low, high + 1))
    return [int(x) for x in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    keys = [*MEASURES, *UNAFFECTED, "all"]
    parser.add_argument("lessons", nargs="+", choices=keys, metavar="LESSON",
                        help=f"one or more of: {', '.join(keys)}")  # fmt: skip
    parser.add_argument("--seeds", type=seed_list, default=[0, 1, 2], help="e.g. 0-2 or 3,4,5")
    parser.add_argument("--extra", action="store_true", help="also the side figures (slower)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    configure_torch(1)
    chosen = list(MEASURES) if "all" in args.lessons else args.lessons
    figures: dict[str, Any] = {"seeds": args.seeds}
    for key in chosen:
        print(f"== {key} (seeds {args.seeds[0]}–{args.seeds[-1]})", flush=True)
        if key in UNAFFECTED:
            print(f"  not measured: {UNAFFECTED[key]}")
            continue
        started = time.perf_counter()
        figures[key] = MEASURES[key](args.seeds, args.extra)
        print(f"  [{key}: {time.perf_counter() - started:.0f} s]", file=sys.stderr, flush=True)
        if args.json:
            args.json.write_text(json.dumps(figures, indent=1, default=_json), encoding="utf-8")
        sys.stdout.flush()
    return 0


def _json(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, np.generic):
        return x.item()
    raise TypeError(f"not JSON: {type(x)}")


if __name__ == "__main__":
    sys.exit(main())
