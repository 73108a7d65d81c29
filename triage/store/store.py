"""The DuckDB store: the only module that talks to DuckDB.

A store is one DuckDB file (or `:memory:`) holding the tables of `triage.schema`.
Writers append polars or Arrow frames; readers get polars frames back.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa

from triage.errors import TriageError
from triage.schema import SCHEMA_VERSION, TABLES
from triage.store import migrations

MEMORY = ":memory:"
# DuckDB buffer pool; ingest streams, so a modest pool keeps peak RSS bounded (override for big analyses).
DEFAULT_MEMORY_LIMIT = os.environ.get("TRIAGE_DUCKDB_MEMORY", "512MB")
# PRAGMAs that only read (anything else, e.g. enable_profiling, changes the connection).
_READ_PRAGMAS = re.compile(
    r"^\s*PRAGMA\s+(show_tables|show_tables_expanded|table_info|show|database_size|database_list|"
    r"storage_info|version|functions|platform|metadata_info)\b",
    re.IGNORECASE,
)
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(ANALY[SZ]E\s+)?", re.IGNORECASE)
# Tables whose rows point back to the file they came from.
FILE_TABLES = [name for name, schema in TABLES.items() if "file_id" in schema.names and name != "files"]


def host_condition(hosts: list[str] | None, column: str = "host") -> tuple[str, list[Any]]:
    """A SQL condition limiting `column` to `hosts`, and its parameters; `TRUE` when `hosts` is None."""
    if hosts is None:
        return "TRUE", []
    return f"{column} IN (SELECT unnest(?::VARCHAR[]))", [hosts]


class StoreError(TriageError):
    """The store cannot be opened or a query against it failed."""


class Store:
    """An open triage store. Use `Store.open(path)`; close it or use it as a context manager."""

    def __init__(self, con: duckdb.DuckDBPyConnection, path: str, read_only: bool) -> None:
        self._con = con
        self.path = path
        self.read_only = read_only
        self._ids: dict[tuple[str, str], int] = {}

    # -- opening -----------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike[str] = "triage.duckdb", read_only: bool = False) -> Store:
        """Open (and create or migrate, unless `read_only`) the store at `path`."""
        path = str(path)
        if path != MEMORY:
            if read_only and not Path(path).exists():
                raise StoreError(f"{path}: no triage database here (run `triage ingest` first)")
            if Path(path).is_dir():
                raise StoreError(f"{path}: is a directory, not a database file")
        try:
            con = duckdb.connect(path, read_only=read_only and path != MEMORY)
        except duckdb.Error as exc:
            raise StoreError(f"{path}: cannot open database: {_first_line(exc)}") from exc
        store = cls(con, path, read_only)
        try:
            con.execute(f"SET memory_limit = '{DEFAULT_MEMORY_LIMIT}'")
            con.execute("SET TimeZone = 'UTC'")
            store._prepare()
            if not store.read_only:
                store._recover()
        except BaseException:
            con.close()
            raise
        return store

    def _prepare(self) -> None:
        version = self._schema_version()
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: database schema v{version} is newer than this triage (v{SCHEMA_VERSION}); upgrade triage"
            )
        if self.read_only and version == 0:
            raise StoreError(f"{self.path}: not a triage database (no triage tables in it)")
        if self.read_only:
            raise StoreError(
                f"{self.path}: database schema v{version} is older than v{SCHEMA_VERSION}; "
                "open it once for writing (e.g. `triage ingest`) to migrate it"
            )
        statements = migrations.create_statements() if version == 0 else migrations.upgrade_statements(version)
        with self.transaction():
            self._con.execute("CREATE TABLE IF NOT EXISTS triage_meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
            for sql in statements:
                self._con.execute(sql)
            self._con.execute("INSERT OR REPLACE INTO triage_meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    def _schema_version(self) -> int:
        tables = {name for (name,) in self._con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "triage_meta" not in tables:
            if tables & set(TABLES):
                raise StoreError(f"{self.path}: not a triage database (tables without triage_meta)")
            return 0
        rows = self._con.sql("SELECT value FROM triage_meta WHERE key = 'schema_version'").fetchall()
        return int(rows[0][0]) if rows else 0

    # -- lifecycle ---------------------------------------------------------------
    def close(self) -> None:
        """Close the connection; the store is unusable afterwards."""
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def begin(self) -> None:
        """Start a transaction (see `transaction()` for the usual form)."""
        self._con.execute("BEGIN TRANSACTION")

    def commit(self) -> None:
        """Commit the open transaction."""
        self._con.execute("COMMIT")

    def rollback(self) -> None:
        """Roll back the open transaction; cached id counters are re-read afterwards."""
        self._con.execute("ROLLBACK")
        self._ids.clear()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside lands together or not at all."""
        self.begin()
        try:
            yield
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def discard_file(self, file_id: int) -> None:
        """Delete a file and every row that came from it, in one transaction."""
        with self.transaction():
            for table in FILE_TABLES:
                self._con.execute(f"DELETE FROM {table} WHERE file_id = ?", [file_id])
            self._con.execute("DELETE FROM files WHERE file_id = ?", [file_id])

    def _recover(self) -> None:
        """Remove files a stopped run left half-loaded (status 'loading')."""
        loading = self._con.sql("SELECT file_id FROM files WHERE status = 'loading'").fetchall()
        for (file_id,) in loading:
            self.discard_file(file_id)

    # -- writing -----------------------------------------------------------------
    def append(self, table: str, frame: pl.DataFrame | pa.Table) -> int:
        """Append rows to `table`; missing columns become null, extra columns are an error."""
        schema = TABLES[table]
        data = frame.to_arrow() if isinstance(frame, pl.DataFrame) else frame
        extra = set(data.column_names) - set(schema.names)
        if extra:
            raise ValueError(f"{table}: unknown columns {sorted(extra)}")
        columns = [
            data.column(f.name).cast(f.type) if f.name in data.column_names else pa.nulls(data.num_rows, f.type)
            for f in schema
        ]
        batch = pa.Table.from_arrays(columns, schema=schema)
        self._con.register("_triage_batch", batch)
        try:
            self._con.execute(f"INSERT INTO {table} SELECT * FROM _triage_batch")
        finally:
            self._con.unregister("_triage_batch")
        return batch.num_rows

    def append_numbered(self, table: str, frame: pl.DataFrame, column: str) -> int:
        """Append `frame` to `table` with `column` numbered 1, 2, ... after the largest id already there."""
        if frame.is_empty():
            return 0
        (top,) = self._con.sql(f"SELECT coalesce(max({column}), 0) FROM {table}").fetchall()[0]
        ids = pl.int_range(top + 1, top + 1 + frame.height, dtype=pl.Int64, eager=True).alias(column)
        return self.append(table, frame.with_columns(ids))

    def next_id(self, table: str, column: str) -> int:
        """A fresh id for `table.column`, unique for the life of this store object."""
        key = self._id_key(table, column)
        self._ids[key] += 1
        return self._ids[key]

    def reserve_ids(self, table: str, column: str, upto: int) -> None:
        """Make sure `next_id` hands out only ids above `upto` (ids a caller numbered itself)."""
        key = self._id_key(table, column)
        self._ids[key] = max(self._ids[key], upto)

    def _id_key(self, table: str, column: str) -> tuple[str, str]:
        key = (table, column)
        if key not in self._ids:
            (current,) = self._con.sql(f"SELECT coalesce(max({column}), 0) FROM {table}").fetchall()[0]
            self._ids[key] = int(current)
        return key

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        """Run a statement that returns nothing (DML/DDL). Library use only."""
        self._con.execute(sql, params or [])

    # -- reading -----------------------------------------------------------------
    def frame(self, sql: str, params: list[Any] | None = None) -> pl.DataFrame:
        """Run a query of the library and return its rows as a polars frame."""
        return self._con.sql(sql, params=params or None).pl()

    def batches(self, sql: str, params: list[Any] | None = None, rows: int = 1_000_000) -> Iterator[pl.DataFrame]:
        """Run a query of the library and stream its rows as polars frames of at most `rows` rows."""
        reader = self._con.sql(sql, params=params or None).to_arrow_reader(rows)
        for batch in reader:
            yield pl.from_arrow(batch)  # type: ignore[misc]

    def query(self, sql: str) -> pl.DataFrame:
        """Run a user's read-only SQL (SELECT, WITH, EXPLAIN, ...) and return a polars frame."""
        try:
            statements = self._con.extract_statements(sql)
        except duckdb.Error as exc:
            raise StoreError(f"query: {_first_line(exc)}") from exc
        if not statements:
            raise StoreError("query: empty SQL")
        for st in statements:
            refusal = _write_risk(self._con, st)
            if refusal:
                raise StoreError(f"query: only read-only statements are allowed, not {refusal}")
        try:
            for st in statements[:-1]:
                self._con.sql(st.query).fetchall()
            return self._con.sql(statements[-1].query).pl()
        except duckdb.Error as exc:
            raise StoreError(f"query: {_first_line(exc)}") from exc

    def table(self, name: str) -> pl.DataFrame:
        """A whole table as a polars frame."""
        if name not in TABLES:
            raise StoreError(f"no table {name!r}; tables: {', '.join(TABLES)}")
        return self.frame(f"SELECT * FROM {name}")

    def count(self, table: str) -> int:
        """Number of rows in `table`."""
        return int(self._con.sql(f"SELECT count(*) FROM {table}").fetchall()[0][0])

    # -- export ------------------------------------------------------------------
    def export_parquet(self, directory: str | os.PathLike[str]) -> dict[str, int]:
        """Write every table as Hive-partitioned Parquet (`DIR/table/host=.../*.parquet`).

        Returns the row count written per table; empty tables write nothing.
        """
        out = Path(directory)
        if out.exists() and not out.is_dir():
            raise StoreError(f"{out}: exists and is not a directory")
        out.mkdir(parents=True, exist_ok=True)
        counts: dict[str, int] = {}
        for name in TABLES:
            n = self.count(name)
            counts[name] = n
            if n == 0:
                continue
            target = (out / name).as_posix().replace("'", "''")
            self._con.execute(
                f"COPY (SELECT * FROM {name}) TO '{target}' "
                "(FORMAT parquet, PARTITION_BY (host), OVERWRITE_OR_IGNORE true)"
            )
        return counts


def _write_risk(con: duckdb.DuckDBPyConnection, statement: Any) -> str | None:
    """Why a parsed statement is not read-only (its kind), or None when it only reads."""
    kind = statement.type.name
    text = statement.query
    if kind == "SELECT":
        return None
    if kind == "PRAGMA":
        return None if _READ_PRAGMAS.match(text) else "this PRAGMA"
    if kind == "EXPLAIN":
        explain = _EXPLAIN.match(text)
        if explain is None or explain.group(1):
            return "EXPLAIN ANALYZE"  # it runs the statement
        inner = con.extract_statements(text[explain.end() :])
        return None if all(st.type.name == "SELECT" for st in inner) else f"EXPLAIN of {inner[0].type.name}"
    return kind


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
