"""Plain logic behind the pages, testable without Streamlit.

Config building and parsing of typed-in values, the option widgets a registry
entry's pydantic model asks for, the objective as LaTeX, metric rows reshaped for
the charts, and the multi-task vs single-task comparison (computed by
``mtlcore.analysis``) laid out as tables and sentences. Nothing here imports
streamlit or trains anything.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel

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
from mtlcore.config import ExperimentConfig

# --- building the config ---------------------------------------------------------------


def build_config(raw: Mapping[str, Any]) -> ExperimentConfig:
    """The validated config of the draft (raises ConfigError with sentences naming keys)."""
    return ExperimentConfig.parse(dict(raw), source="settings")


def parse_widths(text: str, *, what: str = "layer widths", allow_empty: bool = False) -> list[int]:
    """``"64, 32"`` -> ``[64, 32]``; ValueError with a sentence for anything else."""
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts:
        if allow_empty:
            return []
        raise ValueError(f"Give at least one of the {what}, e.g. 64, 32.")
    widths = []
    for p in parts:
        if not p.isdigit() or not 1 <= int(p) <= 4096:
            raise ValueError(
                f"'{p}' is not a valid width in the {what}: use whole numbers from 1 to "
                "4096, separated by commas, e.g. 64, 32."
            )
        widths.append(int(p))
    return widths


def parse_seeds(text: str) -> list[int]:
    """``"0, 1, 2"`` (or ``"0-4"``) -> seeds; ValueError with a sentence for anything else."""
    seeds: list[int] = []
    for p in [p for p in re.split(r"[,\s]+", text.strip()) if p]:
        m = re.fullmatch(r"(\d+)-(\d+)", p)
        if m and int(m[1]) <= int(m[2]):
            seeds.extend(range(int(m[1]), int(m[2]) + 1))
        elif p.isdigit():
            seeds.append(int(p))
        else:
            raise ValueError(
                f"'{p}' is not a seed: use whole numbers separated by commas, e.g. 0, 1, 2 "
                "(or a range such as 0-4)."
            )
    if not seeds:
        raise ValueError("Give at least one seed, e.g. 0.")
    if len(seeds) > 20:
        raise ValueError(f"{len(seeds)} seeds is too many for the dashboard; use at most 20.")
    return list(dict.fromkeys(seeds))


def format_ints(values: Iterable[int]) -> str:
    return ", ".join(str(v) for v in values)


# --- option widgets from a pydantic model -------------------------------------------------

OptionKind = Literal[
    "int",
    "float",
    "bool",
    "choice",
    "widths",
    "per_task_float",
    "per_task_int",
    "float_or_list",
    "int_or_list",
]


@dataclass(frozen=True)
class OptionField:
    """One option of a strategy, weighting method or dataset, as a widget needs it."""

    name: str
    kind: OptionKind
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    choices: tuple[Any, ...] = ()
    required: bool = False

    @property
    def label(self) -> str:
        text = self.name.replace("_", " ").capitalize()
        return text + " (layer widths)" if self.kind == "widths" else text


def option_fields(model: type[BaseModel]) -> list[OptionField]:
    """The options of ``model`` that simple widgets can edit, in declaration order.

    Whole numbers, numbers, yes/no, a fixed set of choices, a list of layer widths
    and a number per task are supported; any other option keeps its default.
    """
    out = []
    for name, info in model.model_fields.items():
        kind, choices = _option_kind(info.annotation)
        if kind is None:
            continue
        low = high = None
        for m in info.metadata:  # annotated_types' Ge/Gt/Le/Lt, read by attribute
            for attr in ("ge", "gt"):
                if getattr(m, attr, None) is not None:
                    low = float(getattr(m, attr))
            for attr in ("le", "lt"):
                if getattr(m, attr, None) is not None:
                    high = float(getattr(m, attr))
        default = None if info.is_required() else info.get_default(call_default_factory=True)
        out.append(
            OptionField(
                name, kind, default, info.description or "", low, high, choices, info.is_required()
            )  # fmt: skip
        )
    return out


def _option_kind(annotation: Any) -> tuple[OptionKind | None, tuple[Any, ...]]:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is bool:
        return "bool", ()
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    if origin is Literal:
        return "choice", tuple(args)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _option_kind(rest[0])
        return _one_or_list_kind(rest), ()
    if origin is list and args and _base(args[0]) is int:
        return "widths", ()
    if origin is dict and len(args) == 2 and args[0] is str:
        value = _base(args[1])
        if value is float:
            return "per_task_float", ()
        if value is int:
            return "per_task_int", ()
    return None, ()


def _one_or_list_kind(members: list[Any]) -> OptionKind | None:
    """``list[float] | float`` (one value, or one per task) -> ``"float_or_list"``; same for int."""
    lists = [a for a in members if typing.get_origin(a) is list]
    single = [_base(a) for a in members if typing.get_origin(a) is not list]
    if len(lists) != 1 or len(single) != 1 or single[0] not in (int, float):
        return None
    element = _base(typing.get_args(lists[0])[0])
    if typing.get_origin(element) in (typing.Union, types.UnionType):  # list[int | None]
        present = [_base(a) for a in typing.get_args(element) if a is not type(None)]
        element = present[0] if len(present) == 1 else None
    if element is not single[0]:
        return None
    return "int_or_list" if element is int else "float_or_list"


def parse_one_or_list(text: str, *, integer: bool, allow_none: bool, what: str) -> Any:
    """``"0.1"`` -> 0.1, ``"0.1, 0.5"`` -> [0.1, 0.5]; with ``allow_none`` an empty field
    or ``all`` means None (every row). ValueError with a sentence for anything else."""
    parts = [p for p in re.split(r"[,;\s]+", text.strip()) if p]
    if not parts:
        if allow_none:
            return None
        raise ValueError(f"Give a value for {what}: one for every task, or one per task.")
    values: list[Any] = []
    for p in parts:
        if allow_none and p.lower() in ("all", "none", "-"):
            values.append(None)
            continue
        try:
            number = float(p)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or (integer and number != int(number)):
            kind = "whole numbers" if integer else "numbers"
            raise ValueError(
                f"'{p}' is not valid in {what}: use {kind}, one for every task or one per "
                "task, separated by commas" + (" ('all' for every row)." if allow_none else ".")
            )
        values.append(int(number) if integer else number)
    return values[0] if len(values) == 1 else values


def format_one_or_list(value: Any) -> str:
    """The text field's form of a value :func:`parse_one_or_list` reads."""
    if value is None:
        return ""
    items = value if isinstance(value, list) else [value]
    return ", ".join("all" if v is None else f"{v:g}" for v in items)


