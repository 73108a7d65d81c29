"""Unknown signatures: log-line templates that few hosts of the fleet have.

Every line of the chosen event sources (kernel logs and bug reports by default) that no rule
has already claimed (its (file_id, line_no) is not in any finding's evidence) is turned into a
template by `mask`: variable tokens (UUIDs, GUIDs, PCI, MAC and IP addresses, timestamps, paths,
pid/process names, hex and decimal numbers, instance numbers of device names) become
placeholders, and so does the host's own name, so lines that differ only by such values share a
template and lines worded differently do not. Templates matching an `ignore` regex are dropped.
A rare template that differs from another in one word only, where the other has a placeholder
that word fits (`vethcafebad` against `veth<hex>`), counts as that template (Drain's merge of
a line into a cluster whose template has a wildcard there). A template is rare when it is on at
most `max_share` of the fleet's hosts, the fleet being every host with lines of those sources
(not only the hosts asked for); below `min_fleet` such hosts nothing is judged.

Rare templates are ranked by

    score = (1 + trouble + severe) * (1 - share)

where `trouble` is the sum of the weights of the distinct trouble words in the template (matched
case-insensitively at the start of a word, so `fail` counts `failed`), `severe` is
`priority_weight` when one of its lines has a syslog priority at or below `max_priority`
(err, crit, alert, emerg), and `share` is the fraction of fleet hosts that have the template;
ties go by template text. The `top` best are reported, one anomaly row per (template, host
having it): value = the host's lines, baseline = share, threshold = `max_share`, evidence = the
host's first line; level `investigate` when the template has trouble words or a severe
priority, `monitor` otherwise.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from triage.detect import anomalies
from triage.detect.settings import check_keys, integer, line_of, number, read_settings
from triage.errors import TriageError
from triage.store import Store

DETECTOR = "rare_template"
SETTINGS_FILE = "templates"

# A hex word of at least 7 characters with at least one digit (so plain words such as
# `exceeded` stay): the first digit is at position 0, 1, ... 5 or later.
_HEX7 = (
    "(?:[0-9][0-9a-f]{6,}|[a-f][0-9][0-9a-f]{5,}|[a-f]{2}[0-9][0-9a-f]{4,}|[a-f]{3}[0-9][0-9a-f]{3,}"
    "|[a-f]{4}[0-9][0-9a-f]{2,}|[a-f]{5}[0-9][0-9a-f]+|[a-f]{6,}[0-9][0-9a-f]*)"
)
PLACEHOLDER = "<(?:uuid|mac|ts|time|ip|guid|pci|path|pid|str|hex|num|host)>"
_NOTHING = r"[^\s\S]"  # a regex that matches nothing

# (what, Rust regex, replacement), applied in this order: each later pattern sees the
# placeholders of the earlier ones, so specific shapes (a UUID, a MAC) go before the
# generic ones (hex words, numbers) that would otherwise cut them into pieces.
MASKS: tuple[tuple[str, str, str], ...] = (
    # PCI vendor:device ids name a model, not an instance: hidden from the number masks, restored last.
    ("pci-id", r"(?i)\[([0-9a-f]{4}):([0-9a-f]{4})\]", "[${1}_${2}]"),
    ("uuid", r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>"),
    ("mac", r"(?i)\b[0-9a-f]{2}(?:[:-][0-9a-f]{2}){5,19}\b", "<mac>"),
    ("timestamp", r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?\b", "<ts>"),
    ("clock", r"\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b", "<time>"),
    ("ipv4", r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?(?::\d{1,5})?\b", "<ip>"),
    ("ipv6", r"(?i)\b[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){7}(?:/\d{1,3})?\b", "<ip>"),
    (
        "ipv6",
        r"(?i)(?:\b[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6})?::[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,6}(?:/\d{1,3})?\b",
        "<ip>",
    ),
    ("guid", r"(?i)\b[0-9a-f]{4}(?::[0-9a-f]{4}){3}\b", "<guid>"),
    ("guid", r"(?i)\b(guid:?\s*)0x[0-9a-f]{16}\b", "${1}<guid>"),
    ("pci", r"(?i)\b(?:[0-9a-f]{4}:)?[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]\b", "<pci>"),
    ("pci", r"(?i)\b[0-9a-f]{4}:[0-9a-f]{2}(?::[0-9a-f]{2})?\b", "<pci>"),
    ("pci", r"(?i)\[bus [0-9a-f]{2}(?:-[0-9a-f]{2})?\]", "[bus <pci>]"),
    ("path", r"""(^|[\s=(\[<'",])/[^\s/'"(),:;\[\]]+(?:/[^\s/'"(),:;\[\]]*)+""", "${1}<path>"),
    ("pid", r"""\b(pid|tid|ppid)=(?:'[^']*'|"[^"]*"|[^\s,;)]+)""", "${1}=<pid>"),
    ("process", r"""\b(comm|name|exe)=(?:"[^"]*"|'[^']*'|[^\s,;)]+)""", "${1}=<str>"),
    ("process", r"\bComm: \S+", "Comm: <str>"),
    ("hex", r"(?i)\b0x[0-9a-f_]+\b", "<hex>"),
    ("bytes", r"(?i)<?\b[0-9a-f]{2}\b>?(?: <?\b[0-9a-f]{2}\b>?){3,}", "<hex>"),
    ("number", r"#\d+", "#<num>"),
    # Hex words that start with digits (channel ids `Ch 0000001f`): before the numbers take the digits
    # and leave the letters as a unit.
    # Zero-padded fixed-width words are hex whatever their digits (`Ch 00000012` and `Ch 0000001f`).
    ("hex", r"(?i)\b\d[0-9a-f]*[a-f][0-9a-f]*\b|\b0[0-9a-f]{7,}\b", "<hex>"),
    # A number keeps the unit glued to it (64MB, 2.5Gb/s, 10ms); hex-like words fail the end boundary.
    ("number", r"\b\d+(?:\.\d+)*([A-Za-z]+)?\b", "<num>${1}"),
    ("hex", rf"(?i)\b{_HEX7}\b", "<hex>"),
    ("hex", rf"(?i)\b([a-z]+?){_HEX7}\b", "${1}<hex>"),
    # The instance number that ends a device name (eth0, mlx5_3, nvidia-nvswitch2, GPU4): the
    # name keeps at least two characters and no `v` before the digits (IPv6, v2 stay).
    ("instance", r"\b([A-Za-z][\w-]*?[A-Za-uw-z_-])\d+\b", "${1}<num>"),
    ("pci-id", r"(?i)\[([0-9a-f]{4})_([0-9a-f]{4})\]", "[${1}:${2}]"),
    ("space", r"\s\s+|[\t\n\v\f\r]", " "),
)


def mask(messages: pl.Expr) -> pl.Expr:
    """The template of each message: variable tokens replaced by placeholders, spaces collapsed."""
    out = messages
    for _, pattern, replacement in MASKS:
        out = out.str.replace_all(pattern, replacement)
    return out.str.strip_chars()


@dataclass(frozen=True)
class TemplateSettings:
    """Settings of the rare-template detector (`rules/detect/templates.yaml`)."""

    sources: tuple[str, ...] = ("kernel_log", "bug_report")
    min_fleet: int = 10
    max_share: float = 0.1
    top: int = 50
    max_priority: int = 3
    priority_weight: float = 1.0
    trouble_words: dict[str, float] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()

    @classmethod
    def load(cls, rules_dir: str | Path | None = None) -> TemplateSettings:
        """The settings shipped in (or overridden by) `<rules>/detect/templates.yaml`."""
        data, where = read_settings(SETTINGS_FILE, rules_dir)
        return cls.from_dict(data, where)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "templates.yaml") -> TemplateSettings:
        """Settings from a mapping; TriageError naming file and line on anything unknown or invalid."""
        check_keys(
            data,
            {"sources", "min_fleet", "max_share", "top", "max_priority", "priority_weight", "trouble_words", "ignore"},
            where,
        )
        share = number(data, "max_share", where, default=0.1)
        if not 0 < share < 1:
            raise TriageError(
                f"{line_of(data, 'max_share', where)}: max_share must be above 0 and below 1, not {share}"
            )
        return cls(
            sources=_sources(data, where),
            min_fleet=integer(data, "min_fleet", where, default=10, minimum=2),
            max_share=share,
            top=integer(data, "top", where, default=50, minimum=1),
            max_priority=integer(data, "max_priority", where, default=3, minimum=0, maximum=7),
            priority_weight=number(data, "priority_weight", where, default=1.0),
            trouble_words=_trouble_words(data, where),
            ignore=_ignore(data, where),
        )


