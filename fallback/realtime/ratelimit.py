"""Failed-login limits per client address, with exponential back-off. Sans-I/O.

What guards the backend API key, the admin page's login and the server's admin key: an
address may get a key wrong `Backoff.free_failures` times in a row; each further wrong
key locks it out for `Backoff.lockout` seconds, doubling every time up to
`Backoff.max_lockout`. While locked out, every attempt from it -- the right key included,
or the lockout would tell a guesser when it found the key -- is answered 429 with
``Retry-After``, without looking at the key. A right key after the lockout ends clears
the address's record. Other addresses are not affected.

Memory is bounded: at most `Backoff.max_addresses` addresses are remembered, the least
recently seen forgotten first, and an address quiet for `Backoff.forget_after` seconds
starts afresh. IPv6 clients are counted per /64 network (one subscriber usually has a
whole /64, so counting single addresses would not limit anyone); IPv4-mapped IPv6
addresses count as the IPv4 address.

Behind a proxy, the address is the proxy's unless Tornado's ``xheaders`` is on.
"""

from __future__ import annotations

import collections
import dataclasses
import ipaddress
import math
import time
from collections.abc import Callable

from ..exceptions import ConfigurationError

__all__ = ["Backoff", "FailureLimiter", "client_key"]


@dataclasses.dataclass(frozen=True, slots=True)
class Backoff:
    """How many wrong keys an address may try, and how long it is locked out after."""

    #: Wrong keys in a row allowed before the first lockout.
    free_failures: int = 5
    #: Seconds of the first lockout; each further failure doubles it...
    lockout: float = 1.0
    #: ... up to this many seconds.
    max_lockout: float = 300.0
    #: An address with no failure for this long is forgotten.
    forget_after: float = 900.0
    #: Most addresses remembered at once (the least recently seen go first).
    max_addresses: int = 10_000

    def __post_init__(self) -> None:
        for name in ("free_failures", "max_addresses"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigurationError(f"{name} must be a positive integer")
        for name in ("lockout", "max_lockout", "forget_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        if self.max_lockout < self.lockout:
            raise ConfigurationError("max_lockout must be at least lockout")


def client_key(address: str) -> str:
    """What an address is counted under: itself for IPv4, its /64 for IPv6."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class _Record:
    __slots__ = ("failures", "last", "locked_until")

    def __init__(self, now: float) -> None:
        self.failures = 0
        self.last = now
        self.locked_until = 0.0


class FailureLimiter:
    """Failure counts per address (see the module docstring); `clock` is monotonic."""

    def __init__(self, backoff: Backoff | None = None, clock: Callable[[], float] = time.monotonic):
        self.backoff = backoff or Backoff()
        self.clock = clock
        self._records: collections.OrderedDict[str, _Record] = collections.OrderedDict()
        #: Attempts answered 429, for statistics.
        self.refused = 0

    def __len__(self) -> int:
        return len(self._records)

    def retry_after(self, address: str) -> int:
        """Seconds (rounded up) until `address` may try again; 0 if it may now.

        A caller that gets more than 0 answers 429 and counts nothing."""
        record = self._records.get(client_key(address))
        if record is None:
            return 0
        wait = record.locked_until - self.clock()
        if wait <= 0:
            return 0
        self.refused += 1
        return max(1, math.ceil(wait))

    def failed(self, address: str) -> int:
        """`address` presented a wrong key; returns the lockout it starts (seconds, 0
        while it still has free failures)."""
        now = self.clock()
        key = client_key(address)
        record = self._records.get(key)
        if record is None or now - record.last >= self.backoff.forget_after:
            record = _Record(now)
            self._records[key] = record
        self._records.move_to_end(key)
        record.failures += 1
        record.last = now
        while len(self._records) > self.backoff.max_addresses:
            self._records.popitem(last=False)
        over = record.failures - self.backoff.free_failures
        if over <= 0:
            return 0
        lockout = min(self.backoff.max_lockout, math.ldexp(self.backoff.lockout, min(over - 1, 64)))
        record.locked_until = now + lockout
        return max(1, math.ceil(lockout))

    def succeeded(self, address: str) -> None:
        """`address` presented the right key: its failures are forgotten."""
        self._records.pop(client_key(address), None)
