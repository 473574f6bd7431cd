"""Log lines a client cannot forge: every argument is escaped when the line is written.

Session ids, paths, callbacks, close reasons, channel and tenant names all come from the
network, and some of them reach log lines: a session id may hold ``%0d%0a`` (Tornado
decodes URL arguments), so an unescaped id could end a line and start a forged one
(``CRITICAL ...``) in a plain-text log. Escaping at each call site would be forgotten at
the next one, so every fallback module logs through `get_logger`, whose adapter escapes
the *arguments* of every record (the format strings are ours):

* a string argument is written with its control characters, the Unicode line and
  paragraph separators, the bidirectional overrides and the backslash escaped
  (``\\r``, ``\\n``, ``\\x1b``, ``\\u2028``, ``\\\\``), so a line stays one line and
  reads the same in a terminal as in a file; ``%r`` still gives the string's repr;
* other objects (a session, a connection) are escaped through their ``str`` and ``repr``;
* numbers, booleans and None are left alone (``%d`` and ``%.1f`` keep working).

Tracebacks are not touched: they are multi-line by nature, and their text is the
program's. A test scans the package so that no module logs through a bare
``logging.getLogger``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = ["SafeLogger", "escape", "get_logger"]

#: Characters escaped besides the C0/C1 controls and DEL: line and paragraph separators
#: (some viewers break lines there) and the bidirectional controls (which make a line
#: display differently from what it holds).
_EXTRA = frozenset(
    "\u2028\u2029\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
)
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _needs_escape(char: str) -> bool:
    code = ord(char)
    return code < 0x20 or 0x7F <= code < 0xA0 or char == "\\" or char in _EXTRA


def escape(text: str) -> str:
    """`text` as one printable line: controls, separators and ``\\`` escaped."""
    if not any(_needs_escape(c) for c in text):
        return text
    out = []
    for char in text:
        if not _needs_escape(char):
            out.append(char)
        elif char in _SHORT:
            out.append(_SHORT[char])
        elif ord(char) < 0x100:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(f"\\u{ord(char):04x}")
    return "".join(out)


class _Escaped:
    """An argument whose ``%s`` and ``%r`` renderings are escaped."""

    __slots__ = ("_value",)

    def __init__(self, value: object) -> None:
        self._value = value

    def __str__(self) -> str:
        return escape(str(self._value))

    def __repr__(self) -> str:
        value = self._value
        if isinstance(value, str):  # a string's repr escapes all of it already
            return repr(value)
        return escape(repr(value))


def _safe(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return _Escaped(value)


class SafeLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger whose records' arguments are escaped (see the module docstring)."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logger, None)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        return msg, kwargs

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.logger.isEnabledFor(level):
            return
        if len(args) == 1 and isinstance(args[0], Mapping) and args[0]:
            safe_args: tuple[object, ...] = ({k: _safe(v) for k, v in args[0].items()},)
        else:
            safe_args = tuple(_safe(arg) for arg in args)
        # The caller's file and line, not this module's.
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 1
        self.logger.log(level, msg, *safe_args, **kwargs)


def get_logger(name: str) -> SafeLogger:
    """The escaping logger for `name` (``fallback.session``, ``tornado.access``...)."""
    return SafeLogger(logging.getLogger(name))