def _sources(data: dict[str, Any], where: str) -> tuple[str, ...]:
    sources = data.get("sources", ["kernel_log", "bug_report"])
    if not isinstance(sources, list) or not sources or not all(isinstance(s, str) and s for s in sources):
        raise TriageError(f"{line_of(data, 'sources', where)}: sources must be a list of event source kinds")
    return tuple(sources)


def _ignore(data: dict[str, Any], where: str) -> tuple[str, ...]:
    patterns = data.get("ignore", [])
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise TriageError(f"{line_of(data, 'ignore', where)}: ignore must be a list of regexes over templates")
    for pattern in patterns:
        try:
            pl.Series([""]).str.contains(pattern)
        except pl.exceptions.ComputeError as exc:
            reason = str(exc).strip().splitlines()[0]
            raise TriageError(f"{line_of(data, 'ignore', where)}: bad ignore regex {pattern!r}: {reason}") from None
    return tuple(patterns)


_WORD = re.compile(r"[a-z][a-z -]*[a-z]")


def _trouble_words(data: dict[str, Any], where: str) -> dict[str, float]:
    words = data.get("trouble_words", {})
    if not isinstance(words, dict):
        raise TriageError(f"{line_of(data, 'trouble_words', where)}: trouble_words must map words to weights")
    for word in words:
        if not isinstance(word, str) or not _WORD.fullmatch(word):
            raise TriageError(
                f"{line_of(words, str(word), where)}: trouble word {word!r} must be lower-case letters "
                "(spaces and hyphens inside)"
            )
    return {word: number(words, word, where) for word in words}


