"""The HTML report: one self-contained page with the same verdicts as the JSON report, parsed back with html.parser.

Over the crafted store of crafted.py (node-a and node-b faulty, node-d suspect, node-c healthy) and over
the committed sample fleet (12 faulty nodes, 1 suspect) ingested and analysed once for this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest
from crafted import GEN, craft

from triage.report import UnknownHostError, render_csv
from triage.report.charts import STATUS_COLORS
from triage.report.html import render_html
from triage.store import Store

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# -- a small DOM over html.parser -------------------------------------------------------------


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def iter(self) -> Iterator[Node]:
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag)
            and (cls is None or cls in n.attrs.get("class", "").split())
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Node:
        found = self.all(tag, cls, **attrs)
        assert len(found) == 1, f"{len(found)} x {tag}.{cls} {attrs}"
        return found[0]

    def by_id(self, ident: str) -> Node:
        return self.one(id=ident)

    @property
    def text(self) -> str:
        parts: list[str] = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text)
        return " ".join("".join(parts).split())


class Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    builder = Builder()
    builder.feed(html)
    builder.close()
    assert [n.tag for n in builder.stack] == ["#document"], "unclosed elements"
    return builder.root


def rows(table: Node) -> list[list[str]]:
    return [[td.text for td in tr.all("td")] for body in table.all("tbody") for tr in body.all("tr")]


def header(table: Node) -> list[str]:
    return [th.text for th in table.one("thead").all("th")]


def stats(page: Node) -> dict[str, str]:
    return {a.attrs["data-stat"]: a.one("span", "n").text for a in page.all("a", "stat")}


def bars(figure: Node) -> dict[str, str]:
    return {g.attrs["data-label"]: g.attrs["data-value"] for g in figure.all("g", "bar")}


# -- the crafted store ------------------------------------------------------------------------


@pytest.fixture
def crafted(store: Store) -> Store:
    return craft(store)


@pytest.fixture
def page(crafted: Store) -> Node:
    return parse(render_html(crafted, generated_at=GEN))


def test_page_has_the_sections_in_order(page: Node) -> None:
    main = page.one("main")
    assert [s.attrs["id"] for s in main.children if isinstance(s, Node)] == [
        "summary", "charts", "rma", "fleet", "hosts", "distributions",
    ]  # fmt: skip
    assert page.one("head").one("title").text == "Triage report \u00b7 triage"  # the store is triage.duckdb
    assert page.one("h1").text == "Triage report \u00b7 triage"
    assert page.one("time").attrs["datetime"] == "2026-11-22T10:00:00Z"
    assert stats(page) == {"hosts": "4", "faulty": "2", "suspect": "1", "healthy": "1", "rma": "2"}
    assert page.one("footer").text.startswith("triage ")
    assert "report schema triage.report/v1" in page.one("footer").text


def test_what_to_do_lists_each_action_of_faulty_and_suspect_hosts(page: Node) -> None:
    summary = page.by_id("summary")
    assert summary.one("p", "lead").text == (
        "2 of 4 hosts faulty, 1 suspect, 1 healthy. To do: return or replace 2 parts; "
        "1 check (rerun, investigate, monitor)."
    )
    table = summary.one("table", "todo")
    assert header(table) == ["Host", "Part", "Problem", "Action", "Conf."]
    assert rows(table) == [
        [
            "faulty node-a",
            "GPU 2 0000:3b:00.0S/N 1654321098765",
            "GPU memory (HBM)Uncorrectable HBM ECC (XID 48) twice, across a reboot, on GPU 2",
            "Return the GPU to the vendor (RMA) rma_gpu",
            "0.95",
        ],
        [
            "faulty node-b",
            "cable mlx5_2/1GUID 0xa088c203313ae1d9",
            "InfiniBand linkSymbol errors rising and the link went down on mlx5_2/1",
            "Replace the cable or transceiver replace_cable",
            "0.80",
        ],
        [
            "suspect node-d",
            "CPU (node)",
            "Host hardwareCorrected machine-check errors",
            "Keep an eye on it monitor",
            "0.40",
        ],
    ]
    assert [a.attrs["href"] for a in table.all("a", "host")] == ["#host-node-a", "#host-node-b", "#host-node-d"]


def test_charts_count_hosts_by_status_and_verdicts_by_root_cause(page: Node) -> None:
    charts = page.by_id("charts")
    status = charts.one("figure", data_chart="status")
    assert bars(status) == {"faulty": "2", "suspect": "1", "healthy": "1"}
    causes = charts.one("figure", data_chart="root-cause")
    assert bars(causes) == {"application": "1", "gpu_memory": "1", "host_hardware": "1", "infiniband_link": "1"}
    fills = {g.attrs["data-label"]: g.one("rect").attrs["fill"] for g in causes.all("g", "bar")}
    assert fills == {
        "application": STATUS_COLORS["healthy"],
        "gpu_memory": STATUS_COLORS["faulty"],
        "host_hardware": STATUS_COLORS["suspect"],
        "infiniband_link": STATUS_COLORS["faulty"],
    }
    for svg in charts.all("svg"):
        assert svg.attrs["role"] == "img" and svg.attrs["aria-label"] and svg.attrs["viewbox"]


def test_rma_table_has_the_parts_to_send_back_with_their_identity(page: Node) -> None:
    table = page.by_id("rma-table")
    assert "sortable" in table.attrs["class"].split()
    assert header(table) == [
        "Host", "Component", "Device", "Root cause", "Action", "Serial", "UUID / GUID", "PCI", "Model",
        "Part number", "Node serial", "Conf.", "First seen", "Last seen", "Evidence",
    ]  # fmt: skip
    assert rows(table) == [
        [
            "node-a", "gpu", "0000:3b:00.0", "gpu_memory", "rma_gpu", "1654321098765",
            "GPU-11111111-2222-3333-4444-555555555555", "0000:3b:00.0", "NVIDIA H100 80GB HBM3",
            "692-2G520-0200-000", "NODE-SN-1", "0.95", "2026-11-16T07:12:03Z", "2026-11-16T07:40:10Z",
            "xid-48 x2, xid-63 x1; dcgm_memory fail",
        ],
        [
            "node-b", "cable", "mlx5_2/1", "infiniband_link", "replace_cable", "\u2014", "0xa088c203313ae1d9",
            "\u2014", "MT4129", "MT_0000000838", "\u2014", "0.80", "\u2014", "\u2014",
            "ib-link-down x1; counter_rate symbol_error",
        ],
    ]  # fmt: skip
    assert page.one("input", data_filter="rma-table").attrs["type"] == "search"
    assert page.one(data_count="rma-table").text == "2 parts"


def test_rma_csv_is_embedded(crafted: Store, page: Node) -> None:
    link = page.by_id("rma").one("a", "download")
    prefix = "data:text/csv;charset=utf-8,"
    assert link.attrs["href"].startswith(prefix)
    assert unquote(link.attrs["href"].removeprefix(prefix)) == render_csv(crafted)
    assert link.attrs["download"] == "triage-actions.csv"


def test_fleet_table_lists_every_host_with_filters(page: Node) -> None:
    table = page.by_id("fleet-table")
    assert header(table) == ["Host", "Status", "Diagnoses", "Root cause", "Action", "Device", "Worst verdict"]
    assert rows(table) == [
        ["node-a", "faulty", "2", "gpu_memory", "rma_gpu", "0000:3b:00.0",
         "Uncorrectable HBM ECC (XID 48) twice, across a reboot, on GPU 2"],
        ["node-b", "faulty", "1", "infiniband_link", "replace_cable", "mlx5_2/1",
         "Symbol errors rising and the link went down on mlx5_2/1"],
        ["node-d", "suspect", "1", "host_hardware", "monitor", "\u2014", "Corrected machine-check errors"],
        ["node-c", "healthy", "0", "\u2014", "\u2014", "\u2014", "\u2014"],
    ]  # fmt: skip
    assert [tr.attrs["data-status"] for tr in table.one("tbody").all("tr")] == [
        "faulty", "faulty", "suspect", "healthy",
    ]  # fmt: skip
    links = [a.attrs["href"] for a in table.all("a")]
    assert links == ["#host-node-a", "#host-node-b", "#host-node-d"]  # healthy hosts have no section
    select = page.one("select", data_filter_status="fleet-table")
    assert [o.attrs["value"] for o in select.all("option")] == ["", "faulty", "suspect", "healthy"]
    assert page.one("input", data_filter="fleet-table")


def test_host_sections_for_faulty_and_suspect_hosts_only(page: Node) -> None:
    hosts = page.by_id("hosts")
    sections = hosts.all("section", "host")
    assert [(s.attrs["id"], s.attrs["class"]) for s in sections] == [
        ("host-node-a", "host faulty"),
        ("host-node-b", "host faulty"),
        ("host-node-d", "host suspect"),
    ]
    node_a = hosts.by_id("host-node-a")
    heads = [a.one("div", "diag-head").text for a in node_a.all("article", "diagnosis")]
    assert heads == [
        "gpu0000:3b:00.0gpu_memory\u2192rma_gpucriticalconfidence 0.952026-11-16T07:12:03Z \u2192 2026-11-16T07:40:10Z",
        "softwarenodeapplication\u2192restart_appwarningconfidence 0.50",
    ]
    identity = {d.one("dt").text: d.one("dd").text for d in node_a.all("dl", "identity")[0].all("div")}
    assert identity == {
        "GPU index": "2", "PCI address": "0000:3b:00.0", "Serial": "1654321098765",
        "UUID": "GPU-11111111-2222-3333-4444-555555555555", "Model": "NVIDIA H100 80GB HBM3",
        "Part number": "692-2G520-0200-000", "VBIOS": "96.00.74.00.01", "Driver": "550.54.15",
    }  # fmt: skip
    evidence = node_a.all("table", "evidence")[0]
    assert [
        [tr.one("span", "kind").text, tr.one("td", "source").text, tr.one("span", "file").text,
         tr.one("span", "ts").text, tr.one("pre", "line").text]
        for tr in evidence.one("tbody").all("tr")
    ] == [
        ["log", "xid-48", "fleet/node-a/dmesg.log:2", "2026-11-16T07:12:03Z", crafted_line(2)],
        ["log", "xid-48", "fleet/node-a/dmesg.log:6", "2026-11-16T07:40:10Z", crafted_line(6)],
        ["log", "xid-63", "fleet/node-a/dmesg.log:3", "2026-11-16T07:12:03Z", crafted_line(3)],
        ["test", "dcgm_memory fail", "fleet/node-a/dcgm.txt:7", "", "GPU 2 had uncorrectable memory errors"],
    ]  # fmt: skip
    node_b = hosts.by_id("host-node-b")
    assert [tr.one("td", "source").text for tr in node_b.one("table", "evidence").one("tbody").all("tr")] == [
        "counter_rate symbol_error 1133 (expected 120), drain",
        "ib-link-down",
    ]


def crafted_line(line_no: int) -> str:
    from crafted import EVENTS

    return next(e[6] for e in EVENTS if e[1] == 1 and e[2] == line_no)


def test_host_timeline_shows_the_dated_evidence_with_boots_and_resets(page: Node) -> None:
    svg = page.by_id("host-node-a").one("svg", "timeline")
    assert [g.attrs["data-lane"] for g in svg.all("g", "lane")] == ["2", "1"]
    assert len(svg.all(cls="event")) == 3
    assert [g.attrs["class"] for g in svg.all("g", "mark")] == ["mark boot", "mark reset", "mark boot"]
    assert [t.text for t in svg.all("text", "event-label")] == ["xid-48"]
    no_dates = page.by_id("host-node-b").one("svg", "timeline")
    assert no_dates.attrs["aria-label"] == "node-b: timeline: no time-stamped events"


def test_store_text_is_escaped(crafted: Store) -> None:
    crafted.execute("UPDATE events SET message = '<script>alert(1)</script> & \"q\"' WHERE file_id = 1 AND line_no = 2")
    crafted.execute("UPDATE diagnoses SET summary = '<img src=x onerror=alert(2)>' WHERE diagnosis_id = 2")
    crafted.execute("UPDATE files SET path = 'fleet/node-a/<b>dmesg</b>.log' WHERE file_id = 1")
    html = render_html(crafted, generated_at=GEN)
    page = parse(html)
    assert len(page.all("script")) == 1 and page.all("img") == [] and page.all("b") == []
    lines = [pre.text for pre in page.by_id("host-node-a").all("pre", "line")]
    assert lines[0] == '<script>alert(1)</script> & "q"'
    assert page.by_id("host-node-a").all("p", "summary")[0].text == "<img src=x onerror=alert(2)>"
    assert page.by_id("host-node-a").all("span", "file")[0].text == "fleet/node-a/<b>dmesg</b>.log:2"
    assert "<script>alert(1)" not in html


def test_page_is_self_contained(page: Node, crafted: Store) -> None:
    html = render_html(crafted, generated_at=GEN)
    assert not re.search(r"https?://", html)
    assert [n.tag for n in page.iter() if "src" in n.attrs] == []
    assert page.all("link") == [] and page.all("iframe") == [] and page.all("object") == []
    hrefs = {n.attrs["href"] for n in page.iter() if "href" in n.attrs}
    assert {h for h in hrefs if not (h.startswith("#") or h.startswith("data:text/csv;"))} == set()
    ids = {n.attrs["id"] for n in page.iter() if "id" in n.attrs}
    assert {h[1:] for h in hrefs if h.startswith("#")} <= ids
    assert len(page.all("style")) == 1 and len(page.all("script")) == 1


def test_output_is_deterministic_and_titled(crafted: Store) -> None:
    first = render_html(crafted, generated_at=GEN, title="Burn-in <rack 12>")
    assert first == render_html(crafted, generated_at=GEN, title="Burn-in <rack 12>")
    page = parse(first)
    assert page.one("head").one("title").text == "Burn-in <rack 12>" and page.one("h1").text == "Burn-in <rack 12>"


def test_generated_at_defaults_to_now(crafted: Store) -> None:
    stamp = parse(render_html(crafted)).one("time").attrs["datetime"]
    assert (
        abs((datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ") - datetime.now(UTC).replace(tzinfo=None)).total_seconds())
        < 120
    )


def test_hosts_limit_the_report(crafted: Store) -> None:
    page = parse(render_html(crafted, hosts=["node-b"], generated_at=GEN))
    assert stats(page) == {"hosts": "1", "faulty": "1", "suspect": "0", "healthy": "0", "rma": "1"}
    assert [r[0] for r in rows(page.by_id("rma-table"))] == ["node-b"]
    assert [r[0] for r in rows(page.by_id("fleet-table"))] == ["node-b"]
    assert [s.attrs["id"] for s in page.all("section", "host")] == ["host-node-b"]


def test_a_healthy_host_alone(crafted: Store) -> None:
    page = parse(render_html(crafted, hosts=["node-c"], generated_at=GEN))
    assert page.by_id("summary").one("p", "lead").text == "The host is healthy: nothing to do."
    assert page.by_id("rma").one("p", "empty").text == "Nothing to return or replace."
    assert page.by_id("hosts").one("p", "empty").text == "No faulty or suspect host."


def test_unknown_hosts_are_refused(crafted: Store) -> None:
    with pytest.raises(UnknownHostError, match="no host 'node-x'"):
        render_html(crafted, hosts=["node-x"])


def test_empty_store_renders(store: Store) -> None:
    page = parse(render_html(store, generated_at=GEN))
    assert stats(page) == {"hosts": "0", "faulty": "0", "suspect": "0", "healthy": "0", "rma": "0"}
    assert page.by_id("summary").one("p", "lead").text == (
        "The store has no hosts yet: run triage ingest and triage analyze first."
    )
    assert [p.text for p in page.all("p", "empty")] == [
        "Nothing to return or replace.",
        "No hosts in the store.",
        "No faulty or suspect host.",
        "No watched measurements in the store.",
    ]
    assert page.all("table") == []
    assert bars(page.by_id("charts").one("figure", data_chart="status")) == {
        "faulty": "0",
        "suspect": "0",
        "healthy": "0",
    }


# -- the sample fleet -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_store(sample_db: Path) -> Iterator[Store]:
    with Store.open(sample_db, read_only=True) as store:
        yield store


@pytest.fixture(scope="module")
def sample_page(sample_store: Store) -> Node:
    return parse(render_html(sample_store, generated_at=GEN))


def test_sample_fleet_rma_table(sample_page: Node) -> None:
    assert [(r[0], r[2], r[4]) for r in rows(sample_page.by_id("rma-table"))] == [
        ("node0001", "mlx5_2/1", "replace_cable"),
        ("node0006", "0000:ba:00.0", "rma_gpu"),
        ("node0008", "0000:05:00.0", "rma_baseboard"),
        ("node0011", "0000:ba:00.0", "rma_gpu"),
        ("node0013", "mlx5_7/1", "rma_hca"),
        ("node0022", "0000:5d:00.0", "rma_gpu"),
        ("node0024", "CPU_SrcID#0_MC#1_Chan#0_DIMM#0", "rma_dimm"),
    ]
    assert stats(sample_page) == {"hosts": "24", "faulty": "12", "suspect": "1", "healthy": "11", "rma": "7"}


def test_sample_fleet_summary_and_host_sections(sample_page: Node) -> None:
    todo = [(r[0], r[3].rsplit(" ", 1)[1]) for r in rows(sample_page.by_id("summary").one("table", "todo"))]
    assert todo == [
        ("faulty node0001", "replace_cable"), ("faulty node0003", "reset_gpu"), ("faulty node0006", "rma_gpu"),
        ("faulty node0007", "check_mechanicals"), ("faulty node0008", "rma_baseboard"),
        ("faulty node0010", "reset_gpu"), ("faulty node0011", "rma_gpu"), ("faulty node0013", "rma_hca"),
        ("faulty node0019", "reboot_node"), ("faulty node0021", "check_mechanicals"),
        ("faulty node0022", "rma_gpu"), ("faulty node0024", "rma_dimm"), ("suspect node0020", "rerun_test"),
    ]  # fmt: skip
    assert [s.attrs["id"] for s in sample_page.all("section", "host")] == [
        f"host-node00{n}" for n in ("01", "03", "06", "07", "08", "10", "11", "13", "19", "21", "22", "24", "20")
    ]
    assert len(rows(sample_page.by_id("fleet-table"))) == 24


def test_sample_fleet_charts(sample_page: Node) -> None:
    charts = sample_page.by_id("charts")
    assert bars(charts.one("figure", data_chart="status")) == {"faulty": "12", "suspect": "1", "healthy": "11"}
    assert bars(charts.one("figure", data_chart="root-cause")) == {
        "driver_firmware": "2", "gpu_hardware": "2", "gpu_memory": "2", "application": "1", "host_memory": "1",
        "infiniband_hca": "1", "infiniband_link": "1", "nvswitch": "1", "pcie": "1", "performance": "1",
        "thermal_power": "1",
    }  # fmt: skip


def flagged(figure: Node) -> list[tuple[str, str]]:
    return [(c.attrs["data-label"], c.attrs["data-level"]) for c in figure.all("circle", "flagged")]


def test_sample_fleet_distributions(sample_page: Node) -> None:
    figures = sample_page.by_id("distributions").all("figure")
    charted = [(f.attrs["data-test"], f.attrs["data-metric"]) for f in figures]
    assert charted[:5] == [
        ("nccl_all_reduce", "busbw"),
        ("hpl", "gflops"),
        ("nvbandwidth", "host_to_device_memcpy_ce"),
        ("nvbandwidth", "device_to_host_memcpy_ce"),
        ("nvidia_smi", "temperature_gpu"),
    ]
    assert sorted(charted[5:]) == charted[5:]
    assert ("nvidia_smi", "pcie_width_current") in charted and ("nccl_all_reduce", "avg_busbw") in charted
    by_metric = dict(zip(charted, figures, strict=True))
    busbw = by_metric[("nccl_all_reduce", "busbw")]
    assert flagged(busbw) == [("node0020", "drain"), ("node0001", "drain")]
    assert len(busbw.all("circle", "point")) == 20
    assert flagged(by_metric[("hpl", "gflops")]) == [("node0021", "drain")]
    assert flagged(by_metric[("nvidia_smi", "temperature_gpu")]) == [("node0021 0000:2a:00.0", "drain")]
    assert flagged(by_metric[("nvidia_smi", "pcie_width_current")]) == [("node0007 0000:2a:00.0", "drain")]
    labels = [t.text for t in busbw.all("text", "outlier-label")]
    assert labels == ["node0020", "node0001"]


def test_sample_fleet_distributions_outline_the_hosts_in_scope(sample_store: Store) -> None:
    page = parse(render_html(sample_store, hosts=["node0007"], generated_at=GEN))
    figures = page.by_id("distributions").all("figure")
    labels = {t.text for f in figures for t in f.all("text", "outlier-label")}
    assert labels == {"node0007", "node0007 0000:2a:00.0"}
    busbw = next(f for f in figures if f.attrs["data-metric"] == "busbw")
    assert flagged(busbw) == [("node0020", "drain"), ("node0001", "drain")]  # the fleet's, unlabelled
    assert [c.attrs["stroke"] for c in busbw.all("circle", "point")].count("#1f2937") == 1
