"""The ``transports`` list in ``/info``, and ``fallback.js`` served at ``<prefix>/fallback.js``."""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import tornado.web

from fallback import Connection, Router
from fallback.server import make_application
from tests.support import http
from tests.support.live import LiveServer

pytestmark = pytest.mark.timeout(30)

SHIM = os.path.join(os.path.dirname(__file__), "..", "..", "fallback", "static", "fallback.js")
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
IE9 = "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)"
ALL = ["websocket", "flash", "eventsource", "xhr_streaming", "htmlfile", "xhr", "jsonp"]


class Echo(Connection):
    def on_message(self, text: str) -> None:
        self.send(text)


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    def app() -> tornado.web.Application:
        return make_application(
            [
                Router(Echo, "/plain"),
                Router(Echo, "/noraw", raw_websocket=False),
                Router(Echo, "/nows", disabled_transports=["websocket", "jsonp"]),
                Router(Echo, "/cookie", jsessionid=True, allowed_origins=["http://www.example"]),
                Router(Echo, ""),
            ]
        )

    live = LiveServer(app).start()
    yield live
    live.stop()


def info(server: LiveServer, prefix: str, **headers: str) -> dict[str, Any]:
    response = http.get(server.url + prefix + "/info", headers=headers)
    assert response.status == 200
    return json.loads(response.body)  # type: ignore[no-any-return]


def test_info_keeps_the_protocol_keys_and_adds_transports(server):
    body = info(server, "/plain", **{"User-Agent": CHROME})
    assert body["websocket"] is True
    assert body["origins"] == ["*:*"]
    assert body["cookie_needed"] is False
    assert isinstance(body["entropy"], int)
    assert body["transports"] == ALL


def test_info_transports_follow_the_router_settings(server):
    assert info(server, "/noraw")["transports"] == [t for t in ALL if t != "flash"]
    assert info(server, "/nows")["transports"] == [
        "eventsource",
        "xhr_streaming",
        "htmlfile",
        "xhr",
    ]


def test_info_transports_follow_the_browser_and_where_the_page_is(server):
    same_site = info(server, "/cookie", **{"User-Agent": IE9, "Host": "chat.example"})
    other_site = info(
        server,
        "/cookie",
        **{"User-Agent": IE9, "Origin": "http://www.example", "Host": "chat.example"},
    )
    assert same_site["transports"] == ALL
    # XDomainRequest carries no cookie: the sticky-session cookie would be lost.
    assert other_site["transports"] == ["websocket", "flash", "eventsource", "jsonp"]


@pytest.mark.parametrize(
    "path", ["/plain/fallback.js", "/cookie/fallback.js", "/fallback.js", "/static/fallback.js"]
)
def test_fallback_js_is_served_at_the_prefix_and_under_static(server, path):
    response = http.get(server.url + path)
    assert response.status == 200
    assert response.header("Content-Type").startswith(("application/javascript", "text/javascript"))
    with open(SHIM, "rb") as file:
        assert response.body == file.read()


def test_fallback_js_at_the_prefix_is_revalidated_cheaply(server):
    first = http.get(server.url + "/plain/fallback.js")
    assert first.header("Cache-Control") == "no-cache"
    assert first.header("Access-Control-Allow-Origin") == "*"
    etag = first.header("Etag")
    assert etag
    again = http.get(server.url + "/plain/fallback.js", headers={"If-None-Match": etag})
    assert again.status == 304
    assert again.body == b""


def test_shim_url_does_not_shadow_session_urls(server):
    # <prefix>/fallback.js is one path segment; session URLs have three.
    assert http.get(server.url + "/plain/fallback.jsx").status == 404
    assert http.post(server.url + "/plain/000/abc/xhr").status == 200


@pytest.mark.parametrize("path", ["/plain/fallback.js", "/static/fallback.js"])
def test_fallback_js_goes_gzipped_to_browsers_that_accept_it(server, path):
    with open(SHIM, "rb") as file:
        source = file.read()
    packed = http.get(server.url + path, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.status == 200
    assert packed.header("Content-Encoding") == "gzip"
    assert "Accept-Encoding" in packed.header("Vary")
    assert gzip.decompress(packed.body) == source
    assert len(packed.body) < len(source) / 2
    # The two encodings are two representations: each has its own ETag, and each
    # revalidates to a 304.
    plain = http.get(server.url + path, headers={"Accept-Encoding": "identity"})
    assert plain.header("Content-Encoding") is None and plain.body == source
    assert plain.header("Etag") != packed.header("Etag")
    again = http.get(
        server.url + path,
        headers={"Accept-Encoding": "gzip", "If-None-Match": packed.header("Etag")},
    )
    assert again.status == 304 and again.body == b""
    refused = http.get(server.url + path, headers={"Accept-Encoding": "gzip;q=0"})
    assert refused.header("Content-Encoding") is None and refused.body == source


def test_fallback_js_answers_head_without_a_body(server):
    response = http.request("HEAD", server.url + "/plain/fallback.js")
    assert response.status == 200 and response.body == b""
    assert response.header("Cache-Control") == "no-cache"
