"""nvidia-smi inventory and health dumps: `-q` text, `-q -x` XML, the default table and `--query-gpu` CSV.

Layouts (`files.format`):
  query_text  `nvidia-smi -q`, whole or with sections chosen by `-d ECC,PAGE_RETIREMENT,...`; also
              reused for the `nvidia-smi -q` section of a bug report (`read_query_text`)
  query_xml   `nvidia-smi -q -x` (`<nvidia_smi_log>`, DTD versions v10 to v13)
  table       the default `nvidia-smi` summary box (`| NVIDIA-SMI 535.129.03  Driver Version: ...`)
  query_csv   `nvidia-smi --query-gpu=index,pci.bus_id,... --format=csv` with its header row

Every GPU becomes an asset (kind `gpu`, device = PCI address `0000:3b:00.0`) with its index, UUID,
serial, board part number ("GPU Part Number" on drivers that print no "Board Part Number"), product
name (model), VBIOS (firmware) and driver. The index is the
nvidia-smi enumeration order (0..n-1 in the order the dump lists the GPUs), which is what dcgmi,
nccl-tests and nvbandwidth call GPU i. It is left empty when the dump lists fewer GPUs than
"Attached GPUs" (a `-i` selection or an excerpt), where the position says nothing, unless the
text names the missing ones (`Unable to determine the device handle for GPU0000:18:00.0: Unknown
Error`, which nvidia-smi prints for a GPU off the bus): then every GPU, the unreachable ones too
(asset with index and PCI address, `gpu_unreachable` = 1), is numbered in PCI order as nvidia-smi
does. The table and the CSV print the index themselves. The dumps do not name the host.

Measurements (test `nvidia_smi`, device = the PCI address, ts = the dump's Timestamp read in the
file's time zone; "N/A", "Not Supported", "[N/A]" and the like are skipped):
  ecc_{volatile,aggregate}_{correctable,uncorrectable}   count  the "Total" line of the single/double
        bit (older GPUs) layout, else the sum of the SRAM and DRAM parts
  ecc_{volatile,aggregate}_<part>                        count  each part as printed: sram_correctable,
        sram_uncorrectable[_parity|_secded], dram_correctable, dram_uncorrectable,
        <location>_correctable / <location>_uncorrectable (device_memory, l2_cache, ...)
  ecc_aggregate_uncorrectable_sram_<source>              count  l2, sm, microcontroller, pcie, other
  ecc_aggregate_sram_threshold_exceeded, ecc_channel_repair_pending, ecc_tpc_repair_pending,
        ecc_unrepairable_memory, ecc_enabled              bool
  retired_pages_sbe, retired_pages_dbe                   count
  retired_pages_pending                                  bool
  remapped_rows_correctable, remapped_rows_uncorrectable count
  remapped_rows_pending, remapped_rows_failure           bool
  remapped_rows_banks_{max,high,partial,low,none}        count  bank remap availability histogram
  pcie_gen_{current,max,device_max,host_max}, pcie_width_{current,max}, pcie_replay_count,
        pcie_replay_rollover                              count
  clocks_event_<reason>                                  bool   1 = Active; gpu_idle,
        applications_clocks_setting, sw_power_cap, hw_slowdown, hw_thermal_slowdown,
        hw_power_brake_slowdown, sync_boost, sw_thermal_slowdown, display_clocks_setting (older
        "Clocks Throttle Reasons" map to the same names; others are snake-cased)
  clocks_event_time_<reason>                             us     time spent in the reason since boot
  temperature_gpu, temperature_memory, temperature_gpu_{shutdown,slowdown,max_operating,target},
        temperature_memory_max_operating                  C
  temperature_gpu_tlimit, temperature_{gpu_shutdown,gpu_slowdown,gpu_max_operating,
        memory_max_operating}_tlimit                      C      as printed relative to T.Limit
  power_draw, power_draw_instant, power_limit (enforced) W
  fb_memory_total, fb_memory_used                        MiB
  clocks_{graphics,sm,memory}, clocks_max_{graphics,sm,memory} MHz
  utilization_gpu, utilization_memory, fan_speed         %
  persistence_mode, gpu_reset_required, gpu_drain_and_reset_recommended, fabric_status_success bool
  gpu_recovery_action                                    enum   0 none, 1 GPU reset, 2 node reboot,
        3 drain P2P, 4 drain and reset, 5 recover IMEX domain, 6 bus reset, 7 system reboot
  fabric_state                                           enum   0 not supported, 1 not started,
        2 in progress, 3 completed
Enums and fabric_status_success carry the printed text in params {"text": ...}. The table gives
temperature_gpu, power_draw, power_limit, fb_memory_used, fb_memory_total, ecc_volatile_uncorrectable,
utilization_gpu, fan_speed and persistence_mode.

A whole `-q` dump (its header has "Attached GPUs") that stops inside a GPU's full section (it has
the identity lines but never reaches "Processes") is truncated: its rows are kept and the file is
an error, unless the text marks itself as an excerpt with `[...]`; a text that starts at a GPU
section is an excerpt already. Broken XML is an error at the line expat stops.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.parsers import expat
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triage.sources.base import ParseContext, Parser, Sniffed
from triage.sources.document import DocumentSource
from triage.sources.records import (
    CELSIUS,
    COUNT,
    ENUM,
    FLAG,
    MHZ,
    MIB,
    MICROSECONDS,
    PERCENT,
    WATT,
    Malformed,
    Records,
    gpu_ref,
    normalize_bdf,
)

KIND = "nvidia_smi"
TEST = "nvidia_smi"

_BANNER = re.compile(r"^=+NVSMI LOG=+\s*$")
# What nvidia-smi prints (to stderr, first) for a GPU it lists as attached but cannot reach.
_LOST_GPU = re.compile(
    r"^Unable to determine the device handle for GPU\s*([0-9A-Fa-f]{1,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}(?:\.[0-7])?)"
)
_GPU_HEADER = re.compile(r"^GPU\s+([0-9A-Fa-f]{1,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}(?:\.[0-7])?)\s*$")
_KEY_VALUE = re.compile(r"^(?P<key>[^:]+?)\s*(?::\s*(?P<value>.*?))?\s*$")
_INDENTED_KEY = re.compile(r"^\s+\S[^:]*?\s:")
_ATTACHED = re.compile(r"^Attached GPUs\s+:\s*\d+\s*$")
_TABLE_HEADER = re.compile(r"^\|\s*NVIDIA-SMI\s+\S+")
_TABLE_DRIVER = re.compile(r"Driver Version:\s*(\S+)")
_XML_MARK = re.compile(r"<nvidia_smi_log\b|<!DOCTYPE\s+nvidia_smi_log\b")
_EXCERPT = {"[...]", "...", "…", "[…]"}
_NUMBER = re.compile(r"^\s*([-+]?\d[\d,]*(?:\.\d+)?)")
_MISSING = {
    "",
    "n/a",
    "[n/a]",
    "not supported",
    "[not supported]",
    "not available",
    "unknown error",
    "[unknown error]",
    "insufficient permissions",
    "[insufficient permissions]",
    "requested functionality has been deprecated",
}
_TRUE = {"yes", "enabled", "active", "true", "on"}
_FALSE = {"no", "disabled", "not active", "false", "off"}


def snake(text: str) -> str:
    """`GPU T.Limit Temp` -> `gpu_t_limit_temp`."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def _number(text: str) -> float | None:
    """The leading number of a value (`36 C`, `16x`, `639 bank(s)`, `4,007 us`), None when there is none."""
    if text.strip().lower() in _MISSING:
        return None
    m = _NUMBER.match(text)
    return float(m.group(1).replace(",", "")) if m else None


