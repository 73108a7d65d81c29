"""The burn-in test writers (nccl-tests, dcgmi diag, HPL-NVIDIA, nvbandwidth): each file read by triage's parsers
as the real outputs are, healthy nodes passing, each fault's effect on the runs, measurements and rule hits."""

from __future__ import annotations

import json
from types import ModuleType

import polars as pl
import pytest
from fleetgen import dcgm, hpl, nccl, nvbandwidth
from fleetgen.faults import BY_NAME
from fleetgen.model import Fault, Node
from fleetgen.plan import plan_fleet

from triage.signatures import engine
from triage.signatures.loader import load_rules
from triage.sources.reading import Parsed, parse_bytes

TARGET = 3  # the faulty GPU of the built nodes: 0000:5d:00.0
GPU3 = "0000:5d:00.0"
SLOW_FROM = 1 << 20  # bytes: the sizes whose bandwidth a slow fault costs
RUN_COLUMNS = ["device", "test", "status", "detail"]


def build(kind: str | None = None, target: int = TARGET, dcgm_layout: str = "text", host: int = 1) -> Node:
    """A node of a healthy fleet, with one fault of `kind` on part number `target` of the kind's part type."""
    node = plan_fleet(4, 11, fault_rate=0.0)[host]
    node.formats["dcgm"] = dcgm_layout
    if kind is not None:
        spec = BY_NAME[kind]
        parts = {"gpu": node.gpus, "hca": node.hcas, "nvswitch": node.nvswitches, "node": [None]}[spec.target]
        part = parts[target] if spec.target != "node" else None
        node.faults = [Fault(kind, part, spec.root_cause, spec.action)]
    return node


def healthy_twin(node: Node) -> Node:
    """The same node (same draws) without its faults."""
    twin = build(dcgm_layout=node.formats["dcgm"], host=int(node.host[4:]) - 1)
    assert twin.host == node.host
    return twin


def parse(writer: ModuleType, node: Node) -> tuple[str, Parsed]:
    ((name, data),) = writer.write(node).items()
    return name, parse_bytes(data, f"fleet/{node.host}/{name}")


def runs(parsed: Parsed) -> list[tuple]:
    return parsed.table("test_runs").select(RUN_COLUMNS).rows()


def failing(parsed: Parsed) -> list[tuple]:
    """(device, test, status) of every run that did not pass."""
    table = parsed.table("test_runs").filter(pl.col("status") != "pass")
    return sorted(table.select("device", "test", "status").rows(), key=str)


def busbw(parsed: Parsed) -> dict[tuple[int, str], float]:
    """busbw per (size, placement) of an nccl-tests run."""
    rows = parsed.table("measurements").filter(pl.col("metric") == "busbw")
    out = {}
    for params, value in rows.select("params", "value").iter_rows():
        p = json.loads(params)
        out[(p["size"], p["placement"])] = value
    return out


def metric(parsed: Parsed, name: str) -> list[float]:
    rows = parsed.table("measurements")
    return rows.filter(pl.col("metric") == name)["value"].to_list() if rows.height else []


@pytest.fixture(scope="module")
def pack():
    return load_rules()


def hits(pack, parsed: Parsed) -> list[tuple[str, str | None, dict]]:
    """(rule id, device, fields) of every rule hit on the file's lines."""
    events = parsed.table("events")
    frame = pl.DataFrame(
        {
            "host": "node",
            "file_id": 0,
            "line_no": events["line_no"],
            "ts": None,
            "uptime_s": None,
            "boot": 0,
            "source": events["source"],
            "message": events["message"],
        },
        schema=engine.EVENT_SCHEMA,
    )
    found = engine.match(pack, frame).select("rule_id", "device", "fields").rows()
    return sorted({(rule, device, fields) for rule, device, fields in found})


