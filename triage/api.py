"""The Python API: a triage store as polars frames, and the stages that fill it.

    import triage

    fleet = triage.open("triage.duckdb")           # or triage.scan(["node017/"]) in memory
    fleet.ingest(["fleet/"])                        # files, folders, archives
    fleet.analyze(baseline="rules/baselines/h100-80gb-hbm3.yaml")
    fleet.hosts(status="faulty")                    # one row per host with its worst verdict
    fleet.diagnoses(host="node0006")                # verdicts: device, root cause, action, evidence ids
    fleet.events(host="node0006", rule="xid-79")    # the lines behind a rule's findings
    fleet.sql("SELECT host, count(*) FROM events GROUP BY host")
    fleet.report("html")                            # md, json, csv or html, as `triage report` writes it

The `triage` command calls these same methods; every frame is what the CLI prints.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from triage.analysis import AnalysisSummary, run_analysis
from triage.detect.anomalies import LEVELS
from triage.discover import InputFile, bundle_host
from triage.errors import TriageError
from triage.ingest import IngestOptions, IngestSummary
from triage.ingest import ingest as ingest_paths
from triage.report.common import check_hosts, is_rma_or_vendor
from triage.signatures.model import SEVERITIES
from triage.store import Store

if TYPE_CHECKING:
    from triage.detect import Baseline

REPORT_FORMATS = ("md", "json", "csv", "html")

Names = str | Iterable[str] | None
When = datetime | str | None


def open(db: str | os.PathLike[str] = "triage.duckdb", read_only: bool = False) -> Fleet:
    """Open the store at `db` (created and migrated unless `read_only`; ":memory:" for a throwaway one)."""
    return Fleet(Store.open(db, read_only=read_only))


def scan(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    host: str | None = None,
    baseline: str | os.PathLike[str] | Baseline | None = None,
    rules: str | os.PathLike[str] | None = None,
    db: str | os.PathLike[str] = ":memory:",
    progress: Callable[[InputFile, int | None], None] | None = None,
    on_plan: Callable[[list[InputFile]], None] | None = None,
) -> Fleet:
    """Ingest `paths` and analyze them (rules, detectors, diagnosis) in a store of their own.

    The store is in memory unless `db` names a file. The returned fleet's `scope` is the
    hosts of `paths`, so its reports cover only them; `last_ingest` names any file that
    could not be read. Hosts: `host` wins; a single folder holding files at its top level is
    one node's bundle named after the folder; otherwise DESIGN's host rule applies.
    """
    paths = _path_list(paths)
    fleet = Fleet(Store.open(db))
    try:
        summary = fleet.ingest(paths, host=host or bundle_host(paths), progress=progress, on_plan=on_plan)
        hosts = sorted({f.host for f in summary.files if f.host and (f.status == "unchanged" or f.lines)})
        if not hosts:
            why = "; ".join(f"{f.path}: {f.error}" for f in summary.errors[:3])
            raise TriageError(f"nothing to scan: no readable file in {', '.join(paths)}" + (f" ({why})" if why else ""))
        fleet.analyze(baseline=baseline, hosts=hosts, rules=rules)
        fleet.scope = hosts
    except BaseException:
        fleet.close()
        raise
    return fleet


@dataclass
class Fleet:
    """An open triage store: its tables as polars frames with keyword filters, and the stages.

    Filters take a name, a list of names, or a glob (`"node00*"`, `"xid-4?"`); times are
    datetimes (naive means UTC) or ISO strings (`"2026-11-16T09:48:00Z"`). A host that is
    not in the store is an error naming the closest ones. Use it as a context manager or
    call `close()`.
    """

    store: Store
    scope: list[str] | None = None
    last_ingest: IngestSummary | None = field(default=None, repr=False)
    last_analysis: AnalysisSummary | None = field(default=None, repr=False)

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def path(self) -> str:
        """Where the store lives (":memory:" for a scan's)."""
        return self.store.path

    def close(self) -> None:
        """Close the store; the fleet is unusable afterwards."""
        self.store.close()

    def __enter__(self) -> Fleet:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        scope = f", scope={len(self.scope)} host(s)" if self.scope else ""
        return f"Fleet({self.path!r}{scope})"

    # -- the stages ---------------------------------------------------------------------
    def ingest(
        self,
        paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
        host: str | None = None,
        timezone: str = "UTC",
        boot_time: When = None,
        progress: Callable[[InputFile, int | None], None] | None = None,
        on_plan: Callable[[list[InputFile]], None] | None = None,
    ) -> IngestSummary:
        """Read files, folders and archives into the store (see README "Hosts" and "Time").

        Files that cannot be read are listed in the summary's `errors`; everything else is
        ingested. `progress(file, bytes_read)` and `on_plan(files)` report on long ingests.
        """
        check_timezone(timezone)
        options = IngestOptions(host=host, boot_time=_time(boot_time, "boot time"), timezone=timezone)
        summary = ingest_paths(self.store, _path_list(paths), options, progress=progress, on_plan=on_plan)
        self.last_ingest = summary
        return summary

    def analyze(
        self,
        baseline: str | os.PathLike[str] | Baseline | None = None,
        hosts: Names = None,
        rules: str | os.PathLike[str] | None = None,
        detectors: bool = True,
    ) -> AnalysisSummary:
        """Run the rules, then (unless `detectors` is False) the detectors and the diagnosis.

        Each stage replaces its table (`findings`, `anomalies`, `diagnoses`) for `hosts`
        (default: all). `baseline` is a file from `triage baseline create` or a loaded one.
        """
        from triage.detect import Baseline, Detectors
        from triage.detect.baseline import load as load_baseline
        from triage.signatures.loader import load_rules

        rules_dir = None if rules is None else str(rules)
        pack = load_rules(rules_dir)
        found = Detectors.load(rules_dir) if detectors else None
        if baseline is not None and not isinstance(baseline, Baseline):
            baseline = load_baseline(str(baseline))
        summary = run_analysis(self.store, pack, found, baseline, _names(hosts))
        self.last_analysis = summary
        return summary

    # -- reports ------------------------------------------------------------------------
    def report(self, format: str = "md", hosts: Names = None, title: str | None = None) -> str:
        """The report of `hosts` (default: the fleet's scope, else every host) as text.

        md: summary, RMA list, then per host with evidence; json: the triage.report/v1
        document; csv: one RMA-ready row per diagnosis; html: a self-contained page with
        charts, sortable tables and per-host sections (`title` heads it).
        """
        import json

        from triage.report import build_report, render_csv, render_markdown

        if format not in REPORT_FORMATS:
            raise TriageError(f"unknown report format {format!r} (use one of {', '.join(REPORT_FORMATS)})")
        scope = self._scope(hosts)
        if format == "csv":
            return render_csv(self.store, scope)
        if format == "html":
            from triage.report.html import render_html

            return render_html(self.store, scope, title=title)
        doc = build_report(self.store, scope)
        if format == "json":
            return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        return render_markdown(doc)

    def document(self, hosts: Names = None) -> dict[str, Any]:
        """The triage.report/v1 document (DESIGN.md "Outputs") as a dict."""
        from triage.report import build_report

        return build_report(self.store, self._scope(hosts))

    def hosts(self, status: Names = None) -> pl.DataFrame:
        """One row per host, faulty first: host, status, diagnoses, and its worst verdict's
        device, root_cause, action and summary; only hosts of `status` (faulty, suspect, healthy)."""
        from triage.report import fleet_table

        return fleet_table(self.store, _names(status), self.scope)

    def status_counts(self, hosts: Names = None) -> dict[str, int]:
        """How many hosts are faulty, suspect and healthy (every key present)."""
        from triage.report.common import host_statuses, ordered_diagnoses

        scope = self._scope(hosts)
        statuses = host_statuses(self.store, scope, ordered_diagnoses(self.store, scope))
        counts = dict.fromkeys(("faulty", "suspect", "healthy"), 0)
        for status in statuses["status"].to_list():
            counts[status] += 1
        return counts

    def verdict(self, host: str) -> dict[str, Any]:
        """One host's entry of the report: {host, status, diagnoses [...]}."""
        from triage.report import host_verdict

        return host_verdict(self.store, host)

    def timeline(
        self, host: str, around: When = None, window: timedelta | str = "10m", limit: int = 200
    ) -> pl.DataFrame:
        """What happened on `host`, oldest first: finding lines, anomalies, failed tests, boots,
        GPU resets; with `around`, also every line within `window` (`"90s"`, `"10m"`, `"2h"`) of it."""
        from triage.report import host_timeline

        span = window if isinstance(window, timedelta) else parse_duration(window)
        return host_timeline(self.store, host, around=_time(around, "around"), window=span, limit=limit)

    def rma(self, hosts: Names = None) -> list[dict[str, Any]]:
        """One vendor ticket (dict, as `triage rma --format json`) per rma_*/contact_vendor verdict."""
        from triage.report import rma_tickets

        return rma_tickets(self.store, self._scope(hosts))

    # -- the tables ---------------------------------------------------------------------
    def sql(self, query: str) -> pl.DataFrame:
        """Read-only DuckDB SQL over the tables (files, events, measurements, test_runs, assets,
        findings, anomalies, diagnoses); writes are refused."""
        return self.store.query(query)

    def files(self, host: Names = None, kind: Names = None, status: Names = None) -> pl.DataFrame:
        """Ingested files: path, host, kind, format, size, lines, status (ok or error) and error."""
        where = _Where(self)
        where.hosts(host).match("kind", kind).match("status", status)
        return where.frame("files", "host, file_id")

    def events(
        self,
        host: Names = None,
        device: Names = None,
        rule: Names = None,
        since: When = None,
        until: When = None,
        contains: str | None = None,
        source: Names = None,
        limit: int | None = None,
    ) -> pl.DataFrame:
        """Log lines (every line of every file). `rule` and `device` keep the lines that findings of
        those rules or devices cite as evidence; `contains` is a case-sensitive substring."""
        where = _Where(self)
        where.hosts(host).match("source", source).between("ts", "ts", since, until)
        if contains is not None:
            where.add("contains(message, ?)", contains)
        if rule is not None or device is not None:
            cited = _Where(self).match("rule_id", rule).match("device", device)
            where.add(
                f"(file_id, line_no) IN (SELECT (ref.file_id, ref.line_no) FROM "
                f"(SELECT unnest(evidence) AS ref FROM findings WHERE {cited.sql}))",
                *cited.params,
            )
        return where.frame("events", "host, file_id, line_no", limit)

    def measurements(
        self,
        host: Names = None,
        device: Names = None,
        test: Names = None,
        metric: Names = None,
        since: When = None,
        until: When = None,
        limit: int | None = None,
    ) -> pl.DataFrame:
        """Numbers from test outputs, counters and inventories, one row per value (params as JSON)."""
        where = _Where(self)
        where.hosts(host).match("device", device).match("test", test).match("metric", metric)
        where.between("ts", "ts", since, until)
        return where.frame("measurements", "host, device NULLS FIRST, test, metric, ts, file_id, line_no", limit)

    def test_runs(
        self,
        host: Names = None,
        device: Names = None,
        test: Names = None,
        status: Names = None,
        since: When = None,
        until: When = None,
    ) -> pl.DataFrame:
        """Test runs with their verdict (pass, fail, error, incomplete) and failure detail."""
        where = _Where(self)
        where.hosts(host).match("device", device).match("test", test).match("status", status)
        where.between("started", "started", since, until)
        return where.frame("test_runs", "host, started NULLS FIRST, run_id")

    def assets(self, host: Names = None, device: Names = None, kind: Names = None) -> pl.DataFrame:
        """Device identities (GPU, HCA port, NVSwitch, DIMM): PCI address, UUID/GUID, serial, model, firmware."""
        where = _Where(self)
        where.hosts(host).match("device", device).match("kind", kind)
        return where.frame("assets", "host, kind, index NULLS LAST, device")

    def findings(
        self,
        host: Names = None,
        device: Names = None,
        rule: Names = None,
        severity: str | None = None,
        since: When = None,
        until: When = None,
    ) -> pl.DataFrame:
        """Rule hits per host, device and rule; `severity` keeps that severity and worse;
        `since`/`until` keep findings whose first..last hit overlaps the window."""
        where = _Where(self)
        where.hosts(host).match("device", device).match("rule_id", rule)
        where.at_least("severity", severity, SEVERITIES).between("last_ts", "first_ts", since, until)
        return where.frame("findings", "host, first_ts NULLS LAST, finding_id")

    def anomalies(
        self,
        host: Names = None,
        device: Names = None,
        detector: Names = None,
        metric: Names = None,
        level: str | None = None,
    ) -> pl.DataFrame:
        """What the detectors flagged, worst first within each host; `level` keeps that level and above."""
        where = _Where(self)
        where.hosts(host).match("device", device).match("detector", detector).match("metric", metric)
        where.at_least("level", level, LEVELS)
        order = (
            "host, CASE level WHEN 'drain' THEN 0 WHEN 'investigate' THEN 1 ELSE 2 END, score DESC, "
            "device NULLS FIRST, detector, metric"
        )
        return where.frame("anomalies", order)

    def diagnoses(
        self,
        host: Names = None,
        device: Names = None,
        rule: Names = None,
        root_cause: Names = None,
        action: Names = None,
        since: When = None,
        until: When = None,
    ) -> pl.DataFrame:
        """Verdicts, those of the RMA list first (rma_*, replace_cable, contact_vendor), then by confidence:
        device, root cause, action, confidence, summary, and the ids of the findings, anomalies and runs
        behind them. `rule` matches the primary finding's rule or detector."""
        where = _Where(self)
        where.hosts(host).match("device", device).match("primary_finding", rule)
        where.match("root_cause", root_cause).match("action", action).between("last_ts", "first_ts", since, until)
        frame = where.frame("diagnoses", "diagnosis_id")
        returned = is_rma_or_vendor(pl.col("action")).fill_null(False)
        return frame.sort(
            [returned, "confidence", "host", "device", "diagnosis_id"],
            descending=[True, True, False, False, False],
            nulls_last=[False, True, False, False, False],
        )

    def counter_deltas(self, host: Names = None) -> pl.DataFrame:
        """Error-counter changes between consecutive snapshots of each IB port, NVLink link and GPU
        (delta, hours, rate per hour, reset/saturated flags), as the counter_rate detector sees them."""
        from triage.detect.counters import counter_deltas

        return counter_deltas(self.store, self._scope(host))

    # -- helpers ------------------------------------------------------------------------
    def _scope(self, hosts: Names) -> list[str] | None:
        """`hosts` (each exact name checked against the store), or the fleet's scope when None."""
        names = _names(hosts)
        if names is None:
            return self.scope
        exact = [h for h in names if not _is_glob(h)]
        check_hosts(self.store, exact)
        return names


class _Where:
    """The WHERE clause of one table query, built from keyword filters."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.clauses: list[str] = []
        self.params: list[Any] = []

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) or "TRUE"

    def add(self, clause: str, *params: Any) -> _Where:
        self.clauses.append(clause)
        self.params.extend(params)
        return self

    def hosts(self, value: Names) -> _Where:
        return self.match("host", self.fleet._scope(value))

    def match(self, column: str, value: Names) -> _Where:
        names = _names(value)
        if names is None:
            return self
        globs = [n for n in names if _is_glob(n)]
        exact = [n for n in names if not _is_glob(n)]
        parts = [f"{column} GLOB ?" for _ in globs]
        if exact:
            parts.append(f"{column} IN (SELECT unnest(?::VARCHAR[]))")
        return self.add(f"({' OR '.join(parts) or 'FALSE'})", *globs, *([exact] if exact else []))

    def between(self, end_column: str, start_column: str, since: When, until: When) -> _Where:
        if (lo := _time(since, "since")) is not None:
            self.add(f"{end_column} >= ?", lo)
        if (hi := _time(until, "until")) is not None:
            self.add(f"{start_column} <= ?", hi)
        return self

    def at_least(self, column: str, value: str | None, order: Sequence[str]) -> _Where:
        if value is None:
            return self
        if value not in order:
            raise TriageError(f"unknown {column} {value!r} (use one of {', '.join(order)})")
        return self.add(f"{column} IN (SELECT unnest(?::VARCHAR[]))", list(order[order.index(value) :]))

    def frame(self, table: str, order: str, limit: int | None = None) -> pl.DataFrame:
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        return self.fleet.store.frame(f"SELECT * FROM {table} WHERE {self.sql} ORDER BY {order}{tail}", self.params)


def parse_duration(value: str) -> timedelta:
    """`90s`, `10m`, `2h`, `1d` or plain seconds, as a timedelta."""
    import re

    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)?\s*", value, re.IGNORECASE)
    if not m:
        raise TriageError(f"{value!r} is not a duration such as 30s, 10m, 2h or 1d")
    seconds = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}[(m[2] or "s").lower()]
    return timedelta(seconds=float(m[1]) * seconds)


def parse_time(value: datetime | str) -> datetime:
    """A datetime or ISO string (UTC unless it has an offset; `Z` allowed) as naive UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise TriageError(f"{value!r} is not an ISO time such as 2026-11-20T03:12:09Z") from None
    if not isinstance(value, datetime):
        raise TriageError(f"expected a datetime or an ISO string, not {type(value).__name__}")
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _time(value: When, what: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_time(value)
    except TriageError as exc:
        raise TriageError(f"{what}: {exc}") from None


def _names(value: Names) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _is_glob(name: str) -> bool:
    return any(c in name for c in "*?[")


def _path_list(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[str]:
    if isinstance(paths, str | os.PathLike):
        return [os.fspath(paths)]
    listed = [os.fspath(p) for p in paths]
    if not listed:
        raise TriageError("no paths given")
    return listed


def check_timezone(name: str) -> None:
    """Refuse a zone name the system does not know, naming it."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TriageError(f"unknown time zone {name!r} (use an IANA name such as Europe/Berlin)") from None


__all__ = ["Fleet", "check_timezone", "open", "parse_duration", "parse_time", "scan"]
