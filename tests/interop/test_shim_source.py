"""fallback.js as a file: old engines parse it, it stays small, the README says how small."""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
from typing import Any

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHIM = os.path.join(ROOT, "fallback", "static", "fallback.js")
#: The transports, negotiation and drop-in mode came to 14.1 KB (the 15 KB goal of the
#: shim issue); resume and the channel API brought it to 20.8 KB; the resume fixes,
#: numbered resume attempts, send deadlines and fetch-streamed receivers to 22.0 KB; the split
#: into parts (issue 17) to 22.2 KB, and waiting for the page's load event for
#: the script and frame receivers to 22.3 KB (22,327 bytes); channel positions and recovery
#: from history (issue 21) and FallbackSocket.usable (issue 19) to 23.6 KB; binary messages
#: (issue 22, allowed 2 KB over the 22.3 KB it started from: +1.6 KB) to 25.3 KB; telling a
#: failed JSONP send from one that arrived (issue 14: the answer read or its signal, not the
#: frame's load alone, and giving up a post that never ends) to 25.8 KB (25,810 bytes). This
#: bound keeps it there.
SIZE_LIMIT = 25_900

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]


@pytest.fixture(scope="module")
def measured() -> dict[str, Any]:
    if not os.path.isdir(os.path.join(HERE, "node_modules", "terser")):
        pytest.fail("npm packages missing: run `make node-deps`")
    result = subprocess.run(
        ["node", "shim_size.js", SHIM], cwd=HERE, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_fallback_js_parses_as_ecmascript_3(measured):
    # No let/const/arrows/classes, no trailing commas, no reserved words as property
    # names: what IE 6-8 choke on.
    assert measured["es3"] is None


def test_fallback_js_minifies_under_its_size_bound(measured):
    assert measured["minified"] < SIZE_LIMIT


def test_readme_reports_the_current_minified_size(measured):
    with open(os.path.join(ROOT, "docs", "guides", "shim.md"), encoding="utf-8") as readme:
        match = re.search(
            r"([0-9.]+) KB\s+minified \(terser\),\s+([0-9.]+) KB\s+gzipped", readme.read()
        )
    assert match, "README: state the size as '<n> KB minified (terser), <m> KB gzipped'"
    minified, gzipped = float(match.group(1)), float(match.group(2))
    assert abs(minified - measured["minified"] / 1000) <= 0.3
    assert abs(gzipped - measured["gzipped"] / 1000) <= 0.3


def test_readme_reports_the_size_the_server_sends():
    with open(SHIM, "rb") as file:
        served = len(gzip.compress(file.read(), 9, mtime=0)) / 1000
    with open(os.path.join(ROOT, "docs", "guides", "shim.md"), encoding="utf-8") as readme:
        match = re.search(r"gzipped to ([0-9.]+) KB for browsers", readme.read())
    assert match, "README: state what <prefix>/fallback.js weighs gzipped"
    assert abs(float(match.group(1)) - served) <= 0.3


def test_no_modern_runtime_api_without_a_guard():
    """Parsing is not enough: calls that old browsers lack must not appear unguarded."""
    with open(SHIM, encoding="utf-8") as file:
        source = re.sub(r"//.*|/\*.*?\*/", "", file.read(), flags=re.S)
    for pattern in (
        r"\.forEach\(",
        r"\.map\(",
        r"\.filter\(",
        r"\.some\(",
        r"\.every\(",
        r"Object\.keys",
        r"Date\.now",
        r"\.trim\(\)",
        r"Array\.isArray",
        r"\bPromise\b",
        r"\bfetch\(",
        r"\.bind\(",
        r"Object\.create",
        r"Object\.defineProperty",
    ):
        assert not re.search(pattern, source), pattern
