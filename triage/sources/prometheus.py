"""Prometheus text exposition: scrapes of dcgm-exporter, node_exporter and anything in that format.

Layouts (`files.format`): `dcgm_exporter` (the sniffed lines have `DCGM_*` series), `node_exporter`
(`node_*` series only), `exposition` (any other exporter or mix of exporters).

Every line is an event (a sample line carries its host and time). Each sample
`name{label="value",...} value [timestamp_ms]` becomes one measurement:

  test    `dcgm_exporter` for `DCGM_*` series, `node_exporter` for `node_*`, else `prometheus`
  host    the first of the labels `Hostname`, `hostname`, `host`, `instance` (without `:port`), `node`
  device  dcgm-exporter: the GPU's PCI address from `pci_bus_id`, else `gpu<index>` from `gpu`;
          node_exporter `node_infiniband_*{device="mlx5_0",port="1"}`: the HCA port `mlx5_0/1`
  ts      the sample's timestamp when it has one
  params  the labels not used for host, device or asset identity, as a dict

Metric names and units. dcgm-exporter fields:
  DCGM_FI_DEV_GPU_TEMP temperature_gpu C, DCGM_FI_DEV_MEMORY_TEMP temperature_memory C,
  DCGM_FI_DEV_POWER_USAGE power_draw W, DCGM_FI_DEV_XID_ERRORS xid_last count (params `xid`),
  DCGM_FI_DEV_ECC_{SBE,DBE}_{VOL,AGG}_TOTAL ecc_{volatile,aggregate}_{correctable,uncorrectable} count,
  DCGM_FI_DEV_RETIRED_{SBE,DBE,PENDING} retired_pages_{sbe,dbe,pending} count,
  DCGM_FI_DEV_{UNCORRECTABLE,CORRECTABLE}_REMAPPED_ROWS remapped_rows_{uncorrectable,correctable} count,
  DCGM_FI_DEV_ROW_REMAP_FAILURE remapped_rows_failure bool, DCGM_FI_DEV_PCIE_REPLAY_COUNTER pcie_replay_count,
  DCGM_FI_DEV_NVLINK_{CRC_FLIT,CRC_DATA,REPLAY,RECOVERY}_ERROR_COUNT_TOTAL nvlink_{crc_flit,crc_data,replay,
  recovery}_errors count, DCGM_FI_DEV_SM_CLOCK clocks_sm MHz, DCGM_FI_DEV_MEM_CLOCK clocks_memory MHz,
  DCGM_FI_DEV_FB_{USED,FREE,TOTAL} fb_memory_{used,free,total} MiB, DCGM_FI_DEV_GPU_UTIL gpu_utilization %,
  DCGM_FI_DEV_MEM_COPY_UTIL memory_utilization %, DCGM_FI_DEV_CLOCK_THROTTLE_REASONS and
  DCGM_FI_DEV_CLOCKS_EVENT_REASONS clocks_event_reasons enum (bitmask).
node_exporter: `node_infiniband_*` port counters under their sysfs names (`ib_names`: symbol_error,
link_downed, port_rcv_errors, port_xmit_discards, ... count; port_xmit_data / port_rcv_data in B, as
node_exporter reports bytes), `state_id` / `physical_state_id` as state / phys_state enum (params give
the text), `rate_bytes_per_second` as rate Gbit/s; `node_hwmon_temp_celsius` as temperature C (chip and
sensor in params). Any other series keeps its Prometheus name; its unit follows the name's suffix
(`_celsius` C, `_watts` W, `_bytes` B, `_seconds` s, with or without `_total`; other `_total` count;
else "1"). NaN and infinite samples stay events only.

Assets: one `gpu` per dcgm-exporter GPU (index, PCI address, UUID, model, driver) and one `hca` per
node_exporter `node_infiniband_info` device (firmware, HCA type, board id).

A line that is neither blank, a `#` comment nor a sample makes the file malformed: the first such
line is reported as the file's error, and, a scrape being independent lines, the rest is still read.
"""

from __future__ import annotations

import json
import re

import polars as pl

from triage.sources.base import Fixups, ParseContext, Sniffed
from triage.sources.ib_names import NODE_EXPORTER_NAMES
from triage.sources.lines import LineBatch
from triage.sources.records import CELSIUS, COUNT, ENUM, FLAG, GBITPS, MHZ, MIB, PERCENT, WATT, bdf_expr, canonical_json

