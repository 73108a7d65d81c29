"""Printing tables for people: cells are plain text (log lines are never read as markup or emoji)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def print_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    """A table on stdout; whole rows in a pipe instead of wrapping at 80 columns."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold")
    for name in headers:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(Text("" if v is None else str(v)) for v in row))
    console = Console(emoji=False, highlight=False)
    if not console.is_terminal:
        console = Console(width=100_000, emoji=False, highlight=False)
    console.print(table)