# -- layouts and healthy nodes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("writer", "layout", "name", "kind", "fmt"),
    [
        pytest.param(nccl, "text", "nccl/all_reduce_perf.log", "nccl_tests", "collective_banner", id="nccl"),
        pytest.param(dcgm, "text", "dcgm/dcgmi-diag-r3.txt", "dcgm", "diag_text", id="dcgm-text"),
        pytest.param(dcgm, "json", "dcgm/dcgmi-diag-r3.json", "dcgm", "diag_json", id="dcgm-json"),
        pytest.param(hpl, "text", "hpl.log", "hpl", "hpl_nvidia", id="hpl"),
        pytest.param(nvbandwidth, "text", "nvbandwidth.log", "nvbandwidth", "text", id="nvbandwidth"),
    ],
)
def test_each_layout_parses_as_its_tool_and_passes_on_a_healthy_node(
    writer: ModuleType, layout: str, name: str, kind: str, fmt: str
) -> None:
    node = build(dcgm_layout=layout)
    got, parsed = parse(writer, node)
    assert got == name
    assert (parsed.kind, parsed.format, parsed.error) == (kind, fmt, None)
    statuses = parsed.table("test_runs")["status"].unique().to_list()
    assert statuses == ["pass"]


def test_healthy_nccl_run_is_a_full_sweep_on_the_nodes_gpus() -> None:
    node = build()
    _, parsed = parse(nccl, node)
    assert parsed.host == node.host
    ((params, detail),) = parsed.table("test_runs").select("params", "detail").rows()
    params = json.loads(params)
    assert (params["minBytes"], params["maxBytes"], params["nranks"], params["nccl_version"]) == (
        8,
        8589934592,
        8,
        "2.23.4+cuda12.6",
    )
    assert [(r["device"], r["bus_id"], r["model"]) for r in params["ranks"]] == [
        (g.index, g.bdf, "NVIDIA H100 80GB HBM3") for g in node.gpus
    ]
    assert detail.endswith("; 31 result rows")
    bw = busbw(parsed)
    assert len(bw) == 62
    assert max(bw.values()) == pytest.approx(480, rel=0.03)
    assert bw[(8, "out_of_place")] == 0.0
    assert metric(parsed, "oob_values") == [0.0]


def test_nccl_bandwidth_varies_by_about_two_percent_between_nodes() -> None:
    peaks = [busbw(parse(nccl, node)[1])[(1 << 33, "out_of_place")] for node in plan_fleet(40, 3, fault_rate=0.0)]
    assert 465 < min(peaks) < max(peaks) < 495
    assert max(peaks) / min(peaks) > 1.01


def test_healthy_dcgm_json_reports_every_gpu_with_its_info_lines() -> None:
    _, parsed = parse(dcgm, build(dcgm_layout="json"))
    table = parsed.table("test_runs")
    assert table.height == 15 * 8
    assert sorted(table["device"].unique().to_list()) == [f"gpu{g}" for g in range(8)]
    h2d = parsed.table("measurements").filter(pl.col("metric") == "h2d_bandwidth")["value"]
    assert h2d.len() == 8
    assert 51 < h2d.min() < h2d.max() < 55


def test_healthy_hpl_is_about_420_tflops_with_a_passed_residual() -> None:
    node = build()
    _, parsed = parse(hpl, node)
    ((params, started, ended),) = parsed.table("test_runs").select("params", "started", "ended").rows()
    assert json.loads(params) == {
        "N": 266240,
        "NB": 1024,
        "P": 2,
        "Q": 4,
        "implementation": "hpl-nvidia",
        "variant": "WC0",
        "version": "24.9.0",
    }
    assert node.timeline.hpl < started < ended < node.timeline.nvbandwidth
    (gflops,) = metric(parsed, "gflops")
    assert 4.1e5 < gflops < 4.3e5
    assert metric(parsed, "gflops_per_gpu") == [pytest.approx(gflops / 8, rel=1e-3)]
    assert metric(parsed, "residual")[0] < 16


def test_healthy_nvbandwidth_names_every_gpu_by_bus_id() -> None:
    node = build()
    _, parsed = parse(nvbandwidth, node)
    assert parsed.table("assets")["device"].to_list() == [g.bdf for g in node.gpus]
    measurements = parsed.table("measurements")
    h2d = measurements.filter(pl.col("metric") == "host_to_device_memcpy_ce")
    assert h2d["device"].to_list() == [g.bdf for g in node.gpus]
    assert 53 < h2d["value"].min() < h2d["value"].max() < 57
    d2d = measurements.filter(pl.col("metric") == "device_to_device_memcpy_read_ce")
    assert d2d.height == 56
    assert 360 < d2d["value"].min() < d2d["value"].max() < 390
    assert f"{GPU3}->0000:18:00.0" in d2d["device"].to_list()