def _flag(text: str) -> float | None:
    """1 for Yes/Enabled/Active, 0 for No/Disabled/Not Active, else None."""
    word = text.strip().lower()
    return 1.0 if word in _TRUE else 0.0 if word in _FALSE else None


# nvmlDeviceGpuRecoveryAction_t; the first substring found in the lowercased text wins.
_RECOVERY_ACTIONS = [
    ("drain and reset", 4),
    ("drain p2p and reset", 4),
    ("drain", 3),
    ("imex", 5),
    ("bus reset", 6),
    ("system reboot", 7),
    ("reboot", 2),
    ("reset", 1),
    ("none", 0),
]
# nvmlGpuFabricState_t
_FABRIC_STATES = {"not supported": 0, "not started": 1, "in progress": 2, "completed": 3}


def _recovery_action(text: str) -> float | None:
    word = text.strip().lower()
    return next((float(code) for key, code in _RECOVERY_ACTIONS if key in word), None)


def _fabric_state(text: str) -> float | None:
    code = _FABRIC_STATES.get(text.strip().lower())
    return None if code is None else float(code)


def _fabric_success(text: str) -> float | None:
    word = text.strip().lower()
    return None if word in _MISSING else float(word == "success")


Convert = Callable[[str], "float | None"]

_Spec = tuple[str, str, Convert, tuple[str, ...]]


def _spec(metric: str, unit: str, convert: Convert, *paths: str) -> _Spec:
    """One metric read from the first of `paths` (text keys and XML tags, snake-cased, `/`-joined) present."""
    return metric, unit, convert, paths


