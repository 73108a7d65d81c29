"""`triage analyze`: run the rules, then the anomaly detectors, over the store."""

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
@click.option(
    "--baseline",
    "baseline_file",
    metavar="FILE",
    help="Also flag values worse than this baseline (from `triage baseline create`) by more than its tolerance.",
)
@click.option("--no-detectors", is_flag=True, help="Run the rules only; leave the anomalies and diagnoses as they are.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def command(
    db: str,
    rules_dir: str | None,
    hosts: tuple[str, ...],
    baseline_file: str | None,
    no_detectors: bool,
    as_json: bool,
) -> None:
    """Evaluate the rule signatures, then the anomaly detectors, then decide the verdicts.

    Rules write `findings`; detectors write `anomalies`: fleet outliers per cohort,
    deviations from a baseline (with --baseline), counter rates between snapshots,
    multivariate node outliers and rare kernel-message templates; the diagnosis folds
    both (and failed tests and device states) into one verdict per host and device in
    `diagnoses`, read by `triage report`. All three are replaced for the hosts analysed,
    so it can be run again after new ingests or rule changes. Detectors compare each
    host with the whole store (cohorts are fleet-wide) even with --host. GPU identities
    the driver logs are recorded in `assets`.

    \b
    Examples:
      triage analyze
      triage analyze --baseline rules/baselines/h100-80gb-hbm3.yaml
      triage analyze --host node017 --json
      triage anomalies --level drain
      triage report
    """
    import triage
    from triage.errors import TriageError

    if db != ":memory:" and not Path(db).exists():
        raise TriageError(f"{db}: no triage database here (run `triage ingest` first)")
    with triage.open(db) as fleet:
        analysis = fleet.analyze(
            baseline=baseline_file, hosts=list(hosts) or None, rules=rules_dir, detectors=not no_detectors
        )
    if as_json:
        click.echo(json.dumps(analysis.as_dict(), indent=2))
        return
    summary, found, verdicts = analysis.rules, analysis.anomalies, analysis.diagnosis
    severities = ", ".join(f"{n} {name}" for name, n in reversed(summary.by_severity.items()) if n)
    click.echo(
        f"analyzed {summary.events:,} events ({summary.candidates:,} candidates) with {summary.rules} rules "
        f"in {summary.seconds:.2f} s: {summary.findings} finding(s)"
        + (f" ({severities})" if severities else "")
        + (f", {summary.gpus_identified} GPU identities" if summary.gpus_identified else "")
    )
    if found is None or verdicts is None:
        return
    levels = ", ".join(f"{n} {name}" for name, n in reversed(found.by_level.items()) if n)
    click.echo(
        f"detectors: {found.anomalies} anomal{'y' if found.anomalies == 1 else 'ies'}"
        + (f" ({levels})" if levels else "")
        + f" on {found.hosts_flagged} host(s) in {sum(found.seconds.values()):.2f} s"
    )
    status = verdicts.by_status
    click.echo(
        f"diagnosis: {verdicts.diagnoses} verdict(s); hosts {status.get('faulty', 0)} faulty, "
        f"{status.get('suspect', 0)} suspect, {status.get('healthy', 0)} healthy (`triage report` for the details)"
    )
    for note in found.notes:
        click.echo(f"note: {note}", err=True)
