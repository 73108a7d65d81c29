"""Persistence: the DuckDB store, its migrations and Parquet export."""

from triage.store.store import MEMORY, Store, StoreError

__all__ = ["MEMORY", "Store", "StoreError"]
