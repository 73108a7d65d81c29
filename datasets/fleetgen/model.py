"""What a generated node is: its parts, its file formats, its timeline, its faults and noise."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Gpu:
    """One GPU of the HGX baseboard."""

    index: int
    bdf: str  # 0000:18:00.0
    serial: str  # 13 digits, as nvidia-smi and the driver print it
    uuid: str  # GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx
    module_id: int  # 1-8
    root_port: str  # the PCIe switch downstream port above it, 0000:17:01.0


@dataclass(frozen=True)
class Hca:
    """One InfiniBand port (ConnectX-7, one port per HCA)."""

    index: int
    name: str  # mlx5_0
    port: int  # 1
    bdf: str  # 0000:1a:00.0
    netdev: str  # ib0
    node_guid: str  # 0x... (16 hex digits)
    port_guid: str
    lid: int

    @property
    def device(self) -> str:
        """triage's name of the port: `mlx5_0/1`."""
        return f"{self.name}/{self.port}"


@dataclass(frozen=True)
class NvSwitch:
    """One NVSwitch of the baseboard."""

    index: int
    bdf: str  # 0000:05:00.0


@dataclass(frozen=True)
class Dimm:
    """One DIMM as EDAC names it."""

    label: str  # CPU_SrcID#0_MC#0_Chan#1_DIMM#0
    mc: int
    channel: int
    slot: int
    socket: int


@dataclass(frozen=True)
class Fault:
    """One injected fault: its kind, the part it hits and the verdict it should get."""

    kind: str
    target: Gpu | Hca | NvSwitch | Dimm | None  # None: the node itself
    root_cause: str
    action: str

    @property
    def device(self) -> str:
        """The device column of truth.csv: triage's name of the part, empty for the node."""
        if isinstance(self.target, Gpu | NvSwitch):
            return self.target.bdf
        if isinstance(self.target, Hca):
            return self.target.device
        if isinstance(self.target, Dimm):
            return self.target.label
        return ""


@dataclass(frozen=True)
class Timeline:
    """When things happen on the node (UTC): boot, then the burn-in steps in order."""

    boot: datetime
    ib_before: datetime
    dcgm: datetime
    nccl: datetime
    hpl: datetime
    nvbandwidth: datetime
    ib_after: datetime
    collected: datetime  # when the bundle was gathered (nvidia-smi, ibstat, logs)

    @classmethod
    def starting(cls, boot: datetime) -> Timeline:
        """The fixed burn-in sequence after `boot`."""
        at = boot + timedelta(minutes=6)
        return cls(
            boot=boot,
            ib_before=at,
            dcgm=at + timedelta(minutes=2),
            nccl=at + timedelta(minutes=20),
            hpl=at + timedelta(minutes=30),
            nvbandwidth=at + timedelta(minutes=55),
            ib_after=at + timedelta(minutes=70),
            collected=at + timedelta(minutes=72),
        )


@dataclass
class Node:
    """One generated node: parts, formats of its files, timeline, faults and benign noise."""

    host: str
    seed: int
    gpus: list[Gpu]
    hcas: list[Hca]
    nvswitches: list[NvSwitch]
    dimms: list[Dimm]
    driver: str
    cuda: str
    timeline: Timeline
    formats: dict[str, str]  # artifact -> layout, e.g. {"kernel": "syslog", "nvidia_smi": "xml"}
    faults: list[Fault] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)  # benign noise kinds (hard negatives)

    def faults_of(self, *kinds: str) -> list[Fault]:
        """The node's faults of these kinds."""
        return [f for f in self.faults if f.kind in kinds]

    def has_noise(self, kind: str) -> bool:
        """Whether the node got this kind of benign noise."""
        return kind in self.noise

    def rng(self, artifact: str) -> random.Random:
        """A generator of its own for one artifact of this node: files do not depend on each other's draws."""
        digest = hashlib.sha256(f"{self.seed}:{self.host}:{artifact}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))

    def gpu_at(self, bdf: str) -> Gpu:
        """The GPU at a PCI address."""
        return next(g for g in self.gpus if g.bdf == bdf)
