"""The report as Markdown: fleet summary, RMA list, then each faulty and suspect host with its evidence.

Rendered from the `triage.report/v1` document, so it says exactly what the JSON says. Log text
is always code-formatted (a line of a log is never read as Markdown); table cells escape `|`.
Healthy hosts are listed on one line at the end, with any diagnosis they carry (application
faults are listed, not blamed on the node).
"""

from __future__ import annotations

import re
from typing import Any

from triage.report.common import STATUS_ORDER

RMA_ACTIONS_TEXT = "rma_*, replace_cable or contact_vendor"


def render_markdown(doc: dict[str, Any]) -> str:
    """Markdown for a report document from `build_report`."""
    fleet = doc["fleet"]
    out = ["# Triage report", ""]
    out.append(
        f"Generated {doc['generated_at']}: {_n(fleet['hosts'], 'host')}, "
        f"{fleet['faulty']} faulty, {fleet['suspect']} suspect, {fleet['healthy']} healthy."
    )
    out += ["", "## Fleet", "", "| status | hosts |", "|---|---:|"]
    out += [f"| {status} | {fleet[status]} |" for status in STATUS_ORDER]
    out.append("")
    if fleet["by_root_cause"]:
        out += ["| root cause | diagnoses |", "|---|---:|"]
        out += [f"| {_cell(cause)} | {n} |" for cause, n in fleet["by_root_cause"].items()]
    else:
        out.append("No diagnosis asks for an action.")
    out += ["", "## RMA list", ""]
    rma = [(h["host"], d) for h in doc["hosts"] for d in h["diagnoses"] if is_rma_action(d["action"])]
    if rma:
        out += [
            "| host | device | serial | uuid / guid | pci | root cause | action | summary |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for host, d in rma:
            ident = d["identity"]
            cells = [
                host,
                d["device"] or "node",
                ident.get("serial"),
                ident.get("uuid") or ident.get("guid"),
                ident.get("pci_bdf"),
                d["root_cause"],
                d["action"],
                d["summary"],
            ]
            out.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    else:
        out.append(f"Nothing to return or replace (no diagnosis asks for {RMA_ACTIONS_TEXT}).")
    for host in doc["hosts"]:
        if host["status"] == "healthy":
            continue
        out += ["", f"## {host['host']} ({host['status']})"]
        for d in host["diagnoses"]:
            out += _diagnosis(d)
    healthy = [h for h in doc["hosts"] if h["status"] == "healthy"]
    out += ["", f"## Healthy hosts ({len(healthy)})", ""]
    if healthy:
        out.append(", ".join(_healthy(h) for h in healthy))
    else:
        out.append("None.")
    return "\n".join(out) + "\n"


def is_rma_action(action: str | None) -> bool:
    """True for the RMA list's actions: rma_*, replace_cable and contact_vendor."""
    return action is not None and (action.startswith("rma_") or action in ("replace_cable", "contact_vendor"))


def _diagnosis(d: dict[str, Any]) -> list[str]:
    device = d["device"] or "node"
    out = ["", f"### {d['component'] or '-'} {device}: {d['root_cause']}, {d['action']}", ""]
    if d["summary"]:
        out += [_text(d["summary"]), ""]
    confidence = "-" if d["confidence"] is None else f"{d['confidence']:g}"
    out.append(f"- severity: {d['severity']}, confidence: {confidence}")
    if d["identity"]:
        out.append("- identity: " + ", ".join(f"{k} {_code(str(v))}" for k, v in d["identity"].items()))
    if d["related"]:
        out.append("- related: " + ", ".join(_code(r) for r in d["related"]))
    if d["evidence"]:
        out += ["", "Evidence:", ""]
        out += [f"- {_evidence(item)}" for item in d["evidence"]]
    return out


def _evidence(item: dict[str, Any]) -> str:
    where = item["file"] if item["file"] is not None else "-"
    if item["line_no"] is not None:
        where += f":{item['line_no']}"
    parts = [_code(where)]
    if item["ts"]:
        parts.append(item["ts"])
    if item["kind"] == "log":
        if item["rule"]:
            parts.append(f"{item['rule']}:")
    elif item["kind"] == "metric":
        value = _num(item["value"])
        baseline = f" (baseline {_num(item['baseline'])})" if item["baseline"] is not None else ""
        parts.append(f"{item['detector']} {item['metric']} {value}{baseline}, {item['level']}:")
    else:
        parts.append(f"{item['test']} {item['status']}:")
    parts.append(_code(item["text"]) if item["text"] else "-")
    return " ".join(parts)


def _healthy(host: dict[str, Any]) -> str:
    listed = [f"{d['root_cause']}: {d['action']}" for d in host["diagnoses"]]
    return host["host"] + (f" ({'; '.join(listed)})" if listed else "")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _code(text: str) -> str:
    """`text` as an inline code span, whatever backticks it holds."""
    text = " ".join(text.splitlines())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _text(text: str) -> str:
    """Prose of ours (a summary) on one line, with Markdown's special characters escaped."""
    return re.sub(r"([\\`*\[\]<>|])", r"\\\1", " ".join(text.splitlines()))


def _cell(value: object) -> str:
    if value is None or value == "":
        return "-"
    return _text(str(value))


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
