"""The fleet plan: seeded, covers every fault kind, follows the published mix, truth consistent with the parts."""

from __future__ import annotations

from collections import Counter

import pytest
from fleetgen.faults import BY_NAME, CHAINS, KINDS, NOISE
from fleetgen.model import Dimm, Gpu, Hca, NvSwitch
from fleetgen.plan import plan_fleet


def summary(hosts: int, seed: int, rate: float = 0.4) -> list[tuple]:
    return [(n.host, n.formats, [(f.kind, f.device) for f in n.faults], n.noise) for n in plan_fleet(hosts, seed, rate)]


def test_same_seed_same_plan_and_other_seed_another() -> None:
    assert summary(50, 3) == summary(50, 3)
    assert summary(50, 3) != summary(50, 4)


def test_every_kind_appears_once_the_fleet_has_room() -> None:
    nodes = plan_fleet(24, 11, fault_rate=0.6)
    kinds = {f.kind for n in nodes for f in n.faults}
    assert kinds == set(BY_NAME)
    assert sum(1 for n in nodes if n.faults) == 14


def test_large_fleet_follows_the_published_mix() -> None:
    nodes = plan_fleet(4000, 5)
    faults = [f.kind for n in nodes for f in n.faults]
    counts = Counter(faults)
    total = sum(k.weight for k in KINDS)
    for kind in KINDS:
        assert counts[kind.name] / len(faults) == pytest.approx(kind.weight / total, abs=0.02), kind.name
    assert sum(1 for n in nodes if n.faults) == 1600
    assert sum(1 for n in nodes if len(n.faults) == 2) / 1600 == pytest.approx(0.1 * 0.84, abs=0.03)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_faults_sit_on_parts_the_node_has(seed: int) -> None:
    for node in plan_fleet(200, seed):
        parts = {*node.gpus, *node.hcas, *node.nvswitches, *node.dimms, None}
        devices = [f.device for f in node.faults]
        assert len(devices) == len(set(devices))  # two faults never share a part
        for fault in node.faults:
            kind = BY_NAME[fault.kind]
            assert fault.target in parts
            assert (fault.root_cause, fault.action) == (kind.root_cause, kind.action)
            expected = {"gpu": Gpu, "hca": Hca, "nvswitch": NvSwitch, "dimm": Dimm, "node": type(None)}[kind.target]
            assert isinstance(fault.target, expected)


@pytest.mark.parametrize(
    ("target", "device"),
    [
        pytest.param("gpu", "0000:18:00.0", id="gpu-by-pci-address"),
        pytest.param("hca", "mlx5_0/1", id="hca-port"),
        pytest.param("nvswitch", "0000:05:00.0", id="nvswitch-by-pci-address"),
        pytest.param("dimm", "CPU_SrcID#0_MC#0_Chan#0_DIMM#0", id="dimm-by-edac-label"),
    ],
)
def test_truth_devices_use_triage_names(target: str, device: str) -> None:
    from fleetgen.model import Fault

    node = plan_fleet(1, 1)[0]
    part = {"gpu": node.gpus, "hca": node.hcas, "nvswitch": node.nvswitches, "dimm": node.dimms}[target][0]
    assert Fault("x", part, "unknown", "investigate").device == device


def test_every_kind_documents_its_chain_and_noise_is_known() -> None:
    assert set(CHAINS) == set(BY_NAME)
    nodes = plan_fleet(100, 2)
    assert {kind for n in nodes for kind in n.noise} <= set(NOISE)
    assert any(not n.noise for n in nodes) and any(len(n.noise) == 3 for n in nodes)


def test_identities_are_unique_across_the_fleet() -> None:
    nodes = plan_fleet(300, 9)
    serials = [g.serial for n in nodes for g in n.gpus]
    guids = [h.node_guid for n in nodes for h in n.hcas]
    lids = [h.lid for n in nodes for h in n.hcas]
    assert len(set(serials)) == len(serials) and len(set(guids)) == len(guids) and len(set(lids)) == len(lids)
