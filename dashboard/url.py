"""The experiment in the link: a draft and the query parameters of a URL, both ways.

The *draft* is the raw experiment config (the dict ``ExperimentConfig`` validates),
so what the pages edit is exactly what a run saves. Every value that differs from
the dashboard's defaults goes into the query string (``?model.strategy=mmoe&
train.lr=0.003``), so a link reproduces the experiment; ``?hide=optimizer,lr``
hides those controls (classroom mode: the teacher fixes them in the link) and
``?exp=12`` names the experiment the Train, Compare and Representations pages show.

Controls ``hide`` can name: a setting's own key (``optimizer``, ``lr``, ``epochs``,
``batch_size``, ``regularization``, ``reg_lambda``, ``momentum``, ``weight_decay``,
``strategy``, ``hidden``, ``head_hidden``, ``activation``, ``dropout``, ``method``,
``seeds``, ``baselines``, ``snapshot_every``, ``grad_cosine_every``, ``affinity_every``,
``pairwise``, ``name``; ``epochs`` also hides the epochs/steps choice and ``schedule`` the
warm-up and γ) or a
group: ``dataset`` (the data source and dataset), ``dataset_options``, ``tasks``,
``upload``, ``strategy_options``, ``weights`` (the weighting method's options); or an
option's own name (``n_experts``, ``relatedness``).

Plain functions, no Streamlit: :mod:`dashboard.state` binds them to the session and the
address bar.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mtlcore.config import ConfigError, ExperimentConfig

HIDE_KEY = "hide"
EXP_KEY = "exp"
LESSON_KEY = "lesson"  # ?lesson=few-labels opens that lesson on the Learn page
PRESET_KEY = "preset"  # ?lesson=few-labels&preset=related loads that preset as the draft
LINK_ONLY = (HIDE_KEY, EXP_KEY, LESSON_KEY, PRESET_KEY)  # link keys that are not settings
UPLOAD_PREFIX = "upload:"

# The order keys are applied in when read from a URL: data before tasks before the rest.
SECTION_ORDER = ("name", "data", "tasks", "model", "weighting", "train", "baselines", "seeds")


# The controls ``?hide=`` can name besides the options of the registries (see the module
# docstring); :func:`hide_ids` adds those.
HIDE_CONTROLS = (
    "optimizer", "lr", "epochs", "batch_size", "regularization", "reg_lambda", "momentum",
    "weight_decay", "schedule", "strategy", "hidden", "head_hidden", "activation", "dropout",
    "method", "seeds", "baselines", "snapshot_every", "grad_cosine_every", "affinity_every",
    "pairwise", "name",
)  # fmt: skip
HIDE_GROUPS = ("dataset", "dataset_options", "tasks", "upload", "strategy_options", "weights")


def hide_ids() -> set[str]:
    """Every name ``?hide=`` understands: controls, groups, and every option of a sharing
    strategy, weighting method or built-in dataset."""
    from mtlcore.data.builtin import BUILTIN_DATASETS
    from mtlcore.models import STRATEGIES
    from mtlcore.weighting import METHODS

    models = [e.options_model for e in (*STRATEGIES.values(), *METHODS.values())]
    models += [d.options_model for d in BUILTIN_DATASETS.values()]
    return {*HIDE_CONTROLS, *HIDE_GROUPS, *(f for m in models for f in m.model_fields)}


# Three seeds by default: one seed cannot tell a gain from noise, so a first run should
# already carry a verdict. Each seed is one run; free workers take them side by side.
DEFAULT_SEEDS = [0, 1, 2]


def default_draft() -> dict[str, Any]:
    """The dashboard's starting experiment: houses, hard sharing, snapshots every epoch,
    three seeds. The link holds only what differs from this."""
    config = ExperimentConfig.parse({"train": {"snapshot_every": 1}, "seeds": DEFAULT_SEEDS})
    return config.model_dump(mode="json")


def flatten(draft: Mapping[str, Any]) -> dict[str, Any]:
    """``{"train": {"lr": 0.1}}`` -> ``{"train.lr": 0.1}`` (one level: options stay dicts)."""
    flat: dict[str, Any] = {}
    for key, value in draft.items():
        if isinstance(value, dict) and key in ("data", "model", "weighting", "train"):
            for sub, v in value.items():
                flat[f"{key}.{sub}"] = v
        else:
            flat[key] = value
    return flat


def encode_value(value: Any) -> str:
    """A value as URL text; plain words stay plain, everything else is compact JSON."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError:
            return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def decode_value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def encode_query(
    draft: Mapping[str, Any],
    *,
    hide: Sequence[str] = (),
    exp: int | None = None,
    lesson: str | None = None,
    upload_id: Callable[[str], str | None] = lambda path: None,
) -> dict[str, str]:
    """The query parameters of a draft: its differences from the defaults, plus hide/exp.

    CSV paths become ``upload:<id>`` via ``upload_id`` (paths never go into a link).
    CSV data without files yet is not a usable experiment, so it stays out of the link.
    """
    base = flatten(default_draft())
    out: dict[str, str] = {}
    no_files = draft["data"].get("csv") == {}
    for key, value in flatten(draft).items():
        if no_files and key in ("data.builtin", "data.csv", "tasks"):
            continue
        if key == "data.csv" and value:
            value = {
                table: UPLOAD_PREFIX + (upload_id(path) or "") for table, path in value.items()
            }
        if key == "data.builtin" and draft["data"].get("csv"):
            continue  # implied by data.csv
        if key == "data.builtin" and value is None:
            value = "none"
        if base.get(key, object()) != value:
            out[key] = encode_value(value)
    if hide:
        out["hide"] = ",".join(sorted(hide))
    if exp is not None:
        out["exp"] = str(exp)
    if lesson:
        out[LESSON_KEY] = lesson
    return out


