"""The benchmark tables the README shows are the ones `make bench` last wrote."""

from __future__ import annotations

import pytest

from tests.support.processes import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


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
    [("results.md", "| "), ("results.md", "| xhr-streaming"), ("fanout.md", "| ")],
)
def test_the_readme_shows_the_measured_table(results: str, header: str) -> None:
    text = (ROOT / "bench" / "results" / results).read_text(encoding="utf-8")
    table = first_table(text, header)
    assert len(table) >= 3
    for line in table:
        assert line in README.splitlines(), f"README lacks this row of bench/results/{results}: {line}"
