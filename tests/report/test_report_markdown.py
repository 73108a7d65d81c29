"""Markdown: fleet summary, RMA list, faulty and suspect hosts with evidence, healthy hosts on one line."""

from __future__ import annotations

import pytest
from crafted import GEN, craft

from triage.report import build_report, render_markdown
from triage.report.markdown import _code
from triage.store import Store

EXPECTED_MARKDOWN = """\
# Triage report

Generated 2026-11-22T10:00:00Z: 4 hosts, 2 faulty, 1 suspect, 1 healthy.

## Fleet

| status | hosts |
|---|---:|
| faulty | 2 |
| suspect | 1 |
| healthy | 1 |

| root cause | diagnoses |
|---|---:|
| application | 1 |
| gpu_memory | 1 |
| host_hardware | 1 |
| infiniband_link | 1 |

## RMA list

| host | device | serial | uuid / guid | pci | root cause | action | summary |
|---|---|---|---|---|---|---|---|
| node-a | 0000:3b:00.0 | 1654321098765 | GPU-11111111-2222-3333-4444-555555555555 | 0000:3b:00.0 | gpu_memory | rma_gpu | Uncorrectable HBM ECC (XID 48) twice, across a reboot, on GPU 2 |
| node-b | mlx5_2/1 | - | 0xa088c203313ae1d9 | - | infiniband_link | replace_cable | Symbol errors rising and the link went down on mlx5_2/1 |

## node-a (faulty)

### gpu 0000:3b:00.0: gpu_memory, rma_gpu

Uncorrectable HBM ECC (XID 48) twice, across a reboot, on GPU 2

- severity: critical, confidence: 0.95
- identity: index `2`, pci_bdf `0000:3b:00.0`, serial `1654321098765`, uuid `GPU-11111111-2222-3333-4444-555555555555`, model `NVIDIA H100 80GB HBM3`, part_number `692-2G520-0200-000`, vbios `96.00.74.00.01`, driver `550.54.15`
- related: `xid-63`, `dcgm_memory`

Evidence:

- `fleet/node-a/dmesg.log:2` 2026-11-16T07:12:03Z xid-48: `NVRM: Xid (PCI:0000:3b:00): 48, pid=1234, name=python, An uncorrectable double bit error (DBE) has been detected`
- `fleet/node-a/dmesg.log:6` 2026-11-16T07:40:10Z xid-48: `NVRM: Xid (PCI:0000:3b:00): 48, pid=2345, name=python, An uncorrectable double bit error (DBE) has been detected`
- `fleet/node-a/dmesg.log:3` 2026-11-16T07:12:03Z xid-63: `NVRM: Xid (PCI:0000:3b:00): 63, pid=1234, name=python, Row Remapper: New row marked for remapping, reset gpu to activate.`
- `fleet/node-a/dcgm.txt:7` dcgm_memory fail: `GPU 2 had uncorrectable memory errors`

### software node: application, restart_app

XID 13 in the application, not the node

- severity: warning, confidence: 0.5
- identity: serial `NODE-SN-1`

## node-b (faulty)

### cable mlx5_2/1: infiniband_link, replace_cable

Symbol errors rising and the link went down on mlx5_2/1

- severity: error, confidence: 0.8
- identity: name `mlx5_2`, port `1`, guid `0xa088c203313ae1d9`, firmware `28.39.1002`, model `MT4129`, part_number `MT_0000000838`
- related: `ib-link-down`

Evidence:

- `fleet/node-b/counters.txt:3` counter_rate symbol_error 1133 (baseline 120), drain: `symbol_error rose by 1322 in 1.17 h (1133/h, threshold 120/h)`
- `fleet/node-b/ibstat.txt:5` ib-link-down: `State: Down`

## node-d (suspect)

### cpu node: host_hardware, monitor

Corrected machine-check errors

- severity: warning, confidence: 0.4

## Healthy hosts (1)

node-c
"""


def test_markdown_of_the_crafted_store(store: Store) -> None:
    assert render_markdown(build_report(craft(store), generated_at=GEN)) == EXPECTED_MARKDOWN


def test_markdown_of_an_empty_store(store: Store) -> None:
    assert render_markdown(build_report(store, generated_at=GEN)) == (
        "# Triage report\n\nGenerated 2026-11-22T10:00:00Z: 0 hosts, 0 faulty, 0 suspect, 0 healthy.\n\n"
        "## Fleet\n\n| status | hosts |\n|---|---:|\n| faulty | 0 |\n| suspect | 0 |\n| healthy | 0 |\n\n"
        "No diagnosis asks for an action.\n\n## RMA list\n\n"
        "Nothing to return or replace (no diagnosis asks for rma_*, replace_cable or contact_vendor).\n\n"
        "## Healthy hosts (0)\n\nNone.\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("plain", "`plain`", id="plain"),
        pytest.param("a `tick` b", "``a `tick` b``", id="inner-backticks"),
        pytest.param("`edge", "`` `edge ``", id="leading-backtick"),
        pytest.param("two\nlines", "`two lines`", id="newline"),
        pytest.param("<b>*x*</b> | y", "`<b>*x*</b> | y`", id="markup-stays-literal"),
    ],
)
def test_log_text_is_always_code(text: str, expected: str) -> None:
    assert _code(text) == expected


def test_table_cells_escape_pipes(store: Store) -> None:
    craft(store)
    store.execute("UPDATE diagnoses SET summary = 'a | b' WHERE diagnosis_id = 3")
    md = render_markdown(build_report(store, generated_at=GEN))
    assert "| replace_cable | a \\| b |" in md
