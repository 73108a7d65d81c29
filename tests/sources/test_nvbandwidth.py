"""nvbandwidth output, text and JSON: matrices to devices, testcase runs, waivers, errors and sniffing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage.ingest import ingest
from triage.sources import nvbandwidth
from triage.sources.reading import Parsed, parse_bytes, parse_path
from triage.store import Store

BDF0, BDF1 = "0000:18:00.0", "0000:2a:00.0"

TEXT_HEADER = """\
nvbandwidth Version: v0.6
Built from Git version: v0.6

CUDA Runtime Version: 12040
CUDA Driver Version: 12040
Driver Version: 550.54.15

Device 0: NVIDIA H100 80GB HBM3 (00000000:18:00)
Device 1: NVIDIA H100 80GB HBM3 (00000000:2A:00)

"""  # lines 1-10; Device lines 8 and 9

H2D = """\
Running host_to_device_memcpy_ce.
memcpy CE CPU(row) -> GPU(column) bandwidth (GB/s)
           0         1
 0     55.72     55.68

SUM host_to_device_memcpy_ce 111.40

"""  # lines 11-17: Running 11, row 14, SUM 16

D2D_READ = """\
Running device_to_device_memcpy_read_ce.
memcpy CE GPU(row) -> GPU(column) bandwidth (GB/s)
           0         1
 0       N/A    389.40
 1    389.81       N/A

SUM device_to_device_memcpy_read_ce 779.21

"""  # lines 18-25: Running 18, rows 21-22, SUM 24

D2D_WRITE = """\
Running device_to_device_memcpy_write_ce.
memcpy CE GPU(row) <- GPU(column) bandwidth (GB/s)
           0         1
 0       N/A    391.09
 1    390.87       N/A

SUM device_to_device_memcpy_write_ce 781.96

"""  # lines 26-33: Running 26, rows 29-30, SUM 32

D2D_BIDIR = """\
Running device_to_device_bidirectional_memcpy_read_ce.
memcpy CE GPU(row) <-> GPU(column) Read1 bandwidth (GB/s)
           0         1
 0       N/A    370.15
 1    370.22       N/A

SUM device_to_device_bidirectional_memcpy_read_ce_read1 740.37

memcpy CE GPU(row) <-> GPU(column) Read2 bandwidth (GB/s)
           0         1
 0       N/A    369.98
 1    370.01       N/A

SUM device_to_device_bidirectional_memcpy_read_ce_read2 739.99

memcpy CE GPU(row) <-> GPU(column) Total bandwidth (GB/s)
           0         1
 0       N/A    740.13
 1    740.23       N/A

SUM device_to_device_bidirectional_memcpy_read_ce_total 1480.36

"""  # lines 34-55: Running 34; rows 37-38, SUM 40; rows 44-45, SUM 47; rows 51-52, SUM 54

WAIVED_AND_LATENCY = """\
Waived:\x20
Waived:\x20
Running all_to_one_write_sm.
memcpy SM GPU(row) <- GPU(column) bandwidth (GB/s)
           0         1
 0    362.60    361.95

SUM all_to_one_write_sm 724.55

Running host_device_latency_sm.
memory latency SM CPU(row) <-> GPU(column) (ns)
           0         1
 0    772.58    768.10

SUM host_device_latency_sm 1540.68

