"""The tables of the store, declared once.

Each table is an Arrow schema; the DuckDB DDL, the empty polars frames and the
documentation are derived from it. All timestamps are UTC, stored without a time
zone. Changing a table means adding a migration in `triage.store.migrations` and
bumping `SCHEMA_VERSION`.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 3

TS = pa.timestamp("us")


def _table(*fields: tuple[str, pa.DataType, str]) -> pa.Schema:
    return pa.schema([pa.field(name, typ, metadata={"doc": doc}) for name, typ, doc in fields])


EVIDENCE = pa.list_(pa.struct([("file_id", pa.int32()), ("line_no", pa.int64())]))

TABLES: dict[str, pa.Schema] = {
    "files": _table(
        ("file_id", pa.int32(), "unique id of the ingested file"),
        ("path", pa.string(), "path as given; inside archives `archive!member`"),
        ("host", pa.string(), "host the file belongs to"),
        ("kind", pa.string(), "source family, e.g. kernel_log, bug_report, text"),
        ("format", pa.string(), "layout within the family, e.g. dmesg, syslog, journal_json"),
        ("sha256", pa.string(), "hex digest of the (decompressed) content"),
        ("bytes", pa.int64(), "size of the (decompressed) content"),
        ("lines", pa.int64(), "number of lines read"),
        ("status", pa.string(), "ok or error"),
        ("error", pa.string(), "why the file could not be read (status error)"),
        ("note", pa.string(), "non-fatal remarks, e.g. lossy UTF-8 or truncated lines"),
        ("ingested_at", TS, "when the file was ingested (UTC)"),
    ),
    "events": _table(
        ("host", pa.string(), "host the line belongs to"),
        ("file_id", pa.int32(), "file the line came from"),
        ("line_no", pa.int64(), "1-based line number in that file"),
        ("ts", TS, "wall-clock time (UTC), null when unknown"),
        ("uptime_s", pa.float64(), "monotonic seconds since boot, when the line has them"),
        ("boot", pa.int32(), "boot counter within the file (0 = first boot seen)"),
        ("boot_id", pa.string(), "journal boot id when known"),
        ("source", pa.string(), "kind of the section the line came from (kernel_log, text, ...)"),
        ("facility", pa.string(), "syslog facility when present (kern, daemon, ...)"),
        ("priority", pa.int8(), "syslog priority 0 (emerg) to 7 (debug) when present"),
        ("ident", pa.string(), "program or tag (kernel, systemd-networkd, ...) when present"),
        ("message", pa.string(), "the line without its time/priority prefix"),
    ),
    "measurements": _table(
        ("host", pa.string(), "host measured"),
        ("device", pa.string(), "device id (GPU PCI address, `mlx5_0/1`, ...) or null for the node"),
        ("test", pa.string(), "test or counter source (nccl_all_reduce, ib_counters, ...)"),
        ("metric", pa.string(), "metric name"),
        ("value", pa.float64(), "numeric value"),
        ("unit", pa.string(), "unit (GB/s, W, C, count, ...)"),
        ("ts", TS, "time of the measurement (UTC) when known"),
        ("params", pa.string(), "test parameters as canonical JSON (size, dtype, ...)"),
        ("run_id", pa.int64(), "test run the value belongs to"),
        ("file_id", pa.int32(), "file the value came from"),
        ("line_no", pa.int64(), "line the value came from"),
    ),
    "test_runs": _table(
        ("run_id", pa.int64(), "unique id of the run"),
        ("host", pa.string(), "host tested"),
        ("device", pa.string(), "device tested, null for a whole-node run"),
        ("test", pa.string(), "test name"),
        ("status", pa.string(), "pass, fail, error or incomplete"),
        ("started", TS, "start time (UTC) when known"),
        ("ended", TS, "end time (UTC) when known"),
        ("params", pa.string(), "test parameters as canonical JSON"),
        ("detail", pa.string(), "failure text or summary"),
        ("file_id", pa.int32(), "file the run came from"),
        ("line_no", pa.int64(), "line where the run starts"),
    ),
    "assets": _table(
        ("host", pa.string(), "host the device is in"),
        ("kind", pa.string(), "gpu, hca, nvswitch, dimm or node"),
        ("device", pa.string(), "device id in the common naming scheme"),
        ("index", pa.int32(), "index as the tools number it (GPU 0-7, ...)"),
        ("pci_bdf", pa.string(), "PCI address dddd:bb:dd.f"),
        ("uuid", pa.string(), "GPU UUID or port GUID"),
        ("serial", pa.string(), "board serial number"),
        ("part_number", pa.string(), "board part number"),
        ("model", pa.string(), "product name"),
        ("firmware", pa.string(), "VBIOS or firmware version"),
        ("driver", pa.string(), "driver version"),
        ("file_id", pa.int32(), "file the identity came from"),
        ("line_no", pa.int64(), "line the identity came from"),
    ),
    "findings": _table(
        ("finding_id", pa.int64(), "unique id of the finding"),
        ("host", pa.string(), "host"),
        ("device", pa.string(), "device the rule attributed the hits to"),
        ("rule_id", pa.string(), "rule that fired"),
        ("root_cause", pa.string(), "taxonomy root cause"),
        ("component", pa.string(), "taxonomy component"),
        ("action", pa.string(), "taxonomy action"),
        ("severity", pa.string(), "info, warning, error or critical"),
        ("count", pa.int64(), "number of matching lines"),
        ("first_ts", TS, "first hit (UTC)"),
        ("last_ts", TS, "last hit (UTC)"),
        ("fields", pa.string(), "fields the rule extracted, as JSON"),
        ("evidence", EVIDENCE, "matching lines as (file_id, line_no)"),
    ),
    "anomalies": _table(
        ("anomaly_id", pa.int64(), "unique id of the anomaly"),
        ("host", pa.string(), "host"),
        ("device", pa.string(), "device or null for the node"),
        ("detector", pa.string(), "detector that flagged it"),
        ("metric", pa.string(), "metric"),
        ("value", pa.float64(), "observed value"),
        ("baseline", pa.float64(), "expected value"),
        ("score", pa.float64(), "detector score"),
        ("threshold", pa.float64(), "score threshold crossed"),
        ("cohort", pa.string(), "cohort compared against"),
        ("detail", pa.string(), "explanation"),
        ("level", pa.string(), "monitor, investigate or drain: how far past its thresholds"),
        ("evidence", EVIDENCE, "measurements or lines behind it as (file_id, line_no)"),
    ),
    "diagnoses": _table(
        ("diagnosis_id", pa.int64(), "unique id of the diagnosis"),
        ("host", pa.string(), "host"),
        ("device", pa.string(), "device or null for the node"),
        ("component", pa.string(), "taxonomy component"),
        ("root_cause", pa.string(), "taxonomy root cause"),
        ("action", pa.string(), "taxonomy action"),
        ("severity", pa.string(), "info, warning, error or critical"),
        ("confidence", pa.float64(), "0 to 1"),
        ("summary", pa.string(), "one sentence a person would write"),
        ("primary_finding", pa.string(), "rule or detector of the primary cause"),
        ("related", pa.list_(pa.string()), "other findings folded into this diagnosis"),
        ("evidence", EVIDENCE, "lines supporting the verdict"),
        ("first_ts", TS, "first sign of the incident (UTC), when known"),
        ("last_ts", TS, "last sign of the incident (UTC), when known"),
        ("finding_ids", pa.list_(pa.int64()), "findings behind the verdict (primary first)"),
        ("anomaly_ids", pa.list_(pa.int64()), "anomalies behind the verdict"),
        ("run_ids", pa.list_(pa.int64()), "failed or errored test runs behind the verdict"),
    ),
}

_DUCKDB_TYPES: dict[pa.DataType, str] = {
    pa.string(): "VARCHAR",
    pa.int8(): "TINYINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    TS: "TIMESTAMP",
    pa.bool_(): "BOOLEAN",
}


def duckdb_type(typ: pa.DataType) -> str:
    """DuckDB column type for an Arrow type used in `TABLES`."""
    if pa.types.is_list(typ):
        return f"{duckdb_type(typ.value_type)}[]"
    if pa.types.is_struct(typ):
        inner = ", ".join(f"{f.name} {duckdb_type(f.type)}" for f in typ)
        return f"STRUCT({inner})"
    try:
        return _DUCKDB_TYPES[typ]
    except KeyError:
        raise ValueError(f"no DuckDB type for Arrow type {typ}") from None


def create_table_sql(name: str) -> str:
    """`CREATE TABLE` statement for one table of `TABLES`."""
    cols = ",\n  ".join(f'"{f.name}" {duckdb_type(f.type)}' for f in TABLES[name])
    return f"CREATE TABLE {name} (\n  {cols}\n)"


def column_names(name: str) -> list[str]:
    """Column names of a table, in declared order."""
    return TABLES[name].names
