"""How the parts of sockjs-tornado that mean nothing on fallback say so.

sockjs-tornado's modules mix what applications use (connections, sessions, the router,
statistics) with its own machinery (transport handlers, the session container). The
machinery has no counterpart here -- fallback's transports and sessions are its own -- but
an application's imports must still work, so that it migrates by changing ``sockjs.tornado``
to ``fallback.compat.sockjs_tornado`` and learns only about the parts it really touches:
each such name exists, and raises `UnsupportedError` naming the replacement when it is
read (`Gone`), instantiated (`placeholder`) or called (`gone_function`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from ...exceptions import UnsupportedError

PACKAGE = "fallback.compat.sockjs_tornado"


def unsupported(what: str, instead: str) -> UnsupportedError:
    return UnsupportedError(f"sockjs-tornado's {what} has no counterpart in {PACKAGE}: {instead}")


class Gone:
    """A class attribute that raises `UnsupportedError` when read on an instance.

    A non-data descriptor: an application that assigns the attribute (sockjs-tornado
    let it) stores its own value in the instance, which is then read back normally.
    """

    __slots__ = ("instead", "name")

    def __init__(self, instead: str) -> None:
        self.instead = instead
        self.name = "?"

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = f"{owner.__name__}.{name}"

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        raise unsupported(self.name, self.instead)


def placeholder(module: str, name: str, instead: str, doc: str = "") -> type:
    """A class of sockjs-tornado's machinery: importable, subclassable, and raising
    `UnsupportedError` when it (or a subclass) is instantiated."""

    def __init__(self: object, *args: Any, **kwargs: Any) -> NoReturn:
        raise unsupported(f"{module}.{name}", instead)

    return type(
        name,
        (),
        {
            "__init__": __init__,
            "__module__": f"{PACKAGE}.{module}",
            "__doc__": doc or f"sockjs-tornado's {name}: not available on fallback. {instead}",
        },
    )


def gone_function(module: str, name: str, instead: str) -> Callable[..., NoReturn]:
    def function(*args: Any, **kwargs: Any) -> NoReturn:
        raise unsupported(f"{module}.{name}()", instead)

    function.__name__ = function.__qualname__ = name
    function.__module__ = f"{PACKAGE}.{module}"
    function.__doc__ = f"sockjs-tornado's {name}(): not available on fallback. {instead}"
    return function


#: What to use instead of sockjs-tornado's transport handlers.
TRANSPORT_INSTEAD = (
    "fallback's router serves every SockJS transport with its own handlers "
    "(router.urls); choose transports with the disabled_transports setting"
)
