"""`triage analyze`: run the rules over the store and write findings."""

from __future__ import annotations

import json
from pathlib import Path

import click

from triage.cli.options import db_option
from triage.cli.rules import rules_option


@click.command("analyze")
@db_option
@rules_option
@click.option("--host", "hosts", multiple=True, help="Only these hosts (repeatable; default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(db: str, rules_dir: str | None, hosts: tuple[str, ...], as_json: bool) -> None:
    """Evaluate the rule signatures over every event and store the findings.

    Replaces the findings of the hosts analysed, so it can be run again after new
    ingests or rule changes. GPU identities the driver logs (PCI address, UUID,
    serial) are recorded in `assets`.

    \b
    Examples:
      triage analyze
      triage analyze --host node017 --json
      triage query "SELECT host, device, rule_id, severity, count FROM findings ORDER BY severity"
    """
    from triage.errors import TriageError
    from triage.signatures.analyze import analyze
    from triage.signatures.loader import load_rules
    from triage.store import Store

    if db != ":memory:" and not Path(db).exists():
        raise TriageError(f"{db}: no triage database here (run `triage ingest` first)")
    pack = load_rules(rules_dir)
    with Store.open(db) as store:
        summary = analyze(store, pack, list(hosts) or None)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
        return
    severities = ", ".join(f"{n} {name}" for name, n in reversed(summary.by_severity.items()) if n)
    click.echo(
        f"analyzed {summary.events:,} events ({summary.candidates:,} candidates) with {len(pack.rules)} rules "
        f"in {summary.seconds:.2f} s: {summary.findings} finding(s)"
        + (f" ({severities})" if severities else "")
        + (f", {summary.gpus_identified} GPU identities" if summary.gpus_identified else "")
    )
