"""The experiment being edited: held in ``st.session_state`` and mirrored to the URL.

The *draft* is the raw experiment config (the dict ``ExperimentConfig`` validates),
so what the pages edit is exactly what a run saves. Every value that differs from
the dashboard's defaults goes into the query string (``?model.strategy=mmoe&
train.lr=0.003``), so a link reproduces the experiment; ``?hide=optimizer,lr``
hides those controls (classroom mode: the teacher fixes them in the link) and
``?exp=12`` names the experiment the Train, Compare and Representations pages show.

The encoding and decoding are plain functions (testable without Streamlit); the
functions at the bottom bind them to the session and to widgets.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from dashboard.logic import md_escape
from mtlcore.config import ConfigError, ExperimentConfig

DRAFT_KEY = "draft"
HIDE_KEY = "hide"
EXP_KEY = "exp"
PROBLEMS_KEY = "url_problems"
WIDGET_PREFIX = "ctl:"
UPLOAD_PREFIX = "upload:"

# The order keys are applied in when read from a URL: data before tasks before the rest.
SECTION_ORDER = ("name", "data", "tasks", "model", "weighting", "train", "baselines", "seeds")


def default_draft() -> dict[str, Any]:
    """The dashboard's starting experiment: houses, hard sharing, snapshots every epoch."""
    config = ExperimentConfig.parse({"train": {"snapshot_every": 1}})
    return config.model_dump(mode="json")


# --- URL encoding (pure) ------------------------------------------------------------------


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
    upload_id: Callable[[str], str | None] = lambda path: None,
) -> dict[str, str]:
    """The query parameters of a draft: its differences from the defaults, plus hide/exp.

    CSV paths become ``upload:<id>`` via ``upload_id`` (paths never go into a link).
    """
    base = flatten(default_draft())
    out: dict[str, str] = {}
    for key, value in flatten(draft).items():
        if key == "data.csv" and value:
            value = {table: UPLOAD_PREFIX + (upload_id(path) or "") for table, path in value.items()}
        if key == "data.builtin" and value is None:
            value = "none"
        if base.get(key, object()) != value:
            out[key] = encode_value(value)
    if hide:
        out["hide"] = ",".join(sorted(hide))
    if exp is not None:
        out["exp"] = str(exp)
    return out


def decode_query(
    params: Mapping[str, str],
    *,
    upload_path: Callable[[str], str | None] = lambda upload: None,
) -> tuple[dict[str, Any], set[str], int | None, list[str]]:
    """Draft, hidden controls, experiment id and problems (sentences) from query params.

    Each key is applied on its own and kept only if the config stays valid, so one
    bad value costs only itself; every key that was dropped gets a sentence.
    """
    draft = default_draft()
    problems: list[str] = []
    hide = {h.strip() for h in params.get("hide", "").split(",") if h.strip()}
    exp = None
    if params.get("exp"):
        if str(params["exp"]).isdigit():
            exp = int(params["exp"])
        else:
            problems.append(f"exp={params['exp']}: an experiment id is a whole number.")
    keys = [k for k in params if k not in ("hide", "exp")]
    keys.sort(key=lambda k: SECTION_ORDER.index(k.split(".")[0]) if k.split(".")[0] in SECTION_ORDER else 99)
    for key in keys:
        value = decode_value(params[key])
        if key == "data.csv":
            value, why = _csv_from_link(value, upload_path)
            if why:
                problems.append(why)
                continue
        if key == "data.builtin" and value == "none":
            value = None
        trial = _with(draft, key, value)
        if trial is None:
            problems.append(f"{key}: not a setting of MTL Studio; it was ignored.")
            continue
        try:
            draft = ExperimentConfig.parse(trial, source="link").model_dump(mode="json")
        except ConfigError as exc:
            problems.append(f"{key}={params[key]} was ignored: {exc}")
    return draft, hide, exp, problems


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


# --- the session ------------------------------------------------------------------------


def start_session() -> None:
    """On a session's first run, read the draft from the URL (once)."""
    if DRAFT_KEY in st.session_state:
        return
    from dashboard import datasets

    params = {k: st.query_params.get(k) for k in st.query_params}
    draft, hide, exp, problems = decode_query(params, upload_path=datasets.upload_path)
    st.session_state[DRAFT_KEY] = draft
    st.session_state[HIDE_KEY] = hide
    st.session_state[EXP_KEY] = exp
    st.session_state[PROBLEMS_KEY] = problems


