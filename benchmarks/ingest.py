"""Ingest throughput: `triage ingest` against `grep -F` and a plain-Python regex loop over the same kernel log.

    python benchmarks/ingest.py --mb 200 [--format dmesg|dmesg_iso|syslog] [--keep] [--json]
    python benchmarks/ingest.py --help-time          # wall time of `triage --help`, best of 5

Steps (generation is not timed):
  1. write `--mb` MB of seeded, realistic kernel log in the chosen layout to a temp dir: mostly benign
     kernel chatter, ~1% interesting lines (NVIDIA Xid/SXid, PCIe AER, mlx5 health and port events,
     EDAC/MCE), monotonic timestamps;
  2. time `triage ingest FILE --db TMP/bench.duckdb` end to end as a subprocess, with its peak RSS;
  3. time `grep -c -F -f KEYWORDS FILE` (the cheapest prefilter anyone would write);
  4. time a plain-Python loop that matches one compiled `re` per line and collects the fields triage
     extracts for that layout (time, uptime, priority, host/ident, message) into lists.
Each measured command runs in its own child process, started through GNU time when present so that
its peak RSS (`%M`) and CPU time are its own (else `os.wait4`'s ru_maxrss, an upper bound). Seconds
are wall time end to end, start-up included, except for the Python loop, timed inside its child.
MB means 10**6 bytes. The table also prints `triage --help` wall time (best of 5).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

FORMATS = ("dmesg", "dmesg_iso", "syslog")
MB = 1_000_000
CHUNK_LINES = 100_000
MEAN_GAP_S = 0.02  # mean time between two lines
INTERESTING_SHARE = 0.01
POOL_SIZE = 40_000  # distinct benign messages alive at any time
POOL_REFRESH = 4_000  # benign messages replaced after every chunk
BOOT = datetime(2026, 11, 16, 6, 0, 0)  # naive UTC
HOST = "gpu-node-017"
KEYWORDS = [
    "NVRM",
    "Xid",
    "SXid",
    "AER",
    "PCIe Bus Error",
    "mlx5",
    "EDAC",
    "mce",
    "Machine check",
    "Hardware Error",
    "fallen off the bus",
    "NVLink",
    "GSP",
    "lost carrier",
]
GPU_BUSES = ["18", "2a", "3a", "5d", "9a", "ab", "ba", "db"]
NIC_BUSES = ["1a", "3c", "4d", "5e", "9c", "bc", "cc", "dc"]


# =============================================================================== generation
class Messages:
    """Renders kernel messages (no time prefix) from templates with a seeded numpy generator."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.benign: list[Callable[[], str]] = [
            self._veth_state,
            self._veth_promisc,
            self._addrconf,
            self._audit,
            self._loop_capacity,
            self._usb,
            self._ext4,
            self._xfs,
            self._nvme,
            self._perf,
            self._hrtimer,
            self._oom_cgroup,
            self._tcp,
            self._nfs,
            self._ipvs,
            self._kauditd,
            self._sched,
            self._ata,
            self._scsi,
            self._bridge,
            self._nf_conntrack,
            self._process_exit,
        ]
        self.interesting: list[Callable[[], str]] = [
            self._xid,
            self._xid,
            self._xid,
            self._sxid,
            self._aer_corrected,
            self._aer_uncorrected,
            self._mlx5_health,
            self._mlx5_port,
            self._edac,
            self._mce,
            self._fallen_off,
        ]

    # -- helpers ------------------------------------------------------------------------
    def _int(self, lo: int, hi: int) -> int:
        return int(self.rng.integers(lo, hi))

    def _pick(self, items: Sequence[str]) -> str:
        return items[self._int(0, len(items))]

    def _hex(self, digits: int) -> str:
        return f"{self._int(0, 16**digits):0{digits}x}"

    def _veth(self) -> str:
        return "veth" + self._hex(7)

    def _pid(self) -> int:
        return self._int(300, 4_000_000)

    def _gpu(self) -> str:
        return self._pick(GPU_BUSES)

    def _nic(self) -> str:
        return f"0000:{self._pick(NIC_BUSES)}:00.{self._int(0, 2)}"

    # -- benign -------------------------------------------------------------------------
    def _veth_state(self) -> str:
        state = self._pick(["blocking", "forwarding", "disabled"])
        return f"docker0: port {self._int(1, 64)}({self._veth()}) entered {state} state"

    def _veth_promisc(self) -> str:
        return f"device {self._veth()} {self._pick(['entered', 'left'])} promiscuous mode"

    def _addrconf(self) -> str:
        return f"IPv6: ADDRCONF(NETDEV_CHANGE): {self._pick(['cali', 'veth'])}{self._hex(11)}: link becomes ready"

    def _audit(self) -> str:
        return (
            f"audit: type=1400 audit({1795000000 + self._int(0, 900000)}.{self._int(0, 1000):03d}:"
            f"{self._int(100, 99999)}): "
            f'apparmor="STATUS" operation="profile_replace" profile="unconfined" name="docker-default" '
            f'pid={self._pid()} comm="apparmor_parser"'
        )

    def _loop_capacity(self) -> str:
        return f"loop{self._int(0, 64)}: detected capacity change from 0 to {self._int(8, 2_000_000)}"

    def _usb(self) -> str:
        bus, port = self._int(1, 4), self._int(1, 9)
        return self._pick(
            [
                f"usb {bus}-{port}: new high-speed USB device number {self._int(2, 127)} using xhci_hcd",
                f"usb {bus}-{port}: USB disconnect, device number {self._int(2, 127)}",
                f"usb {bus}-{port}: New USB device found, idVendor=046b, idProduct=ff{self._hex(2)}, bcdDevice= 1.00",
            ]
        )

    def _ext4(self) -> str:
        dev = f"nvme{self._int(0, 8)}n1p{self._int(1, 4)}"
        return self._pick(
            [
                f"EXT4-fs ({dev}): mounted filesystem with ordered data mode. Opts: (null). Quota mode: none.",
                f"EXT4-fs ({dev}): unmounting filesystem.",
                f"EXT4-fs ({dev}): re-mounted. Opts: errors=remount-ro. Quota mode: none.",
            ]
        )

    def _xfs(self) -> str:
        dev = f"md{self._int(0, 4)}"
        return self._pick([f"XFS ({dev}): Mounting V5 Filesystem", f"XFS ({dev}): Ending clean mount"])

    def _nvme(self) -> str:
        return f"nvme nvme{self._int(0, 8)}: {self._int(8, 128)}/0/0 default/read/poll queues"

    def _perf(self) -> str:
        took = self._int(2501, 9000)
        return (
            f"perf: interrupt took too long ({took} > {took - self._int(1, 400)}), lowering "
            f"kernel.perf_event_max_sample_rate to {self._int(20000, 80000)}"
        )

    def _hrtimer(self) -> str:
        return f"hrtimer: interrupt took {self._int(10_000, 900_000)} ns"

    def _oom_cgroup(self) -> str:
        return (
            f"Memory cgroup out of memory: Killed process {self._pid()} (python3) "
            f"total-vm:{self._int(10**6, 10**8)}kB, anon-rss:{self._int(10**5, 10**7)}kB, "
            f"file-rss:{self._int(0, 10**5)}kB, shmem-rss:0kB, UID:{self._int(1000, 60000)} "
            f"pgtables:{self._int(1000, 90000)}kB oom_score_adj:{self._int(-999, 1000)}"
        )

    def _tcp(self) -> str:
        return f"TCP: request_sock_TCP: Possible SYN flooding on port {self._int(1024, 65535)}. Sending cookies."

    def _nfs(self) -> str:
        ip = f"10.{self._int(0, 255)}.{self._int(0, 255)}.{self._int(1, 255)}"
        return self._pick([f"nfs: server {ip} not responding, still trying", f"nfs: server {ip} OK"])

    def _ipvs(self) -> str:
        return f"IPVS: rr: TCP 10.96.{self._int(0, 255)}.{self._int(1, 255)}:443 - no destination available"

    def _kauditd(self) -> str:
        return f"kauditd_printk_skb: {self._int(1, 200)} callbacks suppressed"

    def _sched(self) -> str:
        return f"sched: RT throttling activated for cpu {self._int(0, 224)}"

    def _ata(self) -> str:
        return f"ata{self._int(1, 32)}: SATA link down (SStatus 0 SControl 300)"

    def _scsi(self) -> str:
        disk = f"sd{chr(97 + self._int(0, 16))}"
        return f"sd {self._int(0, 16)}:0:0:0: [{disk}] Synchronize Cache(10) failed: Result: hostbyte=DID_OK"

    def _bridge(self) -> str:
        return f"br-{self._hex(12)}: port {self._int(1, 16)}({self._veth()}) entered disabled state"

    def _nf_conntrack(self) -> str:
        return "nf_conntrack: nf_conntrack: table full, dropping packet"

    def _process_exit(self) -> str:
        return (
            f"python3[{self._pid()}]: segfault at {self._hex(4)} ip 00007f{self._hex(10)} sp 00007ffd{self._hex(8)} "
            f"error {self._int(4, 7)} in libc.so.6[7f{self._hex(10)}+195000]"
        )

    # -- interesting ----------------------------------------------------------------------
    def _xid(self) -> str:
        bdf = f"PCI:0000:{self._gpu()}:00"
        who = self._pick([f"pid={self._pid()}, name=python3", "pid='<unknown>', name=<unknown>"])
        texts: dict[str, Callable[[], str]] = {
            "13": lambda: (
                f"Graphics SM Warp Exception on (GPC {self._int(0, 8)}, TPC {self._int(0, 9)}, "
                f"SM {self._int(0, 2)}): Out Of Range Address"
            ),
            "31": lambda: (
                f"channel 0x{self._hex(8)}, intr 00000000. MMU Fault: ENGINE GRAPHICS "
                f"GPCCLIENT_T1_{self._int(0, 16)} faulted @ 0x7f{self._hex(2)}_{self._hex(8)}. "
                "Fault is of type FAULT_PDE ACCESS_TYPE_VIRT_READ"
            ),
            "43": lambda: f"Ch 000000{self._hex(2)}, engmask 00000101",
            "45": lambda: f"Ch 000000{self._hex(2)}",
            "48": lambda: (
                "An uncorrectable double bit error (DBE) has been detected on GPU in the framebuffer at "
                f"partition {self._int(0, 8)}, subpartition {self._int(0, 2)}."
            ),
            "61": lambda: f"Internal micro-controller breakpoint/warning (0x{self._hex(4)})",
            "62": lambda: f"Internal micro-controller halt (0x{self._hex(4)})",
            "63": lambda: "Row Remapper: New row marked for remapping, reset gpu to activate.",
            "64": lambda: "Row Remapper: Failed to remap row.",
            "74": lambda: (
                f"NVLink: fatal error detected on link {self._int(0, 18)}"
                f"(0x0, 0x0, 0x{self._hex(5)}, 0x0, 0x0, 0x0, 0x0)"
            ),
            "79": lambda: "GPU has fallen off the bus.",
            "92": lambda: "High single-bit ECC error rate detected.",
            "94": lambda: f"Contained: SM (0x{self._int(1, 9)}). RST: No, D-RST: No",
            "95": lambda: "Uncontained: FBHUB. RST: Yes, D-RST: No",
            "119": lambda: (
                f"Timeout after 6s of waiting for RPC response from GPU{self._int(0, 8)} GSP! Expected "
                f"function 76 (GSP_RM_CONTROL) (0x2080{self._hex(4)} 0x4)."
            ),
        }
        code = self._pick(list(texts))
        text = texts[code]()
        return f"NVRM: Xid ({bdf}): {code}, {who}, {text}"

    def _sxid(self) -> str:
        return (
            f"nvidia-nvswitch{self._int(0, 4)}: SXid (PCI:0000:0{self._int(5, 9)}:00.0): "
            f"{self._pick(['20034', '12028', '19084', '22013'])}, {self._pick(['Fatal', 'Non-fatal'])}, "
            f"Link {self._int(0, 64)} LTSSM Fault Up"
        )

    def _aer_corrected(self) -> str:
        gpu = self._gpu()
        port = f"0000:{int(gpu, 16) - 3:02x}:01.0"
        return self._pick(
            [
                f"pcieport {port}: AER: Corrected error received: 0000:{gpu}:00.0",
                f"nvidia 0000:{gpu}:00.0: PCIe Bus Error: severity=Corrected, type=Physical Layer, (Receiver ID)",
                f"nvidia 0000:{gpu}:00.0:   device [10de:2330] error status/mask=00000001/0000e000",
            ]
        )

    def _aer_uncorrected(self) -> str:
        gpu = self._gpu()
        port = f"0000:{int(gpu, 16) - 3:02x}:01.0"
        return self._pick(
            [
                f"pcieport {port}: AER: Uncorrected (Non-Fatal) error received: 0000:{gpu}:00.0",
                f"pcieport {port}: AER: Uncorrected (Fatal) error received: 0000:{gpu}:00.0",
                f"nvidia 0000:{gpu}:00.0: PCIe Bus Error: severity=Uncorrected (Fatal), type=Transaction Layer, "
                "(Receiver ID)",
            ]
        )

    def _mlx5_health(self) -> str:
        nic = self._nic()
        return self._pick(
            [
                f"mlx5_core {nic}: poll_health:{self._int(700, 900)}:(pid 0): device's health compromised - "
                "reached miss count",
                f"mlx5_core {nic}: cmd_work_handler:{self._int(800, 1000)}:(pid {self._pid()}): "
                "ACCESS_REG(0x805) timeout. Will cause a leak of a command resource",
                f"mlx5_core {nic}: mlx5e_tx_timeout_work:{self._int(100, 200)}:(pid {self._pid()}): "
                f"TX timeout detected",
            ]
        )

    def _mlx5_port(self) -> str:
        nic, module = self._nic(), self._int(0, 8)
        return self._pick(
            [
                f"mlx5_core {nic}: Port module event: module {module}, Cable unplugged",
                f"mlx5_core {nic}: Port module event: module {module}, Cable plugged",
                f"mlx5_core {nic}: Port module event[error]: module {module}, Cable error, High Temperature",
            ]
        )

    def _edac(self) -> str:
        return (
            f"EDAC MC{self._int(0, 8)}: 1 CE memory read error on CPU_SrcID#{self._int(0, 2)}_MC#{self._int(0, 4)}_"
            f"Chan#{self._int(0, 2)}_DIMM#0 (channel:{self._int(0, 2)} slot:0 page:0x{self._hex(6)} offset:0x0 "
            f"grain:32 syndrome:0x0 - err_code:0x0000:0x009f socket:{self._int(0, 2)} imc:{self._int(0, 4)} "
            f"rank:{self._int(0, 2)} bg:{self._int(0, 4)} ba:{self._int(0, 4)} row:0x{self._hex(5)} "
            f"col:0x{self._hex(3)})"
        )

    def _mce(self) -> str:
        return self._pick(
            [
                "mce: [Hardware Error]: Machine check events logged",
                f"mce: [Hardware Error]: CPU {self._int(0, 224)}: Machine Check: 0 Bank {self._int(0, 30)}: "
                f"8c00004{self._hex(11)}",
            ]
        )

    def _fallen_off(self) -> str:
        return f"NVRM: GPU 0000:{self._gpu()}:00.0: GPU has fallen off the bus."

    # -- pools --------------------------------------------------------------------------
    def render(self, templates: list[Callable[[], str]], n: int) -> list[str]:
        """`n` messages from templates picked uniformly."""
        picks = self.rng.integers(0, len(templates), n)
        return [templates[i]() for i in picks.tolist()]


