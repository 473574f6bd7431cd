"""Both implementations of sockjs-tornado's API, each behind a live server.

Every test that takes `impl` runs twice: on the real ``sockjs-tornado`` 1.0.7 package
(the reference) and on ``fallback.compat.sockjs_tornado``, with the same application code
(`tests.compat.apps`). Where sockjs-tornado is known to be wrong, a test asserts fallback's
behaviour and documents the reference's with `Deployment.reference`.
"""

from __future__ import annotations

import dataclasses
import importlib
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.compat.apps import build
from tests.server.apps import Recorder
from tests.support.live import LiveServer

REFERENCE = "sockjs-tornado"
OURS = "fallback"
IMPLEMENTATIONS = (REFERENCE, OURS)

#: The transports every application is run over.
TRANSPORTS = ("websocket", "xhr_streaming", "xhr")


def import_api(name: str) -> ModuleType:
    if name == OURS:
        return importlib.import_module("fallback.compat.sockjs_tornado")
    # sockjs-tornado carries its own copy of Tornado 5's @asynchronous decorator, which
    # warns (DeprecationWarning) each time it decorates a method, i.e. at import. The
    # suite turns DeprecationWarning into errors, so the import is shielded.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return importlib.import_module("sockjs.tornado")


@dataclasses.dataclass
class Deployment:
    name: str
    live: LiveServer
    routers: dict[str, Any]
    events: Recorder

    @property
    def reference(self) -> bool:
        return self.name == REFERENCE

    @property
    def url(self) -> str:
        return self.live.url

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.live.call(fn, *args)


def _start(name: str) -> Deployment:
    try:
        api = import_api(name)
    except ImportError as error:  # only the reference can be missing: a test extra
        pytest.skip(f"{name} is not importable ({error}); pip install -e '.[test]'")
    events = Recorder()
    routers: dict[str, Any] = {}

    def make_app() -> Any:
        # sockjs-tornado's router takes IOLoop.instance() and starts periodic callbacks
        # when built, so it must be built on the running server loop: LiveServer runs
        # the factory there.
        app, built = build(api, events)
        routers.update(built)
        return app

    live = LiveServer(make_app).start()
    return Deployment(name, live, routers, events)


@pytest.fixture(scope="session")
def deployments() -> Iterator[Callable[[str], Deployment]]:
    started: dict[str, Deployment] = {}

    def get(name: str) -> Deployment:
        if name not in started:
            started[name] = _start(name)
        return started[name]

    yield get
    for deployment in started.values():
        deployment.live.stop()


@pytest.fixture(params=IMPLEMENTATIONS)
def impl(request: pytest.FixtureRequest, deployments: Callable[[str], Deployment]) -> Deployment:
    deployment = deployments(request.param)
    deployment.events.clear()
    return deployment


@pytest.fixture
def ours(deployments: Callable[[str], Deployment]) -> Deployment:
    deployment = deployments(OURS)
    deployment.events.clear()
    return deployment


@pytest.fixture
def expect_reference_errors(request: pytest.FixtureRequest) -> Callable[[Deployment], None]:
    """Call with the deployment: on the reference, its ERROR log lines are expected."""

    def mark(deployment: Deployment) -> None:
        if deployment.reference:
            request.node.add_marker(pytest.mark.expect_errors)

    return mark
