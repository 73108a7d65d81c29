"""The `triage` command line: a thin layer over the library.

Command modules import only click at load time, so `triage --help` stays fast; the
heavy libraries (polars, duckdb) load when a command runs. Errors the user can fix
print one line and exit 1; anything else is an internal error (exit 2), with the
traceback shown only under `--debug`.
"""

from __future__ import annotations

import sys

import click

from triage.cli import analyze, anomalies, baseline, export, fleet, host, ingest, query, report, rma, rules, scan
from triage.cli.eval import command as eval_command


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show tracebacks of internal errors.")
@click.version_option(package_name="triage", prog_name="triage")
def cli(debug: bool) -> None:
    """Failure triage for GPU and HPC fleets.

    Ingest kernel logs, counters and burn-in outputs into a DuckDB store, then query
    them. Typical first run: `triage ingest fleet/` then `triage query "..."`.
    """


cli.add_command(ingest.command)
cli.add_command(query.command)
cli.add_command(export.command)
cli.add_command(analyze.command)
cli.add_command(anomalies.command)
cli.add_command(baseline.group)
cli.add_command(rules.group)
cli.add_command(scan.command)
cli.add_command(report.command)
cli.add_command(rma.command)
cli.add_command(fleet.command)
cli.add_command(host.command)
cli.add_command(eval_command)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI and exit with 0 (success), 1 (user error) or 2 (internal error)."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        code = cli.main(args=args, prog_name="triage", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        sys.stderr.close()
        sys.exit(0)
    except Exception as exc:
        from triage.errors import TriageError

        if isinstance(exc, TriageError):
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        if debug:
            raise
        click.echo(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", err=True)
        sys.exit(2)
    sys.exit(code if isinstance(code, int) else 0)
