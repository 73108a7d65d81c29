"""NVIDIA `nvidia-bug-report.log(.gz)`: sections of system state separated by underscore rules.

The header names the host (`uname: Linux <host> ...`); the `*** /proc/uptime` section
gives the boot time (its `ls` stamp minus the uptime); the `dmesg:` section is parsed
as a kernel log of the current boot; the `nvidia-smi --query` section gives the GPU
inventory and health (as `nvidia-smi -q` does). Every other line is kept as a timeless event.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import polars as pl

from triage.sources.base import Fixups, ParseContext, Sniffed
from triage.sources.kernel_log import ClockContext, KernelLogParser, detect_format
from triage.sources.lines import LineBatch
from triage.sources.nvidia_smi import read_query_text
from triage.sources.records import Malformed, Records

KIND = "bug_report"
_BANNER = "Start of NVIDIA bug report log file"
_RULE = r"^_{20,}\s*$"
_UNAME = re.compile(r"^uname: \S+ (\S+) ")
_LS_STAMP = re.compile(r"^\*\*\* ls: .* (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)(?:\.\d+)? ([+-]\d{4}) /proc/uptime")
_UPTIME = re.compile(r"^(\d+(?:\.\d+)?) \d+(?:\.\d+)?$")
_SMI_QUERY = re.compile(r"nvidia-smi (?:--query|-q)\s*$")


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """A bug report announces itself in its first lines."""
    if not any(_BANNER in line for line in sample[:20]):
        return None
    host = next((m.group(1) for line in sample if (m := _UNAME.match(line))), None)
    return Sniffed(KIND, "nvidia_bug_report", host)


class BugReportSource:
    """`Parser` over a bug report: kernel events for the dmesg section, text for the rest."""

    def __init__(self, ctx: ParseContext) -> None:
        self._ctx = ctx
        self._section = 0
        self._title: str | None = None
        self._kernel: KernelLogParser | None = None
        self._uptime_lines: list[str] = []
        self._dmesg_boot: int | None = None
        self._smi_lines: list[tuple[int, str]] = []  # (line_no, line) of the nvidia-smi --query section

    def parse(self, batch: LineBatch) -> dict[str, pl.DataFrame]:
        """Events of one batch; dmesg lines parsed with the kernel-log layouts."""
        frame = pl.DataFrame({"line_no": batch.line_numbers(), "line": batch.lines})
        frame = frame.with_columns(section=pl.col("line").str.contains(_RULE).cum_sum() + self._section)
        titled = frame.filter(~pl.col("line").str.contains(_RULE) & (pl.col("line").str.strip_chars() != ""))
        firsts = titled.group_by("section", maintain_order=True).first()
        titles = dict(zip(firsts["section"].to_list(), firsts["line"].to_list(), strict=True))
        if self._title is not None:  # the section open at the end of the previous batch keeps its title
            titles[self._section] = self._title
        last_section = int(frame["section"][-1])
        self._section = last_section
        self._title = titles.get(last_section)

        dmesg_sections = [s for s, t in titles.items() if t.strip() == "dmesg:"]
        uptime_sections = [s for s, t in titles.items() if t.strip() == "*** /proc/uptime"]
        if uptime_sections:
            self._uptime_lines += frame.filter(pl.col("section").is_in(uptime_sections))["line"].to_list()
        smi_sections = [s for s, t in titles.items() if _SMI_QUERY.search(t)]
        if smi_sections:
            smi = frame.filter(pl.col("section").is_in(smi_sections) & ~pl.col("line").str.contains(_RULE))
            self._smi_lines += list(zip(smi["line_no"].to_list(), smi["line"].to_list(), strict=True))

        in_dmesg = pl.col("section").is_in(dmesg_sections) & ~pl.col("line").str.contains(_RULE)
        in_dmesg = in_dmesg & (pl.col("line").str.strip_chars() != "dmesg:")
        kernel_rows = frame.filter(in_dmesg)
        other = frame.filter(~in_dmesg)
        parts = [other.select("line_no", pl.col("line").alias("message"), pl.lit(KIND).alias("source"))]
        if kernel_rows.height:
            if self._kernel is None:
                fmt, _ = detect_format(kernel_rows["line"].head(200).to_list())
                clock = ClockContext(self._ctx.reference, self._ctx.timezone)
                self._kernel = KernelLogParser(fmt or "dmesg", clock)
            parts.append(self._kernel.parse_frame(kernel_rows.select("line_no", "line")))
            self._dmesg_boot = self._kernel.boot
        events = pl.concat(parts, how="diagonal_relaxed").sort("line_no")
        return {"events": events}

    def finish(self) -> Fixups:
        """GPU rows of the nvidia-smi section; boot time of the dmesg section from `--boot-time` or `/proc/uptime`."""
        fixups = Fixups()
        if self._smi_lines:
            records = Records()
            first = self._smi_lines[0][0]
            try:
                read_query_text([line for _, line in self._smi_lines], first, records, self._ctx.timezone)
            except Malformed as exc:
                fixups.error = f"nvidia-smi section: {exc}"
            fixups.tables = records.frames()
        if self._kernel is None or self._dmesg_boot is None:
            return fixups
        fixups.year_shift = self._kernel.year_shift()
        boot_time = self._ctx.boot_time or _boot_time(self._uptime_lines)
        if boot_time is not None:
            fixups.boot_times[self._dmesg_boot] = boot_time
        return fixups


def _boot_time(lines: list[str]) -> datetime | None:
    stamp = next((m for line in lines if (m := _LS_STAMP.match(line))), None)
    uptime = next((m for line in lines if (m := _UPTIME.match(line.strip()))), None)
    if stamp is None or uptime is None:
        return None
    read_at = datetime.strptime(f"{stamp.group(1)} {stamp.group(2)}", "%Y-%m-%d %H:%M:%S %z")
    boot = read_at.astimezone(UTC).replace(tzinfo=None) - timedelta(seconds=float(uptime.group(1)))
    return boot


def parser(sniffed: Sniffed, ctx: ParseContext) -> BugReportSource:
    """Parser for a sniffed bug report."""
    return BugReportSource(ctx)
