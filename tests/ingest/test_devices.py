"""GPUs named by index (`gpu3`) get the PCI address the same host's inventory gives GPU 3."""

from __future__ import annotations

import polars as pl

from triage.ingest.devices import resolve_gpu_indexes
from triage.store import Store


def seed(store: Store, devices: list[tuple[str, str]], gpus: list[tuple[str, int, str]]) -> None:
    with store.transaction():
        store.append(
            "measurements",
            pl.DataFrame(
                {
                    "host": [h for h, _ in devices],
                    "device": [d for _, d in devices],
                    "test": "t",
                    "metric": "m",
                    "value": 1.0,
                }
            ),
        )
        store.append(
            "assets",
            pl.DataFrame(
                {
                    "host": [h for h, _, _ in gpus],
                    "kind": "gpu",
                    "device": [b for _, _, b in gpus],
                    "index": [i for _, i, _ in gpus],
                    "pci_bdf": [b for _, _, b in gpus],
                }
            ),
        )


def test_indexes_and_pairs_resolve_per_host(store: Store) -> None:
    seed(
        store,
        [("a", "gpu0"), ("a", "gpu0->gpu1"), ("a", "gpu2"), ("b", "gpu0"), ("a", "mlx5_0/1"), ("a", "gpu10")],
        [("a", 0, "0000:07:00.0"), ("a", 1, "0000:0f:00.0")],
    )
    assert resolve_gpu_indexes(store, ["a", "b"]) == 2
    assert store.frame("SELECT host, device FROM measurements").rows() == [
        ("a", "0000:07:00.0"),
        ("a", "0000:07:00.0->0000:0f:00.0"),
        ("a", "gpu2"),  # no inventory line for GPU 2
        ("b", "gpu0"),  # another host's inventory does not count
        ("a", "mlx5_0/1"),
        ("a", "gpu10"),  # gpu1 is not a prefix match of gpu10
    ]


def test_conflicting_inventories_leave_the_index(store: Store) -> None:
    seed(store, [("a", "gpu0")], [("a", 0, "0000:07:00.0"), ("a", 0, "0000:08:00.0")])
    assert resolve_gpu_indexes(store, ["a"]) == 0
    assert store.frame("SELECT device FROM measurements").rows() == [("gpu0",)]


def test_only_named_hosts_are_touched(store: Store) -> None:
    seed(store, [("a", "gpu0")], [("a", 0, "0000:07:00.0")])
    assert resolve_gpu_indexes(store, ["b"]) == 0
    assert resolve_gpu_indexes(store, []) == 0
    assert store.frame("SELECT device FROM measurements").rows() == [("gpu0",)]


def test_assets_named_by_index_resolve_too(store: Store) -> None:
    seed(store, [], [("a", 0, "0000:07:00.0")])
    with store.transaction():
        store.append(
            "assets",
            pl.DataFrame({"host": ["a"], "kind": ["gpu"], "device": ["gpu0"], "index": [0], "serial": ["1650"]}),
        )
    assert resolve_gpu_indexes(store, ["a"]) == 1
    assert store.frame("SELECT device, pci_bdf, serial FROM assets ORDER BY serial NULLS FIRST").rows() == [
        ("0000:07:00.0", "0000:07:00.0", None),
        ("0000:07:00.0", None, "1650"),
    ]
