"""Collecting the rows of structured formats (test outputs, inventories, counters).

Documents such as an nvidia-smi XML dump or a dcgmi diag table give a few hundred
values per file, so their parsers add rows one at a time to a `Records` and turn them
into typed frames once. Line-oriented formats with many rows build frames directly.

Device naming (the same in every table):
  GPU          PCI address `0000:3b:00.0` (`normalize_bdf`); a tool that only knows the
               index writes `gpu3` (`gpu_ref`), which the ingest replaces by the PCI
               address once an inventory of the same host names it
  GPU pair     `<src>-><dst>` of the names above (`0000:3b:00.0->0000:5d:00.0`, `gpu0->gpu1`)
  HCA port     `<ca>/<port>` (`mlx5_3/1`); a port known only by GUID or LID `0x<guid>/<port>`, `lid<n>/<port>`
  NVSwitch     PCI address
  node         null
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any

import polars as pl

from triage.schema import TABLES

# Values the parsers record in `unit`.
GBPS = "GB/s"  # gigabytes per second (bandwidths of nccl-tests, nvbandwidth)
GBITPS = "Gbit/s"  # gigabits per second (link rates)
WATT = "W"
CELSIUS = "C"
MIB = "MiB"
MHZ = "MHz"
COUNT = "count"
SECONDS = "s"
MICROSECONDS = "us"
GFLOPS = "Gflops"
FLAG = "bool"  # 1 true, 0 false
ENUM = "enum"  # a numeric state code; its text is in `params`
PERCENT = "%"

_BDF_PATTERN = r"^(?:(?:PCI:)?([0-9a-fA-F]{1,8}):)?([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})(?:\.([0-7]))?$"
_BDF = re.compile(_BDF_PATTERN)


def normalize_bdf(text: str) -> str | None:
    """A PCI address as `dddd:bb:dd.f` lowercase (`00000000:3B:00.0` -> `0000:3b:00.0`), or None.

    The domain loses its leading zeros and is padded to 4 digits (an Intel VMD domain
    `10000` stays `10000`); a missing domain is 0000 and a missing function 0.
    """
    m = _BDF.match(text.strip())
    if not m:
        return None
    domain, bus, dev, fn = m.groups()
    domain = (domain or "0").lower().lstrip("0").rjust(4, "0")
    return f"{domain}:{int(bus, 16):02x}:{int(dev, 16):02x}.{fn or '0'}"


def bdf_expr(text: pl.Expr) -> pl.Expr:
    """`normalize_bdf` over a column: null where the value is not a PCI address."""
    parts = text.str.strip_chars().str.extract_groups(_BDF_PATTERN)
    domain = parts.struct.field("1").fill_null("0").str.to_lowercase().str.strip_chars_start("0").str.zfill(4)
    bus = parts.struct.field("2").str.to_lowercase().str.zfill(2)
    dev = parts.struct.field("3").str.to_lowercase().str.zfill(2)
    function = parts.struct.field("4").fill_null("0")
    return pl.when(parts.struct.field("2").is_not_null()).then(pl.format("{}:{}:{}.{}", domain, bus, dev, function))


def gpu_ref(index: int) -> str:
    """The device name of a GPU known only by its index: `gpu3`."""
    return f"gpu{index}"


def canonical_json(params: dict[str, Any] | None) -> str | None:
    """Parameters as compact JSON with sorted keys (None when there are none)."""
    if not params:
        return None
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


class Malformed(Exception):
    """A recognised file breaks its format at `line_no`; rows collected before it are kept."""

    def __init__(self, line_no: int | None, message: str) -> None:
        super().__init__(message)
        self.line_no = line_no
        self.message = message

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.message}" if self.line_no else self.message


@dataclass
class Records:
    """Rows of `measurements`, `test_runs` and `assets` gathered while reading one file."""

    measurements: list[dict[str, Any]] = field(default_factory=list)
    test_runs: list[dict[str, Any]] = field(default_factory=list)
    assets: list[dict[str, Any]] = field(default_factory=list)

    def measure(
        self,
        device: str | None,
        test: str,
        metric: str,
        value: float | None,
        unit: str,
        line_no: int | None,
        params: dict[str, Any] | None = None,
        run_id: int | None = None,
        ts: datetime | None = None,
        host: str | None = None,
    ) -> None:
        """Add one measurement; a None value (an `N/A` cell) is skipped."""
        if value is None:
            return
        self.measurements.append(
            {
                "host": host,
                "device": device,
                "test": test,
                "metric": metric,
                "value": float(value),
                "unit": unit,
                "ts": ts,
                "params": canonical_json(params),
                "run_id": run_id,
                "line_no": line_no,
            }
        )

    def run(
        self,
        device: str | None,
        test: str,
        status: str,
        line_no: int | None,
        params: dict[str, Any] | None = None,
        detail: str | None = None,
        started: datetime | None = None,
        ended: datetime | None = None,
        host: str | None = None,
    ) -> int:
        """Add one test run and return its run id (1, 2, ... within the file)."""
        if status not in ("pass", "fail", "error", "incomplete"):
            raise ValueError(f"unknown test status {status!r}")
        run_id = len(self.test_runs) + 1
        self.test_runs.append(
            {
                "run_id": run_id,
                "host": host,
                "device": device,
                "test": test,
                "status": status,
                "started": started,
                "ended": ended,
                "params": canonical_json(params),
                "detail": detail,
                "line_no": line_no,
            }
        )
        return run_id

    def set_status(self, run_id: int, status: str, detail: str | None = None) -> None:
        """Change the status (and detail) of a run added before."""
        row = self.test_runs[run_id - 1]
        row["status"] = status
        if detail is not None:
            row["detail"] = detail

    def asset(
        self, kind: str, device: str | None, line_no: int | None, host: str | None = None, **identity: Any
    ) -> None:
        """Add one device seen: `identity` holds index, pci_bdf, uuid, serial, part_number, model, firmware, driver."""
        unknown = set(identity) - set(TABLES["assets"].names)
        if unknown:
            raise ValueError(f"unknown asset fields {sorted(unknown)}")
        self.assets.append({"host": host, "kind": kind, "device": device, "line_no": line_no, **identity})

    def frames(self) -> dict[str, pl.DataFrame]:
        """The rows as frames with the columns of their tables (less `file_id`)."""
        out = {}
        for table in ("measurements", "test_runs", "assets"):
            rows = getattr(self, table)
            if rows:
                out[table] = table_frame(table, rows)
        return out


def table_frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Rows (dicts with any subset of the table's columns) as a frame with the table's columns, less `file_id`."""
    schema = _row_schema(table)
    return pl.DataFrame([{name: row.get(name) for name in schema} for row in rows], schema=schema, orient="row")


@cache
def _row_schema(table: str) -> dict[str, pl.DataType]:
    """The polars types of a table's columns, less `file_id`."""
    schema = pl.from_arrow(TABLES[table].empty_table()).schema  # type: ignore[union-attr]
    return {name: dtype for name, dtype in schema.items() if name != "file_id"}


__all__ = [
    "COUNT",
    "ENUM",
    "FLAG",
    "GBITPS",
    "GBPS",
    "Malformed",
    "Records",
    "bdf_expr",
    "canonical_json",
    "gpu_ref",
    "normalize_bdf",
    "table_frame",
]
