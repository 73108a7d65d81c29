"""Device aliases: every name a host's evidence uses for a GPU, HCA port or PCIe port, and its canonical device.

Crafted hosts are written into a real store as the ingest would leave them (kernel lines in `events`
analysed by the shipped rules, inventories in `assets`, test results in `test_runs`); the sample
fleet and ../shared/realdata are ingested for real.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from triage.diagnose.devices import ALIAS_SCHEMA, canonical, device_aliases
from triage.ingest import IngestOptions, ingest
from triage.signatures.analyze import analyze
from triage.signatures.loader import load_rules
from triage.signatures.model import RulePack
from triage.store import Store

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "sample-fleet"
Row = tuple[str, str | None, str, str]  # alias, device, kind, how


@pytest.fixture(scope="module")
def pack() -> RulePack:
    return load_rules()


# -- writing crafted hosts ----------------------------------------------------------------------


class Host:
    """Rows of one crafted host, each table's rows tied to a file of the right kind."""

    def __init__(self, store: Store, name: str) -> None:
        self.store, self.name = store, name

    def file(self, kind: str) -> int:
        file_id = self.store.next_id("files", "file_id")
        frame = pl.DataFrame({"file_id": [file_id], "path": [f"{self.name}/{kind}-{file_id}"], "kind": [kind]})
        self.store.append("files", frame.with_columns(host=pl.lit(self.name), status=pl.lit("ok")))
        return file_id

    def kernel(self, *lines: str, source: str = "kernel_log") -> None:
        file_id = self.file(source)
        self.store.append(
            "events",
            pl.DataFrame(
                {
                    "host": self.name,
                    "file_id": file_id,
                    "line_no": range(1, len(lines) + 1),
                    "source": source,
                    "message": list(lines),
                }
            ),
        )

    def gpus(self, kind: str, *pcis: str, indexed: bool = True) -> None:
        file_id = self.file(kind)
        self.store.append(
            "assets",
            pl.DataFrame(
                {
                    "host": self.name,
                    "kind": "gpu",
                    "device": list(pcis),
                    "index": list(range(len(pcis))) if indexed else None,
                    "pci_bdf": list(pcis),
                    "file_id": file_id,
                },
                schema_overrides={"index": pl.Int32},
            ),
        )

    def ibstat(self, *ports: tuple[str, str, int]) -> None:
        """CA ports as `ibstat` lists them: (device `mlx5_N/P`, link layer, base LID)."""
        file_id = self.file("ib_status")
        devices = [device for device, _, _ in ports]
        self.store.append(
            "assets", pl.DataFrame({"host": self.name, "kind": "hca", "device": devices, "file_id": file_id})
        )
        states = [json.dumps({"link_layer": layer, "text": "Active"}) for _, layer, _ in ports]
        self.measure(devices, "ibstat", "state", [4.0] * len(ports), file_id, params=states)
        self.measure(devices, "ibstat", "lid", [float(lid) for _, _, lid in ports], file_id)

    def measure(
        self,
        devices: list[str],
        test: str,
        metric: str,
        values: list[float],
        file_id: int | None = None,
        params: list[str] | None = None,
    ) -> None:
        self.store.append(
            "measurements",
            pl.DataFrame(
                {
                    "host": self.name,
                    "device": devices,
                    "test": test,
                    "metric": metric,
                    "value": values,
                    "params": params,
                    "file_id": file_id if file_id is not None else self.file(test),
                },
                schema_overrides={"params": pl.String},
            ),
        )

    def dcgm(self, *devices: str) -> None:
        """One `dcgmi diag` file with a Memory result per GPU (indexes the ingest could not resolve left as `gpuN`)."""
        file_id = self.file("dcgm")
        self.store.append(
            "test_runs",
            pl.DataFrame(
                {
                    "run_id": [self.store.next_id("test_runs", "run_id") for _ in devices],
                    "host": self.name,
                    "device": list(devices),
                    "test": "dcgm_memory",
                    "status": "pass",
                    "file_id": file_id,
                }
            ),
        )


