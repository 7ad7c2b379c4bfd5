"""A sweep's spec and its expansion into a grid of experiment configs.

A sweep file is a base experiment config plus axes and seeds::

    name: synthetic-grid
    base: synthetic.yaml            # a config file (relative to this file), or a mapping
    axes:                           # dotted config keys -> the values to try
      model.strategy: [hard, mmoe]
      weighting.method: [equal, uncertainty]
      data.options.relatedness: [0.9, 0.0]
    seeds: [0, 1, 2]                # every cell trains these seeds (default: the base's)

``variants:`` adds an axis of named partial configs (a lesson's presets are one)::

    variants:                       # name -> keys merged into the base, one cell each
      hard: {}
      mmoe: {model: {strategy: mmoe, options: {n_experts: 4}}}
      related: {data: {options: {relatedness: 1.0}}}

A variant's mappings merge into the base's key by key; a variant that changes the
strategy, the weighting method or the built-in dataset drops the base's options of that
section (they belong to the base's one) and starts from its own, or from that one's
defaults. The variants are the grid's first axis, ``variant``.

The grid is every combination of the axis values (the first axis varies slowest).
Each cell is validated by the config loader; a bad axis key or value is one line
that names the key (and the valid keys or values where they are known).

Single-task baselines depend on the data, the tasks, the network's shape and the
training settings, and on the seed, but not on the sharing strategy or the
weighting method (the multi-task model and the baselines draw from separate seeded
streams, see ``mtlcore.train``). Cells whose baseline inputs are equal form one
*baseline group*: only its first cell trains the baselines, once per seed, and
every cell of the group is compared with them.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mtlcore.config import (
    ConfigError,
    ExperimentConfig,
    _ConfigLoader,
    _yaml_problem,
    format_validation_error,
    read_config_text,
)

# Runs one sweep may ask for (cells × seeds): a 100-cell grid of 5 seeds fits.
MAX_SWEEP_RUNS = 1000
# Keys a sweep sets itself: seeds come from ``seeds:``, names and baselines per cell.
RESERVED_KEYS = {
    "seeds": "give the seeds as the sweep's own seeds: list, not as an axis",
    "name": "the sweep names each cell after its axis values",
    "baselines": "a sweep trains the single-task baselines itself (once per seed and group)",
}
# The parts of a config that single-task baselines do not depend on.
# An axis over these keys gives each value its own options: the base's options are kept
# only for the base's own strategy or method.
OWN_OPTIONS = {"model.strategy": "model", "weighting.method": "weighting"}
NOT_IN_BASELINES = {"model": ("strategy", "options"), "weighting": None}
# Measurements a pairwise-transfer grid's cells leave off (no matrix reads them).
PAIRS_MEASUREMENTS_OFF = {"grad_cosine_every": 0, "snapshot_every": 0, "affinity_every": 0}
# What a section's options belong to: a variant that changes it drops the base's options.
OPTIONS_OWNER = {"model": "strategy", "weighting": "method", "data": "builtin"}
# The axis the ``variants:`` (named partial configs) make.
VARIANT = "variant"


class SweepError(ConfigError):
    """A sweep that cannot be used; the message names the key and what is allowed."""


class SweepSpec(BaseModel):
    """The sweep file as written (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: Annotated[str, Field(min_length=1, max_length=64)] = "sweep"
    base: str | dict[str, Any] = Field(default_factory=dict)
    axes: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(default_factory=dict)
    seeds: Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=1)] | None = None
    variants: dict[Annotated[str, Field(min_length=1, max_length=40)], dict[str, Any]] | None = None


@dataclass(frozen=True)
class Cell:
    """One point of the grid: its axis values and the experiment config it runs."""

    index: int
    values: dict[str, Any]  # axis key -> value
    label: str  # "strategy=hard, method=equal"
    config: ExperimentConfig  # every seed of the sweep, baselines on
    group: int  # its baseline group

    def member_config(self, seeds: list[int], *, trains_baselines: bool) -> ExperimentConfig:
        """The config its runs for ``seeds`` are submitted with: the group's first cell
        trains the baselines, the others reuse them."""
        raw = self.config.model_dump(mode="json")
        raw.update(seeds=list(seeds), baselines=trains_baselines)
        return ExperimentConfig.parse(raw, source=f"sweep cell {self.label}")


