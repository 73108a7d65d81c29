"""Device identity for an RMA, merged from the `assets` rows of every file that saw the device.

One device is usually seen by several files: the kernel log (PCI address, UUID, serial),
nvidia-smi (everything), nvbandwidth or nccl-tests (index, model). `merged_assets` keeps, per
host and device, the first non-null value of each field, taking sources in order of trust
(nvidia-smi, then bug reports, then kernel logs, InfiniBand tools, anything else; within one
source the row with more fields first). `identity` shapes one device's merged row into the
keys a vendor asks for, keeping only known values:

- GPU: index, pci_bdf, serial, uuid, model, part_number, vbios, driver
- HCA port (`mlx5_2/1`): name, port, guid, pci_bdf, firmware, model, part_number
- NVSwitch: pci_bdf, index, serial, uuid, model, part_number, firmware, driver
- DIMM (EDAC label): slot, serial, part_number, model
- node (no device): serial, when a node asset has one
- another PCI address (a root port): pci_bdf
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from triage.store import Store, host_condition

FIELDS = ("index", "pci_bdf", "uuid", "serial", "part_number", "model", "firmware", "driver")
SOURCE_PRIORITY = {"nvidia_smi": 0, "bug_report": 1, "kernel_log": 2, "ib_status": 3, "ib_counters": 4}
BDF = re.compile(r"^[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$")
HCA_PORT = re.compile(r"^(?P<name>[A-Za-z][\w.-]*?)/(?P<port>\d+)$")
HCA_NAME = re.compile(r"^(mlx\d+_\w+|ib[a-z]*\d+\w*|hfi\d+_\d+|bnxt_re\d+|irdma\d+)$")
DIMM = re.compile(r"DIMM|CPU_SrcID|^mc\d+|csrow", re.IGNORECASE)


def merged_assets(store: Store, hosts: list[str] | None = None) -> pl.DataFrame:
    """One row per host, kind and device: the first non-null value of each field by source trust."""
    where, params = host_condition(hosts, "a.host")
    cases = " ".join(f"WHEN '{kind}' THEN {rank}" for kind, rank in SOURCE_PRIORITY.items())
    filled = " + ".join(f"(a.{f} IS NOT NULL)::INT" for f in FIELDS)
    order = "ORDER BY prio, filled DESC, file_id, line_no"
    fields = ", ".join(f'first("{f}" {order}) FILTER (WHERE "{f}" IS NOT NULL) AS "{f}"' for f in FIELDS)
    return store.frame(
        f"""
        SELECT host, kind, device, {fields}
        FROM (
            SELECT a.*, CASE f.kind {cases} ELSE {len(SOURCE_PRIORITY)} END AS prio, {filled} AS filled
            FROM assets a LEFT JOIN files f ON f.file_id = a.file_id
            WHERE {where}
        )
        GROUP BY host, kind, device
        ORDER BY host, kind, device
        """,
        params,
    )


def hca_names(assets: pl.DataFrame) -> pl.DataFrame:
    """Per host and HCA name (`mlx5_2`), the fields all its ports agree on; port and GUID when it has one port."""
    ports = assets.filter((pl.col("kind") == "hca") & pl.col("device").str.contains("/")).with_columns(
        pl.col("device").str.split("/").list.first().alias("name")
    )
    agree = [
        pl.when(pl.col(f).drop_nulls().n_unique() == 1).then(pl.col(f).drop_nulls().first()).alias(f)
        for f in ("pci_bdf", "part_number", "model", "firmware", "serial")
    ]
    single = pl.len() == 1
    return ports.group_by("host", "name").agg(
        *agree,
        pl.when(single).then(pl.col("uuid").first()).alias("uuid"),
        pl.when(single).then(pl.col("device").first()).alias("port_device"),
    )


def identity(kind: str | None, device: str | None, component: str | None, row: dict[str, Any] | None) -> dict[str, Any]:
    """The identity keys of one device (see the module doc); `row` is its merged asset row or None."""
    row = row or {}
    kind = kind or guess_kind(device, component)
    if kind == "gpu":
        out = {
            "index": row.get("index"),
            "pci_bdf": row.get("pci_bdf") or _bdf(device),
            "serial": row.get("serial"),
            "uuid": row.get("uuid"),
            "model": row.get("model"),
            "part_number": row.get("part_number"),
            "vbios": row.get("firmware"),
            "driver": row.get("driver"),
        }
    elif kind == "hca":
        name, port = _hca_parts(row.get("port_device") or device)
        out = {
            "name": name,
            "port": port,
            "guid": row.get("uuid"),
            "pci_bdf": row.get("pci_bdf"),
            "firmware": row.get("firmware"),
            "model": row.get("model"),
            "part_number": row.get("part_number"),
        }
    elif kind == "nvswitch":
        out = {
            "pci_bdf": row.get("pci_bdf") or _bdf(device),
            "index": row.get("index"),
            "serial": row.get("serial"),
            "uuid": row.get("uuid"),
            "model": row.get("model"),
            "part_number": row.get("part_number"),
            "firmware": row.get("firmware"),
            "driver": row.get("driver"),
        }
    elif kind == "dimm":
        out = {
            "slot": device,
            "serial": row.get("serial"),
            "part_number": row.get("part_number"),
            "model": row.get("model"),
        }
    elif kind == "node":
        out = {"serial": row.get("serial")}
    elif kind == "pci":
        out = {"pci_bdf": _bdf(device)}
    else:
        out = {}
    return {k: v for k, v in out.items() if v is not None and v != ""}


def guess_kind(device: str | None, component: str | None) -> str | None:
    """The identity shape of a device no asset describes, from its name and component."""
    if device is None or device == "":
        return "node"
    if BDF.match(device):
        return component if component in ("gpu", "nvswitch") else "pci"
    if HCA_PORT.match(device) or HCA_NAME.match(device) or component in ("hca", "cable"):
        return "hca"
    if component == "dimm" or DIMM.search(device):
        return "dimm"
    return None


def _bdf(device: str | None) -> str | None:
    return device if device is not None and BDF.match(device) else None


def _hca_parts(device: str | None) -> tuple[str | None, int | None]:
    if device is None:
        return None, None
    m = HCA_PORT.match(device)
    if m:
        return m["name"], int(m["port"])
    return device, None


def identities(store: Store, devices: pl.DataFrame, hosts: list[str] | None = None) -> list[dict[str, Any]]:
    """The identity of each row of `devices` (host, device, component), in order."""
    assets = merged_assets(store, hosts)
    rows = devices.select("host", "device", "component").with_row_index("_i")
    exact = (
        rows.join(assets.rename({"kind": "asset_kind"}), on=["host", "device"], how="left")
        .unique("_i", keep="first")
        .sort("_i")
    )
    names = hca_names(assets).rename({"name": "device"}).with_columns(pl.lit("hca").alias("asset_kind"))
    by_name = rows.join(names, on=["host", "device"], how="inner")
    fallback = {r["_i"]: r for r in by_name.iter_rows(named=True)}
    serials = node_serials(store, hosts)
    out = []
    for r in exact.iter_rows(named=True):
        if r["device"] is None:
            out.append(identity("node", None, r["component"], {"serial": serials.get(r["host"])}))
        elif r["asset_kind"] is not None:
            out.append(identity(r["asset_kind"], r["device"], r["component"], r))
        elif r["_i"] in fallback:
            out.append(identity("hca", r["device"], r["component"], fallback[r["_i"]]))
        else:
            out.append(identity(None, r["device"], r["component"], None))
    return out


def node_serials(store: Store, hosts: list[str] | None = None) -> dict[str, str]:
    """Host -> node serial, for hosts whose node asset has one."""
    where, params = host_condition(hosts)
    frame = store.frame(
        f"SELECT host, min(serial) AS serial FROM assets WHERE kind = 'node' AND serial IS NOT NULL AND {where} "
        "GROUP BY host",
        params,
    )
    return dict(zip(frame["host"].to_list(), frame["serial"].to_list(), strict=True))
