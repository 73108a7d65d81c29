"""Kernel logs: dmesg in all its time formats, /dev/kmsg, syslog and journalctl.

Every line becomes an `events` row. A file's layout is detected once from a sample
of its lines (`detect_format`); each batch of lines is then parsed with one short
prefix regex per layout, run by polars over the whole column. Lines that do not
fit the layout keep their text as the message with no time.

Layouts:
  dmesg          `[  12.345678] msg`, also `<6>[...]` (dmesg -r) and `[ T123]` callers
  dmesg_ctime    `[Sun Feb 23 16:24:18 2025] msg` (dmesg -T / --ctime)
  dmesg_iso      `2025-01-21T02:21:33,498559+00:00 msg` (dmesg --time-format iso)
  dmesg_reltime  `[Feb23 16:24] msg` then `[  +0.000123] msg` (dmesg -H / --reltime)
  kmsg           `6,3964,206764307,-;msg` (/dev/kmsg records)
  syslog         `Jan 17 15:36:15 host ident[pid]: msg` (RFC 3164, journalctl short and
                 short-precise) and `2025-01-17T15:36:15+0000 host ident: msg`
                 (rsyslog ISO, journalctl short-iso and short-iso-precise)
  rfc5424        `<34>1 2025-01-17T15:36:15.003Z host app pid msgid [sd] msg`
  journal_json   `journalctl -o json`, one object per line
Any dmesg layout may carry the `--decode` prefix `kern  :warn  : `.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from triage.sources.base import Fixups, ParseContext, Sniffed
from triage.sources.lines import LineBatch

FACILITIES = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
    "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
]  # fmt: skip
LEVELS = ["emerg", "alert", "crit", "err", "warn", "notice", "info", "debug"]
_LEVEL_ALIASES = {"warning": "warn", "error": "err", "critical": "crit", "emergency": "emerg"}

_DECODE = (
    r"(?:(?P<fac>kern|user|mail|daemon|auth|syslog|lpr|news|uucp|cron|authpriv|ftp|local[0-7])\s*:"
    r"(?P<lvl>emerg|alert|crit|err|warn|notice|info|debug)\s*: )?"
)
# syslog/journal ISO stamps use a dot before the fraction; a comma is dmesg --time-format iso.
_ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?"
_BSD = r"[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)?"

PREFIXES: dict[str, str] = {
    "dmesg": "^" + _DECODE + r"(?:<(?P<pri>\d{1,3})>)?\[\s*(?P<up>\d+\.\d+)\] ?(?:\[\s*[TC]\d+\] ?)?",
    "dmesg_ctime": "^" + _DECODE + r"\[(?P<ctime>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4})\] ?",
    "dmesg_iso": "^" + _DECODE + r"(?P<iso>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[,.]\d+(?:Z|[+-]\d\d:?\d\d)) ",
    "dmesg_reltime": "^"
    + _DECODE
    + r"\[(?:(?P<mon>[A-Z][a-z]{2}) ?(?P<day>\d{1,2}) (?P<hm>\d\d:\d\d)|\s*\+(?P<delta>\d+\.\d+))\] ?",
    "kmsg": r"^(?P<pri>\d{1,4}),(?P<seq>\d+),(?P<usec>\d+),[^;]*;",
    "syslog": r"^(?:<(?P<pri>\d{1,3})>)?(?P<stamp>"
    + _BSD
    + "|"
    + _ISO
    + r") (?P<hostname>\S+) (?P<ident>[^\s:\[]+)(?:\[(?P<pid>\d+)\])?: ?",
    "rfc5424": r"^<(?P<pri>\d{1,3})>1 (?P<iso>\S+) (?P<hostname>\S+) (?P<ident>\S+) \S+ \S+ "
    r"(?:-|(?:\[(?:[^\]\\]|\\.)*\])+) ?",
    "journal_json": r'^\{.*"__REALTIME_TIMESTAMP"',
}
# When two layouts match a sample equally well, the more specific one wins.
_PREFERENCE = ["journal_json", "rfc5424", "syslog", "kmsg", "dmesg_iso", "dmesg_ctime", "dmesg_reltime", "dmesg"]
_SAMPLE_RES = {name: re.compile(PREFIXES[name]) for name in _PREFERENCE}
_EMBEDDED_UPTIME = r"^\[\s*(?P<up>\d+\.\d+)\] ?"
_MONTHS = {
    m: i for i, m in enumerate(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1)
}
_JOURNAL_BOOT_MARK = r"^-- (?:Boot [0-9a-f]+|Reboot) --"


def detect_format(sample: list[str]) -> tuple[str | None, float]:
    """The layout that fits most of the non-empty `sample` lines, and the share it fits."""
    lines = [line for line in sample if line.strip()]
    if not lines:
        return None, 0.0
    best, best_hits = None, 0
    for name in _PREFERENCE:
        rx = _SAMPLE_RES[name]
        hits = sum(1 for line in lines if rx.match(line))
        if hits > best_hits:
            best, best_hits = name, hits
    return best, best_hits / len(lines)


def sample_hostname(sample: list[str], fmt: str | None) -> str | None:
    """The host named inside syslog/journal lines, if the sample agrees on one."""
    if fmt not in ("syslog", "rfc5424", "journal_json"):
        return None
    names: dict[str, int] = {}
    rx = re.compile(r'"_HOSTNAME"\s*:\s*"([^"]+)"') if fmt == "journal_json" else _SAMPLE_RES[fmt]
    for line in sample:
        m = rx.search(line) if fmt == "journal_json" else rx.match(line)
        if m:
            name = m.group(1) if fmt == "journal_json" else m.group("hostname")
            names[name] = names.get(name, 0) + 1
    if not names:
        return None
    name = max(names, key=names.__getitem__)
    return None if name in ("-", "localhost") else name


def local_to_utc(naive: pl.Expr, timezone: str) -> pl.Expr:
    """Naive wall-clock stamps read in `timezone`, as naive UTC (a time a DST change skips is null)."""
    if timezone == "UTC":
        return naive
    return (
        naive.dt.replace_time_zone(timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .dt.replace_time_zone(None)
    )


def iso_to_utc(text: pl.Expr) -> pl.Expr:
    """ISO 8601 stamps with an offset (`2026-11-20T03:12:09,498559+01:00`, `...Z`) as naive UTC; null otherwise."""
    norm = text.str.replace(",", ".", literal=True).str.replace(r"Z$", "+00:00")
    return norm.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%z", strict=False, time_zone="UTC").dt.replace_time_zone(None)


@dataclass
class ClockContext:
    """What the parser needs to know to turn stamps into UTC."""

    reference: datetime  # newest plausible time for the file (mtime), for year-less stamps
    timezone: str = "UTC"  # zone of stamps that carry none (ctime, RFC 3164, journal short)


@dataclass
class KernelLogParser:
    """Parses the batches of one file in order; holds the state that crosses batches."""

    fmt: str
    clock: ClockContext
    source: str = "kernel_log"
    boot: int = 0
    last_uptime: float | None = None
    last_month: int | None = None
    year_wraps: int = 0
    anchor: datetime | None = None
    anchor_offset: float = 0.0
    boot_id: str | None = None
    max_ts: datetime | None = field(default=None)
    stamped_lines: int = 0  # stamped, non-marker lines so far (marker boots)
    seen_at_mark: int = 0  # stamped_lines at the last boot marker

    def parse(self, batch: LineBatch) -> pl.DataFrame:
        """Events of one batch: line_no, ts, uptime_s, boot, boot_id, source, facility, priority, ident, message."""
        return self.parse_frame(pl.DataFrame({"line_no": batch.line_numbers(), "line": batch.lines}))

    def parse_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Like `parse`, for a frame of `line_no` and `line` (consecutive lines of the file)."""
        out = getattr(self, f"_parse_{self.fmt}")(frame)
        out = out.with_columns(pl.lit(self.source).alias("source"))
        if "ts" in out.columns:
            batch_max = out["ts"].max()
            if batch_max is not None and (self.max_ts is None or batch_max > self.max_ts):
                self.max_ts = batch_max
        return out.select(
            "line_no",
            _col(out, "ts", pl.Datetime("us")),
            _col(out, "uptime_s", pl.Float64),
            _col(out, "boot", pl.Int32),
            _col(out, "boot_id", pl.String),
            "source",
            _col(out, "facility", pl.String),
            _col(out, "priority", pl.Int8),
            _col(out, "ident", pl.String),
            "message",
        )

    def year_shift(self) -> int:
        """Years to add to every stamp of a year-less layout once the whole file is read.

        Stamps are first dated in the reference year, counting a year forward at each
        month wrap; the last line must not be later than the reference (file mtime).
        """
        if self.fmt not in ("syslog", "dmesg_reltime") or self.max_ts is None or self.last_month is None:
            return 0
        shift = -self.year_wraps
        latest = _add_years(self.max_ts, shift)
        if latest is not None and (latest - self.clock.reference).days > 1:
            shift -= 1
        return shift

    # -- layouts -------------------------------------------------------------------
    def _parse_dmesg(self, frame: pl.DataFrame) -> pl.DataFrame:
        out = self._extract(frame)
        out = out.with_columns(
            uptime_s=pl.col("up").cast(pl.Float64, strict=False),
        )
        return self._with_uptime_boots(out)

    def _parse_dmesg_ctime(self, frame: pl.DataFrame) -> pl.DataFrame:
        out = self._extract(frame)
        ts = pl.col("ctime").str.to_datetime("%a %b %e %H:%M:%S %Y", strict=False)
        out = out.with_columns(ts=self._localize(ts))
        return self._with_marker_boots(out)

    def _parse_dmesg_iso(self, frame: pl.DataFrame) -> pl.DataFrame:
        out = self._extract(frame)
        out = out.with_columns(ts=self._iso(pl.col("iso")))
        return self._with_marker_boots(out)

    def _parse_dmesg_reltime(self, frame: pl.DataFrame) -> pl.DataFrame:
        out = self._extract(frame)
        month = pl.col("mon").replace_strict(_MONTHS, default=None, return_dtype=pl.Int32)
        out = out.with_columns(month=month)
        out = self._with_years(out)
        anchor = pl.format("{} {} {} {}", pl.col("year"), pl.col("mon"), pl.col("day"), pl.col("hm")).str.to_datetime(
            "%Y %b %e %H:%M", strict=False
        )
        out = out.with_columns(
            anchor=self._localize(anchor),
            matched=pl.col("hm").is_not_null() | pl.col("delta").is_not_null(),
            delta=pl.col("delta").cast(pl.Float64, strict=False).fill_null(0.0),
            is_anchor=pl.col("hm").is_not_null(),
        )
        out = out.with_columns(group=pl.col("is_anchor").cum_sum())
        out = out.with_columns(offset=pl.col("delta").cum_sum().over("group"))
        # Lines before the first anchor of this batch continue the previous batch's anchor.
        carried = pl.col("group") == 0
        offset = pl.when(carried).then(pl.col("offset") + self.anchor_offset).otherwise(pl.col("offset"))
        base = pl.col("anchor").forward_fill()
        if self.anchor is not None:
            base = base.fill_null(pl.lit(self.anchor, dtype=pl.Datetime("us")))
        out = out.with_columns(offset=offset, base=base)
        stamped = pl.col("base") + pl.duration(microseconds=(pl.col("offset") * 1e6).round())
        out = out.with_columns(ts=pl.when(pl.col("matched")).then(stamped))
        last = out.tail(1)
        if last.height:
            self.anchor = last["base"][0]
            self.anchor_offset = float(last["offset"][0])
        return self._with_marker_boots(out)

    def _parse_kmsg(self, frame: pl.DataFrame) -> pl.DataFrame:
        out = self._extract(frame)
        out = out.with_columns(uptime_s=pl.col("usec").cast(pl.Float64, strict=False) / 1e6)
        # ` KEY=value` lines continue the record before them (device properties).
        cont = pl.col("pri").is_null() & pl.col("line").str.starts_with(" ")
        out = out.with_columns(
            uptime_s=pl.when(cont).then(pl.col("uptime_s").forward_fill()).otherwise(pl.col("uptime_s"))
        )
        if self.last_uptime is not None:
            out = out.with_columns(
                uptime_s=pl.when(cont & pl.col("uptime_s").is_null())
                .then(pl.lit(self.last_uptime))
                .otherwise(pl.col("uptime_s"))
            )
        return self._with_uptime_boots(out)

    def _parse_syslog(self, frame: pl.DataFrame) -> pl.DataFrame:
        out = self._extract(frame)
        stamp = pl.col("stamp")
        is_iso = stamp.str.contains(r"^\d{4}-")
        out = out.with_columns(
            month=pl.when(is_iso)
            .then(None)
            .otherwise(stamp.str.slice(0, 3).replace_strict(_MONTHS, default=None, return_dtype=pl.Int32))
        )
        out = self._with_years(out)
        bsd = pl.format("{} {}", pl.col("year"), stamp).str.to_datetime("%Y %b %e %H:%M:%S%.f", strict=False)
        out = out.with_columns(
            ts=pl.when(is_iso).then(self._iso(stamp)).otherwise(self._localize(bsd)),
        )
        out = _embedded_uptime(out)
        marks = pl.col("line").str.contains(_JOURNAL_BOOT_MARK)
        return self._with_marker_boots(out, extra_marks=marks)

    def _parse_rfc5424(self, frame: pl.DataFrame) -> pl.DataFrame:
        out = self._extract(frame)
        out = out.with_columns(ts=self._iso(pl.col("iso")))
        out = _embedded_uptime(out)
        return self._with_marker_boots(out)

    def _parse_journal_json(self, frame: pl.DataFrame) -> pl.DataFrame:
        line = pl.col("line")

        def field_(name: str) -> pl.Expr:
            return line.str.json_path_match(f"$.{name}")

        out = frame.with_columns(
            rt=field_("__REALTIME_TIMESTAMP").cast(pl.Int64, strict=False),
            mono=field_("__MONOTONIC_TIMESTAMP").cast(pl.Int64, strict=False),
            boot_id=field_("_BOOT_ID"),
            priority=field_("PRIORITY").cast(pl.Int8, strict=False),
            fac=field_("SYSLOG_FACILITY").cast(pl.Int32, strict=False),
            ident=field_("SYSLOG_IDENTIFIER"),
            msg=field_("MESSAGE"),
        )
        out = out.with_columns(
            ts=pl.from_epoch(pl.col("rt"), time_unit="us"),
            uptime_s=pl.col("mono").cast(pl.Float64) / 1e6,
            facility=_facility_name(pl.col("fac")),
            message=pl.coalesce(pl.col("msg"), line),
        )
        out = _embedded_uptime(out)
        prev = pl.col("boot_id").forward_fill().shift(1)
        if self.boot_id is not None:
            prev = prev.fill_null(pl.lit(self.boot_id))
        changed = pl.col("boot_id").is_not_null() & prev.is_not_null() & (pl.col("boot_id") != prev)
        out = out.with_columns(boot=(changed.cum_sum() + self.boot).cast(pl.Int32))
        ids = out["boot_id"].drop_nulls()
        if len(ids):
            self.boot_id = ids[-1]
        if out.height:
            self.boot = int(out["boot"][-1])
        return out

    # -- shared steps ----------------------------------------------------------------
    def _extract(self, frame: pl.DataFrame) -> pl.DataFrame:
        return _extract(frame, specialise(PREFIXES[self.fmt], frame["line"]))

    def _with_uptime_boots(self, out: pl.DataFrame) -> pl.DataFrame:
        """Number boots by uptime going backwards (a reboot restarts the clock)."""
        up = pl.col("uptime_s").forward_fill()
        prev = up.shift(1)
        if self.last_uptime is not None:
            prev = prev.fill_null(self.last_uptime)
        reset = (up < prev - 1.0).fill_null(False)
        out = out.with_columns(boot=(reset.cum_sum() + self.boot).cast(pl.Int32))
        ups = out["uptime_s"].drop_nulls()
        if len(ups):
            self.last_uptime = float(ups[-1])
        if out.height:
            self.boot = int(out["boot"][-1])
        return out

    def _with_marker_boots(self, out: pl.DataFrame, extra_marks: pl.Expr | None = None) -> pl.DataFrame:
        """Number boots by boot markers: `Linux version` banners and journal `-- Boot … --` lines.

        A marker starts a new boot only when stamped lines came since the previous marker
        (or the start of the file), so a file's first boot is 0 and a journal boot mark
        followed by the kernel banner counts once.
        """
        is_mark = pl.col("message").str.starts_with("Linux version ")
        if extra_marks is not None:
            is_mark = is_mark | extra_marks
        stamped = (pl.col("ts").is_not_null() & ~pl.col("is_mark")).cast(pl.Int64)
        out = out.with_columns(is_mark=is_mark.fill_null(False))
        out = out.with_columns(seen=stamped.cum_sum() + self.stamped_lines)
        mark_seen = pl.when(pl.col("is_mark")).then(pl.col("seen"))
        prev_mark_seen = mark_seen.forward_fill().shift(1).fill_null(self.seen_at_mark)
        new_boot = pl.col("is_mark") & (pl.col("seen") > prev_mark_seen)
        out = out.with_columns(boot=(new_boot.cum_sum() + self.boot).cast(pl.Int32))
        if out.height:
            self.boot = int(out["boot"][-1])
            self.stamped_lines = int(out["seen"][-1])
            marks_seen = out.filter(pl.col("is_mark"))["seen"]
            if len(marks_seen):
                self.seen_at_mark = int(marks_seen[-1])
        return out

    def _with_years(self, out: pl.DataFrame) -> pl.DataFrame:
        """Provisional year per line: the reference year plus the month wraps seen so far."""
        month = pl.col("month").forward_fill()
        prev = month.shift(1)
        if self.last_month is not None:
            prev = prev.fill_null(self.last_month)
        wrap = (month < prev).fill_null(False)
        out = out.with_columns(year=(wrap.cum_sum() + self.year_wraps + self.clock.reference.year).cast(pl.Int32))
        months = out["month"].drop_nulls()
        if len(months):
            self.last_month = int(months[-1])
        if out.height:
            self.year_wraps = int(out["year"][-1]) - self.clock.reference.year
        return out

    def _localize(self, naive: pl.Expr) -> pl.Expr:
        return local_to_utc(naive, self.clock.timezone)

    def _iso(self, text: pl.Expr) -> pl.Expr:
        norm = text.str.replace(",", ".", literal=True).str.replace(r"Z$", "+00:00")
        naive = norm.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f", strict=False)
        return pl.coalesce(iso_to_utc(text), self._localize(naive))