_FIELDS: list[_Spec] = [
    _spec("persistence_mode", FLAG, _flag, "persistence_mode"),
    _spec(
        "pcie_gen_current",
        COUNT,
        _number,
        "pci/gpu_link_info/pcie_generation/current",
        "pci/pci_gpu_link_info/pcie_gen/current_link_gen",
    ),
    _spec(
        "pcie_gen_max",
        COUNT,
        _number,
        "pci/gpu_link_info/pcie_generation/max",
        "pci/pci_gpu_link_info/pcie_gen/max_link_gen",
    ),
    _spec(
        "pcie_gen_device_max",
        COUNT,
        _number,
        "pci/gpu_link_info/pcie_generation/device_max",
        "pci/pci_gpu_link_info/pcie_gen/max_device_link_gen",
    ),
    _spec(
        "pcie_gen_host_max",
        COUNT,
        _number,
        "pci/gpu_link_info/pcie_generation/host_max",
        "pci/pci_gpu_link_info/pcie_gen/max_host_link_gen",
    ),
    _spec(
        "pcie_width_current",
        COUNT,
        _number,
        "pci/gpu_link_info/link_width/current",
        "pci/pci_gpu_link_info/link_widths/current_link_width",
    ),
    _spec(
        "pcie_width_max",
        COUNT,
        _number,
        "pci/gpu_link_info/link_width/max",
        "pci/pci_gpu_link_info/link_widths/max_link_width",
    ),
    _spec("pcie_replay_count", COUNT, _number, "pci/replays_since_reset", "pci/replay_counter"),
    _spec("pcie_replay_rollover", COUNT, _number, "pci/replay_number_rollovers", "pci/replay_rollover_counter"),
    _spec("fan_speed", PERCENT, _number, "fan_speed"),
    _spec("fb_memory_total", MIB, _number, "fb_memory_usage/total"),
    _spec("fb_memory_used", MIB, _number, "fb_memory_usage/used"),
    _spec("utilization_gpu", PERCENT, _number, "utilization/gpu", "utilization/gpu_util"),
    _spec("utilization_memory", PERCENT, _number, "utilization/memory", "utilization/memory_util"),
    _spec("ecc_enabled", FLAG, _flag, "ecc_mode/current", "ecc_mode/current_ecc"),
    _spec(
        "retired_pages_sbe",
        COUNT,
        _number,
        "retired_pages/single_bit_ecc",
        "retired_pages/multiple_single_bit_retirement/retired_count",
    ),
    _spec(
        "retired_pages_dbe",
        COUNT,
        _number,
        "retired_pages/double_bit_ecc",
        "retired_pages/double_bit_retirement/retired_count",
    ),
    _spec(
        "retired_pages_pending",
        FLAG,
        _flag,
        "retired_pages/pending_page_blacklist",
        "retired_pages/pending_page_retirement",
        "retired_pages/pending",
        "retired_pages/pending_blacklist",
        "retired_pages/pending_retirement",
    ),
    _spec(
        "remapped_rows_correctable",
        COUNT,
        _number,
        "remapped_rows/correctable_error",
        "remapped_rows/remapped_row_corr",
    ),
    _spec(
        "remapped_rows_uncorrectable",
        COUNT,
        _number,
        "remapped_rows/uncorrectable_error",
        "remapped_rows/remapped_row_unc",
    ),
    _spec("remapped_rows_pending", FLAG, _flag, "remapped_rows/pending", "remapped_rows/remapped_row_pending"),
    _spec(
        "remapped_rows_failure",
        FLAG,
        _flag,
        "remapped_rows/remapping_failure_occurred",
        "remapped_rows/remapped_row_failure",
    ),
    *[
        _spec(
            f"remapped_rows_banks_{level}",
            COUNT,
            _number,
            f"remapped_rows/bank_remap_availability_histogram/{level}",
            f"remapped_rows/row_remapper_histogram/row_remapper_histogram_{level}",
        )
        for level in ("max", "high", "partial", "low", "none")
    ],
    _spec(
        "temperature_gpu", CELSIUS, _number, "temperature/gpu_current_temp", "temperature/gpu_temp", "temperature/gpu"
    ),
    _spec("temperature_gpu_tlimit", CELSIUS, _number, "temperature/gpu_t_limit_temp", "temperature/gpu_temp_tlimit"),
    _spec(
        "temperature_gpu_shutdown",
        CELSIUS,
        _number,
        "temperature/gpu_shutdown_temp",
        "temperature/gpu_temp_max_threshold",
    ),
    _spec(
        "temperature_gpu_slowdown",
        CELSIUS,
        _number,
        "temperature/gpu_slowdown_temp",
        "temperature/gpu_temp_slow_threshold",
    ),
    _spec(
        "temperature_gpu_max_operating",
        CELSIUS,
        _number,
        "temperature/gpu_max_operating_temp",
        "temperature/gpu_temp_max_gpu_threshold",
    ),
    _spec("temperature_gpu_target", CELSIUS, _number, "temperature/gpu_target_temperature"),
    _spec(
        "temperature_gpu_shutdown_tlimit",
        CELSIUS,
        _number,
        "temperature/gpu_shutdown_t_limit_temp",
        "temperature/gpu_temp_max_tlimit_threshold",
    ),
    _spec(
        "temperature_gpu_slowdown_tlimit",
        CELSIUS,
        _number,
        "temperature/gpu_slowdown_t_limit_temp",
        "temperature/gpu_temp_slow_tlimit_threshold",
    ),
    _spec(
        "temperature_gpu_max_operating_tlimit",
        CELSIUS,
        _number,
        "temperature/gpu_max_operating_t_limit_temp",
        "temperature/gpu_temp_max_gpu_tlimit_threshold",
    ),
    _spec("temperature_memory", CELSIUS, _number, "temperature/memory_current_temp", "temperature/memory_temp"),
    _spec(
        "temperature_memory_max_operating",
        CELSIUS,
        _number,
        "temperature/memory_max_operating_temp",
        "temperature/gpu_temp_max_mem_threshold",
    ),
    _spec(
        "temperature_memory_max_operating_tlimit",
        CELSIUS,
        _number,
        "temperature/memory_max_operating_t_limit_temp",
        "temperature/gpu_temp_max_mem_tlimit_threshold",
    ),
    _spec(
        "power_draw",
        WATT,
        _number,
        "gpu_power_readings/power_draw",
        "power_readings/power_draw",
        "gpu_power_readings/average_power_draw",
    ),
    _spec(
        "power_draw_instant",
        WATT,
        _number,
        "gpu_power_readings/instantaneous_power_draw",
        "gpu_power_readings/instant_power_draw",
    ),
    _spec(
        "power_limit",
        WATT,
        _number,
        "gpu_power_readings/current_power_limit",
        "power_readings/enforced_power_limit",
        "gpu_power_readings/enforced_power_limit",
    ),
    _spec("clocks_graphics", MHZ, _number, "clocks/graphics", "clocks/graphics_clock"),
    _spec("clocks_sm", MHZ, _number, "clocks/sm", "clocks/sm_clock"),
    _spec("clocks_memory", MHZ, _number, "clocks/memory", "clocks/mem_clock"),
    _spec("clocks_max_graphics", MHZ, _number, "max_clocks/graphics", "max_clocks/graphics_clock"),
    _spec("clocks_max_sm", MHZ, _number, "max_clocks/sm", "max_clocks/sm_clock"),
    _spec("clocks_max_memory", MHZ, _number, "max_clocks/memory", "max_clocks/mem_clock"),
    _spec("gpu_reset_required", FLAG, _flag, "gpu_reset_status/reset_required"),
    _spec("gpu_drain_and_reset_recommended", FLAG, _flag, "gpu_reset_status/drain_and_reset_recommended"),
    _spec("gpu_recovery_action", ENUM, _recovery_action, "gpu_recovery_action"),
    _spec("fabric_state", ENUM, _fabric_state, "fabric/state"),
    _spec("fabric_status_success", FLAG, _fabric_success, "fabric/status"),
]
_ENUM_METRICS = {metric for metric, unit, _, _ in _FIELDS if unit == ENUM} | {"fabric_status_success"}

