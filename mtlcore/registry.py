"""A small name registry shared by the sharing strategies and the weighting methods.

Each entry carries what the UI and the docs need (title, a one-paragraph
explanation, the paper) and the pydantic model of its options, so the config can
validate ``model.options`` / ``weighting.options`` against the chosen entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class NoOptions(BaseModel):
    """For methods without options: any key given is an error."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    title: str
    summary: str  # one plain paragraph: what it does, when it helps, its cost
    paper: str  # citation, or "" for the textbook baselines
    options_model: type[BaseModel]
    factory: T

    def options(self, raw: dict[str, Any] | None) -> BaseModel:
        return self.options_model.model_validate(raw or {})


class Registry(dict[str, Entry[T]]):
    """name -> Entry, filled by ``register`` decorators in each method's module."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def register(
        self,
        name: str,
        *,
        title: str,
        summary: str,
        paper: str = "",
        options: type[BaseModel] = NoOptions,
    ) -> Callable[[T], T]:
        def deco(factory: T) -> T:
            if name in self:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self[name] = Entry(name, title, " ".join(summary.split()), paper, options, factory)
            return factory

        return deco

    def get_entry(self, name: str) -> Entry[T]:
        if name not in self:
            raise KeyError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self)}")
        return self[name]
