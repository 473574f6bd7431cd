"""The backend HTTP API: auth, validation, and what each endpoint does."""

from __future__ import annotations

import json
import time

import pytest

from tests.realtime.conftest import ACME_KEY, WebhookReceiver
from tests.support import http

pytestmark = pytest.mark.timeout(60)

AUTH = {"Authorization": f"Bearer {ACME_KEY}"}


def api(live, method, path, body=None, headers=AUTH, tenant="acme"):
    data = None if body is None else (body if isinstance(body, str) else json.dumps(body))
    response = http.request(method, f"{live.url}/{tenant}/api/{path}", data, headers=headers)
    return response.status, (json.loads(response.body) if response.body else None)


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong-key-0123456789"}, {"Authorization": ACME_KEY}]
)
def test_missing_or_wrong_key_is_401(live, headers):
    status, body = api(live, "POST", "publish", {"channel": "x", "data": 1}, headers=headers)
    assert status == 401 and body["error"]["code"] == 401


def test_api_is_off_without_a_key(live):
    status, body = api(live, "GET", "channels", tenant="quiet")
    assert status == 404 and "off" in body["error"]["message"]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("publish", "{not json", "not JSON"),
        ("publish", [1], "JSON object"),
        ("publish", {"channel": "a b", "data": 1}, "channel names"),
        ("publish", {"channel": "x"}, '"data"'),
        ("broadcast", {"channels": [], "data": 1}, '"channels"'),
        ("broadcast", {"channels": "x", "data": 1}, '"channels"'),
        ("disconnect", {"user": 5}, '"user"'),
    ],
)
def test_bad_requests_are_400_with_a_message(live, path, body, message):
    status, answer = api(live, "POST", path, body)
    assert status == 400
    assert message in answer["error"]["message"]


def test_wrong_method_is_405(live):
    status, answer = api(live, "GET", "publish")
    assert status == 405 and answer["error"]["code"] == 405


def test_oversized_body_is_413(live):
    status, _ = api(live, "POST", "publish", {"channel": "x", "data": "x" * 300_000})
    assert status == 413


def test_broadcast_reaches_several_channels(live, connect):
    client = connect()
    client.request("subscribe", channel="one")
    client.request("subscribe", channel="two")
    status, body = api(live, "POST", "broadcast", {"channels": ["one", "two"], "data": "both"})
    assert status == 200 and body == {"ok": True, "local": 2}
    assert client.messages("one", 1) == ["both"]
    assert client.messages("two", 1) == ["both"]


def test_channels_and_presence_and_stats(live, connect):
    client = connect(transport="xhr_streaming")
    client.request("subscribe", channel="counted")
    status, body = api(live, "GET", "channels")
    assert status == 200 and body["channels"]["counted"] >= 1
    status, body = api(live, "GET", "presence?channel=counted")
    assert status == 200 and len(body["members"]) >= 1
    status, body = api(live, "GET", "stats")
    assert status == 200
    assert body["connections"] >= 1 and body["by_transport"].get("xhr_streaming", 0) >= 1


def test_disconnect_closes_the_users_connections(live, connect):
    from fallback.realtime import tokens
    from tests.realtime.conftest import ACME_SECRET

    target = connect()
    bystander = connect()
    target.request(
        "subscribe",
        channel="private-zone",
        token=tokens.issue(ACME_SECRET, "victim", tenant="acme", channels="private-*"),
    )
    bystander.request("subscribe", channel="news")
    status, body = api(live, "POST", "disconnect", {"user": "victim"})
    assert status == 200 and body["local"] == 1
    frame = target.client.next_data_frame()
    assert frame == 'c[4100,"Disconnected by the server"]'
    assert bystander.request("subscribe", channel="still-here")["op"] == "ok"


def test_trigger_is_posted_to_the_backend_with_retries_and_a_signature(live, connect):
    import hashlib
    import hmac

    from tests.realtime.conftest import ACME_SECRET

    WebhookReceiver.failures_left = 2
    WebhookReceiver.events.clear()
    WebhookReceiver.headers_seen.clear()
    client = connect(transport="jsonp")
    answer = client.request("trigger", event="button.clicked", data={"x": 1})
    assert answer["op"] == "ok"
    deadline = time.monotonic() + 10
    while not WebhookReceiver.events:
        assert time.monotonic() < deadline, "the webhook never arrived"
        time.sleep(0.05)
    event = WebhookReceiver.events[0]
    assert (event["tenant"], event["event"], event["data"]) == ("acme", "button.clicked", {"x": 1})
    assert event["transport"] == "jsonp"
    assert WebhookReceiver.failures_left == 0, "the first two attempts should have failed"
    body = json.dumps(event, separators=(",", ":")).encode()
    expected = hmac.new(ACME_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert WebhookReceiver.headers_seen[0]["X-Fallback-Signature"] == "sha256=" + expected


def test_trigger_without_a_backend_is_refused(connect):
    answer = connect("globex").request("trigger", event="x", data=None)
    assert (answer["op"], answer["code"]) == ("error", 4040)