@pytest.mark.parametrize(
    ("writer", "layout"),
    [
        pytest.param(nccl, "text", id="nccl"),
        pytest.param(dcgm, "text", id="dcgm-text"),
        pytest.param(dcgm, "json", id="dcgm-json"),
        pytest.param(hpl, "text", id="hpl"),
        pytest.param(nvbandwidth, "text", id="nvbandwidth"),
    ],
)
def test_healthy_files_hit_no_rule(pack, writer: ModuleType, layout: str) -> None:
    _, parsed = parse(writer, build(dcgm_layout=layout))
    assert hits(pack, parsed) == []


# -- nccl-tests faults -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "target", "detail", "warning"),
    [
        pytest.param(
            "gpu_fallen_off_bus",
            TARGET,
            "Test NCCL failure common.cu:1005 'unhandled cuda error (run with NCCL_DEBUG=INFO for details) "
            "/ Cuda failure 'unspecified launch failure''",
            "[3] enqueue.cc:1556 NCCL WARN Cuda failure 'unspecified launch failure'",
            id="gpu_fallen_off_bus",
        ),
        pytest.param(
            "application_error",
            5,
            "Test NCCL failure common.cu:1005 'unhandled cuda error (run with NCCL_DEBUG=INFO for details) "
            "/ Cuda failure 'out of memory''",
            "[5] init.cc:1780 NCCL WARN Cuda failure 'out of memory'",
            id="application_error",
        ),
        pytest.param(
            "driver_mismatch",
            0,
            "Test CUDA failure common.cu:891 'system has unsupported display driver / cuda driver combination'",
            None,
            id="driver_mismatch",
        ),
    ],
)
def test_nccl_aborts(pack, kind: str, target: int, detail: str, warning: str | None) -> None:
    node = build(kind, target)
    _, parsed = parse(nccl, node)
    assert parsed.error is None
    assert runs(parsed) == [(None, "nccl_all_reduce", "error", f"{node.host}: {detail}")]
    assert metric(parsed, "avg_busbw") == []
    warns = [m for m in parsed.table("events")["message"].to_list() if "NCCL WARN" in m]
    if warning is None:
        assert warns == []
        return
    ((line),) = warns
    assert line.startswith(f"{node.host}:")
    assert line.endswith(warning)
    assert [rule for rule, _, _ in hits(pack, parsed)] == ["nccl-cuda-error"]


def test_nccl_fallen_off_bus_stops_mid_sweep() -> None:
    _, parsed = parse(nccl, build("gpu_fallen_off_bus"))
    sizes = sorted({size for size, _ in busbw(parsed)})
    assert sizes[0] == 8
    assert SLOW_FROM <= sizes[-1] < 1 << 33
    assert any(m.startswith("mpirun detected") for m in parsed.table("events")["message"].to_list())


@pytest.mark.parametrize(
    ("kind", "target", "ratio"),
    [
        pytest.param("performance", 0, 0.8, id="performance"),
        pytest.param("ib_cable", 2, 0.9, id="ib_cable"),
        pytest.param("hca_failure", 6, 1.0, id="hca_failure"),
    ],
)
def test_nccl_bandwidth_faults_cost_their_share_above_1mb(kind: str, target: int, ratio: float) -> None:
    node = build(kind, target)
    _, parsed = parse(nccl, node)
    _, healthy = parse(nccl, healthy_twin(node))
    assert runs(parsed)[0][2] == "pass"
    slow, normal = busbw(parsed), busbw(healthy)
    assert slow.keys() == normal.keys()
    for key, value in slow.items():
        expected = ratio if key[0] > SLOW_FROM else 1.0
        assert value == pytest.approx(normal[key] * expected, rel=0.01, abs=0.011), key
    (avg,), (normal_avg,) = metric(parsed, "avg_busbw"), metric(healthy, "avg_busbw")
    assert avg / normal_avg == pytest.approx(ratio, abs=0.02)


def test_nccl_performance_fault_leaves_no_other_trace() -> None:
    node = build("performance", 0)
    text = nccl.write(node)[nccl.PATH].decode()
    twin = nccl.write(healthy_twin(node))[nccl.PATH].decode()

    def frame(lines: str) -> list[str]:
        """The lines other than result rows and the average."""
        return [x for x in lines.splitlines() if not x[:1].isspace() and not x.startswith("# Avg bus bandwidth")]

    assert frame(text) == frame(twin)
    assert "WARN" not in text


