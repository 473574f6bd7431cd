"""Log lines a client cannot forge: every argument of every fallback log record escaped."""

from __future__ import annotations

import logging
import os
import re

import pytest

from fallback.core.logsafe import escape, get_logger
from tests.unit.helpers import ROOT

PACKAGE = os.path.join(ROOT, "fallback")


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ("plain-id_123", "plain-id_123"),
        ("a\r\nCRITICAL forged", "a\\r\\nCRITICAL forged"),
        ("tab\there", "tab\\there"),
        ("nul\x00", "nul\\x00"),
        ("esc\x1b[31m", "esc\\x1b[31m"),
        ("del\x7f", "del\\x7f"),
        ("nel\x85", "nel\\x85"),
        ("line\u2028sep\u2029", "line\\u2028sep\\u2029"),
        ("rtl\u202eoverride", "rtl\\u202eoverride"),
        ("back\\slash", "back\\\\slash"),
        # an escaped-looking input stays distinguishable from a real line break
        ("fake\\nbreak", "fake\\\\nbreak"),
        ("unicode é 中", "unicode é 中"),
    ],
)
def test_escape_keeps_a_line_one_line(raw, written):
    assert escape(raw) == written
    assert "\n" not in escape(raw) and "\r" not in escape(raw)


def records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records]


def test_string_and_object_arguments_are_escaped(caplog):
    class Shady:
        def __str__(self) -> str:
            return "x\nCRITICAL str"

        def __repr__(self) -> str:
            return "<x\r\nCRITICAL repr>"

    log = get_logger("fallback.test")
    with caplog.at_level(logging.DEBUG, logger="fallback.test"):
        log.warning("session %s: %r, %s, %r", "id\r\nCRITICAL x", "r\n", Shady(), Shady())
        log.info("%(who)s left", {"who": "a\nb"})
    assert records(caplog) == [
        "session id\\r\\nCRITICAL x: 'r\\n', x\\nCRITICAL str, <x\\r\\nCRITICAL repr>",
        "a\\nb left",
    ]


def test_numbers_keep_their_formats_and_the_record_its_caller(caplog):
    log = get_logger("fallback.test")
    with caplog.at_level(logging.INFO, logger="fallback.test"):
        log.info("%d sessions, %.1f s, %s, %s", 3, 2.25, True, None)
    (record,) = caplog.records
    assert record.getMessage() == "3 sessions, 2.2 s, True, None"
    assert record.pathname == __file__ and record.funcName.startswith("test_numbers")


def test_disabled_levels_cost_no_formatting(caplog):
    class Exploding:
        def __str__(self) -> str:
            raise AssertionError("formatted")

    log = get_logger("fallback.test")
    with caplog.at_level(logging.WARNING, logger="fallback.test"):
        log.debug("%s", Exploding())
    assert caplog.records == []


def test_every_module_logs_through_the_escaping_logger():
    bare = re.compile(r"\blogging\.getLogger\(")
    offenders = []
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            path = os.path.join(folder, name)
            if not name.endswith(".py") or path.endswith(
                os.path.join("fallback", "core", "logsafe.py")
            ):
                continue
            with open(path, encoding="utf-8") as file:
                for number, line in enumerate(file, 1):
                    if bare.search(line) and not line.lstrip().startswith("#"):
                        offenders.append(f"{os.path.relpath(path, PACKAGE)}:{number}")
    assert offenders == []
