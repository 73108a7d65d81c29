"""`triage host NAME`: the verdict of one host, then the timeline of what happened on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from triage.cli.options import db_option, duration_value, format_option, time_value

if TYPE_CHECKING:
    import polars as pl


@click.command("host")
@click.argument("name")
@db_option
@click.option("--around", metavar="TIME", help="Also show every line within --window of TIME (ISO, UTC by default).")
@click.option("--window", default="10m", show_default=True, help="Half-width of the --around window (30s, 10m, 2h).")
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True, help="Timeline rows at most.")
@format_option("table", "json")
def command(name: str, db: str, around: str | None, window: str, limit: int, fmt: str) -> None:
    """Verdict and timeline of one host.

    The verdict is the host's status and diagnoses (device identity, root cause,
    action, evidence). The timeline lists, oldest first: the evidence lines of its
    findings (rule id, severity), anomalies, failed test runs, boots and GPU reset
    lines. With --around, only what happened within --window of that time, plus
    every log line of the host in that window (the lines near an incident).

    \b
    Examples:
      triage host node017
      triage host node017 --around 2026-11-20T03:12:09Z --window 5m
      triage host node017 --format json
    """
    import json

    import triage
    from triage.report.common import iso

    when = time_value(around)
    span = duration_value(window)
    with triage.open(db, read_only=True) as fleet:
        verdict = fleet.verdict(name)
        timeline = fleet.timeline(name, around=when, window=span, limit=limit)
    if fmt == "json":
        rows = [{**r, "ts": iso(r["ts"])} for r in timeline.to_dicts()]
        click.echo(json.dumps({**verdict, "timeline": rows}, indent=2, ensure_ascii=False))
        return
    _print(verdict, timeline, when, span)


def _print(verdict: dict[str, Any], timeline: pl.DataFrame, around: datetime | None, window: timedelta) -> None:
    from triage.cli.output import print_table
    from triage.report.common import iso

    n = len(verdict["diagnoses"])
    click.echo(f"{verdict['host']}: {verdict['status']}, {n} diagnos{'is' if n == 1 else 'es'}")
    if n:
        rows = []
        for d in verdict["diagnoses"]:
            identity = ", ".join(f"{k} {v}" for k, v in d["identity"].items())
            confidence = "-" if d["confidence"] is None else f"{d['confidence']:g}"
            rows.append(
                (d["device"] or "node", d["component"], d["root_cause"], d["action"], d["severity"], confidence,
                 identity or "-", d["summary"])
            )  # fmt: skip
        headers = ["device", "component", "root cause", "action", "severity", "confidence", "identity", "summary"]
        print_table(headers, rows)
    where = f" within {window} of {iso(around)}" if around is not None else ""
    click.echo(f"timeline{where}: {timeline.height} row(s)")
    if timeline.height:
        print_table(
            ["time", "kind", "source", "severity", "device", "where", "text"],
            [
                (iso(r["ts"]) or "-", r["kind"], r["source"], r["severity"] or "-", r["device"] or "-",
                 f"{r['file']}:{r['line_no']}" if r["file"] else "-", r["text"])
                for r in timeline.iter_rows(named=True)
            ],
        )  # fmt: skip