@dataclass(frozen=True)
class Grid:
    """A sweep resolved: base config, axes, seeds and the cells they expand to."""

    name: str
    base: dict[str, Any]  # the base config, as the loader dumps it
    axes: list[tuple[str, list[Any]]]
    seeds: list[int]
    cells: list[Cell]
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)  # the variant axis

    @property
    def owners(self) -> list[int]:
        """Per baseline group, the cell that trains its baselines (its first cell)."""
        first: dict[int, int] = {}
        for cell in self.cells:
            first.setdefault(cell.group, cell.index)
        return [first[g] for g in sorted(first)]

    def variant(self, name: str) -> Cell:
        """The first cell of the variant ``name`` (its only one when the variants are the
        grid's only axis); KeyError naming the variants otherwise."""
        for cell in self.cells:
            if cell.values.get(VARIANT) == name:
                return cell
        known = ", ".join(self.variants) or "none"
        raise KeyError(f"sweep {self.name!r} has no variant {name!r}; its variants are: {known}")

    def owner_of(self, cell: Cell) -> Cell:
        return self.cells[self.owners[cell.group]]

    @property
    def baselines_trained(self) -> int:
        """Baseline trainings the grid needs: one per group and seed."""
        return len(self.owners) * len(self.seeds)

    @property
    def baselines_reused(self) -> int:
        """Cell-seeds that reuse a baseline another cell trained."""
        return (len(self.cells) - len(self.owners)) * len(self.seeds)

    def spec_json(self) -> str:
        """The resolved spec (the base inlined) as canonical JSON: what the store keeps."""
        spec = {"name": self.name, "base": self.base, "axes": [[k, v] for k, v in self.axes],
                "seeds": self.seeds}  # fmt: skip
        if self.variants:  # absent without variants: older sweeps keep their fingerprints
            spec["variants"] = [[k, v] for k, v in self.variants.items()]  # in their order
        return json.dumps(spec, sort_keys=True, separators=(",", ":"))

    @property
    def fingerprint(self) -> str:
        """Equal for equal grids: starting the same sweep again resumes it."""
        return hashlib.sha256(self.spec_json().encode("utf-8")).hexdigest()

    @classmethod
    def from_spec_json(cls, text: str) -> Grid:
        """The grid of a stored sweep (:meth:`spec_json`)."""
        spec = json.loads(text)
        axes = [tuple(a) for a in spec["axes"] if a[0] != VARIANT or "variants" not in spec]
        return expand(spec["name"], spec["base"], axes, spec["seeds"],
                      variants=dict(spec.get("variants") or []))  # fmt: skip


def load_sweep(path: str | Path) -> Grid:
    """Read and expand a sweep file; a relative ``base:`` path is read from its folder."""
    p = Path(path)
    try:
        text = read_config_text(p, "sweep file")
    except ConfigError as exc:
        raise SweepError(str(exc)) from None
    return sweep_from_text(text, source=str(p), folder=p.parent)


