"""`triage rules`: list, show, test and lint the rule signatures."""

from __future__ import annotations

import click

from triage.cli.output import print_table

rules_option = click.option(
    "--rules",
    "rules_dir",
    envvar="TRIAGE_RULES",
    type=click.Path(file_okay=False),
    help="Rules folder (env TRIAGE_RULES; default: the repository's rules/).",
)


@click.group("rules")
def group() -> None:
    """Inspect and check the rule signatures (rules/*.yaml and rules/catalogs/*.csv)."""


@group.command("list")
@rules_option
def list_rules(rules_dir: str | None) -> None:
    """One line per rule: id, severity, root cause, action, title."""
    from triage.signatures.loader import load_rules

    pack = load_rules(rules_dir)
    rows = []
    for rule in pack.rules:
        title = rule.title
        if rule.catalog is not None:
            title += f" (per code from catalogs/{rule.catalog.name}.csv, {len(pack.catalogs[rule.catalog.name])} codes)"
        rows.append((rule.id, rule.severity, rule.root_cause, rule.action, title))
    print_table(["id", "severity", "root_cause", "action", "title"], rows)
    click.echo(f"{len(pack.rules)} rule(s) in {pack.folder}")


@group.command("show")
@click.argument("rule_id")
@rules_option
def show(rule_id: str, rules_dir: str | None) -> None:
    """Everything about one rule; `xid-48` shows the catalog row for that code."""
    from triage.errors import TriageError
    from triage.signatures.loader import load_rules

    pack = load_rules(rules_dir)
    try:
        rule = pack.rule(rule_id)
    except KeyError:
        raise TriageError(f"no rule {rule_id!r} (see `triage rules list`)") from None
    lines = [
        f"id:          {rule.id}   ({rule.where})",
        f"title:       {rule.title}",
        f"taxonomy:    {rule.severity} / {rule.root_cause} / {rule.component} / {rule.action}",
        f"source:      {rule.source}",
        f"keywords:    {', '.join(rule.keywords)}",
        f"regex:       {rule.regex}",
    ]
    if rule.exclude:
        lines.append(f"exclude:     {rule.exclude}")
    if rule.device:
        lines.append(f"device:      {rule.device}")
    if rule.threshold:
        t = rule.threshold
        window = f" within {t.within_s:g} s" if t.within_s else ""
        lines.append(f"threshold:   {t.count} hits{window} per {t.by}")
    if rule.catalog is not None:
        code = rule_id[len(rule.id) + 1 :] if rule_id != rule.id else None
        table = pack.catalogs[rule.catalog.name]
        if code is not None and code in table:
            lines.append(f"catalog row: {dict(table[code])}")
        else:
            lines.append(
                f"catalog:     catalogs/{rule.catalog.name}.csv keyed by {rule.catalog.key} ({len(table)} codes)"
            )
    lines.append(f"description: {rule.description}")
    lines += [f"reference:   {r}" for r in rule.references]
    lines += [f"false +:     {f}" for f in rule.falsepositives]
    lines += [f"example:     {e.line}" for e in rule.examples]
    lines += [f"not:         {c}" for c in rule.counter_examples]
    click.echo("\n".join(lines))


@group.command("test")
@click.option("--rule", "rule_ids", multiple=True, help="Only these rule ids (repeatable).")
@click.option("--failures", is_flag=True, help="Print only the failing examples.")
@rules_option
def test(rule_ids: tuple[str, ...], failures: bool, rules_dir: str | None) -> None:
    """Run every rule's examples through the engine; exit 1 if any fails."""
    from triage.errors import TriageError
    from triage.signatures.loader import load_rules
    from triage.signatures.testing import run_examples

    pack = load_rules(rules_dir)
    unknown = sorted(set(rule_ids) - {rule.id for rule in pack.rules})
    if unknown:
        raise TriageError(f"no rule {', '.join(map(repr, unknown))} (see `triage rules list`)")
    results = run_examples(pack, list(rule_ids) or None)
    shown = [r for r in results if not (failures and r.ok)]
    print_table(
        ["ok", "rule", "kind", "line", "result"],
        [("ok" if r.ok else "FAIL", r.rule_id, r.kind, r.line[:90], r.detail) for r in shown],
    )
    failed = sum(1 for r in results if not r.ok)
    click.echo(f"{len(results) - failed} passed, {failed} failed")
    if failed:
        raise SystemExit(1)


@group.command("lint")
@rules_option
def lint(rules_dir: str | None) -> None:
    """Check every rule file strictly; print each problem as file:line: message, exit 1 if any."""
    from triage.signatures.loader import RuleError, load_rules

    try:
        pack = load_rules(rules_dir)
    except RuleError as exc:
        for problem in exc.problems:
            click.echo(problem, err=True)
        raise SystemExit(1) from None
    click.echo(f"{len(pack.rules)} rule(s) and {len(pack.catalogs)} catalog(s) in {pack.folder}: no problems")
