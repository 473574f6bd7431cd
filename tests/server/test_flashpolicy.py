"""Flash socket policy over real TCP: the dedicated server and in-band on the HTTP port.

Every test that takes an ``endpoint`` runs against both: `FlashPolicyServer` on a port of
its own, and the HTTP port of the server `fallback.server.listen` starts (where a
connection whose first byte is ``<`` is a policy client and anything else is HTTP).
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from tornado.netutil import bind_sockets

from fallback import Router
from fallback.cli.main import build_parser
from fallback.flash.policy import POLICY_REQUEST, FlashPolicy
from fallback.flash.server import FlashPolicyServer, InBandPolicyHTTPServer
from fallback.server import DEFAULT_BACKLOG, listen, make_application
from tests.server.apps import Echo
from tests.support import http
from tests.support.live import LiveServer
from tests.support.sockjs import WebSocketClient, XhrPollingClient

pytestmark = pytest.mark.timeout(60)

#: The deadline of the servers the deadline tests use, short enough to wait out.
SHORT = 1.0
#: The deadline everywhere else: never reached by a test on a loaded machine.
PATIENT = 10.0
#: How long a test watches for an answer that must not come (while the server waits).
QUIET = 0.2
ORIGINS = ["https://app.example", "*.example.org", "http://app.example:8080"]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def flash_app():
    return make_application([Router(Echo, "/echo", allowed_origins=ORIGINS)])


@dataclass
class Endpoint:
    name: str
    port: int
    answer: bytes
    live: LiveServer


def _start_policy_server(live: LiveServer, timeout: float) -> tuple[FlashPolicyServer, int]:
    """A dedicated policy server on the live server's loop, with the same policy."""

    def start() -> tuple[FlashPolicyServer, int]:
        server = live.server
        assert isinstance(server, InBandPolicyHTTPServer) and server.flash_policy is not None
        policy_server = FlashPolicyServer(server.flash_policy, timeout=timeout)
        policy_server.add_sockets(bind_sockets(0, "127.0.0.1", backlog=DEFAULT_BACKLOG))
        return policy_server, policy_server.ports[0]

    return live.call(start)


def _endpoints(timeout: float) -> Iterator[dict[str, Endpoint]]:
    live = LiveServer(flash_app, flash_policy_timeout=timeout).start()
    policy_server, policy_port = _start_policy_server(live, timeout)
    answer = live.call(lambda: live.server.flash_policy.answer)
    yield {
        "inband": Endpoint("inband", live.port, answer, live),
        "dedicated": Endpoint("dedicated", policy_port, answer, live),
    }
    live.call(policy_server.stop)
    live.stop()


@pytest.fixture(scope="module")
def short_servers() -> Iterator[dict[str, Endpoint]]:
    yield from _endpoints(SHORT)


@pytest.fixture(scope="module")
def patient_servers() -> Iterator[dict[str, Endpoint]]:
    yield from _endpoints(PATIENT)


@pytest.fixture(params=["dedicated", "inband"])
def endpoint(request: pytest.FixtureRequest, patient_servers) -> Endpoint:
    return patient_servers[request.param]


@pytest.fixture(params=["dedicated", "inband"])
def short_endpoint(request: pytest.FixtureRequest, short_servers) -> Endpoint:
    return short_servers[request.param]


# -- raw TCP clients ------------------------------------------------------------------------


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_to_end(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the server sends until it closes (a reset counts as closing)."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def exchange(port: int, *pieces: bytes) -> bytes:
    with connect(port) as sock:
        for piece in pieces:
            sock.sendall(piece)
        return read_to_end(sock)


def assert_no_answer_yet(sock: socket.socket) -> None:
    """The server neither answered nor closed within `QUIET` seconds: it is waiting."""
    sock.settimeout(QUIET)
    with pytest.raises(TimeoutError):
        sock.recv(1)


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.01)


def waiting_for_first_byte(live: LiveServer) -> int:
    return live.call(lambda: len(live.server._waiting))


# -- the answer -----------------------------------------------------------------------------