def sweep_from_text(text: str, *, source: str = "sweep", folder: str | Path = ".") -> Grid:
    """Parse and expand a sweep given as YAML text (see the module docstring)."""
    try:
        raw = yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 (the config's safe loader)
    except yaml.YAMLError as exc:
        raise SweepError(f"{source}: not valid YAML{_yaml_problem(exc)}") from None
    except RecursionError:
        raise SweepError(f"{source}: nested too deeply to be a sweep") from None
    if not isinstance(raw, dict):
        raise SweepError(f"{source}: the top level must be a mapping with base, axes and seeds")
    return sweep_from_mapping(raw, source=source, folder=folder)


def sweep_from_mapping(
    raw: dict[str, Any], *, source: str = "sweep", folder: str | Path = "."
) -> Grid:
    """Validate a sweep given as a mapping and expand it."""
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise SweepError(format_validation_error(exc, source)) from None
    try:
        if isinstance(spec.base, str):
            base = ExperimentConfig.load(Path(folder) / spec.base)
        else:
            base = ExperimentConfig.parse(spec.base, source=f"{source}: base")
    except ConfigError as exc:
        raise SweepError(str(exc)) from None
    if not base.baselines:
        raise SweepError(f"{source}: base: baselines is false, but a sweep ranks its cells by Δm "
                         "against the single-task baselines; remove baselines: false")  # fmt: skip
    if not spec.axes and not spec.variants:
        raise SweepError(f"{source}: axes: give at least one axis (a config key and its values), "
                         "or variants")  # fmt: skip
    seeds = list(spec.seeds if spec.seeds is not None else base.seeds)
    return expand(spec.name, base.model_dump(mode="json"), list(spec.axes.items()), seeds,
                  source=source, variants=spec.variants)  # fmt: skip


def expand(
    name: str,
    base: dict[str, Any],
    axes: list[tuple[str, list[Any]]],
    seeds: list[int],
    *,
    source: str = "sweep",
    variants: dict[str, dict[str, Any]] | None = None,
    check_task_names: bool = True,
) -> Grid:
    """Every combination of the axis values as a validated cell config; ``variants`` (name
    -> partial config) are a first axis, ``variant``, of named partial configs."""
    variants = copy.deepcopy(dict(variants or {}))
    if any(key == VARIANT for key, _ in axes):
        raise SweepError(f"{source}: axes: {VARIANT}: the variants are the variant axis; give "
                         "them under variants: (name -> config keys), not under axes")  # fmt: skip
    for vname, partial in variants.items():
        _check_variant(vname, partial, base, seeds, source)
    if variants:
        axes = [(VARIANT, list(variants)), *axes]
    tasks = _task_universe(base, axes)
    if len(set(seeds)) != len(seeds):
        raise SweepError(f"{source}: seeds: each seed once, please ({seeds})")
    n_cells = math.prod(len(values) for _, values in axes)
    if n_cells * len(seeds) > MAX_SWEEP_RUNS:
        raise SweepError(
            f"{source}: axes: {n_cells} cells × {len(seeds)} seeds is {n_cells * len(seeds)} "
            f"runs; a sweep runs at most {MAX_SWEEP_RUNS}; drop values or seeds"
        )
    for key, values in axes:
        if key == VARIANT:
            continue  # checked above, by name
        _check_key(key, base, source)
        repeated = [v for i, v in enumerate(values) if v in values[:i]]
        if repeated:
            raise SweepError(f"{source}: axes: {key}: {repeated[0]!r} is listed twice; list "
                             "each value once")  # fmt: skip
        for value in values:  # one value at a time, so the message names it
            _cell_config(base, {key: value}, seeds, f"{source}: axes: {key} = {value!r}",
                         task_names=tasks)  # fmt: skip
    cells, groups = [], {}
    for index, combo in enumerate(itertools.product(*(values for _, values in axes))):
        values = dict(zip((k for k, _ in axes), combo, strict=True))
        label = ", ".join(f"{k.rsplit('.', 1)[-1]}={_short(v)}" for k, v in values.items())
        config = _cell_config(base, values, seeds, f"{source}: cell {label}", name=label,
                              variants=variants, task_names=tasks)  # fmt: skip
        group = groups.setdefault(baseline_key(config), len(groups))
        cells.append(Cell(index, values, label, config, group))
    if check_task_names and any(key == "tasks" for key, _ in axes):
        _check_task_names(cells, source)
    return Grid(name, base, [(k, list(v)) for k, v in axes], list(seeds), cells, variants)


def baseline_key(config: ExperimentConfig) -> str:
    """What single-task baselines depend on, as text: equal text, equal baselines (per seed)."""
    raw = config.model_dump(mode="json")
    for section, keys in NOT_IN_BASELINES.items():
        if keys is None:
            raw.pop(section, None)
        else:
            for k in keys:
                raw[section].pop(k, None)
    for k in ("name", "seeds", "baselines"):
        raw.pop(k, None)
    return json.dumps(raw, sort_keys=True)


def _cell_config(
    base: dict[str, Any],
    values: dict[str, Any],
    seeds: list[int],
    source: str,
    name: str = "",
    variants: dict[str, dict[str, Any]] | None = None,
    task_names: list[str] | None = None,
) -> ExperimentConfig:
    raw = copy.deepcopy(base)
    if VARIANT in values:
        raw = merge_variant(raw, (variants or {})[values[VARIANT]])
    if "tasks" in values:
        raw = options_for_tasks(raw, values["tasks"], task_names)
    for key, value in values.items():
        if key == VARIANT:
            continue
        section = OWN_OPTIONS.get(key)
        chosen = (raw.get(section) or {}).get(key.rsplit(".", 1)[-1]) if section else None
        if (
            section
            and value != chosen
            and not any(k.startswith(f"{section}.options") for k in values)
        ):
            # The base's options belong to the base's method (or strategy): another one
            # starts from its own defaults ("weight_lr" means nothing to equal weights).
            raw[section].pop("options", None)
        *path, last = key.split(".")
        node = raw
        for part in path:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
            if not isinstance(node, dict):
                raise SweepError(f"{source}: {key}: {part} holds a value, not keys")
        node[last] = value
    raw.update(seeds=list(seeds), baselines=True, name=name or raw.get("name", "experiment"))
    try:
        return ExperimentConfig.parse(raw, source=source)
    except ConfigError as exc:
        raise SweepError(str(exc)) from None


def merge_variant(base: dict[str, Any], variant: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with a variant's keys merged in (see the module docstring): mappings key by
    key; a section whose strategy, method or built-in dataset the variant changes drops
    the base's options (they belong to the base's one) and takes the variant's."""
    out = copy.deepcopy(base)
    for key, value in variant.items():
        mine = out.get(key)
        if not (isinstance(value, Mapping) and isinstance(mine, dict)):
            out[key] = copy.deepcopy(value)
            continue
        owner = OPTIONS_OWNER.get(key)
        if owner is not None and owner in value and value[owner] != mine.get(owner):
            mine.pop("options", None)
        out[key] = _merged(mine, value)
    return out


def variant_between(base: Mapping[str, Any], config: Mapping[str, Any]) -> dict[str, Any]:
    """The smallest variant that :func:`merge_variant` turns ``base`` into ``config`` with
    (both as the loader dumps them); ``name``, ``seeds`` and ``baselines`` are the sweep's
    own and left out."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        mine = base.get(key)
        if key in RESERVED_KEYS or value == mine:
            continue
        if not (isinstance(value, Mapping) and isinstance(mine, Mapping)):
            out[key] = copy.deepcopy(value)
            continue
        owner = OPTIONS_OWNER.get(key)
        if owner is not None and value.get(owner) != mine.get(owner):
            whole = {k: v for k, v in value.items() if k == "options" or v != mine.get(k)}
            out[key] = copy.deepcopy(whole)
        else:
            out[key] = _difference(mine, value, key)
    return out


def _merged(mine: dict[str, Any], value: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(mine)
    for k, v in value.items():
        out[k] = (_merged(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict)
                  else copy.deepcopy(v))  # fmt: skip
    return out


def _difference(mine: Mapping[str, Any], value: Mapping[str, Any], where: str) -> dict[str, Any]:
    lost = [k for k in mine if k not in value]
    if lost:
        raise ValueError(f"{where}: a variant merges into the base and cannot remove "
                         f"{lost[0]!r}; give the base without it")  # fmt: skip
    out = {}
    for k, v in value.items():
        if v == mine[k]:
            continue
        both = isinstance(v, Mapping) and isinstance(mine[k], Mapping)
        out[k] = _difference(mine[k], v, f"{where}.{k}") if both else copy.deepcopy(v)
    return out


def options_for_tasks(
    raw: dict[str, Any], tasks: list[Any], task_names: list[str] | None
) -> dict[str, Any]:
    """A config for a subset of the tasks: per-task mappings among the strategy's and the
    weighting's options (static weights, hierarchical depths: keys that are all task
    names) keep only the subset's entries."""
    keep = {t if isinstance(t, str) else t.get("name") for t in tasks}
    names = set(task_names or ())
    out = copy.deepcopy(raw)
    for section in ("model", "weighting"):
        options = (out.get(section) or {}).get("options") or {}
        for key, value in options.items():
            if isinstance(value, Mapping) and value and set(value) <= names:
                options[key] = {k: v for k, v in value.items() if k in keep}
    return out


