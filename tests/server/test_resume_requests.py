"""Resume requests against a live server, over real HTTP: the ones the network delays."""

from __future__ import annotations

import json

import pytest

from tests.support import http
from tests.support.sockjs import XhrPollingClient, decode_close, decode_messages, new_session_url

pytestmark = pytest.mark.timeout(30)


def resumable(base: str) -> tuple[XhrPollingClient, str]:
    client = XhrPollingClient(base)
    client.query = {"fb_resume": "1"}
    assert client.next_frame() == "o"
    control = client.next_frame()
    assert control.startswith('r{"cid"'), control
    cid = json.loads(control[1:])["cid"]
    return client, cid


def test_a_resume_request_the_client_has_overtaken_is_refused_and_harms_nothing(live):
    base = live.url + "/echo"
    client, cid = resumable(base)
    client.send("one", "two", "three")
    assert client.receive_messages(3) == ["one", "two", "three"]
    # fallback.js acknowledges what it received among its messages.
    assert http.post(client.session_url + "/xhr_send", json.dumps([{"ack": 3}])).status == 204
    # A receiving request held up in the network since the client had seen 1 message.
    stale = XhrPollingClient(base, new_session_url(base))
    stale.query = {"fb_resume": f"{cid}.1"}
    assert stale.next_frame() == "o"
    assert decode_close(stale.next_frame()) == (2010, "Another connection still open")
    # The connection is untouched: its own polls and sends carry on.
    client.query = {"fb_resume": f"{cid}.3"}
    client.send("four")
    assert decode_messages(client.next_data_frame()) == ["four"]