def draft() -> dict[str, Any]:
    """The experiment being edited (mutable: pages write into it)."""
    start_session()
    return st.session_state[DRAFT_KEY]


def replace_draft(new: Mapping[str, Any]) -> None:
    """Put another experiment in the editor (re-opening a run); widgets start from it."""
    st.session_state[DRAFT_KEY] = copy.deepcopy(dict(new))
    reset_widgets()


def reset_widgets(prefix: str = "") -> None:
    """Forget the widget values under ``prefix`` so they start again from the draft."""
    for key in [k for k in st.session_state if str(k).startswith(WIDGET_PREFIX + prefix)]:
        del st.session_state[key]


def hidden_controls() -> set[str]:
    start_session()
    return st.session_state[HIDE_KEY]


def is_hidden(control_id: str) -> bool:
    return control_id in hidden_controls()


def current_experiment() -> int | None:
    start_session()
    return st.session_state.get(EXP_KEY)


def set_current_experiment(exp: int | None) -> None:
    st.session_state[EXP_KEY] = exp


def my_experiments() -> list[int]:
    """Experiments started from this browser tab, newest first."""
    return st.session_state.setdefault("my_experiments", [])


def sync_url() -> None:
    """Write the draft (and hide/exp) into the address bar when it changed."""
    from dashboard import datasets

    wanted = encode_query(
        draft(), hide=sorted(hidden_controls()), exp=current_experiment(),
        upload_id=datasets.upload_id,
    )  # fmt: skip
    current = {k: st.query_params.get(k) for k in st.query_params}
    if current != wanted:
        st.query_params.from_dict(wanted)


def show_url_problems() -> None:
    """Say once which parts of the link could not be used."""
    for problem in st.session_state.pop(PROBLEMS_KEY, []):
        st.warning(md_escape(problem), icon="🔗")


# --- widgets bound to the draft --------------------------------------------------------------


def get_in(tree: Mapping[str, Any], path: Sequence[Any], default: Any = None) -> Any:
    node: Any = tree
    for p in path:
        if isinstance(node, Mapping) and p in node:
            node = node[p]
        elif isinstance(node, list) and isinstance(p, int) and 0 <= p < len(node):
            node = node[p]
        else:
            return default
    return node


def set_in(tree: dict[str, Any], path: Sequence[Any], value: Any) -> None:
    node: Any = tree
    for p in path[:-1]:
        if isinstance(node, dict):
            nxt = node.get(p)
            if not isinstance(nxt, dict | list):
                nxt = node[p] = {}
            node = nxt
        else:
            node = node[p]
    node[path[-1]] = value


def widget_key(path: Sequence[Any]) -> str:
    return WIDGET_PREFIX + ".".join(str(p) for p in path)


def control(
    widget: Callable[..., Any],
    label: str,
    path: Sequence[Any],
    *,
    hide_id: str | None = None,
    default: Any = None,
    to_widget: Callable[[Any], Any] = lambda v: v,
    from_widget: Callable[[Any], Any] = lambda v: v,
    **kwargs: Any,
) -> Any:
    """A widget bound to ``draft[path]``; returns the draft's value after the widget.

    Hidden (classroom mode, ``hide_id`` in ``?hide=``) -> no widget, the value stays.
    The widget starts from the draft; what the user sets is written back through
    ``from_widget``, whose ValueError is shown under the widget (the draft keeps
    its last good value).
    """
    d = draft()
    current = get_in(d, path, default)
    if is_hidden(hide_id or str(path[-1])):
        return current
    key = widget_key(path)
    start = to_widget(current)
    options = kwargs.get("options")
    if options is not None and not isinstance(start, list) and start not in list(options):
        start = list(options)[0] if len(options) else None
    if isinstance(start, list) and options is not None:
        start = [v for v in start if v in list(options)]
    if key not in st.session_state:
        st.session_state[key] = start
    elif options is not None and st.session_state[key] not in list(options) and not isinstance(
        st.session_state[key], list
    ):
        st.session_state[key] = start
    value = widget(label, key=key, **kwargs)
    try:
        new = from_widget(value)
    except ValueError as exc:
        st.error(md_escape(str(exc)))
        return current
    if new != current:
        set_in(d, path, new)
    return new

