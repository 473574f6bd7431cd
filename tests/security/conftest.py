"""A live server with fallback's defaults (and explicit openings) for the attacks."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.security.apps import make_app
from tests.support.live import LiveServer


@pytest.fixture(scope="package")
def live() -> Iterator[LiveServer]:
    server = LiveServer(make_app).start()
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
