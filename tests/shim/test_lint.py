"""ESLint's profiles for the shim (``tests/shim/eslint.config.js``): fallback.js parsed as
ECMAScript 3 with no global but those it feature-detects, and the Node tests beside it."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ESLINT = os.path.join(ROOT, "tests", "interop", "node_modules", ".bin", "eslint")
CONFIG = os.path.join("tests", "shim", "eslint.config.js")
SHIM = os.path.join("fallback", "static", "fallback.js")

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]


def eslint(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    if not os.path.exists(ESLINT):
        pytest.fail("eslint is missing: run `make node-deps`")
    return subprocess.run(
        [ESLINT, "--config", CONFIG, "--no-warn-ignored", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=100,
    )


def test_fallback_js_and_its_node_tests_pass_their_lint_profiles():
    result = eslint(SHIM, "tests/shim")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("source", "complaint"),
    [
        ("var x = { a: 1, };", "Parsing error"),  # trailing comma: IE 8 and older
        ("var o = {}; o.catch = 1;", "Parsing error"),  # a reserved word as a property
        ("let x = 1;", "Parsing error"),
        ('(function () { fetch("/info"); })();', "'fetch' is not defined"),
        ("(function () { navigator.sendBeacon(); })();", "'navigator' is not defined"),
        ("(function (list) { list.forEach(String); })([]);", "no-restricted-syntax"),
        ("(function () { return Object.keys({}); })();", "no-restricted-properties"),
        ("(function () { var unused = 1; })();", "'unused' is assigned a value but never used"),
        ("(function () { for (var i = 0; i < 2; i++) {} var i; })();", "no-redeclare"),
        ("(function () { g(); var g = 1; })();", "no-use-before-define"),
        ("(function (x) { if (x) { function f() {} f(); } })(1);", "no-inner-declarations"),
    ],
)
def test_the_shim_profile_refuses_what_old_browsers_cannot_run_and_real_bugs(source, complaint):
    result = eslint("--stdin", "--stdin-filename", SHIM, stdin=source)
    assert result.returncode == 1, result.stdout + result.stderr
    assert complaint in result.stdout, result.stdout
