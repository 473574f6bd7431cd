"""Binary messages through the shipped fallback.js on every transport, both directions:
random bytes (every byte value, 0 bytes up to ``max_message_size``) sent as ArrayBuffer,
ArrayBufferView and Blob, received as ArrayBuffer and Blob, interleaved with text, and
echoed back exactly and in order (`fallback.core.binary`)."""

from __future__ import annotations

import base64
import random
from typing import Any

import pytest

from tests.browser import apps

pytestmark = pytest.mark.timeout(90)

TRANSPORTS = ["websocket", "xhr_streaming", "eventsource", "htmlfile", "xhr", "jsonp"]

#: The page side: start a socket, send a list of {t: text} / {b: base64} items (binary
#: ones as `as` says), and record what comes back the same way.
SCRIPT = """
<script>
window.got = [];
function b64(buffer) {
  var u = new Uint8Array(buffer), s = "";
  for (var i = 0; i < u.length; i += 8192) { s += String.fromCharCode.apply(null, u.subarray(i, i + 8192)); }
  return btoa(s);
}
function unb64(text) {
  var s = atob(text), u = new Uint8Array(s.length);
  for (var i = 0; i < s.length; i++) { u[i] = s.charCodeAt(i); }
  return u;
}
window.start = function (url, transport, binaryType, options) {
  options = Object.assign({ transports: [transport] }, options);
  var sock = window.sock = new FallbackSocket(url, options);
  sock.binaryType = binaryType;
  sock.onopen = function () { window.opened = sock.transport; };
  sock.onclose = function (e) { window.closed = [e.code, e.reason]; };
  sock.onmessage = function (e) {
    var at = window.got.length;
    if (typeof e.data == "string") { window.got.push({ t: e.data }); return; }
    if (e.data instanceof ArrayBuffer) { window.got.push({ b: b64(e.data), as: "arraybuffer" }); return; }
    window.got.push(null);
    e.data.arrayBuffer().then(function (buffer) { window.got[at] = { b: b64(buffer), as: "blob" }; });
  };
};
window.sendAll = function (items) {
  items.forEach(function (item, i) {
    if (item.t !== undefined) { return sock.send(item.t); }
    var bytes = unb64(item.b), way = i % 3;
    if (way == 0) { return sock.send(bytes.buffer); }
    if (way == 1) {
      // A view into a larger buffer: only its own bytes go.
      var big = new Uint8Array(bytes.length + 7);
      big.set(bytes, 3);
      return sock.send(new Uint8Array(big.buffer, 3, bytes.length));
    }
    sock.send(new Blob([bytes]));
  });
};
window.done = function (n) { return window.got.length >= n && window.got.every(function (g) { return g; }); };
</script>
"""


def payloads(seed: int, largest: int) -> list[dict[str, str]]:
    """Text and binary interleaved: every byte value, empty, 1 byte, random sizes, the
    largest allowed message."""
    rng = random.Random(seed)
    blobs = [
        bytes(range(256)),
        b"",
        b"\x00",
        rng.randbytes(largest),
        rng.randbytes(rng.randrange(1, 4096)),
        bytes(range(255, -1, -1)) * 3,
        rng.randbytes(rng.randrange(4096, largest)),
    ]
    texts = ["first", "", "é\u2028%20</script>", '{"b":"AAAA"}', "x" * 1000, "last", "end"]
    items: list[dict[str, str]] = []
    for text, blob in zip(texts, blobs, strict=True):
        items.append({"t": text})
        items.append({"b": base64.b64encode(blob).decode("ascii")})
    return items


def round_trip(page: Any, url: str, transport: str, binary_type: str, seed: int) -> None:
    page.evaluate(
        "([url, transport, type]) => start(url, transport, type)", [url, transport, binary_type]
    )
    page.wait_for_function("window.opened || window.closed", timeout=15_000)
    assert page.evaluate("window.opened") == transport, page.evaluate("window.closed")
    items = payloads(seed, apps.BINARY_MAX)
    page.evaluate("items => sendAll(items)", items)
    page.wait_for_function("n => done(n)", arg=len(items), timeout=30_000)
    got = page.evaluate("window.got")
    assert len(got) == len(items)
    for sent, back in zip(items, got, strict=True):
        if "t" in sent:
            assert back == sent
        else:
            assert back == {"b": sent["b"], "as": binary_type}
    assert page.evaluate("window.closed || null") is None


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_binary_and_text_round_trip_exactly_and_in_order_as_arraybuffer(open_page, live, transport):
    page = open_page(live.url + apps.pages.add(apps.page(SCRIPT)))
    round_trip(page, live.url + "/binary", transport, "arraybuffer", seed=len(transport))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_binary_messages_arrive_as_blobs_by_default(open_page, live, transport):
    page = open_page(live.url + apps.pages.add(apps.page(SCRIPT)))
    round_trip(page, live.url + "/binary", transport, "blob", seed=7 + len(transport))