NOTE: The reported results may not reflect the full capabilities of the platform.
Performance can vary with software drivers, hardware clocks, and system topology.
"""  # lines 56-72: Running 58, row 61, SUM 63; Running 65, row 68, SUM 70

FULL_TEXT = TEXT_HEADER + H2D + D2D_READ + D2D_WRITE + D2D_BIDIR + WAIVED_AND_LATENCY

CUDA_ERROR = (
    "[CUDA_ERROR_ILLEGAL_ADDRESS] an illegal memory access was encountered in expression "
    "cuStreamSynchronize(stream) in double MemcpyOperation::doMemcpyCore(MemcpyDispatchInfo&)() : "
    "/build/nvbandwidth/memcpy.cpp:412"
)

JSON_DOC = {
    "nvbandwidth": {
        "CUDA Runtime Version": 12040,
        "Driver Version": "550.54.15",
        "git_version": "v0.7",
        "testcases": [
            {
                "bandwidth_description": "memcpy CE GPU(row) -> GPU(column) bandwidth (GB/s)",
                "bandwidth_matrix": [["N/A", "389.4"], ["389.81", "N/A"]],
                "name": "device_to_device_memcpy_read_ce",
                "status": "Passed",
                "sum": 779.21,
            },
            {
                "bandwidth_description": "memcpy CE GPU(row) <-> GPU(column) Total bandwidth (GB/s)",
                "bandwidth_matrix": [
                    ["N/A", "370.1"], ["370.2", "N/A"],
                    ["N/A", "369.9"], ["370.0", "N/A"],
                    ["N/A", "740.0"], ["740.2", "N/A"],
                ],
                "name": "device_to_device_bidirectional_memcpy_write_ce",
                "status": "Passed",
                "sum": 1480.2,
            },
            {"name": "device_to_device_memcpy_write_sm", "status": "Waived"},
            {
                "error": "[CUDA_ERROR_ILLEGAL_ADDRESS] an illegal memory access was encountered",
                "name": "device_to_device_memcpy_read_sm",
                "status": "Error",
            },
            {
                "bandwidth_description": "memory latency SM CPU(row) <-> GPU(column) (ns)",
                "bandwidth_matrix": [["772.58", "768.1"]],
                "name": "host_device_latency_sm",
                "status": "Passed",
                "sum": 1540.68,
            },
        ],
        "version": "v0.7",
    }
}  # fmt: skip


def json_text(document: dict) -> str:
    """The document as jsoncpp's styled writer prints it: tab indents, keys in order."""
    return json.dumps(document, indent="\t", separators=(",", " : ")) + "\n"


def rows_of(parsed: Parsed, table: str, *columns: str) -> list[tuple]:
    frame = parsed.table(table)
    return frame.select(columns).rows() if frame.height else []


def runs(parsed: Parsed) -> list[tuple]:
    return parsed.table("test_runs").select("run_id", "device", "status", "params", "detail", "line_no").rows()


def values(parsed: Parsed) -> list[tuple]:
    return parsed.table("measurements").select("run_id", "device", "metric", "value", "unit", "line_no").rows()


def case(name: str) -> str:
    """The params of the test run of one testcase."""
    return json.dumps({"testcase": name}, separators=(",", ":"))


CE = '{"testcase_kind":"ce"}'
SM = '{"testcase_kind":"sm"}'


