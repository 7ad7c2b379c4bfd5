"""Fuzzing the config loader (issue 11): whatever a file or a link holds, loading it either
gives a config or raises ConfigError with one line that starts with the source, never
another exception; an accepted config holds only finite numbers and dumps back stably.

Values are set at random keys of valid configs (and at unknown keys), drawn from every
JSON/YAML kind; a second test feeds raw text to the YAML route. Budgets stay small for
CI's two cores.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mtlcore.config import ConfigError, ExperimentConfig

BASES = [
    ExperimentConfig().model_dump(mode="json"),
    {
        "data": {"builtin": "synthetic", "options": {"n_tasks": 3, "noise": [0.1, 0.2, 0.3]}},
        "model": {"strategy": "mmoe", "hidden": [16], "options": {"n_experts": 3}},
        "weighting": {"method": "uncertainty"},
        "train": {"steps": 50, "schedule": "cosine", "warmup_steps": 5},
    },
    {
        "data": {"csv": {"t": "t.csv"}},
        "tasks": [{"name": "a", "table": "t", "target": ["y", "z"], "inputs": ["x"]}],
        "model": {"strategy": "hierarchical"},
    },
]

WORDS = ["hard", "mmoe", "ple", "synthetic", "digits", "uncertainty", "inf", "-inf", "nan",
         "1e999", "-1", "0", "", "auto", "cuda", "none", "l2", "cosine"]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, 1, 2, 4096, 10**9])
    | st.floats(allow_subnormal=False)
    | st.sampled_from(WORDS)
    | st.text(max_size=6)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(WORDS + ["n_experts", "seed", "noise"]), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


def key_paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    out = []
    items = (
        tree.items()
        if isinstance(tree, dict)
        else enumerate(tree)
        if isinstance(tree, list)
        else []
    )
    for key, sub in items:
        out.append((*prefix, key))
        out.extend(key_paths(sub, (*prefix, key)))
    return out  # fmt: skip


@st.composite
def mutated_configs(draw) -> dict:
    raw = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        paths = key_paths(raw)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        node = raw
        for key in path[:-1]:
            node = node[key]
        if isinstance(node, dict) and draw(st.booleans()):  # an unknown or optional key
            node[draw(st.sampled_from(WORDS + ["seed", "n_experts", "steps"]))] = draw(values)
        else:
            node[path[-1]] = draw(values)
    return raw


def assert_one_line_rejection(exc: ConfigError) -> None:
    text = str(exc)
    assert "\n" not in text and text.startswith("config"), text


def assert_finite(value: Any) -> None:
    if isinstance(value, float):
        assert math.isfinite(value)
    elif isinstance(value, dict):
        for v in value.values():
            assert_finite(v)
    elif isinstance(value, list):
        for v in value:
            assert_finite(v)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_configs())
def test_any_config_loads_or_is_refused_in_one_line(raw):
    try:
        config = ExperimentConfig.parse(raw)
    except ConfigError as exc:
        assert_one_line_rejection(exc)
        return
    assert_finite(config.model_dump())
    text = config.to_yaml()
    assert ExperimentConfig.from_text(text).to_yaml() == text


FRAGMENTS = ["train:", "  lr: ", "model: {hidden: [", "]}", "&a ", "*a", "- ", ": ", "'", '"',
             "\t", "\n", ".inf", "!!python/object:os.system", "{", "[", "#", "data: ", "? "]  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=5), max_size=12).map("".join))
def test_any_text_loads_or_is_refused_in_one_line(text):
    try:
        ExperimentConfig.from_text(text)
    except ConfigError as exc:
        assert_one_line_rejection(exc)
