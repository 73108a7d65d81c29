"""`triage fleet`: one line per host, its status and its worst diagnosis."""

from __future__ import annotations

import click

from triage.cli.options import db_option, format_option, limit_option
from triage.cli.output import print_table


@click.command("fleet")
@db_option
@click.option(
    "--status",
    "statuses",
    multiple=True,
    type=click.Choice(["faulty", "suspect", "healthy"]),
    help="Only hosts with this status (repeatable).",
)
@format_option("table", "json", "csv")
@limit_option
def command(db: str, statuses: tuple[str, ...], fmt: str, limit: int | None) -> None:
    """The fleet table: every host, faulty first, with its worst diagnosis.

    Columns: host, status, diagnoses (how many), and the device, root cause, action
    and summary of the host's worst diagnosis (strongest action, then severity).

    \b
    Examples:
      triage fleet
      triage fleet --status faulty --status suspect
      triage fleet --format csv > fleet.csv
    """
    import json

    import triage

    with triage.open(db, read_only=True) as fleet:
        frame = fleet.hosts(list(statuses) or None)
    counts = frame["status"].value_counts()
    by = dict(zip(counts["status"].to_list(), counts["count"].to_list(), strict=True))
    total = frame.height
    if limit is not None:
        frame = frame.head(limit)
    if fmt == "json":
        click.echo(json.dumps(frame.to_dicts(), indent=2, ensure_ascii=False))
        return
    if fmt == "csv":
        click.echo(frame.write_csv(), nl=False)
        return
    rows = [
        (
            r["host"],
            r["status"],
            r["diagnoses"],
            (r["device"] or "node") if r["diagnoses"] else "-",
            r["root_cause"] or "-",
            r["action"] or "-",
            r["summary"] or "-",
        )
        for r in frame.iter_rows(named=True)
    ]
    print_table(["host", "status", "diagnoses", "device", "root cause", "action", "summary"], rows)
    shown = f", first {frame.height} shown" if frame.height < total else ""
    click.echo(
        f"{total} host(s): {by.get('faulty', 0)} faulty, {by.get('suspect', 0)} suspect, "
        f"{by.get('healthy', 0)} healthy{shown}"
    )