def test_text_matrices_to_devices() -> None:
    parsed = parse_bytes(FULL_TEXT.encode(), "node1/nvbandwidth.log")
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("nvbandwidth", "text", None, None)
    assert runs(parsed) == [
        (1, None, "pass", case("host_to_device_memcpy_ce"), None, 11),
        (2, None, "pass", case("device_to_device_memcpy_read_ce"), None, 18),
        (3, None, "pass", case("device_to_device_memcpy_write_ce"), None, 26),
        (4, None, "pass", case("device_to_device_bidirectional_memcpy_read_ce"), None, 34),
        (5, None, "pass", case("all_to_one_write_sm"), None, 58),
        (6, None, "pass", case("host_device_latency_sm"), None, 65),
    ]
    bidir = "device_to_device_bidirectional_memcpy_read_ce"
    assert values(parsed) == [
        (1, BDF0, "host_to_device_memcpy_ce", 55.72, "GB/s", 14),
        (1, BDF1, "host_to_device_memcpy_ce", 55.68, "GB/s", 14),
        (1, None, "host_to_device_memcpy_ce_sum", 111.40, "GB/s", 16),
        (2, f"{BDF0}->{BDF1}", "device_to_device_memcpy_read_ce", 389.40, "GB/s", 21),
        (2, f"{BDF1}->{BDF0}", "device_to_device_memcpy_read_ce", 389.81, "GB/s", 22),
        (2, None, "device_to_device_memcpy_read_ce_sum", 779.21, "GB/s", 24),
        # `GPU(row) <- GPU(column)`: the column is the source.
        (3, f"{BDF1}->{BDF0}", "device_to_device_memcpy_write_ce", 391.09, "GB/s", 29),
        (3, f"{BDF0}->{BDF1}", "device_to_device_memcpy_write_ce", 390.87, "GB/s", 30),
        (3, None, "device_to_device_memcpy_write_ce_sum", 781.96, "GB/s", 32),
        (4, f"{BDF0}->{BDF1}", f"{bidir}_read1", 370.15, "GB/s", 37),
        (4, f"{BDF1}->{BDF0}", f"{bidir}_read1", 370.22, "GB/s", 38),
        (4, f"{BDF0}->{BDF1}", f"{bidir}_read2", 369.98, "GB/s", 44),
        (4, f"{BDF1}->{BDF0}", f"{bidir}_read2", 370.01, "GB/s", 45),
        (4, f"{BDF0}->{BDF1}", f"{bidir}_total", 740.13, "GB/s", 51),
        (4, f"{BDF1}->{BDF0}", f"{bidir}_total", 740.23, "GB/s", 52),
        (4, None, f"{bidir}_read1_sum", 740.37, "GB/s", 40),
        (4, None, f"{bidir}_read2_sum", 739.99, "GB/s", 47),
        (4, None, f"{bidir}_total_sum", 1480.36, "GB/s", 54),
        # One row of per-GPU totals under a GPU x GPU title: the column's GPU.
        (5, BDF0, "all_to_one_write_sm", 362.60, "GB/s", 61),
        (5, BDF1, "all_to_one_write_sm", 361.95, "GB/s", 61),
        (5, None, "all_to_one_write_sm_sum", 724.55, "GB/s", 63),
        (6, BDF0, "host_device_latency_sm", 0.77258, "us", 68),
        (6, BDF1, "host_device_latency_sm", 0.76810, "us", 68),
        (6, None, "host_device_latency_sm_sum", 1.54068, "us", 70),
    ]
    kinds = parsed.table("measurements")["params"].to_list()
    assert kinds[:3] == [CE, CE, None] and kinds[-3:] == [SM, SM, None]
    assets = parsed.table("assets").select("kind", "device", "index", "pci_bdf", "model", "driver", "line_no")
    assert assets.rows() == [
        ("gpu", BDF0, 0, BDF0, "NVIDIA H100 80GB HBM3", "550.54.15", 8),
        ("gpu", BDF1, 1, BDF1, "NVIDIA H100 80GB HBM3", "550.54.15", 9),
    ]
    assert parsed.table("events").height == FULL_TEXT.count("\n")


def test_text_without_bus_ids_names_gpus_by_index() -> None:
    text = TEXT_HEADER.replace(" (00000000:18:00)", "").replace(" (00000000:2A:00)", "") + D2D_READ
    parsed = parse_bytes(text.encode(), "nvbandwidth.log")
    assert parsed.table("assets").is_empty()
    assert parsed.table("measurements")["device"].to_list() == ["gpu0->gpu1", "gpu1->gpu0", None]


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        pytest.param(
            "Running device_to_device_memcpy_read_ce.\n" + CUDA_ERROR + "\n",
            [(2, "error", CUDA_ERROR, 18)],
            id="cuda-assert",
        ),
        pytest.param(
            "Running device_to_device_memcpy_read_ce.\nError: peer access is not supported between device 0 and 1\n\n"
            + D2D_WRITE.replace("\n", "\n", 1),
            [(2, "error", "Error: peer access is not supported between device 0 and 1", 18), (3, "pass", None, 21)],
            id="error-then-next-testcase",
        ),
        pytest.param(
            "Running device_to_device_memcpy_read_ce.\n",
            [(2, "incomplete", "output ends before the results of device_to_device_memcpy_read_ce", 18)],
            id="ends-after-running",
        ),
        pytest.param(
            "".join(D2D_READ.splitlines(keepends=True)[:4]),
            [(2, "incomplete", "output ends before the results of device_to_device_memcpy_read_ce", 18)],
            id="ends-inside-matrix",
        ),
        pytest.param(
            "Running device_to_device_memcpy_read_ce.\nRunning device_to_device_memcpy_write_ce.\n",
            [
                (2, "incomplete", "no results printed for device_to_device_memcpy_read_ce", 18),
                (3, "incomplete", "output ends before the results of device_to_device_memcpy_write_ce", 19),
            ],
            id="nothing-printed",
        ),
        pytest.param(
            "Waiving device_to_device_memcpy_write_ce.\n",
            [],
            id="waiving-v0.2",
        ),
    ],
)
def test_text_testcase_status(tail: str, expected: list[tuple]) -> None:
    parsed = parse_bytes((TEXT_HEADER + H2D + tail).encode(), "nvbandwidth.log")
    assert parsed.error is None
    statuses = parsed.table("test_runs").select("run_id", "status", "detail", "line_no").rows()
    assert statuses == [(1, "pass", None, 11), *expected]