@pytest.mark.parametrize(
    ("kind", "target", "expected"),
    [
        pytest.param(
            "ib_cable",
            2,
            [
                ("nccl-ib-async-benign", "mlx5_2", {"event": "port active", "hca": "mlx5_2", "port": "1"}),
                ("nccl-ib-port-error", "mlx5_2", {"hca": "mlx5_2", "port": "1"}),
                (
                    "nccl-ib-retry-exceeded",
                    "mlx5_2",
                    {"hca": "mlx5_2", "opcode": "1", "status": "12", "vendor_err": "129"},
                ),
            ],
            id="ib_cable",
        ),
        pytest.param(
            "hca_failure",
            6,
            [("nccl-ib-device-fatal", "mlx5_6", {"hca": "mlx5_6", "port": "1"})],
            id="hca_failure",
        ),
    ],
)
def test_nccl_ib_faults_name_the_hca_as_the_rules_read_it(pack, kind: str, target: int, expected: list) -> None:
    _, parsed = parse(nccl, build(kind, target))
    found = [
        (rule, device, {k: v for k, v in json.loads(fields).items() if v is not None and k != "peer"})
        for rule, device, fields in hits(pack, parsed)
    ]
    assert found == expected


def test_nccl_nvswitch_fatal_aborts_or_runs_at_a_third_of_the_bandwidth() -> None:
    outcomes = set()
    for host in range(4):
        node = build("nvswitch_fatal", 1, host=host)
        _, parsed = parse(nccl, node)
        ((_, _, status, detail),) = runs(parsed)
        if status == "error":
            assert detail.endswith("Cuda failure 'uncorrectable NVLink error was detected during the execution''")
        else:
            slow, normal = busbw(parsed), busbw(parse(nccl, healthy_twin(node))[1])
            assert slow[(1 << 33, "in_place")] / normal[(1 << 33, "in_place")] == pytest.approx(0.3, abs=0.005)
        outcomes.add(status)
    assert outcomes == {"error", "pass"}


# -- dcgmi diag faults ------------------------------------------------------------------------------------------