@dataclass
class GenStats:
    """What the generator wrote."""

    path: str
    fmt: str
    bytes: int = 0
    lines: int = 0
    interesting: int = 0
    seconds: float = 0.0


class Stamper:
    """Turns uptimes into the time prefix of one layout, formatting each distinct second once."""

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.non_kernel = [
            "systemd[1]: Started Session {n} of User svc-train.",
            "CRON[{n}]: (root) CMD (/usr/local/sbin/node-exporter-textfile >/dev/null 2>&1)",
            "sshd[{n}]: Accepted publickey for svc-train from 10.20.4.7 port {n} ssh2",
            "systemd-logind[1688]: Removed session {n}.",
        ]

    def lines(self, uptimes: np.ndarray, messages: Sequence[str], other: np.ndarray) -> list[str]:
        """Full lines for one chunk; `other` marks syslog lines that come from a non-kernel ident."""
        if self.fmt == "dmesg":
            return [f"[{u:12.6f}] {m}\n" for u, m in zip(uptimes.tolist(), messages, strict=True)]
        whole = np.floor(uptimes).astype(np.int64)
        micros = np.minimum(np.rint((uptimes - whole) * 1e6), 999_999).astype(np.int64).tolist()
        seconds, inverse = np.unique(whole, return_inverse=True)
        if self.fmt == "dmesg_iso":
            stamps = [f"{BOOT + timedelta(seconds=int(s)):%Y-%m-%dT%H:%M:%S}" for s in seconds.tolist()]
            return [
                f"{stamps[i]},{us:06d}+00:00 {m}\n" for i, us, m in zip(inverse.tolist(), micros, messages, strict=True)
            ]
        stamps = [self._bsd(BOOT + timedelta(seconds=int(s))) for s in seconds.tolist()]
        out = []
        rows = zip(inverse.tolist(), uptimes.tolist(), micros, messages, other.tolist(), strict=True)
        for n, (i, u, us, m, o) in enumerate(rows):
            if o:
                out.append(f"{stamps[i]} {HOST} {self.non_kernel[n % 4].format(n=us % 60000 + 1000)}\n")
            else:
                out.append(f"{stamps[i]} {HOST} kernel: [{u:12.6f}] {m}\n")
        return out

    @staticmethod
    def _bsd(at: datetime) -> str:
        return f"{at:%b} {at.day:2d} {at:%H:%M:%S}"


