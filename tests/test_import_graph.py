"""The import graph keeps the layers apart (read from the source with ast, nothing imported).

- ``mtlcore.weighting`` imports nothing from ``mtlcore.models``: a method sees the model
  only through ``mtlcore.weighting.base.WeightedModel``.
- ``dashboard`` imports nothing from ``mtlcore.train`` or ``mtlcore.experiment``: the pages
  read what runs wrote and hold no training logic.
- ``mtlcore`` never imports streamlit.

A module's own imports count wherever they stand (module level, inside a function, or
under ``if TYPE_CHECKING:``, a dependency all the same); what those modules import in
turn counts as far as it runs on import (module level, outside ``TYPE_CHECKING``), within
the project, transitively. Importing ``a.b.c`` also runs ``a`` and ``a.b``.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mtlcore", "dashboard")


@functools.cache
def module_path(module: str) -> Path | None:
    """The source file of a project module, or None for anything outside the project."""
    base = ROOT.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def project_modules(package: str) -> list[str]:
    """Every module of ``package`` by dotted name (packages by their ``__init__``)."""
    out = []
    for path in sorted(ROOT.joinpath(*package.split(".")).rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".")
    if module_path(module) is not None and module_path(module).name != "__init__.py":
        package = package[:-1]
    package = package[: len(package) - (node.level - 1)]
    return ".".join([*package, *([node.module] if node.module else [])])


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The modules an import statement names (``from a import b``: ``a``, and ``a.b`` when
    that is a module of its own)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = _resolve(module, node)
    subs = [f"{base}.{alias.name}" for alias in node.names]
    return [base, *(s for s in subs if module_path(s) is not None)]


@functools.cache
def imports(module: str, *, all_levels: bool) -> frozenset[str]:
    """What ``module``'s file imports: every import statement (``all_levels``), or only
    those that run when it is imported (module level, not under ``TYPE_CHECKING``)."""
    path = module_path(module)
    if path is None:
        return frozenset()
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import | ast.ImportFrom):
                found.update(_targets(module, node))
            elif isinstance(node, ast.If):
                if all_levels or not _is_type_checking(node):
                    visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                for block in (node.body, node.orelse, node.finalbody):
                    visit(block)
                for handler in node.handlers:
                    visit(handler.body)
            elif isinstance(node, ast.With):
                visit(node.body)
            elif all_levels:
                visit([n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)])

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return frozenset(found)


def _parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


@functools.cache
def loaded_by(module: str) -> frozenset[str]:
    """Every module that importing ``module`` runs, its parent packages included (within
    the project; outside modules are listed but not followed)."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        current = todo.pop()
        for name in (current, *_parents(current)):
            if name in seen:
                continue
            seen.add(name)
            todo.extend(imports(name, all_levels=False))
    return frozenset(seen)


def reaches(module: str) -> set[str]:
    """What ``module`` depends on: its own imports wherever they stand, and everything
    importing those runs."""
    out: set[str] = set()
    for name in imports(module, all_levels=True):
        out |= loaded_by(name)
    return out


def offenders(package: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    bad = {}
    for module in project_modules(package):
        hits = sorted(
            m for m in reaches(module) if any(m == f or m.startswith(f + ".") for f in forbidden)
        )
        if hits:
            bad[module] = hits
    return bad


RULES = {
    "weighting never imports models": ("mtlcore.weighting", ("mtlcore.models",)),
    "the dashboard never imports training": ("dashboard", ("mtlcore.train", "mtlcore.experiment")),
    "the engine never imports streamlit": ("mtlcore", ("streamlit",)),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_layers_keep_apart(rule: str):
    package, forbidden = RULES[rule]
    assert offenders(package, forbidden) == {}


def test_the_walk_sees_imports_at_every_level_and_follows_them():
    """The walk itself: function-level and TYPE_CHECKING imports count for the module that
    holds them, module-level ones are followed, and a breach is found."""
    assert "mtlcore.weighting.base" in reaches("mtlcore.weighting.gradnorm")
    assert "torch" in reaches("mtlcore.weighting.gradnorm")  # via base, at module level
    assert "mtlcore" in loaded_by("mtlcore.weighting.base")  # parents run too
    assert "mtlcore.catalogue" in reaches("mtlcore.weighting.registry")  # via mtlcore.registry
    assert "mtlcore.models" in reaches("mtlcore.experiment")
    assert "mtlcore.train" in reaches("mtlcore.runs._worker")  # imported inside a function
    assert offenders("mtlcore.runs", ("mtlcore.experiment",))  # the worker runs experiments
