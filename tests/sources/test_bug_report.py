"""The nvidia-smi section of an nvidia-bug-report.log gives the GPU inventory, as `nvidia-smi -q` does."""

from __future__ import annotations

from pathlib import Path

from triage.ingest import ingest
from triage.sources.reading import parse_bytes
from triage.store import Store

RULE = "_" * 44


def gpu(bdf: str, serial: str, minor: int, end: bool = True) -> list[str]:
    lines = [
        f"GPU {bdf}",
        "    Product Name                          : NVIDIA H100 80GB HBM3",
        f"    Serial Number                         : {serial}",
        f"    GPU UUID                              : GPU-0000000{minor}-1111-2222-3333-444444444444",
        f"    Minor Number                          : {minor}",
        "    VBIOS Version                         : 96.00.74.00.1A",
        "    Board Part Number                     : 692-2G520-0200-000",
        "    GPU Reset Status",
        f"        Reset Required                    : {'Yes' if minor else 'No'}",
        "        Drain and Reset Recommended       : No",
    ]
    return [*lines, "    Processes                             : None", ""] if end else lines


def report(gpus: list[str]) -> bytes:
    lines = [
        RULE,
        "",
        "Start of NVIDIA bug report log file.  Please include this file, along",
        "",
        "uname: Linux node42 6.8.0-45-generic #45-Ubuntu SMP PREEMPT_DYNAMIC x86_64 GNU/Linux",
        "",
        RULE,
        "",
        "/usr/bin/nvidia-smi --query",
        "",
        "==============NVSMI LOG==============",
        "",
        "Timestamp                                 : Fri Nov 20 10:00:02 2026",
        "Driver Version                            : 550.54.15",
        "",
        "Attached GPUs                             : 2",
        *gpus,
        RULE,
        "",
        "*** /proc/meminfo",
        "MemTotal:       2113389760 kB",
    ]
    return ("\n".join(lines) + "\n").encode()


WHOLE = report(gpu("00000000:18:00.0", "1650104014249", 0) + gpu("00000000:2A:00.0", "1650104014517", 1))
CUT = report(gpu("00000000:18:00.0", "1650104014249", 0) + gpu("00000000:2A:00.0", "1650104014517", 1, end=False))


def test_nvidia_smi_section_gives_assets_and_measurements() -> None:
    parsed = parse_bytes(WHOLE, "nvidia-bug-report.log")
    assert (parsed.kind, parsed.host, parsed.error) == ("bug_report", "node42", None)
    assets = parsed.table("assets").select("device", "index", "serial", "driver", "line_no")
    assert assets.rows() == [
        ("0000:18:00.0", 0, "1650104014249", "550.54.15", 17),
        ("0000:2a:00.0", 1, "1650104014517", "550.54.15", 29),
    ]
    reset = parsed.table("measurements").filter(metric="gpu_reset_required").select("device", "value")
    assert reset.rows() == [("0000:18:00.0", 0.0), ("0000:2a:00.0", 1.0)]


def test_cut_nvidia_smi_section_is_an_error_that_keeps_the_rows() -> None:
    parsed = parse_bytes(CUT, "nvidia-bug-report.log")
    assert parsed.error == (
        "nvidia-smi section: line 38: output ends inside the section of GPU 00000000:2A:00.0 "
        "(no 'Processes' section; 2 of 2 attached GPUs listed)"
    )
    assert parsed.table("assets")["serial"].to_list() == ["1650104014249", "1650104014517"]


def test_ingested_report_lands_assets_for_its_host(store: Store, inputs: Path) -> None:
    path = inputs / "nvidia-bug-report.log"
    path.write_bytes(WHOLE)
    summary = ingest(store, [str(path)])
    assert summary.rows == {"assets": 2, "measurements": 4}
    rows = store.frame("SELECT host, device, serial FROM assets ORDER BY device").rows()
    assert rows == [("node42", "0000:18:00.0", "1650104014249"), ("node42", "0000:2a:00.0", "1650104014517")]
