"""`triage query`: read-only SQL over the store."""

from __future__ import annotations

import json

import click

from triage.cli.options import db_option, format_option, limit_option
from triage.cli.output import print_table


@click.command("query")
@click.argument("sql")
@db_option
@format_option("table", "json", "csv")
@limit_option
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

    import triage

    with triage.open(db, read_only=True) as fleet:
        frame = fleet.sql(sql)
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
        print_table(flat.columns, flat.iter_rows())
        click.echo(f"{flat.height} row(s)")