_IDENTITY = {
    "model": ("product_name",),
    "serial": ("serial_number", "serial"),
    "uuid": ("gpu_uuid", "uuid"),
    "part_number": ("board_part_number",),
    "firmware": ("vbios_version",),
}
_REASON_SECTIONS = ("clocks_event_reasons", "clocks_throttle_reasons")
_REASON_COUNTER_SECTIONS = ("clocks_event_reasons_counters", "clocks_throttle_reasons_counters")
_REASON_ALIASES = {
    "idle": "gpu_idle",
    "display_clock_setting": "display_clocks_setting",
    "sw_power_capping": "sw_power_cap",
    "sw_therm_slowdown": "sw_thermal_slowdown",
    "hw_therm_slowdown": "hw_thermal_slowdown",
    "hw_power_braking": "hw_power_brake_slowdown",
    "hw_power_brake": "hw_power_brake_slowdown",
}
_ECC_PART_ALIASES = {"sram_uncorrectable_sec_ded": "sram_uncorrectable_secded", "texture_shm": "texture_shared"}
_ECC_FLAGS = {"channel_repair_pending", "tpc_repair_pending", "unrepairable_memory"}


@dataclass
class Field:
    """One `key : value` of a GPU's section: its snake-cased path below the GPU, the value text and line."""

    path: tuple[str, ...]
    value: str
    line_no: int


@dataclass
class GpuBlock:
    """The lines of one GPU in a dump, in order."""

    bus_id: str
    line_no: int
    fields: list[Field] = field(default_factory=list)
    sections: set[str] = field(default_factory=set)  # top-level keys seen, with or without a value


@dataclass
class Dump:
    """A parsed `-q` or `-q -x` dump: the header fields (snake-cased key -> Field) and the GPUs."""

    header: dict[str, Field] = field(default_factory=dict)
    gpus: list[GpuBlock] = field(default_factory=list)
    lost: list[tuple[str, int]] = field(default_factory=list)  # (bus id, line) of GPUs it could not reach


# ---------------------------------------------------------------------------------------------- sniffing


def sniff(sample: list[str], name: str) -> Sniffed | None:
    """An nvidia-smi dump: the XML root, the `NVSMI LOG` banner, a `GPU <bus id>` section, the table box or CSV."""
    head = [line for line in sample if line.strip()][:20]
    if any(_XML_MARK.search(line) for line in head):
        return Sniffed(KIND, "query_xml")
    if any(_TABLE_HEADER.match(line) for line in head):
        return Sniffed(KIND, "table")
    if any(_BANNER.match(line) for line in head) or _looks_like_query_text(sample):
        return Sniffed(KIND, "query_text")
    if _csv_header(sample) is not None:
        return Sniffed(KIND, "query_csv")
    return None


def _looks_like_query_text(sample: list[str]) -> bool:
    """A `GPU 00000000:3B:00.0` line followed by an indented `Key : value`, or the `Attached GPUs` header line."""
    lines = [line.rstrip() for line in sample if line.strip()]
    for i, line in enumerate(lines[:-1]):
        if _GPU_HEADER.match(line) and _INDENTED_KEY.match(lines[i + 1]):
            return True
    return any(_ATTACHED.match(line) for line in lines) and any(_GPU_HEADER.match(line) for line in lines)


# ---------------------------------------------------------------------------------------------- -q text


def parse_query_text(lines: list[str], first_line_no: int = 1) -> tuple[Dump, bool]:
    """The header and GPU sections of `nvidia-smi -q` text, and whether the text marks itself an excerpt."""
    dump = Dump()
    current: GpuBlock | None = None
    stack: list[tuple[int, str]] = []  # (indent, snake key) of the open sections
    excerpt = False
    for offset, raw in enumerate(lines):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped:
            continue
        line_no = first_line_no + offset
        if stripped in _EXCERPT:
            excerpt = True
            continue
        if m := _LOST_GPU.match(stripped):
            dump.lost.append((m.group(1), line_no))
            continue
        if m := _GPU_HEADER.match(line):
            current = GpuBlock(m.group(1), line_no)
            dump.gpus.append(current)
            stack = []
            continue
        kv = _KEY_VALUE.match(stripped)
        if kv is None:
            continue
        key, value = snake(kv.group("key")), kv.group("value")
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            current = None  # a column-0 line other than a GPU header ends the GPU's section
            if value:
                dump.header.setdefault(key, Field((key,), value, line_no))
            continue
        if current is None:
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = (*(name for _, name in stack), key)
        current.sections.add(path[0])
        if value:
            current.fields.append(Field(path, value, line_no))
        stack.append((indent, key))
    return dump, excerpt


