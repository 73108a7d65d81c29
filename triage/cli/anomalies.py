"""`triage anomalies`: list what the detectors flagged."""

from __future__ import annotations

import json

import click

from triage.cli.options import db_option, format_option, limit_option
from triage.cli.output import print_table

# triage.detect.anomalies.LEVELS, repeated so that `triage --help` does not import polars (a test keeps them equal).
LEVELS = ("monitor", "investigate", "drain")


@click.command("anomalies")
@db_option
@click.option("--host", "hosts", multiple=True, help="Only these hosts (repeatable).")
@click.option("--detector", "detectors", multiple=True, help="Only these detectors (repeatable).")
@click.option(
    "--level",
    type=click.Choice(LEVELS),
    default="monitor",
    show_default=True,
    help="Only anomalies at this level or above.",
)
@format_option("table", "json", "csv")
@limit_option
def command(
    db: str, hosts: tuple[str, ...], detectors: tuple[str, ...], level: str, fmt: str, limit: int | None
) -> None:
    """List the anomalies `triage analyze` stored, worst first within each host.

    Detectors: fleet_outlier (robust z per cohort), baseline (vs --baseline FILE),
    counter_rate (counters between snapshots), isolation_forest (nodes off in a
    combination of features), rare_template (kernel messages on few hosts, no rule).

    \b
    Examples:
      triage anomalies
      triage anomalies --host node017
      triage anomalies --detector rare_template --format csv
    """
    import triage

    with triage.open(db, read_only=True) as fleet:
        frame = fleet.anomalies(list(hosts) or None, detector=list(detectors) or None, level=level)
    frame = frame.select(
        "host", "device", "detector", "metric", "value", "baseline", "score", "threshold", "level", "cohort", "detail"
    )
    if limit is not None:
        frame = frame.head(limit)
    if fmt == "json":
        click.echo(json.dumps(frame.to_dicts(), indent=2, default=str))
    elif fmt == "csv":
        click.echo(frame.write_csv(), nl=False)
    else:
        rows = [
            (r["host"], r["device"] or "-", r["detector"], r["level"], r["detail"]) for r in frame.iter_rows(named=True)
        ]
        print_table(["host", "device", "detector", "level", "detail"], rows)
        click.echo(f"{frame.height} anomal{'y' if frame.height == 1 else 'ies'}")
