"""`triage scan`: the on-call path, ingest + rules + detectors + diagnosis + report in one go."""

from __future__ import annotations

import sys

import click

from triage.cli.options import format_option
from triage.cli.report import check_fail_on, emit, fail_on_option, output_option
from triage.cli.rules import rules_option


@click.command("scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--db",
    default=":memory:",
    show_default=True,
    help="Keep the store in this DuckDB file (default: in memory, gone when the scan ends).",
)
@click.option("--host", help="Host name for every file (default: see below).")
@click.option("--baseline", "baseline_file", metavar="FILE", help="Also flag values worse than this baseline.")
@rules_option
@format_option("md", "json", "csv", "html")
@output_option
@fail_on_option
def command(
    paths: tuple[str, ...],
    db: str,
    host: str | None,
    baseline_file: str | None,
    rules_dir: str | None,
    fmt: str,
    output: str | None,
    fail_on: str | None,
) -> None:
    """Scan a node bundle (or a few): ingest, rules, detectors, diagnosis and report.

    PATHS are files, folders or archives, as for `triage ingest`. Everything runs in
    memory unless --db is given; the report covers the hosts of PATHS only. Files that
    cannot be read are named on stderr (one line each) and the scan goes on.

    \b
    Hosts: --host wins. A single folder holding files at its top level is one node's
    bundle, named after the folder (`triage scan node017/`); a folder holding only
    folders or archives is a fleet, one host per entry; an archive alone is one host
    named after it; a file alone is named by its content or file name.

    \b
    Examples:
      triage scan node017.tar.gz
      triage scan node017/ --format json --fail-on faulty
      triage scan dmesg.txt nvidia-bug-report.log.gz --host node017 -o node017.md
      triage scan node017.tar.gz --format html -o node017.html   # a page to attach to the ticket
    """
    import triage
    from triage.cli.ingest import _Progress

    terminal = sys.stderr.isatty()
    with _Progress(enabled=terminal) as progress:
        fleet = triage.scan(
            list(paths),
            host=host,
            baseline=baseline_file,
            rules=rules_dir,
            db=db,
            progress=progress.update,
            on_plan=progress.plan,
        )
    with fleet:
        for failed in fleet.last_ingest.errors if fleet.last_ingest else []:
            click.echo(f"error: {failed.path}: {failed.error}", err=True)
        text = fleet.report(fmt)
        statuses = fleet.status_counts() if fail_on else {}
    emit(text, output)
    check_fail_on(statuses, fail_on)
