"""The real kernel logs in ../shared/realdata through the whole ingest: every line lands, every file is ok."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.ingest import ingest
from triage.store import Store

REALDATA = Path(__file__).parents[2].parent / "shared" / "realdata"
KERNEL_LOGS = REALDATA / "kernel_logs"
if not KERNEL_LOGS.is_dir():
    pytest.skip(f"no real data at {KERNEL_LOGS}", allow_module_level=True)


def _line_count(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def test_every_real_kernel_log_line_lands(store: Store) -> None:
    expected = {
        f"{KERNEL_LOGS}/{p.relative_to(KERNEL_LOGS).as_posix()}": _line_count(p)
        for p in KERNEL_LOGS.rglob("*")
        if p.is_file()
    }

    summary = ingest(store, [str(KERNEL_LOGS)])

    assert summary.errors == []
    files = store.frame("SELECT path, status, lines, kind FROM files")
    assert dict(zip(files["path"], files["lines"], strict=True)) == expected
    assert set(files["status"]) == {"ok"}
    assert set(files["kind"]) == {"kernel_log"}
    per_file = store.frame("SELECT f.path, count(*) AS n FROM events e JOIN files f USING (file_id) GROUP BY f.path")
    assert dict(zip(per_file["path"], per_file["n"], strict=True)) == expected


def test_real_hosts_follow_the_folder_rule(store: Store) -> None:
    ingest(store, [str(KERNEL_LOGS)])

    hosts = store.frame("SELECT DISTINCT host FROM files ORDER BY host")["host"].to_list()
    # gpud/ is a first-level folder (one host); the two loose files are named after themselves.
    assert hosts == [
        "gpud",
        "gpud_test_code_embedded_kmsg_lines",
        "xid_format_reference_lines__vendor_docs_and_tickets",
    ]