def test_policy_request_gets_the_exact_answer_then_the_connection_closes(endpoint):
    http_port = endpoint.live.port
    expected = (
        '<?xml version="1.0"?>\n'
        "<cross-domain-policy>\n"
        f'<allow-access-from domain="app.example" to-ports="{http_port}"/>\n'
        f'<allow-access-from domain="*.example.org" to-ports="{http_port}"/>\n'
        "</cross-domain-policy>\n"
        "\0"
    ).encode()
    assert exchange(endpoint.port, POLICY_REQUEST) == expected == endpoint.answer


def test_request_split_across_packets_is_answered(endpoint):
    with connect(endpoint.port) as sock:
        for piece in (b"<", b"policy-file", b"-request/>"):
            sock.sendall(piece)
            assert_no_answer_yet(sock)
        sock.sendall(b"\0")
        assert read_to_end(sock) == endpoint.answer


def test_request_sent_one_byte_at_a_time_is_answered(endpoint):
    with connect(endpoint.port) as sock:
        for i in range(len(POLICY_REQUEST)):
            sock.sendall(POLICY_REQUEST[i : i + 1])
        assert read_to_end(sock) == endpoint.answer


@pytest.mark.parametrize(
    "garbage",
    [
        b"<policy-file-request />\0",
        b"<POLICY-FILE-REQUEST/>\0",
        b"<policy-file-request/>\n",
        b"<html><body>hello</body></html>",
        b"<" + b"x" * 100_000,
    ],
    ids=["space", "uppercase", "newline", "html", "flood"],
)
def test_anything_else_starting_with_a_bracket_is_closed_unanswered(endpoint, garbage):
    with connect(endpoint.port) as sock:
        try:
            sock.sendall(garbage)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading after the first bytes, as it should
        assert read_to_end(sock) == b""


@pytest.mark.parametrize(
    "garbage",
    [b"GET / HTTP/1.0\r\n\r\n", b"\x16\x03\x01\x02\x00\x01\x00", b"\0"],
    ids=["http", "tls", "nul"],
)
def test_dedicated_port_closes_other_protocols_unanswered(short_servers, garbage):
    assert exchange(short_servers["dedicated"].port, garbage) == b""


def test_a_client_that_resets_mid_request_harms_nothing(endpoint):
    for _ in range(20):
        sock = connect(endpoint.port)
        sock.sendall(POLICY_REQUEST[:10])
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # RST
    assert exchange(endpoint.port, POLICY_REQUEST) == endpoint.answer


def test_a_client_that_stops_sending_is_closed_after_the_deadline(short_endpoint):
    with connect(short_endpoint.port, timeout=SHORT + 5) as sock:
        sock.sendall(POLICY_REQUEST[:8])
        started = time.monotonic()
        assert read_to_end(sock, timeout=SHORT + 5) == b""
        assert time.monotonic() - started >= SHORT - QUIET


def test_a_silent_client_of_the_dedicated_port_is_closed_after_the_deadline(short_servers):
    started = time.monotonic()
    with connect(short_servers["dedicated"].port) as sock:
        assert read_to_end(sock, timeout=SHORT + 5) == b""
    assert time.monotonic() - started >= SHORT - QUIET


# -- in-band: HTTP stays HTTP -----------------------------------------------------------------


