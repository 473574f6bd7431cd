"""Links in README.md and docs/, checked offline: every relative link names a file of the
repository, and every #anchor a heading of the page it points to (docs/ pages are checked
again, with the anchors Sphinx makes, by the docs build)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.corpus import TEXTS
from tests.support.processes import ROOT

LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE = re.compile(r"^```.*?^```|`[^`\n]+`", re.S | re.M)


def anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings of a Markdown page."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", CODE.sub("", text), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        found.add(slug)
    return found


LINKS = [
    (path, target)
    for path, text in TEXTS.items()
    for target in LINK.findall(CODE.sub("", text))
    if not re.match(r"[a-z]+:", target)
]


@pytest.mark.parametrize(
    ("page", "target"),
    [(p.relative_to(ROOT), t) for p, t in LINKS],
    ids=[f"{p.relative_to(ROOT)}->{t}" for p, t in LINKS],
)
def test_every_relative_link_reaches_a_file_and_heading(page: Path, target: str) -> None:
    name, _, anchor = target.partition("#")
    path = (ROOT / page).parent / name if name else ROOT / page
    assert path.exists(), f"{page}: {target} names no file"
    if anchor and path.suffix == ".md":
        assert anchor in anchors(path.read_text(encoding="utf-8")), (
            f"{page}: no #{anchor} in {name}"
        )


def test_there_are_links_to_check():
    assert len(LINKS) > 20
