"""The RMA CSV: one row per diagnosis with an action, RMA columns, quoted by the CSV writer."""

from __future__ import annotations

import csv
import io

from crafted import craft

from triage.report import CSV_COLUMNS, render_csv, rma_rows
from triage.store import Store

EXPECTED_CSV = """\
host,node_serial,component,device,gpu_serial,uuid,pci_address,model,part_number,vbios,firmware,driver,root_cause,action,severity,confidence,first_seen,last_seen,evidence_summary,summary
node-a,NODE-SN-1,gpu,0000:3b:00.0,1654321098765,GPU-11111111-2222-3333-4444-555555555555,0000:3b:00.0,NVIDIA H100 80GB HBM3,692-2G520-0200-000,96.00.74.00.01,,550.54.15,gpu_memory,rma_gpu,critical,0.95,2026-11-16T07:12:03Z,2026-11-16T07:40:10Z,"xid-48 x2, xid-63 x1; dcgm_memory fail","Uncorrectable HBM ECC (XID 48) twice, across a reboot, on GPU 2"
node-a,NODE-SN-1,software,,,,,,,,,,application,restart_app,warning,0.5,,,,"XID 13 in the application, not the node"
node-b,,cable,mlx5_2/1,,0xa088c203313ae1d9,,MT4129,MT_0000000838,,28.39.1002,,infiniband_link,replace_cable,error,0.8,,,ib-link-down x1; counter_rate symbol_error,Symbol errors rising and the link went down on mlx5_2/1
node-d,,cpu,,,,,,,,,,host_hardware,monitor,warning,0.4,2026-11-16T09:00:00Z,2026-11-16T09:00:00Z,,Corrected machine-check errors
"""


def test_csv_of_the_crafted_store(store: Store) -> None:
    assert render_csv(craft(store)) == EXPECTED_CSV


def test_csv_reads_back_with_the_declared_columns(store: Store) -> None:
    rows = list(csv.DictReader(io.StringIO(render_csv(craft(store)))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["host"], r["action"], r["evidence_summary"]) for r in rows] == [
        ("node-a", "rma_gpu", "xid-48 x2, xid-63 x1; dcgm_memory fail"),
        ("node-a", "restart_app", ""),
        ("node-b", "replace_cable", "ib-link-down x1; counter_rate symbol_error"),
        ("node-d", "monitor", ""),
    ]


def test_diagnoses_without_an_action_have_no_row(store: Store) -> None:
    craft(store)
    store.execute("UPDATE diagnoses SET action = 'none' WHERE host <> 'node-b'")
    assert rma_rows(store)["host"].to_list() == ["node-b"]


def test_csv_of_an_empty_store_is_the_header(store: Store) -> None:
    assert render_csv(store) == ",".join(CSV_COLUMNS) + "\n"


def test_csv_of_some_hosts(store: Store) -> None:
    assert rma_rows(craft(store), ["node-d"]).select("host", "root_cause").rows() == [("node-d", "host_hardware")]
