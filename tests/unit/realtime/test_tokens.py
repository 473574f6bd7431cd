"""Signed access tokens: issued, verified, refused with their codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fallback.codes import TokenErrorCode
from fallback.exceptions import TokenError
from fallback.realtime import tokens

SECRET = "s3cret"
NOW = 1_800_000_000.0


def make(**overrides):
    args = {
        "tenant": "acme",
        "channels": "presence-*",
        "info": {"name": "Ann"},
        "ttl": 60,
        "now": NOW,
    }
    args.update(overrides)
    return tokens.issue(SECRET, "42", **args)


def refused(token, **kwargs) -> TokenErrorCode:
    with pytest.raises(TokenError) as raised:
        tokens.verify(
            kwargs.pop("secret", SECRET),
            token,
            tenant=kwargs.pop("tenant", "acme"),
            now=kwargs.pop("now", NOW + 1),
        )
    return raised.value.code


def test_a_valid_token_yields_its_claims():
    claims = tokens.verify(SECRET, make(), tenant="acme", now=NOW + 1)
    assert claims.user_id == "42" and claims.info == {"name": "Ann"}
    assert claims.allows("presence-room") and not claims.allows("private-room")


def test_list_of_patterns():
    claims = tokens.verify(SECRET, make(channels=["a-*", "b"]), tenant="acme", now=NOW)
    assert claims.allows("a-1") and claims.allows("b") and not claims.allows("bb")


def test_token_is_standard_hs256_jwt():
    header, body, signature = make().split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    assert json.loads(base64.urlsafe_b64decode(pad(header))) == {"alg": "HS256", "typ": "JWT"}
    expected = hmac.new(SECRET.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(pad(signature)) == expected


@pytest.mark.parametrize(
    ("token_kwargs", "verify_kwargs", "code"),
    [
        ({}, {"now": NOW + 61}, TokenErrorCode.EXPIRED),
        ({}, {"secret": "other"}, TokenErrorCode.INVALID),
        ({}, {"tenant": "globex"}, TokenErrorCode.WRONG_TENANT),
        ({"tenant": "globex"}, {}, TokenErrorCode.WRONG_TENANT),
    ],
)
def test_refusals_carry_their_code(token_kwargs, verify_kwargs, code):
    assert refused(make(**token_kwargs), **verify_kwargs) is code


@pytest.mark.parametrize("token", ["", None])
def test_missing_token_is_required(token):
    assert refused(token) is TokenErrorCode.REQUIRED


def test_tampered_payload_is_invalid():
    header, body, signature = make().split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["channels"] = ["*"]
    forged_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert refused(f"{header}.{forged_body}.{signature}") is TokenErrorCode.INVALID


def test_alg_none_is_refused():
    header = base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
    body = make().split(".")[1]
    assert refused(f"{header}.{body}.") is TokenErrorCode.INVALID


@given(st.text(max_size=300))
def test_garbage_is_refused_as_invalid_never_crashes(garbage):
    try:
        tokens.verify(SECRET, garbage, tenant="acme", now=NOW)
    except TokenError as error:
        assert error.code in (TokenErrorCode.INVALID, TokenErrorCode.REQUIRED)
    else:  # pragma: no cover - a random string will not carry a valid HMAC
        raise AssertionError("garbage accepted")


def test_no_pattern_reaches_a_reserved_channel_only_its_exact_name():
    from fallback.realtime.tokens import Claims, is_reserved

    assert is_reserved("$fallback-admin") and not is_reserved("fallback-admin")
    for pattern in ("*", "$*", "?fallback-admin", "[$]fallback-admin", "$fallback-*", "**"):
        claims = Claims("u", {}, (pattern,), "acme", 0.0)
        assert not claims.allows("$fallback-admin"), pattern
    assert Claims("u", {}, ("*",), "acme", 0.0).allows("private-anything")
    assert Claims("u", {}, ("$fallback-admin",), "acme", 0.0).allows("$fallback-admin")


# -- every refusal, by code and reason ----------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: object = None, payload: object = None, secret: str = SECRET) -> str:
    """A token signed with `secret` whose header and payload are what the test says:
    objects are JSON-encoded, bytes taken as they are."""
    if header is None:
        header = {"alg": "HS256", "typ": "JWT"}
    if payload is None:
        payload = {"sub": "42", "tenant": "acme", "exp": NOW + 60, "channels": ["a-*"]}
    parts = [
        b64(part if isinstance(part, bytes) else json.dumps(part).encode())
        for part in (header, payload)
    ]
    signing_input = ".".join(parts)
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def refusal(token: object, now: float = NOW + 1) -> tuple[TokenErrorCode, str]:
    with pytest.raises(TokenError) as raised:
        tokens.verify(SECRET, token, tenant="acme", now=now)
    return raised.value.code, raised.value.message


INVALID = TokenErrorCode.INVALID
MALFORMED = (INVALID, "malformed token")
CLAIMS = (INVALID, "malformed token claims")


def claims(**changes: object) -> dict:
    payload = {"sub": "42", "tenant": "acme", "exp": NOW + 60, "channels": ["a-*"]}
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not ...}


@pytest.mark.parametrize(
    ("token", "answer"),
    [
        # the token's shape
        ("", (TokenErrorCode.REQUIRED, "this channel needs an access token")),
        (None, (TokenErrorCode.REQUIRED, "this channel needs an access token")),
        (5, MALFORMED),
        (b"a.b.c", MALFORMED),
        ("a.b", MALFORMED),
        ("a.b.c.d", MALFORMED),
        # the header
        ("e30.e30", MALFORMED),
        (forge(header=b"not json"), MALFORMED),
        (forge(header=b"\xff\xfe"), MALFORMED),
        ("YQ.e30.x", MALFORMED),  # "a": not JSON
        ("Y.e30.x", MALFORMED),  # not base64: one character too many
        (forge(header=[1]), (INVALID, "token must be signed with HS256")),
        (forge(header={}), (INVALID, "token must be signed with HS256")),
        (forge(header={"alg": "none"}), (INVALID, "token must be signed with HS256")),
        (forge(header={"alg": "HS512"}), (INVALID, "token must be signed with HS256")),
        (forge(header={"alg": "hs256"}), (INVALID, "token must be signed with HS256")),
        # the signature
        (forge(secret="other"), (INVALID, "token signature does not match")),
        (forge()[:-1], (INVALID, "token signature does not match")),
        (forge().rpartition(".")[0] + ".é", (INVALID, "token signature does not match")),
        # the payload
        (forge(payload=b"not json"), MALFORMED),
        (forge(payload=b"\xff"), MALFORMED),
        (forge(payload=[1, 2]), MALFORMED),
        (forge(payload="acme"), MALFORMED),
        (
            forge(payload=claims(tenant="globex")),
            (TokenErrorCode.WRONG_TENANT, "token is for another tenant"),
        ),
        (
            forge(payload=claims(tenant=...)),
            (TokenErrorCode.WRONG_TENANT, "token is for another tenant"),
        ),
        (forge(payload=claims(exp=...)), (INVALID, "token has no expiry")),
        (forge(payload=claims(exp=str(NOW + 60))), (INVALID, "token has no expiry")),
        (forge(payload=claims(exp=True)), (INVALID, "token has no expiry")),
        (forge(payload=claims(exp=None)), (INVALID, "token has no expiry")),
        (forge(payload=claims(exp=NOW + 1)), (TokenErrorCode.EXPIRED, "token expired")),
        (forge(payload=claims(exp=NOW)), (TokenErrorCode.EXPIRED, "token expired")),
        # the claims' types
        (forge(payload=claims(sub=42)), CLAIMS),
        (forge(payload=claims(sub=...)), CLAIMS),
        (forge(payload=claims(sub=None)), CLAIMS),
        (forge(payload=claims(info=["Ann"])), CLAIMS),
        (forge(payload=claims(info="Ann")), CLAIMS),
        (forge(payload=claims(channels={"a": 1})), CLAIMS),
        (forge(payload=claims(channels=5)), CLAIMS),
        (forge(payload=claims(channels=["a-*", 5])), CLAIMS),
        (forge(payload=claims(channels=[None])), CLAIMS),
    ],
)
def test_every_refusal_has_its_code_and_reason(token, answer):
    assert refusal(token) == answer


@pytest.mark.parametrize(
    ("payload", "user_id", "info", "channels", "expires"),
    [
        (claims(), "42", {}, ("a-*",), NOW + 60),
        (claims(channels="b-*"), "42", {}, ("b-*",), NOW + 60),
        (claims(channels=...), "42", {}, (), NOW + 60),
        (claims(channels=[]), "42", {}, (), NOW + 60),
        (claims(info={"name": "Ann"}, sub=""), "", {"name": "Ann"}, ("a-*",), NOW + 60),
        (claims(exp=NOW + 1.5), "42", {}, ("a-*",), NOW + 1.5),
        (claims(exp=int(NOW) + 2), "42", {}, ("a-*",), NOW + 2),
    ],
)
def test_accepted_claims_are_read_as_given(payload, user_id, info, channels, expires):
    got = tokens.verify(SECRET, forge(payload=payload), tenant="acme", now=NOW + 1)
    assert (got.user_id, dict(got.info), got.channels, got.tenant) == (
        user_id,
        info,
        channels,
        "acme",
    )
    assert got.expires == expires and isinstance(got.expires, float)


def test_a_token_of_exactly_8192_characters_is_read_and_one_more_is_not():
    def sized(length: int) -> str:
        """A valid token of `length` characters (padded in the claims and the header:
        base64 never makes a part 4n + 1 characters long)."""
        for kid in range(4):
            header = {"alg": "HS256", "typ": "JWT", "kid": "k" * kid}
            bare = len(forge(header, claims(info={"pad": ""})))
            for pad in range(max(0, (length - bare) * 3 // 4 - 4), (length - bare) * 3 // 4 + 4):
                token = forge(header, claims(info={"pad": "x" * pad}))
                if len(token) == length:
                    return token
        raise AssertionError(f"no token of {length} characters")

    assert tokens.verify(SECRET, sized(8192), tenant="acme", now=NOW).info["pad"]
    assert refusal(sized(8193)) == MALFORMED


def test_verify_without_a_clock_reads_the_time():
    import time

    fresh = forge(payload=claims(exp=time.time() + 60))
    assert tokens.verify(SECRET, fresh, tenant="acme").user_id == "42"
    stale = forge(payload=claims(exp=time.time() - 1))
    with pytest.raises(TokenError) as raised:
        tokens.verify(SECRET, stale, tenant="acme")
    assert raised.value.code is TokenErrorCode.EXPIRED


# -- issuing --------------------------------------------------------------------------------


def body_of(token: str) -> bytes:
    body = token.split(".")[1]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def test_issue_writes_compact_claims_with_their_times():
    token = tokens.issue(SECRET, 42, tenant="acme", now=NOW + 0.9)
    payload = json.loads(body_of(token))
    assert body_of(token) == json.dumps(payload, separators=(",", ":")).encode()
    assert payload == {
        "sub": "42",
        "info": {},
        "channels": ["*"],  # every channel by default (but the server's own)
        "tenant": "acme",
        "iat": int(NOW),
        "exp": int(NOW) + 3600,  # an hour by default
    }


def test_issued_tokens_are_base64url_without_padding():
    for n in range(6):
        token = tokens.issue(SECRET, "u" * n, tenant="t" * n, info={"k": "v" * n}, now=NOW)
        assert "=" not in token and re.fullmatch(
            r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", token
        )
    assert tokens._b64encode(b"\x00\x00\x17") == "AAAX"  # an X at the end stays


def test_issue_without_a_clock_reads_the_time():
    import time

    before = int(time.time())
    payload = json.loads(body_of(tokens.issue(SECRET, "42", tenant="acme", ttl=10)))
    assert before <= payload["iat"] <= int(time.time()) and payload["exp"] == payload["iat"] + 10


def test_a_secret_may_be_bytes_or_text_but_not_empty():
    token = tokens.issue(SECRET.encode(), "42", tenant="acme", now=NOW)
    assert tokens.verify(SECRET, token, tenant="acme", now=NOW).user_id == "42"
    assert tokens.verify(SECRET.encode(), token, tenant="acme", now=NOW).user_id == "42"
    for empty in ("", b""):
        with pytest.raises(ValueError, match=r"^a token needs the tenant's secret$"):
            tokens.issue(empty, "42", tenant="acme")
