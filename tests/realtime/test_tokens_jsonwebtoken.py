"""Access tokens made and checked by another language's JWT library (Node's `jsonwebtoken`).

The README promises that any backend can issue tokens with any JWT library: these tokens
are made in Node and used by a client on a live channel server, and fallback's own tokens
are checked in Node.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

import pytest

from fallback.realtime import tokens
from tests.realtime.conftest import ACME_SECRET

pytestmark = pytest.mark.timeout(60)

TOOL = os.path.join(os.path.dirname(os.path.dirname(__file__)), "interop", "jwt_tool.js")


def node(request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        ["node", TOOL],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def node_token(secret: str = ACME_SECRET, algorithm: str = "HS256", **claims: Any) -> str:
    """The README's call: jwt.sign(claims, secret, {algorithm, expiresIn})."""
    payload = {
        "sub": "ann",
        "tenant": "acme",
        "channels": "presence-*",
        "info": {"name": "Ann"},
        **claims,
    }
    options = (
        {"algorithm": algorithm} if "exp" in claims else {"algorithm": algorithm, "expiresIn": 3600}
    )
    answer = node({"sign": payload, "secret": secret, "options": options})
    return answer["token"]  # type: ignore[no-any-return]


def test_a_token_signed_in_node_admits_to_a_presence_channel(connect):
    client = connect()
    answer = client.request("subscribe", channel="presence-node", token=node_token())
    assert answer["op"] == "ok", answer
    assert answer["presence"] == [{"id": answer["member"], "user": "ann", "info": {"name": "Ann"}}]


@pytest.mark.parametrize(
    ("make_token", "code"),
    [
        (lambda: node_token(secret="another-secret-0123456789"), 4011),
        (lambda: node_token(algorithm="HS512"), 4011),
        (lambda: node_token(exp=int(time.time()) - 1), 4012),
        (lambda: node_token(tenant="globex"), 4013),
        (lambda: node_token(channels="private-*"), 4014),
    ],
    ids=["forged", "other-algorithm", "expired", "other-tenant", "outside-pattern"],
)
def test_node_tokens_are_refused_for_the_same_reasons_as_ours(connect, make_token, code):
    answer = connect().request("subscribe", channel="presence-node", token=make_token())
    assert answer["op"] == "error" and answer["code"] == code, answer


def test_our_tokens_verify_in_node():
    token = tokens.issue(
        ACME_SECRET,
        "bob",
        tenant="acme",
        channels=["presence-*", "chat-*"],
        info={"name": "Bob"},
        ttl=60,
    )
    claims = node({"verify": token, "secret": ACME_SECRET})["claims"]
    assert claims["sub"] == "bob" and claims["tenant"] == "acme"
    assert claims["channels"] == ["presence-*", "chat-*"] and claims["info"] == {"name": "Bob"}
    assert claims["exp"] > time.time()
    assert "invalid signature" in node({"verify": token, "secret": "wrong-secret-012345"})["error"]