def test_text_cut_inside_pair_matrix_keeps_its_first_row() -> None:
    parsed = parse_bytes((TEXT_HEADER + "".join(D2D_READ.splitlines(keepends=True)[:4])).encode(), "nvb.log")
    assert values(parsed) == [(1, f"{BDF0}->{BDF1}", "device_to_device_memcpy_read_ce", 389.40, "GB/s", 14)]


def test_error_before_any_case() -> None:
    text = "nvbandwidth Version: v0.8\nBuilt from Git version: v0.8\n\n" + CUDA_ERROR + "\n"
    parsed = parse_bytes(text.encode(), "nvbandwidth.log")
    assert runs(parsed) == [(1, None, "error", None, CUDA_ERROR, 4)]


@pytest.mark.parametrize(
    ("text", "error", "kept"),
    [
        pytest.param(
            TEXT_HEADER + H2D + D2D_READ.replace(" 1    389.81       N/A", " 1    389.81"),
            "line 22: matrix row has 1 values for 2 columns",
            [(1, "pass", None), (2, "incomplete", "results cannot be read: line 22: matrix row has 1 values for 2 columns")],
            id="short-row",
        ),
        pytest.param(
            TEXT_HEADER + H2D + D2D_READ.replace(" 1    389.81       N/A\n", ""),
            "line 22: GPU x GPU matrix has 1 rows for 2 GPU columns",
            [(1, "pass", None), (2, "incomplete", "results cannot be read: line 22: GPU x GPU matrix has 1 rows for 2 GPU columns")],
            id="missing-row",
        ),
        pytest.param(
            TEXT_HEADER + H2D + D2D_READ.replace("389.81", "389,81"),
            "line 22: matrix cell '389,81' is not a number",
            [(1, "pass", None), (2, "incomplete", "results cannot be read: line 22: matrix cell '389,81' is not a number")],
            id="bad-cell",
        ),
        pytest.param(
            TEXT_HEADER + H2D + D2D_READ.replace("GPU(row) -> GPU(column)", "GPU(row) => GPU(column)"),
            "line 19: cannot tell the matrix axes from its title: memcpy CE GPU(row) => GPU(column) bandwidth (GB/s)",
            [(1, "pass", None), (2, "incomplete", "results cannot be read: line 19: cannot tell the matrix axes from its title: memcpy CE GPU(row) => GPU(column) bandwidth (GB/s)")],
            id="unknown-title",
        ),
        pytest.param(
            TEXT_HEADER + "memcpy CE CPU(row) -> GPU(column) bandwidth (GB/s)\n           0         1\n 0     55.72     55.68\n",
            "line 11: matrix belongs to no testcase (no `Running` line and no SUM line)",
            [],
            id="orphan-matrix",
        ),
    ],
)  # fmt: skip
def test_text_malformed_keeps_rows_before(text: str, error: str, kept: list[tuple]) -> None:
    parsed = parse_bytes(text.encode(), "nvbandwidth.log")
    assert parsed.error == error
    assert rows_of(parsed, "test_runs", "run_id", "status", "detail") == kept
    assert parsed.table("events").height == text.count("\n")


