"""The real sockjs-client (npm, Node build) echoes through our server.

sockjs-client in Node can use websocket, xhr-streaming, xhr-polling and eventsource (its
iframe and JSONP transports need a DOM; the browser suite covers those).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from fallback.testing.sockjs_server import make_app
from tests.support.live import LiveServer

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_MODULES = os.path.join(HERE, "node_modules", "sockjs-client")

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    if not os.path.isdir(NODE_MODULES):
        pytest.fail("npm packages missing: run `make node-deps`")
    live = LiveServer(make_app).start()
    yield live
    live.stop()


@pytest.mark.parametrize(
    ("transport", "reported"),
    [
        ("websocket", "websocket"),
        ("xhr-streaming", "xhr-streaming"),
        ("xhr-polling", "xhr-polling"),
        ("eventsource", "eventsource"),
    ],
)
def test_sockjs_client_echoes_in_order(server, transport, reported):
    count = 30
    result = subprocess.run(
        ["node", "sockjs_client_echo.js", server.url + "/echo", transport, str(count)],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout.strip().split("\n")[-1])
    assert report["transport"] == reported
    assert report["received"] == [f"message {i} \u2028 \u00e9" for i in range(count)]
    assert report["closeCode"] == 1000
