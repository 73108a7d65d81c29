"""`triage scan`: the on-call path, ingest + rules + detectors + diagnosis + report in one go."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from triage.cli.options import format_option
from triage.cli.report import check_fail_on, emit, fail_on_option, output_option
from triage.cli.rules import rules_option


def bundle_host(paths: list[str]) -> str | None:
    """The host of a single node bundle folder: its name, else None (DESIGN's host rule applies).

    A single folder holding files directly at its top level (`node017/dmesg.log`, not only
    sub-folders or archives) is one node's bundle, named after the folder. A folder holding
    only folders or archives is a fleet, one host per entry. Archives and files need nothing
    here: an archive given alone is already one host named after it.
    """
    from triage.discover import ARCHIVE_SUFFIXES, strip_suffixes

    if len(paths) != 1:
        return None
    root = Path(paths[0])
    if not root.is_dir():
        return None
    try:
        entries = list(root.iterdir())
    except OSError:
        return None
    loose = [
        e
        for e in entries
        if not e.name.startswith(".") and e.is_file() and not e.name.lower().endswith(ARCHIVE_SUFFIXES)
    ]
    return strip_suffixes(root.resolve().name) if loose else None


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
@format_option("md", "json", "csv")
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
    """
    from triage.analysis import run_analysis
    from triage.cli.ingest import _Progress
    from triage.cli.report import render
    from triage.detect import Detectors
    from triage.detect.baseline import load as load_baseline
    from triage.errors import TriageError
    from triage.ingest import IngestOptions, ingest
    from triage.signatures.loader import load_rules
    from triage.store import Store

    host = host or bundle_host(list(paths))
    pack = load_rules(rules_dir)
    detectors = Detectors.load(rules_dir)
    baseline = load_baseline(baseline_file) if baseline_file else None
    terminal = sys.stderr.isatty()
    options = IngestOptions(host=host)
    with Store.open(db) as store:
        with _Progress(enabled=terminal) as progress:
            summary = ingest(store, list(paths), options, progress=progress.update, on_plan=progress.plan)
        for failed in summary.errors:
            click.echo(f"error: {failed.path}: {failed.error}", err=True)
        hosts = sorted({f.host for f in summary.files if f.host and (f.status == "unchanged" or f.lines)})
        if not hosts:
            raise TriageError(f"nothing to scan: no readable file in {', '.join(paths)}")
        if terminal:
            click.echo(f"analyzing {len(hosts)} host(s)...", err=True)
        run_analysis(store, pack, detectors, baseline, hosts)
        text, statuses = render(store, hosts, fmt)
    emit(text, output)
    check_fail_on(statuses, fail_on)