def test_json_testcases() -> None:
    text = json_text(JSON_DOC)
    parsed = parse_bytes(text.encode(), "nvbandwidth.json")
    assert (parsed.kind, parsed.format, parsed.error) == ("nvbandwidth", "json", None)
    lines = text.splitlines()
    at = {name: lines.index(f'\t\t\t\t"name" : "{name}",') + 1 for name in ("device_to_device_memcpy_read_ce", "device_to_device_bidirectional_memcpy_write_ce", "device_to_device_memcpy_read_sm", "host_device_latency_sm")}  # fmt: skip
    assert runs(parsed) == [
        (1, None, "pass", case("device_to_device_memcpy_read_ce"), None, at["device_to_device_memcpy_read_ce"]),
        (2, None, "pass", case("device_to_device_bidirectional_memcpy_write_ce"), None, at["device_to_device_bidirectional_memcpy_write_ce"]),
        (3, None, "error", case("device_to_device_memcpy_read_sm"), "[CUDA_ERROR_ILLEGAL_ADDRESS] an illegal memory access was encountered", at["device_to_device_memcpy_read_sm"]),
        (4, None, "pass", case("host_device_latency_sm"), None, at["host_device_latency_sm"]),
    ]  # fmt: skip
    bidir = "device_to_device_bidirectional_memcpy_write_ce"
    rows = [row[:5] for row in values(parsed)]
    assert rows == [
        (1, "gpu0->gpu1", "device_to_device_memcpy_read_ce", 389.4, "GB/s"),
        (1, "gpu1->gpu0", "device_to_device_memcpy_read_ce", 389.81, "GB/s"),
        (1, None, "device_to_device_memcpy_read_ce_sum", 779.21, "GB/s"),
        # JSON appends the Write1, Write2 and Total matrices to one bandwidth_matrix.
        (2, "gpu0->gpu1", f"{bidir}_write1", 370.1, "GB/s"),
        (2, "gpu1->gpu0", f"{bidir}_write1", 370.2, "GB/s"),
        (2, "gpu0->gpu1", f"{bidir}_write2", 369.9, "GB/s"),
        (2, "gpu1->gpu0", f"{bidir}_write2", 370.0, "GB/s"),
        (2, "gpu0->gpu1", f"{bidir}_total", 740.0, "GB/s"),
        (2, "gpu1->gpu0", f"{bidir}_total", 740.2, "GB/s"),
        (2, None, f"{bidir}_total_sum", 1480.2, "GB/s"),
        (4, "gpu0", "host_device_latency_sm", 0.77258, "us"),
        (4, "gpu1", "host_device_latency_sm", 0.7681, "us"),
        (4, None, "host_device_latency_sm_sum", 1.54068, "us"),
    ]


def test_json_fatal_error() -> None:
    document = {"nvbandwidth": {"error": "[CUDA_ERROR_NO_DEVICE] no CUDA-capable device is detected in expression cuInit(0)", "git_version": "v0.7", "version": "v0.7"}}  # fmt: skip
    parsed = parse_bytes(json_text(document).encode(), "nvbandwidth.json")
    assert runs(parsed) == [
        (1, None, "error", None, "[CUDA_ERROR_NO_DEVICE] no CUDA-capable device is detected in expression cuInit(0)", 1)
    ]


def test_json_fatal_error_while_running() -> None:
    document = {"nvbandwidth": {"error": "ASSERT in expression h_errorFlag == 0", "testcases": [{"name": "host_to_device_memcpy_sm", "status": "Running"}]}}  # fmt: skip
    parsed = parse_bytes(json_text(document).encode(), "nvbandwidth.json")
    assert runs(parsed) == [
        (1, None, "error", case("host_to_device_memcpy_sm"), "ASSERT in expression h_errorFlag == 0", 6)
    ]


def test_json_stray_lines_around_document() -> None:
    text = "WARNING: garbage {\n{ not json either\n" + json_text(JSON_DOC) + "WARNING: trailing }}}\n"
    parsed = parse_bytes(text.encode(), "nvbandwidth.txt")
    assert (parsed.format, parsed.error) == ("json", None)
    assert parsed.table("test_runs").height == 4


def test_json_cut_names_the_line() -> None:
    text = "".join(json_text(JSON_DOC).splitlines(keepends=True)[:20])
    parsed = parse_bytes(text.encode(), "nvbandwidth.json")
    assert parsed.error == "line 20: nvbandwidth JSON cannot be read: Expecting property name enclosed in double quotes"
    assert parsed.table("test_runs").is_empty()


