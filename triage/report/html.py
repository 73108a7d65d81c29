"""The report as one self-contained HTML file: inline CSS, inline SVG charts, a little inline JavaScript.

It opens without network (no external href or src; the RMA CSV is embedded as a data: link) and
says the same as the JSON report, top to bottom:

- header: title, store, generation time, counts (hosts, faulty, suspect, healthy, parts to RMA)
- `#summary` "what to do": one line per diagnosis asking for an action on a faulty or suspect host
- `#charts`: hosts by status, verdicts by root cause
- `#rma`: the parts to return or replace (`rma_rows` with an rma_*, replace_cable or
  contact_vendor action), identity columns, sortable and filterable
- `#fleet`: every host with its status and worst verdict, text and status filters
- `#hosts`: a section `#host-<name>` per faulty and suspect host: verdicts with identity and
  evidence (file:line, time, text), and a timeline of the dated evidence per verdict with the
  host's boots and GPU resets
- `#distributions`: strip charts of watched burn-in metrics (headline ones and every metric a
  fleet-outlier or baseline anomaly names), one dot per host or device
- footer: triage version, report schema

Distributions are fleet-wide whatever `hosts` says: a cohort is the fleet's (`cohorts.watched`
over every host), so a value is judged against the same neighbours as in `triage analyze`; with
`hosts` the dots of those hosts are outlined and only their flagged values are labelled, and the
metrics charted beyond the headline ones are those flagged on those hosts.

Without JavaScript everything is there: tables in report order, and what is folded away (evidence
past a verdict's first four items, long evidence summaries) sits in <details> that open without
script. With it, table headers sort (numbers as numbers, empty cells last) and the filters hide
rows. Printing hides the filters, opens the folded evidence and keeps colours. Every text from the
store is HTML-escaped. The output depends only on the store, `hosts`, `title` and `generated_at`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from html import escape
from importlib import metadata
from importlib.resources import files
from pathlib import PurePath
from typing import Any
from urllib.parse import quote

import polars as pl

from triage.evaluate.taxonomy import FAULTY_ACTIONS, NONE, SUSPECT_ACTIONS
from triage.report.charts import (
    LEVEL_COLORS,
    LEVEL_ORDER,
    NEUTRAL,
    STATUS_COLORS,
    TimelineEvent,
    TimelineLane,
    TimelineMark,
    host_timeline_svg,
    inline_svg,
    root_cause_bars,
    status_bars,
)
from triage.report.common import RESET_PATTERN, RESET_SOURCES, STATUS_ORDER, is_rma_or_vendor, iso
from triage.report.distributions import distribution_charts
from triage.report.document import REPORT_SCHEMA, ReportData, document, fleet_table, report_data
from triage.report.markdown import is_rma_action
from triage.report.rma import IDENTITY_LABELS
from triage.report.table import rma_rows
from triage.store import MEMORY, Store, host_condition

# Plain words for each action of the taxonomy, for the "what to do" list.
ACTION_WORDS = {
    "none": "No action",
    "monitor": "Keep an eye on it",
    "restart_app": "Restart the job (the node is not blamed)",
    "rerun_test": "Rerun the burn-in tests",
    "reset_gpu": "Reset the GPU, then rerun the tests",
    "reboot_node": "Reboot the node, then rerun the tests",
    "restart_fabric_manager": "Restart Fabric Manager",
    "update_firmware": "Update the firmware",
    "check_mechanicals": "Check seating, cabling and cooling",
    "replace_cable": "Replace the cable or transceiver",
    "rma_gpu": "Return the GPU to the vendor (RMA)",
    "rma_hca": "Return the HCA to the vendor (RMA)",
    "rma_baseboard": "Return the GPU baseboard to the vendor (RMA)",
    "rma_dimm": "Return the DIMM to the vendor (RMA)",
    "rma_node": "Return the node to the vendor (RMA)",
    "investigate": "Investigate by hand",
    "contact_vendor": "Open a vendor case",
}
ROOT_CAUSE_WORDS = {
    "gpu_hardware": "GPU hardware",
    "gpu_memory": "GPU memory (HBM)",
    "nvlink": "NVLink",
    "nvswitch": "NVSwitch",
    "pcie": "PCIe link",
    "infiniband_link": "InfiniBand link",
    "infiniband_hca": "InfiniBand HCA",
    "host_memory": "Host memory (DIMM)",
    "host_hardware": "Host hardware",
    "thermal_power": "Thermal / power",
    "storage": "Storage",
    "driver_firmware": "Driver / firmware",
    "application": "Application",
    "performance": "Performance",
    "unknown": "Unknown",
}
COMPONENT_WORDS = {"gpu": "GPU", "hca": "HCA", "nvswitch": "NVSwitch", "dimm": "DIMM", "cpu": "CPU", "psu": "PSU"}
RANK_STATUS = {2: "faulty", 1: "suspect", 0: "healthy"}
RMA_COLUMNS = (
    ("host", "Host"), ("component", "Component"), ("device", "Device"), ("root_cause", "Root cause"),
    ("action", "Action"), ("gpu_serial", "Serial"), ("uuid", "UUID / GUID"), ("pci_address", "PCI"),
    ("model", "Model"), ("part_number", "Part number"), ("node_serial", "Node serial"), ("confidence", "Conf."),
    ("first_seen", "First seen"), ("last_seen", "Last seen"), ("evidence_summary", "Evidence"),
)  # fmt: skip
MAX_MARKS = 20  # boots and resets drawn per host timeline
EVIDENCE_SHOWN = 4  # evidence items in view per verdict; the rest behind a toggle


def render_html(
    store: Store, hosts: list[str] | None = None, title: str | None = None, generated_at: datetime | None = None
) -> str:
    """The HTML report of `hosts` (None: every host of the store) as one self-contained page.

    `title` defaults to "Triage report · <store file name without suffix>"; `generated_at` to now
    (UTC; a naive time is UTC). Unknown
    hosts raise `UnknownHostError`. Distributions are fleet-wide (see the module docstring).
    """
    when = generated_at or datetime.now(UTC)
    if title is None:
        title = "Triage report" + ("" if store.path == MEMORY else f" \u00b7 {PurePath(store.path).stem}")
    data = report_data(store, hosts)
    doc = document(data, when)
    scope = data.hosts["host"].to_list() if hosts else None
    actions = rma_rows(store, scope, data)
    rma = actions.filter(is_rma_or_vendor(pl.col("action")))
    fleet = fleet_table(store, hosts=scope)
    attention = [h["host"] for h in doc["hosts"] if h["status"] != "healthy"]
    marks = _marks(store, attention) if attention else {}
    parts = [
        _header(doc, title, store.path, rma.height),
        _nav(),
        '<main class="page">',
        _summary(doc),
        _charts(doc, data),
        _rma_section(rma, actions),
        _fleet_section(fleet, set(attention)),
        _hosts_section(doc, data, marks),
        _distributions_section(store, scope),
        "</main>",
        _footer(doc),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="triage {_e(_version())}">\n'
        f"<title>{_e(title)}</title>\n<style>{_asset('report.css')}</style>\n</head>\n<body>\n"
        + "\n".join(parts)
        + f"\n<script>{_asset('report.js')}</script>\n</body>\n</html>\n"
    )


# -- pieces -----------------------------------------------------------------------------------


@cache
def _asset(name: str) -> str:
    """The page's stylesheet or script, from triage/report/assets/."""
    return (files("triage.report") / "assets" / name).read_text(encoding="utf-8")


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _version() -> str:
    try:
        return metadata.version("triage")
    except metadata.PackageNotFoundError:
        return "unknown"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _cell(value: object, sort: object = None, cls: str = "") -> str:
    """A table cell; empty values show a dash and sort last."""
    attrs = f' class="{cls}"' if cls else ""
    if value is None or value == "":
        return f'<td{attrs} data-sort="">\u2014</td>'
    if sort is not None:
        attrs += f' data-sort="{_e(sort)}"'
    return f"<td{attrs}>{_e(value)}</td>"


