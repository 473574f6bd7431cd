"""Every code in one place (`fallback.codes`): no close code is written as a number
anywhere else in the package, and the namespaces say what their ranges are."""

from __future__ import annotations

import ast
import os

import pytest

from fallback import codes
from fallback.codes import (
    APPLICATION_CODES,
    DEFAULT_REASONS,
    CloseCode,
    EnvelopeErrorCode,
    TokenErrorCode,
    WebSocketCloseCode,
    client_close_code,
    is_valid_close_code,
    websocket_close_code,
)
from tests.unit.helpers import ROOT

CODES = (
    {int(c) for c in CloseCode}
    | {int(c) for c in WebSocketCloseCode}
    | {int(c) for c in EnvelopeErrorCode}
    | {int(c) for c in TokenErrorCode}
    | {APPLICATION_CODES.start, APPLICATION_CODES.stop - 1}
)


def literal_codes(path: str) -> list[int]:
    with open(path, encoding="utf-8") as file:
        tree = ast.parse(file.read())
    named: set[int] = set()
    for node in ast.walk(tree):
        # ``seconds * 1000`` and ``n % 1000`` compute, they do not close anything; and a
        # number given a name (``MAX_CHANNELS = 1000``) says what it is by its name.
        if isinstance(node, ast.BinOp):
            named.update(id(side) for side in (node.left, node.right))
        elif isinstance(node, ast.Assign) and all(
            isinstance(t, ast.Name) and t.id.isupper() for t in node.targets
        ):
            named.add(id(node.value))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and type(node.value) is int
        and node.value in CODES
        and id(node) not in named
    ]


def test_no_code_is_written_as_a_number_outside_codes_py():
    found = []
    for folder, _, files in os.walk(os.path.join(ROOT, "fallback")):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(".py") and path != codes.__file__:
                found.extend(f"{os.path.relpath(path, ROOT)}:{n}" for n in literal_codes(path))
    assert found == []


def test_the_literal_check_finds_a_code_and_passes_a_unit(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("close(3010, 'x')\nms = seconds * 1000\nLIMIT = 1000\nsize = 4096\n")
    assert literal_codes(str(sample)) == [1]


def test_every_sockjs_code_has_its_default_reason():
    assert set(DEFAULT_REASONS) == set(CloseCode)
    assert all(DEFAULT_REASONS.values())


def test_fallbacks_own_codes_are_in_the_library_range():
    ours = [CloseCode.QUEUE_OVERFLOW, CloseCode.RESUME_EXPIRED, CloseCode.RESUME_LOST]
    assert all(3000 <= code <= 3999 for code in [*ours, CloseCode.RESUME_UNKNOWN])


def test_the_two_close_code_namespaces_differ_where_they_say():
    assert CloseCode.INTERRUPTED == WebSocketCloseCode.PROTOCOL_ERROR == 1002
    assert not is_valid_close_code(CloseCode.ANOTHER_CONNECTION)
    assert websocket_close_code(CloseCode.ANOTHER_CONNECTION) == WebSocketCloseCode.NORMAL


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        (999, False),
        (1000, True),
        (1003, True),
        (1004, False),
        (1005, False),
        (1006, False),
        (1007, True),
        (1014, True),
        (1015, False),
        (1016, False),
        (2999, False),
        (3000, True),
        (4999, True),
        (5000, False),
    ],
)
def test_close_codes_that_may_travel_in_a_close_frame(code, valid):
    assert is_valid_close_code(code) is valid


@pytest.mark.parametrize(
    ("code", "closes_with"),
    [
        (1000, 1000),
        (1001, 1001),
        (1002, 1000),
        (2999, 1000),
        (3000, 3000),
        (4999, 4999),
        (5000, 1000),
        (0, 1000),
    ],
)
def test_a_clients_goodbye_closes_with_what_the_browser_allows(code, closes_with):
    assert client_close_code(code) == closes_with


def test_token_and_envelope_codes_do_not_collide():
    assert not {int(c) for c in TokenErrorCode} & {int(c) for c in EnvelopeErrorCode}
    assert all(4010 <= code <= 4019 for code in TokenErrorCode)