def table(store: Store, host: str) -> list[Row]:
    aliases = device_aliases(store, [host])
    assert set(aliases["host"]) <= {host}
    return sorted(aliases.select("alias", "device", "kind", "how").rows(), key=lambda r: (r[2], r[0]))


def gpu_rows(*pcis: str) -> list[Row]:
    return [(pci, pci, "gpu", "pci address") for pci in pcis]


def ca_rows(*devices: str) -> list[Row]:
    return [(device, device, "hca", "ca/port name") for device in devices]


# -- InfiniBand ---------------------------------------------------------------------------------

MODULE_ERROR = "mlx5_core {}: Port module event[error]: module 0, Cable error, Bad or shorted cable/module"
FIRMWARE = "mlx5_core {}: firmware version: 28.39.1002"
PORT_ERROR = "n1:2231:2288 [0] NCCL WARN NET/IB : {}:{} Got async event : port error"


def renamed_and_probe_order(store: Store, pack: RulePack) -> list[Row]:
    host = Host(store, "n1")
    host.ibstat(("mlx5_0/1", "InfiniBand", 3), ("mlx5_1/1", "InfiniBand", 4), ("mlx5_2/1", "InfiniBand", 5))
    host.kernel(
        *(FIRMWARE.format(pci) for pci in ("0000:4d:00.0", "0000:1a:00.0", "0000:3c:00.0")),
        "mlx5_core 0000:3c:00.0 ib2: renamed from ib1",  # udev swapped the names of the last two
        "mlx5_core 0000:4d:00.0 ib1: renamed from ib2",
        MODULE_ERROR.format("0000:1a:00.0"),
        "ib1: Lost carrier",
        "ib7: Lost carrier",
    )
    host.kernel(PORT_ERROR.format("mlx5_1", 1), source="text")
    analyze(store, pack)
    return [
        ("0000:1a:00.0", "mlx5_0/1", "hca", "probe order"),
        ("ib1", "mlx5_2/1", "hca", "renamed line + probe order"),
        ("ib7", None, "hca", "netdev not tied to an hca"),
        ("mlx5_1", "mlx5_1/1", "hca", "single port"),
        *ca_rows("mlx5_0/1", "mlx5_1/1", "mlx5_2/1"),
    ]


def two_port_hca(store: Store, pack: RulePack) -> list[Row]:
    host = Host(store, "n1")
    host.ibstat(("mlx5_0/1", "InfiniBand", 3), ("mlx5_0/2", "InfiniBand", 4))
    host.kernel(FIRMWARE.format("0000:1a:00.0"), FIRMWARE.format("0000:1a:00.1"), MODULE_ERROR.format("0000:1a:00.1"))
    host.kernel(PORT_ERROR.format("mlx5_0", 2), source="text")
    analyze(store, pack)
    # Two PCI functions but one CA: the count check refuses probe order; `mlx5_0` alone names no port.
    return [
        ("0000:1a:00.1", "0000:1a:00.1", "hca", "pci address (mlx5 name unknown)"),
        ("mlx5_0", None, "hca", "several ports, none named"),
        *ca_rows("mlx5_0/1", "mlx5_0/2"),
    ]