def _head(columns: Iterable[str]) -> str:
    return "<thead><tr>" + "".join(f'<th scope="col">{_e(c)}</th>' for c in columns) + "</tr></thead>"


def _badge(status: str) -> str:
    return f'<span class="badge {_e(status)}">{_e(status)}</span>'


def _host_id(host: str) -> str:
    """The id of a host's section: `host-<name>` (whitespace, which ids cannot hold, as `_`)."""
    return _e("host-" + re.sub(r"\s", "_", host))


def _host_link(host: str, linked: bool) -> str:
    return f'<a href="#{_host_id(host)}">{_e(host)}</a>' if linked else _e(host)


def _part(diagnosis: dict[str, Any]) -> str:
    """`GPU 3 0000:5d:00.0`, `HCA mlx5_7/1`, `cable mlx5_2/1`, `node`."""
    component = diagnosis["component"] or ""
    word = COMPONENT_WORDS.get(component, component)
    device = diagnosis["device"]
    index = diagnosis["identity"].get("index")
    if component == "gpu" and index is not None:
        word = f"GPU {index}"
    if device is None:
        return "node" if component in ("node", "software", "") else f"{word} (node)"
    return f"{word} {device}".strip()


def _header(doc: dict[str, Any], title: str, path: str, parts: int) -> str:
    fleet = doc["fleet"]
    stats = [
        ("hosts", fleet["hosts"], "hosts", "#fleet"),
        ("faulty", fleet["faulty"], "faulty", "#hosts"),
        ("suspect", fleet["suspect"], "suspect", "#hosts"),
        ("healthy", fleet["healthy"], "healthy", "#fleet"),
        ("rma", parts, "parts to return or replace", "#rma"),
    ]
    tiles = "".join(
        f'<a class="stat {cls}" href="{href}" data-stat="{cls}"><span class="n">{n}</span>'
        f'<span class="k">{_e(label)}</span></a>'
        for cls, n, label, href in stats
    )
    return (
        '<header class="masthead" id="top">'
        f'<div class="title-row"><h1>{_e(title)}</h1>'
        f'<p class="meta">Generated <time datetime="{_e(doc["generated_at"])}">{_e(doc["generated_at"])}</time>'
        f" from <code>{_e(path)}</code></p></div>"
        f'<div class="stats">{tiles}</div></header>'
    )