def _base(annotation: Any) -> Any:
    """``Annotated[int, ...]`` -> ``int``."""
    if typing.get_origin(annotation) is typing.Annotated:
        return typing.get_args(annotation)[0]
    return annotation


# --- the objective as LaTeX -------------------------------------------------------------

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "_": r"\_",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def latex_escape(text: str, limit: int = 24) -> str:
    """User text safe inside ``\\text{...}`` (long names are shortened)."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


def objective_latex(
    tasks: Sequence[str],
    *,
    weights: Mapping[str, float] | None,
    method_title: str,
    gradient_method: bool,
    regularization: str,
    reg_lambda: float,
    terms_per_line: int = 2,
) -> str:
    """The joint objective Σ w_i L_i + λR(θ) with the user's values plugged in.

    ``weights`` are fixed weights (equal or static); ``None`` means the method sets
    them during training, shown as w_i(t). An ``aligned`` block of ``terms_per_line``
    terms per line; a gradient method's name on the last line.
    """
    terms = []
    for i, name in enumerate(tasks, start=1):
        loss = rf"L_{{\text{{{latex_escape(name)}}}}}"
        if weights is None:
            terms.append(rf"w_{{{i}}}(t)\,{loss}")
        else:
            terms.append(rf"{_num(weights.get(name, 1.0))}\cdot {loss}")
    if regularization != "none" and reg_lambda > 0:
        norm = r"\lVert\theta\rVert_1" if regularization == "l1" else r"\lVert\theta\rVert_2^2"
        terms.append(rf"{_num(reg_lambda)}\,{norm}")
    # KaTeX never wraps a formula and a page column clips it: a few terms per line, and the
    # gradient method's note on a line of its own, keep it whole in a narrow column.
    rows = [terms[i : i + terms_per_line] for i in range(0, len(terms), terms_per_line)]
    lines = [" + ".join(r) for r in rows] or [r"\dots"]
    text = rf"\min_{{\theta}} \; & {lines[0]}" + "".join(rf" \\ & + {ln}" for ln in lines[1:])
    if gradient_method:  # the name without its gloss: "PCGrad (gradient surgery)" -> PCGrad
        name = latex_escape(method_title.split(" (")[0], 40)
        text += rf" \\ & \text{{(gradients combined by {name})}}"
    return rf"\begin{{aligned}} {text} \end{{aligned}}"


def is_gradient_method(method: str) -> bool:
    """Whether a weighting method combines gradients (PCGrad, MGDA, ...) rather than losses."""
    from mtlcore.catalogue import GRADIENT_METHOD, METHODS

    return METHODS[method].kind == GRADIENT_METHOD


def _num(x: float) -> str:
    s = f"{x:.3g}"
    if "e" in s:
        mant, exp = s.split("e")
        return rf"{mant}\times 10^{{{int(exp)}}}"
    return s


# --- text -------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~:])")
# GitHub-flavoured markdown links bare URLs and e-mail addresses in the text it has already
# unescaped ("http://host", "www.host", "a@host"): a word joiner (U+2060, invisible) after
# the scheme or "www" and before "@" keeps them text.
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|www)(?=[:.])|(@)")
WORD_JOINER = "\u2060"


def md_escape(text: str) -> str:
    """Text that Streamlit's markdown shows as it is: no links (bare URLs included), HTML,
    LaTeX or emphasis."""
    text = _AUTOLINK.sub(lambda m: f"{m[1]}{WORD_JOINER}" if m[1] else f"{WORD_JOINER}@", str(text))
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def duration(seconds: float | None) -> str:
    """``75`` -> ``"1 min 15 s"``; ``None`` -> ``"—"``."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds < 10:
        return f"{seconds:.1f} s"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    m, s = divmod(s, 60)
    if m < 60:
        return f"{m} min {s:02d} s"
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min"


