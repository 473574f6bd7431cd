"""The package's floors, read from its imports: nothing imports a floor above its own,
the sans-I/O floors import no I/O library, and no modules import each other in a circle.

Every import counts -- at the top of a module, inside a function, under TYPE_CHECKING --
because each of them is a dependency a reader has to hold in mind.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator

import pytest

from tests.unit.helpers import ROOT

PACKAGE = os.path.join(ROOT, "fallback")

#: Bottom up. A module may import modules of its own part and of the floors below.
FLOORS: tuple[frozenset[str], ...] = (
    frozenset({"fallback.codes"}),
    frozenset({"fallback.exceptions"}),
    frozenset({"fallback.core", "fallback.wsengine"}),
    frozenset({"fallback.app", "fallback.flash"}),
    frozenset({"fallback.transports", "fallback.channels"}),
    frozenset({"fallback.server"}),
    frozenset({"fallback.realtime", "fallback.compat", "fallback.testing"}),
    frozenset({"fallback.cli"}),
    frozenset({"fallback", "fallback.__main__"}),
)

#: Libraries that do I/O: the sans-I/O floors never import them.
IO_LIBRARIES = frozenset({"tornado", "asyncio", "socket", "ssl", "select", "selectors"})
SANS_IO = ("fallback.core", "fallback.wsengine")


def modules() -> dict[str, str]:
    """Every module of the package: dotted name -> path."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = modules()


def imports(module: str) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import in `module`: ours resolved to the module
    they name (``from . import x`` names the module ``x`` when there is one)."""
    path = MODULES[module]
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    with open(path, encoding="utf-8") as file:
        tree = ast.parse(file.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            for alias in node.names:
                if f"{name}.{alias.name}" in MODULES:
                    yield f"{name}.{alias.name}", node.lineno
                else:
                    yield name, node.lineno


def part_of(module: str) -> str:
    """The floor entry `module` belongs to (the longest one naming it)."""
    best = ""
    for floor in FLOORS:
        for part in floor:
            if (module == part or module.startswith(part + ".")) and len(part) > len(best):
                best = part
    assert best, f"{module} is on no floor: add it to FLOORS"
    return best


def floor_of(module: str) -> int:
    part = part_of(module)
    return next(i for i, floor in enumerate(FLOORS) if part in floor)


def test_every_module_is_on_a_floor():
    for module in MODULES:
        part_of(module)


def test_no_module_imports_a_floor_above_its_own_or_a_neighbour_on_its_floor():
    wrong = []
    for module in MODULES:
        mine = part_of(module)
        for target, line in imports(module):
            if target != "fallback" and not target.startswith("fallback."):
                continue
            theirs = part_of(target)
            if theirs == mine:
                continue
            if floor_of(target) >= floor_of(module):
                wrong.append(f"{module}:{line} imports {target}")
    assert wrong == []


@pytest.mark.parametrize("floor", SANS_IO)
def test_the_sans_io_floors_import_no_io_library(floor):
    wrong = []
    for module in MODULES:
        if module != floor and not module.startswith(floor + "."):
            continue
        for target, line in imports(module):
            if target.split(".")[0] in IO_LIBRARIES:
                wrong.append(f"{module}:{line} imports {target}")
    assert wrong == []


def test_no_modules_import_each_other_in_a_circle():
    graph = {
        module: {target for target, _ in imports(module) if target in MODULES} for module in MODULES
    }
    circles = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circles.append(" -> ".join([*path[path.index(module) :], module]))
            return
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])
    assert circles == []


def test_the_checks_see_what_they_should():
    # The walk finds the floors' modules and resolves relative imports: a check that
    # reads nothing would pass whatever the code did.
    assert "fallback.core.session" in MODULES and "fallback.transports.sockio" in MODULES
    assert any(t == "fallback.core.states" for t, _ in imports("fallback.core.session"))
    assert any(t == "fallback.core.envelopes" for t, _ in imports("fallback.transports.pages"))
    assert any(t.startswith("tornado") for t, _ in imports("fallback.transports.sockio"))
    assert floor_of("fallback.server.router") > floor_of("fallback.transports.base")