KIND = "prometheus"

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_VALUE = r'"(?:[^"\\]|\\.)*"'
_PAIR = r"[a-zA-Z_][a-zA-Z0-9_]*\s*=\s*" + _VALUE
_PAIRS = rf"\s*(?:{_PAIR}\s*(?:,\s*{_PAIR}\s*)*,?\s*)?"
SAMPLE = rf"^\s*({_NAME})(?:\{{({_PAIRS})\}})?[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t]*$"
_PAIR_PARTS = r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"(.*)"$'
_META = re.compile(
    rf"^#\s+(?:HELP\s+{_NAME}(?:\s|$)|TYPE\s+{_NAME}\s+"
    r"(?:counter|gauge|histogram|summary|untyped|unknown|info|stateset|gaugehistogram)\s*$)"
)
_SAMPLE_RE = re.compile(SAMPLE)
_SEP = "\x01"  # sorts before every printable character: `key<SEP>json` entries sort by key

HOST_LABELS = ("Hostname", "hostname", "host", "instance", "node")
_DCGM_LABELS = ("gpu", "UUID", "pci_bus_id", "device", "modelName", "DCGM_FI_DRIVER_VERSION")
_IB_LABELS = ("device", "port")
# Labels turned into host, device or asset identity per family, so left out of params.
_CONSUMED: dict[str, tuple[str, ...]] = {
    "dcgm": HOST_LABELS + _DCGM_LABELS,
    "ib": HOST_LABELS + _IB_LABELS,
    "other": HOST_LABELS,
}

DCGM_METRICS: dict[str, tuple[str, str]] = {
    "DCGM_FI_DEV_GPU_TEMP": ("temperature_gpu", CELSIUS),
    "DCGM_FI_DEV_MEMORY_TEMP": ("temperature_memory", CELSIUS),
    "DCGM_FI_DEV_POWER_USAGE": ("power_draw", WATT),
    "DCGM_FI_DEV_XID_ERRORS": ("xid_last", COUNT),
    "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL": ("ecc_volatile_correctable", COUNT),
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": ("ecc_volatile_uncorrectable", COUNT),
    "DCGM_FI_DEV_ECC_SBE_AGG_TOTAL": ("ecc_aggregate_correctable", COUNT),
    "DCGM_FI_DEV_ECC_DBE_AGG_TOTAL": ("ecc_aggregate_uncorrectable", COUNT),
    "DCGM_FI_DEV_RETIRED_SBE": ("retired_pages_sbe", COUNT),
    "DCGM_FI_DEV_RETIRED_DBE": ("retired_pages_dbe", COUNT),
    "DCGM_FI_DEV_RETIRED_PENDING": ("retired_pages_pending", COUNT),
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS": ("remapped_rows_uncorrectable", COUNT),
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS": ("remapped_rows_correctable", COUNT),
    "DCGM_FI_DEV_ROW_REMAP_FAILURE": ("remapped_rows_failure", FLAG),
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER": ("pcie_replay_count", COUNT),
    "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL": ("nvlink_crc_flit_errors", COUNT),
    "DCGM_FI_DEV_NVLINK_CRC_DATA_ERROR_COUNT_TOTAL": ("nvlink_crc_data_errors", COUNT),
    "DCGM_FI_DEV_NVLINK_REPLAY_ERROR_COUNT_TOTAL": ("nvlink_replay_errors", COUNT),
    "DCGM_FI_DEV_NVLINK_RECOVERY_ERROR_COUNT_TOTAL": ("nvlink_recovery_errors", COUNT),
    "DCGM_FI_DEV_SM_CLOCK": ("clocks_sm", MHZ),
    "DCGM_FI_DEV_MEM_CLOCK": ("clocks_memory", MHZ),
    "DCGM_FI_DEV_FB_USED": ("fb_memory_used", MIB),
    "DCGM_FI_DEV_FB_FREE": ("fb_memory_free", MIB),
    "DCGM_FI_DEV_FB_TOTAL": ("fb_memory_total", MIB),
    "DCGM_FI_DEV_GPU_UTIL": ("gpu_utilization", PERCENT),
    "DCGM_FI_DEV_MEM_COPY_UTIL": ("memory_utilization", PERCENT),
    "DCGM_FI_DEV_CLOCK_THROTTLE_REASONS": ("clocks_event_reasons", ENUM),
    "DCGM_FI_DEV_CLOCKS_EVENT_REASONS": ("clocks_event_reasons", ENUM),
}