def _nav() -> str:
    links = [
        ("summary", "What to do"), ("charts", "Overview"), ("rma", "RMA"), ("fleet", "Fleet"),
        ("hosts", "Hosts"), ("distributions", "Distributions"),
    ]  # fmt: skip
    return '<nav class="toc" aria-label="Sections">' + "".join(f'<a href="#{i}">{t}</a>' for i, t in links) + "</nav>"


def _summary(doc: dict[str, Any]) -> str:
    fleet = doc["fleet"]
    rows = []
    counts = {"rma": 0, "fix": 0, "check": 0}
    for host in doc["hosts"]:
        if host["status"] == "healthy":
            continue
        for d in host["diagnoses"]:
            action = d["action"] or NONE
            status = _action_status(action)
            if status == "healthy":
                continue
            counts["rma" if is_rma_action(action) else "fix" if status == "faulty" else "check"] += 1
            identity = d["identity"]
            serial = identity.get("serial")
            ids = f"S/N {serial}" if serial else (f"GUID {identity['guid']}" if identity.get("guid") else "")
            serial_html = f'<span class="sub">{_e(ids)}</span>' if ids else ""
            confidence = "" if d["confidence"] is None else f"{d['confidence']:.2f}"
            rows.append(
                f'<tr class="{status}"><td>{_badge(host["status"])} '
                f'<a class="host" href="#{_host_id(host["host"])}">{_e(host["host"])}</a></td>'
                f'<td><span class="part">{_e(_part(d))}</span>{serial_html}</td>'
                f"<td><strong>{_e(ROOT_CAUSE_WORDS.get(d['root_cause'], d['root_cause']))}</strong>"
                f'<span class="sub">{_e(d["summary"])}</span></td>'
                f"<td><strong>{_e(ACTION_WORDS.get(action, action))}</strong> "
                f'<code class="chip">{_e(action)}</code></td>'
                f'<td class="num">{_e(confidence)}</td></tr>'
            )
    if fleet["hosts"] == 0:
        lead = "The store has no hosts yet: run <code>triage ingest</code> and <code>triage analyze</code> first."
    elif not rows:
        lead = "The host is healthy" if fleet["hosts"] == 1 else f"All {fleet['hosts']} hosts are healthy"
        lead += ": nothing to do."
    else:
        bits = []
        if counts["rma"]:
            bits.append(f"return or replace <strong>{_plural(counts['rma'], 'part')}</strong>")
        if counts["fix"]:
            bits.append(f"{_plural(counts['fix'], 'recovery step')} (reset, reboot, mechanical check)")
        if counts["check"]:
            bits.append(f"{_plural(counts['check'], 'check')} (rerun, investigate, monitor)")
        lead = (
            f"<strong>{fleet['faulty']}</strong> of {_plural(fleet['hosts'], 'host')} faulty, "
            f"<strong>{fleet['suspect']}</strong> suspect, {fleet['healthy']} healthy. To do: " + "; ".join(bits) + "."
        )
    table = (
        '<div class="table-wrap flat"><table class="todo">'
        + _head(["Host", "Part", "Problem", "Action", "Conf."])
        + "<tbody>"
        + "".join(rows)
        + "</tbody></table></div>"
        if rows
        else ""
    )
    return f'<section id="summary" class="card"><h2>What to do</h2><p class="lead">{lead}</p>{table}</section>'


