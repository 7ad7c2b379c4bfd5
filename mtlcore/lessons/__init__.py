"""Guided lessons: each reproduces one multi-task learning finding with its own defaults.

A :class:`Lesson` is a few sentences a teacher can hand out — what it shows (its
*claim*), what to do, what to look at, one question for the student, its sources —
and one of two ways to see it:

- *presets*: ordinary experiment configs (:class:`Preset`) that the Train, Compare,
  Transfer and Representations pages run and read like any experiment; the Learn
  page loads one with a click or a link. Together they are one sweep
  (:meth:`Lesson.sweep`: the presets as a ``variant`` axis of named partial configs),
  which the Sweep page and ``python -m mtlcore sweep`` run, and the claim tests and
  ``bench/measure_lessons.py`` expand;
- a *study* (:class:`Study`): a small computation of the lesson's own (the 2-D toy of
  gradient methods, few-shot curves) that runs in a separate process
  (``python -m mtlcore lesson KEY --out FILE``), never in the dashboard's server.

Every claim is checked over several seeds by ``tests/test_lessons*.py``, with the
lesson's own presets; ``docs/lessons.md`` records the measured numbers.

This module is the torch-free catalogue (the dashboard reads it); a study's code is
imported only where the study runs::

    >>> from mtlcore.lessons import LESSONS
    >>> LESSONS["few-labels"].presets[0].experiment().data.builtin
    'synthetic'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from mtlcore.config import ExperimentConfig

if TYPE_CHECKING:
    from mtlcore.sweep import Grid


@dataclass(frozen=True)
class Preset:
    """One experiment of a lesson: a raw config (engine defaults fill in the rest)."""

    key: str  # short, URL-safe: "related"
    label: str  # what the button says: "Related partner (relatedness 0.9)"
    config: Mapping[str, Any]

    def experiment(self) -> ExperimentConfig:
        return ExperimentConfig.parse(dict(self.config), source=f"preset {self.key}")


@dataclass(frozen=True)
class Study:
    """A lesson's own computation: ``run(options) -> dict`` (JSON-safe), imported lazily.

    ``runner`` is ``"module:function"``; the function takes a validated instance of
    ``options_model`` and returns what the page draws.
    """

    options_model: type[BaseModel]
    runner: str

    def function(self) -> Callable[[Any], dict[str, Any]]:
        module, _, name = self.runner.partition(":")
        return getattr(importlib.import_module(module), name)

    def run(self, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.function()(self.options_model.model_validate(dict(options or {})))


@dataclass(frozen=True)
class Lesson:
    """A guided lesson (see the module docstring)."""

    key: str  # URL-safe: ?lesson=few-labels
    number: int
    title: str
    claim: str  # what its runs show over seeds, checked by a test
    what_to_do: str
    look_at: str
    question: str
    sources: tuple[str, ...]
    presets: tuple[Preset, ...] = ()
    study: Study | None = None
    read_on: str = "compare"  # the page where the presets' results are read
    measured: str = ""  # the numbers behind the claim, over seeds (also in docs/lessons.md)
    extra: Mapping[str, Any] = field(default_factory=dict)

    def preset(self, key: str) -> Preset:
        for p in self.presets:
            if p.key == key:
                return p
        known = ", ".join(p.key for p in self.presets) or "none"
        raise KeyError(f"lesson '{self.key}' has no preset '{key}'; its presets are: {known}")

    def sweep_spec(
        self,
        seeds: Sequence[int] | None = None,
        changes: Mapping[str, Any] | None = None,
        presets: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """The lesson's grid as a sweep mapping (what a sweep file holds): the first preset
        as the base, every preset a variant (its difference from the base), on ``seeds``
        (default: the first preset's). ``changes`` (dotted key -> value) go into every
        preset first, e.g. ``{"train.snapshot_every": 0}``; ``presets``: only these keys."""
        from mtlcore.sweep import variant_between

        if not self.presets:
            raise ValueError(f"lesson '{self.key}' has no presets, so no grid; it has a study")
        chosen = [self.preset(k) for k in presets] if presets is not None else self.presets
        raws = [_with_changes(p.experiment().model_dump(mode="json"), changes or {})
                for p in chosen]  # fmt: skip
        base = {**raws[0], "baselines": True}
        return {
            "name": f"lesson-{self.key}",
            "base": base,
            "variants": {p.key: variant_between(base, raw)
                         for p, raw in zip(chosen, raws, strict=True)},
            "seeds": list(seeds if seeds is not None else raws[0]["seeds"]),
        }  # fmt: skip

    def sweep(
        self,
        seeds: Sequence[int] | None = None,
        changes: Mapping[str, Any] | None = None,
        presets: Sequence[str] | None = None,
    ) -> Grid:
        """The lesson's presets as one validated sweep (:meth:`sweep_spec`): one cell per
        preset, ``grid.variant(key)``; presets that differ only in strategy or weighting
        share one baseline group, so their baselines train once per seed."""
        from mtlcore.sweep import sweep_from_mapping

        spec = self.sweep_spec(seeds, changes, presets)
        return sweep_from_mapping(spec, source=f"lesson {self.key}")


def _with_changes(raw: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    for dotted, value in changes.items():
        *path, last = dotted.split(".")
        node = raw
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return raw


# Lesson modules, in the order the Learn page lists them; each defines ``LESSON``.
_MODULES = (
    "few_labels",
    "sharing_hurts",
    "loss_scales",
    "conflicting_gradients",
    "representation",
    "learning_to_learn",
    "hierarchical",
    "vision",
)


def _load() -> dict[str, Lesson]:
    lessons = [importlib.import_module(f"mtlcore.lessons.{m}").LESSON for m in _MODULES]
    return {lesson.key: lesson for lesson in sorted(lessons, key=lambda x: x.number)}


LESSONS: dict[str, Lesson] = _load()


def lesson(key: str) -> Lesson:
    """The lesson named ``key``; KeyError with the known keys otherwise."""
    if key not in LESSONS:
        raise KeyError(f"there is no lesson '{key}'; lessons are: {', '.join(LESSONS)}")
    return LESSONS[key]


__all__ = ["LESSONS", "Lesson", "Preset", "Study", "lesson"]
