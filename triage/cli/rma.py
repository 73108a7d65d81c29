"""`triage rma`: vendor ticket text (or JSON) per device to return."""

from __future__ import annotations

import click

from triage.cli.options import db_option, format_option
from triage.cli.report import emit, hosts_option, output_option

RMA_SCHEMA = "triage.rma/v1"


@click.command("rma")
@db_option
@hosts_option
@format_option("text", "json")
@output_option
def command(db: str, hosts: tuple[str, ...], fmt: str, output: str | None) -> None:
    """RMA tickets: one per diagnosis asking for rma_* or contact_vendor.

    Each ticket holds the part's identity (host, node serial, device, serial, UUID,
    PCI address, model, part number, VBIOS, driver, firmware), the symptom codes with
    counts and times, failed test runs, anomalies, the actions already tried as far as
    the logs show (boots, GPU reset lines, test reruns), the evidence lines and the
    requested action. Text is ready to paste into a vendor ticket.

    \b
    JSON (--format json): {"schema": "triage.rma/v1", "tickets": [{host, node_serial,
      component, device, identity, root_cause, severity, confidence, summary, first_seen,
      last_seen, symptoms [{code, label, count, first_ts, last_ts, boots}], tests [{test,
      status, detail, file, line_no, started}], anomalies [{detector, metric, value,
      baseline, level, detail}], tried {boots_seen, reboots, gpu_resets [{file, line_no,
      ts, text}], test_runs [{test, runs, by_status}]}, evidence, requested_action}]}

    \b
    Examples:
      triage rma
      triage rma --host node017 -o node017-rma.txt
      triage rma --format json
    """
    import json

    import triage
    from triage.report import render_rma_text

    with triage.open(db, read_only=True) as fleet:
        tickets = fleet.rma(list(hosts) or None)
    if fmt == "json":
        text = json.dumps({"schema": RMA_SCHEMA, "tickets": tickets}, indent=2, ensure_ascii=False) + "\n"
    else:
        text = render_rma_text(tickets)
    emit(text, output)
