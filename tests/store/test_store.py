"""The DuckDB store: opening, versioning, appending, transactions, read-only queries and Parquet export."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pytest

from triage.errors import TriageError
from triage.schema import SCHEMA_VERSION, TABLES
from triage.store import MEMORY, Store, StoreError

XID_48 = (
    "NVRM: Xid (PCI:0000:3b:00): 48, pid=1234, name=python3, An uncorrectable double bit error (DBE) "
    "has been detected on GPU in the framebuffer at partition 4, subpartition 1."
)


def events(host: str, messages: list[str], file_id: int = 1) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "host": [host] * len(messages),
            "file_id": [file_id] * len(messages),
            "line_no": list(range(1, len(messages) + 1)),
            "message": messages,
        }
    )


def meta_version(path: Path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT value FROM triage_meta WHERE key = 'schema_version'").fetchall()[0][0]
    finally:
        con.close()


# -- opening ------------------------------------------------------------------------------


def test_open_creates_a_file_store_with_every_table(db_path: Path) -> None:
    assert not db_path.exists()
    with Store.open(db_path) as store:
        assert store.path == str(db_path)
        assert store.read_only is False
        tables = set(store.frame("SELECT table_name FROM duckdb_tables()")["table_name"])
    assert db_path.is_file()
    assert tables == {*TABLES, "triage_meta"}


def test_schema_version_is_recorded(db_path: Path) -> None:
    Store.open(db_path).close()
    assert meta_version(db_path) == str(SCHEMA_VERSION)


def test_reopen_keeps_rows_and_version(db_path: Path) -> None:
    with Store.open(db_path) as store:
        assert store.append("events", events("node017", [XID_48, "second line"])) == 2
    with Store.open(db_path) as store:
        assert store.count("events") == 2
        assert store.table("events")["message"].to_list() == [XID_48, "second line"]
    with Store.open(db_path, read_only=True) as store:
        assert store.read_only is True
        assert store.query("SELECT count(*) AS n FROM events")["n"].to_list() == [2]
    assert meta_version(db_path) == str(SCHEMA_VERSION)


def test_memory_store_opens_and_is_empty() -> None:
    with Store.open(MEMORY) as store:
        assert {name: store.count(name) for name in TABLES} == dict.fromkeys(TABLES, 0)


@pytest.mark.parametrize("read_only", [pytest.param(False, id="read_write"), pytest.param(True, id="read_only")])
def test_newer_schema_version_is_refused(db_path: Path, read_only: bool) -> None:
    Store.open(db_path).close()
    con = duckdb.connect(str(db_path))
    con.execute("UPDATE triage_meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    con.close()
    with pytest.raises(StoreError) as info:
        Store.open(db_path, read_only=read_only)
    message = str(info.value)
    assert message == (
        f"{db_path}: database schema v{SCHEMA_VERSION + 1} is newer than this triage (v{SCHEMA_VERSION}); "
        "upgrade triage"
    )
    assert meta_version(db_path) == str(SCHEMA_VERSION + 1)  # left untouched


def test_read_only_open_of_missing_path_fails_and_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.duckdb"
    with pytest.raises(StoreError) as info:
        Store.open(path, read_only=True)
    assert str(info.value) == f"{path}: no triage database here (run `triage ingest` first)"
    assert not path.exists()


@pytest.mark.parametrize("read_only", [pytest.param(False, id="read_write"), pytest.param(True, id="read_only")])
def test_directory_path_is_refused(tmp_path: Path, read_only: bool) -> None:
    with pytest.raises(StoreError) as info:
        Store.open(tmp_path, read_only=read_only)
    assert str(info.value) == f"{tmp_path}: is a directory, not a database file"


def test_file_that_is_not_duckdb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("[ 4182.123456] this is a log, not a database\n")
    with pytest.raises(StoreError) as info:
        Store.open(path)
    assert str(info.value).startswith(f"{path}: cannot open database: ")
    assert "\n" not in str(info.value)


def test_duckdb_file_of_another_program_is_refused(db_path: Path) -> None:
    con = duckdb.connect(str(db_path))
    con.execute("CREATE TABLE files (name VARCHAR)")
    con.close()
    with pytest.raises(StoreError) as info:
        Store.open(db_path)
    assert str(info.value) == f"{db_path}: not a triage database (tables without triage_meta)"


def test_empty_duckdb_file_opened_read_only_is_not_a_triage_database(db_path: Path) -> None:
    con = duckdb.connect(str(db_path))
    con.execute("CREATE TABLE notes (text VARCHAR)")
    con.close()
    with pytest.raises(StoreError) as info:
        Store.open(db_path, read_only=True)
    assert str(info.value) == f"{db_path}: not a triage database (no triage tables in it)"


def test_store_error_is_a_triage_error() -> None:
    assert issubclass(StoreError, TriageError)


# -- appending ------------------------------------------------------------------------------


def test_append_fills_missing_columns_with_null(store: Store) -> None:
    assert store.append("events", events("node017", [XID_48])) == 1
    row = store.table("events").row(0, named=True)
    assert row == {
        "host": "node017",
        "file_id": 1,
        "line_no": 1,
        "ts": None,
        "uptime_s": None,
        "boot": None,
        "boot_id": None,
        "source": None,
        "facility": None,
        "priority": None,
        "ident": None,
        "message": XID_48,
    }


def test_append_casts_to_declared_types(store: Store) -> None:
    frame = pl.DataFrame(
        {
            "host": ["node017"],
            "file_id": [7],  # polars Int64 → INTEGER
            "line_no": [4182],
            "ts": [datetime(2026, 11, 20, 3, 12, 9, 123456)],
            "priority": [3],
            "message": [XID_48],
        }
    )
    store.append("events", frame)
    got = store.table("events")
    assert got.schema["file_id"] == pl.Int32
    assert got.schema["priority"] == pl.Int8
    assert got.row(0, named=True)["ts"] == datetime(2026, 11, 20, 3, 12, 9, 123456)


def test_append_accepts_an_arrow_table(store: Store) -> None:
    table = pa.table({"host": ["node018", "node018"], "line_no": [1, 2], "message": ["a", "b"]})
    assert store.append("events", table) == 2
    assert store.frame("SELECT host, line_no, message FROM events ORDER BY line_no").rows() == [
        ("node018", 1, "a"),
        ("node018", 2, "b"),
    ]


def test_append_rejects_unknown_columns_and_writes_nothing(store: Store) -> None:
    frame = events("node017", [XID_48]).with_columns(pl.lit("x").alias("bogus"), pl.lit(1).alias("gpu"))
    with pytest.raises(ValueError, match=r"^events: unknown columns \['bogus', 'gpu'\]$"):
        store.append("events", frame)
    assert store.count("events") == 0


def test_append_round_trips_list_and_struct_columns(store: Store) -> None:
    frame = pl.DataFrame(
        {
            "diagnosis_id": [1],
            "host": ["node017"],
            "related": [["xid-94", "dcgm-diag-memory"]],
            "evidence": [[{"file_id": 3, "line_no": 4182}, {"file_id": 3, "line_no": 4190}]],
        }
    )
    store.append("diagnoses", frame)
    row = store.table("diagnoses").row(0, named=True)
    assert row["related"] == ["xid-94", "dcgm-diag-memory"]
    assert row["evidence"] == [{"file_id": 3, "line_no": 4182}, {"file_id": 3, "line_no": 4190}]


def test_next_id_counts_on_from_existing_rows(store: Store) -> None:
    store.append("files", pl.DataFrame({"file_id": [41], "path": ["node017/dmesg.log"], "status": ["ok"]}))
    assert [store.next_id("files", "file_id") for _ in range(3)] == [42, 43, 44]
    assert store.next_id("test_runs", "run_id") == 1


# -- transactions ---------------------------------------------------------------------------


def test_transaction_rollback_leaves_nothing(store: Store) -> None:
    store.append("events", events("node017", ["before"]))
    with pytest.raises(RuntimeError, match="disk on fire"), store.transaction():
        store.append("events", events("node017", [XID_48, "more"], file_id=2))
        store.append("files", pl.DataFrame({"file_id": [2], "status": ["ok"]}))
        raise RuntimeError("disk on fire")
    assert store.count("events") == 1
    assert store.count("files") == 0
    assert store.table("events")["message"].to_list() == ["before"]


def test_transaction_commit_keeps_everything(db_path: Path) -> None:
    with Store.open(db_path) as store, store.transaction():
        store.append("events", events("node017", [XID_48, "more"]))
        store.append("files", pl.DataFrame({"file_id": [1], "status": ["ok"]}))
    with Store.open(db_path, read_only=True) as store:
        assert (store.count("events"), store.count("files")) == (2, 1)


# -- reading --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param("SELECT count(*) AS n FROM events", [(2,)], id="select"),
        pytest.param("select host from events where line_no = 2", [("node017",)], id="select_lowercase"),
        pytest.param(
            "WITH x AS (SELECT host, count(*) AS n FROM events GROUP BY host) SELECT host, n FROM x",
            [("node017", 2)],
            id="with",
        ),
        pytest.param("SELECT 1 AS a; SELECT 2 AS b", [(2,)], id="two_selects_last_wins"),
    ],
)
def test_query_runs_read_only_sql(store: Store, sql: str, expected: list[tuple[object, ...]]) -> None:
    store.append("events", events("node017", [XID_48, "second"]))
    assert store.query(sql).rows() == expected


def test_query_accepts_explain(store: Store) -> None:
    plan = store.query("EXPLAIN SELECT * FROM events WHERE host = 'node017'")
    assert plan.height >= 1
    assert "explain_value" in plan.columns


@pytest.mark.parametrize(
    ("sql", "kind"),
    [
        pytest.param("INSERT INTO events (host, message) VALUES ('node017', 'x')", "INSERT", id="insert"),
        pytest.param("DELETE FROM events", "DELETE", id="delete"),
        pytest.param("UPDATE events SET host = 'x'", "UPDATE", id="update"),
        pytest.param("CREATE TABLE stolen AS SELECT * FROM events", "CREATE", id="create"),
        pytest.param("DROP TABLE events", "DROP", id="drop"),
        pytest.param("ATTACH 'other.duckdb' AS other", "ATTACH", id="attach"),
        pytest.param("COPY events TO 'events.csv'", "COPY", id="copy"),
        pytest.param("SELECT 1; DELETE FROM events", "DELETE", id="select_then_delete"),
    ],
)
def test_query_refuses_writes_with_one_line(store: Store, sql: str, kind: str) -> None:
    store.append("events", events("node017", [XID_48]))
    with pytest.raises(StoreError) as info:
        store.query(sql)
    assert str(info.value) == f"query: only read-only statements are allowed, not {kind}"
    assert store.count("events") == 1
    assert "stolen" not in set(store.frame("SELECT table_name FROM duckdb_tables()")["table_name"])


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("DELETE FROM events", id="delete"),
        pytest.param("UPDATE events SET message = 'overwritten'", id="update"),
        pytest.param("CREATE TABLE stolen AS SELECT * FROM events", id="create"),
        pytest.param("COPY events TO '{out}'", id="copy_to_file"),
    ],
)
def test_query_refuses_writes_hidden_behind_explain_analyze(store: Store, tmp_path: Path, statement: str) -> None:
    """EXPLAIN ANALYZE runs the statement it explains: it must not open a way around the read-only check."""
    store.append("events", events("node017", [XID_48]))
    out = tmp_path / "leak.csv"
    with pytest.raises(StoreError) as info:
        store.query("EXPLAIN ANALYZE " + statement.format(out=out))
    assert "\n" not in str(info.value)
    assert store.table("events")["message"].to_list() == [XID_48]
    assert "stolen" not in set(store.frame("SELECT table_name FROM duckdb_tables()")["table_name"])
    assert not out.exists()


@pytest.mark.parametrize(
    ("sql", "prefix"),
    [
        pytest.param("", "query: empty SQL", id="empty"),
        pytest.param("SELEC host FROM events", "query: Parser Error: ", id="syntax_error"),
        pytest.param("SELECT nope FROM events", "query: Binder Error: ", id="unknown_column"),
    ],
)
def test_query_errors_are_one_line(store: Store, sql: str, prefix: str) -> None:
    with pytest.raises(StoreError) as info:
        store.query(sql)
    assert str(info.value).startswith(prefix)
    assert "\n" not in str(info.value)


def test_table_rejects_unknown_name(store: Store) -> None:
    with pytest.raises(StoreError, match="no table 'triage_meta'; tables: files, events, "):
        store.table("triage_meta")


# -- export ---------------------------------------------------------------------------------


def test_export_parquet_writes_hive_partitions_readable_by_polars(store: Store, tmp_path: Path) -> None:
    store.append("events", events("node017", [XID_48, "a", "b"], file_id=1))
    store.append("events", events("node018", ["c", "d"], file_id=2))
    store.append(
        "files",
        pl.DataFrame({"file_id": [1, 2], "host": ["node017", "node018"], "path": ["n17/dmesg", "n18/dmesg"]}),
    )
    store.append(
        "findings",
        pl.DataFrame(
            {
                "finding_id": [1],
                "host": ["node017"],
                "rule_id": ["xid-48"],
                "evidence": [[{"file_id": 1, "line_no": 1}]],
            }
        ),
    )
    out = tmp_path / "export"
    counts = store.export_parquet(out)
    assert counts == {
        "files": 2,
        "events": 5,
        "measurements": 0,
        "test_runs": 0,
        "assets": 0,
        "findings": 1,
        "anomalies": 0,
        "diagnoses": 0,
    }
    assert sorted(p.name for p in out.iterdir()) == ["events", "files", "findings"]  # empty tables skipped
    assert sorted(p.name for p in (out / "events").iterdir()) == ["host=node017", "host=node018"]
    assert list((out / "events" / "host=node017").glob("*.parquet"))
    assert list((out / "events" / "host=node018").glob("*.parquet"))

    frame = pl.read_parquet(out / "events" / "**" / "*.parquet", hive_partitioning=True)
    assert frame.height == store.count("events")
    per_host = dict(frame.group_by("host").len().sort("host").iter_rows())
    assert per_host == {"node017": 3, "node018": 2}
    assert sorted(frame["message"].to_list()) == sorted([XID_48, "a", "b", "c", "d"])

    findings = pl.read_parquet(out / "findings" / "**" / "*.parquet", hive_partitioning=True)
    assert findings["evidence"].to_list() == [[{"file_id": 1, "line_no": 1}]]


def test_export_parquet_of_empty_store_writes_no_table(store: Store, tmp_path: Path) -> None:
    out = tmp_path / "export"
    counts = store.export_parquet(out)
    assert counts == dict.fromkeys(TABLES, 0)
    assert out.is_dir()
    assert list(out.iterdir()) == []


def test_export_parquet_into_a_file_is_refused(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "export.parquet"
    target.write_text("occupied\n")
    with pytest.raises(StoreError, match=r"exists and is not a directory$"):
        store.export_parquet(target)
    assert target.read_text() == "occupied\n"