def _task_universe(base: Mapping[str, Any], axes: list[tuple[str, list[Any]]]) -> list[str]:
    """Every task name the base and a ``tasks`` axis name (for :func:`options_for_tasks`)."""
    names: dict[str, None] = {}
    lists = [base.get("tasks") or []] + [v for k, vs in axes if k == "tasks" for v in vs]
    for tasks in lists:
        for t in tasks if isinstance(tasks, list) else []:
            name = t if isinstance(t, str) else (t or {}).get("name")
            if isinstance(name, str):
                names[name] = None
    return list(names)


def _check_variant(
    name: str, partial: Any, base: dict[str, Any], seeds: list[int], source: str
) -> None:
    """A variant is a mapping of config keys; its cell must load (the message names it)."""
    where = f"{source}: variants: {name}"
    reserved = [k for k in partial if k in RESERVED_KEYS]
    if reserved:
        raise SweepError(f"{where}: {reserved[0]}: the sweep sets {reserved[0]} itself; leave "
                         "it out of the variant")  # fmt: skip
    _cell_config(base, {VARIANT: name}, seeds, where, variants={name: partial})


def pairs_grid(
    config: ExperimentConfig, task_names: list[str], *, check_task_names: bool = True
) -> Grid:
    """The pairwise-transfer grid of an experiment (``train.pairwise``): one cell per pair
    of its tasks (a ``tasks`` axis, per-task options cut to the pair), its strategy,
    weighting, training settings and seeds, with the measurements no matrix reads off.
    ``check_task_names=False`` when the names come from the prepared data (reading a
    built-in dataset again to check them can take seconds)."""
    raw = config.model_dump(mode="json")
    raw["train"].update(pairwise=False, **PAIRS_MEASUREMENTS_OFF)
    entries = raw.get("tasks") or list(task_names)
    pairs = [list(pair) for pair in itertools.combinations(entries, 2)]
    return expand(f"{config.name} pairs"[:64], raw, [("tasks", pairs)], list(config.seeds),
                  source="train.pairwise", check_task_names=check_task_names)  # fmt: skip


