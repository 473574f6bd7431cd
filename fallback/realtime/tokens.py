"""Access tokens for private and presence channels: stateless, signed by the application.

A token is a JSON Web Token (RFC 7519) signed with HMAC-SHA256 (``alg: HS256``) using the
tenant's secret, so any process -- and any backend language with a JWT library -- can
issue and verify it without shared state. Claims:

============  =========================================================================
``sub``       the user id (string), shown to other members of presence channels
``info``      user info (JSON object), shown with it
``channels``  the channels the holder may subscribe to: a glob (``private-team-*``) or a
              list of globs; ``*`` matches any characters. Channels whose names start
              with ``$`` are the server's own feeds (the admin page's): no glob ever
              matches one, only an entry that is exactly its name
``tenant``    the tenant (application) the token is for
``exp``       expiry, seconds since the epoch (UTC)
``iat``       issued at (optional)
============  =========================================================================

Issuing one without Python::

    header  = base64url('{"alg":"HS256","typ":"JWT"}')
    payload = base64url('{"sub":"42","info":{"name":"Ann"},"channels":"presence-*",
                          "tenant":"acme","exp":1767225600}')
    token   = header + "." + payload + "." + base64url(HMAC_SHA256(secret, header + "." + payload))

(base64url without ``=`` padding.) Of the rest of fallback, this module uses only its
codes and exceptions.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import fnmatch
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from ..codes import TokenErrorCode
from ..exceptions import TokenError

#: Channel names that start with this belong to the server (`is_reserved`).
RESERVED_PREFIX = "$"


def is_reserved(channel: str) -> bool:
    """Whether `channel` is in the server's own namespace (``$fallback-admin``...)."""
    return channel.startswith(RESERVED_PREFIX)


@dataclasses.dataclass(frozen=True, slots=True)
class Claims:
    user_id: str
    info: Mapping[str, Any]
    channels: tuple[str, ...]
    tenant: str
    expires: float

    def allows(self, channel: str) -> bool:
        """Whether the token lets its holder subscribe to `channel`.

        A reserved channel (`is_reserved`) is never reached by a pattern -- ``*``,
        ``private-*``, ``$*`` or ``[$]...`` -- only by its exact name, which only the
        server's own tokens carry (the admin page's).
        """
        if is_reserved(channel):
            return channel in self.channels
        return any(fnmatch.fnmatchcase(channel, pattern) for pattern in self.channels)


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    padded = text + "=" * (-len(text) % 4)
    return base64.urlsafe_b64decode(padded.encode("ascii"))


_HEADER = _b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())


def _sign(secret: str | bytes, signing_input: str) -> str:
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    return _b64encode(hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest())


def issue(
    secret: str | bytes,
    user_id: str,
    *,
    tenant: str,
    channels: str | Sequence[str] = "*",
    info: Mapping[str, Any] | None = None,
    ttl: float = 3600,
    now: float | None = None,
) -> str:
    """A token for `user_id` on `tenant`, valid for `ttl` seconds, for `channels`."""
    if not secret:
        raise ValueError("a token needs the tenant's secret")
    issued = time.time() if now is None else now
    patterns = [channels] if isinstance(channels, str) else list(channels)
    payload = {
        "sub": str(user_id),
        "info": dict(info or {}),
        "channels": patterns,
        "tenant": tenant,
        "iat": int(issued),
        "exp": int(issued + ttl),
    }
    body = _b64encode(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
    signing_input = _HEADER + "." + body
    return signing_input + "." + _sign(secret, signing_input)


def verify(secret: str | bytes, token: object, *, tenant: str, now: float | None = None) -> Claims:
    """The claims of a valid `token`; `TokenError` with the reason otherwise."""
    if not token:
        raise TokenError(TokenErrorCode.REQUIRED, "this channel needs an access token")
    if not isinstance(token, str) or len(token) > 8192 or token.count(".") != 2:
        raise TokenError(TokenErrorCode.INVALID, "malformed token")
    header_text, body_text, signature = token.split(".")
    try:
        header = json.loads(_b64decode(header_text))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise TokenError(TokenErrorCode.INVALID, "malformed token") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenError(TokenErrorCode.INVALID, "token must be signed with HS256")
    expected = _sign(secret, header_text + "." + body_text)
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("ascii", "replace")):
        raise TokenError(TokenErrorCode.INVALID, "token signature does not match")
    try:
        payload = json.loads(_b64decode(body_text))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise TokenError(TokenErrorCode.INVALID, "malformed token") from None
    if not isinstance(payload, dict):
        raise TokenError(TokenErrorCode.INVALID, "malformed token")
    if payload.get("tenant") != tenant:
        raise TokenError(TokenErrorCode.WRONG_TENANT, "token is for another tenant")
    expires = payload.get("exp")
    if not isinstance(expires, (int, float)) or isinstance(expires, bool):
        raise TokenError(TokenErrorCode.INVALID, "token has no expiry")
    if (time.time() if now is None else now) >= expires:
        raise TokenError(TokenErrorCode.EXPIRED, "token expired")
    user_id = payload.get("sub")
    info = payload.get("info", {})
    channels = payload.get("channels", [])
    if isinstance(channels, str):
        channels = [channels]
    if (
        not isinstance(user_id, str)
        or not isinstance(info, dict)
        or not isinstance(channels, list)
        or not all(isinstance(p, str) for p in channels)
    ):
        raise TokenError(TokenErrorCode.INVALID, "malformed token claims")
    return Claims(user_id, info, tuple(channels), tenant, float(expires))
