"""fallback.compat.sockjs_tornado has the modules and names of sockjs-tornado 1.0.7.

Read from the real package: every module it has, every class, function and constant
it defines, and every public attribute of the classes applications use must exist here
too, so that an application's imports work unchanged but for the package name. What
means nothing on fallback exists as well, and says so only when used.
"""

from __future__ import annotations

import importlib
import inspect
import logging
import pkgutil
import types

import pytest

from fallback.exceptions import UnsupportedError
from tests.compat.conftest import REFERENCE, import_api

REFERENCE_PACKAGE = "sockjs.tornado"
OUR_PACKAGE = "fallback.compat.sockjs_tornado"

#: Page templates of sockjs-tornado's own handlers: fallback's pages are its own.
NOT_PROVIDED = {
    ("static", "IFRAME_TEXT"),
    ("transports.htmlfile", "HTMLFILE_HEAD"),
    ("transports.htmlfile", "RE"),
}


def reference_modules() -> list[str]:
    """Every module of the real sockjs-tornado package, relative to it ('' for itself)."""
    root = import_api(REFERENCE)
    names = [""]
    for info in pkgutil.walk_packages(root.__path__, REFERENCE_PACKAGE + "."):
        names.append(info.name[len(REFERENCE_PACKAGE) + 1 :])
    return sorted(names)


def defined_in(module: types.ModuleType) -> set[str]:
    """The classes and functions a module defines, its UPPER_CASE constants and its
    submodules -- not what it imported from elsewhere (nor its logger)."""
    util = importlib.import_module(REFERENCE_PACKAGE + ".util")
    names = set()
    for name, value in vars(module).items():
        if name.startswith("_") or isinstance(value, logging.Logger):
            continue
        if isinstance(value, types.ModuleType):
            if value.__name__ == f"{module.__name__}.{name}":
                names.add(name)
        elif inspect.isclass(value) or inspect.isfunction(value):
            if value.__module__ == module.__name__:
                names.add(name)
        elif name.isupper() and (module is util or getattr(util, name, None) is not value):
            names.add(name)
    return names


def both(relative: str) -> tuple[types.ModuleType, types.ModuleType]:
    import_api(REFERENCE)  # imported once, with its DeprecationWarning shielded
    suffix = "." + relative if relative else ""
    return (
        importlib.import_module(REFERENCE_PACKAGE + suffix),
        importlib.import_module(OUR_PACKAGE + suffix),
    )


@pytest.mark.parametrize("relative", reference_modules())
def test_every_module_and_name_of_sockjs_tornado_is_importable(relative):
    reference, ours = both(relative)
    missing = {
        name
        for name in defined_in(reference)
        if not hasattr(ours, name) and (relative, name) not in NOT_PROVIDED
    }
    assert not missing, f"{OUR_PACKAGE}.{relative} lacks {sorted(missing)}"


#: The classes applications use as they are, by module.
WORKING_CLASSES = [
    ("conn", "SockJSConnection"),
    ("session", "ConnectionInfo"),
    ("session", "BaseSession"),
    ("session", "Session"),
    ("router", "SockJSRouter"),
    ("stats", "StatsCollector"),
    ("stats", "MovingAverage"),
    ("periodic", "Callback"),
    ("migrate", "WebsocketHandler"),
    ("transports.base", "BaseTransportMixin"),
]


@pytest.mark.parametrize(("relative", "name"), WORKING_CLASSES)
def test_classes_keep_every_public_attribute(relative, name):
    reference, ours = both(relative)
    theirs = {n for n in dir(getattr(reference, name)) if not n.startswith("_")}
    mine = set(dir(getattr(ours, name)))
    assert theirs <= mine, sorted(theirs - mine)


def test_the_connection_class_has_sockjs_tornados_attributes_and_no_others():
    """What an application sets on its connection (self.info, self.transport,
    self.session_id...) must not meet a read-only property sockjs-tornado did not have."""
    reference, ours = both("conn")

    def public(cls: type) -> dict[str, str]:
        return {
            n: type(inspect.getattr_static(cls, n)).__name__
            for n in dir(cls)
            if not n.startswith("_")
        }

    assert public(ours.SockJSConnection) == public(reference.SockJSConnection)


@pytest.mark.parametrize(
    "attribute",
    [
        "info",
        "transport",
        "session_id",
        "close_code",
        "close_reason",
        "session",
        "handler",
        "request",
    ],
)
def test_a_connection_can_assign_what_it_could_on_sockjs_tornado(attribute):
    reference, ours = both("conn")
    for module in (reference, ours):
        connection = module.SockJSConnection(session=None)
        setattr(connection, attribute, "mine")
        assert getattr(connection, attribute) == "mine"


# -- the machinery says so, when used ----------------------------------------------------

PLACEHOLDERS = [
    ("basehandler", "BaseHandler"),
    ("basehandler", "PreflightHandler"),
    ("static", "InfoHandler"),
    ("static", "IFrameHandler"),
    ("static", "GreetingsHandler"),
    ("static", "ChunkingTestHandler"),
    ("websocket", "SockJSWebSocketHandler"),
    ("sessioncontainer", "SessionContainer"),
    ("sessioncontainer", "SessionMixin"),
    ("transports", "XhrPollingTransport"),
    ("transports", "JSONPSendHandler"),
    ("transports.pollingbase", "PollingTransportBase"),
    ("transports.streamingbase", "StreamingTransportBase"),
    ("transports.rawwebsocket", "RawSession"),
]


@pytest.mark.parametrize(("relative", "name"), PLACEHOLDERS)
def test_machinery_imports_and_subclasses_but_refuses_to_run(relative, name):
    _, ours = both(relative)
    cls = getattr(ours, name)
    subclass = type("Mine", (cls,), {})  # defining a subclass is import time: allowed
    with pytest.raises(UnsupportedError, match=f"{name} has no counterpart.*: .+"):
        subclass(object(), object())


def test_asynchronous_decorates_but_the_method_says_to_use_a_coroutine():
    _, util = both("util")

    class Handler:
        @util.asynchronous
        def get(self):
            raise AssertionError("never runs")

    with pytest.raises(UnsupportedError, match=r"make .*Handler\.get an `async def`"):
        Handler().get()
    assert util.bytes_to_str(b"\xc3\xa9") == "é" and util.str_to_bytes("é") == b"\xc3\xa9"


def test_router_internals_say_what_to_use_instead():
    _, router = both("router")
    _, conn = both("conn")

    class Echo(conn.SockJSConnection):
        def on_message(self, message):
            self.send(message)

    built = router.SockJSRouter(Echo, "/echo")
    with pytest.raises(UnsupportedError, match=r"subclass session\.BaseSession"):
        built.create_session("abc")
    assert built.get_session("abc") is None
    assert (built.websockets_enabled, built.cookie_needed) == (True, True)
    assert set(router.TRANSPORTS) == {
        "websocket",
        "xhr",
        "xhr_streaming",
        "jsonp",
        "eventsource",
        "htmlfile",
    }


def test_proto_encodes_compactly_and_escapes_close_reasons():
    reference, ours = both("proto")
    value = {"a": [1, "é", None]}
    assert ours.json_encode(value) == reference.json_encode(value) == '{"a":[1,"\\u00e9",null]}'
    assert ours.json_decode('{"a":[1]}') == reference.json_decode('{"a":[1]}')
    with pytest.raises(ours.JSONDecodeError):
        ours.json_decode("{")
    assert ours.disconnect(3000, "Go away!") == reference.disconnect(3000, "Go away!")
    assert ours.disconnect(4000, 'say "no"') == 'c[4000,"say \\"no\\""]'  # theirs: broken JSON
