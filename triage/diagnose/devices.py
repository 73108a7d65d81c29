"""One name per device: the aliases a host's evidence uses, and the canonical device each stands for.

Tools name the same part differently, and the diagnosis groups evidence per (host, device), so
every alias is first replaced by one canonical name:

  kind       canonical     aliases seen
  gpu        `0000:3b:00.0`  `gpuN` (dcgmi, nvlink, nccl-tests, nvbandwidth)
  hca        `mlx5_N/P`      `mlx5_core 0000:4d:00.0` (kernel), `mlx5_2` (NCCL), `ib2` / `ibp77s0`
                             (IPoIB netdev), `lid3/1` (perfquery); an HCA whose mlx5_N is unknown
                             keeps its PCI address, so its netdev and PCI aliases still meet
  pcie_port  the GPU or HCA below the port: `pcieport 0000:b7:01.0` reports the AER Surprise Down
             of the GPU `0000:ba:00.0` that then logs XID 79: one incident
  nvswitch   `0000:05:00.0`

`device_aliases(store, hosts)` has one row per (host, alias) seen in findings (the device column
and the `bdf`, `port`, `limited_at`, `hca`, `iface` fields), anomalies, test_runs, measurements
and assets (device, pci_bdf), with columns `host, alias, device, kind, how`. A canonical name maps
to itself; an alias that cannot be resolved safely keeps a row with a null `device` and the reason
in `how`. `canonical(frame, aliases)` renames a frame's device column with it. Evidence only counts
within one host. `how` names the heuristic; chained ones are joined by ' + '.

GPU indexes
  The ingest (`triage.ingest.devices`) already replaced every `gpuN` that a single PCI address of
  the host's inventory claims. What it leaves is ambiguous because two numberings disagree. NVML
  (nvidia-smi, DCGM, `nvidia-smi nvlink`) numbers every attached GPU in PCI order, a GPU lost from
  the bus included: nvidia-smi prints `Unable to determine the device handle for GPU0000:BA:00.0`
  and its parser still numbers it, and DCGM then fails `nvmlDeviceGetHandleByIndex_v2 ... for GPU 6:
  'GPU is lost'`, i.e. NVML index 6 is the lost GPU. CUDA (nvbandwidth, nccl-tests, HPL) numbers
  only the GPUs it can open. So an index is read in the numbering of the test that printed it:
  - 'nvidia-smi index': DCGM/nvlink rows, when the host's nvidia-smi dumps agree on one address
    per index, and the file names as many GPUs as nvidia-smi numbers (lost ones included).
  - 'PCI order of all GPUs': the same without any nvidia-smi index on the host (an XML dump gives
    none for a lost GPU): every GPU the host showed (boot lines, inventories) in PCI order. All real
    multi-GPU nvidia-smi dumps in ../shared/realdata list their GPUs in PCI order.
  - 'PCI order of reachable GPUs': the file names exactly as many GPUs as nvidia-smi found
    reachable: DCGM ran while the lost GPU was not enumerated and NVML numbered the others in PCI
    order. Limit: assumes the GPU nvidia-smi marks unreachable is the one that was missing then.
  - 'CUDA device index': nvbandwidth/nccl/HPL rows, when those tools' own device lists agree.
  An index is mapped only if every file using it gives the same address ('gpu index: sources
  disagree'); a file naming some other number of GPUs (`dcgmi diag -i 2`) maps nothing ('gpu
  index: no numbering fits'). Limit: the ingest resolves an index as soon as one inventory claims
  it, so a DCGM index counted without the lost GPU may already have been resolved by nvidia-smi's
  numbering before this module sees it.

InfiniBand HCAs
  - 'ib device line': `mlx5_core <pci> mlx5_N: ...` (ibdev_printk, on kernels where the IB device's
    parent is the PCI function) names the CA of a PCI function.
  - 'probe order': IB devices are numbered mlx5_0, mlx5_1, ... as they register, which follows
    mlx5_core's PCI probe, i.e. ascending PCI address over all mlx5_core functions of the host
    (Ethernet/RoCE ones get an mlx5_N too). Checked on ../shared/realdata: an H100 boot log (gpud
    dmesg.decode.iso.log.1) probes ConnectX-7 functions (firmware 28.x) at 1a, 3c, 4d, 5e, 9c, bc, cc,
    dc and ConnectX-6 Dx ones (22.x) at 1b.0, 1b.1, 9d.0, 9d.1; the same project's H100 ibstat has
    MT4125 (22.x) at mlx5_1, mlx5_2, mlx5_7, mlx5_8 and MT4129 (28.x) elsewhere: the ascending-
    address pattern exactly (two captures of one machine type, so consistent with, not proof of).
    Used only when the host's CA inventory (ibstat, sysfs, counters) is mlx5_0..mlx5_{n-1} without a
    gap, n is the number of mlx5_core functions in its kernel log, no CA named elsewhere lies outside
    it, and no ib device line contradicts it. Limits: a function that failed to probe, SR-IOV VFs,
    RoCE LAG (`mlx5_bond_0`), renamed CAs (`mlx5_ib0`) or a log missing its boot lines fail these
    checks, and then nothing is mapped by probe order.
  - 'single port' / 'port 1 assumed': a CA named without a port (`mlx5_2`) is `mlx5_2/P` when every
    port seen for it (`mlx5_2/1` in counters or ibstat, NCCL's `mlx5_2:1`) is P, or `mlx5_2/1` when
    no port is known at all (ConnectX gives each port its own PCI function and CA). A CA with two
    ports stays unmapped when the alias names none ('several ports, none named').
  - 'renamed line' / 'netdev line': `mlx5_core <pci> <ifname>: renamed from <old>` and any other
    `mlx5_core <pci> <ifname>: ...` (netdev_printk) tie an interface to its PCI function; a name two
    functions claim is dropped. The old name of a rename is not used: kernel names are reused (the
    realdata H100 renames eight IPoIB interfaces, each `renamed from ib0`).
  - 'netdev order': on a host without any rename line, IPoIB creates ib0, ib1, ... for the
    InfiniBand ports in CA order (mlx5_0 port 1, mlx5_0 port 2, mlx5_1 port 1, ...; Ethernet ports
    get none). Used only for names no kernel line claims, and when ibstat gives the link layer of
    every port of a complete inventory. Limit: persistent interface naming or a late-loaded module
    breaks it.
  - 'ibstat base lid': perfquery and ibdiagnet name ports `lid<L>/<P>`; ibstat gives each local
    port's base LID. LIDs of other nodes (switches, peers) get no row.

PCIe ports
  A PCI address is a port when the kernel printed it with the `pcieport` driver, announced it in
  `PCI bridge to [bus ...]`, reported AER as the receiving port, or named it the `limited_at` end of
  a degraded link; and it is no known GPU, HCA or NVSwitch. The device below it:
  - 'AER source line' / 'link limit line' / 'AER requester id': a line names it (`pcieport
    0000:b7:01.0: AER: ... error received: 0000:ba:00.0`; `0000:2a:00.0: ... limited by ... link at
    0000:27:01.0`; `error received: id=ba00`, requester ids decoded as bus/device/function). Used
    when exactly one GPU, or without a GPU exactly one HCA, is named ('several devices named below
    port' otherwise); devices that are neither are ignored.
  - 'bridge bus range': the boot log's `pci 0000:b7:01.0: PCI bridge to [bus b8-bd]`.
  - 'bus order below root port': buses are numbered depth first, so the devices below a port sit on
    buses above its own, up to the next root port. The range ends before the next port that received
    AER and at the end of the port's root bus (`PCI Root Bridge [..] (domain 0000 [bus b7-d7])`).
    Refused when another known bridge or AER port shares the port's bus (AMD-style root ports side
    by side on bus 00 split the buses above in an order the log does not give: 'several ports on
    bus, none named'). Limit: without root-bus lines, a root port that reports nothing is no
    separator, so a port whose own subtree is empty would reach into its neighbour's.
  In a range the GPU on the lowest bus is named, else the HCA on the lowest bus ('no device below
  port' when there is neither). Limit: behind a PCIe switch (HGX: root port -> switch -> GPU, NIC,
  NVMe; the realdata H100 has `pci 0000:b7:01.0: PCI bridge to [bus b8-bd]` with an mlx5 at bc) a
  port has several devices below; the GPU is named because the incident the diagnosis joins is
  AER -> XID 79, and an HCA's own errors name its PCI function directly.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from triage.sources.records import bdf_expr
from triage.store import Store

ALIAS_SCHEMA: dict[str, pl.DataType] = {
    "host": pl.String(),
    "alias": pl.String(),
    "device": pl.String(),
    "kind": pl.String(),
    "how": pl.String(),
}

_BDF = r"[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7]"
_PCI = r"^[0-9a-f]{4,8}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$"
_GPU_INDEX = r"^gpu(\d+)$"
_CA = r"^mlx5_\w+$"  # mlx5_0, mlx5_bond_0, mlx5_ib3 (renamed by udev)
_CA_NUMBERED = r"^mlx5_(\d+)$"
_CA_NUMBER = r"^mlx5_(\d+)(?:/\d+)?$"
_CA_PORT = r"^(mlx5_\w+)/(\d+)$"
_NETDEV = r"^[A-Za-z][A-Za-z0-9_.-]*$"
_IPOIB = r"^ib\d+$"
_LID = r"^lid\d+/\d+$"
# Sources whose `mlx5_N/P` names are an inventory of the host's CAs (ibstat, sysfs, counters).
_INVENTORY = ["assets", "measurements", "test_runs"]
# Which numbering a `gpuN` follows, by test name: NVML's (lost GPUs counted) or CUDA's.
_NVML_TESTS = r"^(dcgm|nvidia_smi|nvlink)"
_CUDA_TESTS = r"^(nvbandwidth|nccl|hpl)"
_NVML_FILES = ["nvidia_smi", "bug_report"]
_CUDA_FILES = ["nvbandwidth", "nccl_tests", "hpl"]
# Lower wins when one name could be several kinds.
_PRIORITY = {"gpu": 0, "hca": 1, "nvswitch": 2, "pcie_port": 3}
_RANK_GPU, _RANK_HCA = 0, 1
_SIBLINGS = "several ports on bus, none named"


def device_aliases(store: Store, hosts: list[str] | None = None) -> pl.DataFrame:
    """Every device alias seen on `hosts` (default: all) with its canonical device, kind and heuristic.

    Columns `host, alias, device, kind, how`, one row per (host, alias), sorted by host, kind and
    alias. `device` is null where the alias cannot be resolved safely (`how` says why); names that
    are no GPU, HCA, NVSwitch or PCIe port (DIMM labels, disks, remote LIDs) get no row. The
    heuristics and their limits are in the module docstring.
    """
    if hosts is not None and not hosts:
        return pl.DataFrame(schema=ALIAS_SCHEMA)
    facts = _Facts.load(store, hosts)
    if facts.names.is_empty():
        return pl.DataFrame(schema=ALIAS_SCHEMA)
    gpus, hcas, switches = _known_pcis(facts)
    hca_names = _hca_names(facts, hcas)
    ports = _ca_ports(facts)
    parts = [
        _identity(gpus, "gpu"),
        _identity(switches, "nvswitch"),
        _hca_device(hcas.select("host", alias="pci", pci="pci", how=pl.lit(None, pl.String)), hca_names, ports),
        _ca_aliases(facts, ports),
        _netdev_aliases(facts, hca_names, ports),
        _lid_aliases(facts),
        _port_aliases(facts, gpus, hcas, switches, hca_names, ports),
        _gpu_index_aliases(facts, gpus),
    ]
    found = pl.concat([part.select(list(ALIAS_SCHEMA)).cast(ALIAS_SCHEMA) for part in parts], how="vertical")
    seen = facts.names.select("host", alias="name").unique()
    return (
        found.join(seen, on=["host", "alias"], how="semi")
        .with_columns(_rank=pl.col("kind").replace_strict(_PRIORITY, default=9, return_dtype=pl.Int8))
        .sort("host", "alias", "_rank", pl.col("device").is_null())
        .unique(["host", "alias"], keep="first", maintain_order=True)
        .drop("_rank")
        .sort("host", "kind", "alias")
    )


def canonical(frame: pl.DataFrame, aliases: pl.DataFrame, column: str = "device") -> pl.DataFrame:
    """`frame` with `column` replaced by the canonical device of the same host, plus `alias_of`.

    `alias_of` holds the original name where it changed and is null elsewhere (an `alias_of` the
    frame already has is kept where set). Pairs such as nvbandwidth's `gpu0->gpu1` are renamed
    end by end. Aliases with a null device, and names of other hosts, change nothing.
    """
    mapping = (
        aliases.filter(pl.col("device").is_not_null() & (pl.col("device") != pl.col("alias")))
        .select("host", _name="alias", _canonical="device")
        .unique(["host", "_name"])
    )
    original = pl.col(column)
    rows = frame.with_row_index("_row")
    is_pair = original.str.contains("->", literal=True).fill_null(False)
    single = rows.filter(~is_pair).join(
        mapping, left_on=["host", column], right_on=["host", "_name"], how="left", maintain_order="left"
    )
    pairs = rows.filter(is_pair)
    if not pairs.is_empty():
        ends = (
            pairs.select("_row", "host", _name=original.str.split("->"))
            .with_columns(_pos=pl.int_ranges(pl.col("_name").list.len()))
            .explode("_name", "_pos")
            .join(mapping, on=["host", "_name"], how="left")
            .sort("_row", "_pos")
            .group_by("_row", maintain_order=True)
            .agg(pl.coalesce("_canonical", "_name").str.join("->").alias("_canonical"))
        )
        pairs = pairs.join(ends, on="_row", how="left")
        single = pl.concat([single, pairs], how="vertical_relaxed").sort("_row")
    new = pl.coalesce("_canonical", column)
    changed = pl.when(new != original).then(original).cast(pl.String)
    if "alias_of" in frame.columns:
        changed = pl.coalesce("alias_of", changed)
    out = single.with_columns(changed.alias("alias_of")).with_columns(new.alias(column))
    return out.select(*frame.columns, *([] if "alias_of" in frame.columns else ["alias_of"]))


# -- reading the store ----------------------------------------------------------------------------

_NAMES_SQL = """
SELECT DISTINCT host, name, src FROM (
  SELECT host, device AS name, 'findings' AS src FROM findings WHERE {scope}
  UNION ALL SELECT host, device, 'anomalies' FROM anomalies WHERE {scope}
  UNION ALL SELECT host, device, 'test_runs' FROM test_runs WHERE {scope}
  UNION ALL SELECT host, device, 'measurements' FROM measurements WHERE {scope}
  UNION ALL SELECT host, device, 'assets' FROM assets WHERE {scope}
  UNION ALL SELECT host, pci_bdf, 'assets' FROM assets WHERE {scope}
) WHERE name IS NOT NULL
"""
_FINDINGS_SQL = "SELECT host, rule_id, device, fields FROM findings WHERE {scope}"
_ASSETS_SQL = """
SELECT DISTINCT a.host, a.kind, a.device, a.index, a.pci_bdf, f.kind AS source
FROM assets a LEFT JOIN files f ON f.file_id = a.file_id WHERE a.{scope}
"""
# nvidia-smi's lost GPUs; ibstat's link layer and base LID per CA port.
_STATES_SQL = """
SELECT DISTINCT host, device, metric, value, json_extract_string(params, '$.link_layer') AS link_layer
FROM measurements
WHERE {scope} AND device IS NOT NULL AND (
  (test = 'nvidia_smi' AND metric = 'gpu_unreachable' AND value > 0)
  OR (test = 'ibstat' AND metric IN ('state', 'lid')))
