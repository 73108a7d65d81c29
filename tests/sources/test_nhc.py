"""NHC and aznhc logs: check results, node verdicts, debug values, hosts per line, sniffing, ingest."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from triage.ingest import ingest
from triage.sources import nhc
from triage.sources.reading import Parsed, parse_bytes, parse_path
from triage.store import Store

RUN_COLUMNS = ["line_no", "host", "device", "test", "status", "started", "params", "detail"]
MEASURE_COLUMNS = ["line_no", "host", "device", "test", "metric", "value", "unit", "run_id"]

# A node's own NHC log as aznhc writes it (`LOGFILE`, DEBUG on): the NCCL check fails and NHC stops.
NODE_LOG = b"""[1737108164] - DEBUG:  Loading scripts from /etc/nhc/scripts...
[1737108164] - Running check 01 of 05:  "check_gpu_count 8"
SUCCESS:  nhc:  Health check passed:  check_gpu_count: Expected 8 and found 8
[1737108166] - Running check 02 of 05:  "check_gpu_bw 52 350"
[1737108194] - DEBUG:  H2D_GPU_0: 55.31 GB/s
[1737108194] - DEBUG:  D2H_GPU_0: 55.12 GB/s
[1737108194] - DEBUG:  P2P_GPU_0_1: 389.62 GB/s
[1737108195] - Running check 03 of 05:  "check_ib_bw_gdr 380"
[1737108224] - DEBUG:  IB devices=mlx5_ib0, mlx5_ib0: numa domains=0,0, Measured IB BW 391.02 Gbps
[1737108224] - DEBUG:  ib_write_lb_mlx5_ib0: 391.02 Gbps
SUCCESS:  nhc:  Health check passed:  check_ib_bw_gdr: IB write bandwidth test IB_WRITE_BW passed for IB=mlx5_ib0, IB BW=391.02 Gbps
[1737108225] - Running check 04 of 05:  "check_gpu_ecc 20000 10000"
[1737108226] - DEBUG:  GPU id 0: row remap pending, (0)
[1737108226] - DEBUG:  GPU id 0: row remap uncorrectable error count, (3)
[1737108226] - DEBUG:  GPU id 0: Normal SRAM Uncorrectable/correctable ECC error count, (0,0,0,2)
[1737108227] - Running check 05 of 05:  "check_nccl_allreduce 460.0 1 /opt/microsoft/ndv5-topo.xml 16G"
[1737108256] - DEBUG:  Measured Avg NCCL allreduce bus BW 421.3 GB/s (expected >=460.0 GB/s)
[1737108256] - DEBUG:  nccl_all_red: 421.3  GB/s
[1737108256] - DEBUG:  Iteration 1 of 1 failed: NCCL allreduce bandwidth 421.3 GB/s < 460.0 GB/s
[1737108256] - ERROR:  nhc:  Health check failed:  check_nccl_allreduce: NCCL allreduce, BUS BW (expected >=460.0 GB/s, but measured 421.3 GB/s). FaultCode: NHC2010
"""

# LBNL NHC 1.5 `/var/log/nhc.log` of a check-all run (`nhc -a -v`): three failures, one a timeout.
LBNL_LOG = b"""Node Health Check starting.
Running check 01 of 04:  "check_fs_mount_rw -t nfs -s nfs01:/home -f /home"
Running check 02 of 04:  "check_fs_used /var 90%"
Health check failed:  check_fs_used:  /var is 95% full (1893376kB), threshold is 90%
Running check 03 of 04:  "check_hw_ib 100"
Health check failed:  check_hw_ib:  No IB port is ACTIVE (LinkUp 100 Gb/sec).
Running check 04 of 04:  "check_ps_service -u root -S sshd"
Health check failed:  Script timed out while executing "check_ps_service -u root -S sshd".
ERROR:  nhc:  3 health checks failed.
Node Health Check starting.
Running check 01 of 04:  "check_fs_mount_rw -t nfs -s nfs01:/home -f /home"
Running check 02 of 04:  "check_fs_used /var 90%"
Running check 03 of 04:  "check_hw_ib 100"
Running check 04 of 04:  "check_ps_service -u root -S sshd"
Node Health Check completed successfully; 4 passed in 2 second(s).
"""

# A node's onetouch_nhc `.out`: script chatter, then the debug dump and the result it reports.
ONETOUCH = b"""Running OneTouch NHC with Job Name ndv5-000123-2025-01-17_10-02-44 on host ndv5-000123
NHC is installed with all custom tests
=== Finished Setting up AZ NHC ===

