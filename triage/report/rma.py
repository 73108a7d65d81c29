"""RMA tickets: one per diagnosis asking for `rma_*` or `contact_vendor`, as text to paste or as JSON.

A ticket holds what a vendor asks for: the identity of the part (host, node serial, device,
serial, UUID, PCI address, model, part number, VBIOS, driver, firmware), the symptom codes with
counts, times and the number of boots they were seen in, failed test runs, anomalies, the actions
already tried as far as the store shows them, the evidence lines and the requested action.

Actions already tried are read from the logs, nothing is assumed: the boots seen in the host's
kernel logs (the most boots one kernel-log file shows, or distinct journal boot ids; boots - 1
reboots), GPU reset lines in kernel and text logs (`GPU reset`, `nvidia-smi -r`,
`nvidia-smi --gpu-reset`), and how often each failing test ran on the host, by status.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from triage.paths import default_rules_dir
from triage.report.common import RESET_PATTERN, RESET_SOURCES, iso
from triage.report.document import report_data
from triage.report.identity import node_serials
from triage.store import Store, host_condition

RESET_LINES = 5
REQUESTS = {
    "rma_gpu": "replace the GPU",
    "rma_hca": "replace the HCA",
    "rma_baseboard": "replace the GPU baseboard",
    "rma_dimm": "replace the DIMM",
    "rma_node": "replace the node",
    "contact_vendor": "vendor analysis of the fault",
}
IDENTITY_LABELS = {
    "index": "GPU index",
    "name": "HCA",
    "port": "Port",
    "slot": "Slot",
    "serial": "Serial",
    "uuid": "UUID",
    "guid": "GUID",
    "pci_bdf": "PCI address",
    "model": "Model",
    "part_number": "Part number",
    "vbios": "VBIOS",
    "driver": "Driver",
    "firmware": "Firmware",
}


def is_ticket_action(action: str | None) -> bool:
    """True for the actions that open a vendor ticket: rma_* and contact_vendor."""
    return action is not None and (action.startswith("rma_") or action == "contact_vendor")


def rma_tickets(store: Store, hosts: list[str] | None = None) -> list[dict[str, Any]]:
    """One ticket per rma_*/contact_vendor diagnosis of `hosts` (None: all), in report order."""
    data = report_data(store, hosts)
    wanted = data.diagnoses.with_row_index("_i").filter(
        pl.col("action").str.starts_with("rma_") | (pl.col("action") == "contact_vendor")
    )
    if wanted.height == 0:
        return []
    ids = wanted["diagnosis_id"].to_list()
    ticket_hosts = sorted(set(wanted["host"].to_list()))
    symptoms = _symptoms(store, ids)
    runs = _runs(store, ids)
    anomalies = _anomalies(store, ids)
    boots = _boots(store, ticket_hosts)
    resets = _resets(store, ticket_hosts)
    history = _test_history(store, ticket_hosts)
    serials = node_serials(store, ticket_hosts)
    tickets = []
    for d in wanted.iter_rows(named=True):
        did, host = d["diagnosis_id"], d["host"]
        host_boots = boots.get(host, 0)
        tests = runs.get(did, [])
        tickets.append(
            {
                "host": host,
                "node_serial": serials.get(host),
                "component": d["component"],
                "device": d["device"],
                "identity": data.identities[d["_i"]],
                "root_cause": d["root_cause"],
                "severity": d["severity"],
                "confidence": None if d["confidence"] is None else round(float(d["confidence"]), 3),
                "summary": d["summary"],
                "first_seen": iso(d["first_ts"]),
                "last_seen": iso(d["last_ts"]),
                "symptoms": symptoms.get(did, []),
                "tests": tests,
                "anomalies": anomalies.get(did, []),
                "tried": {
                    "boots_seen": host_boots,
                    "reboots": max(host_boots - 1, 0),
                    "gpu_resets": resets.get(host, []),
                    "test_runs": [
                        history[(host, t)] for t in dict.fromkeys(r["test"] for r in tests) if (host, t) in history
                    ],
                },
                "evidence": data.evidence.get(did, []),
                "requested_action": d["action"],
            }
        )
    return tickets


def render_rma_text(tickets: list[dict[str, Any]]) -> str:
    """The tickets as plain text, ready to paste into a vendor ticket; one block per ticket."""
    if not tickets:
        return "No diagnosis asks for an RMA or the vendor (rma_*, contact_vendor).\n"
    return "\n\n".join(_ticket_text(t) for t in tickets) + "\n"


def _ticket_text(t: dict[str, Any]) -> str:
    device = t["device"] or "node"
    title = f"RMA request: {t['host']} {t['component'] or ''} {device}: {t['requested_action']}".replace("  ", " ")
    lines = [title, "=" * len(title)]
    fields: list[tuple[str, Any]] = [("Host", t["host"]), ("Node serial", t["node_serial"]), ("Device", device)]
    fields += [(IDENTITY_LABELS.get(k, k), v) for k, v in t["identity"].items()]
    confidence = "" if t["confidence"] is None else f", confidence {t['confidence']:g}"
    fields += [
        ("Root cause", f"{t['root_cause']} ({t['severity']}{confidence})"),
        ("Summary", t["summary"]),
        ("First seen", t["first_seen"]),
        ("Last seen", t["last_seen"]),
    ]
    width = max(len(label) for label, _ in fields) + 1
    lines += [f"{label + ':':<{width}} {value}" for label, value in fields if value is not None and value != ""]
    if t["symptoms"]:
        lines += ["", "Symptoms:"]
        for s in t["symptoms"]:
            when = _span(s["first_ts"], s["last_ts"])
            boots = f", in {s['boots']} boots" if s["boots"] > 1 else ""
            lines.append(f"  - {s['label']} x{s['count']}" + (f", {when}" if when else "") + boots)
    if t["tests"]:
        lines += ["", "Test evidence:"]
        for r in t["tests"]:
            detail = f": {r['detail']}" if r["detail"] else ""
            lines.append(f"  - {r['test']} {r['status']}{detail}")
    if t["anomalies"]:
        lines += ["", "Anomalies:"]
        lines += [f"  - {a['detector']} {a['metric']}: {a['detail']}" for a in t["anomalies"]]
    lines += ["", "Actions already tried (from the logs):"]
    tried = t["tried"]
    boots = tried["boots_seen"]
    if boots:
        lines.append(f"  - boots seen in the kernel logs: {boots} ({tried['reboots']} reboot{_s(tried['reboots'])})")
    else:
        lines.append("  - boots seen in the kernel logs: none (no kernel log)")
    resets = tried["gpu_resets"]
    if resets:
        lines.append(f"  - GPU reset lines: {len(resets)}{' or more' if len(resets) >= RESET_LINES else ''}")
        lines += [f"      {_where(r)}{' ' + r['ts'] if r['ts'] else ''} {r['text']}" for r in resets]
    else:
        lines.append("  - GPU reset lines: none found")
    for h in tried["test_runs"]:
        counts = ", ".join(f"{n} {status}" for status, n in h["by_status"].items())
        lines.append(f"  - {h['test']}: ran {h['runs']} time{_s(h['runs'])} on this host ({counts})")
    if t["evidence"]:
        lines += ["", "Evidence:"]
        lines += [f"  {_evidence_line(item)}" for item in t["evidence"]]
    request = REQUESTS.get(t["requested_action"])
    lines += ["", f"Requested action: {t['requested_action']}" + (f" ({request})" if request else "")]
    return "\n".join(lines)


def _evidence_line(item: dict[str, Any]) -> str:
    head = _where(item) + (f" {item['ts']}" if item["ts"] else "")
    if item["kind"] == "metric":
        head += f" [{item['detector']} {item['metric']}]"
    elif item["kind"] == "test":
        head += f" [{item['test']} {item['status']}]"
    return f"{head} {item['text'] or ''}".rstrip()


def _where(item: dict[str, Any]) -> str:
    where = item["file"] or "-"
    return f"{where}:{item['line_no']}" if item["line_no"] is not None else where


def _span(first: str | None, last: str | None) -> str:
    if first is None or last is None or first == last:
        return first or last or ""
    if first[:10] == last[:10]:
        return f"{first} .. {last[11:]}"
    return f"{first} .. {last}"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


# -- queries ---------------------------------------------------------------------------------


def _ids(name: str) -> str:
    return f"WITH d AS (SELECT diagnosis_id, unnest({name}) AS id, unnest(range(len({name}))) AS pos FROM diagnoses "


def _symptoms(store: Store, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    frame = store.frame(
        _ids("finding_ids")
        + """WHERE diagnosis_id IN (SELECT unnest(?::BIGINT[])))
        SELECT d.diagnosis_id, f.rule_id, sum(f.count) AS count, min(f.first_ts) AS first_ts, max(f.last_ts) AS last_ts,
               min(d.pos) AS pos, list(f.finding_id) AS finding_ids
        FROM d JOIN findings f ON f.finding_id = d.id
        GROUP BY d.diagnosis_id, f.rule_id ORDER BY d.diagnosis_id, pos
        """,
        [ids],
    )
    boots = store.frame(
        """
        SELECT x.finding_id, count(DISTINCT (e.file_id, e.boot)) AS boots
        FROM (SELECT finding_id, unnest(evidence) AS ref FROM findings
              WHERE finding_id IN (SELECT unnest(finding_ids) FROM diagnoses
                                   WHERE diagnosis_id IN (SELECT unnest(?::BIGINT[])))) x
        JOIN events e ON e.file_id = x.ref.file_id AND e.line_no = x.ref.line_no
        WHERE e.boot IS NOT NULL
        GROUP BY x.finding_id
        """,
        [ids],
    )
    boots_of = dict(boots.iter_rows())
    out: dict[int, list[dict[str, Any]]] = {}
    for r in frame.iter_rows(named=True):
        out.setdefault(r["diagnosis_id"], []).append(
            {
                "code": r["rule_id"],
                "label": symptom_label(r["rule_id"]),
                "count": int(r["count"] or 0),
                "first_ts": iso(r["first_ts"]),
                "last_ts": iso(r["last_ts"]),
                "boots": max((boots_of.get(f, 0) for f in r["finding_ids"]), default=0),
            }
        )
    return out


def _runs(store: Store, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    frame = store.frame(
        _ids("run_ids")
        + """WHERE diagnosis_id IN (SELECT unnest(?::BIGINT[])))
        SELECT d.diagnosis_id, r.test, r.status, r.detail, r.started, fi.path AS file, r.line_no
        FROM d JOIN test_runs r ON r.run_id = d.id LEFT JOIN files fi ON fi.file_id = r.file_id
        ORDER BY d.diagnosis_id, d.pos
        """,
        [ids],
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for r in frame.iter_rows(named=True):
        item = {k: r[k] for k in ("test", "status", "detail", "file", "line_no")}
        item["started"] = iso(r["started"])
        out.setdefault(r["diagnosis_id"], []).append(item)
    return out


def _anomalies(store: Store, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    frame = store.frame(
        _ids("anomaly_ids")
        + """WHERE diagnosis_id IN (SELECT unnest(?::BIGINT[])))
        SELECT d.diagnosis_id, a.detector, a.metric, a.value, a.baseline, a.level, a.detail
        FROM d JOIN anomalies a ON a.anomaly_id = d.id ORDER BY d.diagnosis_id, d.pos
        """,
        [ids],
    )
    out: dict[int, list[dict[str, Any]]] = {}
    for r in frame.iter_rows(named=True):
        did = r.pop("diagnosis_id")
        out.setdefault(did, []).append(r)
    return out


def _boots(store: Store, hosts: list[str]) -> dict[str, int]:
    where, params = host_condition(hosts)
    frame = store.frame(
        f"""
        SELECT host, greatest(max(per_file), max(boot_ids)) AS boots FROM (
            SELECT host, file_id, count(DISTINCT boot) AS per_file, count(DISTINCT boot_id) AS boot_ids
            FROM events WHERE source = 'kernel_log' AND {where} GROUP BY host, file_id
        ) GROUP BY host
        """,
        params,
    )
    return {h: int(n) for h, n in frame.iter_rows()}


def _resets(store: Store, hosts: list[str]) -> dict[str, list[dict[str, Any]]]:
    where, params = host_condition(hosts, "e.host")
    frame = store.frame(
        f"""
        SELECT e.host, fi.path AS file, e.line_no, e.ts, e.message AS text
        FROM events e LEFT JOIN files fi ON fi.file_id = e.file_id
        WHERE e.source IN (SELECT unnest(?::VARCHAR[])) AND {where} AND regexp_matches(e.message, ?)
        QUALIFY row_number() OVER (PARTITION BY e.host ORDER BY e.ts NULLS LAST, e.file_id, e.line_no) <= {RESET_LINES}
        ORDER BY e.host, e.ts NULLS LAST, e.file_id, e.line_no
        """,
        [list(RESET_SOURCES), *params, RESET_PATTERN],
    )
    out: dict[str, list[dict[str, Any]]] = {}
    for r in frame.iter_rows(named=True):
        host = r.pop("host")
        r["ts"] = iso(r["ts"])
        out.setdefault(host, []).append(r)
    return out


def _test_history(store: Store, hosts: list[str]) -> dict[tuple[str, str], dict[str, Any]]:
    where, params = host_condition(hosts)
    frame = store.frame(
        f"SELECT host, test, status, count(*) AS n FROM test_runs WHERE {where} GROUP BY ALL "
        "ORDER BY host, test, n DESC, status",
        params,
    )
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for host, test, status, n in frame.iter_rows():
        entry = out.setdefault((host, test), {"test": test, "runs": 0, "by_status": {}})
        entry["runs"] += int(n)
        entry["by_status"][status] = int(n)
    return out


# -- symptom labels ---------------------------------------------------------------------------


def symptom_label(rule_id: str) -> str:
    """`XID 48 (Double Bit ECC Error)`, `SXid 20034 (...)` from the catalogs; other rules by id."""
    for prefix, name in (("xid-", "XID"), ("sxid-", "SXid")):
        if rule_id.startswith(prefix):
            code = rule_id[len(prefix) :]
            title = _catalog_titles(str(default_rules_dir()), prefix[:-1]).get(code)
            return f"{name} {code}" + (f" ({title})" if title else "")
    return rule_id


@cache
def _catalog_titles(rules_dir: str, catalog: str) -> dict[str, str]:
    path = Path(rules_dir) / "catalogs" / f"{catalog}.csv"
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            return {row["code"]: row["title"] for row in csv.DictReader(handle) if row.get("code") and row.get("title")}
    except OSError:
        return {}
