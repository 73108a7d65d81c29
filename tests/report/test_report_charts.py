"""SVG charts: standalone, well-formed, accessible, deterministic, and saying exactly what their data says."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

import polars as pl
import pytest

from triage.report.charts import (
    LEVEL_COLORS,
    STATUS_COLORS,
    Bar,
    TimelineEvent,
    TimelineLane,
    TimelineMark,
    bar_chart,
    format_number,
    host_timeline_svg,
    nice_ticks,
    root_cause_bars,
    status_bars,
    strip_chart,
)

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    """The chart as XML: it must be a well-formed standalone SVG document (as IPython.display.SVG needs)."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def find(root: ET.Element, tag: str, cls: str | None = None) -> list[ET.Element]:
    found = root.iter(f"{SVG}{tag}")
    return [e for e in found if cls is None or cls in (e.get("class") or "").split()]


def texts(root: ET.Element, cls: str) -> list[str]:
    return [e.text or "" for e in find(root, "text", cls)]


def t(hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 11, 16, hh, mm, ss)


# -- numbers and axes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(422400.0, "422.4k", id="thousands"),
        pytest.param(1_500_000.0, "1.5M", id="millions"),
        pytest.param(2.5e9, "2.5G", id="billions"),
        pytest.param(403.67, "403.7", id="hundreds-one-decimal"),
        pytest.param(55.64, "55.64", id="four-significant"),
        pytest.param(0.012, "0.012", id="small"),
        pytest.param(12.0, "12", id="integer"),
        pytest.param(-3.5, "-3.5", id="negative"),
        pytest.param(9999.0, "9999", id="below-k"),
        pytest.param(float("nan"), "-", id="nan"),
    ],
)
def test_format_number(value: float, expected: str) -> None:
    assert format_number(value) == expected


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        pytest.param(315.88, 480.355, [300, 350, 400, 450, 500], id="bandwidth"),
        pytest.param(36, 90, [20, 40, 60, 80, 100], id="temperatures"),
        pytest.param(0, 1, [0, 0.2, 0.4, 0.6, 0.8, 1], id="unit-range"),
        pytest.param(0, 0, [-1, -0.5, 0, 0.5, 1], id="zero-width-at-zero"),
        pytest.param(5, 3, [3, 3.5, 4, 4.5, 5], id="reversed"),
    ],
)
def test_nice_ticks_cover_the_range_with_round_steps(lo: float, hi: float, expected: list[float]) -> None:
    assert nice_ticks(lo, hi) == expected


# -- bars -------------------------------------------------------------------------------------


def test_status_bars_show_every_status_with_its_count_and_share() -> None:
    root = parse(status_bars({"faulty": 12, "suspect": 1, "healthy": 11}))
    assert {k: root.get(k) for k in ("width", "height", "viewBox", "role")} == {
        "width": "440",
        "height": "126",
        "viewBox": "0 0 440 126",
        "role": "img",
    }
    assert root.get("aria-label") == "Hosts by status: faulty 12, suspect 1, healthy 11"
    assert root.find(f"{SVG}title").text == "Hosts by status"  # type: ignore[union-attr]
    bars = [
        (g.get("data-label"), g.get("data-value"), g.find(f"{SVG}rect").get("fill")) for g in find(root, "g", "bar")
    ]  # type: ignore[union-attr]
    assert bars == [
        ("faulty", "12", STATUS_COLORS["faulty"]),
        ("suspect", "1", STATUS_COLORS["suspect"]),
        ("healthy", "11", STATUS_COLORS["healthy"]),
    ]
    shown = [e.text for e in root.iter(f"{SVG}text")]
    assert shown == ["Hosts by status", "24 hosts", "faulty", "12 (50%)", "suspect", "1 (4%)", "healthy", "11 (46%)"]


def test_status_bars_of_no_hosts() -> None:
    root = parse(status_bars({}))
    assert [(g.get("data-label"), g.get("data-value")) for g in find(root, "g", "bar")] == [
        ("faulty", "0"),
        ("suspect", "0"),
        ("healthy", "0"),
    ]
    assert [float(r.get("width", "")) for r in find(root, "rect")] == [0.0, 0.0, 0.0]


def test_root_cause_bars_keep_the_given_order_and_colours() -> None:
    counts = {"gpu_memory": 3, "infiniband_link": 2, "application": 1}
    root = parse(root_cause_bars(counts, {"gpu_memory": "#d32f2f", "application": "#2e7d32"}))
    bars = [
        (g.get("data-label"), g.get("data-value"), g.find(f"{SVG}rect").get("fill")) for g in find(root, "g", "bar")
    ]  # type: ignore[union-attr]
    assert bars == [
        ("gpu_memory", "3", "#d32f2f"),
        ("infiniband_link", "2", "#64748b"),
        ("application", "1", "#2e7d32"),
    ]
    widths = [float(g.find(f"{SVG}rect").get("width", "")) for g in find(root, "g", "bar")]  # type: ignore[union-attr]
    assert widths[0] > widths[1] > widths[2] > 0