LAYOUTS = [pytest.param("text", id="text"), pytest.param("json", id="json")]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    ("kind", "target", "failures", "detail", "codes"),
    [
        pytest.param(
            "hbm_remap_failure",
            TARGET,
            [("dcgm_memory", 3), ("dcgm_page_retirement_row_remap", 3)],
            "GPU 3 had uncorrectable memory errors and row remapping failed.",
            [80],
            id="hbm_remap_failure",
        ),
        pytest.param(
            "hbm_remap_pending",
            TARGET,
            [("dcgm_memory", 3), ("dcgm_page_retirement_row_remap", 3)],
            "GPU 3 had memory errors and row remappings are pending",
            [85],
            id="hbm_remap_pending",
        ),
        pytest.param(
            "gpu_fallen_off_bus",
            TARGET,
            [
                ("dcgm_diagnostic", 3),
                ("dcgm_memory", 3),
                ("dcgm_memory_bandwidth", 3),
                ("dcgm_targeted_power", 3),
                ("dcgm_targeted_stress", 3),
            ],
            "Detected XID 79 for GPU 3",
            [101],
            id="gpu_fallen_off_bus",
        ),
        pytest.param(
            "gsp_timeout",
            2,
            [
                ("dcgm_diagnostic", 2),
                ("dcgm_memory", 2),
                ("dcgm_memory_bandwidth", 2),
                ("dcgm_targeted_power", 2),
                ("dcgm_targeted_stress", 2),
            ],
            "Detected XID 119 for GPU 2",
            [101],
            id="gsp_timeout",
        ),
    ],
)
def test_dcgm_gpu_faults_fail_the_gpus_tests(
    layout: str, kind: str, target: int, failures: list, detail: str, codes: list[int]
) -> None:
    node = build(kind, target, dcgm_layout=layout)
    _, parsed = parse(dcgm, node)
    assert parsed.error is None
    # The text layout prints deployment checks once for the node; the json one per GPU.
    expected = [
        (None if layout == "text" and test == "dcgm_page_retirement_row_remap" else f"gpu{g}", test, "fail")
        for test, g in failures
    ]
    assert failing(parsed) == sorted(expected, key=str)
    memory = parsed.table("test_runs").filter(pl.col("test") == "dcgm_memory")
    failed = memory.filter(pl.col("status") == "fail").row(0, named=True)
    assert detail in failed["detail"]
    assert json.loads(failed["params"]).get("error_codes") == (codes if layout == "json" else None)
    passing = memory.filter(pl.col("status") == "pass")["device"].to_list()
    assert sorted(passing) == [f"gpu{g}" for g in range(8) if g != target]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_dcgm_lost_gpu_reports_nvml_gpu_is_lost(layout: str) -> None:
    _, parsed = parse(dcgm, build("gpu_fallen_off_bus", dcgm_layout=layout))
    table = parsed.table("test_runs").filter((pl.col("test") == "dcgm_targeted_stress") & (pl.col("status") == "fail"))
    assert "API call nvmlDeviceGetHandleByIndex_v2 failed for GPU 3: 'GPU is lost'" in table["detail"][0]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_dcgm_diag_failure_fails_the_diagnostic_with_nan_values(layout: str) -> None:
    node = build("gpu_diag_failure", 5, dcgm_layout=layout)
    _, parsed = parse(dcgm, node)
    bad = failing(parsed)
    assert ("gpu5", "dcgm_diagnostic", "fail") in bad
    assert set(bad) <= {("gpu5", "dcgm_diagnostic", "fail"), ("gpu5", "dcgm_targeted_stress", "fail")}
    detail = parsed.table("test_runs").filter(pl.col("test") == "dcgm_diagnostic").filter(pl.col("status") == "fail")
    assert "NaN-value memory elements on GPU 5" in detail["detail"][0]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_dcgm_nvswitch_fatal_fails_targeted_stress_on_every_gpu(layout: str) -> None:
    _, parsed = parse(dcgm, build("nvswitch_fatal", 1, dcgm_layout=layout))
    assert failing(parsed) == [(f"gpu{g}", "dcgm_targeted_stress", "fail") for g in range(8)]
    details = parsed.table("test_runs").filter(pl.col("status") == "fail")["detail"].to_list()
    assert all("Detected fatal errors on NvSwitch 1 link" in d for d in details)


@pytest.mark.parametrize(
    ("layout", "detail"),
    [
        pytest.param("text", "Unable to complete diagnostic for group 2147483647. Return: (-8) NVML error.", id="text"),
        pytest.param(
            "json", "Error: Unable to complete diagnostic for group 2147483647. Return: (-8) NVML error.", id="json"
        ),
    ],
)
def test_dcgm_cannot_run_on_a_driver_mismatch(layout: str, detail: str) -> None:
    _, parsed = parse(dcgm, build("driver_mismatch", dcgm_layout=layout))
    assert parsed.error is None
    assert runs(parsed) == [(None, "dcgm_diag", "error", detail)]


@pytest.mark.parametrize(
    ("kind", "metric_name", "low", "high"),
    [
        pytest.param("pcie_downtrained", "h2d_bandwidth", 25, 28, id="pcie_downtrained"),
        pytest.param("gpu_thermal", "temperature_avg", 84, 87, id="gpu_thermal"),
    ],
)
def test_dcgm_json_info_shows_the_gpus_state_while_it_passes(
    kind: str, metric_name: str, low: float, high: float
) -> None:
    _, parsed = parse(dcgm, build(kind, dcgm_layout="json"))
    assert failing(parsed) == []
    rows = parsed.table("measurements").filter(pl.col("metric") == metric_name)
    values = dict(zip(rows["device"], rows["value"], strict=True))
    assert low <= values.pop("gpu3") <= high
    assert all(v > high or v < low for v in values.values())


# -- HPL faults -------------------------------------------------------------------------------------------------


def test_hpl_thermal_gpu_costs_fifteen_percent() -> None:
    node = build("gpu_thermal")
    _, parsed = parse(hpl, node)
    _, healthy = parse(hpl, healthy_twin(node))
    assert runs(parsed) == [(None, "hpl", "pass", None)]
    assert metric(parsed, "gflops")[0] / metric(healthy, "gflops")[0] == pytest.approx(0.85, abs=0.003)