def _action_status(action: str) -> str:
    """The host status an action implies (`evaluate.taxonomy`'s rule)."""
    if action in FAULTY_ACTIONS or action.startswith("rma_"):
        return "faulty"
    return "suspect" if action in SUSPECT_ACTIONS else "healthy"


def _charts(doc: dict[str, Any], data: ReportData) -> str:
    fleet = doc["fleet"]
    worst = (
        data.diagnoses.filter(pl.col("action").fill_null(NONE) != NONE)
        .group_by(pl.col("root_cause").fill_null("unknown"))
        .agg(pl.col("rank").max())
    )
    colors = {cause: STATUS_COLORS[RANK_STATUS[int(rank)]] for cause, rank in worst.iter_rows()}
    return (
        '<section id="charts" class="card"><h2>Overview</h2><div class="chart-row">'
        f'<figure class="chart-box" data-chart="status">{inline_svg(status_bars(fleet))}</figure>'
        '<figure class="chart-box" data-chart="root-cause">'
        f"{inline_svg(root_cause_bars(fleet['by_root_cause'], colors))}</figure>"
        '</div><p class="hint">Root-cause bars take the colour of the worst host status among their verdicts '
        "(green: application faults, listed but not blamed on the node).</p></section>"
    )


def _toolbar(table_id: str, what: str, count_text: str, status: bool = False) -> str:
    select = ""
    if status:
        options = '<option value="">all statuses</option>' + "".join(
            f'<option value="{s}">{s}</option>' for s in STATUS_ORDER
        )
        select = (
            f'<label class="filter"><span>Status</span><select data-filter-status="{table_id}" '
            f'aria-label="Show hosts of one status">{options}</select></label>'
        )
    return (
        '<div class="toolbar">'
        f'<label class="filter"><span>Filter</span><input type="search" data-filter="{table_id}" '
        f'placeholder="{_e(what)}" aria-label="{_e(what)}" autocomplete="off"></label>{select}'
        f'<span class="count" data-count="{table_id}" data-all="{_e(count_text)}">{_e(count_text)}</span></div>'
    )


