"""`nvidia-smi nvlink` outputs for the parse benchmark: link status and error counters of 8 x H100.

Per node: `nvlink-status.txt` (`nvidia-smi nvlink -s`, 8 GPUs x 18 links at 26.562 GB/s, now and then
an `<inactive>` link) and `nvlink-errors.txt` (`nvidia-smi nvlink -e`, replay, recovery and CRC
counters of every link, mostly zero). `scale` multiplies the nodes.
"""

from __future__ import annotations

import random

NODES_PER_SCALE = 32
GPUS = 8
LINKS = 18


def make(scale: int = 1) -> list[tuple[str, bytes]]:
    """Files (name, content) for `NODES_PER_SCALE * scale` nodes; deterministic."""
    files = []
    for node in range(NODES_PER_SCALE * scale):
        rng = random.Random(node)
        uuids = [_uuid(rng) for _ in range(GPUS)]
        host = f"gpu-node{node:04d}"
        files.append((f"{host}/nvlink-status.txt", _status(rng, uuids).encode()))
        files.append((f"{host}/nvlink-errors.txt", _errors(rng, uuids).encode()))
    return files


def _uuid(rng: random.Random) -> str:
    parts = (rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(16), rng.getrandbits(16), rng.getrandbits(48))
    return "GPU-{:08x}-{:04x}-{:04x}-{:04x}-{:012x}".format(*parts)


def _status(rng: random.Random, uuids: list[str]) -> str:
    lines = []
    for gpu, uuid in enumerate(uuids):
        lines.append(f"GPU {gpu}: NVIDIA H100 80GB HBM3 (UUID: {uuid})")
        for link in range(LINKS):
            state = "<inactive>" if rng.random() < 0.005 else "26.562 GB/s"
            lines.append(f"\t Link {link}: {state}")
    return "\n".join(lines) + "\n"


def _errors(rng: random.Random, uuids: list[str]) -> str:
    lines = []
    for gpu, uuid in enumerate(uuids):
        lines.append(f"GPU {gpu}: NVIDIA H100 80GB HBM3 (UUID: {uuid})")
        for link in range(LINKS):
            noisy = rng.random() < 0.02
            replay = rng.randint(1, 400) if noisy else 0
            crc = rng.randint(1, 9000) if noisy else 0
            lines += [
                f"\t Link {link}: Replay Errors: {replay}",
                f"\t Link {link}: Recovery Errors: {1 if noisy and rng.random() < 0.3 else 0}",
                f"\t Link {link}: CRC Errors: {crc}",
            ]
    return "\n".join(lines) + "\n"
