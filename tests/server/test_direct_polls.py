"""Polls and sends served on the socket itself after the first poll of a keep-alive
connection (`fallback.transports.directpoll`), and the requests it gives back to Tornado.

Every test speaks raw HTTP/1.1 over ONE Python socket, as a browser's polling transport
does, and checks the answers byte for byte where the handlers decide them.
"""

from __future__ import annotations

import gc
import json
import socket
import time
import uuid

import pytest

from fallback.app.service import Service
from fallback.core.envelopes import JSONP_SENT_PAGE
from fallback.transports.directpoll import DirectPolls

pytestmark = pytest.mark.timeout(30)

NO_CACHE = "no-store, no-cache, no-transform, must-revalidate, max-age=0"


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


class Conn:
    """One kept-alive connection, read answer by answer."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.data = b""

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        length: bool = True,
    ) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        if length and (body or method == "POST"):
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def ask(self, method: str, path: str, body: bytes = b"", **kwargs: object) -> Answer:
        self.send(self.request(method, path, body, **kwargs))  # type: ignore[arg-type]
        return self.answer()

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the server")
        self.data += chunk

    def answer(self) -> Answer:
        while b"\r\n\r\n" not in self.data:
            self._fill()
        head, _, self.data = self.data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.data) < length:
            self._fill()
        body, self.data = self.data[:length], self.data[length:]
        return Answer(status, headers, body)

    def closed(self, timeout: float = 5.0) -> bool:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()


def session_path(prefix: str) -> str:
    return f"{prefix}/000/{uuid.uuid4().hex[:12]}"


def direct_polls_held(live, prefix: str) -> list[DirectPolls]:
    """The polls held by a `DirectPolls` that the router at `prefix` owes an answer."""

    def find() -> list[DirectPolls]:
        held = []
        for service in gc.get_objects():
            if isinstance(service, Service) and service.prefix == prefix:
                held.extend(r for r in service.responding if isinstance(r, DirectPolls))
        return held

    return live.call(find)


@pytest.fixture
def conn(live):
    connection = Conn(live.port)
    yield connection
    connection.close()


def test_polls_and_sends_on_one_keep_alive_connection_are_answered_exactly_in_order(live, conn):
    path = session_path("/echo")
    origin = live.url
    first = conn.ask("POST", path + "/xhr", headers={"Origin": origin})
    assert (first.status, first.text) == (200, "o\n")
    for i in range(40):
        sent = conn.ask(
            "POST",
            path + "/xhr_send",
            json.dumps([f"m{i}", f"n{i} ✓"]).encode(),
            headers={"Origin": origin, "Access-Control-Request-Headers": "x-b"},
        )
        assert sent.status == 204 and sent.body == b""
        assert sent.headers["content-type"] == "text/plain; charset=UTF-8"
        assert sent.headers["cache-control"] == NO_CACHE
        assert sent.headers["access-control-allow-origin"] == origin
        assert sent.headers["access-control-allow-credentials"] == "true"
        assert sent.headers["access-control-allow-headers"] == "x-b"
        assert sent.headers["vary"] == "Origin"
        polled = conn.ask("POST", path + "/xhr")
        assert polled.status == 200
        assert (
            polled.text
            == "a"
            + json.dumps([f"m{i}", f"n{i} ✓"], separators=(",", ":"), ensure_ascii=False)
            + "\n"
        )
        assert polled.headers["content-type"] == "application/javascript; charset=UTF-8"
        assert polled.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in polled.headers
        assert polled.headers["content-length"] == str(len(polled.body))


def test_jsonp_polls_and_sends_on_one_connection(live, conn):
    path = session_path("/echo")
    first = conn.ask("GET", path + "/jsonp?c=cb.x_1")
    assert (first.status, first.text) == (200, '/**/cb.x_1("o");\r\n')
    for i in range(20):
        # fallback.js asks (fb_signal=1) for the answer that tells its frame it arrived.
        signal = i % 2 == 1
        form = conn.ask(
            "POST",
            path + "/jsonp_send" + ("?i=f3&fb_signal=1" if signal else ""),
            b"d=%5B%22f" + str(i).encode() + b"%22%5D",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        if signal:
            assert (form.status, form.text) == (200, JSONP_SENT_PAGE)
            assert form.headers["content-type"] == "text/html; charset=UTF-8"
        else:
            assert (form.status, form.text) == (200, "ok")
            assert form.headers["content-type"] == "text/plain; charset=UTF-8"
        raw = conn.ask("POST", path + "/jsonp_send", json.dumps([f"r{i}"]).encode())
        assert (raw.status, raw.text) == (200, "ok")
        polled = conn.ask("GET", path + "/jsonp?c=cb")
        assert polled.text == f'/**/cb("a[\\"f{i}\\",\\"r{i}\\"]");\r\n'
        assert "access-control-allow-origin" not in polled.headers


def test_a_held_poll_is_served_directly_and_owed_an_answer(live, conn):
    path = session_path("/echo")
    assert conn.ask("POST", path + "/xhr").text == "o\n"
    conn.send(conn.request("POST", path + "/xhr"))
    deadline = time.monotonic() + 5
    while not direct_polls_held(live, "/echo"):
        assert time.monotonic() < deadline, "the poll is not held by a DirectPolls"
        time.sleep(0.02)
    sender = Conn(live.port)  # this connection's next request waits for the answer
    try:
        assert sender.ask("POST", path + "/xhr_send", b'["late"]').status == 204
    finally:
        sender.close()
    assert conn.answer().text == 'a["late"]\n'
    assert not direct_polls_held(live, "/echo")


def test_other_requests_on_the_connection_are_answered_by_tornado(live, conn):
    path = session_path("/echo")
    assert conn.ask("POST", path + "/xhr").text == "o\n"
    info = conn.ask("GET", "/echo/info")
    assert info.status == 200 and json.loads(info.body)["websocket"] is True
    # Back on the direct path, then an OPTIONS preflight.
    assert conn.ask("POST", path + "/xhr_send", b'["a"]').status == 204
    assert conn.ask("POST", path + "/xhr").text == 'a["a"]\n'
    preflight = conn.ask("OPTIONS", path + "/xhr", headers={"Origin": live.url})
    assert preflight.status == 204
    assert preflight.headers["access-control-allow-methods"] == "OPTIONS, POST"
    # A poll for another session on the same connection.
    other = session_path("/echo")
    assert conn.ask("POST", other + "/xhr").text == "o\n"
    assert conn.ask("POST", other + "/xhr_send", b'["b"]').status == 204
    assert conn.ask("POST", other + "/xhr").text == 'a["b"]\n'
    # The first session is still there, over the same connection.
    assert conn.ask("POST", path + "/xhr_send", b'["c"]').status == 204
    assert conn.ask("POST", path + "/xhr").text == 'a["c"]\n'
    # An unknown session's send: the handler's 404.
    missing = conn.ask("POST", session_path("/echo") + "/xhr_send", b'["x"]')
    assert (missing.status, missing.text) == (404, "Session not found.")


def test_a_chunked_send_after_a_direct_poll_goes_to_tornado(live, conn):
    path = session_path("/echo")
    assert conn.ask("POST", path + "/xhr").text == "o\n"
    body = b'["chunked"]'
    conn.send(
        conn.request(
            "POST", path + "/xhr_send", headers={"Transfer-Encoding": "chunked"}, length=False
        )
        + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    )
    assert conn.answer().status == 204
    assert conn.ask("POST", path + "/xhr").text == 'a["chunked"]\n'


def test_an_oversized_send_after_a_direct_poll_gets_the_handlers_413(live, conn):
    path = session_path("/small")
    assert conn.ask("POST", path + "/xhr").text == "o\n"
    big = json.dumps(["x" * 200]).encode()
    refused = conn.ask("POST", path + "/xhr_send", big)
    assert (refused.status, refused.text) == (413, "Message too big.")


def test_a_bad_payload_on_the_direct_path_gets_the_handlers_answer(live, conn):
    path = session_path("/echo")
    assert conn.ask("POST", path + "/xhr").text == "o\n"
    empty = conn.ask("POST", path + "/xhr_send", b"")
    assert (empty.status, empty.text) == (500, "Payload expected.")
    broken = conn.ask("POST", path + "/xhr_send", b"[not json")
    assert (broken.status, broken.text) == (500, "Broken JSON encoding.")
    assert broken.headers["access-control-allow-origin"] == "*"
    assert conn.ask("POST", path + "/xhr_send", b'["fine"]').status == 204
    assert conn.ask("POST", path + "/xhr").text == 'a["fine"]\n'


def test_a_foreign_origin_on_a_later_request_gets_403(live, conn):
    path = session_path("/origins")
    good = {"Origin": "https://good.example"}
    evil = {"Origin": "https://evil.example"}
    assert conn.ask("POST", path + "/xhr", headers=good).text == "o\n"
    assert conn.ask("POST", path + "/xhr_send", b'["x"]', headers=good).status == 204
    refused = conn.ask("POST", path + "/xhr", headers=evil)
    assert (refused.status, refused.text) == (403, "Origin not allowed.")
    assert conn.closed()  # as Tornado does after refusing a request before its body
    again = Conn(live.port)
    try:
        assert again.ask("POST", path + "/xhr", headers=good).text == 'a["x"]\n'
        refused = again.ask("POST", path + "/xhr_send", b'["y"]', headers=evil)
        assert (refused.status, refused.text) == (403, "Origin not allowed.")
    finally:
        again.close()


def test_jsonp_with_a_bad_callback_on_a_later_poll_gets_the_normal_error(live, conn):
    path = session_path("/echo")
    assert conn.ask("GET", path + "/jsonp?c=cb").text == '/**/cb("o");\r\n'
    bad = conn.ask("GET", path + "/jsonp?c=a%3Cb")
    assert (bad.status, bad.text) == (500, 'invalid "callback" parameter')
    missing = conn.ask("GET", path + "/jsonp")
    assert (missing.status, missing.text) == (500, '"callback" parameter required')


def test_pipelined_requests_are_answered_in_order(live, conn):
    path = session_path("/echo")
    # The first request comes with others behind it: Tornado has read them already.
    conn.send(
        conn.request("POST", path + "/xhr")
        + conn.request("POST", path + "/xhr_send", b'["p1"]')
        + conn.request("POST", path + "/xhr")
    )
    assert conn.answer().text == "o\n"
    assert conn.answer().status == 204
    assert conn.answer().text == 'a["p1"]\n'
    # Then on the direct path, a send and a poll and a request for Tornado at once.
    conn.send(
        conn.request("POST", path + "/xhr_send", b'["p2"]')
        + conn.request("POST", path + "/xhr")
        + conn.request("GET", "/echo/info")
    )
    assert conn.answer().status == 204
    assert conn.answer().text == 'a["p2"]\n'
    assert conn.answer().status == 200


def test_pipelined_requests_tornado_had_read_go_back_to_it_in_order(live, conn):
    """Requests behind the first poll that are not for the direct path are given back
    to Tornado with the bytes read of them already."""
    path, other = session_path("/echo"), session_path("/echo")
    conn.send(
        conn.request("POST", path + "/xhr")
        + conn.request("POST", other + "/xhr")
        + conn.request("GET", "/echo/info")
        + conn.request("POST", path + "/xhr_send", b'["q"]')
        + conn.request("POST", path + "/xhr")
        + conn.request("OPTIONS", other + "/xhr")
    )
    assert conn.answer().text == "o\n"
    assert conn.answer().text == "o\n"
    assert json.loads(conn.answer().body)["websocket"] is True
    assert conn.answer().status == 204
    assert conn.answer().text == 'a["q"]\n'
    assert conn.answer().status == 204


def test_the_client_closing_mid_poll_interrupts_the_session(live, conn, events):
    path = session_path("/recorded")
    session_id = path.rsplit("/", 1)[1]
    assert conn.ask("POST", path + "/xhr").text == "o\n"
    assert conn.ask("POST", path + "/xhr_send", b'["hi"]').status == 204
    assert conn.ask("POST", path + "/xhr").text == 'a["hi"]\n'
    conn.send(conn.request("POST", path + "/xhr"))  # held
    time.sleep(0.2)
    conn.close()
    events.wait_closed(session_id)
    closes = [e for e in events.events("close") if e[1] == "xhr"]
    assert closes[-1][2][0] == 1002


def test_a_second_poll_while_one_is_held_directly_gets_2010(live, conn):
    path = session_path("/echo")
    assert conn.ask("POST", path + "/xhr").text == "o\n"
    conn.send(conn.request("POST", path + "/xhr"))  # held
    time.sleep(0.1)
    second = Conn(live.port)
    try:
        taken = second.ask("POST", path + "/xhr")
        assert taken.text == 'c[2010,"Another connection still open"]\n'
        assert second.ask("POST", path + "/xhr_send", b'["still"]').status == 204
    finally:
        second.close()
    assert conn.answer().text == 'a["still"]\n'


def test_heartbeats_answer_a_held_direct_poll(live, conn):
    path = session_path("/heartbeat")
    assert conn.ask("POST", path + "/xhr").text == "o\n"
    assert conn.ask("POST", path + "/xhr").text == "h\n"
    assert conn.ask("POST", path + "/xhr").text == "h\n"


def test_an_idle_client_closing_its_connection_leaves_nothing_behind(live, conn):
    path = session_path("/echo")
    assert conn.ask("POST", path + "/xhr").text == "o\n"
    conn.close()
    fresh = Conn(live.port)
    try:
        assert fresh.ask("POST", path + "/xhr_send", b'["z"]').status == 204
        assert fresh.ask("POST", path + "/xhr").text == 'a["z"]\n'
    finally:
        fresh.close()


def test_garbage_after_a_direct_poll_gets_a_tornado_answer_or_a_close(live, conn):
    path = session_path("/echo")
    assert conn.ask("POST", path + "/xhr").text == "o\n"
    conn.send(b"\x00\x01garbage\r\n\r\n")
    try:
        answer = conn.answer()
    except ConnectionError:
        return
    assert answer.status == 400


def test_http10_polls_stay_with_tornado(live):
    path = session_path("/echo")
    sock = socket.create_connection(("127.0.0.1", live.port), timeout=10)
    try:
        sock.sendall(f"POST {path}/xhr HTTP/1.0\r\nContent-Length: 0\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"\r\n\r\no\n")
    finally:
        sock.close()
    assert not direct_polls_held(live, "/echo")


def test_the_polls_of_a_resumable_session_are_served_directly_and_resynced(live, conn):
    path = session_path("/echo")
    assert conn.ask("POST", path + "/xhr?fb_resume=1").text == "o\n"
    announced = conn.ask("POST", path + "/xhr").text
    assert announced.startswith('r{"cid":'), announced  # resumable
    cid = json.loads(announced[1:])["cid"]
    # A poll with the client's count is held here, not by a handler, and woken.
    conn.send(conn.request("POST", path + f"/xhr?fb_resume={cid}.0"))
    deadline = time.monotonic() + 5
    while not direct_polls_held(live, "/echo"):
        assert time.monotonic() < deadline, "the resumable poll is not served directly"
        time.sleep(0.02)
    sender = Conn(live.port)
    try:
        assert sender.ask("POST", path + "/xhr_send", b'["kept"]').status == 204
        assert conn.answer().text == 'a["kept"]\n'
        # The client says it did not get that answer (its poll died): it comes again.
        assert conn.ask("POST", path + f"/xhr?fb_resume={cid}.0").text == 'a["kept"]\n'
        # It says it got it: the next poll waits for what is new.
        conn.send(conn.request("POST", path + f"/xhr?fb_resume={cid}.1"))
        assert sender.ask("POST", path + "/xhr_send", b'["next"]').status == 204
        assert conn.answer().text == 'a["next"]\n'
        # A poll the network held up, counting less than the client confirmed since,
        # is refused alone, as Tornado's handler refuses it; the session goes on.
        assert sender.ask("POST", path + "/xhr_send", b'["third"]').status == 204
        assert conn.ask("POST", path + f"/xhr?fb_resume={cid}.2").text == 'a["third"]\n'
        stale = conn.ask("POST", path + f"/xhr?fb_resume={cid}.1")
        assert stale.text == 'c[2010,"Another connection still open"]\n'
    finally:
        sender.close()