def _rma_section(rma: pl.DataFrame, actions: pl.DataFrame) -> str:
    link = ""
    if actions.height:
        link = (
            '<a class="download" download="triage-actions.csv" '
            f'href="data:text/csv;charset=utf-8,{quote(actions.write_csv())}">'
            f"Download the CSV ({_plural(actions.height, 'row')}: every diagnosis asking for an action)</a>"
        )
    intro = (
        '<p class="hint">Diagnoses asking for <code>rma_*</code>, <code>replace_cable</code> or '
        f"<code>contact_vendor</code>, with the identity a vendor asks for. {link}</p>"
    )
    if rma.is_empty():
        return (
            f'<section id="rma" class="card"><h2>Parts to return or replace</h2>{intro}'
            '<p class="empty">Nothing to return or replace.</p></section>'
        )
    body = []
    for r in rma.iter_rows(named=True):
        cells = []
        for key, _ in RMA_COLUMNS:
            value = r[key]
            if key == "host":
                cells.append(f'<td data-sort="{_e(value)}">{_host_link(value, True)}</td>')
            elif key == "confidence":
                cells.append(_cell(None if value is None else f"{value:.2f}", value, "num"))
            elif key in ("device", "gpu_serial", "uuid", "pci_address", "part_number", "node_serial"):
                cells.append(_cell(value, cls="mono"))
            elif key == "evidence_summary":
                cells.append(f'<td data-sort="{_e(value)}">{_long_text(value)}</td>' if value else _cell(None))
            else:
                cells.append(_cell(value, cls="nowrap" if key in ("first_seen", "last_seen") else ""))
        body.append(f'<tr data-status="faulty">{"".join(cells)}</tr>')
    return (
        '<section id="rma" class="card"><h2>Parts to return or replace</h2>'
        + intro
        + _toolbar("rma-table", "host, serial, part…", _plural(rma.height, "part"))
        + '<div class="table-wrap"><table id="rma-table" class="sortable rma">'
        + _head(label for _, label in RMA_COLUMNS)
        + "<tbody>"
        + "".join(body)
        + '</tbody></table></div><p class="empty" data-empty="rma-table" hidden>No part matches the filter.</p>'
        "</section>"
    )


def _long_text(text: str, limit: int = 120) -> str:
    """`text` in a box of bounded width; past `limit` characters the rest is behind a "more" toggle."""
    if len(text) <= limit:
        return f'<div class="wide">{_e(text)}</div>'
    cut = text.rfind(" ", 0, limit)
    cut = cut if cut > limit // 2 else limit
    return (
        f'<div class="wide">{_e(text[:cut])}<details class="long"><summary></summary>{_e(text[cut:])}</details></div>'
    )


def _fleet_section(fleet: pl.DataFrame, linked: set[str]) -> str:
    if fleet.is_empty():
        return '<section id="fleet" class="card"><h2>Fleet</h2><p class="empty">No hosts in the store.</p></section>'
    order = {s: i for i, s in enumerate(STATUS_ORDER)}
    body = []
    for r in fleet.iter_rows(named=True):
        host, status = r["host"], r["status"]
        body.append(
            f'<tr data-status="{_e(status)}">'
            f'<td data-sort="{_e(host)}">{_host_link(host, host in linked)}</td>'
            f'<td data-sort="{order.get(status, 9)}">{_badge(status)}</td>'
            + _cell(r["diagnoses"], r["diagnoses"], "num")
            + _cell(r["root_cause"])
            + _cell(r["action"])
            + _cell(r["device"], cls="mono")
            + (f'<td><div class="wide">{_e(r["summary"])}</div></td>' if r["summary"] else _cell(None))
            + "</tr>"
        )
    return (
        '<section id="fleet" class="card"><h2>Fleet</h2>'
        '<p class="hint">Every host in report order (faulty, suspect, healthy) with its worst verdict.'
        '<span class="js-only"> Click a column header to sort.</span></p>'
        + _toolbar("fleet-table", "host, device, root cause…", _plural(fleet.height, "host"), status=True)
        + '<div class="table-wrap tall"><table id="fleet-table" class="sortable fleet">'
        + _head(["Host", "Status", "Diagnoses", "Root cause", "Action", "Device", "Worst verdict"])
        + "<tbody>"
        + "".join(body)
        + '</tbody></table></div><p class="empty" data-empty="fleet-table" hidden>No host matches the filter.</p>'
        "</section>"
    )