def test_empty_file_is_not_nvbandwidth() -> None:
    assert parse_bytes(b"\n", "nvbandwidth.log").kind == "text"


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(["[  12.345678] NVRM: Xid (PCI:0000:3b:00): 79, GPU has fallen off the bus."], id="dmesg"),
        pytest.param(["# nThread 1 nGpus 8 minBytes 8 maxBytes 8589934592 step: 2(factor)"], id="nccl-tests"),
        pytest.param(
            ['{"category": "Integration", "tests": [{"name": "nvbandwidth", "results": []}]}'], id="dcgm-json"
        ),
        pytest.param(
            ["| nvbandwidth               | Pass                                           |"], id="dcgm-table"
        ),
        pytest.param(["HPLinpack 2.3  --  High-Performance Linpack benchmark  --   December 2, 2018"], id="hpl"),
        pytest.param(["Running host_to_device_memcpy_ce."], id="running-line-alone"),
    ],
)
def test_sniff_leaves_other_logs(lines: list[str]) -> None:
    assert nvbandwidth.sniff(lines, "nvbandwidth.log") is None


def test_sniff_claims_no_other_realdata(realdata: Path) -> None:
    claimed = []
    for path in sorted(p for p in realdata.rglob("*") if p.is_file()):
        if path.relative_to(realdata).parts[0] == "nvbandwidth":
            continue
        head = path.open("rb").read(1 << 16).decode("utf-8", errors="replace").splitlines()[:200]
        if nvbandwidth.sniff(head, str(path)) is not None:
            claimed.append(path.name)
    assert claimed == []


def test_realdata_superbench_gh200_text(realdata: Path) -> None:
    parsed = parse_path(realdata / "nvbandwidth" / "superbench" / "nvbandwidth_results.log")
    assert (parsed.kind, parsed.format, parsed.error) == ("nvbandwidth", "text", None)
    runs_ = parsed.table("test_runs")
    assert runs_.height == 15 and set(runs_["status"]) == {"pass"}
    assert runs_["params"][-1] == case("host_device_latency_sm")
    gh200 = "0009:01:00.0"
    assert values(parsed)[:7] == [
        (1, gh200, "host_to_device_memcpy_ce", 369.36, "GB/s", 13),
        (1, "gpu1", "host_to_device_memcpy_ce", 269.33, "GB/s", 13),
        (1, "gpu2", "host_to_device_memcpy_ce", 412.11, "GB/s", 13),
        (1, gh200, "host_to_device_memcpy_ce", 323.36, "GB/s", 14),
        (1, "gpu1", "host_to_device_memcpy_ce", 299.33, "GB/s", 14),
        (1, "gpu2", "host_to_device_memcpy_ce", 312.11, "GB/s", 14),
        (1, None, "host_to_device_memcpy_ce_sum", 1985.60, "GB/s", 16),
    ]
    assert parsed.table("measurements")["params"][:2].to_list() == [
        '{"cpu":"0","testcase_kind":"ce"}',
        '{"cpu":"0","testcase_kind":"ce"}',
    ]
    assert values(parsed)[-2:] == [
        (15, gh200, "host_device_latency_sm", 0.77258, "us", 128),
        (15, None, "host_device_latency_sm_sum", 0.77258, "us", 130),
    ]
    assert parsed.table("assets").select("device", "index", "model", "driver").rows() == [
        (gh200, 0, "NVIDIA GH200 480GB", "550.54.15")
    ]


@pytest.mark.parametrize("name", ["nvbandwidth_verboseFullOutput.json", "nvbandwidth_verboseFullOutputWithErrors.txt"])
def test_realdata_dcgm_json(realdata: Path, name: str) -> None:
    parsed = parse_path(realdata / "nvbandwidth" / "dcgm_repo" / name)
    assert (parsed.kind, parsed.format, parsed.error) == ("nvbandwidth", "json", None)
    runs_ = parsed.table("test_runs")
    assert runs_.height == 15 and set(runs_["status"]) == {"pass"}  # 14 waived testcases have no run
    rows = {(device, metric): value for _, device, metric, value, _, _ in values(parsed)}
    assert len(rows) == 30
    assert rows[("gpu0", "host_to_device_memcpy_ce")] == 12.3964
    assert rows[(None, "host_to_device_memcpy_ce_sum")] == 12.396361291250001
    assert rows[("gpu0", "all_to_host_bidirectional_memcpy_sm")] == 9.83679
    assert rows[("gpu0", "host_device_latency_sm")] == pytest.approx(0.649879)


