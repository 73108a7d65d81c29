"""`triage query`: read-only SQL over the store."""

from __future__ import annotations

import json

import click

from triage.cli.options import db_option


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
    flat = frame.with_columns(
        pl.col(c).map_elements(lambda v: json.dumps(v, default=str), return_dtype=pl.String)
        for c, t in frame.schema.items()
        if isinstance(t, pl.List | pl.Struct | pl.Array)
    )
    if fmt == "json":
        click.echo(json.dumps(frame.to_dicts(), default=str, indent=2))
    elif fmt == "csv":
        click.echo(flat.write_csv(), nl=False)
    else:
        _print_table(flat)


def _print_table(frame: object) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False, header_style="bold")
    for name in frame.columns:  # type: ignore[attr-defined]
        table.add_column(name, overflow="fold")
    for row in frame.iter_rows():  # type: ignore[attr-defined]
        table.add_row(*("" if v is None else str(v) for v in row))
    Console().print(table)
    click.echo(f"{frame.height} row(s)")  # type: ignore[attr-defined]
