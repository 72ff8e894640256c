"""Numbers and tables as the lab prints them (console lines, progress lines, reports, the benchmark's tables), in
one place, so a value reads the same wherever it is shown."""

from __future__ import annotations

from collections.abc import Sequence


def significant(value: float | None, digits: int = 4) -> str:
    """`value` with `digits` significant digits (0.01991 rather than 0.019911613315343857); `nan` for None."""
    return "nan" if value is None else f"{value:.{digits}g}"


def duration(seconds: float) -> str:
    """`40 s`, `3 min`, `1.5 h`: an estimate's precision."""
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table of cells already written as text (pandas' to_markdown needs `tabulate`;
    this needs nothing)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def aligned(rows: Sequence[Sequence[str]]) -> list[str]:
    """Plain-text rows with their columns left-aligned two spaces apart, trailing spaces trimmed."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