_DMESG_PRI = r"(?:<(?P<pri>\d{1,3})>)?"
# Optional prefix parts, dropped from a batch's regex when none of its lines use them.
_OPTIONAL_PARTS = [(_DECODE, "^" + _DECODE[:-1]), (_DMESG_PRI, "^" + _DECODE + r"<\d")]


def specialise(prefix: str, lines: pl.Series) -> str:
    """`prefix` without the optional parts (`--decode` names, `<pri>`) that no line of `lines` uses.

    Probing a batch with these anchored patterns costs far less than carrying the
    unused alternatives through the main regex.
    """
    for part, probe in _OPTIONAL_PARTS:
        if part in prefix and not lines.str.contains(probe).any():
            prefix = prefix.replace(part, "")
    return prefix


def _extract(frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
    out = frame.with_columns(
        pl.col("line").str.extract_groups(prefix).alias("_g"),
        pl.col("line").str.replace(prefix, "").alias("message"),
    ).unnest("_g")
    return _priority(out)


def _embedded_uptime(out: pl.DataFrame) -> pl.DataFrame:
    """Kernel lines relayed by syslog/journal keep dmesg's `[uptime]`: lift it into uptime_s."""
    has = pl.col("message").str.starts_with("[")
    embedded = pl.when(has).then(pl.col("message").str.extract(_EMBEDDED_UPTIME, 1).cast(pl.Float64, strict=False))
    uptime = pl.coalesce(pl.col("uptime_s"), embedded) if "uptime_s" in out.columns else embedded
    message = pl.when(has).then(pl.col("message").str.replace(_EMBEDDED_UPTIME, "")).otherwise(pl.col("message"))
    return out.with_columns(uptime_s=uptime, message=message)


def _priority(out: pl.DataFrame) -> pl.DataFrame:
    """facility/priority from a numeric `<pri>` or from the `--decode` names, whichever is present."""
    prio: list[pl.Expr] = []
    fac: list[pl.Expr] = []
    if "pri" in out.columns:
        pri = pl.col("pri").cast(pl.Int32, strict=False)
        prio.append((pri % 8).cast(pl.Int8))
        fac.append(_facility_name(pri // 8))
    if "lvl" in out.columns:
        prio.append(
            pl.col("lvl").replace_strict({n: i for i, n in enumerate(LEVELS)}, default=None, return_dtype=pl.Int8)
        )
        fac.append(pl.col("fac"))
    if not prio:
        return out
    return out.with_columns(priority=pl.coalesce(prio), facility=pl.coalesce(fac))


def _facility_name(code: pl.Expr) -> pl.Expr:
    return code.replace_strict(dict(enumerate(FACILITIES)), default=None, return_dtype=pl.String)


def _col(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    return pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype=dtype).alias(name)


def _add_years(ts: datetime, years: int) -> datetime | None:
    try:
        return ts.replace(year=ts.year + years)
    except ValueError:  # 29 February
        return ts.replace(year=ts.year + years, day=28)


KIND = "kernel_log"
_KERNEL_WORDS = ("NVRM:", "kernel:", "nvidia-nvswitch", "mlx5_core", "pcieport", "EDAC", "mce:")


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """A kernel log when most lines fit one layout, or some do and kernel words appear."""
    fmt, share = detect_format(sample)
    if fmt is None:
        return None
    if share < 0.5 and not any(word in line for line in sample for word in _KERNEL_WORDS):
        return None
    return Sniffed(KIND, fmt, sample_hostname(sample, fmt))


class KernelLogSource:
    """`Parser` over a kernel log file: events only."""

    def __init__(self, fmt: str, ctx: ParseContext, source: str = KIND) -> None:
        self._parser = KernelLogParser(fmt, ClockContext(ctx.reference, ctx.timezone), source=source)
        self._ctx = ctx
        self._saw_uptime = False

    def parse(self, batch: LineBatch) -> dict[str, pl.DataFrame]:
        """Events of one batch."""
        events = self._parser.parse(batch)
        if not self._saw_uptime and events["uptime_s"].is_not_null().any():
            self._saw_uptime = True
        return {"events": events}

    def finish(self) -> Fixups:
        """Year shift for year-less stamps; `--boot-time` for the last boot of monotonic stamps."""
        fixups = Fixups(year_shift=self._parser.year_shift())
        if self._ctx.boot_time is not None and self._saw_uptime:
            fixups.boot_times[self._parser.boot] = self._ctx.boot_time
        return fixups


def parser(sniffed: Sniffed, ctx: ParseContext) -> KernelLogSource:
    """Parser for a sniffed kernel log."""
    return KernelLogSource(sniffed.format or "dmesg", ctx)