def test_realdata_v08_elided_d2d_matrix(realdata: Path) -> None:
    name = "nvbandwidth-50__v0.8_6xA6000_d2d_read_ce_with_NA_diagonal__user-elided.txt"
    parsed = parse_path(realdata / "nvbandwidth" / "issue_excerpts" / name)
    # The elision (`...`) replaced whole testcases; the one matrix printed is complete.
    assert (parsed.kind, parsed.format, parsed.error) == ("nvbandwidth", "text", None)
    assert runs(parsed) == [(1, None, "pass", case("device_to_device_memcpy_read_ce"), None, 10)]
    rows = values(parsed)
    assert len(rows) == 31  # 6 x 6 less the N/A diagonal, and the SUM
    assert rows[0] == (1, "gpu0->gpu1", "device_to_device_memcpy_read_ce", 26.34, "GB/s", 12)
    assert rows[29] == (1, "gpu5->gpu4", "device_to_device_memcpy_read_ce", 26.35, "GB/s", 17)
    assert rows[30] == (1, None, "device_to_device_memcpy_read_ce_sum", 715.53, "GB/s", 19)


def test_realdata_v02_4090_excerpt(realdata: Path) -> None:
    parsed = parse_path(
        realdata / "nvbandwidth" / "issue_excerpts" / "nvbandwidth-15__v0.2_8xRTX4090_h2d_d2h__truncated.txt"
    )
    assert (parsed.kind, parsed.format, parsed.error) == ("nvbandwidth", "text", None)
    assert parsed.table("test_runs").select("status", "params").rows() == [
        ("pass", case("host_to_device_memcpy_ce")),
        ("pass", case("device_to_host_memcpy_ce")),
    ]
    rows = values(parsed)
    assert len(rows) == 18
    assert rows[7] == (1, "gpu7", "host_to_device_memcpy_ce", 26.31, "GB/s", 23)
    assert rows[17] == (2, None, "device_to_host_memcpy_ce_sum", 214.28, "GB/s", 32)
    assert parsed.table("assets").is_empty()  # v0.2 prints no bus ids


def test_realdata_v02_waiving(realdata: Path) -> None:
    parsed = parse_path(
        realdata / "nvbandwidth" / "issue_excerpts" / "nvbandwidth-13__v0.2_2xRTX2080Ti_waived_d2d_write_ce.txt"
    )
    assert (parsed.kind, parsed.format, parsed.error) == ("nvbandwidth", "text", None)
    assert parsed.table("test_runs").is_empty()
    assert parsed.table("events")["message"][-1] == "Waiving device_to_device_memcpy_write_ce."


def test_ingest_end_to_end_resolves_json_gpu_indexes(tmp_path: Path, store: Store) -> None:
    node = tmp_path / "fleet" / "node017"
    node.mkdir(parents=True)
    (node / "nvbandwidth.log").write_text(TEXT_HEADER + D2D_READ)
    (node / "nvbandwidth.json").write_text(json_text(JSON_DOC))
    summary = ingest(store, [str(tmp_path / "fleet")])
    assert summary.errors == []
    files = store.frame("SELECT path, host, kind, format, status FROM files ORDER BY path")
    assert [row[1:] for row in files.rows()] == [
        ("node017", "nvbandwidth", "json", "ok"),
        ("node017", "nvbandwidth", "text", "ok"),
    ]
    assets = store.frame("SELECT host, device, index FROM assets ORDER BY index")
    assert assets.rows() == [("node017", BDF0, 0), ("node017", BDF1, 1)]
    json_rows = store.frame(
        "SELECT m.device, m.value FROM measurements m JOIN files f USING (file_id) "
        "WHERE f.format = 'json' AND m.metric = 'device_to_device_memcpy_read_ce' ORDER BY m.value"
    )
    assert json_rows.rows() == [(f"{BDF0}->{BDF1}", 389.4), (f"{BDF1}->{BDF0}", 389.81)]
    assert store.frame("SELECT count(*) FROM test_runs WHERE host = 'node017'").item() == 5
