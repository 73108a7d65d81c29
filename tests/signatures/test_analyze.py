"""`analyze` over a real store: findings written, replaced on re-run, scoped by host; GPU identities."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.ingest import ingest
from triage.signatures.analyze import analyze
from triage.signatures.loader import load_rules
from triage.store import Store

DMESG = """\
[    5.100000] NVRM: GPU at PCI:0000:3b:00: GPU-a421c3d7-02b6-5ea7-80ae-ee1e697d6bfe
[    5.100100] NVRM: GPU Board Serial Number: 1650102011876
[    5.200000] NVRM: GPU at PCI:0000:5d:00: GPU-7a47eb1f-5a8c-5ddd-ad9a-a2fd8037d1b4
[    5.200100] NVRM: GPU Board Serial Number: 1650124015388
[ 4182.123456] NVRM: Xid (PCI:0000:3b:00): 48, pid=1234, name=python3, An uncorrectable double bit error (DBE)
[ 4182.123871] NVRM: Xid (PCI:0000:3b:00): 63, pid=1234, name=python3, Row Remapper: New row marked for remapping
"""


@pytest.fixture
def loaded(store: Store, inputs: Path) -> Store:
    for host in ("node017", "node018"):
        (inputs / host).mkdir()
        (inputs / host / "dmesg.log").write_text(DMESG if host == "node017" else DMESG.replace("0000:3b", "0000:9a"))
    ingest(store, [str(inputs)])
    return store


def test_findings_and_gpu_identities_land_in_the_store(loaded: Store) -> None:
    summary = analyze(loaded, load_rules())

    assert (summary.events, summary.findings, summary.gpus_identified) == (12, 4, 4)
    rows = loaded.frame("SELECT host, device, rule_id, count FROM findings ORDER BY host, rule_id").rows()
    assert rows == [
        ("node017", "0000:3b:00.0", "xid-48", 1),
        ("node017", "0000:3b:00.0", "xid-63", 1),
        ("node018", "0000:9a:00.0", "xid-48", 1),
        ("node018", "0000:9a:00.0", "xid-63", 1),
    ]
    gpus = loaded.frame("SELECT host, device, uuid, serial FROM assets WHERE host = 'node017' ORDER BY device").rows()
    assert gpus == [
        ("node017", "0000:3b:00.0", "GPU-a421c3d7-02b6-5ea7-80ae-ee1e697d6bfe", "1650102011876"),
        ("node017", "0000:5d:00.0", "GPU-7a47eb1f-5a8c-5ddd-ad9a-a2fd8037d1b4", "1650124015388"),
    ]


def test_analysis_can_run_again_and_be_scoped_to_hosts(loaded: Store) -> None:
    pack = load_rules()
    analyze(loaded, pack)
    analyze(loaded, pack)
    assert (loaded.count("findings"), loaded.count("assets")) == (4, 4)

    summary = analyze(loaded, pack, hosts=["node018"])

    assert summary.events == 6
    assert loaded.frame("SELECT host, count(*) AS n FROM findings GROUP BY host ORDER BY host").rows() == [
        ("node017", 2),
        ("node018", 2),
    ]
    assert loaded.frame("SELECT count(DISTINCT finding_id) AS n FROM findings")["n"].item() == 4
