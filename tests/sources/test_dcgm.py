"""dcgmi outputs: diag tables (3.x and 4.x), diag JSON (3.x and 4.x), health reports and dmon samples.

Inline samples are drawn the way dcgmi draws them (`row`, `wrapped`): a 25-character name column,
values wrapped every 45 characters, the section bars of Diag.cpp and the tree of DcgmiOutputTree.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from triage.ingest import ingest
from triage.sources import dcgm
from triage.sources.reading import Parsed, parse_bytes, parse_path
from triage.store import Store

EXCERPTS = "dcgm/issue_excerpts"
BORDER = "+---------------------------+------------------------------------------------+"


def row(name: str, value: str) -> str:
    """One `| name | value |` row of the diag table."""
    return f"| {name:<25} | {value:<46} |"


def wrapped(label: str, text: str) -> list[str]:
    """A message cell: 45 characters per row, the label on the first row only."""
    return [row(label if i == 0 else "", text[i : i + 45]) for i in range(0, len(text), 45)]


def bar(name: str, edge: str = "+") -> str:
    """A section bar (`+-----  Hardware  ---...+`, or `|-----  Metadata  ---...|`)."""
    return f"{f'{edge}-----  {name}  '.ljust(28, '-')}+{'-' * 48}{edge}"


def table(version: str, ids: str, *body: str) -> list[str]:
    """A complete `dcgmi diag` table with its metadata."""
    return [
        "Successfully ran diagnostic for group.",
        BORDER,
        row("Diagnostic", "Result"),
        "+===========================+================================================+",
        bar("Metadata", "|"),
        row("DCGM Version", version),
        row("Driver Version Detected", "550.54.15"),
        row("GPU Device IDs Detected", ids),
        *body,
        BORDER,
    ]


def text(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def runs(parsed: Parsed) -> list[tuple[Any, ...]]:
    """(line_no, device, test, status, detail) of every run, in file order."""
    frame = parsed.table("test_runs")
    if frame.is_empty():
        return []
    return frame.sort("line_no", maintain_order=True).select("line_no", "device", "test", "status", "detail").rows()


def params(parsed: Parsed, test: str, device: str | None) -> dict[str, Any]:
    frame = parsed.table("test_runs").filter(pl.col("test") == test)
    frame = frame.filter(pl.col("device").is_null() if device is None else pl.col("device") == device)
    assert frame.height == 1
    return json.loads(frame["params"][0] or "{}")


# -- 3.x table ------------------------------------------------------------------------------------------
FAULTY = "GPU 2 Found 12 faulty memory elements on GPU 2"
REMAP = "GPU 2 had memory errors and row remappings are pending"
POWER = "Max power of 512.3 did not reach desired power minimum TDP of 650.0 for GPU 3"
DIAG_3X = [
    "$ sudo dcgmi diag -r 3",
    *table(
        "3.3.5",
        "2330,2330,2330,2330",
        bar("Deployment", "|"),
        row("Denylist", "Pass"),
        row("Persistence Mode", "Pass"),
        *wrapped("Info", "Persistence mode for GPU 0 is disabled. Enable persistence mode."),
        row("Page Retirement/Row Remap", "Fail"),
        *wrapped("Warning", REMAP),
        bar("Integration"),
        row("PCIe", "Pass - All"),
        bar("Hardware"),
        row("GPU Memory", "Pass - GPUs: 0, 1, 3   "),
        row("", "Fail - GPU: 2   "),
        *wrapped("Warning", FAULTY),
        row("Diagnostic", "Skip - All"),
        bar("Stress"),
        row("Targeted Stress", "Pass - All"),
        row("Targeted Power", "Pass - GPUs: 0, 1, 2   "),
        row("", "Warn - GPU: 3   "),
        *wrapped("Warning", POWER),
        row("Memory Bandwidth", "Fail - All"),
    ),
]


def test_diag_text_3x_rows() -> None:
    parsed = parse_bytes(text(DIAG_3X), "node1/dcgmi_diag.txt")
    assert (parsed.kind, parsed.format, parsed.error) == ("dcgm", "diag_text", None)
    assert runs(parsed) == [
        (11, None, "dcgm_denylist", "pass", None),
        (12, None, "dcgm_persistence_mode", "pass", None),
        (15, None, "dcgm_page_retirement_row_remap", "fail", REMAP),
        *[(19, f"gpu{g}", "dcgm_pcie", "pass", None) for g in range(4)],
        *[(21, f"gpu{g}", "dcgm_memory", "pass", None) for g in (0, 1, 3)],
        (22, "gpu2", "dcgm_memory", "fail", FAULTY),
        *[(27, f"gpu{g}", "dcgm_targeted_stress", "pass", None) for g in range(4)],
        *[(28, f"gpu{g}", "dcgm_targeted_power", "pass", None) for g in range(3)],
        (29, "gpu3", "dcgm_targeted_power", "fail", f"warning: {POWER}"),
        # "Fail - All" with no warning of its own: every GPU seen in the table fails, quoting nothing.
        *[(32, f"gpu{g}", "dcgm_memory_bandwidth", "fail", None) for g in range(4)],
    ]
    assert params(parsed, "dcgm_memory", "gpu2") == {"dcgm_version": "3.3.5", "level": 3, "section": "Hardware"}
    assert params(parsed, "dcgm_denylist", None) == {"dcgm_version": "3.3.5", "level": 3, "section": "Deployment"}


def test_diag_text_3x_fail_all_without_known_gpus_is_one_node_run() -> None:
    lines = table("3.3.5", "2330", bar("Hardware"), row("GPU Memory", "Fail - All"), *wrapped("Warning", "No GPUs."))
    assert runs(parse_bytes(text(lines), "d.txt")) == [(10, None, "dcgm_memory", "fail", "No GPUs.")]


# -- 4.x table ------------------------------------------------------------------------------------------
ROWS_REMAPPED = "GPU 1 had uncorrectable memory errors and 3 rows were remapped"
WIDTH = (
    "GPU 1 is running at PCI link width 8X, which is below the minimum allowed link generation of 16 "
    "(parameter 'pcie.min_pci_width')"
)
CHILD = (
    "There was an internal error during the test: 'A child process (4112) exited with non-zero status 1' "
    "Check DCGM and system logs for errors. Reset GPU. Restart DCGM. Rerun diagnostics."
)
DIAG_4X = table(
    "4.1.1",
    "2330, 2330",
    bar("Deployment", "|"),
    row("software", "Pass"),
    row("", "GPU0: Pass"),
    row("", "GPU1: Pass"),
    bar("Hardware"),
    row("memory", "Fail"),
    row("", "GPU0: Pass"),
    row("", "GPU1: Fail"),
    *wrapped("Warning: GPU1", ROWS_REMAPPED + " (DCGM_FR_UNCORRECTABLE_ROW_REMAP)"),
    bar("Integration"),
    row("pcie", "Warn"),
    row("", "GPU0: Pass"),
    row("", "GPU1: Fail"),
    *wrapped("Warning: GPU1", WIDTH),
    *wrapped("Info: GPU1", "GPU 1 GPU to Host bandwidth:  6.91 GB/s"),
    bar("Stress"),
    row("targeted_power", "Fail"),
    *wrapped("Warning", CHILD),
    row("", "GPU0: Pass"),
    row("", "GPU1: Pass"),
    row("memtest", "Skip"),
    row("", "GPU0: Skip"),
    row("", "GPU1: Skip"),
)


def test_diag_text_4x_rows() -> None:
    parsed = parse_bytes(text(DIAG_4X), "d.txt")
    assert parsed.error is None
    assert runs(parsed) == [
        (11, "gpu0", "dcgm_software", "pass", None),
        (12, "gpu1", "dcgm_software", "pass", None),
        (15, "gpu0", "dcgm_memory", "pass", None),
        (16, "gpu1", "dcgm_memory", "fail", ROWS_REMAPPED + " (DCGM_FR_UNCORRECTABLE_ROW_REMAP)"),
        (22, "gpu0", "dcgm_pcie", "pass", None),
        # 4.x prints an entity's Warn as Fail; only the test row says Warn.
        (23, "gpu1", "dcgm_pcie", "fail", WIDTH),
        # The test failed on no GPU: its warnings belong to the node.
        (29, None, "dcgm_targeted_power", "fail", CHILD),
        (35, "gpu0", "dcgm_targeted_power", "pass", None),
        (36, "gpu1", "dcgm_targeted_power", "pass", None),
    ]
    assert params(parsed, "dcgm_memory", "gpu1") == {
        "dcgm_version": "4.1.1",
        "error_categories": ["HARDWARE_MEMORY"],
        "error_codes": [84],
        "section": "Hardware",
    }
    bandwidth = parsed.table("measurements").select("line_no", "device", "test", "metric", "value", "unit").rows()
    assert bandwidth == [(27, "gpu1", "dcgm_pcie", "d2h_bandwidth", 6.91, "GB/s")]


def test_diag_text_warn_without_entities_is_a_node_failure_quoting_a_warning() -> None:
    lines = table("4.2.0", "2330", bar("Stress"), row("pulse_test", "Warn"), *wrapped("Warning", "Too hot."))
    assert runs(parse_bytes(text(lines), "d.txt")) == [(10, None, "dcgm_pulse_test", "fail", "warning: Too hot.")]


def test_wrapped_cells_keep_spaces_at_the_cut() -> None:
    message = "A" * 44 + " " + "word continues here" + " " * 26 + "x"
    lines = table("3.3.5", "2330", bar("Hardware"), row("GPU Memory", "Fail - GPU: 0"), *wrapped("Warning", message))
    assert runs(parse_bytes(text(lines), "d.txt"))[0][4] == "A" * 44 + " word continues here x"


def test_iterations_and_an_error_line() -> None:
    lines = [
        "$ dcgmi diag -r 1 --iterations 2",
        "",
        "Running iteration 1 of 2...",
        *table("4.2.3", "2330", bar("Deployment", "|"), row("software", "Pass"), row("", "GPU0: Pass")),
        "",
        "Running iteration 2 of 2...",
        "Error: Unable to complete diagnostic for group 0. Return: (-37) : The GPU Diagnostic returned Json that "
        "cannot be parsed.",
        "Aborting the iterative runs of the diagnostic due to failure: The GPU Diagnostic returned Json that cannot "
        "be parsed.",
    ]
    parsed = parse_bytes(text(lines), "d.txt")
    assert parsed.error is None
    assert runs(parsed) == [
        (14, "gpu0", "dcgm_software", "pass", None),
        (
            18,
            None,
            "dcgm_diag",
            "error",
            "Unable to complete diagnostic for group 0. Return: (-37) : The GPU Diagnostic returned Json that "
            "cannot be parsed.",
        ),
    ]
    assert params(parsed, "dcgm_software", "gpu0") == {
        "dcgm_version": "4.2.3",
        "iteration": 1,
        "level": 1,
        "section": "Deployment",
    }
    assert params(parsed, "dcgm_diag", None) == {"iteration": 2, "level": 1}


# -- JSON ------------------------------------------------------------------------------------------------
def json_text(doc: dict[str, Any]) -> bytes:
    """JSON as dcgmi prints it (JsonCpp: sorted keys, tab indent, `" : "`)."""
    return (json.dumps(doc, indent="\t", sort_keys=True).replace('":', '" :') + "\n").encode()


def entity(gpu: int, status: str, **extra: Any) -> dict[str, Any]:
    return {"entity_group": "GPU", "entity_group_id": 1, "entity_id": gpu, "status": status, **extra}


THERMAL = "Thermal violations totaling 13.3 seconds started at 9.7 seconds into the test for GPU 1"
DIAG_4X_JSON = {
    "DCGM Diagnostic": {
        "test_categories": [
            {
                "category": "Hardware",
                "tests": [
                    {
                        "name": "diagnostic",
                        "results": [
                            entity(0, "Pass", info=["GPU 0 temperature average:\t62 C"]),
                            entity(1, "Fail", warnings=[
                                {"error_category": 9, "error_id": 41, "error_severity": 1, "warning": THERMAL}
                            ]),
                        ],
                        "test_summary": {"status": "Fail", "warnings": [
                            {"error_category": 9, "error_id": 41, "error_severity": 1, "warning": THERMAL}
                        ]},
                    },
                    {
                        "name": "memtest",
                        "results": [entity(0, "Skip"), entity(1, "Skip")],
                        "test_summary": {"status": "Skip"},
                    },
                ],
            },
            {
                "category": "Integration",
                "tests": [
                    {
                        "name": "pcie",
                        "results": [entity(0, "Pass"), entity(1, "Pass")],
                        "test_summary": {"status": "Fail", "warnings": [
                            {"error_category": 16, "error_id": 44, "error_severity": 4, "warning": CHILD}
                        ]},
                    }
                ],
            },
        ]
    },
    "entity_groups": [
        {
            "entities": [
                {"device_id": "2330", "entity_id": 0, "serial_num": "1652322012345"},
                {"device_id": "2330", "entity_id": 1, "serial_num": "1652322012346"},
            ],
            "entity_group": "GPU",
            "entity_group_id": 1,
        }
    ],
    "metadata": {"Driver Version Detected": "570.124.06", "version": "4.2.3"},
}  # fmt: skip


def test_diag_json_4x_rows() -> None:
    parsed = parse_bytes(json_text(DIAG_4X_JSON), "d.json")
    assert (parsed.format, parsed.error) == ("diag_json", None)
    assert runs(parsed) == [
        (11, "gpu0", "dcgm_diagnostic", "pass", None),
        (20, "gpu1", "dcgm_diagnostic", "fail", THERMAL),
        (75, "gpu0", "dcgm_pcie", "pass", None),
        (81, "gpu1", "dcgm_pcie", "pass", None),
        (87, None, "dcgm_pcie", "fail", CHILD),
    ]
    assert params(parsed, "dcgm_diagnostic", "gpu1") == {
        "dcgm_version": "4.2.3",
        "error_categories": ["HARDWARE_THERMAL"],
        "error_codes": [41],
        "section": "Hardware",
    }
    assert params(parsed, "dcgm_pcie", None)["error_categories"] == ["INTERNAL_OTHER"]
    temperature = parsed.table("measurements").select("line_no", "device", "test", "metric", "value", "unit")
    assert temperature.rows() == [(15, "gpu0", "dcgm_diagnostic", "temperature_avg", 62.0, "C")]
    assets = parsed.table("assets").select("kind", "device", "index", "serial", "line_no")
    assert assets.rows() == [("gpu", "gpu0", 0, "1652322012345", 109), ("gpu", "gpu1", 1, "1652322012346", 114)]


def test_diag_json_without_the_catalog_keeps_the_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dcgm, "error_catalog", lambda: dcgm.ErrorCatalog())
    parsed = parse_bytes(json_text(DIAG_4X_JSON), "d.json")
    assert params(parsed, "dcgm_diagnostic", "gpu1") == {
        "dcgm_version": "4.2.3",
        "error_codes": [41],
        "section": "Hardware",
    }


def test_diag_json_runtime_error_and_iterations() -> None:
    failed = {"DCGM Diagnostic": {"runtime_error": "Error: Diagnostic could not be run while DCGM is paused.",
                                  "version": "4.2.3"}}  # fmt: skip
    passed = {"DCGM GPU Diagnostic": {"test_categories": [{"category": "Deployment", "tests": [
        {"name": "Denylist", "results": [{"gpu_ids": "0,1", "status": "PASS"}]}]}], "version": "3.3.8"}}  # fmt: skip
    parsed = parse_bytes(json_text({"Overall Result": "Fail", "iterations": [passed, failed]}), "d.json")
    assert parsed.error is None
    assert [r[1:] for r in runs(parsed)] == [
        ("gpu0", "dcgm_denylist", "pass", None),
        ("gpu1", "dcgm_denylist", "pass", None),
        (None, "dcgm_diag", "error", "Error: Diagnostic could not be run while DCGM is paused."),
    ]
    assert params(parsed, "dcgm_diag", None) == {"dcgm_version": "4.2.3", "iteration": 2}


def test_diag_json_3x_warning_strings() -> None:
    doc = {"DCGM GPU Diagnostic": {"test_categories": [{"category": "Hardware", "tests": [{"name": "GPU Memory",
           "results": [{"gpu_ids": "3", "status": "FAIL", "warnings": "GPU 3 Found 4 faulty memory elements"}]}]}],
           "version": "2.4.7"}}  # fmt: skip
    assert [r[1:] for r in runs(parse_bytes(json_text(doc), "d.json"))] == [
        ("gpu3", "dcgm_memory", "fail", "GPU 3 Found 4 faulty memory elements")
    ]


def test_truncated_json_is_an_error_with_the_rows_before_it() -> None:
    lines = [
        *table("4.2.3", "2330", bar("Deployment", "|"), row("software", "Pass"), row("", "GPU0: Pass")),
        "$ dcgmi diag -r 2 -j",
        *json_text(DIAG_4X_JSON).decode().splitlines()[:40],
    ]
    parsed = parse_bytes(text(lines), "d.txt")
    assert len(lines) == 53
    assert parsed.error == "line 53: the dcgmi JSON document ends before it is complete: the output is cut off"
    assert runs(parsed) == [(11, "gpu0", "dcgm_software", "pass", None)]
    assert parsed.table("events").height == len(lines)


# -- health ----------------------------------------------------------------------------------------------
REPLAY = "Detected more than 8 PCIe replays per minute for GPU 1 : 13"
HEALTH_JSON = {
    "body": {
        "GPU": {
            "children": {
                "1": {
                    "children": {
                        "Errors": {
                            "children": {
                                "Memory system": {
                                    "overflow": [
                                        "A pending retired page has been detected in GPU 1. , GPU",
                                        "1 had memory errors and row remappings are pending",
                                    ],
                                    "value": "Failure",
                                },
                                "PCIe system": {"overflow": [REPLAY], "value": "Warning"},
                            }
                        }
                    },
                    "value": "Failure",
                }
            }
        },
        "Overall Health": {"value": "Failure"},
    },
    "header": ["Health Monitor Report"],
}
PENDING = "A pending retired page has been detected in GPU 1. , GPU 1 had memory errors and row remappings are pending"
HEALTH_RUNS = [
    ("gpu1", "dcgm_health", "fail", f"Memory system: {PENDING}; PCIe system: {REPLAY}"),
    ("gpu1", "dcgm_health_memory", "fail", PENDING),
    ("gpu1", "dcgm_health_pcie", "fail", REPLAY),
    (None, "dcgm_health", "fail", None),
]
HEALTH_TEXT = [
    "$ dcgmi health -c",
    "+---------------------------+----------------------------------------------------------+",
    "| Health Monitor Report                                                                |",
    "+===========================+==========================================================+",
    "| Overall Health            | Failure                                                  |",
    "| GPU                       |                                                          |",
    "| -> 1                      | Failure                                                  |",
    "|    -> Errors              |                                                          |",
    "|       -> Memory system    | Failure                                                  |",
    "|                           | A pending retired page has been detected in GPU 1. , GPU |",
    "|                           | 1 had memory errors and row remappings are pending       |",
    "|       -> PCIe system      | Warning                                                  |",
    "|                           | Detected more than 8 PCIe replays per minute for GPU 1 : |",
    "|                           | 13                                                       |",
    "+---------------------------+----------------------------------------------------------+",
]


def test_health_json() -> None:
    parsed = parse_bytes(json_text(HEALTH_JSON), "health.json")
    assert (parsed.format, parsed.error) == ("health_json", None)
    assert sorted((r[1:] for r in runs(parsed)), key=str) == sorted(HEALTH_RUNS, key=str)
    assert params(parsed, "dcgm_health_pcie", "gpu1") == {"health": "warning"}
    assert params(parsed, "dcgm_health_memory", "gpu1") == {"health": "failure"}


def test_health_text() -> None:
    parsed = parse_bytes(text(HEALTH_TEXT), "health.txt")
    assert (parsed.format, parsed.error) == ("health_text", None)
    assert runs(parsed) == [
        (5, None, "dcgm_health", "fail", None),
        (7, *HEALTH_RUNS[0]),
        (9, *HEALTH_RUNS[1]),
        (12, *HEALTH_RUNS[2]),
    ]


def test_health_text_healthy_and_cut() -> None:
    healthy = [
        *HEALTH_TEXT[1:4],
        "| Overall Health            | Healthy                                                  |",
    ]
    parsed = parse_bytes(text([*healthy, HEALTH_TEXT[1]]), "health.txt")
    assert (runs(parsed), parsed.error) == ([(4, None, "dcgm_health", "pass", None)], None)
    cut = parse_bytes(text(HEALTH_TEXT[:11]), "health.txt")
    assert cut.error == "line 11: the dcgmi health table ends here without its closing border: the output is cut off"
    assert [r[2] for r in runs(cut)] == ["dcgm_health", "dcgm_health", "dcgm_health_memory"]


# -- dmon ------------------------------------------------------------------------------------------------
DMON = [
    "$ dcgmi dmon -e 230,155,150 -c 2",
    "#Entity   XIDER  POWER    TMPTR",
    "ID                W        C",
    "GPU 0     0      412.331  61",
    "GPU 1     79     N/A      N/A",
    "GPU 0     0      415.002  62",
    "GPU 1     79     N/A      N/A",
]


def test_dmon_samples() -> None:
    parsed = parse_bytes(text(DMON), "dmon.log")
    assert (parsed.format, parsed.error) == ("dmon", None)
    rows = parsed.table("measurements").select("line_no", "device", "test", "metric", "value", "unit").rows()
    assert rows == [
        (4, "gpu0", "dcgm_dmon", "xid_last", 0.0, "enum"),
        (4, "gpu0", "dcgm_dmon", "power", 412.331, "W"),
        (4, "gpu0", "dcgm_dmon", "gpu_temp", 61.0, "C"),
        (5, "gpu1", "dcgm_dmon", "xid_last", 79.0, "enum"),
        (6, "gpu0", "dcgm_dmon", "xid_last", 0.0, "enum"),
        (6, "gpu0", "dcgm_dmon", "power", 415.002, "W"),
        (6, "gpu0", "dcgm_dmon", "gpu_temp", 62.0, "C"),
        (7, "gpu1", "dcgm_dmon", "xid_last", 79.0, "enum"),
    ]


# -- malformed, empty, sniffing ----------------------------------------------------------------------------
def test_cut_table_is_an_error_with_the_rows_before_it() -> None:
    lines = DIAG_4X[:17]
    parsed = parse_bytes(text(lines), "d.txt")
    assert parsed.error == "line 17: the dcgmi diag table ends here without its closing border: the output is cut off"
    assert [r[1:4] for r in runs(parsed)] == [
        ("gpu0", "dcgm_software", "pass"),
        ("gpu1", "dcgm_software", "pass"),
        ("gpu0", "dcgm_memory", "pass"),
        ("gpu1", "dcgm_memory", "fail"),
    ]
    assert parsed.table("events").height == 17


def test_table_followed_by_other_text_without_its_border_is_cut() -> None:
    parsed = parse_bytes(text([*DIAG_4X[:13], "", "$ nvidia-smi"]), "d.txt")
    assert parsed.error == "line 13: the dcgmi diag table ends here without its closing border: the output is cut off"


def test_header_only_table_has_no_runs() -> None:
    parsed = parse_bytes(text(table("4.2.3", "2330")), "d.txt")
    assert (parsed.kind, runs(parsed), parsed.error) == ("dcgm", [], None)


def test_empty_ish_input_is_not_dcgm() -> None:
    assert dcgm.sniff([], "dcgmi_diag.txt") is None
    assert dcgm.sniff(["", "dcgmi diag -r 3", ""], "dcgmi_diag.txt") is None


@pytest.mark.parametrize(
    "sample",
    [
        pytest.param(["[  12.345678] NVRM: Xid (PCI:0000:3b:00): 79, pid=1, name=x, GPU has fallen off the bus."],
                     id="kernel-log"),
        pytest.param(["#  out-of-place                       in-place", "#       size         count      type"],
                     id="nccl-tests"),
        pytest.param(["| Name | Status |", "|------|--------|", "| memory | Pass |"], id="markdown-table"),
        pytest.param(["+-----+-----+", "| GPU | Pass - All |"], id="narrow-table"),
        pytest.param(['{"body": {"PCIe": {"value": "On"}}}'], id="other-dcgmi-json"),
    ],
)  # fmt: skip
def test_sniff_negatives(sample: list[str]) -> None:
    assert dcgm.sniff(sample, "x.log") is None


def test_sniff_leaves_other_realdata_alone(realdata: Path) -> None:
    claimed = []
    for path in sorted(realdata.rglob("*")):
        if path.is_file() and path.relative_to(realdata).parts[0] != "dcgm":
            sample = path.read_bytes()[: 1 << 16].decode("utf-8", "replace").splitlines()[:200]
            if dcgm.sniff(sample, str(path)) is not None:
                claimed.append(str(path))
    assert claimed == []


def test_test_names() -> None:
    names = ["GPU Memory", "PCIe", "Targeted Stress", "Page Retirement/Row Remap", "EUD Test", "Blacklist",
             "Environmental Variables", "Permissions and OS-related Blocks", "memory_bandwidth", "Pulse Test"]  # fmt: skip
    assert [dcgm.test_name(n) for n in names] == [
        "dcgm_memory", "dcgm_pcie", "dcgm_targeted_stress", "dcgm_page_retirement_row_remap", "dcgm_eud",
        "dcgm_denylist", "dcgm_environment_variables", "dcgm_permissions_and_os_blocks", "dcgm_memory_bandwidth",
        "dcgm_pulse_test",
    ]  # fmt: skip


def test_error_catalog() -> None:
    catalog = dcgm.error_catalog()
    assert (len(catalog.categories), catalog.codes["DCGM_FR_PENDING_ROW_REMAP"]) == (133, 85)
    assert (catalog.category(29), catalog.category(120), catalog.category(999)) == (
        "SOFTWARE_OTHER",
        "HARDWARE_OTHER",
        None,
    )


# -- realdata --------------------------------------------------------------------------------------------
def excerpt(realdata: Path, name: str) -> Parsed:
    path = realdata / EXCERPTS / name
    parsed = parse_path(path)
    assert parsed.kind == "dcgm"
    assert parsed.table("events").height == len(path.read_text().splitlines())
    return parsed


def test_realdata_4_4_2_all_pass(realdata: Path) -> None:
    parsed = excerpt(realdata, "DCGM-124__dcgmi_diag_r2_dcgm4.4.2_1gpu_2237__all_pass.txt")
    assert parsed.error is None
    assert runs(parsed) == [
        (11, "gpu0", "dcgm_software", "pass", None),
        (14, "gpu0", "dcgm_memory", "pass", None),
        (17, "gpu0", "dcgm_pcie", "pass", None),
    ]
    assert params(parsed, "dcgm_pcie", "gpu0") == {"dcgm_version": "4.4.2", "section": "Integration"}


INTERNAL_152 = (
    "There was an internal error during the test: 'A child process ({pid}) exited with non-zero status 1' Check "
    "DCGM and system logs for errors. Reset GPU. Restart DCGM. Rerun diagnostics."
)
PARSE_ERROR = (
    "There was an internal error during the test: 'Output of child process ({pid}) couldn't be parsed: '* Line 1, "
    "Column 1 Syntax error: value, object or array expected. '' Check DCGM and system logs for errors. Reset GPU. "
    "Restart DCGM. Rerun diagnostics."
)


def test_realdata_4x_l40s_pcie_internal_error_and_no_closing_border(realdata: Path) -> None:
    parsed = excerpt(realdata, "DCGM-253__dcgmi_diag_dcgm4.2.3_4xL40S_26b9__pcie_fail_internal_error.txt")
    assert parsed.error == "line 48: the dcgmi diag table ends here without its closing border: the output is cut off"
    detail = " ".join(
        [INTERNAL_152.format(pid=152), INTERNAL_152.format(pid=153), PARSE_ERROR.format(pid=152),
         PARSE_ERROR.format(pid=153)]
    )  # fmt: skip
    assert runs(parsed) == [
        *[(11 + g, f"gpu{g}", "dcgm_software", "pass", None) for g in range(4)],
        *[(17 + g, f"gpu{g}", "dcgm_memory", "pass", None) for g in range(4)],
        (22, None, "dcgm_pcie", "fail", detail),
        *[(45 + g, f"gpu{g}", "dcgm_pcie", "pass", None) for g in range(4)],
    ]
    assert params(parsed, "dcgm_pcie", None) == {"dcgm_version": "4.2.3", "section": "Integration"}


def test_realdata_4x_b200_pcie_parse_error(realdata: Path) -> None:
    parsed = excerpt(realdata, "DCGM-253__dcgmi_diag_r2_dcgm4.4.1_8xB200_2901__pcie_fail_parse_error.txt")
    assert parsed.error is None
    assert runs(parsed) == [
        *[(10 + g, f"gpu{g}", "dcgm_software", "pass", None) for g in range(8)],
        *[(20 + g, f"gpu{g}", "dcgm_memory", "pass", None) for g in range(8)],
        (29, None, "dcgm_pcie", "fail", PARSE_ERROR.format(pid=11167)),
        *[(36 + g, f"gpu{g}", "dcgm_pcie", "pass", None) for g in range(8)],
    ]


CUINIT = (
    "GPU {g} Error using CUDA API cuInit Check DCGM and system logs for errors. Reset GPU. Restart DCGM. Rerun "
    "diagnostics. Unable to initialize CUDA library: 'system not yet initialized'. . Please check if a CUDA sample "
    "program can be run successfully on this host. Refer to https://github.com/nvidia/cuda-samples"
)


def test_realdata_3_3_8_gpu_memory_fail_all(realdata: Path) -> None:
    parsed = excerpt(realdata, "nccl-tests-264__dcgmi_diag_r3_fail-early_8xH100__cuInit_system_not_yet_initialized.txt")
    assert parsed.error is None
    checks = ["denylist", "nvml_library", "cuda_main_library", "permissions_and_os_blocks", "persistence_mode"]
    later = ["environment_variables", "page_retirement_row_remap", "graphics_processes", "inforom"]
    assert runs(parsed) == [
        *[(10 + i, None, f"dcgm_{name}", "pass", None) for i, name in enumerate(checks)],
        *[(27 + i, None, f"dcgm_{name}", "pass", None) for i, name in enumerate(later)],
        # PCIe, Memory Bandwidth and EUD Test are "Skip - All": no runs.
        *[(34, f"gpu{g}", "dcgm_memory", "fail", CUINIT.format(g=g)) for g in range(8)],
    ]
    assert params(parsed, "dcgm_memory", "gpu5") == {"dcgm_version": "3.3.8", "section": "Hardware"}


def test_realdata_ml_engineering_thermal_fragment(realdata: Path) -> None:
    parsed = excerpt(realdata, "ml-engineering-debug__dcgmi_diag_r2_gpu_memory_fail_thermal_fragment.txt")
    assert parsed.error == "line 8: the dcgmi diag table ends here without its closing border: the output is cut off"
    assert runs(parsed) == [
        *[(1, f"gpu{g}", "dcgm_memory", "pass", None) for g in range(1, 8)],
        (
            2,
            "gpu0",
            "dcgm_memory",
            "fail",
            "GPU 0 Thermal violations totaling 13.3 seconds started at 9.7 seconds into the test for GPU 0 Verify "
            "that the cooling on this machine is functional, including external, thermal material interface, fans, "
            "and any other components.",
        ),
    ]


def test_realdata_ml_engineering_row_remap_fragment(realdata: Path) -> None:
    parsed = excerpt(realdata, "ml-engineering-debug__dcgmi_diag_r3_xid64_rowremap_pending_fragment.txt")
    assert parsed.error == "line 6: the dcgmi diag table ends here without its closing border: the output is cut off"
    # The Error row has no check above it (the fragment starts at the section bar): it stands for the section.
    assert runs(parsed) == [
        (5, None, "dcgm_deployment", "fail", "GPU 3 has uncorrectable memory errors and row remappings are pending")
    ]


def test_realdata_gb10_json_software_fail(realdata: Path) -> None:
    parsed = excerpt(realdata, "go-test-fixture__dcgmi_diag_r1_j_dcgm4.2.3_GB10_2e12__software_fail.json")
    assert (parsed.format, parsed.error) == ("diag_json", None)
    assert runs(parsed) == [
        (
            15,
            "gpu0",
            "dcgm_software",
            "fail",
            'Persistence Mode: Persistence mode for GPU 0 is disabled. Enable persistence mode by running "nvidia-smi '
            '-i <gpuId> -pm 1 " as root.',
        )
    ]
    assert params(parsed, "dcgm_software", "gpu0") == {
        "dcgm_version": "4.2.3",
        "error_categories": ["SOFTWARE_OTHER"],
        "error_codes": [29],
        "section": "Deployment",
    }
    assert parsed.table("assets").is_empty()  # serial_num is <<<NOT_SUPPORTED>>>


def test_realdata_vendor_3x_per_gpu_json(realdata: Path) -> None:
    parsed = parse_path(realdata / "dcgm/nvidia_dcgm_repo/dcgm_diag_PER_GPU_JSON.json")
    assert (parsed.format, parsed.error) == ("diag_json", None)
    frame = parsed.table("test_runs")
    # 10 deployment checks on GPUs 0-3, memory on 1-3 (GPU 0 skipped), pcie on 0-3, sm_stress on 0-3.
    assert frame.height == 40 + 3 + 4 + 4
    failed = frame.filter(pl.col("status") == "fail").select("line_no", "device", "test", "detail").rows()
    assert failed == [
        (
            284,
            "gpu0",
            "dcgm_sm_stress",
            "Max stress level of 2128.7 did not exceed desired stress level of 3000.0 for GPU 0",
        ),
        (
            307,
            "gpu2",
            "dcgm_sm_stress",
            "Max stress level of 1096.5 did not exceed desired stress level of 3000.0 for GPU 2",
        ),
        (
            322,
            "gpu3",
            "dcgm_sm_stress",
            "Max stress level of 1099.7 did not exceed desired stress level of 3000.0 for GPU 3",
        ),
    ]
    assert params(parsed, "dcgm_sm_stress", "gpu2") == {
        "dcgm_version": "1.7",
        "error_categories": ["PERF_THRESHOLD"],
        "error_codes": [50],
        "section": "Stress",
    }
    metrics = parsed.table("measurements")
    assert metrics.height == 28
    gpu0 = metrics.filter(pl.col("device") == "gpu0").select("line_no", "test", "metric", "value", "unit").rows()
    assert gpu0 == [
        (175, "dcgm_pcie", "d2h_bandwidth", 13.08, "GB/s"),
        (176, "dcgm_pcie", "h2d_bandwidth", 12.13, "GB/s"),
        (177, "dcgm_pcie", "bidir_bandwidth", 22.42, "GB/s"),
        (178, "dcgm_pcie", "d2h_latency", 4.386, "us"),
        (179, "dcgm_pcie", "h2d_latency", 4.2, "us"),
        (180, "dcgm_pcie", "bidir_latency", 7.482, "us"),
        (286, "dcgm_sm_stress", "temperature_avg", 31.0, "C"),
    ]


def test_realdata_health_json_with_dmon_and_nvidia_smi(realdata: Path) -> None:
    parsed = excerpt(realdata, "DCGM-263__dcgmi_health_c_j_healthy__and_dcgmi_dmon_xid120.txt")
    assert (parsed.format, parsed.error) == ("health_json", None)
    assert runs(parsed) == [(29, None, "dcgm_health", "pass", None)]
    xids = parsed.table("measurements").select("line_no", "device", "metric", "value").rows()
    assert xids == [(14 + g, f"gpu{g}", "xid_last", 120.0 if g == 1 else 0.0) for g in range(8)]
    # The nvidia-smi CSV and the prompts are events only.
    assert parsed.table("events").filter(pl.col("line_no") == 3)["message"].to_list() == ["1, Reset"]


# -- end to end ------------------------------------------------------------------------------------------
def test_ingest_end_to_end(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "fleet" / "node017"
    folder.mkdir(parents=True)
    (folder / "dcgmi_diag.txt").write_bytes(text(DIAG_3X))
    (folder / "dcgmi_diag_cut.txt").write_bytes(text(DIAG_4X[:17]))
    summary = ingest(store, [str(tmp_path / "fleet")])
    files = store.frame("SELECT file_id, path, host, kind, format, status, error FROM files ORDER BY path")
    assert files.select("host", "kind", "format", "status", "error").rows() == [
        ("node017", "dcgm", "diag_text", "ok", None),
        (
            "node017",
            "dcgm",
            "diag_text",
            "error",
            "line 17: the dcgmi diag table ends here without its closing border: the output is cut off",
        ),
    ]
    assert len(summary.errors) == 1
    whole, cut = files["file_id"].to_list()
    failed = store.frame(
        "SELECT host, file_id, device, test, line_no FROM test_runs WHERE status = 'fail' ORDER BY file_id, line_no"
    )
    assert failed.rows()[:3] == [
        ("node017", whole, None, "dcgm_page_retirement_row_remap", 15),
        ("node017", whole, "gpu2", "dcgm_memory", 22),
        ("node017", whole, "gpu3", "dcgm_targeted_power", 29),
    ]
    assert failed.rows()[-1] == ("node017", cut, "gpu1", "dcgm_memory", 16)
    events = store.frame("SELECT file_id, count(*) AS n FROM events WHERE source = 'dcgm' GROUP BY 1 ORDER BY 1")
    assert events.rows() == [(whole, len(DIAG_3X)), (cut, 17)]


@pytest.mark.parametrize("batch_bytes", [pytest.param(200, id="small-batches"), pytest.param(1 << 20, id="one-batch")])
def test_batches_do_not_change_the_rows(batch_bytes: int) -> None:
    data = text([*DIAG_3X, "", *DMON, "", *HEALTH_TEXT])
    parsed = parse_bytes(data, "mixed.txt", batch_bytes=batch_bytes)
    assert (parsed.format, parsed.error) == ("diag_text", None)
    assert len(runs(parsed)) == len(runs(parse_bytes(text(DIAG_3X), "d.txt"))) + 4
    assert parsed.table("measurements").height == 8
    assert parsed.table("events")["line_no"].to_list() == list(
        range(1, len(DIAG_3X) + len(DMON) + len(HEALTH_TEXT) + 3)
    )


def test_each_dcgmi_diag_prompt_sets_the_level_again() -> None:
    one = table("4.2.3", "2330", bar("Deployment", "|"), row("software", "Pass"), row("", "GPU0: Pass"))
    parsed = parse_bytes(text(["$ dcgmi diag -r 3", *one, "$ dcgmi diag -r pcie", *one]), "d.txt")
    levels = [json.loads(p).get("level") for p in parsed.table("test_runs")["params"]]
    assert levels == [3, None]
