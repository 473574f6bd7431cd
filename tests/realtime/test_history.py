"""Channels with history on the channel server: positions in every envelope, recovery on
subscribe, the backend API's ``history``, and the limits."""

from __future__ import annotations

import json

import pytest

from fallback.channels.history import HistoryPolicy
from fallback.exceptions import ConfigurationError
from fallback.realtime import Tenant, parse_config, tokens
from tests.docs.corpus import block
from tests.realtime.conftest import KEEPER_KEY, KEEPER_SECRET
from tests.realtime.test_backend_api import api as call_api

pytestmark = pytest.mark.timeout(60)

AUTH = {"Authorization": f"Bearer {KEEPER_KEY}"}


def api(live, method, path, body=None):
    return call_api(live, method, path, body, headers=AUTH, tenant="keeper")


def publish(live, channel: str, data) -> None:
    assert api(live, "POST", "publish", {"channel": channel, "data": data})[0] == 200


def test_every_publication_of_a_channel_with_history_carries_its_position(connect):
    client = connect("keeper")
    ok = client.request("subscribe", channel="feed-positions")
    assert ok["offset"] == 0 and isinstance(ok["epoch"], str) and "recovered" not in ok
    client.request("publish", channel="feed-positions", data="one")
    client.request("publish", channel="feed-positions", data="two")
    got = [client.wait(lambda e: e["op"] == "message") for _ in range(2)]
    assert [(g["data"], g["offset"], g["epoch"]) for g in got] == [
        ("one", 1, ok["epoch"]),
        ("two", 2, ok["epoch"]),
    ]
    other = connect("keeper").request("subscribe", channel="chat-none")
    assert "offset" not in other  # no history rule: no position


def test_a_subscriber_coming_back_with_its_position_recovers_in_order_then_live(connect, live):
    first = connect("keeper", "xhr_streaming")
    ok = first.request("subscribe", channel="feed-back")
    publish(live, "feed-back", "m1")
    assert first.messages("feed-back", 1) == ["m1"]
    first.close()
    for n in (2, 3, 4):
        publish(live, "feed-back", f"m{n}")
    back = connect("keeper", "xhr")
    since = {"offset": 1, "epoch": ok["epoch"]}
    answer = back.request("subscribe", channel="feed-back", since=since)
    assert answer["recovered"] is True and answer["offset"] == 4
    publish(live, "feed-back", "m5")
    got = [back.wait(lambda e: e["op"] == "message") for _ in range(4)]
    assert [(g["data"], g["offset"]) for g in got] == [("m2", 2), ("m3", 3), ("m4", 4), ("m5", 5)]


@pytest.mark.parametrize("reason", ["trimmed", "epoch", "beyond max_recovery"])
def test_when_history_does_not_reach_back_the_answer_says_recovered_false(connect, live, reason):
    channel = f"feed-gone-{reason.split()[0]}"
    client = connect("keeper")
    epoch = client.request("subscribe", channel=channel)["epoch"]
    for n in range(8):  # the rule keeps 5
        publish(live, channel, n)
    client.messages(channel, 8)
    since = {
        "trimmed": {"offset": 1, "epoch": epoch},
        "epoch": {"offset": 7, "epoch": "not-this-one"},
        "beyond max_recovery": {"offset": 7, "epoch": epoch},
    }[reason]
    if reason == "beyond max_recovery":
        # a channel whose rule keeps 50, with more missed than the tenant's 20
        channel = "presence-feed-x"
        token = tokens.issue(KEEPER_SECRET, "u1", tenant="keeper", channels="presence-*")
        ok = client.request("subscribe", channel=channel, token=token)
        for n in range(25):
            publish(live, channel, n)
        since = {"offset": ok["offset"], "epoch": ok["epoch"]}
        back = connect("keeper")
        token2 = tokens.issue(KEEPER_SECRET, "u2", tenant="keeper", channels="presence-*")
        answer = back.request("subscribe", channel=channel, token=token2, since=since)
    else:
        back = connect("keeper")
        answer = back.request("subscribe", channel=channel, since=since)
    assert answer["recovered"] is False
    publish(live, channel, "live")
    nxt = back.wait(lambda e: e["op"] == "message")
    assert nxt["data"] == "live" and nxt["offset"] > answer["offset"]  # (presence: a join between)


