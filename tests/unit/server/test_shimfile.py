"""Which browsers get the gzipped shim: the Accept-Encoding rules of RFC 9110."""

from __future__ import annotations

import pytest

from fallback.server.shimfile import accepts_gzip


@pytest.mark.parametrize(
    ("header", "gzip"),
    [
        ("gzip, deflate, br", True),
        ("GZIP", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("x-gzip", True),
        ("*", True),
        ("", False),
        ("identity", False),
        ("deflate, br", False),
        ("gzip;q=0", False),
        ("gzip; q=0.000", False),
        ("*;q=0.5, gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("*;q=0", False),
        ("gzip;q=nonsense", False),
    ],
)
def test_accept_encoding_decides_gzip(header, gzip):
    assert accepts_gzip(header) is gzip
