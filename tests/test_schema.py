"""The table declarations: DDL that DuckDB accepts, column order, and the Arrow → DuckDB type map."""

from __future__ import annotations

import pyarrow as pa
import pytest

from triage.schema import EVIDENCE, SCHEMA_VERSION, TABLES, TS, column_names, create_table_sql, duckdb_type
from triage.store import Store

TABLE_NAMES = list(TABLES)


def duckdb_columns(store: Store, table: str) -> list[tuple[str, str]]:
    frame = store.frame(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ? ORDER BY column_index", [table]
    )
    return list(frame.iter_rows())


def test_tables_are_the_eight_of_the_design() -> None:
    assert TABLE_NAMES == [
        "files",
        "events",
        "measurements",
        "test_runs",
        "assets",
        "findings",
        "anomalies",
        "diagnoses",
    ]
    assert SCHEMA_VERSION >= 1


@pytest.mark.parametrize("table", TABLE_NAMES, ids=TABLE_NAMES)
def test_every_table_is_created_in_duckdb_with_declared_columns_and_types(table: str) -> None:
    with Store.open(":memory:") as store:
        columns = duckdb_columns(store, table)
    assert [name for name, _ in columns] == TABLES[table].names
    assert [typ for _, typ in columns] == [duckdb_type(f.type) for f in TABLES[table]]


@pytest.mark.parametrize("table", TABLE_NAMES, ids=TABLE_NAMES)
def test_create_table_sql_runs_on_a_bare_connection(table: str) -> None:
    import duckdb

    con = duckdb.connect(":memory:")
    try:
        con.execute(create_table_sql(table))
        names = [row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()]
    finally:
        con.close()
    assert names == column_names(table)


@pytest.mark.parametrize("table", TABLE_NAMES, ids=TABLE_NAMES)
def test_column_names_follow_declared_order(table: str) -> None:
    assert column_names(table) == [f.name for f in TABLES[table]]
    assert len(set(column_names(table))) == len(column_names(table))


@pytest.mark.parametrize("table", TABLE_NAMES, ids=TABLE_NAMES)
def test_every_column_is_documented(table: str) -> None:
    undocumented = [f.name for f in TABLES[table] if not (f.metadata or {}).get(b"doc")]
    assert undocumented == []


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        pytest.param(
            "files",
            ["file_id", "path", "host", "kind", "sha256", "bytes", "lines", "status", "error"],
            id="files",
        ),
        pytest.param(
            "events",
            ["host", "ts", "uptime_s", "boot", "source", "file_id", "line_no", "message"],
            id="events",
        ),
        pytest.param(
            "measurements",
            ["host", "device", "test", "metric", "value", "unit", "ts", "file_id", "line_no"],
            id="measurements",
        ),
        pytest.param("test_runs", ["host", "device", "test", "status", "started", "ended", "file_id"], id="test_runs"),
        pytest.param(
            "assets",
            [
                "host",
                "kind",
                "device",
                "index",
                "pci_bdf",
                "uuid",
                "serial",
                "part_number",
                "model",
                "firmware",
                "driver",
            ],
            id="assets",
        ),
        pytest.param(
            "findings",
            [
                "host",
                "device",
                "rule_id",
                "root_cause",
                "component",
                "action",
                "severity",
                "count",
                "first_ts",
                "last_ts",
                "evidence",
            ],
            id="findings",
        ),
        pytest.param(
            "anomalies",
            ["host", "device", "detector", "metric", "value", "baseline", "score", "threshold"],
            id="anomalies",
        ),
        pytest.param(
            "diagnoses",
            ["host", "device", "component", "root_cause", "action", "severity", "confidence", "summary"],
            id="diagnoses",
        ),
    ],
)
def test_design_key_columns_are_declared(table: str, columns: list[str]) -> None:
    missing = [c for c in columns if c not in column_names(table)]
    assert missing == []


def test_timestamps_are_naive_microseconds() -> None:
    assert pa.timestamp("us") == TS
    assert TS.tz is None
    stamps = [f.name for schema in TABLES.values() for f in schema if pa.types.is_timestamp(f.type)]
    assert stamps  # files.ingested_at, events.ts, ...
    assert all(f.type == TS for schema in TABLES.values() for f in schema if pa.types.is_timestamp(f.type))


@pytest.mark.parametrize(
    ("arrow", "expected"),
    [
        pytest.param(pa.string(), "VARCHAR", id="string"),
        pytest.param(pa.int8(), "TINYINT", id="int8"),
        pytest.param(pa.int32(), "INTEGER", id="int32"),
        pytest.param(pa.int64(), "BIGINT", id="int64"),
        pytest.param(pa.float64(), "DOUBLE", id="float64"),
        pytest.param(pa.timestamp("us"), "TIMESTAMP", id="timestamp_us"),
        pytest.param(pa.bool_(), "BOOLEAN", id="bool"),
        pytest.param(pa.list_(pa.string()), "VARCHAR[]", id="list_of_string"),
        pytest.param(pa.list_(pa.list_(pa.int64())), "BIGINT[][]", id="list_of_list"),
        pytest.param(
            pa.struct([("file_id", pa.int32()), ("line_no", pa.int64())]),
            "STRUCT(file_id INTEGER, line_no BIGINT)",
            id="struct",
        ),
        pytest.param(EVIDENCE, "STRUCT(file_id INTEGER, line_no BIGINT)[]", id="evidence_list_of_struct"),
        pytest.param(
            pa.struct([("tags", pa.list_(pa.string())), ("at", pa.timestamp("us"))]),
            "STRUCT(tags VARCHAR[], at TIMESTAMP)",
            id="struct_with_list",
        ),
    ],
)
def test_duckdb_type_maps_arrow_types(arrow: pa.DataType, expected: str) -> None:
    assert duckdb_type(arrow) == expected


@pytest.mark.parametrize(
    "arrow",
    [
        pytest.param(pa.float32(), id="float32"),
        pytest.param(pa.timestamp("us", tz="UTC"), id="timestamp_with_zone"),
        pytest.param(pa.timestamp("ns"), id="timestamp_ns"),
        pytest.param(pa.date32(), id="date32"),
        pytest.param(pa.list_(pa.uint16()), id="list_of_unsupported"),
    ],
)
def test_duckdb_type_refuses_unmapped_types(arrow: pa.DataType) -> None:
    with pytest.raises(ValueError, match="no DuckDB type for Arrow type"):
        duckdb_type(arrow)


def test_create_table_sql_quotes_every_column() -> None:
    sql = create_table_sql("events")
    assert sql.startswith("CREATE TABLE events (\n")
    assert '"index"' in create_table_sql("assets")  # a reserved word, quoted
    for name in column_names("events"):
        assert f'"{name}" ' in sql
