"""The rule engine on small packs written for the tests: matching, devices, catalogs, thresholds."""

from __future__ import annotations

import json
import shutil
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from triage.signatures import engine
from triage.signatures.loader import load_rules
from triage.signatures.model import RulePack

TAXONOMY = Path(__file__).parents[2] / "rules" / "taxonomy.yaml"
T0 = datetime(2026, 11, 20, 3, 0, 0)

PACK = """\
rules:
  - id: xid
    title: XID
    description: generic xid
    source: any
    match: {keywords: ["NVRM: Xid"], regex: 'NVRM: Xid \\((?:PCI:)?(?P<bdf>[0-9a-fA-F:.]+)\\): (?P<xid>\\d+)'}
    device: bdf
    catalog: {name: xid, key: xid}
    component: gpu
    root_cause: unknown
    action: investigate
    severity: error
    examples: {match: ["NVRM: Xid (PCI:0000:3b:00): 48, pid=1"]}
  - id: ib-flap
    title: IPoIB link flapping
    description: lost carrier five times in a day
    source: kernel_log
    match: {keywords: ["lost carrier"], regex: '(?P<iface>ib\\d+): [Ll]ost carrier', exclude: 'eth\\d'}
    device: iface
    threshold: {count: 3, within: 1h}
    component: cable
    root_cause: infiniband_link
    action: replace_cable
    severity: error
    examples: {match: ["ib0: lost carrier"]}
  - id: oom
    title: OOM kill
    description: host out of memory
    source: kernel_log
    match: {keywords: ["Out of memory"], regex: 'Out of memory: Killed process (?P<pid>\\d+)'}
    threshold: {count: 2, by: host}
    component: node
    root_cause: application
    action: restart_app
    severity: warning
    examples: {match: ["Out of memory: Killed process 12 (python3)"]}
"""
CATALOG = "code,title,component,root_cause,action,severity\n48,Double bit ECC error,gpu,gpu_memory,reset_gpu,critical\n"


@pytest.fixture(scope="module")
def pack(tmp_path_factory: pytest.TempPathFactory) -> RulePack:
    folder = tmp_path_factory.mktemp("rules")
    shutil.copy(TAXONOMY, folder / "taxonomy.yaml")
    (folder / "catalogs").mkdir()
    (folder / "catalogs" / "xid.csv").write_text(CATALOG)
    (folder / "pack.yaml").write_text(textwrap.dedent(PACK))
    return load_rules(folder)


def events(
    lines: list[tuple[str, timedelta | None]], host: str = "node017", source: str = "kernel_log"
) -> pl.DataFrame:
    """Events of one file: (message, offset from T0 or None for no time)."""
    return pl.DataFrame(
        {
            "host": host,
            "file_id": 1,
            "line_no": list(range(1, len(lines) + 1)),
            "ts": [T0 + off if off is not None else None for _, off in lines],
            "uptime_s": [None] * len(lines),
            "boot": 0,
            "source": source,
            "message": [msg for msg, _ in lines],
        },
        schema=engine.EVENT_SCHEMA,
    )


def run(pack: RulePack, frame: pl.DataFrame) -> pl.DataFrame:
    return engine.findings(pack, engine.match(pack, frame))


@pytest.mark.parametrize(
    ("spelling", "device"),
    [
        pytest.param("PCI:0000:3b:00", "0000:3b:00.0", id="xid_form"),
        pytest.param("0000:3B:00", "0000:3b:00.0", id="upper_case"),
        pytest.param("3b:00.0", "0000:3b:00.0", id="no_domain"),
        pytest.param("00000000:3b:00.0", "0000:3b:00.0", id="eight_digit_domain"),
        pytest.param("0002:01:00.1", "0002:01:00.1", id="function_kept"),
        pytest.param("10000:01:00.0", "10000:01:00.0", id="vmd_five_digit_domain"),
        pytest.param("ib0", "ib0", id="not_pci"),
    ],
)
def test_pci_devices_are_normalised(spelling: str, device: str) -> None:
    out = pl.DataFrame({"d": [spelling]}).select(engine.normalize_device(pl.col("d")))

    assert out.item() == device


