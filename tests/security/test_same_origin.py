"""Same-origin by default, on every HTTP transport and both WebSocket endpoints; what
``allowed_origins`` opens, and the warning when it opens everything."""

from __future__ import annotations

import http.client as http_client
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fallback import Router
from fallback.server import make_application
from tests.security import raw
from tests.security.apps import Echo
from tests.support import http
from tests.support.live import LiveServer
from tests.support.processes import free_port

EVIL = "https://evil.example"
ROOT = Path(__file__).resolve().parents[2]

#: Every HTTP endpoint of a service: (method, path under the prefix).
HTTP_ENDPOINTS = [
    ("GET", ""),
    ("GET", "/info"),
    ("OPTIONS", "/info"),
    ("GET", "/iframe.html"),
    ("POST", "/000/{sid}/xhr"),
    ("OPTIONS", "/000/{sid}/xhr"),
    ("POST", "/000/{sid}/xhr_send"),
    ("POST", "/000/{sid}/xhr_streaming"),
    ("GET", "/000/{sid}/eventsource"),
    ("GET", "/000/{sid}/htmlfile?c=cb"),
    ("GET", "/000/{sid}/jsonp?c=cb"),
    ("POST", "/000/{sid}/jsonp_send"),
]
WEBSOCKET_PATHS = ["/000/{sid}/websocket", "/websocket"]
VERSIONS = ["13", "8", "7", "hixie-76"]


def status_of(method: str, target: str, headers: dict[str, str]) -> int:
    """The status of a request, read without waiting for the body (streams never end)."""
    parts = urlsplit(target)
    conn = http_client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        path = parts.path + ("?" + parts.query if parts.query else "")
        body = b"" if method == "POST" else None
        conn.request(method, path, body=body, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def url(live: LiveServer, prefix: str, path: str) -> str:
    return live.url + prefix + path.format(sid=uuid.uuid4().hex)


def own_origin(live: LiveServer) -> str:
    return f"http://127.0.0.1:{live.port}"


@pytest.mark.parametrize(("method", "path"), HTTP_ENDPOINTS)
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Referer": EVIL + "/page"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
    ids=["origin", "referer", "null", "unnamed-cross-site"],
)
def test_every_http_endpoint_refuses_another_sites_page_by_default(live, method, path, headers):
    response = http.request(method, url(live, "/default", path), headers=headers)
    assert (response.status, response.text) == (403, "Origin not allowed.")
    assert response.header("Access-Control-Allow-Origin") is None
    assert response.header("Access-Control-Allow-Credentials") is None


@pytest.mark.parametrize("path", WEBSOCKET_PATHS)
@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("origin", [EVIL, "null", "http://127.0.0.1.evil.example"])
def test_both_websocket_endpoints_refuse_another_sites_page_by_default(live, path, version, origin):
    status = raw.handshake_status(
        live.port, "/default" + path.format(sid=uuid.uuid4().hex), version, origin
    )
    assert status == 403


@pytest.mark.parametrize("path", WEBSOCKET_PATHS)
@pytest.mark.parametrize("version", VERSIONS)
def test_the_servers_own_pages_and_clients_without_origin_open_websockets(live, path, version):
    for origin in (own_origin(live), None):
        status = raw.handshake_status(
            live.port, "/default" + path.format(sid=uuid.uuid4().hex), version, origin
        )
        assert status == 101, origin


@pytest.mark.parametrize(
    "origin",
    [
        "http://127.0.0.1:{other}",
        "http://127.0.0.1",
        "https://127.0.0.1:{other}",
        "http://localhost:{port}",
    ],
)
def test_another_port_or_name_of_the_same_machine_is_another_origin(live, origin):
    origin = origin.format(port=live.port, other=live.port + 1)
    response = http.post(url(live, "/default", "/000/{sid}/xhr"), headers={"Origin": origin})
    assert response.status == 403
    assert raw.handshake_status(live.port, "/default/websocket", "13", origin) == 403


def test_the_servers_own_pages_get_cors_with_credentials(live):
    response = http.post(
        url(live, "/default", "/000/{sid}/xhr"), headers={"Origin": own_origin(live)}
    )
    assert (response.status, response.text) == (200, "o\n")
    assert response.header("Access-Control-Allow-Origin") == own_origin(live)
    assert response.header("Access-Control-Allow-Credentials") == "true"


@pytest.mark.parametrize(("method", "path"), HTTP_ENDPOINTS)
def test_requests_without_origin_keep_working(live, method, path):
    # Non-browser clients, and same-origin GETs of old browsers, name no page.
    headers = {"Sec-Fetch-Site": "same-origin"} if method == "GET" else {}
    assert status_of(method, url(live, "/default", path), headers) != 403


