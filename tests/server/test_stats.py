"""Statistics endpoints: JSON and Prometheus text, for allowed addresses only."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fallback.exceptions import ConfigurationError
from fallback.server.stats import address_allowed, parse_allow
from tests.server.hardening_app import LIMIT, make_app
from tests.support import http
from tests.support.live import LiveServer
from tests.support.sockjs import client_for

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    server = LiveServer(make_app).start()
    yield server
    server.stop()


def stats(live: LiveServer) -> dict[str, Any]:
    response = http.get(live.url + "/_stats")
    assert response.status == 200
    assert response.header("Content-Type") == "application/json; charset=UTF-8"
    assert response.header("Cache-Control") == "no-store"
    return json.loads(response.body)


def test_json_counts_sessions_messages_bytes_and_refusals(live):
    before = stats(live)["routers"]["/h/echo"]
    client = client_for("xhr", live.url + "/h/echo")
    assert client.next_frame() == "o"
    client.send("one", "two", "three")
    assert client.receive_messages(3) == ["one", "two", "three"]
    assert http.post(client.session_url + "/xhr_send", json.dumps(["x" * LIMIT])).status == 413
    streaming = client_for("xhr_streaming", live.url + "/h/echo")
    assert streaming.next_frame() == "o"

    after = stats(live)["routers"]["/h/echo"]
    assert after["messages"]["received"] - before["messages"]["received"] == 3
    assert after["messages"]["sent"] - before["messages"]["sent"] == 3
    sent_bytes = len('a["one","two","three"]') + 2 * len("o")
    assert after["bytes"]["sent"] - before["bytes"]["sent"] == sent_bytes
    assert after["bytes"]["received"] - before["bytes"]["received"] == len(
        json.dumps(["one", "two", "three"])  # what the test client posts
    )
    assert after["sessions_opened"]["xhr"] - before["sessions_opened"]["xhr"] == 1
    assert after["sessions"]["by_transport"]["xhr_streaming"] >= 1
    assert after["sessions"]["by_transport"]["rawwebsocket"] == 0
    assert after["refusals"]["too_big"] - before["refusals"]["too_big"] == 1
    assert set(after["refusals"]) >= {"origin", "not_found", "queue_overflow", "max_sessions"}
    assert after["queue_high_water"] >= 1
    assert after["draining"] is False
    streaming.close()


def test_every_router_is_listed_by_prefix(live):
    routers = stats(live)["routers"]
    assert {"/h/echo", "/h/origins", "/h/busy", "/h/queue", "/h/fuzz"} <= set(routers)


# -- Prometheus -------------------------------------------------------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*"'
_SAMPLE = re.compile(rf"({_NAME})(\{{{_LABEL}(?:,{_LABEL})*\}})? (-?[0-9.e+]+|NaN|[+-]Inf)")


def check_exposition_format(text: str) -> None:
    """The text format 0.0.4, strictly: each family's HELP and TYPE come first, once,
    then its samples, contiguous; every line is a comment or a sample; ends in newline."""
    assert text.endswith("\n")
    declared: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split()[2]
            assert name not in declared, f"{name} declared twice"
            current = name
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert name == current and kind in ("counter", "gauge"), line
            declared[name] = kind
        else:
            match = _SAMPLE.fullmatch(line)
            assert match, f"not a sample line: {line!r}"
            assert match.group(1) == current, f"{line!r} outside its family"
            assert 'prefix="' in (match.group(2) or "")
            if declared[current] == "counter":
                assert current.endswith("_total")


def test_prometheus_text_parses_and_matches_the_json(live):
    client = client_for("xhr", live.url + "/h/echo")
    assert client.next_frame() == "o"
    client.send("metric")
    assert client.receive_messages(1) == ["metric"]

    response = http.get(live.url + "/_stats/metrics")
    assert response.status == 200
    assert response.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8"
    check_exposition_format(response.text)
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    as_json = stats(live)["routers"]["/h/echo"]

    def sample(family: str, **labels: str) -> float:
        wanted = {"prefix": "/h/echo", **labels}
        values = [s.value for s in families[family].samples if s.labels == wanted]
        assert len(values) == 1, (family, labels)
        return values[0]

    # prometheus_client names counter families without their _total suffix.
    assert families["fallback_messages_received"].type == "counter"
    assert 1 <= sample("fallback_messages_received") <= as_json["messages"]["received"]
    assert sample("fallback_sessions_opened", transport="xhr") >= 1
    assert sample("fallback_refusals", reason="too_big") <= as_json["refusals"]["too_big"]
    assert sample("fallback_sessions", transport="websocket") == 0
    assert families["fallback_sessions"].type == "gauge"
    prefixes = {s.labels["prefix"] for s in families["fallback_sessions"].samples}
    assert {"/h/echo", "/h/origins", "/h/queue"} <= prefixes
    for name in (
        "fallback_bytes_sent",
        "fallback_bytes_received",
        "fallback_resumed",
        "fallback_replayed_messages",
        "fallback_queue_high_water_messages",
        "fallback_sessions_closed",
        "fallback_receivers_attached",
    ):
        assert name in families, name


# -- allow-list -------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/_stats_denied", "/_stats_denied/metrics"])
def test_addresses_outside_the_allow_list_get_403_logged_once(live, path, caplog):
    caplog.set_level(logging.INFO)
    response = http.get(live.url + path)
    assert (response.status, response.text) == (403, "Forbidden.")
    deadline = time.monotonic() + 5
    while not any(r.name == "tornado.access" for r in caplog.records):
        assert time.monotonic() < deadline, "no access log line"
        time.sleep(0.01)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].name == "fallback.stats"
    assert "127.0.0.1" in warnings[0].getMessage()


def test_allow_list_parsing_and_matching():
    networks = parse_allow("127.0.0.1, 10.0.0.0/8,::1")
    assert address_allowed("127.0.0.1", networks)
    assert address_allowed("10.1.2.3", networks)
    assert address_allowed("::1", networks)
    assert address_allowed("::ffff:10.9.9.9", networks)  # IPv4 through a dual-stack socket
    assert not address_allowed("192.168.1.1", networks)
    assert not address_allowed("", networks)
    assert not address_allowed("not-an-ip", networks)
    with pytest.raises(ConfigurationError, match="not an IP address"):
        parse_allow(["localhost"])


def test_stats_are_off_unless_asked_for():
    from fallback import Router
    from fallback.server import make_application
    from tests.server.hardening_app import Echo

    app = make_application(Router(Echo, "/x"))
    server = LiveServer(lambda: app).start()
    try:
        assert http.get(server.url + "/_stats").status == 404
    finally:
        server.stop()


def test_stats_survive_a_router_at_the_root_and_odd_session_ids(live):
    url = f"{live.url}/h/echo/000/{uuid.uuid4().hex}"
    assert http.post(url + "/xhr").status == 200
    check_exposition_format(http.get(live.url + "/_stats/metrics").text)


def test_label_values_are_escaped():
    from fallback import Router
    from fallback.server.stats import prometheus_text
    from tests.server.hardening_app import Echo

    odd = Router(Echo, '/we"ird\\path')
    text = prometheus_text([odd])
    check_exposition_format(text)
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert {s.labels["prefix"] for s in families["fallback_sessions"].samples} == {'/we"ird\\path'}
