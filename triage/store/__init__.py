"""Persistence: the DuckDB store, its migrations and Parquet export."""

from triage.store.store import MEMORY, Store, StoreError, host_condition

__all__ = ["MEMORY", "Store", "StoreError", "host_condition"]