def lesson_from_link(
    params: Mapping[str, str],
) -> tuple[str | None, dict[str, Any] | None, list[str]]:
    """The lesson a link names, the draft of the preset it names (or None) and problems.

    ``?lesson=few-labels`` opens the lesson; adding ``&preset=related`` makes that
    preset the experiment being edited, so a teacher can hand out one link per step.
    """
    from mtlcore.lessons import LESSONS

    key, preset = params.get(LESSON_KEY), params.get(PRESET_KEY)
    if not key:
        if preset:
            return None, None, [f"preset={preset}: a preset needs its lesson (lesson=...)."]
        return None, None, []
    if key not in LESSONS:
        return None, None, [f"lesson={key}: there is no such lesson; lessons are: "
                            f"{', '.join(LESSONS)}."]  # fmt: skip
    if not preset:
        return key, None, []
    known = [p.key for p in LESSONS[key].presets]
    if preset not in known:
        return key, None, [f"preset={preset}: lesson '{key}' has no such preset; its presets "
                           f"are: {', '.join(known) or 'none'}."]  # fmt: skip
    return key, LESSONS[key].preset(preset).experiment().model_dump(mode="json"), []


def decode_query(
    params: Mapping[str, str],
    *,
    upload_path: Callable[[str], str | None] = lambda upload: None,
) -> tuple[dict[str, Any], set[str], int | None, list[str]]:
    """Draft, hidden controls, experiment id and problems (sentences) from query params.

    When the whole link is not a valid config, each key is applied on its own (CSV
    files together with their tasks) and kept only if the config stays valid, so one
    bad value costs only itself; every key that was dropped gets a sentence.
    """
    draft = default_draft()
    problems: list[str] = []
    hide = {h.strip() for h in params.get("hide", "").split(",") if h.strip()}
    unknown = sorted(hide - hide_ids())
    if unknown:
        hide -= set(unknown)
        problems.append(
            f"hide={','.join(unknown)}: no setting is called "
            f"{'that' if len(unknown) == 1 else 'so'}, so nothing was hidden for "
            f"{'it' if len(unknown) == 1 else 'them'}. hide takes the settings "
            f"{', '.join(HIDE_CONTROLS)}; the groups {', '.join(HIDE_GROUPS)}; or an "
            "option's own name (n_experts, relatedness, …)."
        )
    exp = None
    if params.get("exp"):
        if str(params["exp"]).isdigit():
            exp = int(params["exp"])
        else:
            problems.append(f"exp={params['exp']}: an experiment id is a whole number.")
    values: dict[str, Any] = {}
    for key in sorted((k for k in params if k not in LINK_ONLY), key=_section_rank):
        value = decode_value(params[key])
        if key == "data.csv":
            value, why = _csv_from_link(value, upload_path)
            if why:
                problems.append(why)
                continue
        values[key] = None if key == "data.builtin" and value == "none" else value
    whole = _apply(draft, values)
    if whole is not None:
        return whole, hide, exp, problems
    # Something is wrong: apply the keys one at a time (CSV files with their tasks) and say
    # which could not be used.
    units = [[k] for k in values if not (k == "tasks" and "data.csv" in values)]
    units = [u + ["tasks"] if u == ["data.csv"] and "tasks" in values else u for u in units]
    for unit in units:
        trial = _apply(draft, {k: values[k] for k in unit}, problems)
        if trial is not None:
            draft = trial
    return draft, hide, exp, problems


def _section_rank(key: str) -> int:
    section = key.split(".")[0]
    return SECTION_ORDER.index(section) if section in SECTION_ORDER else len(SECTION_ORDER)


def _apply(
    draft: Mapping[str, Any], values: Mapping[str, Any], problems: list[str] | None = None
) -> dict[str, Any] | None:
    """The draft with ``values`` set and validated, or None (with sentences in ``problems``)."""
    trial: dict[str, Any] | None = dict(draft)
    for key, value in values.items():
        trial = _with(trial, key, value)
        if trial is None:
            if problems is not None:
                problems.append(f"{key}: not a setting of MTL Studio; it was ignored.")
            return None
    try:
        return ExperimentConfig.parse(trial, source="link").model_dump(mode="json")
    except ConfigError as exc:
        if problems is not None:
            problems.append(f"{', '.join(values)} from the link was ignored: {exc}")
        return None


def _with(draft: Mapping[str, Any], key: str, value: Any) -> dict[str, Any] | None:
    """A copy of draft with ``key`` (``section.field`` or top-level) set; None if unknown."""
    out = copy.deepcopy(dict(draft))
    section, _, field = key.partition(".")
    if section not in out:
        return None
    if field:
        if not isinstance(out[section], dict) or field not in out[section]:
            return None
        out[section][field] = value
        if key == "data.csv" and value:
            out["data"]["builtin"] = None
            out["data"]["options"] = {}
    else:
        out[section] = value
    return out


def _csv_from_link(
    value: Any, upload_path: Callable[[str], str | None]
) -> tuple[dict[str, str] | None, str | None]:
    if not isinstance(value, dict) or not value:
        return None, "data.csv in the link is not a table -> upload mapping; it was ignored."
    out = {}
    for table, ref in value.items():
        upload = str(ref)[len(UPLOAD_PREFIX) :] if str(ref).startswith(UPLOAD_PREFIX) else ""
        path = upload_path(upload) if re.fullmatch(r"[0-9a-f]{8,64}", upload) else None
        if path is None:
            return None, (
                f"The link uses an uploaded file for table '{table}' that is not on this "
                "server (any more); upload the CSV again on the Data page."
            )
        out[str(table)] = path
    return out, None
