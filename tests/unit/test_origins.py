"""Origin allow-lists, and the server's own host."""

from __future__ import annotations

import pytest

from fallback.origins import origin_allowed

ALLOWED = ("https://good.example", "partner.example:8080", "*.trusted.example")


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("https://good.example", None, True),
        ("https://evil.example", None, False),
        ("http://partner.example:8080", None, True),
        ("http://partner.example", None, False),
        ("https://a.trusted.example", None, True),
        (None, None, True),
        # A page from the server's own host is same-site, whatever the list says.
        ("http://app.example:8000", "app.example:8000", True),
        ("http://APP.example:8000", "app.example:8000", True),
        ("http://app.example:9000", "app.example:8000", False),
        ("http://app.example", "app.example:8000", False),
        ("null", "null", False),
    ],
)
def test_origin_allowed(origin, host, allowed):
    assert origin_allowed(origin, ALLOWED, host) is allowed


def test_no_list_allows_everything():
    assert origin_allowed("https://evil.example", None, "app.example")