"""
# Every device of the files that name a GPU by index (to count the GPUs such a file knows).
_INDEXED_SQL = """
WITH indexed AS (
  SELECT DISTINCT host, coalesce(file_id, -1) AS file_id FROM measurements
  WHERE {scope} AND device LIKE '%gpu%' AND regexp_matches(device, '(^|->)gpu[0-9]+($|->)')
  UNION SELECT DISTINCT host, coalesce(file_id, -1) FROM test_runs
  WHERE {scope} AND device LIKE '%gpu%' AND regexp_matches(device, '(^|->)gpu[0-9]+($|->)')
)
SELECT DISTINCT m.host, i.file_id, m.test, m.device
FROM measurements m JOIN indexed i ON i.host = m.host AND i.file_id = coalesce(m.file_id, -1)
WHERE m.device IS NOT NULL
UNION
SELECT DISTINCT r.host, i.file_id, r.test, r.device
FROM test_runs r JOIN indexed i ON i.host = r.host AND i.file_id = coalesce(r.file_id, -1)
WHERE r.device IS NOT NULL
"""
# The kernel lines that tie names to PCI functions and describe the PCI tree.
_KERNEL_SQL = rf"""
SELECT DISTINCT host,
  regexp_extract(message, 'mlx5_core ({_BDF})', 1) AS hca_pci,
  regexp_extract(message, 'mlx5_core {_BDF} ([A-Za-z0-9_.-]+): ', 1) AS hca_name,
  contains(message, ': renamed from ') AS renamed,
  regexp_extract(message, 'pcieport ({_BDF})', 1) AS pcieport,
  regexp_extract(message, 'pci ({_BDF}): PCI bridge to \[bus ', 1) AS bridge,
  regexp_extract(message, 'PCI bridge to \[bus ([0-9A-Fa-f]{{2}})', 1) AS secondary,
  regexp_extract(message, 'PCI bridge to \[bus [0-9A-Fa-f]{{2}}-([0-9A-Fa-f]{{2}})\]', 1) AS subordinate,
  regexp_extract(message, '(?:PCI Root Bridge \[[^\]]*\] \(domain |pci_bus )([0-9A-Fa-f]{{4,8}})[ :]', 1)
    AS root_domain,
  regexp_extract(message, '(?:\(domain [0-9A-Fa-f]+ |root bus resource )\[bus ([0-9A-Fa-f]{{2}})', 1) AS root_lo,
  regexp_extract(message, '(?:\(domain [0-9A-Fa-f]+ |root bus resource )\[bus [0-9A-Fa-f]{{2}}-([0-9A-Fa-f]{{2}})\]', 1)
    AS root_hi