def test_catalog_codes_take_their_taxonomy_and_unknown_codes_keep_the_rule_defaults(pack: RulePack) -> None:
    found = run(
        pack, events([("NVRM: Xid (PCI:0000:3b:00): 48, pid=1", None), ("NVRM: Xid (0000:3b:00): 999, x", None)])
    )

    assert found.select("rule_id", "device", "root_cause", "action", "severity").rows() == [
        ("xid-48", "0000:3b:00.0", "gpu_memory", "reset_gpu", "critical"),
        ("xid-999", "0000:3b:00.0", "unknown", "investigate", "error"),
    ]
    assert json.loads(found["fields"][0]) == {"bdf": "0000:3b:00", "xid": "48"}


@pytest.mark.parametrize(
    ("minutes", "fires"),
    [
        pytest.param([0, 20, 40], True, id="three_in_forty_minutes"),
        pytest.param([0, 50, 100], False, id="three_spread_over_100_minutes"),
        pytest.param([0, 70, 80, 90], True, id="later_three_inside_one_hour"),
        pytest.param([0, 20], False, id="only_two"),
    ],
)
def test_threshold_counts_hits_inside_one_window(pack: RulePack, minutes: list[int], fires: bool) -> None:
    lines = [("ib0: lost carrier", timedelta(minutes=m)) for m in minutes]

    found = run(pack, events(lines))

    assert found.select("rule_id", "device", "count").rows() == ([("ib-flap", "ib0", len(minutes))] if fires else [])


@pytest.mark.parametrize(
    ("boots", "fires"),
    [
        pytest.param([0, 0, 0], True, id="one_boot"),
        pytest.param([0, 1, 2], False, id="three_boots_gap_unknown"),
    ],
)
def test_uptime_only_hits_share_a_window_only_within_one_boot(pack: RulePack, boots: list[int], fires: bool) -> None:
    frame = events([("ib0: lost carrier", None)] * 3).with_columns(
        uptime_s=pl.Series([10.0, 15.0, 30.0]), boot=pl.Series(boots, dtype=pl.Int32)
    )

    assert run(pack, frame).height == (1 if fires else 0)


def test_threshold_windows_are_per_device(pack: RulePack) -> None:
    lines = [("ib0: lost carrier", timedelta(minutes=0)), ("ib1: lost carrier", timedelta(minutes=1))] * 2

    assert run(pack, events(lines)).height == 0


def test_host_wide_threshold_and_exclude(pack: RulePack) -> None:
    lines = [
        ("Out of memory: Killed process 12 (python3)", timedelta(0)),
        ("Out of memory: Killed process 13 (python3)", timedelta(hours=30)),
        ("eth0: lost carrier ib0: lost carrier", timedelta(0)),  # excluded look-alike
    ]

    found = run(pack, events(lines))

    assert found.select("rule_id", "device", "count", "severity").rows() == [("oom", None, 2, "warning")]


def test_source_limits_a_rule_to_its_kind(pack: RulePack) -> None:
    lines = [("ib0: lost carrier", timedelta(minutes=m)) for m in (0, 1, 2)]

    assert run(pack, events(lines, source="text")).height == 0
    assert run(pack, events([("NVRM: Xid (PCI:0000:3b:00): 48, x", None)], source="text")).height == 1


def test_findings_count_all_hits_keep_twenty_evidence_lines_and_the_time_span(pack: RulePack) -> None:
    lines = [(f"NVRM: Xid (PCI:0000:3b:00): 48, pid={i}", timedelta(seconds=i)) for i in range(30)]

    (finding,) = run(pack, events(lines)).iter_rows(named=True)

    assert (finding["count"], finding["first_ts"], finding["last_ts"]) == (30, T0, T0 + timedelta(seconds=29))
    assert finding["evidence"] == [{"file_id": 1, "line_no": n} for n in range(1, 21)]


def test_nothing_matches_nothing(pack: RulePack) -> None:
    assert run(pack, events([("systemd[1]: Started Session 5 of user root.", None)])).height == 0
