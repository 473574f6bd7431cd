"""sockjs-tornado's ``util`` module: its Python 2/3 helpers.

The text helpers work as they did. ``asynchronous`` was a copy of the decorator Tornado 6
removed: decorating still works (it runs when a module is imported), and calling the
decorated method raises `fallback.exceptions.UnsupportedError` saying to write a
coroutine instead.
"""

from __future__ import annotations

import functools
import sys
import urllib.parse
from collections.abc import Callable
from typing import Any, NoReturn

from ._gone import unsupported

__all__ = ["MAXSIZE", "PY3", "asynchronous", "bytes_to_str", "str_to_bytes", "unquote_plus"]

PY3 = True
MAXSIZE = sys.maxsize
unquote_plus = urllib.parse.unquote_plus


def bytes_to_str(b: Any) -> Any:
    """UTF-8 bytes as str; anything else unchanged."""
    return str(b, "utf-8") if isinstance(b, bytes) else b


def str_to_bytes(s: Any) -> Any:
    """str as UTF-8 bytes; anything else unchanged."""
    return s.encode("utf-8") if isinstance(s, str) else s


def asynchronous(method: Callable[..., Any]) -> Callable[..., NoReturn]:
    """Tornado 5's ``@asynchronous``, which Tornado 6 removed (see the module doc)."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> NoReturn:
        raise unsupported(
            "util.asynchronous",
            f"Tornado 6 has no @asynchronous; make {method.__qualname__} an "
            "`async def` coroutine (the request finishes when it returns)",
        )

    return wrapper
