"""`triage ingest`: read files, folders and archives into the store."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from triage.cli.options import db_option, time_value, timezone_value

if TYPE_CHECKING:
    from triage.discover import InputFile
    from triage.ingest import IngestSummary


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@db_option
@click.option("--host", help="Host name for every file (default: from folders, archives or content).")
@click.option(
    "--boot-time",
    help="Wall-clock boot time (ISO, UTC unless an offset is given) for monotonic dmesg stamps.",
)
@click.option("--timezone", default="UTC", show_default=True, help="Zone of log stamps that carry none.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(
    paths: tuple[str, ...], db: str, host: str | None, boot_time: str | None, timezone: str, as_json: bool
) -> None:
    """Ingest kernel logs and other node artifacts into the store.

    PATHS are files, folders or archives (.tar, .tar.gz, .tgz, .zip, .gz), nested
    as deep as you like. Under a folder, each first-level entry (folder or archive)
    is one host: `triage ingest fleet/` reads fleet/node017/... as host node017.

    \b
    Examples:
      triage ingest fleet/
      triage ingest node017-bundle.tar.gz --db node017.duckdb
      triage ingest dmesg.txt --host node017 --boot-time 2026-11-20T01:00:00Z
    """
    import triage

    when = time_value(boot_time)
    timezone = timezone_value(timezone)
    with triage.open(db) as fleet, _Progress(enabled=sys.stderr.isatty() and not as_json) as progress:
        summary = fleet.ingest(
            list(paths), host=host, timezone=timezone, boot_time=when, progress=progress.update, on_plan=progress.plan
        )
    for failed in summary.errors:
        click.echo(f"error: {failed.path}: {failed.error}", err=True)
    for f in summary.files:
        if f.note and f.status == "ok":
            click.echo(f"note: {f.path}: {f.note}", err=True)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    else:
        click.echo(_summary_line(summary, db))
    if summary.errors:
        raise SystemExit(1)


def _summary_line(s: IngestSummary, db: str) -> str:
    extra = []
    if s.unchanged:
        extra.append(f"{s.unchanged} unchanged")
    if s.errors:
        extra.append(f"{len(s.errors)} with errors")
    counts = f" ({', '.join(extra)})" if extra else ""
    rows = "".join(f"{n:,} {table.replace('_', ' ')}, " for table, n in s.rows.items() if n)
    return (
        f"ingested {s.ingested} file(s){counts} from {len(s.hosts)} host(s): {s.lines:,} lines, {rows}"
        f"{s.bytes / 1e6:,.1f} MB in {s.seconds:.2f} s ({s.mb_per_s:,.1f} MB/s) into {db}"
    )


class _Progress:
    """A rich progress bar over bytes on a terminal; does nothing otherwise."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar = None
        self._task = None
        self._done_before = 0
        self._current = 0

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
                transient=True,
            )
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def plan(self, files: list[InputFile]) -> None:
        if self._bar is not None:
            self._task = self._bar.add_task("ingest", total=sum(f.size for f in files) or None)

    def update(self, file: InputFile, read: int | None) -> None:
        if self._bar is None or self._task is None:
            return
        size = file.size
        if read is None:
            self._done_before += size
            self._current = 0
        else:
            self._current = min(read, size)
        from rich.markup import escape

        name = escape(file.path[-40:])  # a path like node[3]/dmesg is not markup
        self._bar.update(self._task, completed=self._done_before + self._current, description=name)
