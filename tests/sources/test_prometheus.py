"""Prometheus text exposition: dcgm-exporter and node_exporter scrapes, labels, params, assets, faults, sniffing."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from triage.ingest import ingest
from triage.sources import prometheus
from triage.sources.ib_names import COUNTER_BITS, NODE_EXPORTER_NAMES
from triage.sources.reading import parse_bytes
from triage.store import Store

GPU0 = 'gpu="0",UUID="GPU-8a1e3c52-6f0b-4d7e-9c21-3b5f7e9d0a14",pci_bus_id="00000000:18:00.0",device="nvidia0"'
GPU1 = 'gpu="1",UUID="GPU-2c7d9e41-0a3b-4f85-b6e2-91d4c8a7f350",pci_bus_id="00000000:2A:00.0",device="nvidia1"'
NODE = 'modelName="NVIDIA H100 80GB HBM3",Hostname="node017",DCGM_FI_DRIVER_VERSION="535.129.03"'
DCGM = f"""# HELP DCGM_FI_DEV_SM_CLOCK SM clock frequency (in MHz).
# TYPE DCGM_FI_DEV_SM_CLOCK gauge
DCGM_FI_DEV_SM_CLOCK{{{GPU0},{NODE}}} 1980
DCGM_FI_DEV_SM_CLOCK{{{GPU1},{NODE}}} 345
# HELP DCGM_FI_DEV_GPU_TEMP GPU temperature (in C).
# TYPE DCGM_FI_DEV_GPU_TEMP gauge
DCGM_FI_DEV_GPU_TEMP{{{GPU0},{NODE}}} 34
DCGM_FI_DEV_GPU_TEMP{{{GPU1},{NODE}}} 71
# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).
# TYPE DCGM_FI_DEV_POWER_USAGE gauge
DCGM_FI_DEV_POWER_USAGE{{{GPU0},{NODE},container="trainer",namespace="ml",pod="llm-0"}} 687.123
# HELP DCGM_FI_DEV_XID_ERRORS Value of the last XID error encountered.
# TYPE DCGM_FI_DEV_XID_ERRORS gauge
DCGM_FI_DEV_XID_ERRORS{{{GPU0},{NODE},err_code="0",err_msg="No Error"}} 0
DCGM_FI_DEV_XID_ERRORS{{{GPU1},{NODE},err_code="79",err_msg="GPU has fallen off the bus"}} 79
# HELP DCGM_FI_DEV_ECC_DBE_VOL_TOTAL Total number of double-bit volatile ECC errors.
# TYPE DCGM_FI_DEV_ECC_DBE_VOL_TOTAL counter
DCGM_FI_DEV_ECC_DBE_VOL_TOTAL{{{GPU1},{NODE}}} 2
# HELP DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS Number of remapped rows for uncorrectable errors
# TYPE DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS counter
DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS{{{GPU1},{NODE}}} 3
# HELP DCGM_FI_DEV_ROW_REMAP_FAILURE Whether remapping of rows has failed
# TYPE DCGM_FI_DEV_ROW_REMAP_FAILURE gauge
DCGM_FI_DEV_ROW_REMAP_FAILURE{{{GPU1},{NODE}}} 1
# HELP DCGM_FI_DEV_CLOCKS_EVENT_REASONS Current clock event reasons (bitmask).
# TYPE DCGM_FI_DEV_CLOCKS_EVENT_REASONS gauge
DCGM_FI_DEV_CLOCKS_EVENT_REASONS{{{GPU1},{NODE}}} 72
# HELP DCGM_FI_DEV_FB_USED Framebuffer memory used (in MiB).
# TYPE DCGM_FI_DEV_FB_USED gauge
DCGM_FI_DEV_FB_USED{{{GPU0},{NODE}}} 74215
# HELP DCGM_FI_PROF_PIPE_TENSOR_ACTIVE Ratio of cycles the tensor (HMMA) pipe is active.
# TYPE DCGM_FI_PROF_PIPE_TENSOR_ACTIVE gauge
DCGM_FI_PROF_PIPE_TENSOR_ACTIVE{{{GPU0},{NODE}}} 0.612
""".encode()

NODE_EXPORTER = b"""# HELP node_infiniband_info Non-numeric data from /sys/class/infiniband/<device>, value is always 1.
# TYPE node_infiniband_info gauge
node_infiniband_info{board_id="MT_0000000838",device="mlx5_0",firmware_version="28.39.1002",hca_type="MT4129"} 1
# HELP node_infiniband_state_id State of the InfiniBand port (0: no change, 1: down, 2: init, 3: armed, 4: active, 5: act defer)
# TYPE node_infiniband_state_id gauge
node_infiniband_state_id{device="mlx5_0",port="1"} 4
node_infiniband_state_id{device="mlx5_1",port="1"} 1
# HELP node_infiniband_physical_state_id Physical state of the InfiniBand port (0: no change, 1: sleep, 2: polling, 3: disable, 4: shift, 5: link up, 6: link error recover, 7: phytest)
# TYPE node_infiniband_physical_state_id gauge
node_infiniband_physical_state_id{device="mlx5_1",port="1"} 2
# HELP node_infiniband_rate_bytes_per_second Maximum signal transfer rate
# TYPE node_infiniband_rate_bytes_per_second gauge
node_infiniband_rate_bytes_per_second{device="mlx5_0",port="1"} 5e+10
# HELP node_infiniband_link_downed_total Number of times the link failed to recover from an error state and went down
# TYPE node_infiniband_link_downed_total counter
node_infiniband_link_downed_total{device="mlx5_1",port="1"} 255
# HELP node_infiniband_symbol_error_total Number of minor link errors detected on one or more physical lanes.
# TYPE node_infiniband_symbol_error_total counter
node_infiniband_symbol_error_total{device="mlx5_1",port="1"} 65535
# HELP node_infiniband_port_data_received_bytes_total Number of data octets received on all links
# TYPE node_infiniband_port_data_received_bytes_total counter
node_infiniband_port_data_received_bytes_total{device="mlx5_0",port="1"} 1.8446744e+13
# HELP node_hwmon_temp_celsius Hardware monitor for temperature (input)
# TYPE node_hwmon_temp_celsius gauge
node_hwmon_temp_celsius{chip="platform_coretemp_0",sensor="temp1"} 47
# HELP node_network_receive_bytes_total Network device statistic receive_bytes.
# TYPE node_network_receive_bytes_total counter
node_network_receive_bytes_total{device="eth0"} 9.87654321e+08
# HELP node_load1 1m load average.
# TYPE node_load1 gauge
node_load1 3.07
"""

OTHER = """# HELP slurm_node_cpus Number of CPUs per node
slurm_node_cpus{node="gpu-a07",partition="gpu"} 96 1737108164000
http_request_duration_seconds_bucket{le="+Inf",path="/api/v1/query"} 144320 1737108164000
probe_success{instance="[fd00::17]:9100",job="blackbox",note="say \\"hi\\"\\nvoilà"} 1
process_cpu_seconds_total{instance="10.1.2.3:9400"} NaN
""".encode()

COLUMNS = ["line_no", "host", "device", "test", "metric", "value", "unit", "params"]


def measurements(data: bytes, name: str = "metrics.prom") -> list[tuple]:
    parsed = parse_bytes(data, name)
    assert parsed.kind == "prometheus"
    return parsed.table("measurements").select(COLUMNS).rows()


def test_dcgm_exporter_scrape() -> None:
    parsed = parse_bytes(DCGM, "node017/dcgm-exporter.prom")
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("prometheus", "dcgm_exporter", "node017", None)
    rows = parsed.table("measurements").select(COLUMNS).rows()
    assert rows == [
        (3, "node017", "0000:18:00.0", "dcgm_exporter", "clocks_sm", 1980.0, "MHz", None),
        (4, "node017", "0000:2a:00.0", "dcgm_exporter", "clocks_sm", 345.0, "MHz", None),
        (7, "node017", "0000:18:00.0", "dcgm_exporter", "temperature_gpu", 34.0, "C", None),
        (8, "node017", "0000:2a:00.0", "dcgm_exporter", "temperature_gpu", 71.0, "C", None),
        (11, "node017", "0000:18:00.0", "dcgm_exporter", "power_draw", 687.123, "W", '{"container":"trainer","namespace":"ml","pod":"llm-0"}'),
        (14, "node017", "0000:18:00.0", "dcgm_exporter", "xid_last", 0.0, "count", '{"err_code":"0","err_msg":"No Error","xid":0}'),
        (15, "node017", "0000:2a:00.0", "dcgm_exporter", "xid_last", 79.0, "count", '{"err_code":"79","err_msg":"GPU has fallen off the bus","xid":79}'),
        (18, "node017", "0000:2a:00.0", "dcgm_exporter", "ecc_volatile_uncorrectable", 2.0, "count", None),
        (21, "node017", "0000:2a:00.0", "dcgm_exporter", "remapped_rows_uncorrectable", 3.0, "count", None),
        (24, "node017", "0000:2a:00.0", "dcgm_exporter", "remapped_rows_failure", 1.0, "bool", None),
        (27, "node017", "0000:2a:00.0", "dcgm_exporter", "clocks_event_reasons", 72.0, "enum", None),
        (30, "node017", "0000:18:00.0", "dcgm_exporter", "fb_memory_used", 74215.0, "MiB", None),
        (33, "node017", "0000:18:00.0", "dcgm_exporter", "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", 0.612, "1", None),
    ]  # fmt: skip
    assets = parsed.table("assets").select("host", "kind", "device", "index", "pci_bdf", "uuid", "model", "driver")
    assert assets.rows() == [
        ("node017", "gpu", "0000:18:00.0", 0, "0000:18:00.0", "GPU-8a1e3c52-6f0b-4d7e-9c21-3b5f7e9d0a14", "NVIDIA H100 80GB HBM3", "535.129.03"),
        ("node017", "gpu", "0000:2a:00.0", 1, "0000:2a:00.0", "GPU-2c7d9e41-0a3b-4f85-b6e2-91d4c8a7f350", "NVIDIA H100 80GB HBM3", "535.129.03"),
    ]  # fmt: skip
    assert parsed.table("assets")["line_no"].to_list() == [3, 4]


def test_dcgm_gpu_known_only_by_index() -> None:
    data = b'DCGM_FI_DEV_GPU_TEMP{gpu="3",UUID="GPU-a",device="nvidia3",modelName="NVIDIA A100-SXM4-80GB"} 45\n'
    parsed = parse_bytes(data, "dcgm.prom")
    assert parsed.table("measurements").select("host", "device", "metric").rows() == [(None, "gpu3", "temperature_gpu")]
    assert parsed.table("assets").select("device", "index", "pci_bdf", "uuid").rows() == [("gpu3", 3, None, "GPU-a")]


def test_node_exporter_scrape() -> None:
    parsed = parse_bytes(NODE_EXPORTER, "node017/node_exporter.prom")
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("prometheus", "node_exporter", None, None)
    assert parsed.table("measurements").select(COLUMNS).rows() == [
        (3, None, None, "node_exporter", "node_infiniband_info", 1.0, "1", '{"board_id":"MT_0000000838","device":"mlx5_0","firmware_version":"28.39.1002","hca_type":"MT4129"}'),
        (6, None, "mlx5_0/1", "node_exporter", "state", 4.0, "enum", '{"state":"ACTIVE"}'),
        (7, None, "mlx5_1/1", "node_exporter", "state", 1.0, "enum", '{"state":"DOWN"}'),
        (10, None, "mlx5_1/1", "node_exporter", "phys_state", 2.0, "enum", '{"phys_state":"Polling"}'),
        (13, None, "mlx5_0/1", "node_exporter", "rate", 400.0, "Gbit/s", None),
        (16, None, "mlx5_1/1", "node_exporter", "link_downed", 255.0, "count", None),
        (19, None, "mlx5_1/1", "node_exporter", "symbol_error", 65535.0, "count", None),
        (22, None, "mlx5_0/1", "node_exporter", "port_rcv_data", 1.8446744e13, "B", None),
        (25, None, None, "node_exporter", "temperature", 47.0, "C", '{"chip":"platform_coretemp_0","sensor":"temp1"}'),
        (28, None, None, "node_exporter", "node_network_receive_bytes_total", 987654321.0, "B", '{"device":"eth0"}'),
        (31, None, None, "node_exporter", "node_load1", 3.07, "1", None),
    ]  # fmt: skip
    hca = parsed.table("assets").select("kind", "device", "model", "part_number", "firmware", "line_no")
    assert hca.rows() == [("hca", "mlx5_0", "MT4129", "MT_0000000838", "28.39.1002", 3)]


def test_other_exporters_timestamps_escapes_and_nan() -> None:
    parsed = parse_bytes(OTHER, "federate.prom")
    assert (parsed.format, parsed.error) == ("exposition", None)
    rows = parsed.table("measurements").select("line_no", "host", "test", "metric", "value", "unit", "ts", "params")
    assert rows.rows() == [
        (2, "gpu-a07", "prometheus", "slurm_node_cpus", 96.0, "1", datetime(2025, 1, 17, 10, 2, 44), '{"partition":"gpu"}'),
        (3, None, "prometheus", "http_request_duration_seconds_bucket", 144320.0, "1", datetime(2025, 1, 17, 10, 2, 44),
         '{"le":"+Inf","path":"/api/v1/query"}'),
        (4, "fd00::17", "prometheus", "probe_success", 1.0, "1", None, '{"job":"blackbox","note":"say \\"hi\\"\\nvoil\\u00e0"}'),
    ]  # fmt: skip
    assert json.loads(rows["params"][2]) == {"job": "blackbox", "note": 'say "hi"\nvoilà'}
    events = parsed.table("events").select("line_no", "host", "ts")
    assert events.rows() == [
        (1, None, None),
        (2, "gpu-a07", datetime(2025, 1, 17, 10, 2, 44)),
        (3, None, datetime(2025, 1, 17, 10, 2, 44)),
        (4, "fd00::17", None),
        (5, "10.1.2.3", None),  # NaN: an event, no measurement
    ]


@pytest.mark.parametrize(
    ("labels", "host"),
    [
        pytest.param('Hostname="node017",instance="10.0.0.7:9400",node="k8s-17"', "node017", id="Hostname-first"),
        pytest.param('hostname="node018"', "node018", id="hostname"),
        pytest.param('host="node019",node="x"', "node019", id="host"),
        pytest.param('instance="node020:9100",job="node"', "node020", id="instance-port-stripped"),
        pytest.param('instance="[fe80::1]:9100"', "fe80::1", id="instance-ipv6"),
        pytest.param('node="node021"', "node021", id="node"),
        pytest.param('Hostname="",job="x"', None, id="empty-label"),
        pytest.param('job="x"', None, id="none"),
    ],
)
def test_host_label(labels: str, host: str | None) -> None:
    rows = measurements(f"# TYPE node_load1 gauge\nnode_load1{{{labels}}} 1\n".encode())
    assert rows[0][1] == host


def test_host_labels_are_not_params() -> None:
    rows = measurements(b'node_load1{Hostname="a",instance="b:1",node="c",job="node"} 1\n')
    assert rows[0][7] == '{"job":"node"}'


def test_node_exporter_names_map_to_sysfs_counters() -> None:
    assert set(NODE_EXPORTER_NAMES.values()) <= set(COUNTER_BITS)


def test_malformed_line_is_reported_and_the_rest_kept() -> None:
    data = DCGM.replace(b'DCGM_FI_DEV_GPU_TEMP{gpu="1"', b'DCGM_FI_DEV_GPU_TEMP{gpu="1" oops', 1)
    parsed = parse_bytes(data, "dcgm.prom")
    assert parsed.error is not None
    assert parsed.error.startswith(
        'line 8: not a Prometheus sample or comment: DCGM_FI_DEV_GPU_TEMP{gpu="1" oops,UUID='
    )
    lines = parsed.table("measurements")["line_no"].to_list()
    assert 8 not in lines and lines[:3] == [3, 4, 7] and lines[-1] == 33
    assert parsed.table("events").height == DCGM.count(b"\n")


def test_truncated_scrape() -> None:
    cut = DCGM[: DCGM.index(b'DCGM_FI_DEV_GPU_TEMP{gpu="1"') + 40]
    parsed = parse_bytes(cut, "dcgm.prom")
    assert parsed.error == 'line 8: not a Prometheus sample or comment: DCGM_FI_DEV_GPU_TEMP{gpu="1",UUID="GPU-2'
    assert parsed.table("measurements")["line_no"].to_list() == [3, 4, 7]


def test_bad_value_is_malformed() -> None:
    parsed = parse_bytes(b"# TYPE node_load1 gauge\nnode_load1 1\nnode_load5 high\n", "node.prom")
    assert parsed.error == "line 3: not a Prometheus sample or comment: node_load5 high"
    assert parsed.table("measurements")["metric"].to_list() == ["node_load1"]


def test_single_sample_and_blank_lines() -> None:
    parsed = parse_bytes(b"\n# HELP up Was the last scrape successful.\n# TYPE up gauge\n\nup 1\n\n", "up.prom")
    assert (parsed.kind, parsed.error, parsed.table("events").height) == ("prometheus", None, 6)
    assert parsed.table("measurements").select("line_no", "metric", "value").rows() == [(5, "up", 1.0)]


def test_batches_give_the_same_rows() -> None:
    whole = parse_bytes(DCGM + NODE_EXPORTER, "mixed.prom")
    pieces = parse_bytes(DCGM + NODE_EXPORTER, "mixed.prom", batch_bytes=300)
    for table in ("events", "measurements", "assets"):
        assert pieces.table(table).equals(whole.table(table)), table


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([], id="empty"),
        pytest.param(["# HELP up Was the last scrape successful.", "# TYPE up gauge"], id="comments-only"),
        pytest.param(["[  12.345678] NVRM: Xid (PCI:0000:3b:00): 79, pid=1, GPU has fallen off the bus."], id="dmesg"),
        pytest.param(["Jan 17 15:36:15 node01 kernel: mlx5_core 0000:0c:00.0: link down"], id="syslog"),
        pytest.param(["mynode-042 | Healthy", "mynode-108 | ERROR: No results reported"], id="aznhc-health"),
        pytest.param(["#  out-of-place       in-place", "       8             2     float     sum      -1    "
                      "25.81    0.00    0.00      0    24.64    0.00    0.00      0"], id="nccl-tests"),
        pytest.param(["port_rcv_errors 3", "symbol_error 0", "link_downed 255"], id="counters-without-known-prefix"),
        pytest.param(["# TYPE is the type", "a b c d"], id="prose"),
    ],
)  # fmt: skip
def test_sniff_leaves_other_formats(lines: list[str]) -> None:
    assert prometheus.sniff(lines, "x.txt") is None


def test_sniff_without_metadata_needs_known_series() -> None:
    assert prometheus.sniff(['node_load1{instance="a:9100"} 0.5', "node_load5 0.7"], "x")
    assert prometheus.sniff(["foo_bar 1", "baz 2"], "x") is None


def test_realdata_not_claimed(realdata: Path) -> None:
    claimed = []
    for path in sorted(p for p in realdata.rglob("*") if p.is_file()):
        sample = path.read_bytes()[: 1 << 16].decode("utf-8", errors="replace").splitlines()[:200]
        if prometheus.sniff(sample, str(path)) is not None:
            claimed.append(path.relative_to(realdata))
    assert claimed == []  # there is no Prometheus sample among the real files


def test_ingest_end_to_end(inputs: Path, store: Store) -> None:
    (inputs / "node017").mkdir()
    (inputs / "node017" / "dcgm-exporter.prom").write_bytes(DCGM)
    (inputs / "node017" / "node_exporter.prom").write_bytes(NODE_EXPORTER + b"node_load5 broken\n")
    summary = ingest(store, [str(inputs)])
    assert sorted((f.kind, f.status) for f in summary.files) == [("prometheus", "error"), ("prometheus", "ok")]
    files = store.frame("SELECT file_id, path, host, kind, format, status, error FROM files ORDER BY path")
    assert files.select("host", "kind", "format", "status", "error").rows() == [
        ("node017", "prometheus", "dcgm_exporter", "ok", None),
        ("node017", "prometheus", "node_exporter", "error", "line 32: not a Prometheus sample or comment: node_load5 broken"),
    ]  # fmt: skip
    dcgm_file = files["file_id"][0]
    xid = store.frame(
        "SELECT host, device, value, params, file_id, line_no FROM measurements WHERE metric = 'xid_last' AND value > 0"
    )
    assert xid.rows() == [
        (
            "node017",
            "0000:2a:00.0",
            79.0,
            '{"err_code":"79","err_msg":"GPU has fallen off the bus","xid":79}',
            dcgm_file,
            15,
        )
    ]
    ib = store.frame("SELECT host, device, value FROM measurements WHERE metric = 'link_downed'")
    assert ib.rows() == [("node017", "mlx5_1/1", 255.0)]
    gpus = store.frame("SELECT host, device, uuid FROM assets WHERE kind = 'gpu' ORDER BY device")
    assert gpus["device"].to_list() == ["0000:18:00.0", "0000:2a:00.0"]
    events = store.frame("SELECT count(*) AS n, count(DISTINCT host) AS hosts FROM events")
    assert events.row(0) == (DCGM.count(b"\n") + NODE_EXPORTER.count(b"\n") + 1, 1)