def test_a_silent_connection_on_the_http_port_becomes_plain_http(short_servers):
    live = short_servers["inband"].live
    with connect(live.port) as sock:
        wait_until(lambda: waiting_for_first_byte(live) >= 1)
        # After the policy window the connection is handed to HTTP untouched.
        wait_until(lambda: waiting_for_first_byte(live) == 0, timeout=SHORT + 5)
        sock.sendall(b"GET /echo/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        response = read_to_end(sock)
    assert response.startswith(b"HTTP/1.1 200 OK\r\n")
    assert json.loads(response.split(b"\r\n\r\n", 1)[1])["websocket"] is True


def test_an_http_request_arriving_in_pieces_is_served(short_servers):
    live = short_servers["inband"].live
    with connect(live.port) as sock:
        sock.sendall(b"G")
        assert_no_answer_yet(sock)
        sock.sendall(b"ET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_to_end(sock).endswith(b"\r\n\r\nWelcome to SockJS!\n")


def test_connections_closed_before_their_first_byte_are_forgotten(short_servers):
    live = short_servers["inband"].live
    for _ in range(20):
        socket.create_connection(("127.0.0.1", live.port)).close()
        sock = connect(live.port)
        sock.shutdown(socket.SHUT_WR)
        assert read_to_end(sock) == b""
        sock.close()
    wait_until(lambda: waiting_for_first_byte(live) == 0)
    assert http.get(live.url + "/echo").status == 200


def test_keep_alive_requests_after_the_first_are_untouched(short_servers):
    live = short_servers["inband"].live
    conn = http._connection(live.url, 5.0)[0]
    try:
        for _ in range(5):
            conn.request("GET", "/echo")
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"Welcome to SockJS!\n")
    finally:
        conn.close()


# -- many clients ---------------------------------------------------------------------------


async def _many_policy_clients(port: int, count: int, request: bytes) -> list[bytes]:
    """Open `count` connections (all of them held open at once), then ask on each."""
    streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    for start in range(0, count, 100):
        streams += await asyncio.gather(
            *(asyncio.open_connection("127.0.0.1", port) for _ in range(min(100, count - start)))
        )
    try:
        for _, writer in streams:
            writer.write(request)
        return list(
            await asyncio.wait_for(
                asyncio.gather(*(reader.read() for reader, _ in streams)), timeout=30
            )
        )
    finally:
        for _, writer in streams:
            writer.close()


def test_1000_concurrent_policy_requests_are_answered(endpoint):
    answers = asyncio.run(_many_policy_clients(endpoint.port, 1000, POLICY_REQUEST))
    assert len(answers) == 1000
    assert all(answer == endpoint.answer for answer in answers)


def test_http_and_websocket_are_served_while_policy_clients_are_connected(patient_servers):
    live = patient_servers["inband"].live
    answer = patient_servers["inband"].answer
    halfway = [connect(live.port) for _ in range(150)]  # inside a policy request
    silent = [connect(live.port) for _ in range(150)]  # not a byte yet
    try:
        for sock in halfway:
            sock.sendall(POLICY_REQUEST[:12])
        wait_until(lambda: waiting_for_first_byte(live) >= len(silent))

        info = http.get(live.url + "/echo/info")
        assert info.status == 200 and json.loads(info.body)["websocket"] is True
        for client in (WebSocketClient(live.url + "/echo"), XhrPollingClient(live.url + "/echo")):
            try:
                assert client.next_frame() == "o"
                client.send("still here")
                assert client.receive_messages(1) == ["still here"]
            finally:
                client.close()

        for sock in halfway:
            sock.sendall(POLICY_REQUEST[12:])
        assert all(read_to_end(sock) == answer for sock in halfway)
        for sock in silent:
            sock.sendall(b"GET /echo HTTP/1.0\r\n\r\n")
        assert all(read_to_end(sock).startswith(b"HTTP/1.1 200 OK") for sock in silent)
    finally:
        for sock in halfway + silent:
            sock.close()


# -- listen() and the command line ----------------------------------------------------------


def test_listen_serves_http_the_in_band_policy_and_the_policy_port(short_servers):
    live = short_servers["inband"].live

    def start() -> InBandPolicyHTTPServer:
        app = flash_app()
        return listen(app, 0, flash_policy_port=0, flash_policy_domains=["only.example"])

    server = live.call(start)
    http_port, policy_port = server.ports[0], server.policy_server.ports[0]
    expected = FlashPolicy(("only.example",), (str(http_port),)).answer
    try:
        assert exchange(policy_port, POLICY_REQUEST) == expected
        assert exchange(http_port, POLICY_REQUEST) == expected
        assert http.get(f"http://127.0.0.1:{http_port}/echo").status == 200
    finally:
        live.call(server.stop)
    for port in (http_port, policy_port):
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_listen_without_the_in_band_policy_leaves_the_http_port_alone(short_servers):
    live = short_servers["inband"].live
    server = live.call(lambda: listen(flash_app(), 0, flash_policy=False))
    port = server.ports[0]
    try:
        with connect(port) as sock:
            sock.sendall(POLICY_REQUEST)
            assert_no_answer_yet(sock)  # Tornado is still waiting for HTTP headers
        assert http.get(f"http://127.0.0.1:{port}/echo").status == 200
    finally:
        live.call(server.stop)


def test_the_command_line_serves_the_policy_it_is_told(tmp_path):
    command = [
        sys.executable, "-m", "fallback", "serve", "tests.server.apps:Echo",
        "--port", "0", "--flash-policy-port", "0",
        "--flash-policy-domain", "a.example,b.example", "--flash-policy-domain", "c.example",
        "--allowed-origins", "https://not-this.example",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=ROOT, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    # A thread reads stderr: lines buffered by readline would be invisible to select().
    threading.Thread(
        target=lambda: [lines.put(line) for line in process.stderr], daemon=True
    ).start()
    try:
        log = ""
        deadline = time.monotonic() + 20
        while "Flash socket policy served" not in log:
            try:
                log += lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no policy port logged; got: {log}") from None
        http_port = int(re.search(r"on http://127\.0\.0\.1:(\d+)/", log).group(1))
        policy_port = int(re.search(r"policy served on port (\d+)", log).group(1))
        expected = FlashPolicy(("a.example", "b.example", "c.example"), (str(http_port),))
        assert exchange(policy_port, POLICY_REQUEST) == expected.answer
        assert exchange(http_port, POLICY_REQUEST) == expected.answer
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert process.returncode == 0


def test_the_policy_port_flag_alone_means_843_and_domains_accumulate():
    args = build_parser().parse_args(
        ["serve", "m:C", "--flash-policy-domain", "a.example,b.example",
         "--flash-policy-domain", "c.example", "--flash-policy-port"]
    )  # fmt: skip
    assert args.flash_policy_port == 843
    assert args.flash_policy_domains == [["a.example", "b.example"], ["c.example"]]
    assert args.flash_policy is True
    assert build_parser().parse_args(["serve", "m:C", "--no-flash-policy"]).flash_policy is False


def _free_ports(count: int) -> list[int]:
    """`count` consecutive free ports then a free one elsewhere (free right now)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            base = first.getsockname()[1]
            probes = [socket.socket() for _ in range(count - 1)]
            try:
                for offset, probe in enumerate(probes, 1):
                    probe.bind(("127.0.0.1", base + offset))
            except OSError:
                continue
            finally:
                for probe in probes:
                    probe.close()
            with socket.socket() as other:
                other.bind(("127.0.0.1", 0))
                return [base + i for i in range(count)] + [other.getsockname()[1]]
    raise RuntimeError("no consecutive free ports")


def test_workers_share_the_policy_port_and_their_policy_grants_every_worker():
    base, second, policy_port = _free_ports(2)
    process = subprocess.Popen(
        [sys.executable, "-m", "fallback", "serve", "tests.server.apps:Echo",
         "--prefix", "/echo", "--port", str(base), "--workers", "2",
         "--flash-policy-port", str(policy_port),
         "--flash-policy-domain", "app.example"],
        cwd=ROOT, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for port in (base, second):
            wait_until(lambda port=port: _answers_http(port), timeout=20)
        expected = FlashPolicy(("app.example",), (f"{base}-{second}",)).answer
        # Both workers listen on the policy port; the kernel spreads clients over them.
        for _ in range(20):
            assert exchange(policy_port, POLICY_REQUEST) == expected
        assert exchange(base, POLICY_REQUEST) == expected
        assert exchange(second, POLICY_REQUEST) == expected
    finally:
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "exited with" not in log and "Traceback" not in log, log


def _answers_http(port: int) -> bool:
    try:
        return http.get(f"http://127.0.0.1:{port}/echo", timeout=1).status == 200
    except OSError:
        return False
