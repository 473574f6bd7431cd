"""The channel server: its own feeds in a namespace no token pattern reaches, and wrong
keys (backend API, admin page, server admin key) limited per client address."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from fallback.exceptions import ConfigurationError
from fallback.realtime import parse_config
from fallback.realtime.ratelimit import Backoff
from fallback.realtime.tokens import issue
from tests.realtime.conftest import EnvelopeClient
from tests.security import raw
from tests.security.conftest import ADMIN_KEY, KEY, LIMITS, SECRET
from tests.support.live import LiveServer
from tests.support.sockjs import client_for


@pytest.fixture
def server(channel_server: LiveServer) -> LiveServer:
    return channel_server


@pytest.fixture
def connect(channel_server: LiveServer) -> Iterator[Any]:
    opened: list[EnvelopeClient] = []

    def open_client() -> EnvelopeClient:
        client = EnvelopeClient(client_for("websocket", channel_server.url + "/fortress"))
        opened.append(client)
        return client

    yield open_client
    for client in opened:
        client.close()


def admin_page(server: LiveServer, key: str, source: str) -> tuple[int, dict[str, str], str]:
    return raw.http_request(
        server.port,
        "POST",
        "/fortress/admin",
        urlencode({"key": key}),
        {"Content-Type": "application/x-www-form-urlencoded"},
        source=source,
    )


def admin_feed(server: LiveServer) -> tuple[str, str]:
    """The channel and token the admin page subscribes with."""
    status, _, page = admin_page(server, KEY, "127.0.0.1")
    assert status == 200, page
    token = json.loads(html.unescape(re.search(r"var token = (\"[^\"]+\")", page).group(1)))  # type: ignore[union-attr]
    channel = json.loads(html.unescape(re.search(r"channel = (\"[^\"]+\")", page).group(1)))  # type: ignore[union-attr]
    return channel, token


# -- the server's own feeds ------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern",
    [
        "*",
        "private-*",
        "presence-*",
        "$*",
        "$fallback-*",
        "*admin*",
        "?fallback-admin",
        "[$]fallback-admin",
        "[!a]fallback-admin",
        "private-fallback-admin",
    ],
)
def test_no_user_token_pattern_reaches_the_admin_feed(server, connect, pattern):
    channel, _ = admin_feed(server)
    token = issue(SECRET, "user-1", tenant="fortress", channels=pattern)
    answer = connect().request("subscribe", channel=channel, token=token)
    assert answer["op"] == "error" and answer["code"] == 4014, answer


def test_the_admin_page_still_gets_its_feed(server, connect):
    channel, token = admin_feed(server)
    assert channel.startswith("$")
    client = connect()
    assert client.request("subscribe", channel=channel, token=token)["op"] == "ok"
    stats = client.messages(channel, 1, timeout=10)[0]
    assert stats["connections"] >= 1 and "channels" in stats


def test_browsers_and_the_backend_cannot_write_to_the_servers_feeds(server, connect):
    channel, token = admin_feed(server)
    client = connect()
    client.request("subscribe", channel=channel, token=token)
    published = client.request("publish", channel=channel, data={"forged": True})
    assert published["op"] == "error" and published["code"] == 4020
    status, _, body = raw.http_request(
        server.port,
        "POST",
        "/fortress/api/publish",
        json.dumps({"channel": channel, "data": 1}),
        {"Authorization": f"Bearer {KEY}"},
    )
    assert status == 400 and "reserved" in body


def test_other_reserved_names_cannot_be_subscribed(server, connect):
    token = issue(SECRET, "user-1", tenant="fortress", channels=["$other"])
    answer = connect().request("subscribe", channel="$other", token=token)
    assert answer["op"] == "error" and answer["code"] == 4002


# -- wrong keys --------------------------------------------------------------------------------


def api_stats(server: LiveServer, key: str, source: str) -> tuple[int, dict[str, str], str]:
    return raw.http_request(
        server.port,
        "GET",
        "/fortress/api/stats",
        headers={"Authorization": f"Bearer {key}"},
        source=source,
    )


def wait_out(call: Any, timeout: float = 10.0) -> tuple[int, dict[str, str], str]:
    """Repeat `call` (the right key) until it is no longer refused with 429."""
    deadline = time.monotonic() + timeout
    while True:
        answer = call()
        if answer[0] != 429:
            return answer  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, "the lockout never ended"
        time.sleep(min(0.1, float(answer[1]["retry-after"])))


def test_wrong_api_keys_lock_the_address_out_then_the_right_key_works(server):
    source = "127.0.0.2"
    for _ in range(LIMITS.free_failures):
        assert api_stats(server, "wrong-key-0123456789", source)[0] == 401
    assert api_stats(server, "wrong-key-0123456789", source)[0] == 401  # lockout starts
    # Locked out: even the right key is refused, without being looked at.
    status, headers, body = api_stats(server, KEY, source)
    assert status == 429 and int(headers["retry-after"]) >= 1
    assert json.loads(body)["error"]["code"] == 429
    # Other addresses are not affected.
    assert api_stats(server, KEY, "127.0.0.3")[0] == 200
    # Once the lockout is over, the right key works (and clears the count).
    assert wait_out(lambda: api_stats(server, KEY, source))[0] == 200
    for _ in range(LIMITS.free_failures):
        assert api_stats(server, "wrong-key-0123456789", source)[0] == 401


def test_a_missing_key_is_not_counted_as_a_guess(server):
    source = "127.0.0.4"
    for _ in range(LIMITS.free_failures * 3):
        status, _, _ = raw.http_request(server.port, "GET", "/fortress/api/stats", source=source)
        assert status == 401
    assert api_stats(server, KEY, source)[0] == 200


def test_wrong_admin_logins_lock_the_address_out(server):
    source = "127.0.0.5"
    for _ in range(LIMITS.free_failures + 1):
        assert admin_page(server, "not-the-key-0123456789", source)[0] == 401
    status, headers, page = admin_page(server, KEY, source)
    assert status == 429 and int(headers["retry-after"]) >= 1
    assert "Too many wrong keys" in page and "token" not in page
    assert admin_page(server, KEY, "127.0.0.6")[0] == 200
    assert wait_out(lambda: admin_page(server, KEY, source))[0] == 200


def test_the_limit_spans_every_key_of_the_server(server):
    # Guesses at the API, the admin page and the server's admin key add up.
    source = "127.0.0.7"
    admin = {"Authorization": "Bearer wrong-admin-key-0123"}
    assert api_stats(server, "wrong-key-0123456789", source)[0] == 401
    assert admin_page(server, "not-the-key-0123456789", source)[0] == 401
    assert (
        raw.http_request(server.port, "GET", "/_fallback/tenants", headers=admin, source=source)[0]
        == 401
    )
    assert (
        raw.http_request(server.port, "GET", "/_fallback/tenants", headers=admin, source=source)[0]
        == 401
    )
    status, headers, _ = raw.http_request(
        server.port,
        "GET",
        "/_fallback/tenants",
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        source=source,
    )
    assert status == 429 and "retry-after" in headers
    answer = wait_out(
        lambda: raw.http_request(
            server.port,
            "GET",
            "/_fallback/tenants",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            source=source,
        )
    )
    assert answer[0] == 200 and json.loads(answer[2])["tenants"][0]["name"] == "fortress"


def test_login_limits_come_from_the_configuration():
    tenant = {"acme": {"secret": SECRET}}
    config = parse_config(
        {"server": {"login_limits": {"free_failures": 10, "max_lockout": 60}}, "tenants": tenant}
    )
    assert config.login_limits == Backoff(free_failures=10, max_lockout=60)
    assert parse_config({"tenants": tenant}).login_limits == Backoff()
    with pytest.raises(ConfigurationError, match=r"unknown \[server\.login_limits\] key"):
        parse_config({"server": {"login_limits": {"free": 1}}, "tenants": tenant})
    with pytest.raises(ConfigurationError, match="free_failures must be a positive integer"):
        parse_config({"server": {"login_limits": {"free_failures": 0}}, "tenants": tenant})


# -- the admin page's session: the API key's power for an hour, and nothing else --------


def admin_session(server: LiveServer) -> str:
    status, _, page = admin_page(server, KEY, "127.0.0.1")
    assert status == 200, page
    found = re.search(r"var session = (\"[^\"]+\")", page)
    assert found, "the admin page carries its session"
    return json.loads(html.unescape(found.group(1)))  # type: ignore[no-any-return]


def test_the_admin_session_opens_the_backend_api_in_place_of_the_key(server):
    assert api_stats(server, admin_session(server), "127.0.0.1")[0] == 200


@pytest.mark.parametrize(
    "forged",
    [
        # a session signed with the tenant's secret itself (as a user token is), not with
        # the key derived from it
        "fbadmin:" + issue(SECRET, "fallback-admin-session", tenant="fortress", channels=[]),
        # a user token of the tenant, as it is
        issue(SECRET, "fallback-admin-session", tenant="fortress", channels=["*"]),
    ],
)
def test_no_token_signed_with_the_tenant_secret_passes_for_an_admin_session(server, forged):
    assert api_stats(server, forged, "127.0.0.7")[0] == 401


def test_an_admin_session_altered_or_expired_is_refused(server):
    import hashlib
    import hmac as hmac_

    session = admin_session(server)
    head, body, signature = session[len("fbadmin:") :].split(".")
    flipped = "A" if signature[0] != "A" else "B"
    assert (
        api_stats(server, f"fbadmin:{head}.{body}.{flipped}{signature[1:]}", "127.0.0.8")[0] == 401
    )
    # Signed with the right key, but an hour and a second old.
    key = hmac_.new(SECRET.encode(), b"fallback admin session", hashlib.sha256).digest()
    old = issue(
        key, "fallback-admin-session", tenant="fortress", channels=[], now=time.time() - 3601
    )
    assert api_stats(server, "fbadmin:" + old, "127.0.0.8")[0] == 401
    fresh = issue(key, "fallback-admin-session", tenant="fortress", channels=[])
    assert api_stats(server, "fbadmin:" + fresh, "127.0.0.8")[0] == 200