def generate(path: Path, megabytes: float, fmt: str, seed: int = 17) -> GenStats:
    """Write about `megabytes` MB of kernel log in layout `fmt` to `path`, deterministically for a seed."""
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    messages = Messages(rng)
    stamper = Stamper(fmt)
    pool = np.array(messages.render(messages.benign, POOL_SIZE), dtype=object)
    stats = GenStats(str(path), fmt)
    target, uptime = int(megabytes * MB), 5.0
    with path.open("wb") as out:
        while stats.bytes < target:
            uptimes = uptime + np.cumsum(rng.exponential(MEAN_GAP_S, CHUNK_LINES))
            uptime = float(uptimes[-1])
            chunk = pool[rng.integers(0, POOL_SIZE, CHUNK_LINES)]
            hot = np.flatnonzero(rng.random(CHUNK_LINES) < INTERESTING_SHARE)
            chunk[hot] = messages.render(messages.interesting, len(hot))
            other = rng.random(CHUNK_LINES) < (0.05 if fmt == "syslog" else 0.0)
            other[hot] = False
            data = "".join(stamper.lines(uptimes, chunk.tolist(), other)).encode()
            whole = len(data)
            data = _trim(data, target - stats.bytes)
            out.write(data)
            lines = data.count(b"\n")
            stats.bytes += len(data)
            stats.lines += lines
            stats.interesting += int(np.count_nonzero(hot < lines))
            if len(data) < whole:  # the last chunk, cut to size
                break
            refresh = rng.integers(0, POOL_SIZE, POOL_REFRESH)
            pool[refresh] = messages.render(messages.benign, POOL_REFRESH)
    end = (BOOT + timedelta(seconds=uptime + 3600)).replace(tzinfo=UTC).timestamp()
    os.utime(path, (end, end))  # year-less syslog stamps are dated against the file's mtime
    stats.seconds = time.perf_counter() - started
    return stats


