"""Fixtures shared by every suite."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import RedisServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


_REFERENCE_PACKAGE = os.path.join("site-packages", "sockjs", "tornado")


class _ErrorRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        # The reference sockjs-tornado server (tests/compat) logs its own known bugs, such
        # as heartbeats into closed WebSockets, long after the test that started it.
        if _REFERENCE_PACKAGE in record.pathname:
            return
        # Access-log lines are not tracebacks: a plain tornado Application (the compat
        # reference) logs the protocol's expected 500 answers at ERROR, sometimes after
        # the test that provoked them has ended. Real exceptions come from
        # tornado.application, with their traceback.
        if record.name == "tornado.access":
            return
        self.records.append(record)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "expect_errors: the test provokes ERROR log lines on purpose"
    )


@pytest.fixture(autouse=True)
def no_error_logs(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test whose server logged an error or a traceback it did not ask for.

    Like Tornado's ExpectLog: bad input must get an answer, not a stack trace.
    """
    handler = _ErrorRecords()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
    if handler.records and request.node.get_closest_marker("expect_errors") is None:
        lines = "\n".join(f"{r.name}: {r.getMessage()}" for r in handler.records[:10])
        pytest.fail(f"unexpected ERROR log lines:\n{lines}")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own, on a free port, killed afterwards."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()
