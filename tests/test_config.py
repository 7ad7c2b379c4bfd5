"""The config contract: strict keys, messages that name the key, stable YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtlcore.config import ConfigError, ExperimentConfig

EXAMPLES = sorted(Path(__file__).resolve().parents[1].joinpath("examples").glob("*.yaml"))


def error_of(raw: dict) -> str:
    with pytest.raises(ConfigError) as info:
        ExperimentConfig.parse(raw)
    return str(info.value)


def test_unknown_key_is_named():
    assert "config: train.lrr: unknown key" in error_of({"train": {"lrr": 0.1}})
    assert "config: colour: unknown key" in error_of({"colour": "red"})


def test_bad_value_names_key_and_allowed_values():
    msg = error_of({"train": {"optimizer": "rmsprop"}})
    assert "train.optimizer" in msg and "'sgd', 'adam' or 'adamw'" in msg
    assert "train.lr" in error_of({"train": {"lr": -1}})


def test_unknown_strategy_method_and_dataset_list_the_choices():
    assert "choose one of: hard, independent" in error_of({"model": {"strategy": "mystery"}})
    assert "weighting.method" in error_of({"weighting": {"method": "mystery"}})
    msg = error_of({"data": {"builtin": "mnist"}})
    assert "data.builtin" in msg and "houses" in msg and "penguins" in msg


def test_method_and_dataset_options_are_validated_by_their_owner():
    msg = error_of({"weighting": {"method": "static", "options": {"wieghts": {}}}})
    assert "weighting.options.wieghts: unknown key" in msg
    msg = error_of({"model": {"strategy": "hard", "options": {"foo": 1}}})
    assert "model.options.foo: unknown key" in msg
    msg = error_of({"data": {"builtin": "synthetic", "options": {"n_tasks": "many"}}})
    assert "data.options.n_tasks: Input should be a valid integer" in msg


def test_csv_tasks_need_full_specs_and_known_tables():
    base = {"data": {"csv": {"t": "t.csv"}}}
    assert "needs name, table and target" in error_of({**base, "tasks": ["a"]})
    msg = error_of({**base, "tasks": [{"name": "a", "table": "u", "target": "y"}]})
    assert "table 'u'" in msg


def test_duplicate_task_names_are_rejected():
    assert "repeated: a" in error_of({"tasks": ["a", "a"]})


def test_bad_yaml_reports_line():
    with pytest.raises(ConfigError, match="line 2"):
        ExperimentConfig.from_text("name: x\ntrain: [1, 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        ExperimentConfig.from_text("- 1\n- 2\n")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_load_and_dump_byte_stably(path: Path):
    config = ExperimentConfig.load(path)
    text = config.to_yaml()
    again = ExperimentConfig.from_text(text)
    assert again == config
    assert again.to_yaml() == text


def test_examples_cover_every_builtin_dataset():
    from mtlcore.data.builtin import BUILTIN_DATASETS

    used = {ExperimentConfig.load(p).data.builtin for p in EXAMPLES}
    assert used == set(BUILTIN_DATASETS)