# -- per host ---------------------------------------------------------------------------------


def _hosts_section(doc: dict[str, Any], data: ReportData, marks: dict[str, list[TimelineMark]]) -> str:
    shown = [h for h in doc["hosts"] if h["status"] != "healthy"]
    if not shown:
        return (
            '<section id="hosts" class="card"><h2>Faulty and suspect hosts</h2>'
            '<p class="empty">No faulty or suspect host.</p></section>'
        )
    rows: dict[str, list[dict[str, Any]]] = {h["host"]: [] for h in shown}
    for r in data.diagnoses.iter_rows(named=True):
        if r["host"] in rows:
            rows[r["host"]].append(r)
    sections = [_host(h, rows[h["host"]], marks.get(h["host"], [])) for h in shown]
    return (
        '<section id="hosts" class="card"><h2>Faulty and suspect hosts</h2>'
        f'<p class="hint">{_plural(len(shown), "host")}, faulty first. Each verdict with the identity of the part '
        "and the evidence behind it (file:line, time, text); the timeline shows the dated evidence.</p>"
        + "".join(sections)
        + "</section>"
    )


def _host(host: dict[str, Any], rows: list[dict[str, Any]], marks: list[TimelineMark]) -> str:
    name, status = host["host"], host["status"]
    diagnoses = host["diagnoses"]
    articles = [_diagnosis(d, r) for d, r in zip(diagnoses, rows, strict=True)]
    return (
        f'<section class="host {_e(status)}" id="{_host_id(name)}">'
        f'<div class="host-head"><h3>{_e(name)}</h3>{_badge(status)}'
        f'<span class="sub">{_plural(len(diagnoses), "verdict")}</span>'
        '<a class="top" href="#top">back to top</a></div>'
        f'<figure class="chart-box timeline">{inline_svg(_timeline(name, diagnoses, rows, marks))}</figure>'
        + "".join(articles)
        + "</section>"
    )


def _diagnosis(d: dict[str, Any], row: dict[str, Any]) -> str:
    action = d["action"] or NONE
    status = _action_status(action)
    identity = "".join(
        ('<div class="long">' if len(str(v)) > 24 else "<div>") + f"<dt>{_e(IDENTITY_LABELS.get(k, k))}</dt>"
        f"<dd>{_e(v)}</dd></div>"
        for k, v in d["identity"].items()
    )
    confidence = "" if d["confidence"] is None else f'<span class="conf">confidence {d["confidence"]:.2f}</span>'
    when = ""
    if row["first_ts"] is not None:
        first, last = iso(row["first_ts"]), iso(row["last_ts"])
        when = f'<span class="when">{_e(first)}' + (f" \u2192 {_e(last)}" if last and last != first else "") + "</span>"
    related = ""
    if d["related"]:
        related = '<p class="related">Related: ' + " ".join(f'<code class="chip">{_e(x)}</code>' for x in d["related"])
        related += "</p>"
    evidence = _evidence(d["evidence"], blamed=status != "healthy")
    return (
        f'<article class="diagnosis {status}">'
        '<div class="diag-head">'
        f'<span class="component">{_e(d["component"] or "-")}</span>'
        f'<code class="device">{_e(d["device"] or "node")}</code>'
        f'<span class="verdict">{_e(d["root_cause"])}</span><span class="arrow">\u2192</span>'
        f'<code class="chip action {status}">{_e(action)}</code>'
        f'<span class="sev sev-{_e(d["severity"])}">{_e(d["severity"])}</span>{confidence}{when}</div>'
        f'<p class="summary">{_e(d["summary"])}</p>'
        + (f'<dl class="identity">{identity}</dl>' if identity else "")
        + evidence
        + related
        + "</article>"
    )


