"""`triage report`: the verdicts of the store as Markdown, the JSON contract, the RMA CSV or an HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from triage.cli.options import db_option, format_option

hosts_option = click.option("--host", "hosts", multiple=True, help="Only these hosts (repeatable; default: all).")
output_option = click.option("-o", "--output", metavar="FILE", help="Write to FILE (UTF-8) instead of standard output.")
fail_on_option = click.option(
    "--fail-on",
    type=click.Choice(["faulty", "suspect"]),
    default=None,
    help="Exit 1 after writing when a host is faulty (faulty) or suspect or faulty (suspect).",
)


@click.command("report")
@db_option
@hosts_option
@format_option("md", "json", "csv", "html")
@output_option
@click.option("--title", help="Heading of the html report (default: the store's name).")
@fail_on_option
def command(
    db: str, hosts: tuple[str, ...], fmt: str, output: str | None, title: str | None, fail_on: str | None
) -> None:
    """Report the verdicts: per host and device, root cause, action and evidence.

    \b
    md    fleet summary, RMA list, then each faulty and suspect host with its evidence
    json  the triage.report/v1 document (DESIGN.md "Outputs"): schema, generated_at, fleet,
          hosts [{host, status, diagnoses [{component, device, identity, root_cause, action,
          severity, confidence, summary, evidence, related}]}]; stable for scripts
    csv   one row per diagnosis with an action, RMA-ready columns (serial, UUID, PCI, ...)
    html  one self-contained page to share: summary, charts, RMA table, sortable and
          filterable fleet table, per-host sections with evidence and timelines

    Every host of the store is listed, healthy ones included. The store is opened
    read-only. With --fail-on, the exit code says whether any host is faulty (or
    suspect) after the report is written.

    \b
    Examples:
      triage report
      triage report --format json -o report.json
      triage report --format csv -o rma.csv --fail-on faulty
      triage report --format html -o report.html
      triage report --host node017 --host node018
    """
    import triage

    with triage.open(db, read_only=True) as fleet:
        text = fleet.report(fmt, list(hosts) or None, title=title)
        statuses = fleet.status_counts(list(hosts) or None) if fail_on else {}
    emit(text, output)
    check_fail_on(statuses, fail_on)


def emit(text: str, output: str | None) -> None:
    """`text` to FILE (with a note on stderr) or to standard output."""
    if output is None:
        click.echo(text, nl=False)
        return
    from triage.errors import TriageError

    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TriageError(f"{output}: cannot write: {(exc.strerror or str(exc)).lower()}") from None
    click.echo(f"wrote {output}", err=True)


def check_fail_on(statuses: dict[str, int], fail_on: str | None) -> None:
    """Exit 1 with one line on stderr when `--fail-on` applies to some host."""
    if fail_on is None:
        return
    if fail_on == "faulty":
        n, what = statuses.get("faulty", 0), "faulty"
    else:
        n, what = statuses.get("faulty", 0) + statuses.get("suspect", 0), "suspect or faulty"
    if n:
        click.echo(f"{n} host(s) {what} (--fail-on {fail_on})", err=True)
        raise SystemExit(1)