def _trim(data: bytes, room: int) -> bytes:
    """`data` cut after its last full line that fits in `room` bytes (all of it if it fits)."""
    if len(data) <= room:
        return data
    cut = data.rfind(b"\n", 0, room)
    return data[: cut + 1] if cut >= 0 else b""


# =============================================================================== python baseline
_DECODE = (
    r"(?:(?P<fac>kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local[0-7])\s*:"
    r"(?P<lvl>emerg|alert|crit|err|warn|notice|info|debug)\s*: )?"
)
LOOP_PATTERNS = {  # the prefixes triage's kernel_log source extracts, written for Python's `re`
    "dmesg": "^" + _DECODE + r"(?:<(?P<pri>\d{1,3})>)?\[\s*(?P<up>\d+\.\d+)\] ?(?:\[\s*[TC]\d+\] ?)?",
    "dmesg_iso": "^" + _DECODE + r"(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[,.]\d+(?:Z|[+-]\d\d:?\d\d)) ",
    "syslog": r"^(?:<(?P<pri>\d{1,3})>)?(?P<stamp>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?) "
    r"(?P<hostname>\S+) (?P<ident>[^\s:\[]+)(?:\[(?P<pid>\d+)\])?: ?",
}
LEVELS = {name: i for i, name in enumerate(["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"])}
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MONTHS = {m: i for i, m in enumerate(MONTH_NAMES, 1)}
EMBEDDED_UPTIME = re.compile(r"\[\s*(\d+\.\d+)\] ?")


