"""Log lines cannot be forged: whatever a client puts in a session id, a path, a
callback or a header, each log record stays one line, its controls escaped."""

from __future__ import annotations

import pytest

from tests.security import raw
from tests.security.raw import XhrSession, http_request

FORGED = "x%0d%0aCRITICAL%20fallback%20forged%0a%1b[31m"


def assert_one_line_each(lines: list[str]) -> None:
    for line in lines:
        if "Traceback (most recent call last)" in line:
            line = line.split("\nTraceback", 1)[0]  # a traceback is multi-line by nature
        assert "\n" not in line and "\r" not in line and "\x1b" not in line, repr(line)


def test_a_session_id_with_line_breaks_cannot_forge_a_log_line(live, log_lines):
    owner = XhrSession(live.port, "/verified", source="127.0.0.1")
    owner.path = "/verified/000/" + FORGED
    assert owner.poll() == "o"
    stranger = XhrSession(live.port, "/verified", source="127.0.0.2")
    stranger.path = owner.path
    assert stranger.poll() == 'c[2010,"Attempted to connect to session from different IP"]'
    refused = [line for line in log_lines.lines if "different_ip" in line]
    assert refused, log_lines.text
    assert "x\\r\\nCRITICAL fallback forged\\n\\x1b[31m" in refused[0]
    assert not any(line.startswith("CRITICAL") for line in log_lines.text.splitlines())
    assert_one_line_each(log_lines.lines)


@pytest.mark.expect_errors
def test_an_application_error_logs_the_session_id_escaped(live, log_lines):
    session = XhrSession(live.port, "/crashy")
    session.path = "/crashy/000/" + FORGED
    assert session.poll() == "o"
    assert session.send('["boom"]') == 204
    assert session.poll().startswith("c[1011")
    errors = [line for line in log_lines.lines if line.startswith("ERROR")]
    assert errors and "x\\r\\nCRITICAL fallback forged" in errors[0], log_lines.text
    assert not any(line.startswith("CRITICAL") for line in log_lines.text.splitlines())
    assert_one_line_each(log_lines.lines)


def test_a_slow_client_with_a_forged_id_is_logged_on_one_line(live, log_lines):
    session = XhrSession(live.port, "/tiny")
    session.path = "/tiny/000/" + FORGED
    assert session.poll() == "o"
    assert session.send('["1", "2", "3", "4"]') == 204  # echoes overflow max_queue=2
    overflow = [line for line in log_lines.lines if "slow client" in line]
    assert overflow and "x\\r\\nCRITICAL" in overflow[0], log_lines.text
    assert_one_line_each(log_lines.lines)


@pytest.mark.parametrize(
    "request_line",
    [
        b"GET /default/\x1b[2J\x1b[31mCRITICAL HTTP/1.1",
        b"GET /default/000/a\x1bb/jsonp?c=\x1b[0m HTTP/1.1",
        b"POST /nowhere/\x85\xe2\x80\xa8next HTTP/1.1",
    ],
)
def test_control_bytes_in_a_request_line_are_escaped_in_the_access_log(
    live, log_lines, request_line
):
    sock = raw.connect(live.port)
    try:
        sock.sendall(request_line + b"\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        raw.read_head(sock)
    finally:
        sock.close()
    assert_one_line_each(log_lines.lines)
    assert "\u2028" not in log_lines.text and "\x85" not in log_lines.text


def test_forged_origins_and_callbacks_in_refusals_stay_on_one_line(live, log_lines):
    headers = {"Origin": "https://evil.example\x85CRITICAL"}  # NEL: a line break to some
    status, _, _ = http_request(live.port, "POST", "/default/000/o/xhr", headers=headers)
    assert status == 403
    status, _, _ = http_request(live.port, "GET", "/default/000/c/jsonp?c=%0d%0aCRITICAL")
    assert status == 500
    assert [line for line in log_lines.lines if "refused origin" in line and "\\x85" in line]
    assert_one_line_each(log_lines.lines)
