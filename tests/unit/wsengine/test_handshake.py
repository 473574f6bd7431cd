"""`fallback.wsengine.handshake`: opening handshakes of RFC 6455, hybi-07/08 and hixie-76."""

from __future__ import annotations

import pytest

from fallback.wsengine import HandshakeError, Version, accept
from fallback.wsengine.handshake import accept_key, hixie76_challenge, hixie76_key_number

RFC_KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def hybi(version: str = "13", **extra: str) -> dict[str, str]:
    headers = {
        "Host": "server.example.com",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": RFC_KEY,
        "Sec-WebSocket-Version": version,
    }
    headers.update(extra)
    return headers


HIXIE = {
    "Host": "example.com",
    "Upgrade": "WebSocket",
    "Connection": "Upgrade",
    "Origin": "http://example.com",
    "Sec-WebSocket-Key1": "4 @1  46546xW%0l 1 5",
    "Sec-WebSocket-Key2": "12998 5 Y3 1  .P00",
}


def test_accept_key_matches_the_rfc_example():
    assert accept_key(RFC_KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize(
    ("value", "version"), [("13", Version.RFC_6455), ("8", Version.HYBI_08), ("7", Version.HYBI_07)]
)
def test_hybi_versions_are_accepted_with_the_same_response(value, version):
    handshake = accept("GET", "/chat", hybi(value))
    assert handshake.version is version
    assert handshake.hixie_keys is None
    assert handshake.response == (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
    )


def test_header_names_and_tokens_are_case_insensitive_and_lists_work():
    headers = [
        ("HOST", "h"),
        ("upgrade", "WebSocket"),
        ("CONNECTION", "keep-alive, Upgrade"),
        ("sec-websocket-key", RFC_KEY),
        ("Sec-WebSocket-Version", "13"),
    ]
    assert accept("GET", "/", headers).version is Version.RFC_6455


def test_repeated_headers_are_joined():
    headers = [
        ("Upgrade", "websocket"),
        ("Connection", "keep-alive"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", RFC_KEY),
        ("Sec-WebSocket-Version", "13"),
    ]
    assert accept("GET", "/", headers).version is Version.RFC_6455


def test_hixie76_spec_example():
    # draft-hixie-thewebsocketprotocol-76 section 1.3 (and the SockJS suite's test_haproxy).
    assert hixie76_key_number(HIXIE["Sec-WebSocket-Key1"]) == 829309203
    assert hixie76_key_number(HIXIE["Sec-WebSocket-Key2"]) == 259970620
    assert hixie76_challenge(829309203, 259970620, b"^n:ds[4U") == b"8jKS'y:G*Co,Wxa-"
    assert hixie76_challenge(829309203, 259970620, b"aaaaaaaa") == (
        b"\xca4\x00\xd8\xa5\x08G\x97,\xd5qZ\xba\xbfC{"
    )
    handshake = accept("GET", "/demo?x=1", HIXIE)
    assert handshake.version is Version.HIXIE_76
    assert handshake.hixie_keys == (829309203, 259970620)
    assert handshake.response == (
        b"HTTP/1.1 101 WebSocket Protocol Handshake\r\nUpgrade: WebSocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Origin: http://example.com\r\n"
        b"Sec-WebSocket-Location: ws://example.com/demo?x=1\r\n\r\n"
    )


def test_hixie76_secure_location_and_echoed_protocol():
    handshake = accept("GET", "/", {**HIXIE, "Sec-WebSocket-Protocol": "chat"}, secure=True)
    assert b"Sec-WebSocket-Location: wss://example.com/\r\n" in handshake.response
    assert b"Sec-WebSocket-Protocol: chat\r\n" in handshake.response


@pytest.mark.parametrize("key", ["123", "1 2 3 4 5", " " * 3, "1" * 20 + " ", "abc"])
def test_bad_hixie76_keys_are_400(key):
    with pytest.raises(HandshakeError) as error:
        accept("GET", "/", {**HIXIE, "Sec-WebSocket-Key1": key})
    assert error.value.status == 400


def test_hixie76_needs_a_host():
    headers = {k: v for k, v in HIXIE.items() if k != "Host"}
    with pytest.raises(HandshakeError, match="Host"):
        accept("GET", "/", headers)


@pytest.mark.parametrize("value", ["http://evil\r\nSet-Cookie: x=1", "http://\u0101.example"])
def test_header_injection_through_hixie76_echoes_is_refused(value):
    with pytest.raises(HandshakeError) as error:
        accept("GET", "/", {**HIXIE, "Origin": value})
    assert error.value.status == 400


@pytest.mark.parametrize(
    ("method", "headers", "status", "message"),
    [
        ("POST", hybi(), 405, ""),
        ("GET", {**hybi(), "Upgrade": "h2c"}, 400, 'Can "Upgrade" only to "WebSocket".'),
        ("GET", {k: v for k, v in hybi().items() if k != "Upgrade"}, 400, 'Can "Upgrade"'),
        ("GET", {**hybi(), "Connection": "close"}, 400, '"Connection" must be "Upgrade".'),
        ("GET", {**hybi(), "Sec-WebSocket-Key": "AAAA"}, 400, "Invalid Sec-WebSocket-Key."),
        ("GET", {**hybi(), "Sec-WebSocket-Key": "!!!!"}, 400, "Invalid Sec-WebSocket-Key."),
        (
            "GET",
            {k: v for k, v in hybi().items() if k != "Sec-WebSocket-Key"},
            400,
            "Missing Sec-WebSocket-Key.",
        ),
        ("GET", hybi("14"), 426, "Unsupported WebSocket version."),
        (
            "GET",
            {k: v for k, v in hybi().items() if k != "Sec-WebSocket-Version"},
            426,
            "Unsupported WebSocket version.",
        ),
    ],
)
def test_refusals_carry_status_and_message(method, headers, status, message):
    with pytest.raises(HandshakeError) as error:
        accept(method, "/", headers)
    assert error.value.status == status
    assert error.value.message.startswith(message)
    if status == 405:
        assert error.value.headers == {"Allow": "GET"}
    if status == 426:
        assert error.value.headers == {"Sec-WebSocket-Version": "13, 8, 7"}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (hybi("13", Origin="https://a.example"), "https://a.example"),
        (hybi("8", **{"Sec-WebSocket-Origin": "https://b.example"}), "https://b.example"),
        (hybi("7", **{"Sec-WebSocket-Origin": "https://c.example"}), "https://c.example"),
        (HIXIE, "http://example.com"),
        (hybi("13"), None),
    ],
)
def test_every_version_asks_the_origin_check_with_its_origin_header(headers, expected):
    seen: list[str | None] = []

    def allow(origin: str | None) -> bool:
        seen.append(origin)
        return True

    assert accept("GET", "/", headers, origin_allowed=allow).origin == expected
    assert seen == [expected]
    with pytest.raises(HandshakeError) as error:
        accept("GET", "/", headers, origin_allowed=lambda origin: False)
    assert (error.value.status, error.value.message) == (403, "Origin not allowed.")
