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