def _evidence(items: list[dict[str, Any]], blamed: bool) -> str:
    """The evidence rows: the first `EVIDENCE_SHOWN` in view and the rest behind "more" (all of it behind a
    toggle for a verdict that does not blame the node)."""
    if not items:
        return '<p class="empty">No evidence lines recorded.</p>'
    rows = [_evidence_row(item) for item in items]
    head = _head(["Kind", "Source", "Where and what"])
    if not blamed:
        return (
            f'<details class="evidence"><summary>Evidence ({_plural(len(rows), "item")})</summary>'
            f'<table class="evidence">{head}<tbody>{"".join(rows)}</tbody></table></details>'
        )
    shown, rest = rows[:EVIDENCE_SHOWN], rows[EVIDENCE_SHOWN:]
    out = f'<table class="evidence">{head}<tbody>{"".join(shown)}</tbody></table>'
    if rest:
        out += (
            f'<details class="evidence more"><summary>{_plural(len(rest), "more evidence item")}</summary>'
            f'<table class="evidence"><tbody>{"".join(rest)}</tbody></table></details>'
        )
    return out


def _evidence_row(item: dict[str, Any]) -> str:
    kind = item["kind"]
    if kind == "log":
        source = item["rule"] or "device state"
    elif kind == "metric":
        value = "-" if item["value"] is None else f"{item['value']:.6g}"
        baseline = "" if item["baseline"] is None else f" (expected {item['baseline']:.6g})"
        source = f"{item['detector']} {item['metric']} {value}{baseline}, {item['level']}"
    else:
        source = f"{item['test']} {item['status']}"
    where = ""
    if item["file"] is not None:
        where = item["file"] + (f":{item['line_no']}" if item["line_no"] is not None else "")
    return (
        f'<tr class="ev {_e(kind)}"><td><span class="kind {_e(kind)}">{_e(kind)}</span></td>'
        f'<td class="source">{_e(source)}</td>'
        f'<td><div class="where"><span class="file">{_e(where or "-")}</span>'
        f'<span class="ts">{_e(item["ts"] or "")}</span></div>'
        f'<pre class="line">{_e(item["text"] or "-")}</pre></td></tr>'
    )


def _timeline(host: str, diagnoses: list[dict[str, Any]], rows: list[dict[str, Any]], marks: list[TimelineMark]) -> str:
    lanes, events = [], []
    for d, r in zip(diagnoses, rows, strict=True):
        key = str(r["diagnosis_id"])
        color = STATUS_COLORS[_action_status(d["action"] or NONE)]
        if color == STATUS_COLORS["healthy"]:
            color = NEUTRAL
        lanes.append(
            TimelineLane(key, d["device"] or "node", f"{d['root_cause']} \u00b7 {d['action']}", color,
                         r["first_ts"], r["last_ts"])
        )  # fmt: skip
        for item in d["evidence"]:
            if item["ts"] is None:
                continue
            source = item.get("rule") or item.get("detector") or item.get("test") or "state"
            text = f"{source}: {item['text'] or ''}"
            when = datetime.strptime(item["ts"], "%Y-%m-%dT%H:%M:%SZ")
            events.append(TimelineEvent(key, when, item["kind"], text[:300], label=source))
    dated = [e.ts for e in events] + [t for lane in lanes for t in (lane.start, lane.end) if t is not None]
    return host_timeline_svg(lanes, events, _marks_near(marks, dated), title=f"{host}: timeline", width=1040)


def host_timeline_chart(store: Store, host: str) -> str:
    """One host's timeline as its section of the report draws it (SVG): a lane per verdict with its
    dated evidence and first..last span, and the host's boots and GPU resets around them; standalone,
    so that `IPython.display.SVG` shows it."""
    data = report_data(store, [host])
    entry = document(data)["hosts"][0]
    rows = data.diagnoses.to_dicts()
    return _timeline(host, entry["diagnoses"], rows, _marks(store, [host]).get(host, []))