# node_exporter's infiniband collector names (without `node_infiniband_`) -> sysfs counter names.
_IB_STATE = {1: "DOWN", 2: "INIT", 3: "ARMED", 4: "ACTIVE", 5: "ACTIVE_DEFER"}
_IB_PHYS_STATE = {
    1: "Sleep",
    2: "Polling",
    3: "Disabled",
    4: "PortConfigurationTraining",
    5: "LinkUp",
    6: "LinkErrorRecovery",
    7: "PhyTest",
}


def _metric_table() -> pl.DataFrame:
    rows: list[tuple[str, str, str, float]] = [(name, m, u, 1.0) for name, (m, u) in DCGM_METRICS.items()]
    for exported, sysfs in NODE_EXPORTER_NAMES.items():
        unit = "B" if exported.endswith("_bytes_total") else COUNT
        rows.append((f"node_infiniband_{exported}", sysfs, unit, 1.0))
    rows += [
        ("node_infiniband_state_id", "state", ENUM, 1.0),
        ("node_infiniband_physical_state_id", "phys_state", ENUM, 1.0),
        ("node_infiniband_rate_bytes_per_second", "rate", GBITPS, 8e-9),
        ("node_hwmon_temp_celsius", "temperature", CELSIUS, 1.0),
    ]
    return pl.DataFrame(rows, schema=["name", "metric", "unit", "scale"], orient="row")


_METRICS = _metric_table()


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """Prometheus text when `# HELP`/`# TYPE` lines say so and at least half the other lines are samples,
    or, without metadata, when most lines are samples of dcgm-exporter or node_exporter series."""
    lines = [line.strip() for line in sample if line.strip()]
    samples = [line for line in lines if not line.startswith("#")]
    matches = [m for line in samples if (m := _SAMPLE_RE.match(line)) and _is_number(m.group(3))]
    if not matches:
        return None
    names = [m.group(1) for m in matches]
    known = sum(1 for n in names if n.startswith(("DCGM_", "node_")))
    has_meta = any(_META.match(line) for line in lines)
    if not ((has_meta and len(matches) * 2 >= len(samples)) or known * 2 > len(lines)):
        return None
    if any(n.startswith("DCGM_") for n in names):
        fmt = "dcgm_exporter"
    elif all(n.startswith("node_") for n in names):
        fmt = "node_exporter"
    else:
        fmt = "exposition"
    hosts = {h for m in matches if (h := _sample_host(m.group(2) or ""))}
    return Sniffed(KIND, fmt, hosts.pop() if len(hosts) == 1 else None)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _sample_host(labels: str) -> str | None:
    found = dict(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"', labels))
    for key in HOST_LABELS:
        if found.get(key):
            return _strip_port(found[key]) if key == "instance" else found[key]
    return None


def _strip_port(instance: str) -> str:
    m = re.match(r"^\[(.*)\](?::\d+)?$", instance) or re.match(r"^([^:]+):\d+$", instance)
    return m.group(1) if m else instance


def _label(key: str) -> pl.Expr:
    value = pl.col("labels").str.extract(rf'(?:^|,)\s*{key}\s*=\s*"((?:[^"\\]|\\.)*)"', 1)
    return pl.when(value.str.len_chars() > 0).then(value)


def _unit_from_suffix(name: pl.Expr) -> pl.Expr:
    base = name.str.replace(r"_total$", "")
    return (
        pl.when(base.str.ends_with("_celsius"))
        .then(pl.lit(CELSIUS))
        .when(base.str.ends_with("_watts"))
        .then(pl.lit(WATT))
        .when(base.str.ends_with("_bytes"))
        .then(pl.lit("B"))
        .when(base.str.ends_with("_seconds"))
        .then(pl.lit("s"))
        .when(name.str.ends_with("_total"))
        .then(pl.lit(COUNT))
        .otherwise(pl.lit("1"))
    )


def _extra_entry(key: str, json_value: pl.Expr) -> pl.Expr:
    """A params entry `key<SEP>"key":<json>` to merge with the label entries."""
    return pl.concat_str([pl.lit(f'{key}{_SEP}"{key}":'), json_value])


def _state_json(mapping: dict[int, str]) -> pl.Expr:
    return (
        pl.col("value")
        .cast(pl.Int64, strict=False)
        .replace_strict({k: json.dumps(v) for k, v in mapping.items()}, default=None, return_dtype=pl.String)
    )


def _params_fast(drop: tuple[str, ...]) -> pl.Expr:
    """Canonical JSON of the labels not in `drop` plus the row's `extra` entry (labels without escapes)."""
    dropped = "^(?:" + "|".join(drop) + ")" + _SEP
    entries = (
        pl.col("labels")
        .fill_null("")
        .str.extract_all(_PAIR)
        .list.eval(pl.element().str.replace(_PAIR_PARTS, "${1}" + _SEP + '"${1}":"${2}"'))
    )
    entries = pl.when(pl.col("extra").is_not_null()).then(pl.concat_list([entries, "extra"])).otherwise(entries)
    joined = entries.list.eval(
        pl.element().filter(~pl.element().str.contains(dropped)).sort().str.replace("^[^" + _SEP + "]*" + _SEP, "")
    ).list.join(",")
    return pl.when(joined.str.len_chars() > 0).then(pl.concat_str([pl.lit("{"), joined, pl.lit("}")]))


def _params_slow(labels: str | None, extra: str | None, drop: tuple[str, ...]) -> str | None:
    """Like `_params_fast` for the rare label values with escapes or non-ASCII text."""
    found = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"', labels or "")
    params = {key: _unescape(value) for key, value in found if key not in drop}
    if extra is not None:
        params.update(json.loads("{" + extra.split(_SEP, 1)[1] + "}"))
    return canonical_json(params)


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), value)


