"""Access tokens: ``fallback.tokens`` is where applications have always imported them from
(``fallback.tokens.issue(...)``); they live in `fallback.realtime.tokens`, with the channel
server that checks them."""

from .codes import TokenErrorCode
from .exceptions import TokenError
from .realtime.tokens import Claims, is_reserved, issue, verify

__all__ = ["Claims", "TokenError", "TokenErrorCode", "is_reserved", "issue", "verify"]