@dataclass(frozen=True)
class TemplateResult:
    """What the rare-template detector found.

    `anomalies`: rows for the `anomalies` table; `templates`: the reported rare templates, best
    first, fleet-wide whatever the hosts asked for (id, template, hosts, lines, share, score, level,
    example file_id/line_no: the smallest (host, file_id, line_no) with it); `fleet`:
    hosts with lines of the chosen sources; `note`: why nothing was judged, to show the user.
    """

    anomalies: pl.DataFrame
    templates: pl.DataFrame
    fleet: int
    note: str | None = None


TEMPLATE_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.String(),
    "template": pl.String(),
    "hosts": pl.Int64(),
    "lines": pl.Int64(),
    "share": pl.Float64(),
    "score": pl.Float64(),
    "level": pl.String(),
    "file_id": pl.Int32(),
    "line_no": pl.Int64(),
}

# Lines some finding already cites, as (file_id, line_no).
_COVERED = "SELECT DISTINCT ref.file_id, ref.line_no FROM (SELECT unnest(evidence) AS ref FROM findings)"
# The lines to template. The host's own name (`Hostname set to <node17>`) becomes a placeholder;
# names under 3 characters are left alone, as they would hit unrelated text.
_LINES = f"""
SELECT ev.host, ev.file_id, ev.line_no, ev.priority,
       CASE WHEN length(ev.host) >= 3 AND contains(ev.message, ev.host)
            THEN replace(ev.message, ev.host, '<host>') ELSE ev.message END AS message
FROM events ev ANTI JOIN ({_COVERED}) cov ON ev.file_id = cov.file_id AND ev.line_no = cov.line_no
WHERE ev.source IN (SELECT unnest(?)) AND ev.message IS NOT NULL AND ev.host IS NOT NULL
"""
_FLEET = """
SELECT count(DISTINCT host) AS hosts, coalesce(list(DISTINCT source ORDER BY source), []) AS sources
FROM events WHERE source IN (SELECT unnest(?)) AND host IS NOT NULL
"""


def template_id(template: str) -> str:
    """A short id of a template that stays the same across runs and versions."""
    return "tpl-" + hashlib.sha1(template.encode("utf-8")).hexdigest()[:10]


