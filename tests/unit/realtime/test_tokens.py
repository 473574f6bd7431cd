"""Signed access tokens: issued, verified, refused with their codes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

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
