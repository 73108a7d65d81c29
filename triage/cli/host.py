"""`triage host NAME`: the verdict of one host, then the timeline of what happened on it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from triage.cli.options import db_option, format_option

if TYPE_CHECKING:
    import polars as pl

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def parse_time(value: str | None) -> datetime | None:
    """An ISO time (UTC unless it has an offset; `Z` allowed) as naive UTC."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO time such as 2026-11-20T03:12:09Z") from None
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return when


def parse_duration(value: str) -> timedelta:
    """`90s`, `10m`, `2h`, `1d` or plain seconds."""
    m = _DURATION.match(value)
    if not m:
        raise click.BadParameter(f"{value!r} is not a duration such as 30s, 10m, 2h or 1d")
    return timedelta(seconds=float(m[1]) * _UNITS[(m[2] or "s").lower()])


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

    from triage.report import host_timeline, host_verdict
    from triage.report.common import iso
    from triage.store import Store

    when = parse_time(around)
    span = parse_duration(window)
    with Store.open(db, read_only=True) as store:
        verdict = host_verdict(store, name)
        timeline = host_timeline(store, name, around=when, window=span, limit=limit)
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
