"""The option widgets a strategy's, weighting method's or dataset's pydantic model asks
for, and the text form of an option that takes one value or one per task."""

from __future__ import annotations

import math
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

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