def detect_templates(store: Store, settings: TemplateSettings, hosts: list[str] | None = None) -> TemplateResult:
    """Rare log templates as anomalies of the hosts that have them.

    Rarity is judged over every host with lines of `settings.sources`; `hosts` (default: all)
    only limits which hosts get rows. Lines already cited by a finding are left out.
    """
    fleet_row = store.frame(_FLEET, [list(settings.sources)]).row(0, named=True)
    fleet, sources = int(fleet_row["hosts"]), "+".join(fleet_row["sources"]) or "+".join(settings.sources)
    if fleet < settings.min_fleet:
        note = (
            f"rare templates not judged: {fleet} host(s) with {sources} lines, "
            f"fewer than the {settings.min_fleet} needed (min_fleet)"
        )
        return TemplateResult(anomalies.empty(), pl.DataFrame(schema=TEMPLATE_SCHEMA), fleet, note)
    most = int(settings.max_share * fleet + 1e-9)
    lines, texts = _template_lines(store, settings)
    counts = lines.group_by("key").agg(hosts=pl.col("host").n_unique()).join(texts, on="key")
    rare = _generalised(counts.filter(pl.col("hosts") <= most), counts, most, _trouble_pattern(settings))
    lines = lines.join(rare, on="key").with_columns(key=pl.col("into")).drop("into")
    ranked = _ranked(lines, texts, fleet, most, settings)
    rows = _host_rows(lines, ranked, fleet, sources, settings)
    if hosts is not None:
        rows = rows.filter(pl.col("host").is_in(hosts))
    return TemplateResult(anomalies.conform(rows), ranked.drop("key"), fleet)