def _priority(m: re.Match[str]) -> int | None:
    pri = m.group("pri") if "pri" in m.re.groupindex else None
    if pri is not None:
        return int(pri) % 8
    lvl = m.group("lvl") if "lvl" in m.re.groupindex else None
    return LEVELS[lvl] if lvl else None


def _read_lines(path: Path) -> Iterator[str]:
    with path.open(encoding="utf-8", errors="replace", newline="\n") as f:
        for line in f:
            yield line.rstrip("\n")


def loop_dmesg(path: Path) -> dict[str, list]:
    """uptime, boot, priority and message of every line of a raw dmesg file."""
    rx = re.compile(LOOP_PATTERNS["dmesg"])
    cols: dict[str, list] = {"line_no": [], "uptime_s": [], "boot": [], "priority": [], "message": []}
    boot, last = 0, -1.0
    for no, line in enumerate(_read_lines(path), 1):
        m = rx.match(line)
        up = float(m.group("up")) if m else None
        if up is not None:
            if up < last - 1.0:
                boot += 1
            last = up
        cols["line_no"].append(no)
        cols["uptime_s"].append(up)
        cols["boot"].append(boot)
        cols["priority"].append(_priority(m) if m else None)
        cols["message"].append(line[m.end() :] if m else line)
    return cols