def cell_task_names(cell: Cell) -> list[str]:
    """The names of a cell's tasks (None: the dataset's own, not named by the config)."""
    return [t if isinstance(t, str) else t.name for t in cell.config.tasks or []]


def _check_task_names(cells: list[Cell], source: str) -> None:
    """A ``tasks`` axis names tasks of a built-in dataset: each must be one of its tasks
    (the loader checks names only when the data is read, in the run)."""
    from mtlcore.data.builtin import load_builtin
    from mtlcore.data.spec import DataError

    datasets: dict[str, Any] = {}
    for cell in cells:
        data = cell.config.data
        if data.builtin is None or cell.config.tasks is None:
            continue
        key = json.dumps([data.builtin, data.options], sort_keys=True)
        if key not in datasets:
            datasets[key] = load_builtin(data.builtin, data.options)
        for task in cell.config.tasks:
            if isinstance(task, str):
                try:
                    datasets[key].task(task)
                except DataError as exc:
                    raise SweepError(f"{source}: axes: tasks = {json.dumps(cell.values['tasks'])}: "
                                     f"{exc}") from None  # fmt: skip


def _check_key(key: str, base: dict[str, Any], source: str) -> None:
    """An axis key must name a config key: its sections and fields, or an option."""
    parts = key.split(".")
    if parts[0] in RESERVED_KEYS and len(parts) == 1:
        raise SweepError(f"{source}: axes: {key}: {RESERVED_KEYS[parts[0]]}")
    model: type[BaseModel] = ExperimentConfig
    for depth, part in enumerate(parts):
        where = ".".join(parts[:depth]) or "the config"
        fields = model.model_fields
        if part not in fields:
            raise SweepError(f"{source}: axes: {key!r} is not a config key: {where} has no "
                             f"{part!r}; its keys are: {', '.join(fields)}")  # fmt: skip
        kind = fields[part].annotation
        rest = parts[depth + 1 :]
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            if not rest:
                raise SweepError(f"{source}: axes: {key!r} is a section; sweep one of its keys: "
                                 f"{', '.join(f'{key}.{k}' for k in kind.model_fields)}")  # fmt: skip
            model = kind
            continue
        if part == "options" and rest:
            _check_option(parts[:depth], rest, base, source, key)
        elif rest:
            raise SweepError(f"{source}: axes: {key!r} is not a config key: "
                             f"{'.'.join(parts[: depth + 1])} holds a value, not keys")  # fmt: skip
        return


def _check_option(section: list[str], rest: list[str], base: dict[str, Any], source: str,
                  key: str) -> None:  # fmt: skip
    """A dataset option of the base's built-in dataset must be one it has; strategy and
    weighting options are checked by the loader per cell (the strategy may vary)."""
    if section != ["data"] or not base.get("data", {}).get("builtin"):
        return
    from mtlcore.data.builtin import BUILTIN_DATASETS

    dataset = BUILTIN_DATASETS.get(base["data"]["builtin"])
    if dataset is None:
        return
    known = dataset.options_model.model_fields
    if rest[0] not in known:
        raise SweepError(
            f"{source}: axes: {key!r} is not an option of the {base['data']['builtin']} "
            f"dataset; its options are: {', '.join(known) or 'none'}"
        )


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= 24 else text[:23] + "…"