def _marks_near(marks: list[TimelineMark], dated: list[datetime]) -> list[TimelineMark]:
    """The resets, the boots inside the evidence's time range, and the last boot before it and first after it."""
    if not dated:
        return []
    t0, t1 = min(dated), max(dated)
    resets = [m for m in marks if m.kind == "reset"]
    boots = [m for m in marks if m.kind == "boot"]
    inside = [m for m in boots if t0 <= m.ts <= t1]
    before = [m for m in boots if t0 - timedelta(days=2) <= m.ts < t0][-1:]
    after = [m for m in boots if t1 < m.ts <= t1 + timedelta(days=1)][:1]
    times = [t0, t1] + [m.ts for m in resets]
    lo, hi = min(times), max(times)
    keep = before + inside + after + [m for m in resets if lo <= m.ts <= hi]
    return sorted(keep, key=lambda m: (m.ts, m.kind))[:MAX_MARKS]


def _marks(store: Store, hosts: list[str]) -> dict[str, list[TimelineMark]]:
    """Per host, the first line of each boot of each kernel log and the GPU reset lines, as timeline marks."""
    where, params = host_condition(hosts)
    frame = store.frame(
        f"""
        SELECT host, ts, 'boot' AS kind, message FROM (
            SELECT host, ts, message, file_id, line_no FROM events
            WHERE source = 'kernel_log' AND boot IS NOT NULL AND {where}
            QUALIFY row_number() OVER (PARTITION BY file_id, boot ORDER BY line_no) = 1
        ) WHERE ts IS NOT NULL
        UNION ALL
        SELECT host, ts, 'reset' AS kind, message FROM events
        WHERE source IN (SELECT unnest(?::VARCHAR[])) AND {where} AND ts IS NOT NULL AND regexp_matches(message, ?)
        ORDER BY host, ts, kind, message
        """,
        [*params, list(RESET_SOURCES), *params, RESET_PATTERN],
    )
    out: dict[str, list[TimelineMark]] = {}
    for host, ts, kind, message in frame.iter_rows():
        marks = out.setdefault(host, [])
        # the same boot seen by two kernel logs (dmesg and kern.log) is drawn once
        if kind == "boot" and any(m.kind == "boot" and abs((m.ts - ts).total_seconds()) < 120 for m in marks[-3:]):
            continue
        marks.append(TimelineMark(ts, "boot" if kind == "boot" else "GPU reset", kind, (message or "")[:200]))
    return out


# -- distributions ----------------------------------------------------------------------------


def _distributions_section(store: Store, scope: list[str] | None) -> str:
    charts = distribution_charts(store, scope)
    legend = "".join(
        f'<span class="legend-item"><span class="dot" style="background:{LEVEL_COLORS[level]}"></span>{level}</span>'
        for level in reversed(LEVEL_ORDER)
    )
    legend += (
        f'<span class="legend-item"><span class="dot" style="background:{NEUTRAL};opacity:.55"></span>'
        "not flagged</span>"
    )
    legend += '<span class="legend-item"><span class="dash"></span>cohort median</span>'
    intro = (
        '<p class="hint">Watched burn-in metrics (the headline ones and every metric a fleet-outlier or baseline '
        "anomaly names), one chart per cohort: same test, metric, parameters, GPU model and driver, over the whole "
        "fleet. One dot per host or device; coloured dots are values the detectors flagged for that metric, "
        "labelled with their host" + (" (outlined: hosts of this report)" if scope else "") + ". Where a test ran at "
        "several message sizes the largest one is shown.</p>"
    )
    if not charts:
        body = '<p class="empty">No watched measurements in the store.</p>'
    else:
        body = '<div class="chart-grid">' + "".join(charts) + "</div>"
    return (
        f'<section id="distributions" class="card"><h2>Performance distributions</h2>{intro}'
        f'<p class="legend">{legend}</p>{body}</section>'
    )


def _footer(doc: dict[str, Any]) -> str:
    return (
        f'<footer class="foot">triage {_e(_version())} \u00b7 report schema <code>{REPORT_SCHEMA}</code> \u00b7 '
        f"generated {_e(doc['generated_at'])} \u00b7 a single self-contained file: no network needed to view or print "
        "it</footer>"
    )