def _check_complete(dump: Dump, excerpt: bool, last_line_no: int) -> None:
    """Raise `Malformed` when a whole `-q` dump (its header names the attached GPUs) stops inside a GPU's section."""
    attached = _attached(dump)
    if excerpt or attached is None:
        return
    if not dump.gpus:
        raise Malformed(last_line_no, f"no GPU section although 'Attached GPUs' is {attached}")
    last = dump.gpus[-1]
    if "product_name" in last.sections and not {"processes", "compute_processes"} & last.sections:
        raise Malformed(
            last_line_no,
            f"output ends inside the section of GPU {last.bus_id} "
            f"(no 'Processes' section; {len(dump.gpus)} of {attached} attached GPUs listed)",
        )


def read_query_text(lines: list[str], first_line_no: int, records: Records, timezone: str = "UTC") -> None:
    """Add the assets and measurements of `nvidia-smi -q` text; `lines[i]` is line `first_line_no + i`.

    Raises `Malformed` (after adding the rows read) when the output stops inside a GPU's section.
    """
    dump, excerpt = parse_query_text(lines, first_line_no)
    emit_dump(dump, records, timezone)
    last = max((first_line_no + i for i, line in enumerate(lines) if line.strip()), default=first_line_no)
    _check_complete(dump, excerpt, last)


# ---------------------------------------------------------------------------------------------- -q -x XML


def parse_query_xml(lines: list[str]) -> tuple[Dump, Malformed | None]:
    """The header and GPU elements of `nvidia-smi -q -x`, and the fault where the XML breaks (GPUs read so far kept)."""
    dump = Dump()
    parser = expat.ParserCreate()
    stack: list[str] = []
    texts: list[list[str]] = []
    starts: list[int] = []
    has_child: list[bool] = []

    def start(tag: str, attrs: dict[str, str]) -> None:
        if has_child:
            has_child[-1] = True
        stack.append(tag.lower())
        texts.append([])
        starts.append(parser.CurrentLineNumber)
        has_child.append(False)
        if len(stack) == 2 and stack[1] == "gpu":
            dump.gpus.append(GpuBlock(attrs.get("id", ""), parser.CurrentLineNumber))

    def end(tag: str) -> None:
        text, line_no, parent = "".join(texts.pop()).strip(), starts.pop(), has_child.pop()
        stack.pop()
        if len(stack) >= 2 and stack[1] == "gpu":
            dump.gpus[-1].sections.add(stack[2] if len(stack) > 2 else tag.lower())
            if not parent:
                dump.gpus[-1].fields.append(Field((*stack[2:], tag.lower()), text, line_no))
        elif len(stack) == 1 and not parent:
            dump.header.setdefault(tag.lower(), Field((tag.lower(),), text, line_no))

    def text(data: str) -> None:
        if texts:
            texts[-1].append(data)

    def no_entities(*_: object) -> None:
        raise Malformed(parser.CurrentLineNumber, "XML entity declarations are not allowed in an nvidia-smi dump")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.EntityDeclHandler = no_entities
    try:
        parser.Parse("\n".join(lines), True)
    except expat.ExpatError as exc:
        return dump, Malformed(exc.lineno, f"broken XML: {expat.ErrorString(exc.code)}")
    except Malformed as exc:
        return dump, exc
    return dump, None


# ---------------------------------------------------------------------------------------------- rows of a dump


def _attached(dump: Dump) -> int | None:
    found = dump.header.get("attached_gpus")
    value = _number(found.value) if found else None
    return None if value is None else int(value)