class PrometheusSource:
    """`Parser` over a Prometheus text exposition, vectorised per batch."""

    def __init__(self) -> None:
        self._error: str | None = None
        self._assets: list[pl.DataFrame] = []

    def parse(self, batch: LineBatch) -> dict[str, pl.DataFrame]:
        """Events of every line; measurements of every numeric sample; assets collected for `finish`."""
        frame = pl.DataFrame({"line_no": batch.line_numbers(), "line": batch.lines})
        sample = pl.col("line").str.extract_groups(SAMPLE)
        frame = frame.with_columns(
            name=sample.struct.field("1"),
            labels=sample.struct.field("2"),
            value=sample.struct.field("3").cast(pl.Float64, strict=False),
            stamp=sample.struct.field("4").cast(pl.Int64, strict=False),
        )
        is_sample = pl.col("name").is_not_null() & pl.col("value").is_not_null()
        stripped = pl.col("line").str.strip_chars()
        bad = frame.filter(~is_sample & (stripped != "") & ~stripped.str.starts_with("#"))
        if self._error is None and bad.height:
            first = bad.row(0, named=True)
            self._error = f"line {first['line_no']}: not a Prometheus sample or comment: {first['line'][:120]}"
        samples = _samples(frame.filter(is_sample))
        events = frame.join(
            samples.select("line_no", "host", "ts"), on="line_no", how="left", maintain_order="left"
        ).select("line_no", "host", "ts", pl.col("line").alias("message"), pl.lit(KIND).alias("source"))
        out = {"events": events}
        measured = samples.filter(pl.col("value").is_finite())
        if measured.height:
            out["measurements"] = _measurements(measured)
        self._assets.extend(_assets(samples))
        return out

    def finish(self) -> Fixups:
        """The assets seen in the whole file (once each) and the first malformed line, if any."""
        tables = {}
        if self._assets:
            assets = pl.concat(self._assets, how="diagonal_relaxed")
            tables["assets"] = assets.unique(["host", "kind", "device", "uuid"], keep="first", maintain_order=True)
        return Fixups(tables=tables, error=self._error)


def _samples(frame: pl.DataFrame) -> pl.DataFrame:
    """Sample rows with their family, host, device, identity labels and time.

    Scrapes repeat the same label set for every series of a device, so labels are read
    once per distinct label text and joined back.
    """
    name = pl.col("name")
    family = (
        pl.when(name.str.starts_with("DCGM_"))
        .then(pl.lit("dcgm"))
        .when(
            name.str.starts_with("node_infiniband_")
            & pl.col("ib_device").is_not_null()
            & pl.col("ib_port").is_not_null()
        )
        .then(pl.lit("ib"))
        .otherwise(pl.lit("other"))
    )
    frame = frame.join(
        _label_columns(frame["labels"]), on="labels", how="left", nulls_equal=True, maintain_order="left"
    )
    frame = frame.with_columns(family=family, ts=pl.from_epoch(pl.col("stamp"), time_unit="ms").dt.cast_time_unit("us"))
    return frame.with_columns(
        device=pl.when(pl.col("family") == "dcgm")
        .then(pl.coalesce(pl.col("pci_bdf"), pl.format("gpu{}", pl.col("gpu"))))
        .when(pl.col("family") == "ib")
        .then(pl.format("{}/{}", pl.col("ib_device"), pl.col("ib_port"))),
    )


