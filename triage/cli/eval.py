"""`triage eval`: score a report (or a store's diagnoses) against labelled ground truth."""

from __future__ import annotations

import json

import click

from triage.cli.options import db_option
from triage.cli.output import print_table


@click.command("eval")
@click.option(
    "--truth",
    "truth",
    required=True,
    metavar="FILE",
    help="Ground truth CSV (columns host, device, root_cause, action; a folder means FOLDER/truth.csv).",
)
@click.option("--report", metavar="FILE", help="A `triage report --format json` document to score.")
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--fail-under",
    type=click.FloatRange(0, 1),
    default=None,
    metavar="F",
    help="Exit 1 when macro-F1 is below F (0 to 1), after printing the scores.",
)
def command(truth: str, report: str | None, db: str, fmt: str, fail_under: float | None) -> None:
    """Score predictions against ground truth, per host and per device.

    Scores the report given with --report, or else the diagnoses of the store (--db,
    opened read-only; every host of its files table counts, statuses derived from the
    actions). Only hosts of the truth are scored.

    \b
    Host status: faulty if any action is reset_gpu, reboot_node, restart_fabric_manager,
      update_firmware, check_mechanicals, replace_cable, rma_* or contact_vendor; suspect
      if the strongest is monitor, rerun_test or investigate; healthy otherwise. Truth
      status comes from the truth rows; predicted status is the report's `status`, else
      derived from the predicted actions. A host missing from the predictions is healthy.
    status accuracy: hosts whose predicted status equals the truth status / truth hosts.
    Claims: predicted diagnoses with an action other than none (others are ignored).
    Matching: a truth fault (root_cause != none) is matched by a claim on the same host
      with the same root cause and the same device (case-insensitive); a truth row with an
      empty device (node-level) is matched by any claim of that root cause on the host.
    Per root cause: TP matched truth faults, FN unmatched ones, FP claims matching no
      truth fault; precision, recall and F1 (0 when undefined; n/a in the table when a
      root cause has no truth fault and no claim). macro-F1: mean F1 over the root causes
      present in the truth.
    false-RMA rate: rma_*/replace_cable claims on a device without a truth hardware fault
      (no truth row of the host with root_cause != none and an action other than none or
      restart_app on that device; a node-level row covers the whole host) / all
      rma_*/replace_cable claims. false_rma_hosts: truth-healthy hosts with such a claim /
      truth-healthy hosts.
    missed-fault rate: truth faults with no claim at all on that host and device (any root
      cause; node-level: none on the host) / truth faults.

    \b
    JSON (--format json), schema triage.eval/v1, keys: schema, truth, source {kind, path},
      hosts, truth_status {healthy, suspect, faulty}, status_accuracy, status_correct,
      status_confusion {truth: {predicted: n}}, macro_f1 (null without truth faults),
      macro_f1_root_causes, root_causes [{root_cause, support, predicted, tp, fp, fn,
      precision, recall, f1}], truth_faults, claims, missed_faults, missed_fault_rate,
      rma_claims, false_rma, false_rma_rate, healthy_hosts, false_rma_host_count,
      false_rma_hosts, unscored_hosts, per_host [{host, truth_status, predicted_status,
      correct}].

    \b
    Examples:
      triage eval --truth fleet/truth.csv --report report.json
      triage eval --truth fleet/ --db triage.duckdb --format json
      triage eval --truth fleet/truth.csv --report report.json --fail-under 0.8
    """
    from click.core import ParameterSource

    from triage.errors import TriageError
    from triage.evaluate import evaluate

    if report is not None and click.get_current_context().get_parameter_source("db") == ParameterSource.COMMANDLINE:
        raise TriageError("give --report or --db, not both")
    result = evaluate(truth, report=report) if report is not None else evaluate(truth, db=db)
    if result.source == "db" and result.claims == 0 and result.hosts["predicted_status"].eq("healthy").all():
        click.echo(f"note: {db} has no diagnoses with an action on the truth's hosts: all predicted healthy", err=True)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        _print(result)
    if fail_under is not None:
        if result.macro_f1 is None:
            raise TriageError("--fail-under: macro-F1 is undefined (the truth has no fault rows)")
        if result.macro_f1 < fail_under:
            raise TriageError(f"macro-F1 {result.macro_f1:.3f} is below --fail-under {fail_under:g}")


def _print(result) -> None:  # type: ignore[no-untyped-def]
    doc = result.as_dict()
    counts = doc["truth_status"]
    unscored = len(doc["unscored_hosts"])
    click.echo(
        f"truth: {doc['truth']}: {doc['hosts']} host(s) ({counts['healthy']} healthy, {counts['suspect']} suspect, "
        f"{counts['faulty']} faulty), {doc['truth_faults']} fault(s)"
    )
    click.echo(
        f"predictions: {doc['source']['kind']} {doc['source']['path']}: {doc['claims']} claim(s) on scored hosts"
        + (f"; {unscored} host(s) not in the truth, not scored" if unscored else "")
    )
    macro = "n/a (no truth faults)" if doc["macro_f1"] is None else f"{doc['macro_f1']:.3f}"
    lines = [
        ("host status accuracy", f"{doc['status_accuracy']:.3f} ({doc['status_correct']} of {doc['hosts']} hosts)"),
        ("macro-F1", f"{macro} over {len(doc['macro_f1_root_causes'])} root cause(s)"),
        (
            "false-RMA rate",
            f"{doc['false_rma_rate']:.3f} ({doc['false_rma']} of {doc['rma_claims']} rma_*/replace_cable claims); "
            f"healthy hosts given one: {doc['false_rma_host_count']} of {doc['healthy_hosts']} "
            f"({doc['false_rma_hosts']:.3f})",
        ),
        (
            "missed-fault rate",
            f"{doc['missed_fault_rate']:.3f} ({doc['missed_faults']} of {doc['truth_faults']} truth faults)",
        ),
    ]
    width = max(len(name) for name, _ in lines)
    for name, text in lines:
        click.echo(f"{name:<{width}}  {text}")
    click.echo("")
    click.echo("host status (rows: truth, columns: predicted)")
    print_table(
        ["truth", "healthy", "suspect", "faulty"],
        [(t, *row.values()) for t, row in doc["status_confusion"].items()],
    )
    rows = []
    for rc in doc["root_causes"]:
        if rc["support"] == 0 and rc["predicted"] == 0:
            scores = ("n/a", "n/a", "n/a")
        else:
            scores = tuple(f"{rc[k]:.3f}" for k in ("precision", "recall", "f1"))
        rows.append((rc["root_cause"], rc["support"], rc["predicted"], rc["tp"], rc["fp"], rc["fn"], *scores))
    print_table(["root_cause", "support", "predicted", "tp", "fp", "fn", "precision", "recall", "f1"], rows)
