"""The shim's own unit tests (``tests/shim/*.test.js``): the shipped fallback.js run by
Node in a fake browser whose clock the tests move (``tests/shim/browser.js``)."""

from __future__ import annotations

import glob
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FILES = sorted(os.path.basename(f) for f in glob.glob(os.path.join(HERE, "*.test.js")))


@pytest.mark.parametrize("name", FILES)
def test_the_shim_unit_tests_pass_in_node(name):
    result = subprocess.run(
        ["node", "--test", "--test-reporter=tap", os.path.join(HERE, name)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=HERE,
    )
    failures = [line for line in result.stdout.splitlines() if line.startswith("not ok")]
    assert result.returncode == 0, (
        "\n".join(failures) + "\n" + result.stdout[-4000:] + result.stderr
    )
    assert "# pass 0" not in result.stdout
