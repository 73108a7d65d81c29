"""Reports: the verdicts of the store as the JSON contract, Markdown, CSV, RMA tickets and host timelines.

from triage.report import build_report, render_markdown, render_csv, rma_tickets, host_timeline

doc = build_report(store)                 # the triage.report/v1 document (DESIGN.md "Outputs")
render_markdown(doc)                      # fleet summary, RMA list, then per host
render_csv(store)                         # one row per diagnosis with an action, RMA columns
render_rma_text(rma_tickets(store))       # vendor ticket text per rma_*/contact_vendor diagnosis
host_verdict(store, "node017"), host_timeline(store, "node017", around=when)
render_html(store)                        # one self-contained page: charts, RMA and fleet tables, per host
"""

from __future__ import annotations

from triage.report.common import UnknownHostError
from triage.report.distributions import distribution_charts
from triage.report.document import REPORT_SCHEMA, ReportData, build_report, document, fleet_table, report_data
from triage.report.html import host_timeline_chart, render_html
from triage.report.markdown import render_markdown
from triage.report.rma import render_rma_text, rma_tickets
from triage.report.table import CSV_COLUMNS, render_csv, rma_rows
from triage.report.timeline import host_timeline, host_verdict

__all__ = [
    "CSV_COLUMNS",
    "REPORT_SCHEMA",
    "ReportData",
    "UnknownHostError",
    "build_report",
    "distribution_charts",
    "document",
    "fleet_table",
    "host_timeline",
    "host_timeline_chart",
    "host_verdict",
    "render_csv",
    "render_html",
    "render_markdown",
    "render_rma_text",
    "report_data",
    "rma_rows",
    "rma_tickets",
]
