"""GPU identities announced by the driver: `NVRM: GPU at PCI:<bdf>: GPU-<uuid>` and the
`NVRM: GPU Board Serial Number: <serial>` line that follows it. They map a PCI address to
the UUID and serial an RMA needs, and land in `assets` (kind gpu)."""

from __future__ import annotations

import polars as pl

from triage.signatures.engine import normalize_device

KEYWORDS = ["NVRM: GPU at PCI:", "NVRM: GPU Board Serial Number:"]
_BDF = r"[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}(?:\.[0-7])?"
_AT = rf"NVRM: GPU at PCI:(?P<bdf>{_BDF}): (?P<uuid>GPU-[0-9a-fA-F-]{{36}})"
_SERIAL = r"NVRM: GPU Board Serial Number: (?P<serial>\S+)"


def gpu_assets(candidates: pl.DataFrame) -> pl.DataFrame:
    """One `assets` row per (host, GPU) from identity lines; the serial belongs to the GPU line before it."""
    lines = candidates.filter(pl.col("message").str.contains_any(KEYWORDS)).sort("host", "file_id", "line_no")
    if lines.height == 0:
        return pl.DataFrame(schema={"host": pl.String, "kind": pl.String, "device": pl.String})
    at = pl.col("message").str.extract_groups(_AT)
    lines = lines.with_columns(
        bdf=normalize_device(at.struct.field("bdf")),
        uuid=at.struct.field("uuid"),
        serial=pl.col("message").str.extract(_SERIAL, 1),
    )
    # A serial line names no GPU: it continues the `GPU at` line just before it in the same file.
    lines = lines.with_columns(
        owner=pl.col("bdf").forward_fill().over("host", "file_id"),
        owner_uuid=pl.col("uuid").forward_fill().over("host", "file_id"),
    )
    per_gpu = (
        lines.filter(pl.col("owner").is_not_null())
        .group_by("host", "owner", maintain_order=True)
        .agg(
            uuid=pl.col("owner_uuid").drop_nulls().last(),
            serial=pl.col("serial").drop_nulls().last(),
            file_id=pl.col("file_id").first(),
            line_no=pl.col("line_no").first(),
        )
    )
    return per_gpu.select(
        "host",
        pl.lit("gpu").alias("kind"),
        pl.col("owner").alias("device"),
        pl.col("owner").alias("pci_bdf"),
        "uuid",
        "serial",
        "file_id",
        "line_no",
    )
