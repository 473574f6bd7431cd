"""The documentation as the tests read it: README.md and every page under docs/."""

from __future__ import annotations

import re

from tests.support.processes import ROOT

FILES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
FILES = [path for path in FILES if "_build" not in path.parts]
TEXTS = {path: path.read_text(encoding="utf-8") for path in FILES}
#: Everything, one file after another (for "does the documentation say this?").
ALL = "\n".join(TEXTS.values())


def block(after: str, language: str) -> str:
    """The first ```language block that follows the text `after` in the file holding it."""
    for text in TEXTS.values():
        start = text.find(after)
        if start < 0:
            continue
        match = re.compile(rf"^```{language}\n(.*?)^```", re.S | re.M).search(text, start)
        assert match is not None, f"no {language} block after {after!r}"
        return match.group(1)
    raise AssertionError(f"the documentation does not say {after!r}")