def netdev_and_lid_order(store: Store, pack: RulePack) -> list[Row]:
    host = Host(store, "n1")
    host.ibstat(("mlx5_0/1", "Ethernet", 0), ("mlx5_1/1", "InfiniBand", 7), ("mlx5_2/1", "InfiniBand", 9))
    host.kernel("ib0: Lost carrier", "ib1: Lost carrier", "ib2: Lost carrier")
    host.measure(["lid9/1", "lid12/1"], "ib_counters", "symbol_error", [3.0, 0.0])
    analyze(store, pack)
    # No rename line: IPoIB numbered the InfiniBand ports in CA order (the Ethernet one has no ibN);
    # lid12 is another node's port.
    return [
        ("ib0", "mlx5_1/1", "hca", "netdev order"),
        ("ib1", "mlx5_2/1", "hca", "netdev order"),
        ("ib2", None, "hca", "netdev not tied to an hca"),
        ("lid9/1", "mlx5_2/1", "hca", "ibstat base lid"),
        *ca_rows("mlx5_0/1", "mlx5_1/1", "mlx5_2/1"),
    ]


def ib_device_lines(store: Store, pack: RulePack) -> list[Row]:
    good, bad = Host(store, "n1"), Host(store, "n2")
    for host in (good, bad):
        host.ibstat(("mlx5_0/1", "InfiniBand", 3), ("mlx5_1/1", "InfiniBand", 4))
    good.kernel(
        "mlx5_core 0000:1a:00.0 mlx5_1: Port: 1 Link ACTIVE",
        "mlx5_core 0000:3c:00.0 mlx5_0: Port: 1 Link ACTIVE",
        MODULE_ERROR.format("0000:1a:00.0"),
        MODULE_ERROR.format("0000:3c:00.0"),
    )
    # A line that contradicts probe order disables it for the whole host.
    bad.kernel(
        "mlx5_core 0000:3c:00.0 mlx5_0: Port: 1 Link ACTIVE",
        MODULE_ERROR.format("0000:1a:00.0"),
        MODULE_ERROR.format("0000:3c:00.0"),
    )
    analyze(store, pack)
    assert table(store, "n2") == [
        ("0000:1a:00.0", "0000:1a:00.0", "hca", "pci address (mlx5 name unknown)"),
        ("0000:3c:00.0", "mlx5_0/1", "hca", "ib device line"),
        *ca_rows("mlx5_0/1", "mlx5_1/1"),
    ]
    return [
        ("0000:1a:00.0", "mlx5_1/1", "hca", "ib device line"),
        ("0000:3c:00.0", "mlx5_0/1", "hca", "ib device line"),
        *ca_rows("mlx5_0/1", "mlx5_1/1"),
    ]


@pytest.mark.parametrize(
    "scenario",
    [renamed_and_probe_order, two_port_hca, netdev_and_lid_order, ib_device_lines],
    ids=["renamed-lines-and-probe-order", "two-port-hca", "netdev-and-lid-order", "ib-device-lines"],
)
def test_hca_aliases(store: Store, pack: RulePack, scenario) -> None:
    expected = scenario(store, pack)
    assert table(store, "n1") == sorted(expected, key=lambda r: (r[2], r[0]))


# -- PCIe ports ---------------------------------------------------------------------------------

PORT_GPUS = (
    "0000:02:00.0",
    "0000:18:00.0",
    "0000:2a:00.0",
    "0000:3a:00.0",
    "0000:9a:00.0",
    "0000:c9:00.0",
    "0000:da:00.0",
)


@pytest.fixture
def ports(store: Store, pack: RulePack) -> Store:
    host = Host(store, "p1")
    host.gpus("nvidia_smi", *PORT_GPUS)
    host.ibstat(("mlx5_0/1", "InfiniBand", 3), ("mlx5_1/1", "InfiniBand", 4))

    def corrected(port: str, source: str | None = None) -> str:
        return f"pcieport {port}: AER: Corrected error received: {source or port}"

    host.kernel(
        FIRMWARE.format("0000:3c:00.0"),
        FIRMWARE.format("0000:b9:00.0"),
        # AMD-style root ports side by side on bus 00; only one has its bridge line.
        "pci 0000:00:03.1: PCI bridge to [bus 02]",
        corrected("0000:00:01.1"),
        corrected("0000:00:03.1"),
        corrected("0000:15:01.0", "0000:18:00.0"),  # names the device below
        "nvidia 0000:2a:00.0: 126.016 Gb/s available PCIe bandwidth, limited by 8.0 GT/s PCIe x8 link at "
        "0000:27:01.0 (capable of 504.112 Gb/s with 32.0 GT/s PCIe x16 link)",
        corrected("0000:37:01.0"),  # GPU 3a and HCA 3c below: the GPU is named
        "ACPI: PCI Root Bridge [PC06] (domain 0000 [bus 97-a7])",
        corrected("0000:97:01.0"),
        corrected("0000:b7:01.0"),  # only the HCA at b9 before the next root port c7
        corrected("0000:c7:01.0"),
        "pcieport 0000:d7:01.0: AER: Corrected error received: id=da00",  # requester id: bus da, device 0
        corrected("0000:e7:01.0"),  # nothing above bus e7
    )
    analyze(store, pack)
    return store


