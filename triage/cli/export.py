"""`triage export`: the store as Hive-partitioned Parquet."""

from __future__ import annotations

import click

from triage.cli.options import db_option


@click.command("export")
@click.option("--parquet", "directory", required=True, type=click.Path(file_okay=False), help="Output folder.")
@db_option
def command(directory: str, db: str) -> None:
    """Write every table as Parquet under DIR/<table>/host=<host>/.

    DuckDB, polars, Spark and Trino read the result as is, e.g.
    `SELECT * FROM read_parquet('DIR/events/**/*.parquet', hive_partitioning = true)`.
    """
    from triage.store import Store

    with Store.open(db, read_only=True) as store:
        counts = store.export_parquet(directory)
    written = ", ".join(f"{name} {n:,}" for name, n in counts.items() if n)
    click.echo(f"exported to {directory}: {written or 'nothing (the store is empty)'}")
