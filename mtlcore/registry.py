"""The name registry shared by the sharing strategies and the weighting methods.

Listing, describing and validating options reads the torch-free catalogue
(:mod:`mtlcore.catalogue`); only :attr:`Entry.factory` imports the module that builds
the model or weighting, and with it torch. Each such module registers its factory with
``@REGISTRY.register(name)``: the name is all it gives, the title, summary, paper and
options model are the catalogue entry's, so they have one home. A name missing from
the catalogue, or registered twice, stops the import with a message saying so.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from mtlcore.catalogue import CatalogueEntry

T = TypeVar("T")

__all__ = ["Entry", "Registry"]


class Entry(Generic[T]):
    """A catalogue entry plus its factory, which is imported on first use."""

    def __init__(self, info: CatalogueEntry):
        self.info = info
        self._factory: T | None = None

    name = property(lambda self: self.info.name)
    kind = property(lambda self: self.info.kind)
    title = property(lambda self: self.info.title)
    summary = property(lambda self: self.info.summary)
    paper = property(lambda self: self.info.paper)
    options_model = property(lambda self: self.info.options_model)

    def options(self, raw: dict[str, Any] | None) -> BaseModel:
        return self.info.options(raw)

    @property
    def factory(self) -> T:
        if self._factory is None:
            importlib.import_module(self.info.module)  # its @register sets the factory
        if self._factory is None:
            raise LookupError(f"{self.info.module} registers no factory for {self.name!r}")
        return self._factory


class Registry(dict[str, Entry[T]]):
    """name -> Entry, in the catalogue's order; factories filled by ``register``."""

    def __init__(self, kind: str, catalogue: dict[str, CatalogueEntry]):
        super().__init__((name, Entry(info)) for name, info in catalogue.items())
        self.kind = kind

    def register(self, name: str) -> Callable[[T], T]:
        """Register the factory of ``name``, which must be in the catalogue: its title,
        summary, paper and options model come from there."""
        if name not in self:
            raise ValueError(f"{self.kind} {name!r} is not in mtlcore/catalogue.py; add it there")

        def deco(factory: T) -> T:
            entry = self[name]
            if entry._factory is not None:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            entry._factory = factory
            return factory

        return deco

    def get_entry(self, name: str) -> Entry[T]:
        if name not in self:
            raise KeyError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(self)}")
        return self[name]
