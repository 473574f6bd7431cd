"""A live server with fallback's defaults (and explicit openings) for the attacks."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import tornado.web

from fallback.realtime import ServerConfig, Tenant, build_application
from fallback.realtime.ratelimit import Backoff
from tests.security.apps import make_app
from tests.support.live import LiveServer

SECRET = "acme-secret-0123456789"
KEY = "acme-api-key-0123456789"
ADMIN_KEY = "server-admin-key-0123456789"
#: Tight enough for tests to reach the lockout quickly and wait it out.
LIMITS = Backoff(free_failures=3, lockout=0.5, max_lockout=2.0)


@pytest.fixture(scope="package")
def live() -> Iterator[LiveServer]:
    server = LiveServer(make_app).start()
    yield server
    server.stop()


@pytest.fixture(scope="package")
def channel_server() -> Iterator[LiveServer]:
    """A channel server with one tenant that has an API key and the admin page."""

    def factory() -> tornado.web.Application:
        tenant = Tenant(
            name="fortress",  # not "acme": the hub is per process, and tests/realtime has one
            prefix="/fortress",
            secret=SECRET,
            api_key=KEY,
            # The most generous patterns a tenant could write: still no way in.
            private=("private-*", "*"),
            presence=("presence-*",),
            client_publish=("*",),
            admin=True,
        )
        config = ServerConfig(admin_key=ADMIN_KEY, tenants=(tenant,))
        app, _ = build_application(config, login_limits=LIMITS)
        return app

    server = LiveServer(factory).start()
    yield server
    server.stop()


class Lines(logging.Handler):
    """Every log line the server writes, as a file handler would write it."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def log_lines() -> Iterator[Lines]:
    """The server's log as written (INFO and up, every logger), for the test's duration."""
    handler = Lines()
    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
