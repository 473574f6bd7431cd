"""One version: the package's ``__version__``, which fallback.js's header and
``FallbackSocket.version`` repeat."""

from __future__ import annotations

import os
import re

import fallback
from tests.unit.helpers import ROOT

SHIM = os.path.join(ROOT, "fallback", "static", "fallback.js")


def shim() -> str:
    with open(SHIM, encoding="utf-8") as file:
        return file.read()


def test_the_version_is_a_release_number():
    assert re.fullmatch(r"\d+\.\d+\.\d+", fallback.__version__)


def test_the_shims_header_names_the_packages_version():
    header = re.match(r"/\*! fallback\.js (\S+) \|", shim())
    assert header is not None and header.group(1) == fallback.__version__


def test_the_shims_runtime_version_is_the_packages():
    found = re.findall(r"FallbackSocket\.version = \"([^\"]*)\"", shim())
    assert found == [fallback.__version__]


CHANGELOG = os.path.join(ROOT, "CHANGELOG.md")
#: A version section's heading, Keep a Changelog style: ``## 1.2.3 - 2026-11-25``.
VERSION_HEADING = re.compile(r"^## \[?(\d+\.\d+\.\d+)\]?(?: - (\d{4}-\d{2}-\d{2}))?$", re.M)


def test_the_changelogs_newest_version_is_the_packages():
    with open(CHANGELOG, encoding="utf-8") as file:
        text = file.read()
    headings = re.findall(r"^## .+$", text, re.M)
    assert headings, "CHANGELOG.md has no sections"
    for heading in headings:
        version = VERSION_HEADING.match(heading)
        if version is None:
            # Only an "Unreleased" section may come before the newest version.
            assert heading in ("## Unreleased", "## [Unreleased]"), heading
            continue
        assert version.group(1) == fallback.__version__, (
            f"CHANGELOG.md's newest version is {version.group(1)}, "
            f"the package's {fallback.__version__}"
        )
        break