def test_root_cause_bars_without_causes_say_so() -> None:
    root = parse(root_cause_bars({}))
    assert find(root, "g", "bar") == []
    assert "No diagnosis asks for an action" in [e.text for e in root.iter(f"{SVG}text")]


def test_bar_labels_are_escaped() -> None:
    svg = bar_chart([Bar("<b>&", 1)], "a <title>")
    root = parse(svg)
    assert "<b>" not in svg
    assert [e.text for e in root.iter(f"{SVG}text")][:3] == ["a <title>", "<b>&", "1"]


# -- strip chart ------------------------------------------------------------------------------


def cohort(values: list[float], flagged: dict[int, str] | None = None) -> pl.DataFrame:
    flagged = flagged or {}
    return pl.DataFrame(
        {
            "label": [f"node{i:02d}" for i in range(len(values))],
            "value": values,
            "level": [flagged.get(i) for i in range(len(values))],
        },
        schema={"label": pl.String, "value": pl.Float64, "level": pl.String},
    )


def test_strip_chart_draws_a_dot_per_value_and_labels_the_flagged_ones() -> None:
    values = [400.0, 402.0, 404.0, 405.0, 406.0, 407.0, 408.0, 410.0, 300.0, 350.0]
    root = parse(strip_chart(cohort(values, {8: "drain", 9: "investigate"}), "nccl busbw", "GB/s", bad="low"))
    points = find(root, "circle", "point")
    assert len(points) == 10
    flagged = [
        (c.get("data-label"), c.get("data-value"), c.get("data-level"), c.get("fill"))
        for c in find(root, "circle", "flagged")
    ]
    assert flagged == [
        ("node08", "300", "drain", LEVEL_COLORS["drain"]),
        ("node09", "350", "investigate", LEVEL_COLORS["investigate"]),
    ]
    assert texts(root, "outlier-label") == ["node08", "node09"]
    assert [m.get("data-value") for m in find(root, "line", "median")] == ["404.5"]
    assert [e.text for e in root.iter(f"{SVG}text")][:2] == [
        "nccl busbw",
        "10 values · median 404.5 GB/s · lower is worse · 2 flagged",
    ]
    assert texts(root, "tick") == ["300", "325", "350", "375", "400", "425"]
    assert root.get("aria-label") == ("nccl busbw: 10 values, median 404.5 GB/s; flagged: node08 300, node09 350")


def test_strip_chart_labels_only_emphasised_flags_when_told_which() -> None:
    frame = cohort([10.0, 11.0, 12.0, 50.0, 60.0], {3: "drain", 4: "monitor"}).with_columns(
        emphasis=pl.Series([False, False, False, False, True])
    )
    root = parse(strip_chart(frame, "temperature", "C", bad="high", noun="device"))
    assert texts(root, "outlier-label") == ["node04"]
    assert [c.get("data-label") for c in find(root, "circle", "flagged")] == ["node03", "node04"]
    assert [c.get("stroke") for c in find(root, "circle", "point")] == ["#fff", "#fff", "#fff", "#fff", "#1f2937"]
    assert [e.text for e in root.iter(f"{SVG}text")][
        1
    ] == "5 devices · median 12 C · higher is worse · 2 flagged (1 labelled)"


def test_strip_chart_caps_the_labels_and_says_how_many() -> None:
    values = [100.0] * 20 + [float(10 + i) for i in range(12)]
    root = parse(strip_chart(cohort(values, {20 + i: "drain" for i in range(12)}), "x", max_labels=3))
    assert len(texts(root, "outlier-label")) == 3
    assert [e.text for e in root.iter(f"{SVG}text")][1].endswith("12 flagged (3 labelled)")


def test_strip_chart_piles_a_column_too_tall_for_dots() -> None:
    root = parse(strip_chart(cohort([0.0] * 60 + [38.0], {60: "drain"}), "ecc", "count", bad="high"))
    assert [p.get("data-count") for p in find(root, "rect", "pile")] == ["60"]
    assert [(c.get("data-label"), c.get("data-level")) for c in find(root, "circle", "point")] == [("node60", "drain")]


def test_strip_chart_of_many_values_draws_their_density() -> None:
    values = [float(400 + (i % 37)) for i in range(1000)] + [200.0]
    root = parse(strip_chart(cohort(values, {1000: "drain"}), "busbw", max_dots=600))
    assert len(find(root, "g", "density")) == 1
    assert sum(int(r.find(f"{SVG}title").text.split()[0]) for r in find(root, "g", "density")[0]) == 1000  # type: ignore[union-attr]
    assert [c.get("data-label") for c in find(root, "circle", "point")] == ["node1000"]