def test_pcie_ports_name_the_device_below(ports: Store) -> None:
    rows = [row for row in table(ports, "p1") if row[2] == "pcie_port"]
    assert rows == [
        ("0000:00:01.1", None, "pcie_port", "several ports on bus, none named"),
        ("0000:00:03.1", "0000:02:00.0", "pcie_port", "bridge bus range"),
        ("0000:15:01.0", "0000:18:00.0", "pcie_port", "AER source line"),
        ("0000:27:01.0", "0000:2a:00.0", "pcie_port", "link limit line"),
        ("0000:37:01.0", "0000:3a:00.0", "pcie_port", "bus order below root port"),
        ("0000:97:01.0", "0000:9a:00.0", "pcie_port", "bus order below root port"),
        ("0000:b7:01.0", "mlx5_1/1", "pcie_port", "bus order below root port + probe order"),
        ("0000:c7:01.0", "0000:c9:00.0", "pcie_port", "bus order below root port"),
        ("0000:d7:01.0", "0000:da:00.0", "pcie_port", "AER requester id"),
        ("0000:e7:01.0", None, "pcie_port", "no device below port"),
    ]


def test_canonical_renames_findings_and_keeps_the_original(ports: Store) -> None:
    findings = ports.frame(
        "SELECT host, device, rule_id FROM findings WHERE rule_id = 'pcie-aer-corrected' ORDER BY device"
    )
    renamed = canonical(findings, device_aliases(ports))
    assert renamed.rows() == [
        ("p1", "0000:00:01.1", "pcie-aer-corrected", None),  # unresolved: left as it was
        ("p1", "0000:02:00.0", "pcie-aer-corrected", "0000:00:03.1"),
        ("p1", "0000:18:00.0", "pcie-aer-corrected", None),  # the line named the GPU already
        ("p1", "0000:3a:00.0", "pcie-aer-corrected", "0000:37:01.0"),
        ("p1", "0000:9a:00.0", "pcie-aer-corrected", "0000:97:01.0"),
        ("p1", "mlx5_1/1", "pcie-aer-corrected", "0000:b7:01.0"),
        ("p1", "0000:c9:00.0", "pcie-aer-corrected", "0000:c7:01.0"),
        ("p1", "0000:e7:01.0", "pcie-aer-corrected", None),
    ]


def test_canonical_renames_pairs_end_by_end_and_only_on_the_same_host() -> None:
    aliases = pl.DataFrame(
        {
            "host": ["a", "a", "a"],
            "alias": ["gpu1", "ib2", "gpu6"],
            "device": ["0000:2a:00.0", "mlx5_2/1", None],
            "kind": ["gpu", "hca", "gpu"],
            "how": ["nvidia-smi index", "renamed line + probe order", "gpu index: no numbering fits"],
        },
        schema=ALIAS_SCHEMA,
    )
    frame = pl.DataFrame(
        {
            "host": ["a", "a", "b", "a", "a", "a"],
            "device": ["gpu1", "gpu0->gpu1", "gpu1", None, "ib2", "gpu6"],
            "value": [1, 2, 3, 4, 5, 6],
        }
    )
    assert canonical(frame, aliases).rows() == [
        ("a", "0000:2a:00.0", 1, "gpu1"),
        ("a", "gpu0->0000:2a:00.0", 2, "gpu0->gpu1"),
        ("b", "gpu1", 3, None),
        ("a", None, 4, None),
        ("a", "mlx5_2/1", 5, "ib2"),
        ("a", "gpu6", 6, None),
    ]
    twice = canonical(canonical(frame, aliases), aliases)
    assert twice.equals(canonical(frame, aliases))
    assert canonical(frame.head(0), aliases).columns == ["host", "device", "value", "alias_of"]