def _label_columns(labels: pl.Series) -> pl.DataFrame:
    """Host, GPU identity and IB port of every distinct label text."""
    instance = _label("instance").str.replace(r"^\[(.*)\](?::\d+)?$", "$1").str.replace(r"^([^:]+):\d+$", "$1")
    return (
        labels.unique()
        .to_frame("labels")
        .with_columns(
            host=pl.coalesce(_label("Hostname"), _label("hostname"), _label("host"), instance, _label("node")),
            gpu=_label("gpu").cast(pl.Int32, strict=False),
            uuid=_label("UUID"),
            pci_bdf=bdf_expr(_label("pci_bus_id")),
            model=_label("modelName"),
            driver=_label("DCGM_FI_DRIVER_VERSION"),
            ib_device=_label("device"),
            ib_port=_label("port"),
        )
    )


def _measurements(samples: pl.DataFrame) -> pl.DataFrame:
    name = pl.col("name")
    frame = samples.join(_METRICS, on="name", how="left", maintain_order="left").with_columns(
        test=pl.when(name.str.starts_with("DCGM_"))
        .then(pl.lit("dcgm_exporter"))
        .when(name.str.starts_with("node_"))
        .then(pl.lit("node_exporter"))
        .otherwise(pl.lit(KIND)),
        extra=pl.when(name == "DCGM_FI_DEV_XID_ERRORS")
        .then(_extra_entry("xid", pl.col("value").cast(pl.Int64, strict=False).cast(pl.String)))
        .when(name == "node_infiniband_state_id")
        .then(_extra_entry("state", _state_json(_IB_STATE)))
        .when(name == "node_infiniband_physical_state_id")
        .then(_extra_entry("phys_state", _state_json(_IB_PHYS_STATE))),
    )
    frame = frame.with_columns(
        metric=pl.coalesce("metric", "name"),
        unit=pl.coalesce(pl.col("unit"), _unit_from_suffix(name)),
        value=pl.col("value") * pl.col("scale").fill_null(1.0),
    )
    keys = ["labels", "family", "extra"]
    params = frame.select(keys).unique()
    params = pl.concat(
        [_with_params(params.filter(pl.col("family") == family), drop) for family, drop in _CONSUMED.items()]
    )
    return frame.join(params, on=keys, how="left", nulls_equal=True, maintain_order="left").select(
        "host",
        "device",
        "test",
        "metric",
        "value",
        "unit",
        "ts",
        "params",
        pl.lit(None, pl.Int64).alias("run_id"),
        "line_no",
    )


def _assets(samples: pl.DataFrame) -> list[pl.DataFrame]:
    """The GPUs (dcgm-exporter identity labels) and HCAs (`node_infiniband_info`) the samples name."""
    out = []
    gpus = samples.filter((pl.col("family") == "dcgm") & (pl.col("gpu").is_not_null() | pl.col("uuid").is_not_null()))
    if gpus.height:
        out.append(
            gpus.select(
                "host",
                pl.lit("gpu").alias("kind"),
                "device",
                pl.col("gpu").alias("index"),
                "pci_bdf",
                "uuid",
                "model",
                "driver",
                "line_no",
            ).unique(["host", "device", "uuid"], keep="first", maintain_order=True)
        )
    hcas = samples.filter((pl.col("name") == "node_infiniband_info") & pl.col("ib_device").is_not_null())
    if hcas.height:
        out.append(
            hcas.select(
                "host",
                pl.lit("hca").alias("kind"),
                pl.col("ib_device").alias("device"),
                _label("hca_type").alias("model"),
                _label("board_id").alias("part_number"),
                _label("firmware_version").alias("firmware"),
                pl.lit(None, pl.String).alias("uuid"),
                "line_no",
            )
        )
    return out


def _with_params(frame: pl.DataFrame, drop: tuple[str, ...]) -> pl.DataFrame:
    """`frame` with its `params` column: vectorised for plain labels, per row for escaped or non-ASCII ones."""
    unusual = pl.col("labels").fill_null("").str.contains(r"[^ -~]|\\")
    fast = frame.filter(~unusual).with_columns(params=_params_fast(drop))
    slow = frame.filter(unusual)
    if not slow.height:
        return fast
    slow = slow.with_columns(
        params=pl.struct("labels", "extra").map_elements(
            lambda row: _params_slow(row["labels"], row["extra"], drop), return_dtype=pl.String
        )
    )
    return pl.concat([fast, slow])


def parser(sniffed: Sniffed, ctx: ParseContext) -> PrometheusSource:
    """Parser for a Prometheus text exposition."""
    return PrometheusSource()


__all__ = ["DCGM_METRICS", "KIND", "PrometheusSource", "parser", "sniff"]