The health check has been started, it will typically take a few minutes to complete
=== Finished Running Health Checks ===

=== Debug Dump ===
NHC-DEBUG ndv5-000123 | H2D_GPU_0: 55.30 GB/s
NHC-DEBUG ndv5-000123 | ib_write_lb_mlx5_ib0: 390.97 Gbps
NHC-DEBUG ndv5-000123 | nccl_all_red: 477.91  GB/s

=== Health Report ===
NHC-RESULT ndv5-000123 | Healthy
"""

FLEET_HEALTH = b"""ndv5-000017 | Healthy
ndv5-000018 | ERROR: nhc: Health check failed: check_gpu_xid: GPU Xid errors detected: [ 5512.104231] NVRM: Xid (PCI:0000:9B:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.. FaultCode: NHC2001
ndv5-000019 | ERROR: nhc: Health check failed: check_ib_bw_gdr: ib_write_bw, IB=mlx5_ib3, mlx5_ib3, IB BW (expected > 380 Gbps, but measured 122.47 Gbps. FaultCode: NHC2003
ndv5-000020 | ERROR: No results reported
"""


def runs(parsed: Parsed) -> list[tuple]:
    return parsed.table("test_runs").select(RUN_COLUMNS).rows()


def measured(parsed: Parsed) -> list[tuple]:
    return parsed.table("measurements").select(MEASURE_COLUMNS).rows()


def at(epoch: int) -> datetime:
    """The UTC time of an NHC `[epoch] - ` stamp of these samples (1737108164 is 2025-01-17 10:02:44 UTC)."""
    return datetime(2025, 1, 17, 10, 2, 44) + timedelta(seconds=epoch - 1737108164)


def test_node_log_checks_and_values() -> None:
    parsed = parse_bytes(NODE_LOG, "ndv5-000123/ndv5-000123-2025-01-17_10-02-44.health.log")
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("nhc", "nhc_log", None, None)
    assert runs(parsed) == [
        (3, None, None, "nhc_check_gpu_count", "pass", None, None, "check_gpu_count: Expected 8 and found 8"),
        (11, None, None, "nhc_check_ib_bw_gdr", "pass", None, None,
         "check_ib_bw_gdr: IB write bandwidth test IB_WRITE_BW passed for IB=mlx5_ib0, IB BW=391.02 Gbps"),
        (20, None, None, "nhc_check_nccl_allreduce", "fail", at(1737108256), '{"fault_code":"NHC2010"}',
         "check_nccl_allreduce: NCCL allreduce, BUS BW (expected >=460.0 GB/s, but measured 421.3 GB/s). "
         "FaultCode: NHC2010"),
    ]  # fmt: skip
    assert measured(parsed) == [
        (3, None, None, "nhc_check_gpu_count", "gpu_count", 8.0, "count", 1),
        (5, None, "gpu0", "nhc_check_gpu_bw", "h2d_bw", 55.31, "GB/s", None),
        (6, None, "gpu0", "nhc_check_gpu_bw", "d2h_bw", 55.12, "GB/s", None),
        (7, None, "gpu0->gpu1", "nhc_check_gpu_bw", "p2p_bw", 389.62, "GB/s", None),
        (10, None, "mlx5_ib0/1", "nhc_ib_write_bw", "ib_write_bw", 391.02, "Gbit/s", None),
        (13, None, "gpu0", "nhc_check_gpu_ecc", "remapped_rows_pending", 0.0, "count", None),
        (14, None, "gpu0", "nhc_check_gpu_ecc", "remapped_rows_uncorrectable", 3.0, "count", None),
        (15, None, "gpu0", "nhc_check_gpu_ecc", "ecc_sram_volatile_uncorrectable", 0.0, "count", None),
        (15, None, "gpu0", "nhc_check_gpu_ecc", "ecc_sram_aggregate_uncorrectable", 0.0, "count", None),
        (15, None, "gpu0", "nhc_check_gpu_ecc", "ecc_sram_volatile_correctable", 0.0, "count", None),
        (15, None, "gpu0", "nhc_check_gpu_ecc", "ecc_sram_aggregate_correctable", 2.0, "count", None),
        (18, None, None, "nhc_check_nccl_allreduce", "nccl_allreduce_busbw", 421.3, "GB/s", None),
    ]  # fmt: skip
    events = parsed.table("events")
    assert events.height == NODE_LOG.count(b"\n")
    assert events.select("line_no", "ts").rows()[:3] == [(1, at(1737108164)), (2, at(1737108164)), (3, None)]


def test_lbnl_check_all_run() -> None:
    parsed = parse_bytes(LBNL_LOG, "nhc.log")
    assert (parsed.kind, parsed.format, parsed.error) == ("nhc", "nhc_log", None)
    assert runs(parsed) == [
        (4, None, None, "nhc_check_fs_used", "fail", None, None,
         "check_fs_used:  /var is 95% full (1893376kB), threshold is 90%"),
        (6, None, None, "nhc_check_hw_ib", "fail", None, None, "check_hw_ib:  No IB port is ACTIVE (LinkUp 100 Gb/sec)."),
        (8, None, None, "nhc_check_ps_service", "error", None, None,
         'Script timed out while executing "check_ps_service -u root -S sshd".'),
        (9, None, None, "nhc", "fail", None, None, "ERROR:  nhc:  3 health checks failed."),
        (15, None, None, "nhc", "pass", None, None, "Node Health Check completed successfully; 4 passed in 2 second(s)."),
    ]  # fmt: skip
    assert parsed.table("test_runs")["run_id"].to_list() == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("cut_after", "expected"),
    [
        pytest.param(3, (1, "no NHC result after line 1: Node Health Check starting."), id="before-any-result"),
        pytest.param(5, (5, 'no NHC result after line 5: Running check 03 of 04:  "check_hw_ib 100"'), id="after-a-failure"),
        pytest.param(13, (10, "no NHC result after line 10: Node Health Check starting."), id="second-run"),
    ],
)  # fmt: skip
def test_truncated_log_leaves_an_incomplete_run(cut_after: int, expected: tuple[int, str]) -> None:
    data = b"".join(LBNL_LOG.splitlines(keepends=True)[:cut_after])
    parsed = parse_bytes(data, "nhc.log")
    last = parsed.table("test_runs").row(-1, named=True)
    assert parsed.error is None
    assert (last["test"], last["status"], last["line_no"], last["detail"]) == ("nhc", "incomplete", *expected)
    assert last["run_id"] == parsed.table("test_runs").height


def test_onetouch_output() -> None:
    parsed = parse_bytes(ONETOUCH, "ndv5-000123-2025-01-17_10-02-44.out")
    assert (parsed.kind, parsed.format, parsed.host) == ("nhc", "aznhc_onetouch", None)
    assert runs(parsed) == [(14, "ndv5-000123", None, "nhc", "pass", None, None, "Healthy")]
    assert measured(parsed) == [
        (9, "ndv5-000123", "gpu0", "nhc_check_gpu_bw", "h2d_bw", 55.3, "GB/s", None),
        (10, "ndv5-000123", "mlx5_ib0/1", "nhc_ib_write_bw", "ib_write_bw", 390.97, "Gbit/s", None),
        (11, "ndv5-000123", None, "nhc_check_nccl_allreduce", "nccl_allreduce_busbw", 477.91, "GB/s", None),
    ]
    assert parsed.table("events")["host"].to_list()[7:9] == [None, "ndv5-000123"]


def test_fleet_health_log() -> None:
    parsed = parse_bytes(FLEET_HEALTH, "distributed_nhc-pssh-2025-01-17_10-02-44.health.log")
    assert (parsed.kind, parsed.format, parsed.host) == ("nhc", "aznhc_health", None)
    rows = parsed.table("test_runs").select("line_no", "host", "device", "test", "status", "params").rows()
    assert rows == [
        (1, "ndv5-000017", None, "nhc", "pass", None),
        (2, "ndv5-000018", "0000:9b:00.0", "nhc_check_gpu_xid", "fail", '{"fault_code":"NHC2001","xid":79}'),
        (3, "ndv5-000019", "mlx5_ib3/1", "nhc_check_ib_bw_gdr", "fail", '{"fault_code":"NHC2003"}'),
        (4, "ndv5-000020", None, "nhc", "error", None),
    ]
    assert measured(parsed) == [(3, "ndv5-000019", "mlx5_ib3/1", "nhc_ib_write_bw", "ib_write_bw", 122.47, "Gbit/s", 3)]
    assert parsed.table("events")["host"].to_list() == ["ndv5-000017", "ndv5-000018", "ndv5-000019", "ndv5-000020"]


def test_fleet_health_log_cut_mid_line() -> None:
    data = FLEET_HEALTH[: FLEET_HEALTH.index(b"check_ib_bw_gdr")]
    parsed = parse_bytes(data, "distributed_nhc-pssh-2025-01-17_10-02-44.health.log")
    assert parsed.error is None
    rows = parsed.table("test_runs").select("line_no", "host", "test", "status", "detail").rows()
    assert rows[-1] == (3, "ndv5-000019", "nhc", "error", "ERROR: nhc: Health check failed:")
    assert [r[3] for r in rows] == ["pass", "fail", "error"]


@pytest.mark.parametrize(
    ("message", "test", "status", "device"),
    [
        pytest.param("check_gpu_bw: P2P test on GPU 1 to GPU 2 failed. Bandwidth 120.5 is less than 350",
                     "nhc_check_gpu_bw", "fail", "gpu1->gpu2", id="gpu-pair"),
        pytest.param("check_nvlink_status: GPU 5 has nvlinks inactive: Link 3: Inactive. FaultCode: NHC2016",
                     "nhc_check_nvlink_status", "fail", "gpu5", id="gpu"),
        pytest.param("check_gpu_ecc: GPU id 2: Row remap pending. FaultCode: NHC2007", "nhc_check_gpu_ecc", "fail",
                     "gpu2", id="gpu-id"),
        pytest.param("check_ib_bw_non_gdr:  IB=mlx5_ib2, IB BW (expected > 180 Gbps, but measured 92.3 Gbps). "
                     "FaultCode: NHC2003", "nhc_check_ib_bw_non_gdr", "fail", "mlx5_ib2/1", id="ib-equals"),
        pytest.param("check_hw_ib:  No IB port mlx5_0:1 is ACTIVE (LinkUp 200 Gb/sec).", "nhc_check_hw_ib", "fail",
                     "mlx5_0/1", id="ib-port"),
        pytest.param("check_gpu_xid: GPU Xid errors detected: [ 12.5] NVRM: Xid (PCI:0000:3b:00): 48, pid=1, "
                     "name=python, An uncorrectable double bit error", "nhc_check_gpu_xid", "fail", "0000:3b:00.0",
                     id="xid"),
        pytest.param("Bandwidth is low on device 6. Reported bandwidth is 12 GB/s.", "nhc_check_cuda_bw", "fail",
                     "gpu6", id="cuda-bw-without-check-name"),
        pytest.param("run_ib_bw_gdr: ib_write_bw returned error code 1. FaultCode: NHCNA", "nhc_check_ib_bw_gdr",
                     "fail", None, id="helper-function"),
        pytest.param("Check check_fs_mount_rw -f / returned 1", "nhc_check_fs_mount_rw", "fail", None,
                     id="check-returned"),
        pytest.param('No such check "check_foo" (missing/corrupt .nhc file?); check 3 of 5 (check_foo) returned 127',
                     "nhc_check_foo", "error", None, id="missing-check"),
        pytest.param("Terminated by signal SIGTERM.", "nhc", "error", None, id="killed"),
        pytest.param("check_fs_used:  /tmp is 100% full (64896kB), threshold is 99%", "nhc_check_fs_used", "fail",
                     None, id="no-device"),
    ],
)  # fmt: skip
def test_failure_messages(message: str, test: str, status: str, device: str | None) -> None:
    parsed = parse_bytes(f"ERROR:  nhc:  Health check failed:  {message}\n".encode(), "nhc.log")
    assert runs(parsed) == [(1, None, device, test, status, None, runs(parsed)[0][6], message)]


def test_value_printed_twice_is_measured_once() -> None:
    lines = [
        "node1 | IB devices=mlx5_ib0, mlx5_ib0: numa domains=0,0, Measured IB BW 391.02 Gbps",
        "node1 | ib_write_lb_mlx5_ib0: 391.02 Gbps",
        "node1 | IB devices=mlx5_ib1, mlx5_ib1: numa domains=0,0, Measured IB BW 390.10 Gbps",
        "node1 | ib_write_lb_mlx5_ib1: 390.11 Gbps",
        "node2 | IB devices=mlx5_ib0, mlx5_ib0: numa domains=0,0, Measured IB BW 391.02 Gbps",
        "node1 | Measured Avg NCCL allreduce bus BW 477.873 GB/s (expected >=460.0 GB/s)",
        "node1 | nccl_all_red: 477.873  GB/s",
    ]
    parsed = parse_bytes(("\n".join(lines) + "\n").encode(), "x.debug.log")
    assert parsed.table("measurements").select("line_no", "host", "device", "value").rows() == [
        (2, "node1", "mlx5_ib0/1", 391.02),
        (3, "node1", "mlx5_ib1/1", 390.10),  # differs from its key form: both kept
        (4, "node1", "mlx5_ib1/1", 390.11),
        (5, "node2", "mlx5_ib0/1", 391.02),  # another host
        (7, "node1", None, 477.873),
    ]


def test_stream_and_dram_values() -> None:
    lines = [
        "hbv4-001 | stream_Copy: 786912.3",
        "hbv4-001 | stream_Triad: 801233.9",
        "hbv4-001 | GPU id 1: Normal DRAM Uncorrectable/correctable ECC error count, (0,0,17,4)",
    ]
    parsed = parse_bytes(("\n".join(lines) + "\n").encode(), "x.debug.log")
    assert parsed.format == "aznhc_debug"
    values = parsed.table("measurements")
    assert values.select("device", "test", "metric", "unit").rows() == [
        (None, "nhc_check_cpu_stream", "stream_copy", "GB/s"),
        (None, "nhc_check_cpu_stream", "stream_triad", "GB/s"),
        ("gpu1", "nhc_check_gpu_ecc", "ecc_dram_volatile_uncorrectable", "count"),
        ("gpu1", "nhc_check_gpu_ecc", "ecc_dram_aggregate_uncorrectable", "count"),
        ("gpu1", "nhc_check_gpu_ecc", "ecc_dram_volatile_correctable", "count"),
        ("gpu1", "nhc_check_gpu_ecc", "ecc_dram_aggregate_correctable", "count"),
    ]
    assert values["value"].to_list() == pytest.approx([786.9123, 801.2339, 0, 0, 17, 4])


def test_batches_give_the_same_rows() -> None:
    data = NODE_LOG + LBNL_LOG[:200] + FLEET_HEALTH
    whole = parse_bytes(data, "nhc.log")
    pieces = parse_bytes(data, "nhc.log", batch_bytes=256)
    for table in ("events", "test_runs", "measurements"):
        assert pieces.table(table).equals(whole.table(table)), table


def test_blank_and_unrecognised_lines_are_events_only() -> None:
    parsed = parse_bytes(b"\nNode Health Check starting.\n\nsome other output\n", "nhc.log")
    assert parsed.table("events").height == 4
    assert runs(parsed) == [(2, None, None, "nhc", "incomplete", None, None, "no NHC result after line 2: Node Health Check starting.")]  # fmt: skip
    assert parsed.table("measurements").height == 0


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param([], id="empty"),
        pytest.param(["[  12.345678] NVRM: Xid (PCI:0000:3b:00): 79, pid=1, GPU has fallen off the bus."], id="dmesg"),
        pytest.param(["Jan 17 15:36:15 node01 nhc[48213]: Health check failed:  check_fs_used:  /var is 95% full",
                      "Jan 17 15:36:16 node01 systemd-networkd[5398]: ib6: lost carrier"], id="syslog-with-nhc"),
        pytest.param(["| host | status |", "|------|--------|", "| node01 | Healthy |"], id="markdown-table"),
        pytest.param(["node01 | up 3 days", "node02 | up 5 days"], id="host-table-without-results"),
        pytest.param(['DCGM_FI_DEV_GPU_TEMP{gpu="0",Hostname="n1"} 34'], id="prometheus"),
        pytest.param(["#  Avg bus bandwidth    : 477.873 ", "# Out of bounds values : 0 OK"], id="nccl-tests"),
        pytest.param(["slurmd: error: health check failed: rc:1 output:ERROR:  nhc:  Health check failed:  x"],
                     id="slurmd"),
    ],
)  # fmt: skip
def test_sniff_leaves_other_formats(lines: list[str]) -> None:
    assert nhc.sniff(lines, "x.log") is None


def test_realdata_claimed_files(realdata: Path) -> None:
    claimed = {}
    for path in sorted(p for p in realdata.rglob("*") if p.is_file()):
        sample = path.read_bytes()[: 1 << 16].decode("utf-8", errors="replace").splitlines()[:200]
        if (found := nhc.sniff(sample, str(path))) is not None:
            claimed[str(path.relative_to(realdata))] = found.format
    assert claimed == {
        "aznhc/distributed_nhc_debug_log_example__from_README.txt": "aznhc_debug",
        "aznhc/distributed_nhc_health_log_example__from_README.txt": "aznhc_health",
        "aznhc/log.log": "nhc_log",
    }  # the test_data syslogs (ib6 lost carrier) stay kernel logs


def test_realdata_nhc_log(realdata: Path) -> None:
    parsed = parse_path(realdata / "aznhc" / "log.log")
    assert (parsed.kind, parsed.format, parsed.error) == ("nhc", "nhc_log", None)
    assert runs(parsed) == [
        (1, None, None, "nhc_check_fs_used", "fail", None, None, "check_fs_used:  /snap/core20/1822 is 100% full (64896kB), threshold is 100%"),
        (2, None, None, "nhc_check_fs_used", "fail", None, None, "check_fs_used:  /snap/core20/1822 is 100% full (64896kB), threshold is 100%"),
        (3, None, None, "nhc_check_fs_used", "fail", None, None, "check_fs_used:  /snap/snapd/18357 is 100% full (51072kB), threshold is 100%"),
    ]  # fmt: skip


def test_realdata_distributed_health_log(realdata: Path) -> None:
    parsed = parse_path(realdata / "aznhc" / "distributed_nhc_health_log_example__from_README.txt")
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("nhc", "aznhc_health", None, None)
    rows = parsed.table("test_runs").select("line_no", "host", "device", "test", "status", "params").rows()
    assert rows == [
        (1, "mynode-042", None, "nhc", "pass", None),
        (2, "mynode-066", "0002:00:00.0", "nhc_check_gpu_xid", "fail", '{"xid":119}'),
        (3, "mynode-079", None, "nhc_check_nccl_allreduce_ib_loopback", "fail", None),
        (4, "mynode-084", "gpu1", "nhc_check_cuda_bw", "fail", None),
        (5, "mynode-108", None, "nhc", "error", None),
        (6, "mynode-123", "gpu3", "nhc_check_cuda_bw", "fail", None),
        (7, "mynode-273", "mlx5_ib7/1", "nhc_check_hw_ib", "fail", None),
        (8, "mynode-510", "gpu3", "nhc_check_gpu_ecc", "fail", None),
    ]
    details = parsed.table("test_runs")["detail"].to_list()
    assert details[4] == "ERROR: No results reported"
    assert details[6] == "check_hw_ib: No IB port mlx5_ib7:1 is ACTIVE (LinkUp 400 Gb/sec)."
    assert measured(parsed) == [
        (3, "mynode-079", None, "nhc_check_nccl_allreduce_ib_loopback", "nccl_allreduce_busbw", 20.7377, "GB/s", 3),
        (8, "mynode-510", "gpu3", "nhc_check_gpu_ecc", "ecc_sram_volatile_uncorrectable", 0.0, "count", 8),
        (8, "mynode-510", "gpu3", "nhc_check_gpu_ecc", "ecc_sram_aggregate_uncorrectable", 1.0, "count", 8),
    ]


def test_realdata_distributed_debug_log(realdata: Path) -> None:
    parsed = parse_path(realdata / "aznhc" / "distributed_nhc_debug_log_example__from_README.txt")
    assert (parsed.kind, parsed.format, parsed.host, parsed.error) == ("nhc", "aznhc_debug", "mynode-411", None)
    values = parsed.table("measurements")
    assert values.height == 22 and set(values["host"]) == {"mynode-411"}
    bw = values.filter(values["test"] == "nhc_check_cuda_bw")
    assert (bw.height, sorted(set(bw["metric"])), bw["value"].sum()) == (16, ["d2h_bw", "h2d_bw"], 880.0)
    assert measured(parsed)[:2] == [
        (1, "mynode-411", "gpu0", "nhc_check_cuda_bw", "d2h_bw", 55.0, "GB/s", None),
        (2, "mynode-411", "gpu0", "nhc_check_cuda_bw", "h2d_bw", 55.0, "GB/s", None),
    ]
    assert measured(parsed)[16:] == [
        (17, "mynode-411", "mlx5_ib0/1->mlx5_ib4/1", "nhc_ib_write_bw", "ib_write_bw", 390.98, "Gbit/s", None),
        (18, "mynode-411", "mlx5_ib1/1->mlx5_ib5/1", "nhc_ib_write_bw", "ib_write_bw", 390.98, "Gbit/s", None),
        (19, "mynode-411", "mlx5_ib2/1->mlx5_ib6/1", "nhc_ib_write_bw", "ib_write_bw", 390.99, "Gbit/s", None),
        (20, "mynode-411", "mlx5_ib3/1->mlx5_ib7/1", "nhc_ib_write_bw", "ib_write_bw", 390.98, "Gbit/s", None),
        (21, "mynode-411", None, "nhc_check_nccl_allreduce", "nccl_allreduce_busbw", 477.873, "GB/s", None),
        (22, "mynode-411", None, "nhc_check_nccl_allreduce_ib_loopback", "nccl_allreduce_busbw", 46.3965, "GB/s", None),
    ]  # fmt: skip
    assert parsed.table("test_runs").height == 0


def test_ingest_end_to_end(inputs: Path, store: Store) -> None:
    (inputs / "distributed_nhc-pssh-2025-01-17_10-02-44.health.log").write_bytes(FLEET_HEALTH)
    (inputs / "ndv5-000123").mkdir()
    (inputs / "ndv5-000123" / "nhc.log").write_bytes(NODE_LOG)
    summary = ingest(store, [str(inputs)])
    assert sorted((f.kind, f.status) for f in summary.files) == [("nhc", "ok"), ("nhc", "ok")]
    files = store.frame("SELECT file_id, host, kind, format, status FROM files ORDER BY format")
    assert files.select("kind", "format", "status").rows() == [("nhc", "aznhc_health", "ok"), ("nhc", "nhc_log", "ok")]
    fleet_id, node_id = files["file_id"].to_list()
    fleet = store.frame(
        "SELECT host, test, status, file_id FROM test_runs WHERE file_id = ? ORDER BY line_no", [fleet_id]
    )
    assert fleet.rows() == [
        ("ndv5-000017", "nhc", "pass", fleet_id),
        ("ndv5-000018", "nhc_check_gpu_xid", "fail", fleet_id),
        ("ndv5-000019", "nhc_check_ib_bw_gdr", "fail", fleet_id),
        ("ndv5-000020", "nhc", "error", fleet_id),
    ]
    node = store.frame(
        "SELECT host, device, metric, value FROM measurements WHERE file_id = ? AND metric = 'p2p_bw'", [node_id]
    )
    assert node.rows() == [("ndv5-000123", "gpu0->gpu1", "p2p_bw", 389.62)]
    failed = store.frame("SELECT host, test, started FROM test_runs WHERE file_id = ? AND status = 'fail'", [node_id])
    assert failed.rows() == [("ndv5-000123", "nhc_check_nccl_allreduce", datetime(2025, 1, 17, 10, 4, 16))]
    hosts = store.frame("SELECT DISTINCT host FROM events WHERE file_id = ? ORDER BY host", [fleet_id])
    assert hosts["host"].to_list() == ["ndv5-000017", "ndv5-000018", "ndv5-000019", "ndv5-000020"]