# -- GPU indexes --------------------------------------------------------------------------------

SMI = ("0000:18:00.0", "0000:2a:00.0", "0000:3a:00.0", "0000:5d:00.0")


def lost_gpu(store: Store) -> Host:
    """nvidia-smi numbers 4 GPUs with 3a unreachable; CUDA (nvbandwidth) sees 3 and renumbers."""
    host = Host(store, "g1")
    host.gpus("nvidia_smi", *SMI)
    host.measure(["0000:3a:00.0"], "nvidia_smi", "gpu_unreachable", [1.0])
    host.gpus("nvbandwidth", "0000:18:00.0", "0000:2a:00.0", "0000:5d:00.0")
    return host


def dcgm_counts_the_lost_gpu(store: Store) -> Row:
    lost_gpu(store).dcgm("0000:18:00.0", "0000:2a:00.0", "gpu2", "0000:5d:00.0")
    return ("gpu2", "0000:3a:00.0", "gpu", "nvidia-smi index")


def dcgm_saw_only_reachable_gpus(store: Store) -> Row:
    lost_gpu(store).dcgm("0000:18:00.0", "0000:2a:00.0", "gpu2")
    return ("gpu2", "0000:5d:00.0", "gpu", "PCI order of reachable GPUs")


def dcgm_on_one_gpu(store: Store) -> Row:
    lost_gpu(store).dcgm("gpu2")  # `dcgmi diag -i 2`: which numbering, nothing says
    return ("gpu2", None, "gpu", "gpu index: no numbering fits")


def two_dcgm_runs_disagree(store: Store) -> Row:
    host = lost_gpu(store)
    host.dcgm("0000:18:00.0", "0000:2a:00.0", "gpu2", "0000:5d:00.0")
    host.dcgm("0000:18:00.0", "0000:2a:00.0", "gpu2")
    return ("gpu2", None, "gpu", "gpu index: sources disagree")


def no_nvidia_smi(store: Store) -> Row:
    host = Host(store, "g1")
    host.gpus("kernel_log", *SMI, indexed=False)  # `NVRM: GPU at PCI:...` lines carry no index
    host.dcgm("gpu0", "gpu1", "gpu2", "gpu3")
    return ("gpu2", "0000:3a:00.0", "gpu", "PCI order of all GPUs")


@pytest.mark.parametrize(
    "scenario",
    [dcgm_counts_the_lost_gpu, dcgm_saw_only_reachable_gpus, dcgm_on_one_gpu, two_dcgm_runs_disagree, no_nvidia_smi],
    ids=["lost-gpu-counted", "only-reachable-counted", "one-gpu-run-unmapped", "runs-disagree-unmapped", "pci-order"],
)
def test_gpu_index(store: Store, scenario) -> None:
    expected = scenario(store)
    rows = {row[0]: row for row in table(store, "g1")}
    assert rows["gpu2"] == expected
    assert all(row[3] == "pci address" for row in rows.values() if row[0].startswith("0000:"))


