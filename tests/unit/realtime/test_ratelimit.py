"""Wrong keys per client address: free failures, doubling lockouts, bounded memory."""

from __future__ import annotations

import pytest

from fallback.exceptions import ConfigurationError
from fallback.realtime.ratelimit import Backoff, FailureLimiter, client_key
from tests.unit.helpers import FakeClock


def limiter(**backoff: float) -> tuple[FailureLimiter, FakeClock]:
    clock = FakeClock()
    return FailureLimiter(Backoff(**backoff), clock), clock  # type: ignore[arg-type]


def test_free_failures_then_lockouts_that_double_up_to_the_cap():
    limits, clock = limiter(free_failures=3, lockout=1.0, max_lockout=8.0)
    assert [limits.failed("10.0.0.1") for _ in range(3)] == [0, 0, 0]
    assert limits.retry_after("10.0.0.1") == 0
    lockouts = []
    for _ in range(6):
        lockouts.append(limits.failed("10.0.0.1"))
        assert limits.retry_after("10.0.0.1") == lockouts[-1]
        clock.now += lockouts[-1]  # wait it out, then fail again
        assert limits.retry_after("10.0.0.1") == 0
    assert lockouts == [1, 2, 4, 8, 8, 8]


def test_retry_after_counts_down_in_whole_seconds():
    limits, clock = limiter(free_failures=1, lockout=10.0, max_lockout=10.0)
    limits.failed("a")
    assert limits.failed("a") == 10
    clock.now += 0.5
    assert limits.retry_after("a") == 10  # 9.5 s, rounded up
    clock.now += 9.0
    assert limits.retry_after("a") == 1
    clock.now += 0.5
    assert limits.retry_after("a") == 0
    assert limits.refused == 2


def test_a_right_key_forgets_the_failures():
    limits, _ = limiter(free_failures=2)
    limits.failed("a")
    limits.failed("a")
    limits.succeeded("a")
    assert limits.failed("a") == 0  # two free failures again
    assert len(limits) == 1


def test_other_addresses_are_not_affected():
    limits, _ = limiter(free_failures=1)
    limits.failed("10.0.0.1")
    assert limits.failed("10.0.0.1") > 0
    assert limits.retry_after("10.0.0.1") > 0
    assert limits.retry_after("10.0.0.2") == 0
    assert limits.failed("10.0.0.2") == 0


def test_a_quiet_address_is_forgotten():
    limits, clock = limiter(free_failures=1, lockout=1.0, forget_after=60.0)
    limits.failed("a")
    limits.failed("a")
    clock.now += 61
    assert limits.failed("a") == 0  # a fresh start, not a doubled lockout


def test_memory_is_bounded_and_the_least_recently_seen_go_first():
    limits, _ = limiter(max_addresses=3)
    for address in ("a", "b", "c"):
        limits.failed(address)
    limits.failed("a")  # seen again: now the most recent
    limits.failed("d")  # evicts b, the least recently seen
    assert len(limits) == 3
    for _ in range(10_000):
        limits.failed("e")
    for n in range(10_000):
        limits.failed(f"10.1.{n // 256}.{n % 256}")
    assert len(limits) == 3


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("not an address", "not an address"),
    ],
)
def test_ipv6_clients_count_per_64_network(address, key):
    assert client_key(address) == key


def test_one_ipv6_subscriber_cannot_escape_by_changing_addresses():
    limits, _ = limiter(free_failures=2)
    for n in range(3):
        limits.failed(f"2001:db8:1:2::{n + 1}")
    assert limits.retry_after("2001:db8:1:2::ffff") > 0
    assert limits.retry_after("2001:db8:1:3::1") == 0


@pytest.mark.parametrize(
    "values",
    [
        {"free_failures": 0},
        {"lockout": 0},
        {"max_lockout": -1},
        {"lockout": 5, "max_lockout": 1},
        {"max_addresses": 0},
        {"forget_after": 0},
        {"free_failures": True},
    ],
)
def test_bad_limits_are_refused(values):
    with pytest.raises(ConfigurationError):
        Backoff(**values)
