"""`nvidia-smi nvlink` link status (`-s` / `--status`) and error counters (`-e` / `--errorcounters`).

Layouts (`files.format`): `status` when the file holds link speeds only, else `errors`; the reading is
the same. Each `GPU i: <name> (UUID: GPU-...)` line opens the GPU's links; its lines are

  Link 3: 26.562 GB/s                  an active link and its speed (status)
  Link 3: <inactive>                   an inactive link (status)
  Link 3: Replay Errors: 0             one error counter of the link (errors)
  NVML: Unable to retrieve NVLink information as all links are inactive

Measurements (test `nvlink`, device = `gpu_ref(i)`, resolved to the PCI address by the ingest):
  nvlink_speed          GB/s   params {"link": N}
  nvlink_active         bool   params {"link": N}
  nvlink_active_links   count  per GPU, the links the status listed as active (0 when NVML says
                               all links are inactive)
  nvlink_<counter>      count  params {"link": N}, ts = the file's modification time (the output has
                               no clock); the counter name as printed, snake-cased:
                               nvlink_replay_errors, nvlink_recovery_errors, nvlink_crc_errors
                               (newer drivers), nvlink_crc_flit_errors, nvlink_crc_data_errors, ...
No assets: the output names a GPU only by index and UUID. Link lines before any `GPU i:` line
cannot be attributed and make the file an error.
"""

from __future__ import annotations

import re
from datetime import datetime

from triage.sources.base import ParseContext, Parser, Sniffed
from triage.sources.document import DocumentSource
from triage.sources.records import COUNT, FLAG, GBPS, Malformed, Records, gpu_ref

KIND = "nvlink"
TEST = "nvlink"

_GPU = re.compile(r"^GPU (\d+): \S")
_LINK = re.compile(r"^\s*Link (\d+): (.*?)\s*$")
_SPEED = re.compile(r"^(\d+(?:\.\d+)?) GB/s$")
_COUNTER = re.compile(r"^([A-Za-z][A-Za-z0-9 ()/_-]*?):\s*(\d+)$")
_ALL_INACTIVE = re.compile(r"NVML: Unable to retrieve NVLink information as all links are inactive", re.IGNORECASE)


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """A `GPU i: <name>` line followed by `Link N: ...` lines or NVML's all-links-inactive message."""
    lines = [line for line in sample if line.strip()]
    for i, line in enumerate(lines[:-1]):
        if not _GPU.match(line):
            continue
        following = lines[i + 1]
        if _ALL_INACTIVE.search(following):
            return Sniffed(KIND, "status")
        link = _LINK.match(following)
        if link:
            return Sniffed(KIND, "errors" if _COUNTER.match(link.group(2)) else "status")
    return None


def read_nvlink(lines: list[str], records: Records, ts: datetime | None = None) -> None:
    """Add the link speeds, states and error counters of `nvidia-smi nvlink -s` / `-e` output.

    The output carries no clock: the error counters are dated `ts` (the file's modification
    time), so two snapshots of the same links can be told apart and ordered.
    """
    gpu: int | None = None
    gpu_line = 0
    active: int | None = None  # active links of the current GPU, once a status line was seen

    def close() -> None:
        if gpu is not None and active is not None:
            records.measure(gpu_ref(gpu), TEST, "nvlink_active_links", active, COUNT, gpu_line)

    for line_no, line in enumerate(lines, 1):
        if m := _GPU.match(line):
            close()
            gpu, gpu_line, active = int(m.group(1)), line_no, None
        elif _ALL_INACTIVE.search(line):
            if gpu is None:
                raise Malformed(line_no, "NVLink message before any 'GPU N:' line")
            active = 0
        elif m := _LINK.match(line):
            if gpu is None:
                raise Malformed(line_no, "link line before any 'GPU N:' line names its GPU")
            state = _link(gpu, int(m.group(1)), m.group(2), line_no, records, ts)
            if state is not None:
                active = (active or 0) + state
    close()


def _link(gpu: int, link: int, text: str, line_no: int, records: Records, ts: datetime | None) -> int | None:
    """Record one `Link N: ...` line; 1 or 0 for an active or inactive status line, None for a counter."""
    device, params = gpu_ref(gpu), {"link": link}
    if speed := _SPEED.match(text):
        records.measure(device, TEST, "nvlink_speed", float(speed.group(1)), GBPS, line_no, params=params)
        records.measure(device, TEST, "nvlink_active", 1, FLAG, line_no, params=params)
        return 1
    if text.lower() == "<inactive>":
        records.measure(device, TEST, "nvlink_active", 0, FLAG, line_no, params=params)
        return 0
    if counter := _COUNTER.match(text):
        metric = "nvlink_" + re.sub(r"[^a-z0-9]+", "_", counter.group(1).lower()).strip("_")
        records.measure(device, TEST, metric, float(counter.group(2)), COUNT, line_no, params=params, ts=ts)
    return None


class NvlinkSource(DocumentSource):
    """Reads one `nvidia-smi nvlink` output whole."""

    KIND = KIND

    def read(self, lines: list[str], records: Records) -> None:
        """Add the output's link measurements; raise `Malformed` for links that name no GPU."""
        read_nvlink(lines, records, self.ctx.reference)


def parser(sniffed: Sniffed, ctx: ParseContext) -> Parser:
    """A parser for one `nvidia-smi nvlink` output."""
    return NvlinkSource(ctx, sniffed.format)
