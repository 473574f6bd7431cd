"""Graceful shutdown: SIGTERM, everything queued is delivered, then ``c[1012, ...]``.

A real ``python -m fallback serve`` process (the single-application path, ``--config``
and ``--workers``) with clients on every transport, each receiving a stream of
numbered messages when the signal arrives. Each client must get exactly the messages the
server says it sent that connection, in order, then the close with 1012 ("reconnect,
to another server"); the process exits 0 within the drain deadline.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from tests.support import http as client_http
from tests.support.sockjs import client_for

ROOT = Path(__file__).resolve().parents[2]
DRAIN = 3.0
RESTART = [1012, "Server restarting, reconnect"]

pytestmark = pytest.mark.timeout(90)


def free_ports(count: int) -> int:
    """A port P such that P .. P+count-1 are all free right now."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            base = int(sock.getsockname()[1])
        try:
            for offset in range(1, count):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", base + offset))
        except OSError:
            continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


class Served:
    """A ``python -m fallback serve ...`` process whose stderr goes to a file."""

    def __init__(self, tmp_path: Path, *args: str, ready: str = "/t/info", ports: int = 1) -> None:
        self.port = free_ports(ports)
        self.log_path = tmp_path / "serve.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in close()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fallback",
                "serve",
                *args,
                "--port",
                str(self.port),
                "--shutdown-drain",
                str(DRAIN),
            ],
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            stderr=self.log,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if client_http.get(self.url + ready, timeout=1).status == 200:
                    break
            except OSError:
                pass
            assert self.process.poll() is None, self.text()
            assert time.monotonic() < deadline, "server did not start: " + self.text()
            time.sleep(0.05)

    def text(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def terminate(self) -> tuple[int, float]:
        """SIGTERM; the exit status and how long the process took to exit."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=DRAIN + 10)
        return status, time.monotonic() - started

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def start(*args: str, **kwargs: Any) -> Served:
        process = Served(tmp_path, *args, **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


# -- clients ----------------------------------------------------------------------------


class KeepAlivePoller:
    """xhr or jsonp polling over ONE keep-alive connection, as browsers poll: between
    two polls the server has no receiver, and the next poll must still get through."""

    def __init__(self, transport: str, base: str) -> None:
        self.transport = transport
        match = re.match(r"http://([^:/]+):(\d+)(/.*)", base)
        assert match
        self.conn = http.client.HTTPConnection(match.group(1), int(match.group(2)), timeout=10)
        self.path = f"{match.group(3)}/000/{uuid.uuid4().hex}"
        self.session_url = base + self.path[len(match.group(3)) :]
        self.frames: list[str] = []

    def next_frame(self, timeout: float = 10) -> str:
        while not self.frames:
            if self.transport == "xhr":
                self.conn.request("POST", self.path + "/xhr", body=b"")
                body = self.conn.getresponse().read().decode()
                self.frames.extend(line for line in body.split("\n") if line)
            else:
                self.conn.request("GET", self.path + "/jsonp?c=cb")
                body = self.conn.getresponse().read().decode()
                match = re.fullmatch(r"/\*\*/cb\((.*)\);\r\n", body, re.S)
                assert match, body
                self.frames.append(json.loads(match.group(1)))
        return self.frames.pop(0)

    def send(self, *messages: str) -> None:
        assert client_http.post(self.session_url + "/xhr_send", json.dumps(messages)).status == 204

    def close(self) -> None:
        self.conn.close()


class RawWebSocket:
    """The unframed endpoint: messages are frames; the close is a WebSocket close."""

    def __init__(self, base: str) -> None:
        self.ws = websocket.create_connection(
            base.replace("http", "ws", 1) + "/websocket", timeout=10
        )

    def next_frame(self, timeout: float = 10) -> str:
        opcode, data = self.ws.recv_data(control_frame=True)
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            code = struct.unpack("!H", data[:2])[0]
            return "c" + json.dumps([code, data[2:].decode()])
        return "a" + json.dumps([data.decode()])

    def send(self, *messages: str) -> None:
        for message in messages:
            self.ws.send(message)

    def close(self) -> None:
        # The server closed already; websocket-client's close() would log its 1012 as
        # an ERROR while it waits for a second close frame.
        self.ws.shutdown()


def make_client(transport: str, base: str) -> Any:
    if transport in ("xhr", "jsonp"):
        return KeepAlivePoller(transport, base)
    if transport == "rawwebsocket":
        return RawWebSocket(base)
    return client_for(transport, base)


class Consumer(threading.Thread):
    """Reads one client's frames until its close frame."""

    def __init__(self, client: Any, name: str) -> None:
        super().__init__(name=f"consumer-{name}", daemon=True)
        self.client = client
        self.name_ = name
        self.messages: list[str] = []
        self.close: list[Any] | None = None
        self.error: BaseException | None = None
        self.flowing = threading.Event()

    def run(self) -> None:
        try:
            while True:
                frame = self.client.next_frame(timeout=DRAIN + 10)
                if frame.startswith("a"):
                    self.messages.extend(json.loads(frame[1:]))
                    self.flowing.set()
                elif frame.startswith("c"):
                    self.close = json.loads(frame[1:])
                    return
        except BaseException as error:  # reported by the test
            self.error = error
        finally:
            self.flowing.set()


def start_consumers(base: str, transports: list[str]) -> list[Consumer]:
    consumers = []
    for transport in transports:
        client = make_client(transport, base)
        if transport != "rawwebsocket":
            assert client.next_frame() == "o"
        name = f"{transport}-{uuid.uuid4().hex[:6]}"
        client.send("go " + name)
        consumer = Consumer(client, name)
        consumer.start()
        consumers.append(consumer)
    for consumer in consumers:
        assert consumer.flowing.wait(10), consumer.name_
    return consumers


def drop(client: Any) -> None:
    """Close a client whose server already closed. websocket-client's close() would log
    the server's 1012 as an ERROR while it waits for a close frame of its own."""
    ws = getattr(client, "ws", None)
    if ws is not None and not isinstance(client, RawWebSocket):
        ws.shutdown()
        client.ws = None
    client.close()


def check_consumers(consumers: list[Consumer], log: str) -> None:
    sent = {
        m.group(1): (int(m.group(2)), int(m.group(3)))
        for m in re.finditer(r"CLOSED (\S+) (\d+) (\d+)", log)
    }
    for consumer in consumers:
        consumer.join(timeout=DRAIN + 10)
        assert consumer.error is None, (consumer.name_, repr(consumer.error))
        count, code = sent[consumer.name_]
        assert code == 1012, consumer.name_
        expected = [f"{consumer.name_}:{i}" for i in range(1, count + 1)]
        assert consumer.messages == expected, (
            consumer.name_,
            len(consumer.messages),
            count,
            consumer.messages[-3:],
        )
        assert consumer.close == RESTART, (consumer.name_, consumer.close)
        drop(consumer.client)


ALL = ["websocket", "rawwebsocket", "xhr_streaming", "eventsource", "htmlfile", "xhr", "jsonp"]


def test_sigterm_delivers_everything_queued_then_1012_and_exits_0(served):
    server = served("tests.server.shutdown_app:Ticker", "--prefix", "/t", "--stats-path", "/_stats")
    consumers = start_consumers(server.url + "/t", ALL)
    stats = json.loads(client_http.get(server.url + "/_stats").body)["routers"]["/t"]
    assert {t: n for t, n in stats["sessions"]["by_transport"].items() if n} == {t: 1 for t in ALL}
    terminate_and_check(server, consumers)


def terminate_and_check(server: Served, consumers: list[Consumer]) -> None:
    """Stop the server: it exits 0 within the drain, every consumer got everything and
    the close, and nothing was cut or went wrong."""
    status, took = server.terminate()
    log = server.text()
    assert status == 0, log
    assert took < DRAIN, f"took {took:.2f}s: {log}"
    check_consumers(consumers, log)
    assert f"{len(consumers)} sessions closed with 1012" in log, log
    assert "cut before" not in log
    assert "Traceback" not in log and " ERROR " not in log, log


def test_sigterm_with_polls_held_on_kept_alive_connections_completes(served):
    """Keep-alive polls after the first are held on the socket itself
    (`fallback.transports.directpoll`): the drain still waits for their answers, and
    each gets everything and the close."""
    server = served("tests.server.shutdown_app:Ticker", "--prefix", "/t")
    terminate_and_check(server, start_consumers(server.url + "/t", ["xhr", "jsonp"] * 3))


def test_sigterm_with_a_silent_client_still_exits_0_within_the_deadline(served):
    """A polling client that never comes back cannot hold the process beyond the
    drain deadline; the others still get everything and the close."""
    server = served("tests.server.shutdown_app:Ticker", "--prefix", "/t")
    silent = client_for("xhr", server.url + "/t")  # fresh connections: cannot come back
    assert silent.next_frame() == "o"
    silent.send("go silent")
    consumers = start_consumers(server.url + "/t", ["websocket", "xhr_streaming"])
    status, took = server.terminate()
    log = server.text()
    assert status == 0, log
    assert took < DRAIN + 1.5, f"took {took:.2f}s"
    check_consumers(consumers, log)
    assert "Traceback" not in log and " ERROR " not in log, log


def test_new_sessions_during_the_drain_are_told_to_go_elsewhere(served):
    server = served("tests.server.shutdown_app:Ticker", "--prefix", "/t")
    poller = KeepAlivePoller("xhr", server.url + "/t")
    assert poller.next_frame() == "o"
    poller.send("go drain")
    # Keep a silent session with queued messages so that the drain lasts a while.
    silent = client_for("xhr", server.url + "/t")
    assert silent.next_frame() == "o"
    silent.send("go silent")
    server.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    refused = None
    while refused is None and time.monotonic() < deadline:
        # On the existing keep-alive connection: a request for a NEW session.
        poller.path = poller.path.rsplit("/", 1)[0] + "/" + uuid.uuid4().hex
        poller.frames.clear()
        frame = poller.next_frame()
        if frame.startswith("c"):
            refused = json.loads(frame[1:])
    assert refused == RESTART
    assert server.process.wait(timeout=DRAIN + 10) == 0
    assert "refused shutting_down" in server.text()


def test_sigterm_with_config_closes_every_tenant_with_1012(served, tmp_path):
    config = tmp_path / "fallback.toml"
    config.write_text('[tenants.acme]\nsecret = "0123456789abcdef-secret"\n')
    server = served("--config", str(config), ready="/acme/info")
    clients = [client_for(t, server.url + "/acme") for t in ("websocket", "xhr_streaming")]
    for client in clients:
        assert client.next_frame() == "o"
    status, took = server.terminate()
    assert status == 0 and took < DRAIN, server.text()
    for client in clients:
        assert json.loads(client.next_data_frame()[1:]) == RESTART
        drop(client)
    assert "Traceback" not in server.text()


def test_sigterm_to_workers_closes_every_worker_with_1012(served):
    server = served("tests.server.shutdown_app:Ticker", "--prefix", "/t", "--workers", "2", ports=2)
    second = f"http://127.0.0.1:{server.port + 1}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if client_http.get(second + "/t/info", timeout=1).status == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, server.text()
        time.sleep(0.05)
    consumers = start_consumers(server.url + "/t", ["websocket"])
    consumers += start_consumers(second + "/t", ["xhr_streaming"])
    status, took = server.terminate()
    log = server.text()
    assert status == 0, log
    assert took < DRAIN + 1.5, f"took {took:.2f}s"
    check_consumers(consumers, log)
