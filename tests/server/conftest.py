from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.server.apps import make_app, recorder
from tests.support.live import LiveServer


@pytest.fixture(scope="session")
def live() -> Iterator[LiveServer]:
    server = LiveServer(make_app).start()
    yield server
    server.stop()


@pytest.fixture
def events():
    recorder.clear()
    return recorder
