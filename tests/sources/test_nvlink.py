"""`nvidia-smi nvlink -s` link status and `-e` error counters, and NVML's all-links-inactive message."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from triage.ingest import ingest
from triage.sources import nvlink
from triage.sources.reading import parse_bytes, parse_path
from triage.store import Store

# `nvidia-smi nvlink -s` on an H100 node whose GPU 1 lost link 2, abridged to four links per GPU.
STATUS = """\
GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-ee7954ec-da95-fd7a-ddfd-c6b32cc2f8aa)
\t Link 0: 26.562 GB/s
\t Link 1: 26.562 GB/s
\t Link 2: 26.562 GB/s
\t Link 3: 26.562 GB/s
GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-47daa2ad-a218-6286-252b-af45f0dfaf00)
\t Link 0: 26.562 GB/s
\t Link 1: 26.562 GB/s
\t Link 2: <inactive>
\t Link 3: 26.562 GB/s
"""

# `nvidia-smi nvlink -e` of an older driver (V100) with separate CRC flit and data counters.
ERRORS = """\
GPU 0: Tesla V100-SXM2-32GB (UUID: GPU-2f1c9a1e-4b7d-11ee-9c3a-0242ac120002)
\t Link 0: Replay Errors: 0
\t Link 0: Recovery Errors: 0
\t Link 0: CRC FLIT Errors: 0
\t Link 0: CRC Data Errors: 0
\t Link 1: Replay Errors: 12
\t Link 1: Recovery Errors: 1
\t Link 1: CRC FLIT Errors: 4431
\t Link 1: CRC Data Errors: 7
"""


def rows(parsed_measurements: pl.DataFrame) -> list[tuple]:
    return parsed_measurements.select("device", "metric", "value", "unit", "params", "line_no").rows()


def test_status() -> None:
    parsed = parse_bytes(STATUS.encode(), "node1/nvlink-status.txt")
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("nvlink", "status", None, None)
    measurements = parsed.table("measurements")
    assert set(measurements["test"]) == {"nvlink"}
    gpu1 = measurements.filter(pl.col("device") == "gpu1")
    assert rows(gpu1) == [
        ("gpu1", "nvlink_speed", 26.562, "GB/s", '{"link":0}', 7),
        ("gpu1", "nvlink_active", 1.0, "bool", '{"link":0}', 7),
        ("gpu1", "nvlink_speed", 26.562, "GB/s", '{"link":1}', 8),
        ("gpu1", "nvlink_active", 1.0, "bool", '{"link":1}', 8),
        ("gpu1", "nvlink_active", 0.0, "bool", '{"link":2}', 9),
        ("gpu1", "nvlink_speed", 26.562, "GB/s", '{"link":3}', 10),
        ("gpu1", "nvlink_active", 1.0, "bool", '{"link":3}', 10),
        ("gpu1", "nvlink_active_links", 3.0, "count", None, 6),
    ]
    active = measurements.filter(pl.col("metric") == "nvlink_active_links").select("device", "value")
    assert active.rows() == [("gpu0", 4.0), ("gpu1", 3.0)]
    assert parsed.table("assets").height == 0
    assert parsed.table("events")["message"].to_list() == STATUS.splitlines()


def test_error_counters() -> None:
    parsed = parse_bytes(ERRORS.encode(), "nvlink-e.txt")
    assert (parsed.kind, parsed.format, parsed.error) == ("nvlink", "errors", None)
    link1 = parsed.table("measurements").filter(pl.col("params") == '{"link":1}')
    assert rows(link1) == [
        ("gpu0", "nvlink_replay_errors", 12.0, "count", '{"link":1}', 6),
        ("gpu0", "nvlink_recovery_errors", 1.0, "count", '{"link":1}', 7),
        ("gpu0", "nvlink_crc_flit_errors", 4431.0, "count", '{"link":1}', 8),
        ("gpu0", "nvlink_crc_data_errors", 7.0, "count", '{"link":1}', 9),
    ]
    assert parsed.table("measurements").height == 8


def test_error_counters_are_dated_with_the_file_time() -> None:
    mtime = datetime(2026, 11, 20, 3, 12, 9)
    parsed = parse_bytes(ERRORS.encode(), "nvlink-e.txt", mtime)
    assert parsed.table("measurements")["ts"].unique().to_list() == [mtime]


def test_status_and_counters_in_one_file() -> None:
    parsed = parse_bytes((STATUS + ERRORS.replace("GPU 0:", "GPU 1:")).encode(), "nvlink.txt")
    assert parsed.error is None
    gpu1 = parsed.table("measurements").filter(pl.col("device") == "gpu1")
    assert gpu1.group_by("metric").len().sort("metric").rows() == [
        ("nvlink_active", 4),
        ("nvlink_active_links", 1),
        ("nvlink_crc_data_errors", 2),
        ("nvlink_crc_flit_errors", 2),
        ("nvlink_recovery_errors", 2),
        ("nvlink_replay_errors", 2),
        ("nvlink_speed", 3),
    ]


def test_all_links_inactive() -> None:
    text = (
        "GPU 3: NVIDIA H100 80GB HBM3 (UUID: GPU-5d8c01a2-7f1e-3b4c-9d2e-1a2b3c4d5e6f)\n"
        "NVML: Unable to retrieve NVLink information as all links are inActive\n"
    )
    parsed = parse_bytes(text.encode(), "nvlink-s.txt")
    assert (parsed.format, parsed.error) == ("status", None)
    assert rows(parsed.table("measurements")) == [("gpu3", "nvlink_active_links", 0.0, "count", None, 1)]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        pytest.param(
            "$ nvidia-smi nvlink -e\nGPU 0: NVIDIA GB300\n\t Link 0: Replay Errors: 0\n",
            None,
            id="shell-prompt-is-kept-as-event",
        ),
        pytest.param(
            "GPU 0: NVIDIA GB300\n\t Link 0: Replay Errors: 0\n\n--\n\t Link 1: Replay Errors: 3\n",
            None,
            id="separator-line",
        ),
    ],
)
def test_lines_between(text: str, error: str | None) -> None:
    parsed = parse_bytes(text.encode(), "nvlink-e.txt")
    assert (parsed.kind, parsed.error) == ("nvlink", error)
    assert parsed.table("events").height == text.count("\n")


def test_links_before_any_gpu_are_an_error() -> None:
    text = "GPU 0: NVIDIA A100-SXM4-80GB\n\t Link 0: 25 GB/s\n"
    parsed = parse_bytes(("\t Link 5: 25 GB/s\n" + text).encode(), "nvlink.txt")
    assert parsed.kind == "nvlink"
    assert parsed.error == "line 1: link line before any 'GPU N:' line names its GPU"
    assert parsed.table("measurements").height == 0


def test_truncated_status_keeps_links_read() -> None:
    cut = STATUS[: STATUS.index("\t Link 3: 26.562 GB/s\n", STATUS.index("GPU 1"))]
    parsed = parse_bytes(cut.encode(), "nvlink.txt")
    assert parsed.error is None
    active = parsed.table("measurements").filter(pl.col("metric") == "nvlink_active_links")
    assert active.select("device", "value").rows() == [("gpu0", 4.0), ("gpu1", 2.0)]


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(
            ["[  12.345678] NVRM: Xid (PCI:0000:3b:00): 74, pid=1234, NVLink: fatal error detected"], id="dmesg"
        ),
        pytest.param(
            [
                "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-ee7954ec-da95-fd7a-ddfd-c6b32cc2f8aa)",
                "GPU 1: NVIDIA H100 80GB HBM3 (UUID: GPU-47daa2ad-a218-6286-252b-af45f0dfaf00)",
            ],
            id="nvidia-smi-L",
        ),
        pytest.param(["GPU 0: Pass", "GPU 1: Pass"], id="dcgm-per-gpu-results"),
        pytest.param(["        GPU0    GPU1    CPU Affinity", "GPU0     X      NV18    0-55"], id="topo"),
        pytest.param(["\t Link 0: 25 GB/s", "\t Link 1: 25 GB/s"], id="links-without-gpu"),
    ],
)
def test_sniff_leaves_other_formats(lines: list[str]) -> None:
    assert nvlink.sniff(lines, "x.txt") is None


@pytest.mark.parametrize(
    "relative",
    [
        "nvidia_smi/misc/nvidia_smi_topo_output.txt",
        "nvidia_smi/gpud_q/nvidia-smi-query.535.183.01.out.0.valid",
        "dcgm/issue_excerpts/DCGM-253__dcgmi_diag_dcgm4.2.3_4xL40S_26b9__pcie_fail_internal_error.txt",
        "kernel_logs/gpud_test_code_embedded_kmsg_lines.txt",
    ],
)
def test_sniff_leaves_realdata_of_other_formats(realdata: Path, relative: str) -> None:
    sample = (realdata / relative).read_bytes()[: 1 << 16].decode("utf-8", "replace").splitlines()[:200]
    assert nvlink.sniff(sample, relative) is None


# ------------------------------------------------------------------------------------------ realdata


def test_realdata_a100_status(realdata: Path) -> None:
    parsed = parse_path(realdata / "nvidia_smi/nvlink/nvidia-smi.nvlink.status.a100")
    assert (parsed.kind, parsed.format, parsed.error) == ("nvlink", "status", None)
    measurements = parsed.table("measurements")
    active = measurements.filter(pl.col("metric") == "nvlink_active_links")
    assert active.select("device", "value").rows() == [(f"gpu{i}", 12.0) for i in range(8)]
    speeds = measurements.filter(pl.col("metric") == "nvlink_speed")
    assert (speeds.height, set(speeds["value"]), set(speeds["unit"])) == (96, {25.0}, {"GB/s"})
    last = speeds.filter(pl.col("device") == "gpu7").tail(1)
    assert last.select("params", "line_no").rows() == [('{"link":11}', 104)]


def test_realdata_good_status(realdata: Path) -> None:
    parsed = parse_path(realdata / "nvidia_smi/nvlink/good_nvlink_status.txt")
    assert (parsed.format, parsed.error) == ("status", None)
    measurements = parsed.table("measurements")
    assert measurements.filter(pl.col("metric") == "nvlink_active")["value"].to_list() == [1.0] * 12
    assert measurements.filter(pl.col("metric") == "nvlink_active_links").select("device", "value").rows() == [
        ("gpu7", 12.0)
    ]


@pytest.mark.parametrize(
    ("name", "device"),
    [
        pytest.param("bad_nvlink_status.txt", "gpu6", id="a100"),
        pytest.param("gpud-issue-1085__nvidia-smi_nvlink_b200_all_links_inactive.txt", "gpu2", id="b200"),
    ],
)
def test_realdata_all_links_inactive(realdata: Path, name: str, device: str) -> None:
    parsed = parse_path(realdata / "nvidia_smi/nvlink" / name)
    assert (parsed.kind, parsed.format, parsed.error) == ("nvlink", "status", None)
    assert rows(parsed.table("measurements")) == [(device, "nvlink_active_links", 0.0, "count", None, 1)]


def test_realdata_gb300_error_counters(realdata: Path) -> None:
    parsed = parse_path(realdata / "nvidia_smi/nvlink/srt-slurm-pr307__nvidia-smi_nvlink_-e_gb300_fragment.txt")
    assert (parsed.kind, parsed.format, parsed.error) == ("nvlink", "errors", None)
    assert rows(parsed.table("measurements")) == [
        ("gpu0", "nvlink_replay_errors", 0.0, "count", '{"link":0}', 3),
        ("gpu0", "nvlink_recovery_errors", 0.0, "count", '{"link":0}', 4),
        ("gpu0", "nvlink_crc_errors", 0.0, "count", '{"link":0}', 5),
    ]
    assert parsed.table("events")["message"][0] == "$ nvidia-smi nvlink -e"


# ------------------------------------------------------------------------------------------ end to end


def test_ingest_resolves_gpu_index_from_inventory(tmp_path: Path, store: Store, realdata: Path) -> None:
    """The nvlink GPU numbers become PCI addresses through the same host's nvidia-smi -q."""
    node = tmp_path / "fleet" / "node017"
    node.mkdir(parents=True)
    (node / "nvlink-s.txt").write_text(STATUS)
    inventory = realdata / "nvidia_smi/gpud_q/nvidia-smi-query.535.161.08.out.0.valid"
    (node / "nvidia-smi-q.txt").write_bytes(inventory.read_bytes())
    ingest(store, [str(tmp_path / "fleet")])
    files = store.frame("SELECT host, kind, format, status, error FROM files ORDER BY kind")
    assert files.rows() == [
        ("node017", "nvidia_smi", "query_text", "ok", None),
        ("node017", "nvlink", "status", "ok", None),
    ]
    inactive = store.frame(
        "SELECT m.host, m.device, m.params, m.line_no, f.kind FROM measurements m JOIN files f USING (file_id) "
        "WHERE m.metric = 'nvlink_active' AND m.value = 0"
    )
    assert inactive.rows() == [("node017", "0000:3b:00.0", '{"link":2}', 9, "nvlink")]
    events = store.frame("SELECT count(*) AS n FROM events WHERE source = 'nvlink' AND host = 'node017'")
    assert events["n"][0] == STATUS.count("\n")