@pytest.mark.parametrize(
    "since",
    [
        {"offset": -1, "epoch": "e"},
        {"offset": "3", "epoch": "e"},
        {"offset": True, "epoch": "e"},
        {"offset": 3},
        {"offset": 3, "epoch": ""},
        {"offset": 3, "epoch": "x" * 65},
        {"offset": 3, "epoch": "e", "more": 1},
        {"offset": 2**60, "epoch": "e"},
        [3, "e"],
        "3:e",
    ],
)
def test_a_malformed_since_is_refused_with_a_clear_error(connect, since):
    client = connect("keeper")
    answer = client.request("subscribe", channel="feed-bad", since=since)
    assert answer["op"] == "error" and answer["code"] == 4000
    assert "since" in answer["message"]
    assert client.request("subscribe", channel="feed-bad")["op"] == "ok"  # the connection lives


def test_since_on_a_channel_without_history_is_recovered_false(connect):
    answer = connect("keeper").request(
        "subscribe", channel="chat-plain", since={"offset": 1, "epoch": "e"}
    )
    assert answer["op"] == "ok" and answer["recovered"] is False and "offset" not in answer


def test_the_backend_api_reads_history_latest_and_after_a_position(live):
    for n in range(7):
        publish(live, "feed-api", n)
    status, body = api(live, "GET", "history?channel=feed-api&limit=3")
    assert status == 200
    assert body["offset"] == 7 and "recovered" not in body
    assert [(p["data"], p["offset"]) for p in body["publications"]] == [(4, 5), (5, 6), (6, 7)]
    assert body["publications"][0]["op"] == "message"
    epoch = body["epoch"]
    status, page = api(live, "GET", f"history?channel=feed-api&limit=1&offset=4&epoch={epoch}")
    assert status == 200 and page["recovered"] is True
    assert [p["offset"] for p in page["publications"]] == [5]
    status, gap = api(live, "GET", f"history?channel=feed-api&offset=1&epoch={epoch}")
    assert status == 200 and gap["recovered"] is False and gap["publications"] == []


@pytest.mark.parametrize(
    "query, message",
    [
        ("channel=chat-nohistory", "keeps no history"),
        ("channel=feed-api&limit=x", "limit"),
        ("channel=feed-api&offset=3", "epoch"),
        ("channel=feed-api&offset=-3&epoch=e", "offset"),
        ("channel=bad%20name", "channel names"),
    ],
)
def test_the_history_api_refuses_bad_requests_with_400(live, query, message):
    status, body = api(live, "GET", "history?" + query)
    assert status == 400 and message in body["error"]["message"]


def test_the_history_api_caps_limit_at_max_recovery(live):
    for n in range(30):
        publish(live, "presence-feed-cap", n)
    status, body = api(live, "GET", "history?channel=presence-feed-cap&limit=1000")
    assert status == 200 and len(body["publications"]) == 20


@pytest.mark.parametrize(
    "history, message",
    [
        ({"feed-*": {"size": 5000, "ttl": 60}}, "max_history_size"),
        ({"feed-*": {"size": 5, "ttl": 10**6}}, "max_history_ttl"),
        ({"feed-*": {"size": 5, "ttl": 0}}, "ttl"),
        ({"feed-*": {"size": 5}}, "ttl"),
        ({"feed-*": {"size": 5, "ttl": 5, "extra": 1}}, "size = n, ttl = seconds"),
        ({"feed-*": 5}, "size = n, ttl = seconds"),
    ],
)
def test_tenant_history_rules_are_bounded(history, message):
    with pytest.raises(ConfigurationError, match=message):
        Tenant(name="t", prefix="/t", secret="s" * 16, history=history)
    json.dumps(history)  # (TOML gives the same shapes)


def test_the_documented_history_config_parses_into_these_rules():
    import tomllib

    text = block("In the channel server, history is per tenant", "toml")
    (tenant,) = parse_config(tomllib.loads(text)).tenants
    assert tenant.history_policies() == [
        ("news-*", HistoryPolicy(100, 600, 86_400)),
        ("presence-room-*", HistoryPolicy(500, 3600, 86_400)),
    ]
    assert (tenant.max_history_size, tenant.max_history_ttl, tenant.max_recovery) == (
        1000,
        86400,
        1000,
    )