FROM events
WHERE {{scope}} AND (message LIKE '%mlx5_core %' OR message LIKE '%pcieport %' OR message LIKE '%PCI bridge to [bus %'
  OR message LIKE '%PCI Root Bridge [%' OR message LIKE '%root bus resource [bus %')
"""


@dataclass(frozen=True)
class _Facts:
    """What the store says about the hosts' devices, in a few small frames."""

    names: pl.DataFrame  # host, name, src: every device name seen, and the table it was seen in
    findings: pl.DataFrame  # host, rule_id, device, bdf, port, ib_port, limited_at, hca, iface, source_id
    assets: pl.DataFrame  # host, kind, device, index, pci_bdf, source (files.kind)
    states: pl.DataFrame  # host, device, metric, value, link_layer
    indexed: pl.DataFrame  # host, file_id, test, device
    kernel: pl.DataFrame  # host, hca_pci, hca_name, renamed, pcieport, bridge, secondary, subordinate, root_*

    @classmethod
    def load(cls, store: Store, hosts: list[str] | None) -> _Facts:
        def frame(sql: str) -> pl.DataFrame:
            if hosts is None:
                return store.frame(sql.replace("{scope}", "host IS NOT NULL"))
            body = sql.replace("{scope}", "host IN (SELECT host FROM scope)").strip()
            cte = "WITH scope AS (SELECT unnest(?::VARCHAR[]) AS host)"
            if body.startswith("WITH "):
                return store.frame(f"{cte}, {body.removeprefix('WITH ')}", [hosts])
            return store.frame(f"{cte} {body}", [hosts])

        findings = _finding_fields(frame(_FINDINGS_SQL))
        kernel = frame(_KERNEL_SQL)
        text = [c for c, dtype in kernel.schema.items() if dtype == pl.String and c != "host"]
        kernel = kernel.with_columns(pl.col(text).replace("", None)).with_columns(
            hca_pci=bdf_expr(pl.col("hca_pci")),
            pcieport=bdf_expr(pl.col("pcieport")),
            bridge=bdf_expr(pl.col("bridge")),
            root_domain=pl.col("root_domain").str.to_lowercase().str.strip_chars_start("0").str.zfill(4),
        )
        return cls(
            names=_names(frame(_NAMES_SQL), findings),
            findings=findings,
            assets=frame(_ASSETS_SQL),
            states=frame(_STATES_SQL),
            indexed=frame(_INDEXED_SQL),
            kernel=kernel,
        )


