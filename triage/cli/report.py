"""`triage report`: the verdicts of the store as Markdown, the JSON contract or the RMA CSV."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from triage.cli.options import db_option, format_option

if TYPE_CHECKING:
    from triage.report import ReportData
    from triage.store import Store

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
@format_option("md", "json", "csv")
@output_option
@fail_on_option
def command(db: str, hosts: tuple[str, ...], fmt: str, output: str | None, fail_on: str | None) -> None:
    """Report the verdicts: per host and device, root cause, action and evidence.

    \b
    md    fleet summary, RMA list, then each faulty and suspect host with its evidence
    json  the triage.report/v1 document (DESIGN.md "Outputs"): schema, generated_at, fleet,
          hosts [{host, status, diagnoses [{component, device, identity, root_cause, action,
          severity, confidence, summary, evidence, related}]}]; stable for scripts
    csv   one row per diagnosis with an action, RMA-ready columns (serial, UUID, PCI, ...)

    Every host of the store is listed, healthy ones included. The store is opened
    read-only. With --fail-on, the exit code says whether any host is faulty (or
    suspect) after the report is written.

    \b
    Examples:
      triage report
      triage report --format json -o report.json
      triage report --format csv -o rma.csv --fail-on faulty
      triage report --host node017 --host node018
    """
    from triage.store import Store

    with Store.open(db, read_only=True) as store:
        text, statuses = render(store, list(hosts) or None, fmt)
    emit(text, output)
    check_fail_on(statuses, fail_on)


def render(store: Store, hosts: list[str] | None, fmt: str) -> tuple[str, dict[str, int]]:
    """The report of `hosts` in `fmt` (md, json or csv) and the number of hosts per status."""
    import json

    from triage.report import document, render_csv, render_markdown, report_data

    data: ReportData = report_data(store, hosts, with_evidence=fmt != "csv")
    counts = data.hosts["status"].value_counts()
    statuses = dict(zip(counts["status"].to_list(), counts["count"].to_list(), strict=True))
    if fmt == "csv":
        return render_csv(store, hosts, data), statuses
    doc = document(data)
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n", statuses
    return render_markdown(doc), statuses


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
