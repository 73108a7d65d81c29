"""Schema migrations.

A new store is created directly at `SCHEMA_VERSION` from `triage.schema.TABLES`.
An existing store at an older version is brought forward by `UPGRADES[v]`, the SQL
that takes version `v` to `v + 1` (for example `ALTER TABLE ... ADD COLUMN ...`).
Changing a table therefore means three edits: the schema, `SCHEMA_VERSION`, and
one entry here.
"""

from __future__ import annotations

from triage.schema import SCHEMA_VERSION, TABLES, create_table_sql

UPGRADES: dict[int, list[str]] = {
    1: [
        "ALTER TABLE anomalies ADD COLUMN level VARCHAR",
        "ALTER TABLE anomalies ADD COLUMN evidence STRUCT(file_id INTEGER, line_no BIGINT)[]",
    ],
    2: [
        "ALTER TABLE diagnoses ADD COLUMN first_ts TIMESTAMP",
        "ALTER TABLE diagnoses ADD COLUMN last_ts TIMESTAMP",
        "ALTER TABLE diagnoses ADD COLUMN finding_ids BIGINT[]",
        "ALTER TABLE diagnoses ADD COLUMN anomaly_ids BIGINT[]",
        "ALTER TABLE diagnoses ADD COLUMN run_ids BIGINT[]",
    ],
}


def create_statements() -> list[str]:
    """SQL that creates every table of a new store at `SCHEMA_VERSION`."""
    return [create_table_sql(name) for name in TABLES]


def upgrade_statements(from_version: int) -> list[str]:
    """SQL that brings a store at `from_version` up to `SCHEMA_VERSION`."""
    missing = [v for v in range(from_version, SCHEMA_VERSION) if v not in UPGRADES]
    if missing:
        raise ValueError(f"no migration from schema version {missing[0]}")
    return [sql for v in range(from_version, SCHEMA_VERSION) for sql in UPGRADES[v]]