# --- metric rows -> chart frames ------------------------------------------------------------

METRIC_COLUMNS = ["id", "run_id", "step", "epoch", "model", "task", "split", "name", "value"]


def loss_history(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per-epoch losses: columns model, task, split, epoch, loss (train and val)."""
    rows = metrics[(metrics["name"] == "loss") & metrics["split"].isin(["train", "val"])]
    return (
        rows.rename(columns={"value": "loss"})[["model", "task", "split", "epoch", "loss"]]
        .sort_values(["model", "task", "split", "epoch"])
        .reset_index(drop=True)
    )


def weight_history(metrics: pd.DataFrame) -> pd.DataFrame:
    """The multi-task model's mean loss weight per task and epoch: task, epoch, weight."""
    rows = metrics[
        (metrics["name"] == "weight") & (metrics["split"] == "train") & (metrics["model"] == "mtl")
    ]
    return (
        rows.rename(columns={"value": "weight"})[["task", "epoch", "weight"]]
        .sort_values(["task", "epoch"])
        .reset_index(drop=True)
    )


def cosine_history(metrics: pd.DataFrame) -> pd.DataFrame:
    """Gradient cosine between task pairs over training: step, epoch, pair, cosine."""
    rows = metrics[(metrics["name"] == "cosine") & (metrics["model"] == "mtl")]
    out = rows.rename(columns={"value": "cosine"})[["step", "epoch", "task", "cosine"]].copy()
    out["pair"] = out.pop("task").str.replace("|", " · ", regex=False)
    return out.sort_values(["pair", "step"]).reset_index(drop=True)


def val_metric_history(metrics: pd.DataFrame) -> pd.DataFrame:
    """The primary validation metric per epoch: model, task, epoch, metric, value."""
    rows = metrics[(metrics["split"] == "val") & ~metrics["name"].isin(["loss", "weight"])]
    return rows.rename(columns={"name": "metric"})[["model", "task", "epoch", "metric", "value"]]


def task_order(metrics: pd.DataFrame, known: Sequence[str] = ()) -> list[str]:
    """Tasks in the order the config lists them, then any others in order of appearance."""
    seen = list(dict.fromkeys(known))
    losses = metrics[metrics["name"] == "loss"]["task"]
    return seen + [t for t in dict.fromkeys(losses) if t not in seen]


# --- multi-task vs single-task ----------------------------------------------------------------
# The comparison itself (pairing by seed, the interval, the verdict) is computed once in
# mtlcore.analysis (``combine_results`` pools an experiment's one-seed runs); these only
# lay it out for the tables, charts and sentences.

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


# --- predictions from a snapshot ---------------------------------------------------------


def outputs_to_predictions(
    kind: str, outputs: np.ndarray, *, mean: float = 0.0, std: float = 1.0
) -> np.ndarray:
    """Raw model outputs -> predictions: values in the target's units (regression)
    or class indices (classification)."""
    if kind == "regression":
        return outputs[:, 0] * std + mean
    if kind == "binary":
        return (outputs[:, 0] >= 0.0).astype(int)
    return outputs.argmax(axis=1)


def confusion_frame(
    truth: Sequence[Any], pred: Sequence[Any], classes: Sequence[Any]
) -> pd.DataFrame:
    """Counts of (true class, predicted class), every pair present (zeros included)."""
    labels = [str(c) for c in classes]
    counts = pd.crosstab(
        pd.Categorical([str(t) for t in truth], categories=labels),
        pd.Categorical([str(p) for p in pred], categories=labels),
        dropna=False,
    )
    counts.index.name, counts.columns.name = "true", "predicted"
    return counts


# --- the draft in words ------------------------------------------------------------------


def draft_summary(raw: Mapping[str, Any]) -> list[str]:
    """A few short lines describing the experiment being edited (for the sidebar)."""
    data, model, weighting, train = raw["data"], raw["model"], raw["weighting"], raw["train"]
    source = data.get("builtin") or f"your CSV ({len(data.get('csv') or {})} file(s))"
    if data.get("builtin"):
        source += dataset_options_text(data["builtin"], data.get("options") or {})
    if data.get("align_columns") is False:
        source += "; each table its own input layer"
    tasks = raw.get("tasks")
    names = (
        ["all tasks"]
        if tasks is None
        else [t if isinstance(t, str) else t.get("name", "?") for t in tasks]
    )
    seeds = raw.get("seeds") or [0]
    return [
        f"Data: {source}",
        f"Tasks: {', '.join(names) or 'none yet'}",
        f"Sharing: {model['strategy']} {format_ints(model['hidden'])}",
        f"Weighting: {weighting['method']}",
        f"Training: {train['optimizer']}, lr {train['lr']:g}, {training_length(train)}, "
        f"batch {train['batch_size']}",
        f"Seeds: {format_ints(seeds)}; baselines {'on' if raw.get('baselines', True) else 'off'}",
    ]


def training_length(train: Mapping[str, Any]) -> str:
    """``30 epochs`` or ``500 steps`` (``train.steps`` replaces the epochs)."""
    steps = train.get("steps")
    return f"{steps} steps" if steps else f"{train.get('epochs')} epochs"


def dataset_options_text(builtin: str, options: Mapping[str, Any]) -> str:
    """`` (relatedness 0.9, labelled rows all / 30)``: the options that differ from the
    dataset's defaults, so two experiments on one dataset can be told apart; ``""`` if none."""
    from mtlcore.data.builtin import BUILTIN_DATASETS

    entry = BUILTIN_DATASETS.get(builtin)
    if entry is None or not options:
        return ""
    defaults = entry.options_model().model_dump(mode="json")
    changed = [
        f"{k.replace('_', ' ')} {_option_text(v)}"
        for k, v in options.items()
        if defaults.get(k, object()) != v
    ]
    return f" ({', '.join(changed)})" if changed else ""


def _option_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | list | None):
        return str(value).lower() if isinstance(value, bool) else str(value)
    # one value per task reads "all / 30", as the datasets' descriptions write it: commas
    # already separate the options
    return format_one_or_list(value).replace(", ", " / ") or "all"


