"""Applications written against sockjs-tornado 1.0.7, run on both implementations.

Each module here imports sockjs-tornado's modules, as real applications do (``conn``,
``session``, ``proto``, ``router``, ``stats``, ``transports.base``). `load` runs a
module's source as it is (the reference) or with its import lines pointed at
``fallback.compat.sockjs_tornado`` and not one other character changed -- the migration
the README describes, done literally.
"""

from __future__ import annotations

import os
import types

from tests.compat.conftest import OURS, REFERENCE, import_api

HERE = os.path.dirname(os.path.abspath(__file__))
OLD, NEW = "sockjs.tornado", "fallback.compat.sockjs_tornado"


def source(app: str, impl: str) -> str:
    with open(os.path.join(HERE, app + ".py"), encoding="utf-8") as file:
        lines = file.read().splitlines(keepends=True)
    if impl == OURS:
        lines = [migrated(line) for line in lines]
    return "".join(lines)


def migrated(line: str) -> str:
    """An import of sockjs-tornado's package, pointed at fallback's; any other line as is."""
    for statement in ("from ", "import "):
        if line.startswith(statement + OLD + " ") or line.startswith(statement + OLD + "."):
            return statement + NEW + line[len(statement + OLD) :]
    return line


def load(app: str, impl: str) -> types.ModuleType:
    """A fresh module of the application `app` on the implementation `impl`."""
    assert impl in (OURS, REFERENCE)
    import_api(impl)  # the reference's import warns; do it shielded, once
    module = types.ModuleType(f"tests.compat.realapps.{app}:{impl}")
    module.__file__ = os.path.join(HERE, app + ".py")
    exec(compile(source(app, impl), module.__file__, "exec"), module.__dict__)
    return module
