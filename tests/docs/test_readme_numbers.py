"""The benchmark tables the documentation shows are the ones `make bench` last wrote."""

from __future__ import annotations

import pytest

from tests.docs.corpus import ALL as README
from tests.support.processes import ROOT


def first_table(text: str, header: str = "| ") -> list[str]:
    """The lines of the first Markdown table whose header line starts with `header`."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return table


@pytest.mark.parametrize(
    ("results", "header"),
    [
        ("results.md", "| "),
        ("results.md", "| xhr-streaming"),
        ("results.md", "| HTTP fan-out"),
        ("results.md", "| without SockJS framing"),
        ("scale.md", "| subscribers"),
        ("scale.md", "| server | sessions"),
        ("scale.md", "| transport"),
        ("fanout.md", "| "),
        ("compression.md", "| WebSocket"),
        ("compression.md", "| idle"),
        ("compression.md", "| xhr-streaming"),
    ],
)
def test_the_readme_shows_the_measured_table(results: str, header: str) -> None:
    text = (ROOT / "bench" / "results" / results).read_text(encoding="utf-8")
    table = first_table(text, header)
    assert len(table) >= 3
    for line in table:
        assert line in README.splitlines(), (
            f"README lacks this row of bench/results/{results}: {line}"
        )