def test_null_origin_connects_where_the_service_lists_it(live):
    response = http.post(url(live, "/files", "/000/{sid}/xhr"), headers={"Origin": "null"})
    assert (response.status, response.text) == (200, "o\n")
    assert response.header("Access-Control-Allow-Origin") == "null"
    assert raw.handshake_status(live.port, "/files/websocket", "13", "null") == 101
    assert raw.handshake_status(live.port, "/files/websocket", "13", EVIL) == 403


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://partner.example", True),
        ("http://partner.example", False),  # another scheme is another origin
        ("https://partner.example:8443", False),  # another port too
        ("https://partner.example:443", True),
        ("https://a.trusted.example", True),
        ("https://eviltrusted.example", False),  # a look-alike, not a subdomain
        ("https://trusted.example", False),  # the bare domain is not under its wildcard
        ("https://xpartner.example", False),  # nor is a host that merely ends the same
        ("http://partner.example:443", False),
    ],
)
def test_allowed_origins_admit_exactly_what_they_name(live, origin, allowed):
    response = http.post(url(live, "/partner", "/000/{sid}/xhr"), headers={"Origin": origin})
    assert response.status == (200 if allowed else 403)
    status = raw.handshake_status(live.port, "/partner/websocket", "13", origin)
    assert status == (101 if allowed else 403)


def test_star_opens_every_transport_to_every_site(live):
    response = http.post(url(live, "/open", "/000/{sid}/xhr"), headers={"Origin": EVIL})
    assert (response.status, response.text) == (200, "o\n")
    assert response.header("Access-Control-Allow-Origin") == EVIL
    assert response.header("Access-Control-Allow-Credentials") == "true"
    for version in VERSIONS:
        assert raw.handshake_status(live.port, "/open/websocket", version, EVIL) == 101


def test_star_warns_at_start_up_that_cookies_are_in_play(caplog):
    with caplog.at_level(logging.WARNING, logger="fallback.router"):
        Router(Echo, "/quiet")
        Router(Echo, "/listed", allowed_origins=["https://partner.example"])
        assert caplog.records == []
        Router(Echo, "/everyone", allowed_origins=["*"])
    (record,) = caplog.records
    assert "/everyone" in record.getMessage() and "cookies" in record.getMessage()


def test_cli_allowed_origins_star_opens_and_warns(tmp_path: Path):
    (tmp_path / "myapp.py").write_text(
        "from fallback import Connection\n"
        "class Echo(Connection):\n"
        "    def on_message(self, text):\n"
        "        self.send(text)\n"
    )
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fallback",
            "serve",
            "myapp:Echo",
            "--prefix",
            "/echo",
            "--port",
            str(port),
            "--allowed-origins",
            "*",
        ],
        cwd=tmp_path,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        seen = []
        for line in process.stderr:
            seen.append(line)
            if "fallback serving" in line:
                break
        assert any("allowed_origins '*'" in line and "cookies" in line for line in seen), seen
        response = http.post(f"http://127.0.0.1:{port}/echo/000/cli/xhr", headers={"Origin": EVIL})
        assert response.status == 200
        assert response.header("Access-Control-Allow-Origin") == EVIL
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def behind_tls_proxy() -> Iterator[LiveServer]:
    """A server whose requests say (X-Forwarded-Proto) they came over HTTPS."""
    server = LiveServer(lambda: make_application([Router(Echo, "/echo")]), xheaders=True).start()
    yield server
    server.stop()


def test_an_http_page_is_not_the_origin_of_an_https_service(behind_tls_proxy):
    live = behind_tls_proxy
    host = f"127.0.0.1:{live.port}"
    https = {"X-Forwarded-Proto": "https"}
    page_https = http.post(
        url(live, "/echo", "/000/{sid}/xhr"), headers={**https, "Origin": f"https://{host}"}
    )
    assert page_https.status == 200
    page_http = http.post(
        url(live, "/echo", "/000/{sid}/xhr"), headers={**https, "Origin": f"http://{host}"}
    )
    assert page_http.status == 403


@pytest.mark.parametrize(
    ("prefix", "policy"),
    [
        ("/default", "frame-ancestors 'self'"),
        ("/partner", "frame-ancestors 'self' https://partner.example *.trusted.example"),
        ("/files", "frame-ancestors 'self'"),
        ("/open", "frame-ancestors *"),
    ],
)
def test_iframe_html_may_be_framed_only_by_allowed_pages_even_from_a_cache(live, prefix, policy):
    # sockjs-client's iframe transports run from this page for whoever frames it; it is
    # cached for a year, and a cached copy is never checked by the server again.
    response = http.get(live.url + prefix + "/iframe.html")
    assert response.status == 200
    assert response.header("Content-Security-Policy") == policy
