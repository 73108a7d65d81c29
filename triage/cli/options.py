"""Options shared by several commands."""

from __future__ import annotations

import click

db_option = click.option(
    "--db",
    default="triage.duckdb",
    show_default=True,
    envvar="TRIAGE_DB",
    help="DuckDB store file (env TRIAGE_DB).",
)
