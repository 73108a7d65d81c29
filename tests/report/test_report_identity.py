"""Device identity: assets of several files merged per device, shaped per kind of device."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest

from triage.report.identity import guess_kind, identities, identity, merged_assets
from triage.store import Store

COLUMNS = ["host", "kind", "device", "index", "pci_bdf", "uuid", "serial", "part_number", "model", "firmware",
           "driver", "file_id", "line_no"]  # fmt: skip
FILES = [(1, "h/dmesg.log", "h", "kernel_log"), (2, "h/smi.txt", "h", "nvidia_smi"), (3, "h/nvbw.log", "h", "nvbandwidth"),
         (4, "h/ibstat.txt", "h", "ib_status")]  # fmt: skip
GPU_A, GPU_B = "0000:18:00.0", "0000:ba:00.0"


def write(store: Store, rows: list[tuple[Any, ...]]) -> Store:
    store.append("files", pl.DataFrame(FILES, schema=["file_id", "path", "host", "kind"], orient="row"))
    store.append("assets", pl.DataFrame(rows, schema=COLUMNS, orient="row", infer_schema_length=None))
    return store


ASSETS = [
    # GPU A: nvbandwidth (wrong index) came first, then the kernel log, then nvidia-smi with everything
    ("h", "gpu", GPU_A, 6, GPU_A, None, None, None, "H100", None, "550.54.15", 3, 5),
    ("h", "gpu", GPU_A, None, GPU_A, "GPU-a", "111", None, None, None, None, 1, 10),
    ("h", "gpu", GPU_A, 0, GPU_A, "GPU-a", "111", "692-A", "NVIDIA H100 80GB HBM3", "96.00", "550.54.15", 2, 1),
    # GPU B fell off the bus: nvidia-smi knows only its index and driver, the kernel log its serial and UUID
    ("h", "gpu", GPU_B, None, GPU_B, "GPU-b", "222", None, None, None, None, 1, 11),
    ("h", "gpu", GPU_B, 6, GPU_B, None, None, None, None, None, "550.54.15", 2, 40),
    ("h", "hca", "mlx5_0/1", None, None, "0xaaa1", None, None, "MT4129", "28.39.1002", None, 4, 1),
    ("h", "hca", "mlx5_1/1", None, None, "0xbbb1", None, None, "MT4129", "28.39.1002", None, 4, 20),
    ("h", "hca", "mlx5_1/2", None, None, "0xbbb2", None, None, "MT4129", "28.39.1002", None, 4, 30),
    ("h", "nvswitch", "0000:05:00.0", None, "0000:05:00.0", None, None, None, "NVSwitch", "96.10", None, 1, 50),
    ("h", "node", None, None, None, "0x0ff0", "SN-42", None, None, None, None, 4, 60),
]


def test_merged_assets_trust_nvidia_smi_and_fill_gaps_from_other_files(store: Store) -> None:
    merged = merged_assets(write(store, ASSETS)).filter(pl.col("kind") == "gpu")
    assert merged.drop("host", "kind").to_dicts() == [
        {"device": GPU_A, "index": 0, "pci_bdf": GPU_A, "uuid": "GPU-a", "serial": "111", "part_number": "692-A",
         "model": "NVIDIA H100 80GB HBM3", "firmware": "96.00", "driver": "550.54.15"},
        {"device": GPU_B, "index": 6, "pci_bdf": GPU_B, "uuid": "GPU-b", "serial": "222", "part_number": None,
         "model": None, "firmware": None, "driver": "550.54.15"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("device", "component", "expected"),
    [
        pytest.param(GPU_A, "gpu", {"index": 0, "pci_bdf": GPU_A, "serial": "111", "uuid": "GPU-a",
                                    "model": "NVIDIA H100 80GB HBM3", "part_number": "692-A", "vbios": "96.00",
                                    "driver": "550.54.15"}, id="gpu-all-fields"),
        pytest.param(GPU_B, "gpu", {"index": 6, "pci_bdf": GPU_B, "serial": "222", "uuid": "GPU-b",
                                    "driver": "550.54.15"}, id="gpu-off-the-bus-serial-from-kernel-log"),
        pytest.param("0000:3b:00.0", "gpu", {"pci_bdf": "0000:3b:00.0"}, id="gpu-without-assets"),
        pytest.param("mlx5_0/1", "cable", {"name": "mlx5_0", "port": 1, "guid": "0xaaa1", "firmware": "28.39.1002",
                                           "model": "MT4129"}, id="hca-port"),
        pytest.param("mlx5_0", "hca", {"name": "mlx5_0", "port": 1, "guid": "0xaaa1", "firmware": "28.39.1002",
                                       "model": "MT4129"}, id="hca-name-one-port"),
        pytest.param("mlx5_1", "hca", {"name": "mlx5_1", "firmware": "28.39.1002", "model": "MT4129"},
                     id="hca-name-two-ports-no-guid"),
        pytest.param("mlx5_9/1", "hca", {"name": "mlx5_9", "port": 1}, id="hca-without-assets"),
        pytest.param("0000:05:00.0", "nvswitch", {"pci_bdf": "0000:05:00.0", "model": "NVSwitch", "firmware": "96.10"},
                     id="nvswitch"),
        pytest.param("0000:06:00.0", "nvswitch", {"pci_bdf": "0000:06:00.0"}, id="nvswitch-without-assets"),
        pytest.param("CPU_SrcID#0_MC#1_Chan#0_DIMM#0", "dimm", {"slot": "CPU_SrcID#0_MC#1_Chan#0_DIMM#0"}, id="dimm"),
        pytest.param(None, "node", {"serial": "SN-42"}, id="node-serial"),
        pytest.param("0000:b7:01.0", "node", {"pci_bdf": "0000:b7:01.0"}, id="root-port"),
        pytest.param("sda", "disk", {}, id="unknown-kind"),
    ],
)  # fmt: skip
def test_identity_of_each_kind_of_device(
    store: Store, device: str | None, component: str, expected: dict[str, Any]
) -> None:
    devices = pl.DataFrame(
        {"host": ["h"], "device": [device], "component": [component]},
        schema={"host": pl.String, "device": pl.String, "component": pl.String},
    )
    assert identities(write(store, ASSETS), devices) == [expected]


def test_identities_keep_the_order_of_the_devices(store: Store) -> None:
    devices = pl.DataFrame(
        {"host": ["h", "h", "h"], "device": [GPU_B, None, GPU_A], "component": ["gpu", "node", "gpu"]}
    )
    assert [i.get("serial") for i in identities(write(store, ASSETS), devices)] == ["222", "SN-42", "111"]


@pytest.mark.parametrize(
    ("device", "component", "expected"),
    [
        pytest.param(None, "node", "node", id="node"),
        pytest.param("0000:3b:00.0", "gpu", "gpu", id="gpu"),
        pytest.param("0000:3b:00.0", "pcie", "pci", id="pci"),
        pytest.param("mlx5_2/1", "cable", "hca", id="hca-port"),
        pytest.param("ib2", "hca", "hca", id="ib-interface"),
        pytest.param("CPU_SrcID#0_MC#1_Chan#0_DIMM#0", "node", "dimm", id="edac-label"),
        pytest.param("nvme0n1", "disk", None, id="unknown"),
    ],
)
def test_guess_kind(device: str | None, component: str, expected: str | None) -> None:
    assert guess_kind(device, component) == expected


def test_identity_drops_unknown_values() -> None:
    assert identity("gpu", GPU_A, "gpu", {"index": None, "serial": "", "uuid": "GPU-a"}) == {
        "pci_bdf": GPU_A,
        "uuid": "GPU-a",
    }