def test_strip_chart_without_values() -> None:
    root = parse(strip_chart(cohort([]), "empty"))
    assert find(root, "circle") == []
    assert [e.text for e in root.iter(f"{SVG}text")] == ["empty", "0 values", "No values"]


def test_strip_chart_skips_missing_values_and_escapes_labels() -> None:
    frame = pl.DataFrame(
        {"label": ["<a>", "b", "c"], "value": [1.0, None, float("nan")], "level": ["drain", None, None]}
    )
    svg = strip_chart(frame, "t")
    root = parse(svg)
    assert [c.get("data-label") for c in find(root, "circle")] == ["<a>"]
    assert "<a>" not in svg


def test_charts_are_deterministic() -> None:
    values = [float(v) for v in range(50)]
    assert strip_chart(cohort(values, {0: "drain"}), "x") == strip_chart(cohort(values, {0: "drain"}), "x")


# -- timeline ---------------------------------------------------------------------------------

LANES = [
    TimelineLane("1", "0000:3b:00.0", "gpu_memory · rma_gpu", "#d32f2f", t(7, 12, 3), t(7, 40, 10)),
    TimelineLane("2", "node", "application · restart_app"),
]
EVENTS = [
    TimelineEvent("1", t(7, 12, 3), "log", "xid-48: first", label="xid-48"),
    TimelineEvent("1", t(7, 40, 10), "log", "xid-48: after the reboot", label="xid-48"),
    TimelineEvent("1", t(7, 12, 3), "log", "xid-63: same second", label="xid-63"),
    TimelineEvent("1", t(7, 25), "test", "dcgm_memory fail", label="dcgm_memory"),
    TimelineEvent("2", t(7, 35), "metric", "fleet_outlier busbw", label="fleet_outlier"),
]
MARKS = [TimelineMark(t(7, 0), "boot"), TimelineMark(t(7, 20), "GPU reset", "reset"), TimelineMark(t(7, 30), "boot")]


def test_timeline_places_events_on_their_lanes_with_boots_and_resets() -> None:
    root = parse(host_timeline_svg(LANES, EVENTS, MARKS, title="node-a: timeline"))
    assert [g.get("data-lane") for g in find(root, "g", "lane")] == ["1", "2"]
    shapes = [
        (e.tag.removeprefix(SVG), e.get("class")) for e in root.iter() if "event" in (e.get("class") or "").split()
    ]
    assert sorted(shapes) == [
        ("circle", "event log"),
        ("circle", "event log"),
        ("circle", "event log"),
        ("polygon", "event metric"),
        ("rect", "event test"),
    ]
    assert [g.get("class") for g in find(root, "g", "mark")] == ["mark boot", "mark reset", "mark boot"]
    assert len(find(root, "rect", "span")) == 1
    assert texts(root, "event-label") == ["xid-48", "dcgm_memory", "fleet_outlier"]
    assert texts(root, "tick") == ["07:00", "07:10", "07:20", "07:30", "07:40"]
    assert texts(root, "day") == ["Nov 16"]
    tips = sorted(e.find(f"{SVG}title").text for e in root.iter() if "event" in (e.get("class") or "").split())  # type: ignore[union-attr]
    assert tips[0] == "2026-11-16T07:12:03Z xid-48: first"
    assert root.get("aria-label") == (
        "node-a: timeline: 5 dated events on 2 lanes from 2026-11-16 06:58 to 2026-11-16 07:41 UTC"
    )


def test_timeline_gives_an_unknown_lane_a_row_of_its_own() -> None:
    events = [TimelineEvent("x", t(8, 0), text="other"), TimelineEvent("1", t(8, 30), text="known")]
    root = parse(host_timeline_svg(LANES[:1], events))
    assert [g.get("data-lane") for g in find(root, "g", "lane")] == ["1", "x"]


def test_timeline_of_one_instant_spans_two_minutes() -> None:
    root = parse(host_timeline_svg(LANES[1:], [TimelineEvent("2", t(9, 0, 30), text="once")]))
    assert texts(root, "tick") == ["08:59:30", "09:00:00", "09:00:30", "09:01:00", "09:01:30"]


def test_timeline_without_dated_events_says_so() -> None:
    root = parse(host_timeline_svg([TimelineLane("1", "mlx5_2/1")], [], title="node-b: timeline"))
    assert [e.text for e in root.iter(f"{SVG}text")] == ["node-b: timeline", "No time-stamped events"]
    assert root.get("aria-label") == "node-b: timeline: no time-stamped events"


def test_timeline_escapes_text() -> None:
    svg = host_timeline_svg([TimelineLane("1", "<dev>")], [TimelineEvent("1", t(1, 0), text="<script>x</script>")])
    parse(svg)
    assert "<script>" not in svg and "<dev>" not in svg