def _finding_fields(findings: pl.DataFrame) -> pl.DataFrame:
    """The device-naming fields of each finding, PCI addresses normalised."""
    field = pl.col("fields").str.json_path_match
    port = field("$.port")
    return findings.select(
        "host",
        "rule_id",
        "device",
        bdf=bdf_expr(field("$.bdf")),
        port=bdf_expr(port),  # AER: the receiving port; NCCL's `port` is an IB port number instead
        ib_port=pl.when(port.str.contains(r"^\d+$")).then(port),
        limited_at=bdf_expr(field("$.limited_at")),
        hca=field("$.hca"),
        iface=field("$.iface"),
        source_id=field("$.source_id"),
    )


def _names(names: pl.DataFrame, findings: pl.DataFrame) -> pl.DataFrame:
    """Every name seen, both ends of `a->b` pairs and the findings' fields included."""
    fields = [findings.select("host", name=c) for c in ("bdf", "port", "limited_at", "hca", "iface")]
    extra = pl.concat(fields, how="vertical").drop_nulls().with_columns(src=pl.lit("findings"))
    split = names.with_columns(pl.col("name").str.split("->")).explode("name")
    return pl.concat([split, extra], how="vertical").unique()


# -- which PCI address is what --------------------------------------------------------------------


def _known_pcis(facts: _Facts) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(host, pci) of GPUs (inventory, XID lines), mlx5 functions (mlx5_core lines) and NVSwitches."""

    def asset(kind: str) -> pl.DataFrame:
        rows = facts.assets.filter(pl.col("kind") == kind)
        return rows.select("host", pci=pl.coalesce(bdf_expr(pl.col("pci_bdf")), bdf_expr(pl.col("device"))))

    def ruled(pattern: str) -> pl.DataFrame:
        rows = facts.findings.filter(pl.col("rule_id").str.contains(pattern))
        return rows.select("host", pci=bdf_expr(pl.col("device")))

    def union(*frames: pl.DataFrame, minus: pl.DataFrame | None = None) -> pl.DataFrame:
        out = pl.concat(frames, how="vertical").drop_nulls().unique()
        if minus is not None:
            out = out.join(minus, on=["host", "pci"], how="anti")
        return out.sort("host", "pci")

    gpus = union(asset("gpu"), ruled(r"^(xid|gpu-)"))
    hcas = union(facts.kernel.select("host", pci="hca_pci"), ruled(r"^mlx5-"), minus=gpus)
    switches = union(asset("nvswitch"), ruled(r"^(sxid|fabricmanager-nvswitch)"), minus=gpus)
    return gpus, hcas, switches


def _identity(pcis: pl.DataFrame, kind: str) -> pl.DataFrame:
    return pcis.select("host", alias="pci", device="pci", kind=pl.lit(kind), how=pl.lit("pci address"))


def _bus(pci: pl.Expr) -> pl.Expr:
    return pci.str.extract(r":([0-9a-f]{2}):[0-9a-f]{2}\.[0-7]$", 1).str.to_integer(base=16)


def _domain(pci: pl.Expr) -> pl.Expr:
    return pci.str.extract(r"^([0-9a-f]+):", 1)


def _steps(*parts: pl.Expr) -> pl.Expr:
    """`how` of a chain of heuristics: the non-null steps joined by ' + ' (null when none)."""
    joined = pl.concat_str(list(parts), separator=" + ", ignore_nulls=True)
    return pl.when(joined != "").then(joined)


# -- InfiniBand -----------------------------------------------------------------------------------


def _hca_names(facts: _Facts, hcas: pl.DataFrame) -> pl.DataFrame:
    """(host, pci, ca, named_how): the CA name of each mlx5 PCI function, by ib device line or probe order."""
    explicit = (
        facts.kernel.filter(pl.col("hca_name").str.contains(_CA_NUMBERED))
        .select("host", pci="hca_pci", ca="hca_name")
        .unique()
        .filter((pl.len().over("host", "pci") == 1) & (pl.len().over("host", "ca") == 1))
        .with_columns(named_how=pl.lit("ib device line"))
    )
    numbered = facts.names.with_columns(number=pl.col("name").str.extract(_CA_NUMBER, 1).cast(pl.Int64)).filter(
        pl.col("number").is_not_null()
    )
    inventory = (
        numbered.filter(pl.col("src").is_in(_INVENTORY))
        .group_by("host")
        .agg(n_ca=pl.col("number").n_unique(), top=pl.col("number").max())
    )
    named = numbered.group_by("host").agg(top_named=pl.col("number").max())
    order = pl.col("pci").str.extract(r"^([0-9a-f]+):", 1).str.zfill(8) + pl.col("pci").str.extract(r"(:.*)$", 1)
    probe = (
        hcas.with_columns(n_pci=pl.len().over("host"), rank=order.rank("ordinal").over("host") - 1)
        .join(inventory, on="host")
        .join(named, on="host")
        .filter(
            (pl.col("n_pci") == pl.col("n_ca"))
            & (pl.col("top") == pl.col("n_ca") - 1)
            & (pl.col("top_named") <= pl.col("top"))
        )
        .select("host", "pci", ca=pl.format("mlx5_{}", pl.col("rank")), named_how=pl.lit("probe order"))
    )
    contradicted = (
        probe.join(explicit, on=["host", "pci"]).filter(pl.col("ca") != pl.col("ca_right")).select("host").unique()
    )
    probe = probe.join(contradicted, on="host", how="anti").join(explicit, on=["host", "pci"], how="anti")
    return pl.concat([explicit, probe], how="vertical")


def _ca_ports(facts: _Facts) -> pl.DataFrame:
    """(host, ca, ports): the port numbers seen for each CA (`mlx5_2/1`; NCCL's hca and port fields)."""
    named = facts.names.filter(pl.col("name").str.contains(_CA_PORT)).select(
        "host", ca=pl.col("name").str.extract(_CA_PORT, 1), port=pl.col("name").str.extract(_CA_PORT, 2)
    )
    fields = facts.findings.filter(pl.col("hca").str.contains(_CA) & pl.col("ib_port").is_not_null()).select(
        "host", ca="hca", port="ib_port"
    )
    return (
        pl.concat([named, fields], how="vertical")
        .with_columns(pl.col("port").cast(pl.Int64))
        .unique()
        .group_by("host", "ca")
        .agg(ports=pl.col("port").sort())
    )


def _with_port(frame: pl.DataFrame, ports: pl.DataFrame, ca: str = "ca") -> pl.DataFrame:
    """Adds `ca_port` (the CA's port device, null for a CA with several ports) and `port_how`."""
    joined = frame.join(ports, left_on=["host", ca], right_on=["host", "ca"], how="left")
    n = pl.col("ports").list.len().fill_null(0)
    return joined.with_columns(
        ca_port=pl.when(n == 0)
        .then(pl.format("{}/1", pl.col(ca)))
        .when(n == 1)
        .then(pl.format("{}/{}", pl.col(ca), pl.col("ports").list.first())),
        port_how=pl.when(n == 0).then(pl.lit("port 1 assumed")).when(n > 1).then(pl.lit("several ports, none named")),
    )


def _hca_device(frame: pl.DataFrame, hca_names: pl.DataFrame, ports: pl.DataFrame) -> pl.DataFrame:
    """(host, alias, pci, how) of mlx5 PCI functions -> `mlx5_N/P`, or the PCI address when N is unknown."""
    named = _with_port(frame.join(hca_names, on=["host", "pci"], how="left"), ports)
    unnamed = pl.col("ca").is_null()
    return named.select(
        "host",
        "alias",
        device=pl.when(unnamed).then("pci").otherwise("ca_port"),
        kind=pl.lit("hca"),
        how=pl.when(unnamed)
        .then(_steps(pl.col("how"), pl.lit("pci address (mlx5 name unknown)")))
        .otherwise(_steps(pl.col("how"), pl.col("named_how"), pl.col("port_how"))),
    )


def _ca_aliases(facts: _Facts, ports: pl.DataFrame) -> pl.DataFrame:
    """CA names (`mlx5_2`) -> `mlx5_2/P`; CA port names (`mlx5_2/1`) are canonical."""
    bare = _with_port(
        facts.names.filter(pl.col("name").str.contains(_CA)).select("host", "name").unique(), ports, "name"
    )
    with_port = facts.names.filter(pl.col("name").str.contains(_CA_PORT)).select("host", "name").unique()
    return pl.concat(
        [
            bare.select(
                "host",
                alias="name",
                device="ca_port",
                kind=pl.lit("hca"),
                how=pl.coalesce("port_how", pl.lit("single port")),
            ),
            with_port.select("host", alias="name", device="name", kind=pl.lit("hca"), how=pl.lit("ca/port name")),
        ],
        how="vertical",
    )


def _netdev_aliases(facts: _Facts, hca_names: pl.DataFrame, ports: pl.DataFrame) -> pl.DataFrame:
    """Interface names (`ib2`, `ibp26s0`) -> their HCA, by netdev lines or, failing those, IPoIB order."""
    claimed = facts.kernel.filter(
        pl.col("hca_name").str.contains(_NETDEV) & ~pl.col("hca_name").str.contains(_CA_NUMBERED)
    )
    lines = (
        claimed.group_by("host", "hca_name")
        .agg(pci=pl.col("hca_pci").unique(), renamed=pl.col("renamed").any())
        .filter(pl.col("pci").list.len() == 1)
        .select(
            "host",
            alias="hca_name",
            pci=pl.col("pci").list.first(),
            how=pl.when("renamed").then(pl.lit("renamed line")).otherwise(pl.lit("netdev line")),
        )
    )
    ipoib = facts.names.filter(pl.col("name").str.contains(_IPOIB)).select("host", alias="name").unique()
    unmapped = ipoib.select(
        "host", "alias", device=pl.lit(None, pl.String), kind=pl.lit("hca"), how=pl.lit("netdev not tied to an hca")
    )
    # A name the kernel printed for some function is left to those lines, even when they disagree.
    unclaimed = ipoib.join(claimed, left_on=["host", "alias"], right_on=["host", "hca_name"], how="anti")
    by_order = _netdev_order(facts, unclaimed)
    return pl.concat([_hca_device(lines, hca_names, ports), by_order, unmapped], how="vertical")


def _netdev_order(facts: _Facts, wanted: pl.DataFrame) -> pl.DataFrame:
    """`ibK` -> the K-th InfiniBand CA port in (CA number, port) order, on hosts without rename lines."""
    renaming = facts.kernel.filter(pl.col("renamed") & pl.col("hca_pci").is_not_null()).select("host").unique()
    layers = (
        facts.states.filter(pl.col("metric") == "state")
        .select("host", "device", "link_layer")
        .unique(["host", "device"])
    )
    inventory = (
        facts.names.filter(pl.col("src").is_in(_INVENTORY) & pl.col("name").str.contains(r"^mlx5_\d+/\d+$"))
        .select(
            "host",
            device="name",
            number=pl.col("name").str.extract(r"^mlx5_(\d+)/", 1).cast(pl.Int64),
            port=pl.col("name").str.extract(r"/(\d+)$", 1).cast(pl.Int64),
        )
        .unique()
        .join(layers, on=["host", "device"], how="left")
    )
    complete = (
        inventory.group_by("host")
        .agg(ok=pl.col("link_layer").is_not_null().all() & (pl.col("number").n_unique() == pl.col("number").max() + 1))
        .filter("ok")
        .select("host")
    )
    ordered = (
        inventory.filter(pl.col("link_layer") == "InfiniBand")
        .join(complete, on="host")
        .join(renaming, on="host", how="anti")
        .sort("host", "number", "port")
        .with_columns(alias=pl.format("ib{}", pl.int_range(pl.len()).over("host")))
    )
    return wanted.join(ordered, on=["host", "alias"]).select(
        "host", "alias", "device", kind=pl.lit("hca"), how=pl.lit("netdev order")
    )


def _lid_aliases(facts: _Facts) -> pl.DataFrame:
    """`lid<L>/<P>` (perfquery, ibdiagnet) -> the local CA port whose ibstat base LID is L."""
    lids = (
        facts.states.filter(
            (pl.col("metric") == "lid") & (pl.col("value") > 0) & pl.col("device").str.contains(_CA_PORT)
        )
        .select(
            "host",
            "device",
            alias=pl.format("lid{}/{}", pl.col("value").cast(pl.Int64), pl.col("device").str.extract(r"/(\d+)$", 1)),
        )
        .unique()
        .filter(pl.len().over("host", "alias") == 1)
    )
    seen = facts.names.filter(pl.col("name").str.contains(_LID)).select("host", alias="name").unique()
    return lids.join(seen, on=["host", "alias"]).select(
        "host", "alias", "device", kind=pl.lit("hca"), how=pl.lit("ibstat base lid")
    )


# -- PCIe ports -----------------------------------------------------------------------------------


def _port_aliases(
    facts: _Facts,
    gpus: pl.DataFrame,
    hcas: pl.DataFrame,
    switches: pl.DataFrame,
    hca_names: pl.DataFrame,
    ports: pl.DataFrame,
) -> pl.DataFrame:
    """PCIe root ports and bridges -> the GPU (else the HCA) below them."""
    kernel, findings = facts.kernel, facts.findings
    # Ports that receive AER: the `port` of `... error received: <bdf>` and the device of AER rules.
    receivers = pl.concat(
        [
            findings.select("host", pci="port"),
            findings.filter(pl.col("rule_id").str.starts_with("pcie-aer-")).select(
                "host", pci=bdf_expr(pl.col("device"))
            ),
        ],
        how="vertical",
    ).drop_nulls()
    limits = findings.select("host", pci="limited_at").drop_nulls()
    bridges = kernel.select("host", pci="bridge").drop_nulls()
    evidence = pl.concat([kernel.select("host", pci="pcieport").drop_nulls(), bridges, limits, receivers])
    known = pl.concat([gpus, hcas, switches], how="vertical")
    wanted = (
        facts.names.filter(pl.col("name").str.contains(_PCI))
        .select("host", port="name")
        .unique()
        .join(evidence, left_on=["host", "port"], right_on=["host", "pci"], how="semi")
        .join(known, left_on=["host", "port"], right_on=["host", "pci"], how="anti")
    )
    if wanted.is_empty():
        return pl.DataFrame(schema=ALIAS_SCHEMA)
    below = pl.concat(
        [gpus.with_columns(rank=pl.lit(_RANK_GPU)), hcas.with_columns(rank=pl.lit(_RANK_HCA))], how="vertical"
    ).with_columns(domain=_domain(pl.col("pci")), bus=_bus(pl.col("pci")))
    explicit = _explicit_children(findings, below)
    ranged = _children_in_range(
        kernel, wanted, below, pl.concat([bridges, limits, receivers]).unique(), receivers
    ).join(explicit, on=["host", "port"], how="anti")
    resolved = wanted.join(pl.concat([explicit, ranged], how="vertical"), on=["host", "port"], how="left")
    to_gpu = resolved.filter(pl.col("rank") == _RANK_GPU).select(
        "host", alias="port", device="child", kind=pl.lit("pcie_port"), how="how"
    )
    to_hca = _hca_device(
        resolved.filter(pl.col("rank") == _RANK_HCA).select("host", alias="port", pci="child", how="how"),
        hca_names,
        ports,
    ).with_columns(kind=pl.lit("pcie_port"))
    nothing = resolved.filter(pl.col("child").is_null()).select(
        "host",
        alias="port",
        device=pl.lit(None, pl.String),
        kind=pl.lit("pcie_port"),
        how=pl.coalesce("how", pl.lit("no device below port")),
    )
    return pl.concat([to_gpu, to_hca, nothing], how="vertical")


_DEVICE_HEX = [f"{i:02x}" for i in range(32)]


def _requester(source_id: pl.Expr, port: pl.Expr) -> pl.Expr:
    """The PCI address of an AER/DPC requester id (`ba00`: bus 0xba, devfn 0x00) in the port's domain."""
    rid = source_id.str.replace(r"^0[xX]", "").str.zfill(4).str.to_lowercase()
    devfn = rid.str.slice(2, 2).str.to_integer(base=16, strict=False)
    return pl.when(rid.str.contains(r"^[0-9a-f]{4}$")).then(
        pl.format(
            "{}:{}:{}.{}",
            _domain(port),
            rid.str.slice(0, 2),
            pl.lit(_DEVICE_HEX).list.get(devfn // 8, null_on_oob=True),
            devfn % 8,
        )
    )


def _explicit_children(findings: pl.DataFrame, below: pl.DataFrame) -> pl.DataFrame:
    """(host, port, child, rank, how) where a line names the GPU or HCA behind a port."""
    reporter = pl.coalesce("port", bdf_expr(pl.col("device")))
    named = (
        pl.concat(
            [
                findings.select("host", port="port", child="bdf", how=pl.lit("AER source line")),
                findings.select("host", port="limited_at", child="bdf", how=pl.lit("link limit line")),
                findings.filter(pl.col("source_id").is_not_null()).select(
                    "host",
                    port=reporter,
                    child=_requester(pl.col("source_id"), reporter),
                    how=pl.lit("AER requester id"),
                ),
            ],
            how="vertical",
        )
        .drop_nulls(["port", "child"])
        .filter(pl.col("port") != pl.col("child"))
        .join(below.select("host", child="pci", rank="rank"), on=["host", "child"])
        .sort("host", "port", "rank", "child", "how")
        .unique(["host", "port", "child"], keep="first", maintain_order=True)
    )
    # A GPU named below the port wins over HCAs; two GPUs (or, without one, two HCAs) are ambiguous.
    best = named.filter(pl.col("rank") == pl.col("rank").min().over("host", "port"))
    single = pl.len().over("host", "port") == 1
    return (
        best.with_columns(
            child=pl.when(single).then("child"),
            rank=pl.when(single).then("rank"),
            how=pl.when(single).then("how").otherwise(pl.lit("several devices named below port")),
        )
        .unique(["host", "port"], keep="first", maintain_order=True)
        .select("host", "port", "child", pl.col("rank").cast(pl.Int32), "how")
    )


def _children_in_range(
    kernel: pl.DataFrame, wanted: pl.DataFrame, below: pl.DataFrame, bridges: pl.DataFrame, receivers: pl.DataFrame
) -> pl.DataFrame:
    """(host, port, child, rank, how) from the port's bridge bus range, else bus order up to the next root port."""
    windows = (
        kernel.filter(pl.col("bridge").is_not_null())
        .select(
            "host",
            port="bridge",
            lo=pl.col("secondary").str.to_integer(base=16),
            hi=pl.coalesce("subordinate", "secondary").str.to_integer(base=16),
        )
        .unique()
        .filter(pl.len().over("host", "port") == 1)  # renumbered between boots: not trusted
    )
    roots = (
        kernel.filter(pl.col("root_lo").is_not_null() & pl.col("root_domain").is_not_null())
        .select(
            "host",
            domain="root_domain",
            root_lo=pl.col("root_lo").str.to_integer(base=16),
            root_hi=pl.coalesce("root_hi", "root_lo").str.to_integer(base=16),
        )
        .unique()
    )
    ports = wanted.with_columns(domain=_domain(pl.col("port")), bus=_bus(pl.col("port")))
    separators = pl.concat(
        [
            receivers.select("host", domain=_domain(pl.col("pci")), sep=_bus(pl.col("pci"))),
            roots.select("host", "domain", sep="root_lo"),
        ],
        how="vertical",
    ).unique()
    next_sep = (
        ports.join(separators, on=["host", "domain"])
        .filter(pl.col("sep") > pl.col("bus"))
        .group_by("host", "port")
        .agg(next_sep=pl.col("sep").min())
    )
    root_end = (
        ports.join(roots, on=["host", "domain"])
        .filter((pl.col("root_lo") <= pl.col("bus")) & (pl.col("bus") <= pl.col("root_hi")))
        .group_by("host", "port")
        .agg(root_end=pl.col("root_hi").min())
    )
    siblings = (
        ports.join(
            bridges.with_columns(domain=_domain(pl.col("pci")), bus=_bus(pl.col("pci"))), on=["host", "domain", "bus"]
        )
        .filter(pl.col("pci") != pl.col("port"))
        .select("host", "port", sibling=pl.lit(True))
        .unique()
    )
    spans = (
        ports.join(windows, on=["host", "port"], how="left")
        .join(next_sep, on=["host", "port"], how="left")
        .join(root_end, on=["host", "port"], how="left")
        .join(siblings, on=["host", "port"], how="left")
        .with_columns(
            how=pl.when(pl.col("lo").is_not_null())
            .then(pl.lit("bridge bus range"))
            .when(pl.col("sibling"))
            .then(pl.lit(_SIBLINGS))
            .otherwise(pl.lit("bus order below root port")),
            # The generator's bridge lines start at the port's own bus; a real secondary bus is above it.
            lo=pl.max_horizontal("lo", pl.col("bus") + 1),
            hi=pl.coalesce("hi", pl.min_horizontal(pl.col("next_sep") - 1, "root_end", pl.lit(255))),
        )
    )
    found = (
        spans.filter(pl.col("how") != _SIBLINGS)
        .join(below.select("host", "domain", child="pci", child_bus="bus", rank="rank"), on=["host", "domain"])
        .filter((pl.col("child_bus") >= pl.col("lo")) & (pl.col("child_bus") <= pl.col("hi")))
        .sort("host", "port", "rank", "child_bus", "child")
        .unique(["host", "port"], keep="first", maintain_order=True)
        .select("host", "port", "child", pl.col("rank").cast(pl.Int32), "how")
    )
    refused = spans.filter(pl.col("how") == _SIBLINGS).select(
        "host", "port", child=pl.lit(None, pl.String), rank=pl.lit(None, pl.Int32), how="how"
    )
    return pl.concat([found, refused], how="vertical")


# -- GPU indexes ----------------------------------------------------------------------------------


def _gpu_index_aliases(facts: _Facts, gpus: pl.DataFrame) -> pl.DataFrame:
    """`gpuN` left by the ingest -> PCI address in the numbering of the tool that printed it."""
    seen = facts.names.filter(pl.col("name").str.contains(_GPU_INDEX)).select("host", alias="name").unique()
    assets = facts.assets.filter(
        (pl.col("kind") == "gpu") & pl.col("index").is_not_null() & pl.col("pci_bdf").is_not_null()
    ).with_columns(pci=bdf_expr(pl.col("pci_bdf")))
    lost = (
        facts.states.filter(pl.col("metric") == "gpu_unreachable")
        .select("host", pci=bdf_expr(pl.col("device")), lost=pl.lit(True))
        .unique()
    )
    smi = _numbering(assets.filter(pl.col("source").is_in(_NVML_FILES))).with_columns(
        numbering=pl.lit("nvidia-smi index")
    )
    # Without a usable nvidia-smi numbering, NVML's is the PCI order of every GPU the host showed.
    by_address = (
        gpus.join(assets.filter(pl.col("source").is_in(_NVML_FILES)), on="host", how="anti")
        .sort("host", "pci")
        .select("host", index=pl.int_range(pl.len()).over("host"), pci="pci", numbering=pl.lit("PCI order of all GPUs"))
    )
    nvml = (
        pl.concat([smi, by_address], how="vertical_relaxed")
        .join(lost, on=["host", "pci"], how="left")
        .with_columns(pl.col("lost").fill_null(False))
    )
    cuda = _numbering(assets.filter(pl.col("source").is_in(_CUDA_FILES)))
    sizes = nvml.group_by("host").agg(size=pl.len(), reachable=(~pl.col("lost")).sum())
    reachable = nvml.filter(~pl.col("lost")).sort("host", "pci").with_columns(index=pl.int_range(pl.len()).over("host"))
    ends = facts.indexed.with_columns(part=pl.col("device").str.split("->")).explode("part")
    gpu_like = pl.col("part").str.contains(_PCI) | pl.col("part").str.contains(_GPU_INDEX)
    counts = ends.filter(gpu_like).group_by("host", "file_id").agg(named=pl.col("part").n_unique())
    uses = (
        ends.filter(pl.col("part").str.contains(_GPU_INDEX))
        .select(
            "host",
            "file_id",
            alias="part",
            index=pl.col("part").str.extract(_GPU_INDEX, 1).cast(pl.Int64),
            family=pl.when(pl.col("test").str.contains(_NVML_TESTS))
            .then(pl.lit("nvml"))
            .when(pl.col("test").str.contains(_CUDA_TESTS))
            .then(pl.lit("cuda")),
        )
        .unique()
        .join(counts, on=["host", "file_id"], how="left")
        .join(sizes, on="host", how="left")
        .join(nvml.select("host", "index", "numbering", nvml_pci="pci"), on=["host", "index"], how="left")
        .join(reachable.select("host", "index", reach_pci="pci"), on=["host", "index"], how="left")
        .join(cuda.select("host", "index", cuda_pci="pci"), on=["host", "index"], how="left")
    )
    nvml_rows = pl.col("family") == "nvml"
    full = nvml_rows & (pl.col("named") == pl.col("size"))
    without_lost = nvml_rows & (pl.col("reachable") < pl.col("size")) & (pl.col("named") == pl.col("reachable"))
    cuda_rows = pl.col("family") == "cuda"
    uses = uses.with_columns(
        pci=pl.when(full).then("nvml_pci").when(without_lost).then("reach_pci").when(cuda_rows).then("cuda_pci"),
        how=pl.when(full)
        .then("numbering")
        .when(without_lost)
        .then(pl.lit("PCI order of reachable GPUs"))
        .when(cuda_rows)
        .then(pl.lit("CUDA device index")),
    )
    # Every file using the alias must give the same address.
    decided = uses.group_by("host", "alias").agg(
        agreed=pl.col("pci").is_not_null().all() & (pl.col("pci").n_unique() == 1),
        disagree=pl.col("pci").drop_nulls().n_unique() > 1,
        pci=pl.col("pci").first(),
        how=pl.col("how").first(),
    )
    agreed = pl.col("agreed").fill_null(False)
    return seen.join(decided, on=["host", "alias"], how="left").select(
        "host",
        "alias",
        device=pl.when(agreed).then("pci"),
        kind=pl.lit("gpu"),
        how=pl.when(agreed)
        .then("how")
        .when(pl.col("disagree"))
        .then(pl.lit("gpu index: sources disagree"))
        .otherwise(pl.lit("gpu index: no numbering fits")),
    )


def _numbering(assets: pl.DataFrame) -> pl.DataFrame:
    """(host, index, pci) on hosts whose dumps agree on one address per index and one index per address."""
    pairs = assets.select("host", pl.col("index").cast(pl.Int64), "pci").unique()
    clashing = (
        pairs.filter((pl.len().over("host", "index") > 1) | (pl.len().over("host", "pci") > 1)).select("host").unique()
    )
    return pairs.join(clashing, on="host", how="anti")