def loop_dmesg_iso(path: Path) -> dict[str, list]:
    """UTC time, priority and message of every line of a `dmesg --time-format iso` file."""
    rx = re.compile(LOOP_PATTERNS["dmesg_iso"])
    cols: dict[str, list] = {"line_no": [], "ts": [], "priority": [], "message": []}
    for no, line in enumerate(_read_lines(path), 1):
        m = rx.match(line)
        ts = None
        if m:
            aware = datetime.fromisoformat(m.group("iso").replace(",", "."))
            offset = aware.utcoffset()
            ts = aware.replace(tzinfo=None) - offset if offset is not None else aware
        cols["line_no"].append(no)
        cols["ts"].append(ts)
        cols["priority"].append(_priority(m) if m else None)
        cols["message"].append(line[m.end() :] if m else line)
    return cols


def loop_syslog(path: Path, year: int) -> dict[str, list]:
    """Time (year inferred from month wraps), host, ident, pid, embedded uptime and message of RFC 3164 lines."""
    rx = re.compile(LOOP_PATTERNS["syslog"])
    cols: dict[str, list] = {k: [] for k in ("line_no", "ts", "uptime_s", "hostname", "ident", "pid", "message")}
    last_month = None
    for no, line in enumerate(_read_lines(path), 1):
        m = rx.match(line)
        ts = up = None
        msg = line
        if m:
            stamp = m.group("stamp")
            month = MONTHS[stamp[:3]]
            if last_month is not None and month < last_month:
                year += 1
            last_month = month
            hh, mm, ss = stamp[7:15].split(":")
            ts = datetime(year, month, int(stamp[4:6]), int(hh), int(mm), int(ss))
            msg = line[m.end() :]
            if msg.startswith("["):
                e = EMBEDDED_UPTIME.match(msg)
                if e:
                    up, msg = float(e.group(1)), msg[e.end() :]
        cols["line_no"].append(no)
        cols["ts"].append(ts)
        cols["uptime_s"].append(up)
        cols["hostname"].append(m.group("hostname") if m else None)
        cols["ident"].append(m.group("ident") if m else None)
        cols["pid"].append(int(m.group("pid")) if m and m.group("pid") else None)
        cols["message"].append(msg)
    return cols


def run_python_loop(path: Path, fmt: str) -> dict[str, float | int]:
    """Run the baseline loop for `fmt` in this process; return its time and row count."""
    started = time.perf_counter()
    if fmt == "dmesg":
        cols = loop_dmesg(path)
    elif fmt == "dmesg_iso":
        cols = loop_dmesg_iso(path)
    else:
        cols = loop_syslog(path, datetime.fromtimestamp(path.stat().st_mtime, UTC).year)
    return {"seconds": time.perf_counter() - started, "rows": len(cols["line_no"])}


# =============================================================================== measuring
@dataclass
class Measure:
    """One measured command."""

    name: str
    seconds: float | None = None
    mb_per_s: float | None = None
    peak_rss_mb: float | None = None
    returncode: int | None = None
    note: str = ""
    extra: dict[str, float | int | str] = field(default_factory=dict)


@dataclass
class Child:
    """Outcome of one child process."""

    seconds: float
    returncode: int
    peak_rss_kb: int
    cpu_seconds: float
    stdout: str
    stderr: str


GNU_TIME = Path("/usr/bin/time")


