"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
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


def time_value(value: str | None) -> datetime | None:
    """An option's ISO time (UTC unless it has an offset) as naive UTC; a bad one is a usage error."""
    from triage.api import parse_time

    return None if value is None else _usage(parse_time, value)


def duration_value(value: str) -> timedelta:
    """An option's duration (`90s`, `10m`, `2h`, `1d`); a bad one is a usage error."""
    from triage.api import parse_duration

    return _usage(parse_duration, value)


def timezone_value(value: str) -> str:
    """An option's IANA zone name, checked; an unknown one is a usage error."""
    from triage.api import check_timezone

    _usage(check_timezone, value)
    return value


def _usage(parse: Callable[[str], Any], value: str) -> Any:
    from triage.errors import TriageError

    try:
        return parse(value)
    except TriageError as exc:
        raise click.BadParameter(str(exc)) from None
