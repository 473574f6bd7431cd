"""The documentation's examples, run as a reader would run them.

The code is taken from README.md and docs/ themselves (only the port is changed, to a free
one), so an example that stops working -- or is edited into something that does not work --
fails here.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.docs.corpus import block
from tests.support import http
from tests.support.processes import ROOT, RedisServer, free_port, stop, wait_until
from tests.support.sockjs import client_for

pytestmark = pytest.mark.timeout(120)

readme_block = block  # (the name the browser snippets test uses)


class Process:
    """A command run as a reader would, with its output kept for failure messages."""

    def __init__(
        self,
        args: list[str],
        ready_url: str,
        path: Sequence[Path] = (),
        cwd: Path = ROOT,
    ) -> None:
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - closed with the process
        python_path = os.pathsep.join(str(p) for p in [ROOT, *path])
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=dict(os.environ, PYTHONPATH=python_path),
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until(lambda: self._answers(ready_url), 20, " ".join(args))
        except TimeoutError:
            self.stop()
            raise AssertionError(self.output()) from None

    def _answers(self, url: str) -> bool:
        assert self.process.poll() is None, self.output()
        return http.get(url, timeout=1).status == 200

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")

    def stop(self) -> None:
        stop(self.process)
        self.log.close()


def write_quick_start(folder: Path) -> list[str]:
    """The quick start's two files, as the README shows them, in `folder`; returns its
    command (the port made a free one)."""
    (folder / "chat.py").write_text(block("## Quick start", "python"))
    (folder / "public").mkdir()
    page = block("## Quick start", "html")
    assert len(page.strip().splitlines()) <= 14, "the quick start's page is a dozen lines"
    (folder / "public" / "index.html").write_text(page)
    command = block("## Quick start", "sh").strip()
    assert (
        command == "python -m fallback serve chat:Chat --prefix /chat --static public --port 8080"
    )
    return command.replace("python", sys.executable, 1).split()


def test_the_quick_start_serves_a_chat_room(tmp_path: Path) -> None:
    args = write_quick_start(tmp_path)
    port = free_port()
    args[args.index("--port") + 1] = str(port)
    server = Process(args, f"http://127.0.0.1:{port}/chat/info", path=[tmp_path], cwd=tmp_path)
    clients = [client_for(t, f"http://127.0.0.1:{port}/chat") for t in ("websocket", "jsonp")]
    try:
        page = http.get(f"http://127.0.0.1:{port}/")
        assert page.status == 200 and page.text == (tmp_path / "public" / "index.html").read_text()
        for client in clients:
            assert client.next_frame() == "o"
        clients[1].send("hello")
        for client in clients:
            assert client.receive_messages(1) == ["hello"]
        shim = http.get(f"http://127.0.0.1:{port}/chat/fallback.js")
        assert shim.status == 200 and b"FallbackSocket" in shim.body
        assert http.get(f"http://127.0.0.1:{port}/chat/health").status == 200
    finally:
        for client in clients:
            client.close()
        server.stop()


def test_the_async_room_keeps_each_connections_order(tmp_path: Path) -> None:
    (tmp_path / "async_room.py").write_text(block("## `async def` handlers", "python"))
    port = free_port()
    server = Process(
        [sys.executable, "-m", "fallback", "serve", "async_room:Room", "--prefix", "/room",
         "--port", str(port)],
        f"http://127.0.0.1:{port}/room/info",
        path=[tmp_path],
    )  # fmt: skip
    ann = client_for("websocket", f"http://127.0.0.1:{port}/room")
    bob = client_for("xhr_streaming", f"http://127.0.0.1:{port}/room")
    try:
        for client in (ann, bob):
            assert client.next_frame() == "o"
        said = [f"line {i}" for i in range(20)]
        bob.send(*said)
        assert bob.receive_messages(20) == [f"guest: {line}" for line in said]
        assert ann.receive_messages(20) == [f"guest: {line}" for line in said]
    finally:
        ann.close()
        bob.close()
        server.stop()


def test_the_fifteen_line_server_broadcasts_to_everyone(tmp_path: Path) -> None:
    source = readme_block("## A server in 15 lines", "python")
    # Fifteen lines of code: the blank lines PEP 8 (and ruff format) put between
    # definitions are not counted.
    assert len([line for line in source.splitlines() if line.strip()]) <= 15
    port = free_port()
    assert ".listen(8080)" in source
    script = tmp_path / "chat.py"
    script.write_text(source.replace(".listen(8080)", f".listen({port})"))
    server = Process([sys.executable, str(script)], f"http://127.0.0.1:{port}/chat/info")
    clients = [client_for(t, f"http://127.0.0.1:{port}/chat") for t in ("websocket", "xhr")]
    try:
        for client in clients:
            assert client.next_frame() == "o"
        clients[0].send("hello")
        clients[1].send("hi")
        for client in clients:
            assert client.receive_messages(2) == ["hello", "hi"]
    finally:
        for client in clients:
            client.close()
        server.stop()


def test_the_channels_example_serves_a_room(tmp_path: Path) -> None:
    (tmp_path / "room_example.py").write_text(readme_block("## Channels", "python"))
    port = free_port()
    server = Process(
        [
            sys.executable,
            "-m",
            "fallback",
            "serve",
            "room_example:Room",
            "--prefix",
            "/chat",
            "--port",
            str(port),
        ],
        f"http://127.0.0.1:{port}/chat/info",
        path=[tmp_path],
    )
    members = [client_for(t, f"http://127.0.0.1:{port}/chat") for t in ("websocket", "eventsource")]
    try:
        for member in members:
            assert member.next_frame() == "o"
        members[1].send("one")
        members[0].send("two")
        seen = [member.receive_messages(2) for member in members]
        assert sorted(seen[0]) == ["one", "two"] and seen[1] == seen[0]  # one publish order
        members[1].send("three")
        for member in members:
            assert member.receive_messages(1) == ["three"]
    finally:
        for member in members:
            member.close()
        server.stop()


def test_a_curl_backend_publishes_to_browsers_with_the_readme_config(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    config = readme_block("## Channels, tokens and the backend API", "toml")
    port = free_port()
    assert "port = 8080" in config and "redis://127.0.0.1:6379/0" in config
    config = config.replace("port = 8080", f"port = {port}")
    config = config.replace("redis://127.0.0.1:6379/0", redis_server.url)
    path = tmp_path / "fallback.toml"
    path.write_text(config)
    base = f"http://127.0.0.1:{port}"
    server = Process(
        [sys.executable, "-m", "fallback", "serve", "--config", str(path)], f"{base}/acme/info"
    )

    # Three browsers, on three transports, subscribed to `news`.
    subscribe = json.dumps({"v": 1, "op": "subscribe", "id": 1, "channel": "news"})
    browsers = [client_for(t, f"{base}/acme") for t in ("websocket", "xhr_streaming", "jsonp")]
    try:
        for browser in browsers:
            assert browser.next_frame() == "o"
            browser.send(subscribe)
            answer = json.loads(browser.receive_messages(1)[0])
            assert answer["op"] == "ok" and answer["id"] == 1, answer

        command = readme_block("A backend with nothing but curl", "sh")
        shown = re.search(r"^# (\{.*\})$", command, re.M)  # the answer the README shows
        assert shown is not None
        expected = json.loads(shown.group(1))
        command = command.replace("http://127.0.0.1:8080/", f"{base}/")
        done = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=True
        )
        assert json.loads(done.stdout) == expected

        for browser in browsers:
            message = json.loads(browser.receive_messages(1)[0])
            assert message == {
                "v": 1,
                "op": "message",
                "channel": "news",
                "data": {"title": "Hello from curl"},
            }
    finally:
        for browser in browsers:
            browser.close()
        server.stop()