def _stamp(text: str | None, timezone: str) -> datetime | None:
    """`Fri Aug  4 11:44:30 2023` in `timezone` as naive UTC, or None."""
    if not text:
        return None
    try:
        local = datetime.strptime(" ".join(text.split()), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    if timezone == "UTC":
        return local
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return local
    return local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def _present(text: str | None) -> str | None:
    """The text, or None for N/A and the like."""
    if text is None or text.strip().lower() in _MISSING:
        return None
    return text.strip()


def emit_dump(dump: Dump, records: Records, timezone: str = "UTC") -> None:
    """Add one asset per GPU of `dump` and its health measurements."""
    driver = _present(dump.header["driver_version"].value) if "driver_version" in dump.header else None
    stamp = dump.header.get("timestamp")
    ts = _stamp(stamp.value if stamp else None, timezone)
    indexes = _indexes(dump)
    for gpu in dump.gpus:
        by_path: dict[str, Field] = {}
        for item in gpu.fields:
            by_path.setdefault("/".join(item.path), item)
        bdf = normalize_bdf(gpu.bus_id)
        if bdf is None:
            bus = by_path.get("pci/bus_id") or by_path.get("pci/pci_bus_id")
            bdf = normalize_bdf(bus.value) if bus else None
        if bdf is None:
            raise Malformed(gpu.line_no, f"GPU section without a PCI bus id ({gpu.bus_id!r})")
        identity = {name: _first_present(by_path, paths) for name, paths in _IDENTITY.items()}
        if "board_part_number" not in by_path:  # drivers before "Board Part Number" print the board's as the GPU's
            identity["part_number"] = _first_present(by_path, ("gpu_part_number",))
        records.asset("gpu", bdf, gpu.line_no, index=indexes.get(bdf), pci_bdf=bdf, driver=driver, **identity)
        _emit_fields(bdf, by_path, gpu.fields, records, ts)
    for bus_id, line_no in dump.lost:
        bdf = normalize_bdf(bus_id)
        if bdf is not None:
            records.asset("gpu", bdf, line_no, index=indexes.get(bdf), pci_bdf=bdf, driver=driver)
            records.measure(bdf, TEST, "gpu_unreachable", 1, FLAG, line_no, ts=ts)


def _indexes(dump: Dump) -> dict[str, int]:
    """GPU index by PCI address: nvidia-smi numbers the attached GPUs in PCI order, the unreachable ones too.

    Empty when the dump lists fewer GPUs than it says are attached (a `-i` selection or an
    excerpt) and does not name the missing ones: positions then say nothing.
    """
    listed = [normalize_bdf(gpu.bus_id) for gpu in dump.gpus] + [normalize_bdf(bus) for bus, _ in dump.lost]
    attached = _attached(dump)
    if None in listed or (attached is not None and attached != len(listed)):
        return {}
    if not dump.lost:
        return {bdf: position for position, bdf in enumerate(listed) if bdf is not None}
    return {bdf: position for position, bdf in enumerate(sorted(b for b in listed if b is not None))}


def _first_present(by_path: dict[str, Field], paths: tuple[str, ...]) -> str | None:
    """The first of `paths` whose value is not N/A."""
    for path in paths:
        value = _present(by_path[path].value) if path in by_path else None
        if value is not None:
            return value
    return None


def _emit_fields(
    device: str, by_path: dict[str, Field], fields: list[Field], records: Records, ts: datetime | None
) -> None:
    def measure(metric: str, unit: str, value: float | None, item: Field, params: dict | None = None) -> None:
        records.measure(device, TEST, metric, value, unit, item.line_no, params=params, ts=ts)

    for metric, unit, convert, paths in _FIELDS:
        for path in paths:
            item = by_path.get(path)
            value = convert(item.value) if item else None
            if item is not None and value is not None:
                params = {"text": item.value.strip()} if metric in _ENUM_METRICS else None
                measure(metric, unit, value, item, params)
                break
    for item in fields:
        top, last = item.path[0], item.path[-1]
        if top in _REASON_SECTIONS and len(item.path) > 1:
            reason = re.sub(r"^clocks_(?:event|throttle)_reason_", "", last)
            measure(f"clocks_event_{_REASON_ALIASES.get(reason, reason)}", FLAG, _flag(item.value), item)
        elif top in _REASON_COUNTER_SECTIONS and len(item.path) > 1:
            reason = re.sub(r"^clocks_(?:event|throttle)_reasons_counters_", "", last)
            measure(f"clocks_event_time_{_REASON_ALIASES.get(reason, reason)}", MICROSECONDS, _number(item.value), item)
    _emit_ecc([item for item in fields if item.path[0] == "ecc_errors"], measure)


def _emit_ecc(fields: list[Field], measure: Callable[..., None]) -> None:
    """ECC counts: every part as printed, and the volatile/aggregate totals."""
    totals: dict[tuple[str, str], tuple[float, Field]] = {}  # (scope, kind) -> "Total" line
    sums: dict[tuple[str, str], tuple[float, Field]] = {}  # (scope, kind) -> sum of SRAM/DRAM parts
    for item in fields:
        rest = item.path[1:]
        if len(rest) == 1 and rest[0] in _ECC_FLAGS:
            measure(f"ecc_{rest[0]}", FLAG, _flag(item.value), item)
            continue
        if len(rest) < 2:
            continue
        scope, name = rest[0], _ECC_PART_ALIASES.get(rest[-1], rest[-1])
        if scope == "aggregate_uncorrectable_sram_sources":
            measure(f"ecc_aggregate_uncorrectable_{name}", COUNT, _number(item.value), item)
            continue
        if scope not in ("volatile", "aggregate"):
            continue
        if name == "sram_threshold_exceeded":
            measure(f"ecc_{scope}_{name}", FLAG, _flag(item.value), item)
            continue
        value = _number(item.value)
        if len(rest) == 3 and rest[1] in ("single_bit", "double_bit"):
            kind = "correctable" if rest[1] == "single_bit" else "uncorrectable"
            if name == "total":
                if value is not None:
                    totals[(scope, kind)] = (value, item)
                continue
            measure(f"ecc_{scope}_{name}_{kind}", COUNT, value, item)
        elif len(rest) == 2:
            measure(f"ecc_{scope}_{name}", COUNT, value, item)
            kind = "uncorrectable" if "uncorrectable" in name else "correctable" if "correctable" in name else None
            if kind and value is not None:
                before = sums.get((scope, kind))
                sums[(scope, kind)] = (value + before[0], before[1]) if before else (value, item)
    for scope in ("volatile", "aggregate"):
        for kind in ("correctable", "uncorrectable"):
            found = totals.get((scope, kind)) or sums.get((scope, kind))
            if found:
                measure(f"ecc_{scope}_{kind}", COUNT, found[0], found[1])


# ---------------------------------------------------------------------------------------------- default table


_TABLE_ROW1 = re.compile(r"^\s*(\d+)\s+(.+?)\s+(\S+)\s*$")
_TABLE_BUS = re.compile(r"^\s*([0-9A-Fa-f]{1,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7])\b")
_TABLE_ROW2 = re.compile(r"^\s*(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*/\s*(\S+)\s*$")
_TABLE_MEMORY = re.compile(r"^\s*(\d+)MiB\s*/\s*(\d+)MiB\s*$")
_TABLE_UTIL = re.compile(r"^\s*(\S+)\s")


def read_table(lines: list[str], records: Records, timezone: str = "UTC") -> None:
    """Add the assets and measurements of the default `nvidia-smi` summary box."""
    ts = _stamp(lines[0].strip(), timezone) if lines else None
    driver = None
    pending: tuple[str, int] | None = None  # the bdf and line of a GPU row whose second line comes next
    for line_no, line in enumerate(lines, 1):
        if _TABLE_HEADER.match(line) and (m := _TABLE_DRIVER.search(line)):
            driver = m.group(1)
            continue
        cells = line.strip().strip("|").split("|") if line.startswith("|") else []
        if pending is not None and len(cells) == 3:
            _table_second_row(pending[0], cells, line_no, records, ts)
            pending = None
            continue
        pending = None
        if len(cells) != 3:
            continue
        first, bus = _TABLE_ROW1.match(cells[0]), _TABLE_BUS.match(cells[1])
        bdf = normalize_bdf(bus.group(1)) if bus else None
        if first is None or bdf is None:
            continue
        name = first.group(2)
        records.asset(
            "gpu",
            bdf,
            line_no,
            index=int(first.group(1)),
            pci_bdf=bdf,
            model=None if name.endswith("...") else name,  # the box cuts long names
            driver=driver,
        )
        records.measure(bdf, TEST, "persistence_mode", _flag(first.group(3)), FLAG, line_no, ts=ts)
        records.measure(bdf, TEST, "ecc_volatile_uncorrectable", _number(cells[2]), COUNT, line_no, ts=ts)
        pending = (bdf, line_no)


def _table_second_row(bdf: str, cells: list[str], line_no: int, records: Records, ts: datetime | None) -> None:
    """Fan, temperature, power and memory of the line below a GPU's first row."""
    row = _TABLE_ROW2.match(cells[0])
    if row:
        fan, temp, _perf, draw, cap = row.groups()
        records.measure(bdf, TEST, "fan_speed", _number(fan), PERCENT, line_no, ts=ts)
        records.measure(bdf, TEST, "temperature_gpu", _number(temp), CELSIUS, line_no, ts=ts)
        records.measure(bdf, TEST, "power_draw", _number(draw), WATT, line_no, ts=ts)
        records.measure(bdf, TEST, "power_limit", _number(cap), WATT, line_no, ts=ts)
    memory = _TABLE_MEMORY.match(cells[1])
    if memory:
        records.measure(bdf, TEST, "fb_memory_used", float(memory.group(1)), MIB, line_no, ts=ts)
        records.measure(bdf, TEST, "fb_memory_total", float(memory.group(2)), MIB, line_no, ts=ts)
    util = _TABLE_UTIL.match(cells[2])
    if util and util.group(1).endswith("%"):
        records.measure(bdf, TEST, "utilization_gpu", _number(util.group(1)), PERCENT, line_no, ts=ts)


# ---------------------------------------------------------------------------------------------- --query-gpu CSV


_CSV_IDENTITY = {
    "index": "index",
    "pci.bus_id": "pci_bdf",
    "gpu_bus_id": "pci_bdf",
    "name": "model",
    "gpu_name": "model",
    "serial": "serial",
    "gpu_serial": "serial",
    "uuid": "uuid",
    "gpu_uuid": "uuid",
    "vbios_version": "firmware",
    "driver_version": "driver",
}
_CSV_METRICS: dict[str, tuple[str, str, Convert]] = {
    "temperature.gpu": ("temperature_gpu", CELSIUS, _number),
    "temperature.memory": ("temperature_memory", CELSIUS, _number),
    "power.draw": ("power_draw", WATT, _number),
    "power.draw.average": ("power_draw", WATT, _number),
    "power.draw.instant": ("power_draw_instant", WATT, _number),
    "enforced.power.limit": ("power_limit", WATT, _number),
    "power.limit": ("power_limit", WATT, _number),
    "memory.total": ("fb_memory_total", MIB, _number),
    "memory.used": ("fb_memory_used", MIB, _number),
    "clocks.sm": ("clocks_sm", MHZ, _number),
    "clocks.current.sm": ("clocks_sm", MHZ, _number),
    "clocks.mem": ("clocks_memory", MHZ, _number),
    "clocks.current.memory": ("clocks_memory", MHZ, _number),
    "clocks.gr": ("clocks_graphics", MHZ, _number),
    "clocks.current.graphics": ("clocks_graphics", MHZ, _number),
    "utilization.gpu": ("utilization_gpu", PERCENT, _number),
    "utilization.memory": ("utilization_memory", PERCENT, _number),
    "fan.speed": ("fan_speed", PERCENT, _number),
    "persistence_mode": ("persistence_mode", FLAG, _flag),
    "pcie.link.gen.current": ("pcie_gen_current", COUNT, _number),
    "pcie.link.gen.gpucurrent": ("pcie_gen_current", COUNT, _number),
    "pcie.link.gen.max": ("pcie_gen_max", COUNT, _number),
    "pcie.link.width.current": ("pcie_width_current", COUNT, _number),
    "pcie.link.width.max": ("pcie_width_max", COUNT, _number),
    "ecc.mode.current": ("ecc_enabled", FLAG, _flag),
    "ecc.errors.corrected.volatile.total": ("ecc_volatile_correctable", COUNT, _number),
    "ecc.errors.uncorrected.volatile.total": ("ecc_volatile_uncorrectable", COUNT, _number),
    "ecc.errors.corrected.aggregate.total": ("ecc_aggregate_correctable", COUNT, _number),
    "ecc.errors.uncorrected.aggregate.total": ("ecc_aggregate_uncorrectable", COUNT, _number),
    "retired_pages.sbe": ("retired_pages_sbe", COUNT, _number),
    "retired_pages.single_bit_ecc.count": ("retired_pages_sbe", COUNT, _number),
    "retired_pages.dbe": ("retired_pages_dbe", COUNT, _number),
    "retired_pages.double_bit.count": ("retired_pages_dbe", COUNT, _number),
    "retired_pages.pending": ("retired_pages_pending", FLAG, _flag),
    "remapped_rows.correctable": ("remapped_rows_correctable", COUNT, _number),
    "remapped_rows.uncorrectable": ("remapped_rows_uncorrectable", COUNT, _number),
    "remapped_rows.pending": ("remapped_rows_pending", FLAG, _flag),
    "remapped_rows.failure": ("remapped_rows_failure", FLAG, _flag),
    "gpu_recovery_action": ("gpu_recovery_action", ENUM, _recovery_action),
}
_CSV_COLUMN = re.compile(r"^([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)*)(?: \[[^\]]+\])?$")
_CSV_REASON = re.compile(r"^clocks_(?:event|throttle)_reasons\.(\w+)$")


def _csv_columns(line: str) -> list[str] | None:
    """The query field names of a `--format=csv` header line, or None when the line is not one."""
    matches = [_CSV_COLUMN.match(cell.strip()) for cell in line.split(",")]
    if len(matches) < 2 or not all(matches):
        return None
    names = [m.group(1) for m in matches if m]
    known = sum(1 for n in names if n in _CSV_IDENTITY or n in _CSV_METRICS or _CSV_REASON.match(n))
    has_gpu = any(_CSV_IDENTITY.get(n) in ("index", "pci_bdf") for n in names)
    return names if known >= 2 and has_gpu else None


def _csv_header(lines: list[str]) -> int | None:
    """Offset of the header row: the first non-empty line, or the one after a `$ nvidia-smi --query-gpu` prompt."""
    content = [(i, line) for i, line in enumerate(lines) if line.strip()]
    if content and content[0][1].lstrip().startswith("$") and "nvidia-smi" in content[0][1]:
        content = content[1:]
    if content and _csv_columns(content[0][1]) is not None:
        return content[0][0]
    return None


def read_csv(lines: list[str], records: Records) -> None:
    """Add the assets and measurements of `nvidia-smi --query-gpu=... --format=csv` rows."""
    start = _csv_header(lines)
    if start is None:
        return
    columns = _csv_columns(lines[start]) or []
    for offset, line in enumerate(lines[start + 1 :], start + 2):
        if not line.strip():
            continue
        cells = [cell.strip() for cell in line.split(", ")]
        if len(cells) != len(columns):
            raise Malformed(offset, f"{len(cells)} values for {len(columns)} columns")
        _csv_row(dict(zip(columns, cells, strict=True)), offset, records)


def _csv_row(row: dict[str, str], line_no: int, records: Records) -> None:
    identity = {
        target: value for column, target in _CSV_IDENTITY.items() if (value := _present(row.get(column))) is not None
    }
    raw_index = identity.pop("index", None)
    if raw_index is not None and not raw_index.isdigit():
        raise Malformed(line_no, f"GPU index {raw_index!r} is not a number")
    index = int(raw_index) if raw_index is not None else None
    bdf = normalize_bdf(identity.pop("pci_bdf", ""))
    device = bdf or (gpu_ref(index) if index is not None else None)
    if device is None:
        raise Malformed(line_no, "row names neither the GPU's index nor its PCI bus id")
    if bdf:
        records.asset("gpu", bdf, line_no, index=index, pci_bdf=bdf, **identity)
    for column, text in row.items():
        if column in _CSV_METRICS:
            metric, unit, convert = _CSV_METRICS[column]
            params = {"text": text} if unit == ENUM else None
            records.measure(device, TEST, metric, convert(text), unit, line_no, params=params)
        elif m := _CSV_REASON.match(column):
            reason = _REASON_ALIASES.get(m.group(1), m.group(1))
            records.measure(device, TEST, f"clocks_event_{reason}", _flag(text), FLAG, line_no)


# ---------------------------------------------------------------------------------------------- parser


class NvidiaSmiSource(DocumentSource):
    """Reads one nvidia-smi dump whole, in the layout its sniff found."""

    KIND = KIND

    def read(self, lines: list[str], records: Records) -> None:
        """Add the dump's assets and measurements; raise `Malformed` on a truncated or broken dump."""
        tz = self.ctx.timezone
        if self.format == "query_xml":
            dump, fault = parse_query_xml(lines)
            emit_dump(dump, records, tz)
            if fault is not None:
                raise fault
        elif self.format == "table":
            read_table(lines, records, tz)
        elif self.format == "query_csv":
            read_csv(lines, records)
        else:
            read_query_text(lines, 1, records, tz)


def parser(sniffed: Sniffed, ctx: ParseContext) -> Parser:
    """A parser for one nvidia-smi dump."""
    return NvidiaSmiSource(ctx, sniffed.format)
