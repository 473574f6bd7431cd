"""The channel envelope over real transports: subscribe, tokens, publish, presence."""

from __future__ import annotations

import json
import time

import pytest

from fallback.realtime import tokens
from tests.realtime.conftest import ACME_SECRET, GLOBEX_SECRET
from tests.support import http
from tests.support.sockjs import ALL_TRANSPORTS

pytestmark = pytest.mark.timeout(60)


def token(user="u1", channels="*", tenant="acme", secret=ACME_SECRET, ttl=60, **kwargs):
    return tokens.issue(secret, user, tenant=tenant, channels=channels, ttl=ttl, **kwargs)


@pytest.mark.parametrize("transport", ALL_TRANSPORTS)
def test_public_channel_gets_what_the_api_publishes_in_order_once(live, connect, transport):
    client = connect(transport=transport)
    assert client.request("subscribe", channel="news")["op"] == "ok"
    for n in range(10):
        response = http.post(
            live.url + "/acme/api/publish",
            json.dumps({"channel": "news", "data": {"n": n}}),
            headers={"Authorization": "Bearer acme-api-key-0123456789"},
        )
        assert response.status == 200
    assert client.messages("news", 10) == [{"n": n} for n in range(10)]
    with pytest.raises(TimeoutError):
        client.messages("news", 1, timeout=0.3)


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda: None, 4010),
        (lambda: "not.a.token", 4011),
        (lambda: token(secret="forged-secret-00000000"), 4011),
        (lambda: token(ttl=-1), 4012),
        (lambda: token(tenant="globex", secret=GLOBEX_SECRET), 4011),
        (lambda: token(tenant="globex"), 4013),
        (lambda: token(channels="private-other-*"), 4014),
    ],
    ids=[
        "missing",
        "malformed",
        "forged",
        "expired",
        "other-tenant-secret",
        "wrong-tenant",
        "pattern",
    ],
)
def test_private_channel_refusals_carry_their_code(connect, make_token, code):
    client = connect()
    answer = client.request("subscribe", channel="private-room", token=make_token())
    assert answer["op"] == "error"
    assert answer["code"] == code
    assert answer["channel"] == "private-room"
    assert answer["message"]


def test_valid_token_admits_to_private_channel(connect):
    client = connect()
    answer = client.request("subscribe", channel="private-room", token=token(channels="private-*"))
    assert answer == {"v": 1, "op": "ok", "id": answer["id"], "channel": "private-room"}


def test_application_authorize_hook_can_refuse(connect):
    answer = connect().request("subscribe", channel="forbidden-by-app")
    assert (answer["op"], answer["code"]) == ("error", 4030)


def test_client_publish_only_where_the_channel_allows(connect):
    alice, bob = connect(), connect(transport="xhr_streaming")
    for client in (alice, bob):
        assert client.request("subscribe", channel="chat-lobby")["op"] == "ok"
        assert client.request("subscribe", channel="news")["op"] == "ok"
    assert alice.request("publish", channel="chat-lobby", data="hi bob")["op"] == "ok"
    assert bob.messages("chat-lobby", 1) == ["hi bob"]
    refused = alice.request("publish", channel="news", data="spam")
    assert (refused["op"], refused["code"]) == ("error", 4020)
    with pytest.raises(TimeoutError):
        bob.messages("news", 1, timeout=0.3)


def test_private_publish_needs_a_subscription(connect):
    client = connect()
    refused = client.request("publish", channel="private-chat-x", data="x")
    assert (refused["op"], refused["code"]) == ("error", 4021)


def test_presence_shows_members_and_announces_joins_and_leaves(connect):
    ann = connect()
    ann_answer = ann.request(
        "subscribe", channel="presence-team", token=token("ann", "presence-*", info={"name": "Ann"})
    )
    assert [m["user"] for m in ann_answer["presence"]] == ["ann"]
    bob = connect(transport="xhr")
    bob_answer = bob.request(
        "subscribe", channel="presence-team", token=token("bob", "presence-*", info={"name": "Bob"})
    )
    assert sorted(m["user"] for m in bob_answer["presence"]) == ["ann", "bob"]
    joined = ann.wait(lambda e: e["op"] == "join" and e["member"]["user"] == "bob")
    assert joined["member"]["info"] == {"name": "Bob"}
    assert joined["channel"] == "presence-team"
    listed = ann.request("presence", channel="presence-team")
    assert sorted(m["user"] for m in listed["presence"]) == ["ann", "bob"]
    bob.close()  # xhr polling: gone once disconnect_delay (0.5 s) passes without a poll
    left = ann.wait(lambda e: e["op"] == "leave", timeout=10)
    assert left["member"]["user"] == "bob"
    deadline = time.monotonic() + 5
    while sorted(
        m["user"] for m in ann.request("presence", channel="presence-team")["presence"]
    ) != ["ann"]:
        assert time.monotonic() < deadline


def test_unsubscribe_stops_delivery(live, connect):
    client = connect()
    client.request("subscribe", channel="chat-a")
    assert client.request("unsubscribe", channel="chat-a")["op"] == "ok"
    other = connect()
    other.request("subscribe", channel="chat-a")
    other.request("publish", channel="chat-a", data="after")
    assert other.messages("chat-a", 1) == ["after"]
    with pytest.raises(TimeoutError):
        client.messages("chat-a", 1, timeout=0.3)


def test_too_many_channels_is_refused(connect):
    client = connect()
    for n in range(5):
        assert client.request("subscribe", channel=f"c{n}")["op"] == "ok"
    answer = client.request("subscribe", channel="c5")
    assert (answer["op"], answer["code"]) == ("error", 4029)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", 4000),
        ("[1, 2]", 4000),
        ('{"v": 1, "op": "dance", "id": 7}', 4001),
        ('{"v": 2, "op": "subscribe", "channel": "x"}', 4003),
        ('{"v": 1, "op": "subscribe", "channel": "' + "x" * 5000 + '"}', 4002),
        ('{"v": 1, "op": "subscribe", "channel": "a b"}', 4002),
        ('{"v": 1, "op": "subscribe", "channel": 5}', 4002),
        ('{"v": 1, "op": "subscribe", "channel": "private-x", "token": 5}', 4000),
        ('{"v": 1, "op": "trigger", "event": ""}', 4000),
        ("{" * 50000, 4000),
    ],
)
def test_bad_envelopes_get_error_events_and_the_connection_lives(connect, raw, code):
    client = connect()
    client.send_raw(raw)
    error = client.wait(lambda e: e["op"] == "error")
    assert error["code"] == code
    assert client.request("subscribe", channel="still-alive")["op"] == "ok"


def test_tenants_are_isolated(live, connect):
    acme = connect("acme")
    globex = connect("globex")
    acme.request("subscribe", channel="shared-name")
    globex.request("subscribe", channel="shared-name")
    http.post(
        live.url + "/acme/api/publish",
        json.dumps({"channel": "shared-name", "data": "for acme"}),
        headers={"Authorization": "Bearer acme-api-key-0123456789"},
    )
    assert acme.messages("shared-name", 1) == ["for acme"]
    with pytest.raises(TimeoutError):
        globex.messages("shared-name", 1, timeout=0.3)
    # acme's key does nothing on globex, acme's tokens are refused there.
    response = http.post(
        live.url + "/globex/api/publish",
        json.dumps({"channel": "shared-name", "data": "x"}),
        headers={"Authorization": "Bearer acme-api-key-0123456789"},
    )
    assert response.status == 401
    refused = globex.request("subscribe", channel="private-x", token=token(channels="*"))
    assert refused["code"] in (4011, 4013)
