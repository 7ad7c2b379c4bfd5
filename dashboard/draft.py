"""The experiment being edited: its config built and validated, typed-in widths and seeds
parsed, and the draft (or a stored run's config) summed up in words."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from dashboard.options import format_one_or_list
from mtlcore.config import ExperimentConfig


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