def run_child(argv: Sequence[str], env: dict[str, str] | None = None) -> Child:
    """Run `argv` to completion; wall time, exit code, peak RSS and CPU time of exactly that command.

    The kernel keeps a process's RSS high-water mark across fork and exec, so a child forked
    from this (large) interpreter would report at least our own RSS. When GNU time is present
    the command is therefore started by it (a tiny process) and its `%M` is the peak RSS;
    otherwise `os.wait4`'s ru_maxrss is used, an upper bound.
    """
    with tempfile.TemporaryDirectory() as tmp:
        rss_file = Path(tmp) / "rss"
        wrapped = [str(GNU_TIME), "-f", "%M %U %S", "-o", str(rss_file), *argv] if GNU_TIME.exists() else list(argv)
        with open(Path(tmp) / "out", "w+b") as out, open(Path(tmp) / "err", "w+b") as err:
            started = time.perf_counter()
            proc = subprocess.Popen(wrapped, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - started
            proc.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        peak, cpu = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
        if GNU_TIME.exists() and rss_file.exists():
            fields = ((rss_file.read_text().strip().splitlines() or [""])[-1]).split()
            if len(fields) == 3 and fields[0].isdigit():
                peak, cpu = int(fields[0]), float(fields[1]) + float(fields[2])
        return Child(seconds, proc.returncode, peak, cpu, stdout, stderr)


def triage_bin() -> Path:
    """The `triage` console script installed next to this interpreter."""
    return Path(sys.executable).parent / "triage"


def triage_ingest_available() -> bool:
    """Whether `triage ingest --help` runs successfully."""
    if not triage_bin().exists():
        return False
    return run_child([str(triage_bin()), "ingest", "--help"]).returncode == 0


def help_time(repeat: int = 5) -> float | None:
    """Best wall time of `triage --help` over `repeat` runs (None when it fails)."""
    runs = [run_child([str(triage_bin()), "--help"]) for _ in range(repeat)]
    if any(r.returncode != 0 for r in runs):
        return None
    return min(r.seconds for r in runs)


def warm_cache(path: Path) -> None:
    """Read the file once so every contender starts from the page cache."""
    with path.open("rb") as f:
        while f.read(16 << 20):
            pass


def measure_triage(path: Path, workdir: Path, size_mb: float) -> Measure:
    """Time `triage ingest FILE --db DB` end to end on a fresh database."""
    m = Measure("triage ingest")
    if not triage_ingest_available():
        m.note = "`triage ingest` not available"
        return m
    db = workdir / "bench.duckdb"
    for stale in (db, db.with_suffix(".duckdb.wal")):
        stale.unlink(missing_ok=True)
    child = run_child([str(triage_bin()), "ingest", str(path), "--db", str(db)])
    _fill(m, child, size_mb)
    if child.returncode != 0:
        m.note = (child.stderr.strip().splitlines() or ["(no stderr)"])[-1][:200]
        return m
    m.extra["db_mb"] = round(db.stat().st_size / MB, 1) if db.exists() else 0
    m.extra.update(_count_events(db))
    return m


def _count_events(db: Path) -> dict[str, int | str]:
    """Rows in the events table of the benchmark database (sanity check: one per line)."""
    try:
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            row = con.execute("select count(*) from events").fetchone()
        return {"events": int(row[0]) if row else 0}
    except Exception as exc:  # the store's schema is not this benchmark's business
        return {"events": f"unknown ({type(exc).__name__})"}


def measure_grep(path: Path, workdir: Path, size_mb: float) -> Measure:
    """Time `grep -c -F -f KEYWORDS FILE` (LC_ALL=C)."""
    m = Measure("grep -c -F -f keywords")
    grep = shutil.which("grep")
    if grep is None:
        m.note = "grep not found"
        return m
    keywords = workdir / "keywords.txt"
    keywords.write_text("\n".join(KEYWORDS) + "\n")
    child = run_child([grep, "-c", "-F", "-f", str(keywords), str(path)], env={**os.environ, "LC_ALL": "C"})
    _fill(m, child, size_mb)
    if child.returncode in (0, 1):  # 1 = no line matched
        m.returncode = 0
        m.extra["matching_lines"] = int(child.stdout.strip() or 0)
    return m


def measure_python_loop(path: Path, fmt: str, size_mb: float) -> Measure:
    """Time the plain-Python regex loop in a fresh interpreter; seconds exclude interpreter start-up."""
    m = Measure("python re loop")
    child = run_child([sys.executable, str(Path(__file__).resolve()), "--python-loop", str(path), "--format", fmt])
    _fill(m, child, size_mb)
    if child.returncode == 0:
        inner = json.loads(child.stdout)
        m.seconds = inner["seconds"]
        m.mb_per_s = size_mb / m.seconds if m.seconds else None
        m.extra["rows"] = inner["rows"]
    else:
        m.note = (child.stderr.strip().splitlines() or ["(no stderr)"])[-1][:200]
    return m


def _fill(m: Measure, child: Child, size_mb: float) -> None:
    m.seconds = child.seconds
    m.mb_per_s = size_mb / child.seconds if child.seconds else None
    m.peak_rss_mb = child.peak_rss_kb / 1024
    m.returncode = child.returncode
    m.extra["cpu_s"] = round(child.cpu_seconds, 2)


# =============================================================================== report
def ratios(triage: Measure, grep: Measure, loop: Measure) -> dict[str, float | None]:
    """triage's speedup over the Python loop, and how many times faster grep is than triage."""
    ok = triage.returncode == 0 and triage.seconds
    return {
        "triage_vs_python_loop": loop.seconds / triage.seconds if ok and loop.seconds else None,
        "grep_vs_triage": triage.seconds / grep.seconds if ok and grep.seconds else None,
    }


def render_table(gen: GenStats, rows: list[Measure], ratio: dict[str, float | None], help_s: float | None) -> str:
    """The human-readable report."""
    size_mb = gen.bytes / MB
    out = [
        f"file: {gen.path}",
        f"      {size_mb:.1f} MB, {gen.lines:,} lines, layout {gen.fmt}, {gen.interesting:,} interesting lines "
        f"(generated in {gen.seconds:.1f} s, not timed)",
        "",
        f"{'contender':<26}{'MB':>8}{'seconds':>10}{'MB/s':>10}{'peak RSS MB':>13}  notes",
    ]
    for r in rows:
        secs = f"{r.seconds:10.2f}" if r.seconds is not None and r.returncode == 0 else f"{'-':>10}"
        rate = f"{r.mb_per_s:10.1f}" if r.mb_per_s is not None and r.returncode == 0 else f"{'-':>10}"
        rss = f"{r.peak_rss_mb:13.0f}" if r.peak_rss_mb is not None else f"{'-':>13}"
        notes = ", ".join([*(f"{k}={v:,}" if isinstance(v, int) else f"{k}={v}" for k, v in r.extra.items())])
        if r.note:
            notes = f"{notes}; {r.note}" if notes else r.note
        out.append(f"{r.name:<26}{size_mb:8.1f}{secs}{rate}{rss}  {notes}")
    out.append("")
    speed, grep = ratio["triage_vs_python_loop"], ratio["grep_vs_triage"]
    out.append(f"triage vs python loop: {speed:.2f}x (speedup)" if speed else "triage vs python loop: n/a")
    out.append(
        f"grep vs triage:        {grep:.1f}x (grep is that many times faster)" if grep else "grep vs triage: n/a"
    )
    out.append(f"triage --help:         {help_s:.3f} s (best of 5)" if help_s is not None else "triage --help: n/a")
    return "\n".join(out)


def benchmark(args: argparse.Namespace) -> dict:
    """Generate, measure and report; returns the machine-readable result."""
    workdir = Path(tempfile.mkdtemp(prefix="triage-bench-"))
    try:
        path = workdir / f"bench.{args.format}.log"
        gen = generate(path, args.mb, args.format, args.seed)
        size_mb = gen.bytes / MB
        warm_cache(path)
        grep = measure_grep(path, workdir, size_mb)
        triage = measure_triage(path, workdir, size_mb)
        loop = measure_python_loop(path, args.format, size_mb)
        help_s = help_time() if triage_bin().exists() else None
        ratio = ratios(triage, grep, loop)
        result = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "generated": asdict(gen),
            "measures": [asdict(m) for m in (triage, grep, loop)],
            "ratios": ratio,
            "triage_help_seconds": help_s,
            "cpus": os.cpu_count(),
        }
        print(json.dumps(result, indent=2) if args.json else render_table(gen, [triage, grep, loop], ratio, help_s))
        return result
    finally:
        if args.keep:
            print(f"kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command line options."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mb", type=float, default=200, help="size of the generated log in MB (default: %(default)s)")
    p.add_argument("--format", choices=FORMATS, default="dmesg", help="log layout (default: %(default)s)")
    p.add_argument("--seed", type=int, default=17, help="generator seed (default: %(default)s)")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (log, keywords, database)")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.add_argument("--help-time", action="store_true", help="only measure `triage --help` (best of 5) and exit")
    p.add_argument("--python-loop", metavar="FILE", type=Path, help=argparse.SUPPRESS)  # internal: child mode
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    args = parse_args(argv)
    if args.python_loop:
        print(json.dumps(run_python_loop(args.python_loop, args.format)))
        return
    if args.help_time:
        seconds = help_time()
        print(json.dumps({"triage_help_seconds": seconds}) if args.json else f"triage --help: {seconds} s (best of 5)")
        return
    benchmark(args)


if __name__ == "__main__":
    main()
