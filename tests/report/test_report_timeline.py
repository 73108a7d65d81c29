"""One host's verdict and timeline: findings, resets, boots, failed tests, anomalies; lines around an incident."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from crafted import craft

from triage.report import UnknownHostError, host_timeline, host_verdict
from triage.report.timeline import TIMELINE_SCHEMA
from triage.store import Store


def test_verdict_is_the_hosts_report_entry(store: Store) -> None:
    verdict = host_verdict(craft(store), "node-b")
    assert (verdict["host"], verdict["status"]) == ("node-b", "faulty")
    assert [(d["device"], d["action"]) for d in verdict["diagnoses"]] == [("mlx5_2/1", "replace_cable")]


def test_verdict_of_a_healthy_host(store: Store) -> None:
    assert host_verdict(craft(store), "node-c") == {"host": "node-c", "status": "healthy", "diagnoses": []}


def test_timeline_in_time_order(store: Store) -> None:
    frame = host_timeline(craft(store), "node-a")
    assert frame.schema == TIMELINE_SCHEMA
    assert frame.select("kind", "source", "severity", "line_no").rows() == [
        ("boot", "boot 0", None, 1),
        ("finding", "xid-48", "critical", 2),
        ("finding", "xid-63", "warning", 3),
        ("reset", "gpu reset", None, 4),
        ("boot", "boot 1", None, 5),
        ("finding", "xid-48", "critical", 6),
        ("test", "dcgm_memory", "fail", 7),
    ]


def test_timeline_of_anomalies_and_findings_without_time(store: Store) -> None:
    frame = host_timeline(craft(store), "node-b")
    assert frame.select("kind", "source", "severity", "file", "text").rows() == [
        ("finding", "ib-link-down", "warning", "fleet/node-b/ibstat.txt", "State: Down"),
        ("anomaly", "counter_rate", "drain", "fleet/node-b/counters.txt",
         "symbol_error rose by 1322 in 1.17 h (1133/h, threshold 120/h)"),
    ]  # fmt: skip


def test_limit_keeps_the_first_rows(store: Store) -> None:
    assert host_timeline(craft(store), "node-a", limit=2)["line_no"].to_list() == [1, 2]


@pytest.mark.parametrize(
    ("around", "window", "lines"),
    [
        pytest.param(datetime(2026, 11, 16, 7, 20), timedelta(minutes=10), [2, 3, 4, 5], id="ten-minutes"),
        pytest.param(datetime(2026, 11, 16, 7, 40, 10), timedelta(seconds=1), [6], id="one-second"),
        pytest.param(datetime(2026, 11, 16, 9, 20, tzinfo=timezone(timedelta(hours=2))), timedelta(minutes=10),
                     [2, 3, 4, 5], id="aware-time-in-utc"),
        pytest.param(datetime(2026, 11, 17), timedelta(minutes=10), [], id="nothing-then"),
    ],
)  # fmt: skip
def test_around_keeps_the_window(store: Store, around: datetime, window: timedelta, lines: list[int]) -> None:
    assert host_timeline(craft(store), "node-a", around=around, window=window)["line_no"].to_list() == lines


def test_around_adds_every_line_of_the_window(store: Store) -> None:
    frame = host_timeline(craft(store), "node-d", around=datetime(2026, 11, 16, 9, 0), window=timedelta(minutes=1))
    assert frame.select("kind", "source", "text").rows() == [
        ("boot", "boot 0", "mce: [Hardware Error]: Machine check events logged")
    ]


def test_around_with_a_limit_keeps_the_nearest(store: Store) -> None:
    frame = host_timeline(
        craft(store), "node-a", around=datetime(2026, 11, 16, 7, 30), limit=2, window=timedelta(hours=1)
    )
    assert frame["line_no"].to_list() == [4, 5]


def test_unknown_host(store: Store) -> None:
    with pytest.raises(UnknownHostError, match=r"^no host 'node-z' in the store"):
        host_timeline(craft(store), "node-z")