def test_no_hosts_and_empty_stores(store: Store) -> None:
    assert device_aliases(store).rows() == []
    Host(store, "n1").kernel("ib0: Lost carrier")
    assert device_aliases(store, []).rows() == []
    assert device_aliases(store, ["elsewhere"]).rows() == []
    assert device_aliases(store, ["n1"]).schema == pl.Schema(ALIAS_SCHEMA)


# -- the sample fleet ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    with Store.open(tmp_path_factory.mktemp("sample") / "triage.duckdb") as store:
        ingest(store, [str(SAMPLE / "hosts")])
        analyze(store, load_rules())
        yield store


@pytest.fixture(scope="module")
def sample_aliases(sample: Store) -> pl.DataFrame:
    return device_aliases(sample)


@pytest.mark.parametrize(
    ("host", "alias", "device", "how"),
    [
        ("node0001", "ib2", "mlx5_2/1", "renamed line + probe order"),
        ("node0001", "mlx5_2", "mlx5_2/1", "single port"),
        ("node0001", "0000:4d:00.0", "mlx5_2/1", "probe order"),
        ("node0013", "0000:dc:00.0", "mlx5_7/1", "probe order"),
        ("node0013", "mlx5_7", "mlx5_7/1", "single port"),
        ("node0006", "0000:b7:01.0", "0000:ba:00.0", "bridge bus range"),
        ("node0006", "gpu6", "0000:ba:00.0", "nvidia-smi index"),
        ("node0007", "0000:27:01.0", "0000:2a:00.0", "link limit line"),
        ("node0007", "0000:37:01.0", "0000:3a:00.0", "bridge bus range"),
    ],
    ids=[
        "node0001-ib2",
        "node0001-mlx5_2",
        "node0001-pci",
        "node0013-pci",
        "node0013-mlx5_7",
        "node0006-root-port",
        "node0006-dcgm-gpu6",
        "node0007-limited-at",
        "node0007-other-port",
    ],
)
def test_sample_fleet_aliases(sample_aliases: pl.DataFrame, host: str, alias: str, device: str, how: str) -> None:
    row = sample_aliases.filter((pl.col("host") == host) & (pl.col("alias") == alias))
    assert row.select("device", "how").rows() == [(device, how)]


def test_sample_fleet_evidence_names_the_truth_device(sample: Store, sample_aliases: pl.DataFrame) -> None:
    truth = pl.read_csv(SAMPLE / "truth.csv").filter(pl.col("device").is_not_null())
    evidence = sample.frame(
        """SELECT host, device FROM findings WHERE severity IN ('warning', 'error', 'critical')
           UNION ALL SELECT host, device FROM test_runs WHERE status IN ('fail', 'error')"""
    )
    named = canonical(evidence, sample_aliases).group_by("host").agg(pl.col("device").unique())
    missed = truth.join(named, on="host", how="left").filter(
        ~pl.col("device_right").list.contains(pl.col("device")).fill_null(False)
    )
    # gpu_thermal shows in measurements only (clocks and temperatures), not in findings or failed runs.
    assert missed.select("host", "fault").rows() == [("node0021", "gpu_thermal")]
    # Every HCA and PCIe port alias resolved, and no GPU index is left in the evidence.
    assert sample_aliases.filter(pl.col("device").is_null()).rows() == []
    leftovers = canonical(evidence, sample_aliases).filter(pl.col("device").str.contains(r"^(gpu\d+|ib\d+|mlx5_\d+)$"))
    assert leftovers.rows() == []


# -- real data ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    realdata = Path(__file__).resolve().parents[2].parent / "shared" / "realdata"
    if not realdata.is_dir():
        pytest.skip("../shared/realdata is not present")
    with Store.open(tmp_path_factory.mktemp("real") / "triage.duckdb") as store:
        ingest(store, [str(realdata)])
        analyze(store, load_rules())
        yield store


