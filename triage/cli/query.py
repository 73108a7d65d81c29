"""`triage query`: read-only SQL over the store."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from triage.cli.options import db_option

if TYPE_CHECKING:
    import polars as pl


@click.command("query")
@click.argument("sql")
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option("--limit", type=int, default=None, help="Print at most this many rows.")
def command(sql: str, db: str, fmt: str, limit: int | None) -> None:
    """Run read-only SQL (DuckDB dialect) against the store.

    Tables: files, events, measurements, test_runs, assets, findings, anomalies,
    diagnoses. All times are UTC.

    \b
    Examples:
      triage query "SELECT host, count(*) FROM events GROUP BY host"
      triage query "SELECT * FROM files WHERE status = 'error'" --format csv
    """
    import polars as pl

    from triage.store import Store

    with Store.open(db, read_only=True) as store:
        frame = store.query(sql)
    if limit is not None:
        frame = frame.head(limit)
    nested = [c for c, t in frame.schema.items() if isinstance(t, pl.List | pl.Struct | pl.Array)]
    flat = frame.with_columns(
        pl.Series(c, [None if v is None else json.dumps(v, default=str) for v in frame[c].to_list()], pl.String)
        for c in nested
    )
    if fmt == "json":
        click.echo(json.dumps(frame.to_dicts(), default=str, indent=2))
    elif fmt == "csv":
        click.echo(flat.write_csv(), nl=False)
    else:
        _print_table(flat)


def _print_table(frame: pl.DataFrame) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(header_style="bold")
    for name in frame.columns:
        table.add_column(name, overflow="fold")
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    console = Console()
    if not console.is_terminal:  # in a pipe, print rows whole instead of wrapping at 80 columns
        console = Console(width=100_000)
    console.print(table)
    click.echo(f"{frame.height} row(s)")
