"""The experiment config: one validated object, loadable from YAML/JSON and dumped back stably.

The dashboard builds it, the CLI reads it from a file, and every run saves it, so
any run can be replayed headless. pydantic does the validation: unknown keys and
bad values are errors that name the key (``train.lr``) and the allowed values.
Strategy and weighting options are validated against the option model that the
chosen method registers, so ``model.options.n_experts`` is checked like any key.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from mtlcore.catalogue import METHODS, STRATEGIES, CatalogueEntry
from mtlcore.data.spec import TaskSpec
from mtlcore.limits import UnreadableFile, check_parameters, min_parameters, read_regular_file

# A config file is a few kilobytes; anything much larger is not one.
MAX_CONFIG_BYTES = 1_000_000


def _options(model: type[BaseModel], raw: dict[str, Any], section: str) -> dict[str, Any]:
    """Validate a method's options with its own model; errors name ``section.options.key``.

    Numbers must be finite, whatever the option model allows: an infinite noise or
    scale only fails later, far from the key that caused it.
    """
    where = f"{section}.options"
    _reject_non_finite(raw, where)
    try:
        valid = model.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(format_validation_error(exc, where, joiner=".")) from None
    _reject_non_finite(valid.model_dump(), where)  # "inf" given as text, read as a number
    return valid.model_dump(mode="json")


def _catalogue_options(
    catalogue: dict[str, CatalogueEntry], key: str, name: str, raw: dict[str, Any]
) -> dict[str, Any]:
    """The options of catalogue entry ``name``, given at ``key`` (``model.strategy`` or
    ``weighting.method``), validated by :func:`_options`; an unknown name is an error
    that lists the known ones."""
    section, field = key.split(".")
    if name not in catalogue:
        raise ValueError(f"{key}: unknown {field} {name!r}; choose one of: {', '.join(catalogue)}")
    return _options(catalogue[name].options_model, raw, section)


def _reject_non_finite(value: Any, where: str) -> None:
    """Raise ValueError naming the first infinite or NaN number inside ``value``."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where}: {value} is not a finite number; give a finite number")
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_non_finite(item, f"{where}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _reject_non_finite(item, f"{where}.{i}")


class StrictModel(BaseModel):
    """Base for config sections: unknown keys are errors, values are checked on assignment,
    numbers must be finite (an infinite weight decay would only show up as a divergence)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class TaskConfig(StrictModel):
    """A task given in full (needed for CSV data; optional for built-in datasets).

    ``target`` is one column, or a list of numeric columns for a multi-output regression
    task (one output per column, e.g. GradNorm's toy tasks with 100-dimensional outputs).
    """

    name: Annotated[str, Field(min_length=1, max_length=64)]
    table: str
    target: str | list[str]
    kind: Literal["auto", "regression", "binary", "multiclass"] = "auto"
    inputs: list[str] | None = None
    # At most this many labelled training rows (a seeded sample); val/test stay whole.
    train_rows: Annotated[int, Field(ge=2)] | None = None

    @field_validator("target", mode="before")
    @classmethod
    def _column_or_columns(cls, value: Any) -> Any:
        # One message instead of pydantic's one per union member.
        if isinstance(value, str) or (
            isinstance(value, list) and value and all(isinstance(c, str) for c in value)
        ):
            return value
        raise ValueError(f"give one column name or a non-empty list of column names, not {value!r}")

    @model_validator(mode="after")
    def _targets_fit_kind(self) -> TaskConfig:
        if isinstance(self.target, str):
            return self
        repeated = sorted({c for c in self.target if self.target.count(c) > 1})
        if repeated:
            raise ValueError(
                f"target: task {self.name!r} lists column {repeated[0]!r} more than once; "
                "list each target column once"
            )
        if len(self.target) > 1 and self.kind not in ("auto", "regression"):
            raise ValueError(
                f"target: task {self.name!r} lists {len(self.target)} columns, which makes a "
                f"multi-output regression task, but kind is {self.kind!r}; use kind regression "
                "(or auto), or give one target column for a classification task"
            )
        return self

    def to_spec(self) -> TaskSpec:
        return TaskSpec(
            name=self.name,
            table=self.table,
            target=self.target if isinstance(self.target, str) else tuple(self.target),
            kind=self.kind,
            inputs=tuple(self.inputs) if self.inputs is not None else None,
            train_rows=self.train_rows,
        )


# A task is a built-in task's name or a full mapping; a mapping is checked as a TaskConfig only.
TaskEntry = Annotated[
    Annotated[str, Tag("task name")] | Annotated[TaskConfig, Tag("task")],
    Discriminator(lambda v: "task name" if isinstance(v, str) else "task"),
]


class DataConfig(StrictModel):
    """Where the tables come from (a built-in dataset, or CSV files by table name) and how
    their rows become model inputs.

    ``align_columns`` (default on, since transfer between tables is the point): tasks
    of *different tables* whose inputs share column names read one feature space, so
    they share the model's first layer and transfer can start there. Each column
    name gets one preprocessor fitted on the union of those tasks' training rows; a
    column a table lacks reads as 0 (the mean after standardising, no category); one
    0/1 column per table tells the tables apart. Tasks of a single table are prepared
    per task either way. Off: every task gets its own preprocessing, and tasks of
    different tables get separate first layers.
    """

    builtin: str | None = "houses"
    options: dict[str, Any] = Field(default_factory=dict)
    csv: dict[str, str] | None = None  # table name -> CSV path
    val_fraction: Annotated[float, Field(ge=0.05, le=0.4)] = 0.15
    test_fraction: Annotated[float, Field(ge=0.05, le=0.4)] = 0.15
    split_seed: Annotated[int, Field(ge=0)] = 0  # fixed across seeds: all seeds see one test set
    standardize_targets: bool = True  # train regression targets in standard units
    # Tasks of different tables share same-named input columns: one feature space, one input layer.
    align_columns: bool = True

    @model_validator(mode="after")
    def _one_source(self) -> DataConfig:
        if self.csv is not None and self.builtin is not None:
            # An explicit csv mapping wins over the default built-in.
            if "builtin" in self.model_fields_set:
                raise ValueError("give either data.builtin or data.csv, not both")
            object.__setattr__(self, "builtin", None)
        if self.csv is None and self.builtin is None:
            raise ValueError("give data.builtin (a built-in dataset) or data.csv (table: path)")
        if self.builtin is not None:
            from mtlcore.data.builtin import BUILTIN_DATASETS

            if self.builtin not in BUILTIN_DATASETS:
                raise ValueError(
                    f"data.builtin: unknown dataset {self.builtin!r}; "
                    f"choose one of: {', '.join(BUILTIN_DATASETS)}"
                )
            opts = _options(BUILTIN_DATASETS[self.builtin].options_model, self.options, "data")
            object.__setattr__(self, "options", opts)
        elif self.options:
            raise ValueError("data.options only applies to a built-in dataset; remove it")
        if self.val_fraction + self.test_fraction > 0.6:
            raise ValueError("data.val_fraction + data.test_fraction must be at most 0.6")
        return self


class ModelConfig(StrictModel):
    """The sharing strategy and the layer sizes.

    ``hidden`` are the layer widths of the trunk: the first layer reads a task's
    inputs (shared by tasks whose inputs are the same columns of the same table),
    the rest are shared by every task under hard sharing. ``head_hidden`` are the
    widths of each task's own head before its output layer.
    """

    strategy: str = "hard"
    hidden: list[Annotated[int, Field(ge=1, le=4096)]] = Field(
        default_factory=lambda: [64, 32], min_length=1, max_length=8
    )
    head_hidden: list[Annotated[int, Field(ge=1, le=4096)]] = Field(
        default_factory=list, max_length=4
    )
    activation: Literal["relu", "tanh", "gelu"] = "relu"
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_strategy(self) -> ModelConfig:
        opts = _catalogue_options(STRATEGIES, "model.strategy", self.strategy, self.options)
        object.__setattr__(self, "options", opts)
        _check_model_size(self)
        return self


def _check_model_size(model: ModelConfig) -> None:
    """Refuse a model over the parameter budget even with one task, one input and one
    output (:func:`~mtlcore.limits.min_parameters`, a lower bound counted without torch;
    the exact count, with the data's sizes, is checked again before the model is built).
    Keeps a link or a config file from asking for a huge model."""
    options = model.options
    experts = options.get("n_experts") or options.get("n_shared_experts") or 1
    check_parameters(min_parameters(model.hidden, model.head_hidden, experts), "this model")


class WeightingConfig(StrictModel):
    """How task losses are combined: a loss weighting or a gradient combination method."""

    method: str = "equal"
    options: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_method(self) -> WeightingConfig:
        opts = _catalogue_options(METHODS, "weighting.method", self.method, self.options)
        object.__setattr__(self, "options", opts)
        return self


DEFAULT_EPOCHS = 30


class TrainConfig(StrictModel):
    """The optimiser, schedule and run-time settings of the one training loop.

    The learning-rate schedule (``schedule``, ``warmup_steps``, ``step_every``,
    ``step_gamma``) counts optimiser steps and scales every parameter group by the
    same factor, so a weighting method's own group (its ``weight_lr``) follows it too.
    ``steps`` trains for that many optimiser steps instead of ``epochs`` (an epoch,
    for reporting, is still the steps of one epoch; the last may be partial); a
    config gives one or the other.
    """

    optimizer: Literal["sgd", "adam", "adamw"] = "adam"
    lr: Annotated[float, Field(gt=0.0, le=10.0)] = 1e-2
    momentum: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.9  # SGD only
    weight_decay: Annotated[float, Field(ge=0.0)] = 0.0  # AdamW's decoupled decay
    regularization: Literal["none", "l1", "l2"] = "none"
    reg_lambda: Annotated[float, Field(ge=0.0)] = 0.0
    # After the warm-up: none keeps lr; cosine anneals it to 0 over the remaining steps;
    # step multiplies it by step_gamma every step_every steps.
    schedule: Literal["none", "cosine", "step"] = "none"
    warmup_steps: Annotated[int, Field(ge=0, le=10_000_000)] = 0  # step k of N uses lr·k/N
    # step schedule only: steps between drops (None: a third of the steps after the warm-up)
    step_every: Annotated[int, Field(ge=1)] | None = None
    step_gamma: Annotated[float, Field(gt=0.0, le=1.0)] = 0.1  # step schedule only
    epochs: Annotated[int, Field(ge=1, le=10_000)] = DEFAULT_EPOCHS
    steps: Annotated[int, Field(ge=1, le=10_000_000)] | None = None  # instead of epochs
    batch_size: Annotated[int, Field(ge=1, le=65_536)] = 64
    grad_cosine_every: Annotated[int, Field(ge=0)] = 10  # steps; 0 turns it off
    # Steps between lookahead task-affinity measurements (Fifty et al. 2021); 0 = off. One
    # measurement costs about 1.3 training steps (3 tasks), so every 25 adds about 5%.
    affinity_every: Annotated[int, Field(ge=0)] = 25
    pairwise: bool = False  # also train every pair of tasks (<= 5) for the pairwise-gain matrix
    snapshot_every: Annotated[int, Field(ge=0)] = 0  # epochs between representation snapshots
    snapshot_rows: Annotated[int, Field(ge=1, le=5000)] = 200  # validation rows per task in each
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: Annotated[int, Field(ge=1, le=64)] = 1

    @model_validator(mode="after")
    def _steps_or_epochs(self) -> TrainConfig:
        # A default epochs beside steps is what a dumped config holds, so it must load.
        if self.steps is not None and self.epochs != DEFAULT_EPOCHS:
            raise ValueError(
                f"train.steps: a run trains for train.steps ({self.steps}) or for "
                f"train.epochs ({self.epochs}), not both; remove one of them"
            )
        return self


class ExperimentConfig(StrictModel):
    """Everything needed to run an experiment, and nothing else."""

    name: str = "experiment"
    data: DataConfig = Field(default_factory=DataConfig)
    tasks: list[TaskEntry] | None = None  # None = every task of the built-in dataset
    model: ModelConfig = Field(default_factory=ModelConfig)
    weighting: WeightingConfig = Field(default_factory=WeightingConfig)
    train: TrainConfig = Field(default_factory=TrainConfig)
    baselines: bool = True  # also train single-task models for the MTL-vs-STL comparison
    seeds: list[Annotated[int, Field(ge=0)]] = Field(default_factory=lambda: [0], min_length=1)

    @field_validator("tasks")
    @classmethod
    def _unique_task_names(cls, tasks: list[str | TaskConfig] | None) -> Any:
        if tasks is None:
            return tasks
        if not tasks:
            raise ValueError("give at least one task, or leave tasks out to use all of them")
        names = [t if isinstance(t, str) else t.name for t in tasks]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"task names must be unique; repeated: {', '.join(dupes)}")
        return tasks

    @model_validator(mode="after")
    def _tasks_fit_data(self) -> ExperimentConfig:
        if self.data.csv is not None:
            if self.tasks is None or any(isinstance(t, str) for t in self.tasks):
                raise ValueError(
                    "tasks: with CSV data every task needs name, table and target "
                    "(a bare task name only works for a built-in dataset)"
                )
            for t in self.tasks:
                assert isinstance(t, TaskConfig)
                if t.table not in self.data.csv:
                    raise ValueError(
                        f"tasks: task {t.name!r} reads table {t.table!r}, which data.csv "
                        f"does not define; tables are: {', '.join(self.data.csv)}"
                    )
        return self

    def task_names(self) -> list[str] | None:
        """Names of the chosen tasks, or None when every task of a built-in dataset is meant."""
        if self.tasks is None:
            return None
        return [t if isinstance(t, str) else t.name for t in self.tasks]

    # --- files ---------------------------------------------------------------

    def to_yaml(self) -> str:
        """The config as YAML; dumping, loading and dumping again gives the same bytes."""
        return yaml.safe_dump(
            self.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100
        )

    @classmethod
    def from_text(cls, text: str, *, source: str = "config") -> ExperimentConfig:
        """Parse YAML (JSON is YAML too). Raises ConfigError with one readable message."""
        try:
            raw = yaml.load(text, Loader=_ConfigLoader)  # noqa: S506 (a SafeLoader)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML{_yaml_problem(exc)}") from None
        except RecursionError:
            raise ConfigError(f"{source}: nested too deeply to be a config") from None
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: the top level must be a mapping of keys, not a list")
        return cls.parse(raw, source=source)

    @classmethod
    def parse(cls, raw: dict[str, Any], *, source: str = "config") -> ExperimentConfig:
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, source)) from None

    @classmethod
    def load(cls, path: str | Path) -> ExperimentConfig:
        p = Path(path)
        return cls.from_text(read_config_text(p), source=str(p))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_yaml(), encoding="utf-8")

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), sort_keys=False)


def read_config_text(path: Path, what: str = "config file") -> str:
    """The text of a config-sized file (a config, a sweep); ConfigError with one line when
    it is missing, not a regular file, too large or not UTF-8."""
    try:
        return read_regular_file(path, MAX_CONFIG_BYTES).decode("utf-8")
    except UnreadableFile as exc:
        if exc.missing:
            raise ConfigError(f"{path}: no such {what}; check the path") from None
        raise ConfigError(f"{path}: the {what} {exc.reason}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text; save the {what} as UTF-8") from None


class _ConfigLoader(yaml.SafeLoader):
    """YAML's safe loader without anchors and aliases (``*name``): a config never needs
    them, and a few nested aliases expand into billions of values ("billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None,
                None,
                "aliases (*name) are not allowed in a config; write the value out",
                event.start_mark,
            )
        return super().compose_node(parent, index)


class ConfigError(ValueError):
    """A config that cannot be used; the message names the key and what is allowed."""


def format_validation_error(
    exc: ValidationError, source: str = "config", joiner: str = ": "
) -> str:
    """Every problem on one line: ``source: key.path: what is wrong; key.path: ...``.

    A value that fits no member of a union (``noise``: a number or a list of numbers)
    gets one message, the one that reached deepest into the value (the member the
    value was meant for), not one per member.
    """
    best: dict[str, tuple[int, str]] = {}  # key path -> (depth reached, message)
    for err in exc.errors(include_url=False):
        tagged = err["type"] != "extra_forbidden"  # an unknown key is the user's own name
        parts = [str(p) for p in err["loc"] if not (tagged and _is_union_tag(p))]
        msg = one_line(err["msg"])
        if err["type"] == "extra_forbidden":
            msg = "unknown key; remove it or check its spelling"
        elif err["type"] in ("model_type", "model_attributes_type", "dict_type"):
            msg = f"give a mapping of keys (key: value), not {_kind_of(err.get('input'))}"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        loc = ".".join(parts)
        depth = len(err["loc"]) - (err["type"] in _SHAPE_ERRORS)
        if loc not in best or depth > best[loc][0]:
            best[loc] = (depth, msg)
    # A member that reached deeper names the deeper key; drop its shallower siblings.
    locs = [loc for loc in best if not any(o.startswith(f"{loc}.") for o in best if o != loc)]
    items = []
    for loc in locs:
        msg = best[loc][1]
        if loc and msg.startswith(loc):  # a nested check already named the full key
            loc = ""
        items.append(f"{loc}: {msg}" if loc else msg)
    items = list(dict.fromkeys(items))
    if len(items) > 1:
        items = [item.rstrip(".") for item in items]
    if joiner == ": ":
        return f"{source}: " + "; ".join(items)
    return "; ".join(f"{source}{joiner}{item}" for item in items)


# Errors that say the value has the wrong shape for this union member (a list where a
# number was meant): a member whose own check got further is the better message.
_SHAPE_ERRORS = {"list_type", "dict_type", "model_type", "model_attributes_type", "none_required"}
_UNION_TAG = re.compile(r"^(?:[a-z-]+\[.*\]|int|float|str|bool|none|constrained-[a-z]+)$")


def _is_union_tag(part: Any) -> bool:
    """pydantic puts a union member's name into error paths (``list[constrained-float]``,
    ``int``; our own tags ``task name`` and ``task``); they are no key of the config."""
    return isinstance(part, str) and (part in ("task name", "task") or bool(_UNION_TAG.match(part)))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """Where and what, on one line: `` at line 2, column 7 (while parsing a flow sequence):
    expected ',' or ']', but got '<stream end>' at line 3, column 1``."""

    def at(mark: Any) -> str:
        return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""

    problem = getattr(exc, "problem", None)
    if problem is None:
        return f": {one_line(str(exc))}"
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    problem_mark = getattr(exc, "problem_mark", None)
    if context and context_mark:
        return f"{at(context_mark)} ({context}): {problem}{at(problem_mark)}"
    return f"{at(problem_mark)}: {one_line(problem)}"


def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    return f"the number {value!r}" if isinstance(value, int | float) else type(value).__name__


def one_line(text: str) -> str:
    """A message on one line: its lines joined with "; "."""
    return "; ".join(line.strip() for line in str(text).splitlines() if line.strip())