def test_hpl_diag_failure_fails_the_residual_check() -> None:
    _, parsed = parse(hpl, build("gpu_diag_failure"))
    ((_, _, status, detail),) = runs(parsed)
    assert status == "fail"
    assert detail.startswith("||Ax-b||_oo/(eps*(||A||_oo*||x||_oo+||b||_oo)*N)=")
    assert detail.endswith(" ...... FAILED")
    assert metric(parsed, "residual")[0] > 16


@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        pytest.param(
            "gpu_fallen_off_bus",
            "HPL ERROR: cudaSetDevice(7) failed: invalid device ordinal (cudaErrorInvalidDevice)",
            id="gpu_fallen_off_bus",
        ),
        pytest.param(
            "driver_mismatch",
            "HPL ERROR: cudaGetDeviceCount failed: system has unsupported display driver / cuda driver combination "
            "(cudaErrorSystemDriverMismatch)",
            id="driver_mismatch",
        ),
    ],
)
def test_hpl_aborts_on_a_cuda_error(kind: str, detail: str) -> None:
    _, parsed = parse(hpl, build(kind, TARGET if kind != "driver_mismatch" else 0))
    assert parsed.error is None
    assert runs(parsed) == [(None, "hpl", "error", detail)]
    assert metric(parsed, "gflops") == []


def test_hpl_varies_by_about_one_and_a_half_percent_between_nodes() -> None:
    values = [metric(parse(hpl, node)[1], "gflops")[0] for node in plan_fleet(40, 3, fault_rate=0.0)]
    assert 4.05e5 < min(values) < max(values) < 4.35e5
    assert max(values) / min(values) > 1.01


# -- nvbandwidth faults -----------------------------------------------------------------------------------------


def test_nvbandwidth_downtrained_gpu_gets_half_the_host_bandwidth() -> None:
    node = build("pcie_downtrained")
    _, parsed = parse(nvbandwidth, node)
    assert failing(parsed) == []
    rows = parsed.table("measurements")
    for name in ("host_to_device_memcpy_ce", "device_to_host_memcpy_ce", "host_to_device_bidirectional_memcpy_ce"):
        cells = rows.filter(pl.col("metric") == name)
        values = dict(zip(cells["device"], cells["value"], strict=True))
        slow = values.pop(GPU3)
        assert slow / (sum(values.values()) / len(values)) == pytest.approx(0.5, abs=0.02), name
    d2d = rows.filter((pl.col("metric") == "device_to_device_memcpy_read_ce") & pl.col("device").str.contains(GPU3))
    assert d2d["value"].min() > 360


def test_nvbandwidth_lost_gpu_is_missing() -> None:
    node = build("gpu_fallen_off_bus")
    _, parsed = parse(nvbandwidth, node)
    assert failing(parsed) == []
    assert parsed.table("assets")["device"].to_list() == [g.bdf for g in node.gpus if g.bdf != GPU3]
    devices = parsed.table("measurements")["device"].drop_nulls().to_list()
    assert not any(GPU3 in d for d in devices)
    assert sum(1 for d in devices if "->" in d) == 2 * 7 * 6


def test_nvbandwidth_stops_at_start_on_a_driver_mismatch() -> None:
    _, parsed = parse(nvbandwidth, build("driver_mismatch", 0))
    assert runs(parsed) == [
        (
            None,
            "nvbandwidth",
            "error",
            "[CUDA_ERROR_SYSTEM_DRIVER_MISMATCH] system has unsupported display driver / cuda driver combination",
        )
    ]


# -- the whole fleet and determinism ----------------------------------------------------------------------------


def test_every_node_of_a_planned_fleet_parses_cleanly() -> None:
    for node in plan_fleet(60, 5):
        for writer in (nccl, dcgm, hpl, nvbandwidth):
            name, parsed = parse(writer, node)
            assert parsed.error is None, (node.host, name)
            assert parsed.table("test_runs").height > 0, (node.host, name)


@pytest.mark.parametrize("writer", [nccl, dcgm, hpl, nvbandwidth], ids=["nccl", "dcgm", "hpl", "nvbandwidth"])
def test_same_node_gives_the_same_bytes(writer: ModuleType) -> None:
    first, again = plan_fleet(12, 9), plan_fleet(12, 9)
    for a, b in zip(first, again, strict=True):
        assert writer.write(a) == writer.write(b)
    assert writer.write(first[0]) != writer.write(first[1])
