"""Variants (a sweep axis of named partial configs) and lesson grids (``Lesson.sweep``):
a lesson's presets are one sweep whose cells are exactly the presets' experiments."""

from __future__ import annotations

import pytest

from mtlcore.lessons import LESSONS, lesson
from mtlcore.runs import RunStore, drain_queue
from mtlcore.sweep import (
    VARIANT,
    Grid,
    SweepError,
    load_sweep,
    merge_variant,
    start_sweep,
    sweep_from_mapping,
    sweep_grid,
)

BASE = {
    "data": {"builtin": "synthetic", "options": {"n_rows": 60, "n_features": 3, "n_tasks": 2}},
    "model": {"hidden": [4]},
    "weighting": {"method": "uncertainty", "options": {"weight_lr": 0.05}},
    "train": {"epochs": 1, "batch_size": 32, "affinity_every": 0, "grad_cosine_every": 0},
}
VARIANTS = {
    "hard": {},
    "mmoe": {"model": {"strategy": "mmoe", "options": {"n_experts": 2}}},
    "equal": {"weighting": {"method": "equal"}},
    "related": {"data": {"options": {"relatedness": 1.0}}},
}
WITH_PRESETS = [key for key, lesson in LESSONS.items() if lesson.presets]


def sweep(variants=VARIANTS, axes=None, **extra) -> Grid:
    return sweep_from_mapping({"name": "v", "base": BASE, "variants": variants,
                               "axes": axes or {}, "seeds": [0, 1], **extra})  # fmt: skip


def test_variants_are_the_first_axis_and_merge_into_the_base():
    grid = sweep(axes={"train.lr": [0.01, 0.003]})
    assert grid.axes[0] == (VARIANT, list(VARIANTS)) and len(grid.cells) == 8
    assert grid.cells[0].label == "variant=hard, lr=0.01"
    hard, mmoe = grid.variant("hard").config, grid.variant("mmoe").config
    equal, related = grid.variant("equal").config, grid.variant("related").config
    assert (hard.model.strategy, hard.weighting.options["weight_lr"]) == ("hard", 0.05)
    assert mmoe.model.options["n_experts"] == 2 and mmoe.weighting == hard.weighting
    # another weighting method without options of its own starts from its own defaults
    assert equal.weighting.method == "equal" and not equal.weighting.options
    # the dataset's options merge key by key (the dataset is the same)
    assert related.data.options == {**hard.data.options, "relatedness": 1.0}
    # strategy and weighting do not change the baselines: hard, mmoe and equal share a group
    groups = {c.values[VARIANT]: c.group for c in grid.cells if c.values["train.lr"] == 0.01}
    assert groups["hard"] == groups["mmoe"] == groups["equal"] != groups["related"]
    with pytest.raises(KeyError, match="its variants are: hard, mmoe, equal, related"):
        grid.variant("soft")


def test_a_stored_variant_sweep_is_found_again_with_its_cells():
    grid = sweep()
    store = RunStore()
    started = start_sweep(store, grid)
    again = sweep_grid(store, started.sweep_id)
    assert again.fingerprint == grid.fingerprint and again.variants == grid.variants
    assert [c.config for c in again.cells] == [c.config for c in grid.cells]
    assert start_sweep(store, sweep()).resumed


@pytest.mark.parametrize(
    ("variants", "axes", "says"),
    [
        ({"x": {"model": {"strategy": "hardd"}}}, None,
         "variants: x: model.strategy: unknown strategy 'hardd'"),
        ({"x": {"modle": {}}}, None, "variants: x: modle: unknown key"),
        ({"x": {"seeds": [3]}}, None, "variants: x: seeds: the sweep sets seeds itself"),
        ({"x": 3}, None, "variants.x: give a mapping"),
        (None, {"variant": ["a"]}, "axes: variant: the variants are the variant axis"),
        (None, None, "give at least one axis"),
    ],
)  # fmt: skip
def test_a_bad_variant_is_one_line_naming_it(variants, axes, says):
    raw = {"base": BASE, "axes": axes or {}}
    if variants is not None:
        raw["variants"] = variants
    with pytest.raises(SweepError, match=says) as caught:
        sweep_from_mapping(raw)
    assert "\n" not in str(caught.value)


def test_options_belong_to_their_strategy_method_or_dataset():
    base = {"model": {"strategy": "mmoe", "hidden": [4], "options": {"n_experts": 4}},
            "data": {"builtin": "synthetic", "options": {"n_tasks": 3}}}  # fmt: skip
    hard = merge_variant(base, {"model": {"strategy": "hard"}})
    assert hard["model"] == {"strategy": "hard", "hidden": [4]}
    more = merge_variant(base, {"model": {"options": {"expert_hidden": [2]}}})
    assert more["model"]["options"] == {"n_experts": 4, "expert_hidden": [2]}
    houses = merge_variant(base, {"data": {"builtin": "houses"}})
    assert houses["data"] == {"builtin": "houses"}


@pytest.mark.parametrize("key", WITH_PRESETS)
def test_a_lessons_grid_is_exactly_its_presets(key):
    """Every cell of ``Lesson.sweep`` is its preset's experiment (name, seeds and baselines
    are the sweep's): the claim tests and the bench expand the grid, the Sweep page runs it."""
    grid = lesson(key).sweep()
    assert [c.values[VARIANT] for c in grid.cells] == [p.key for p in lesson(key).presets]
    for preset in lesson(key).presets:
        cell, config = (
            grid.variant(preset.key).config.model_dump(),
            preset.experiment().model_dump(),
        )
        for own in ("name", "seeds", "baselines"):
            cell.pop(own), config.pop(own)
        assert cell == config, preset.key
    assert grid.seeds == lesson(key).presets[0].experiment().seeds


def test_a_lesson_grid_trains_the_baselines_once_per_group():
    """Lesson 2: hard sharing and its three remedies share baselines; the two other
    relatednesses are groups of their own: 3 groups × 3 seeds trained, 9 reused."""
    grid = lesson("sharing-hurts").sweep()
    owners = [grid.cells[i].values[VARIANT] for i in grid.owners]
    assert owners == ["hard", "related-0.5", "related-1"]
    assert (grid.baselines_trained, grid.baselines_reused) == (9, 9)
    changed = lesson("sharing-hurts").sweep([4, 5], {"train.snapshot_every": 0})
    assert changed.seeds == [4, 5]
    assert all(c.config.train.snapshot_every == 0 for c in changed.cells)


def test_the_example_lesson_sweep_file_is_the_lessons_grid():
    grid = load_sweep("examples/sweeps/lesson-sharing-hurts.yaml")
    mine = lesson("sharing-hurts").sweep()
    assert [c.config for c in grid.cells] == [c.config for c in mine.cells]


def test_a_lesson_grid_runs_as_a_sweep():
    """The few-labels grid, cut to one epoch and one seed, runs through the store."""
    spec = lesson("few-labels").sweep_spec([0], {"train.epochs": 1, "train.snapshot_every": 0})
    spec["variants"] = {k: v for k, v in spec["variants"].items() if k in ("related", "unrelated")}
    store = RunStore()
    started = start_sweep(store, sweep_from_mapping(spec))
    drain_queue(store)
    assert {r.status for r in store.runs(sweep_id=started.sweep_id)} == {"done"}