def config_summary(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The few settings a run list shows, from a raw config dict."""
    data, model, weighting, train = (
        raw.get(k) or {} for k in ("data", "model", "weighting", "train")
    )
    tasks = raw.get("tasks")
    names = (
        "all"
        if tasks is None
        else ", ".join(t if isinstance(t, str) else str(t.get("name")) for t in tasks)
    )
    builtin = data.get("builtin")
    return {
        # with the options that differ from the dataset's defaults: two synthetic runs apart
        "dataset": builtin + dataset_options_text(builtin, data.get("options") or {})
        if builtin
        else "csv: " + ", ".join(data.get("csv") or {}),
        "tasks": names,
        "strategy": model.get("strategy"),
        "weighting": weighting.get("method"),
        "optimizer": f"{train.get('optimizer')} lr {train.get('lr')}",
        "epochs": train.get("epochs"),
    }


# --- representations -------------------------------------------------------------------------


def representation_points(
    task: str,
    n_rows: int,
    truth: np.ndarray | None = None,
    prediction: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per sampled validation row of ``task``: task, target, prediction, error.

    ``truth`` and ``prediction`` come from the snapshot itself (numbers in the target's
    units, or class labels); without them (snapshots saved before they were stored) only
    ``task`` is known. Regression: the absolute error; classification: right/wrong. A
    multi-output task's (rows, k) values are coloured by its *first* output (its first
    target column; :func:`multi_output_note` says so under the chart): one real value
    in the column's units reads like any other task's, where a norm over outputs on
    different scales would mostly show the largest one.
    """
    out = pd.DataFrame({"task": [task] * n_rows})
    if truth is None or prediction is None or len(truth) != n_rows:
        return out
    if truth.ndim == 2:
        truth, prediction = truth[:, 0], np.asarray(prediction)[:, 0]
    if truth.dtype.kind in "biuf":
        out["target"] = truth.astype(float)
        out["prediction"] = np.asarray(prediction, dtype=float)
        out["error"] = np.abs(out["prediction"] - out["target"])
    else:
        out["target"] = [str(v) for v in truth]
        out["prediction"] = [str(v) for v in prediction]
        out["error"] = np.where(out["target"] == out["prediction"], "right", "wrong")
    return out


def multi_output_note(targets: Mapping[str, Sequence[str]], shown: Sequence[str]) -> str | None:
    """The caption for the tasks among ``shown`` with several outputs: which one colours."""
    parts = [
        f"{md_escape(t)} by its first output, {md_escape(targets[t][0])} (of {len(targets[t])})"
        for t in shown
        if len(targets.get(t, ())) > 1
    ]
    if not parts:
        return None
    return (
        "True value, prediction and error of a multi-output task show one output: "
        + "; ".join(parts)
        + "."
    )
