"""RMA tickets: identity, symptoms with counts and times, tests, actions already tried, requested action."""

from __future__ import annotations

import polars as pl
import pytest
from crafted import GPU, SERIAL, UUID, craft

from triage.report import render_rma_text, rma_tickets
from triage.report.rma import symptom_label
from triage.store import Store

EXPECTED_TEXT = """\
RMA request: node-a gpu 0000:3b:00.0: rma_gpu
=============================================
Host:        node-a
Node serial: NODE-SN-1
Device:      0000:3b:00.0
GPU index:   2
PCI address: 0000:3b:00.0
Serial:      1654321098765
UUID:        GPU-11111111-2222-3333-4444-555555555555
Model:       NVIDIA H100 80GB HBM3
Part number: 692-2G520-0200-000
VBIOS:       96.00.74.00.01
Driver:      550.54.15
Root cause:  gpu_memory (critical, confidence 0.95)
Summary:     Uncorrectable HBM ECC (XID 48) twice, across a reboot, on GPU 2
First seen:  2026-11-16T07:12:03Z
Last seen:   2026-11-16T07:40:10Z

Symptoms:
  - XID 48 (Double Bit ECC Error) x2, 2026-11-16T07:12:03Z .. 07:40:10Z, in 2 boots
  - XID 63 (GPU memory remapping event) x1, 2026-11-16T07:12:03Z

Test evidence:
  - dcgm_memory fail: GPU 2 had uncorrectable memory errors

Actions already tried (from the logs):
  - boots seen in the kernel logs: 2 (1 reboot)
  - GPU reset lines: 1
      fleet/node-a/dmesg.log:4 2026-11-16T07:20:00Z sudo: root : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/usr/bin/nvidia-smi -r -i 2
  - dcgm_memory: ran 2 times on this host (1 fail, 1 pass)

Evidence:
  fleet/node-a/dmesg.log:2 2026-11-16T07:12:03Z NVRM: Xid (PCI:0000:3b:00): 48, pid=1234, name=python, An uncorrectable double bit error (DBE) has been detected
  fleet/node-a/dmesg.log:6 2026-11-16T07:40:10Z NVRM: Xid (PCI:0000:3b:00): 48, pid=2345, name=python, An uncorrectable double bit error (DBE) has been detected
  fleet/node-a/dmesg.log:3 2026-11-16T07:12:03Z NVRM: Xid (PCI:0000:3b:00): 63, pid=1234, name=python, Row Remapper: New row marked for remapping, reset gpu to activate.
  fleet/node-a/dcgm.txt:7 [dcgm_memory fail] GPU 2 had uncorrectable memory errors

Requested action: rma_gpu (replace the GPU)
"""


def test_ticket_text_of_the_crafted_store(store: Store) -> None:
    assert render_rma_text(rma_tickets(craft(store))) == EXPECTED_TEXT


def test_ticket_json_of_the_crafted_store(store: Store) -> None:
    (ticket,) = rma_tickets(craft(store))
    assert list(ticket) == [
        "host", "node_serial", "component", "device", "identity", "root_cause", "severity", "confidence", "summary",
        "first_seen", "last_seen", "symptoms", "tests", "anomalies", "tried", "evidence", "requested_action",
    ]  # fmt: skip
    assert (ticket["host"], ticket["node_serial"], ticket["device"], ticket["requested_action"]) == (
        "node-a", "NODE-SN-1", GPU, "rma_gpu"
    )  # fmt: skip
    assert (ticket["identity"]["serial"], ticket["identity"]["uuid"]) == (SERIAL, UUID)
    assert ticket["symptoms"] == [
        {"code": "xid-48", "label": "XID 48 (Double Bit ECC Error)", "count": 2, "first_ts": "2026-11-16T07:12:03Z",
         "last_ts": "2026-11-16T07:40:10Z", "boots": 2},
        {"code": "xid-63", "label": "XID 63 (GPU memory remapping event)", "count": 1,
         "first_ts": "2026-11-16T07:12:03Z", "last_ts": "2026-11-16T07:12:03Z", "boots": 1},
    ]  # fmt: skip
    assert ticket["tests"] == [{"test": "dcgm_memory", "status": "fail", "detail": "GPU 2 had uncorrectable memory errors",
                                "file": "fleet/node-a/dcgm.txt", "line_no": 7, "started": None}]  # fmt: skip
    assert ticket["tried"] == {
        "boots_seen": 2,
        "reboots": 1,
        "gpu_resets": [{"file": "fleet/node-a/dmesg.log", "line_no": 4, "ts": "2026-11-16T07:20:00Z",
                        "text": "sudo: root : TTY=pts/0 ; PWD=/root ; USER=root ; COMMAND=/usr/bin/nvidia-smi -r -i 2"}],
        "test_runs": [{"test": "dcgm_memory", "runs": 2, "by_status": {"fail": 1, "pass": 1}}],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("action", "tickets"),
    [
        pytest.param("rma_hca", 2, id="rma"),
        pytest.param("contact_vendor", 2, id="contact-vendor"),
        pytest.param("replace_cable", 1, id="cable-no-ticket"),
    ],
)
def test_which_actions_open_a_ticket(store: Store, action: str, tickets: int) -> None:
    craft(store)
    store.execute("UPDATE diagnoses SET action = ? WHERE diagnosis_id = 3", [action])
    assert len(rma_tickets(store)) == tickets


def test_no_tickets(store: Store) -> None:
    assert rma_tickets(store) == []
    assert render_rma_text([]) == "No diagnosis asks for an RMA or the vendor (rma_*, contact_vendor).\n"


def test_a_host_without_kernel_log_says_so(store: Store) -> None:
    craft(store)
    store.append(
        "diagnoses",
        pl.DataFrame({"diagnosis_id": [9], "host": ["node-b"], "device": ["mlx5_2/1"], "component": ["hca"],
                      "root_cause": ["infiniband_hca"], "action": ["rma_hca"], "severity": ["critical"]}),
    )  # fmt: skip
    text = render_rma_text(rma_tickets(store, ["node-b"]))
    assert "  - boots seen in the kernel logs: none (no kernel log)\n  - GPU reset lines: none found\n" in text
    assert text.startswith("RMA request: node-b hca mlx5_2/1: rma_hca\n")
    assert "GUID:        0xa088c203313ae1d9\n" in text


@pytest.mark.parametrize(
    ("rule", "label"),
    [
        pytest.param("xid-79", "XID 79 (GPU has fallen off the bus)", id="xid"),
        pytest.param("sxid-20034", "SXid 20034 (LTSSM Fault Up)", id="sxid"),
        pytest.param("xid-99999", "XID 99999", id="xid-not-in-catalog"),
        pytest.param("edac-ue", "edac-ue", id="other-rule"),
    ],
)
def test_symptom_labels(rule: str, label: str) -> None:
    assert symptom_label(rule) == label
