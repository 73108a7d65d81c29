"""`triage baseline`: learn expected values from a known-good run, and show them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from triage.cli.output import print_table
from triage.cli.rules import rules_option


@click.group("baseline")
def group() -> None:
    """Learn and inspect baselines (expected values per cohort from a known-good run)."""


@group.command("create")
@click.option(
    "--from",
    "source",
    required=True,
    metavar="DB|PATH",
    help="A triage store (.duckdb) of a known-good run, or its artifacts (folder/archive; ingested in memory).",
)
@click.option("-o", "--output", required=True, metavar="FILE", help="Baseline YAML to write.")
@click.option("--label", metavar="TEXT", help="What the baseline was learned from, as recorded (default: --from).")
@rules_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def create(source: str, output: str, label: str | None, rules_dir: str | None, as_json: bool) -> None:
    """Learn expected values and spreads of the watched metrics (rules/detect/outliers.yaml).

    Values are grouped per cohort (test, metric, parameters, GPU model); outliers in the
    bad direction are dropped round by round before the median is taken, so one bad node
    in the "good" run does not move the expectation.

    \b
    Examples:
      triage baseline create --from golden.duckdb -o baseline.yaml
      triage baseline create --from burnin/good-rack/ -o baseline.yaml
      triage analyze --baseline baseline.yaml
    """
    from triage.detect.baseline import describe, learn, save
    from triage.detect.cohorts import OutlierSettings, watched
    from triage.errors import TriageError
    from triage.store import Store

    settings = OutlierSettings.load(rules_dir)
    path = Path(source)
    if not path.exists():
        raise TriageError(f"{source}: no such file or folder")
    if path.is_file() and _is_duckdb(path):
        with Store.open(path, read_only=True) as store:
            values = watched(store, settings)
    else:
        from triage.ingest import ingest

        with Store.open(":memory:") as store:
            ingest(store, [source])
            values = watched(store, settings)
    if values.is_empty():
        raise TriageError(f"{source}: no watched measurements to learn from (nccl-tests, HPL, nvbandwidth, ...)")
    baseline = learn(values, settings, label or source)
    save(baseline, output)
    if as_json:
        click.echo(json.dumps(describe(baseline) | {"output": output}, indent=2))
        return
    dropped = int(baseline.entries["dropped"].sum())
    click.echo(
        f"learned {baseline.cohorts} cohort(s) from {baseline.hosts} host(s) of {source}"
        f" ({dropped} outlier value(s) left out): {output}"
    )


@group.command("show")
@click.argument("file")
@click.option("--test", "tests", multiple=True, help="Only these tests (repeatable).")
def show(file: str, tests: tuple[str, ...]) -> None:
    """Print the cohorts of a baseline file: expected value, spread and members."""
    from triage.detect.baseline import load

    baseline = load(file)
    entries = baseline.entries
    if tests:
        entries = entries.filter(entries["test"].is_in(list(tests)))
    rows = [
        (
            r["test"],
            r["metric"],
            r["params"] or "-",
            r["bad"],
            f"{r['expected']:.6g} {r['unit']}",
            f"{r['spread']:.3g}",
            r["members"],
        )
        for r in entries.iter_rows(named=True)
    ]
    print_table(["test", "metric", "params", "bad", "expected", "spread", "members"], rows)
    click.echo(
        f"{entries.height} cohort(s) learned from {baseline.hosts} host(s) of {baseline.source} ({baseline.created_at})"
    )


def _is_duckdb(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(12)[8:12] == b"DUCK"
