"""Broadcast to many receivers while some of them vanish."""

from __future__ import annotations

import pytest

from tests.support.sockjs import ALL_TRANSPORTS, client_for

pytestmark = pytest.mark.timeout(60)


def test_broadcast_survives_receivers_vanishing_and_reaches_every_live_one(live):
    base = live.url + "/broadcast"
    sender = client_for("websocket", base)
    assert sender.next_frame() == "o"
    live_clients = []
    doomed = []
    for i, transport in enumerate(ALL_TRANSPORTS * 3):
        client = client_for(transport, base)
        assert client.next_frame() == "o"
        (doomed if i % 3 == 0 else live_clients).append(client)

    expected = [f"news {i}" for i in range(40)]
    try:
        for i, text in enumerate(expected):
            sender.send(text)
            if i == 10:
                for client in doomed:  # vanish abruptly in the middle of the broadcast
                    client.close()
        assert sender.receive_messages(len(expected)) == expected
        for client in live_clients:
            assert client.receive_messages(len(expected), timeout=20) == expected, client.transport
    finally:
        for client in [sender, *live_clients, *doomed]:
            client.close()