def test_realdata_maps_nothing_absurd(realdata: Path, real_store: Store) -> None:
    aliases = device_aliases(real_store)
    assert aliases.height == aliases.select("host", "alias").n_unique()
    assert set(aliases["kind"]) <= {"gpu", "hca", "nvswitch", "pcie_port"}
    pci = r"^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$"
    shapes = {"gpu": pci, "nvswitch": pci, "hca": rf"{pci}|^mlx5_\w+/\d+$", "pcie_port": rf"{pci}|^mlx5_\w+/\d+$"}
    for kind, shape in shapes.items():
        mapped = aliases.filter((pl.col("kind") == kind) & pl.col("device").is_not_null())
        assert mapped.filter(~pl.col("device").str.contains(shape)).rows() == []
    # The folders mix machines (a host per folder): nothing ties their indexes, netdevs or mlx5 functions.
    assert aliases.filter(pl.col("alias").str.contains(r"^gpu\d+$") & pl.col("device").is_not_null()).rows() == []
    assert aliases.filter(pl.col("host") == "aznhc").rows() == [
        ("aznhc", "ib6", None, "hca", "netdev not tied to an hca")
    ]
    kernel_hcas = aliases.filter((pl.col("host") == "kernel_logs") & (pl.col("kind") == "hca"))
    assert kernel_hcas.height == 13
    assert kernel_hcas.filter(pl.col("alias") != pl.col("device")).rows() == []


def test_realdata_probe_order_matches_the_ca_types(realdata: Path, tmp_path: Path) -> None:
    """A real H100 boot log and the same project's H100 ibstat: mlx5_N in ascending PCI order.

    The dmesg probes ConnectX-7 (firmware 28.x) and ConnectX-6 Dx (22.x) functions; the ibstat lists
    which CAs are which. Every function must land on a CA of its own firmware family.
    """
    with Store.open(tmp_path / "h100.duckdb") as store:
        paths = [
            realdata / "kernel_logs" / "gpud" / "dmesg.decode.iso.log.1",
            realdata / "infiniband" / "ibstat_gpud" / "ibstat.47.0.h100.all.active.0",
        ]
        ingest(store, [str(p) for p in paths], IngestOptions(host="h100"))
        analyze(store, load_rules())
        interfaces = ["ibp26s0", "ibp77s0", "bootnet", "enp27s0f0np0", "ib0"]
        Host(store, "h100").measure(interfaces, "nhc", "link_flaps", [1.0] * len(interfaces))
        aliases = device_aliases(store)
        firmware = store.frame(
            "SELECT DISTINCT message FROM events WHERE message LIKE 'mlx5_core %: firmware version: %'"
        )["message"].to_list()
        family = {re.search(r"mlx5_core (\S+):", line)[1]: re.search(r"version: (\d+)\.", line)[1] for line in firmware}
        ca_family = dict(
            store.frame("SELECT DISTINCT device, split_part(firmware, '.', 1) FROM assets WHERE kind = 'hca'").rows()
        )
    by_pci = aliases.filter(pl.col("how") == "probe order").select("alias", "device").rows()
    assert len(by_pci) == len(family) == 12
    assert [(pci, ca_family[device]) for pci, device in by_pci] == [(pci, family[pci]) for pci, _ in by_pci]
    assert sorted(ca for _, ca in by_pci if ca_family[ca] == "22") == ["mlx5_1/1", "mlx5_2/1", "mlx5_7/1", "mlx5_8/1"]
    netdevs = aliases.filter(pl.col("alias").is_in(interfaces)).sort("alias").select("alias", "device", "how").rows()
    assert netdevs == [
        ("bootnet", "mlx5_1/1", "renamed line + probe order"),
        ("enp27s0f0np0", "mlx5_1/1", "renamed line + probe order"),
        ("ib0", None, "netdev not tied to an hca"),  # every IPoIB port was `ib0` before udev renamed it
        ("ibp26s0", "mlx5_0/1", "renamed line + probe order"),
        ("ibp77s0", "mlx5_4/1", "renamed line + probe order"),
    ]