def _template_lines(store: Store, settings: TemplateSettings) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each line as (host, file_id, line_no, priority, key) and the template text of each key.

    Blank templates and those the `ignore` regexes match are left out.
    """
    ignored = "|".join(f"(?:{pattern})" for pattern in settings.ignore) or _NOTHING
    lines, texts = [], []
    for batch in store.batches(_LINES, [list(settings.sources)]):
        unique = batch.select(pl.col("message").unique()).with_columns(template=mask(pl.col("message")))
        unique = unique.filter((pl.col("template") != "") & ~pl.col("template").str.contains(ignored))
        unique = unique.with_columns(key=pl.col("template").hash())
        lines.append(
            batch.join(unique.select("message", "key"), on="message").select(
                "host", "file_id", "line_no", "priority", "key"
            )
        )
        texts.append(unique.select("key", "template").unique("key"))
    if not lines:
        schema = {"host": pl.String(), "file_id": pl.Int32(), "line_no": pl.Int64(), "priority": pl.Int8()}
        return pl.DataFrame(schema={**schema, "key": pl.UInt64()}), pl.DataFrame(
            schema={"key": pl.UInt64(), "template": pl.String()}
        )
    return pl.concat(lines), pl.concat(texts).unique("key")


def _trouble_pattern(settings: TemplateSettings) -> str:
    """A regex matching any trouble word at the start of a word (nothing when there are none)."""
    if not settings.trouble_words:
        return _NOTHING
    return r"(?i)\b(?:" + "|".join(sorted(settings.trouble_words)) + ")"


def _generalised(rare: pl.DataFrame, counts: pl.DataFrame, most: int, trouble: str) -> pl.DataFrame:
    """The rare template keys kept, each with the key its lines count under (`into`).

    A variable the masks missed (an id made only of letters, say) leaves a rare template that
    differs from another template in one word, where the other has more placeholders and the
    word shares their fixed parts (`vethcafebad` against `veth<hex>`; a word standing for a
    bare placeholder needs a digit). Such a template joins the other one, the most widespread
    if several fit, and is dropped when that one is not rare. Words with trouble in them never
    join a placeholder.
    """
    words = _positions(rare).filter(~pl.col("word").str.contains(trouble))
    wildcards = _positions(counts).filter(pl.col("word").str.contains(PLACEHOLDER))
    wildcards = wildcards.with_columns(
        prefix=pl.col("word").str.extract(f"^(.*?){PLACEHOLDER}"),
        suffix=pl.col("word").str.extract(f".*{PLACEHOLDER}(.*)$"),
    )
    bare = (
        (pl.col("prefix") == "") & (pl.col("suffix") == "") & (pl.col("word_right").str.count_matches(PLACEHOLDER) == 1)
    )
    fits = (
        (pl.col("word").str.count_matches(PLACEHOLDER) < pl.col("word_right").str.count_matches(PLACEHOLDER))
        & pl.col("word").str.starts_with(pl.col("prefix"))
        & pl.col("word").str.ends_with(pl.col("suffix"))
        & (pl.col("word").str.len_bytes() > pl.col("prefix").str.len_bytes() + pl.col("suffix").str.len_bytes())
        & (~bare | pl.col("word").str.contains("[0-9]"))
    )
    joins = (
        words.join(wildcards, on="skeleton")
        .filter(fits)
        .sort("key", pl.col("hosts_right"), "template_right", descending=[False, True, False])
        .group_by("key", maintain_order=True)
        .agg(pl.col("key_right").first().alias("into"), pl.col("hosts_right").first().alias("into_hosts"))
    )
    dropped = joins.filter(pl.col("into_hosts") > most)["key"].implode()
    return (
        rare.select("key")
        .join(joins.select("key", "into"), on="key", how="left")
        .filter(~pl.col("key").is_in(dropped) & ~pl.col("into").is_in(dropped).fill_null(False))
        .with_columns(pl.col("into").fill_null(pl.col("key")))
    )


def _positions(templates: pl.DataFrame) -> pl.DataFrame:
    """Each (template, word position): key, hosts, template, the word and the template without it."""
    tokens = pl.col("template").str.split(" ")
    before = tokens.list.slice(0, pl.col("pos")).list.join(" ")
    after = tokens.list.slice(pl.col("pos") + 1).list.join(" ")
    return (
        templates.select("key", "hosts", "template", pos=pl.int_ranges(tokens.list.len()))
        .explode("pos")
        .select(
            "key",
            "hosts",
            "template",
            word=tokens.list.get(pl.col("pos")),
            skeleton=pl.concat_str(before, pl.lit("\n"), after),
        )
    )


def _ranked(
    lines: pl.DataFrame, texts: pl.DataFrame, fleet: int, most: int, settings: TemplateSettings
) -> pl.DataFrame:
    """The `top` rare templates with their counts, score, level and example line, best first."""
    rare = (
        lines.group_by("key")
        .agg(
            hosts=pl.col("host").n_unique(),
            lines=pl.len(),
            severe=(pl.col("priority") <= settings.max_priority).any(),
            example=pl.struct("host", "file_id", "line_no").sort_by("host", "file_id", "line_no").first(),
        )
        .filter(pl.col("hosts") <= most)
        .join(texts, on="key")
    )
    trouble = pl.sum_horizontal(
        pl.lit(0.0),
        *(
            pl.col("template").str.contains(f"(?i)\\b{word}").cast(pl.Float64) * weight
            for word, weight in settings.trouble_words.items()
        ),
    )
    share = pl.col("hosts") / fleet
    severe = pl.col("severe").fill_null(False)
    scored = rare.with_columns(
        share=share,
        score=((1 + trouble + severe.cast(pl.Float64) * settings.priority_weight) * (1 - share)).round(3),
        level=pl.when((trouble > 0) | severe).then(pl.lit("investigate")).otherwise(pl.lit("monitor")),
    )
    best = scored.sort(["score", "template"], descending=[True, False]).head(settings.top)
    ids = pl.Series("id", [template_id(t) for t in best["template"]], dtype=pl.String)  # at most `top`
    example = ("file_id", "line_no")
    return best.with_columns(ids).select(
        "key",
        *[
            (pl.col("example").struct.field(name) if name in example else pl.col(name)).cast(dtype)
            for name, dtype in TEMPLATE_SCHEMA.items()
        ],
    )


def _host_rows(
    lines: pl.DataFrame, ranked: pl.DataFrame, fleet: int, sources: str, settings: TemplateSettings
) -> pl.DataFrame:
    """One anomaly row per (reported template, host having it), in rank order."""
    per_host = (
        lines.filter(pl.col("key").is_in(ranked["key"].implode()))
        .group_by("key", "host")
        .agg(
            value=pl.len(),
            first=pl.struct("file_id", "line_no").sort_by("file_id", "line_no").first(),
        )
        .join(ranked.with_row_index("rank"), on="key")
        .sort("rank", "host")
    )
    return per_host.select(
        "host",
        pl.lit(DETECTOR).alias("detector"),
        pl.col("id").alias("metric"),
        pl.col("value").cast(pl.Float64),
        pl.col("share").alias("baseline"),
        "score",
        pl.lit(settings.max_share).alias("threshold"),
        pl.lit(f"{sources} templates of {fleet} hosts").alias("cohort"),
        pl.format("rare kernel message on {} of {} hosts: {}", "hosts", pl.lit(fleet), "template").alias("detail"),
        "level",
        pl.concat_list("first").alias("evidence"),
    )
