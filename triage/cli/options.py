"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

db_option = click.option(
    "--db",
    default="triage.duckdb",
    show_default=True,
    envvar="TRIAGE_DB",
    help="DuckDB store file (env TRIAGE_DB).",
)


def format_option(*choices: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--format` with these choices, the first the default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )


limit_option = click.option("--limit", type=int, default=None, help="Print at most this many rows.")
