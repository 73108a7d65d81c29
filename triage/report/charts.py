"""SVG charts for reports and notebooks: pure functions, data in, one standalone `<svg>` string out.

    from IPython.display import SVG
    SVG(status_bars({"faulty": 12, "suspect": 1, "healthy": 11}))

- `bar_chart(bars, title)`: horizontal bars with their values; `status_bars(counts)` (hosts by status,
  coloured faulty red, suspect amber, healthy green) and `root_cause_bars(counts)` build on it.
- `strip_chart(frame, title)`: one cohort's distribution, one dot per host or device value, the
  values a detector flagged coloured by level and labelled, the cohort median as a dashed line.
- `host_timeline_svg(lanes, events, marks)`: one host's evidence over time, one lane per device
  (or verdict), boots and GPU resets as vertical lines.

Every chart has width, height and viewBox (it scales down inside a narrower box), role="img", an
aria-label and a <title>; every text is XML-escaped. Output is deterministic: no random jitter,
no clock, coordinates rounded to 0.1 px. Elements carry `data-*` attributes (labels, values,
levels) so tests and scripts can read a chart back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

import polars as pl

STATUS_COLORS = {"faulty": "#d32f2f", "suspect": "#f59e0b", "healthy": "#2e7d32"}
LEVEL_COLORS = {"drain": "#c62828", "investigate": "#ef6c00", "monitor": "#eab308"}
LEVEL_ORDER = ("monitor", "investigate", "drain")  # mildest first
NEUTRAL = "#64748b"
TEXT = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
RESET_COLOR = "#7c3aed"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, 'Liberation Mono', monospace"
CHAR_WIDTH = 0.6  # average glyph width per pixel of font size (sans-serif, digits and lowercase)


# -- shared pieces ----------------------------------------------------------------------------


def inline_svg(svg: str) -> str:
    """A chart for inline use in HTML, which needs no SVG namespace declaration (the page then names no URL)."""
    return svg.replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)


def _f(x: float) -> str:
    """A coordinate: 0.1 px, no trailing zeros."""
    text = f"{x:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _text_width(text: str, size: float) -> float:
    return len(text) * size * CHAR_WIDTH


def _svg(width: float, height: float, title: str, label: str, body: list[str], kind: str) -> str:
    """The root element around `body`: size, viewBox, accessibility, font."""
    w, h = _f(width), _f(height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'role="img" aria-label="{_e(label)}" class="chart {kind}" font-family="{_e(FONT)}" font-size="12">'
        f"<title>{_e(title)}</title>" + "".join(body) + "</svg>"
    )


def _heading(title: str, subtitle: str | None, x: float = 0) -> tuple[list[str], float]:
    """Title (and subtitle) text at the top-left; the y below them."""
    out = [f'<text x="{_f(x)}" y="15" font-size="13" font-weight="600" fill="{TEXT}">{_e(title)}</text>']
    if subtitle:
        out.append(f'<text x="{_f(x)}" y="32" font-size="11" fill="{MUTED}">{_e(subtitle)}</text>')
        return out, 42
    return out, 26


def format_number(value: float) -> str:
    """A short label for an axis or a value: `422.4k`, `1.5M`, `403.7`, `0.012`, `12`."""
    if value is None or not math.isfinite(value):
        return "-"
    size = abs(value)
    for limit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e4, "k")):
        if size >= limit:
            return _trim(f"{value / (limit if suffix != 'k' else 1e3):.4g}") + suffix
    if size >= 100 or value == int(value):
        return _trim(f"{value:.1f}") if value != int(value) else str(int(value))
    return _trim(f"{value:.4g}")


def _trim(text: str) -> str:
    if "e" in text or "." not in text:
        return text
    return text.rstrip("0").rstrip(".")


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About `count` round tick values covering [lo, hi] (the first at or below lo, the last at or above hi)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(lo / step + 1e-9) * step
    ticks = []
    value = start
    while value < hi + step * 0.999:
        ticks.append(round(value, 12))
        value += step
        if len(ticks) > 50:
            break
    if ticks[-1] < hi:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


# -- bars -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One bar: its label, value, fill colour and an optional tooltip."""

    label: str
    value: float
    color: str = NEUTRAL
    note: str | None = None


def bar_chart(
    bars: Sequence[Bar],
    title: str,
    subtitle: str | None = None,
    width: int = 440,
    empty: str = "Nothing to show",
    total: float | None = None,
) -> str:
    """Horizontal bars, largest scale at the longest bar, each value (and its share of `total`) at its end."""
    head, top = _heading(title, subtitle)
    row, bar_h = 26, 16
    label_w = min(max((_text_width(b.label, 12) for b in bars), default=40) + 12, width * 0.42)
    value_w = 64 if total else 40
    left, right = label_w, width - value_w
    height = top + max(len(bars), 1) * row + 6
    body = head
    peak = max((b.value for b in bars), default=0)
    if not bars:
        body.append(f'<text x="0" y="{_f(top + 16)}" fill="{MUTED}">{_e(empty)}</text>')
    for i, b in enumerate(bars):
        y = top + i * row
        length = 0.0 if peak <= 0 else (right - left - 4) * b.value / peak
        value = format_number(b.value)
        if total:
            value += f" ({round(100 * b.value / total)}%)"
        note = b.note or f"{b.label}: {format_number(b.value)}"
        body.append(
            f'<g class="bar" data-label="{_e(b.label)}" data-value="{_e(format_number(b.value))}">'
            f"<title>{_e(note)}</title>"
            f'<text x="{_f(left - 8)}" y="{_f(y + bar_h / 2 + 4)}" text-anchor="end" fill="{TEXT}">{_e(b.label)}</text>'
            f'<rect x="{_f(left)}" y="{_f(y)}" width="{_f(max(length, 1.5 if b.value else 0))}" height="{bar_h}" '
            f'rx="2" fill="{_e(b.color)}"/>'
            f'<text x="{_f(left + length + 6)}" y="{_f(y + bar_h / 2 + 4)}" fill="{TEXT}" '
            f'font-variant-numeric="tabular-nums">{_e(value)}</text></g>'
        )
    label = f"{title}: " + (", ".join(f"{b.label} {format_number(b.value)}" for b in bars) or empty)
    return _svg(width, height, title, label, body, "bars")


def status_bars(counts: Mapping[str, int], title: str = "Hosts by status", width: int = 440) -> str:
    """Hosts by status: faulty, suspect, healthy (always all three, in that order), with shares of the total."""
    total = sum(counts.get(s, 0) for s in STATUS_COLORS)
    bars = [Bar(s, counts.get(s, 0), STATUS_COLORS[s], f"{counts.get(s, 0)} {s} host(s)") for s in STATUS_COLORS]
    return bar_chart(bars, title, f"{total} host{'' if total == 1 else 's'}", width, total=total or None)


def root_cause_bars(
    counts: Mapping[str, int],
    colors: Mapping[str, str] | None = None,
    title: str = "Verdicts by root cause",
    subtitle: str | None = "diagnoses that ask for an action",
    width: int = 440,
) -> str:
    """One bar per root cause in the order given (e.g. the report's `by_root_cause`, most first).

    `colors` maps a root cause to its fill (e.g. the status colour of its worst host); default neutral.
    """
    colors = colors or {}
    bars = [Bar(cause, n, colors.get(cause, NEUTRAL), f"{cause}: {n} diagnosis(es)") for cause, n in counts.items()]
    return bar_chart(bars, title, subtitle, width, empty="No diagnosis asks for an action")


# -- strip chart ------------------------------------------------------------------------------


def strip_chart(
    frame: pl.DataFrame,
    title: str,
    unit: str = "",
    bad: str | None = None,
    median: float | None = None,
    subtitle: str | None = None,
    width: int = 560,
    max_dots: int = 600,
    max_labels: int = 8,
    noun: str = "value",
) -> str:
    """One cohort's values on a horizontal axis: one dot per row of `frame`, flagged ones coloured and labelled.

    `frame` columns: `label` (host, or host and device), `value`, `level` (null for values no detector
    flagged, else monitor / investigate / drain), and optionally `emphasis` (bool: dots drawn with an
    outline; when the column is there, only emphasised flagged dots get a label). `bad` ("low" or
    "high") says which way is worse; `median` defaults to the median of the values. Past `max_dots`
    values the unflagged ones are drawn as a density band (columns of counts) instead of dots.
    Up to `max_labels` flagged values are labelled, worst level first, then farthest from the median.
    `noun` names what a dot is in the subtitle ("12 nodes").
    """
    frame = frame.filter(pl.col("value").is_not_null() & pl.col("value").is_finite())
    if "level" not in frame.columns:
        frame = frame.with_columns(level=pl.lit(None, pl.String))
    if "emphasis" not in frame.columns:
        frame = frame.with_columns(emphasis=pl.lit(None, pl.Boolean))
    frame = frame.sort(["value", "label"])
    values = frame["value"].to_list()
    if median is None and values:
        median = float(frame["value"].median())  # type: ignore[arg-type]
    left, right = 14.0, width - 14.0
    if not values:
        head, top = _heading(title, subtitle or f"0 {noun}s")
        body = [*head, f'<text x="{_f(left)}" y="{_f(top + 18)}" fill="{MUTED}">No values</text>']
        return _svg(width, top + 30, title, f"{title}: no values", body, "strip")
    centre = median if median is not None else values[0]
    ticks = nice_ticks(min(*values, centre), max(*values, centre))
    lo, hi = ticks[0], ticks[-1]

    def sx(v: float) -> float:
        return left + (right - left) * (v - lo) / (hi - lo)

    rows = frame.with_columns(x=left + (right - left) * (pl.col("value") - lo) / (hi - lo)).to_dicts()
    flagged = [r for r in rows if r["level"] is not None]
    labelled = _pick_labels(flagged, median, max_labels)
    label_rows = _pack_labels(labelled, left, right, size=11)
    if subtitle is None:
        parts = [f"{len(values)} {noun}{'' if len(values) == 1 else 's'}"]
        if median is not None:
            parts.append(f"median {format_number(median)}{' ' + unit if unit else ''}")
        if bad in ("low", "high"):
            parts.append(f"{'lower' if bad == 'low' else 'higher'} is worse")
        named = f" ({len(label_rows)} labelled)" if len(label_rows) < len(flagged) else ""
        parts.append(f"{len(flagged)} flagged{named}")
        subtitle = " · ".join(parts)
    head, top = _heading(title, subtitle)
    n_label_rows = max((row for _, row, _ in label_rows), default=-1) + 1
    band_top = top + n_label_rows * 14 + (6 if n_label_rows else 2)
    band_h = 64
    cy = band_top + band_h / 2
    axis_y = band_top + band_h + 4
    height = axis_y + 32
    dense = len(rows) > max_dots
    r_dot = 3.5 if len(rows) <= 150 else 2.6
    drawn = [r for r in rows if not (dense and r["level"] is None)]
    positions, piles = _swarm([(r["x"], r["level"] is not None) for r in drawn], cy, band_h / 2 - r_dot, r_dot)
    body = list(head)
    body.append(
        f'<rect x="{_f(left)}" y="{_f(band_top)}" width="{_f(right - left)}" height="{_f(band_h)}" '
        f'fill="#f8fafc" stroke="{GRID}"/>'
    )
    for t in ticks:
        x = sx(t)
        body.append(
            f'<line x1="{_f(x)}" y1="{_f(band_top)}" x2="{_f(x)}" y2="{_f(axis_y)}" stroke="{GRID}"/>'
            f'<text class="tick" x="{_f(x)}" y="{_f(axis_y + 13)}" text-anchor="middle" font-size="11" fill="{MUTED}">'
            f"{_e(format_number(t))}</text>"
        )
    if unit:
        body.append(
            f'<text x="{_f(right)}" y="{_f(axis_y + 27)}" text-anchor="end" font-size="11" fill="{MUTED}">'
            f"{_e(unit)}</text>"
        )
    if bad in ("low", "high"):
        arrow = "\u2190 worse" if bad == "low" else "worse \u2192"
        anchor, x = ("start", left) if bad == "low" else ("end", right - (_text_width(unit, 11) + 10 if unit else 0))
        body.append(
            f'<text x="{_f(x)}" y="{_f(axis_y + 27)}" text-anchor="{anchor}" font-size="11" fill="{MUTED}">'
            f"{arrow}</text>"
        )
    if median is not None:
        mx = sx(median)
        body.append(
            f'<line class="median" data-value="{_e(format_number(median))}" x1="{_f(mx)}" y1="{_f(band_top - 2)}" '
            f'x2="{_f(mx)}" y2="{_f(band_top + band_h + 2)}" stroke="{TEXT}" stroke-width="1.2" '
            f'stroke-dasharray="4 3"><title>median {_e(format_number(median))} {_e(unit)}</title></line>'
        )
    if dense:
        body += _density([r["x"] for r in rows if r["level"] is None], cy, band_h / 2 - 2, left, right)
    for x, count, h in piles:
        value = format_number(lo + (hi - lo) * (x - left) / (right - left))
        body.append(
            f'<rect class="pile" data-count="{count}" x="{_f(x - r_dot)}" y="{_f(cy - h / 2)}" width="{_f(2 * r_dot)}" '
            f'height="{_f(h)}" rx="{_f(r_dot)}" fill="{NEUTRAL}" fill-opacity="0.55">'
            f"<title>{count} values near {_e(value)} {_e(unit)}</title></rect>"
        )
    for r, y in zip(drawn, positions, strict=True):
        if y is not None:
            body.append(_dot(r, r["x"], y, r_dot, unit))
    for r, row, _ in label_rows:
        body.append(
            f'<line x1="{_f(r["x"])}" y1="{_f(band_top - 5 - row * 14)}" x2="{_f(r["x"])}" y2="{_f(band_top)}" '
            f'stroke="{LEVEL_COLORS.get(str(r["level"]), TEXT)}" stroke-width="1"/>'
        )
    for r, row, (x0, _) in label_rows:
        body.append(
            f'<text class="outlier-label" data-label="{_e(r["label"])}" x="{_f(x0)}" y="{_f(band_top - 8 - row * 14)}" '
            f'font-size="11" fill="{TEXT}" stroke="#fff" stroke-width="3" paint-order="stroke">{_e(r["label"])}</text>'
        )
    label = f"{title}: {len(values)} values, median {format_number(median or 0)} {unit}".rstrip()
    if flagged:
        label += "; flagged: " + ", ".join(f"{r['label']} {format_number(r['value'])}" for r in flagged[:10])
    return _svg(width, height, title, label, body, "strip")


def _dot(r: dict[str, object], x: float, y: float, radius: float, unit: str) -> str:
    level = r["level"]
    value = format_number(float(r["value"]))  # type: ignore[arg-type]
    tip = f"{r['label']}: {value} {unit}".rstrip() + (f" ({level})" if level else "")
    outline = f' stroke="{TEXT}" stroke-width="1.2"' if r.get("emphasis") else ' stroke="#fff" stroke-width="0.8"'
    if level is None:
        fill, size, opacity, cls = NEUTRAL, radius, ' fill-opacity="0.55"', "point"
    else:
        fill, size, opacity, cls = LEVEL_COLORS.get(str(level), TEXT), radius + 1.2, "", "point flagged"
    level_attr = f' data-level="{_e(level)}"' if level else ""
    return (
        f'<circle class="{cls}" data-label="{_e(r["label"])}" data-value="{_e(value)}"{level_attr} '
        f'cx="{_f(x)}" cy="{_f(y)}" r="{_f(size)}" fill="{fill}"{opacity}{outline}><title>{_e(tip)}</title></circle>'
    )


def _pick_labels(flagged: list[dict[str, object]], median: float | None, limit: int) -> list[dict[str, object]]:
    """The flagged rows to label: emphasised ones only when emphasis is given; worst level, farthest first."""
    if any(r["emphasis"] is not None for r in flagged):
        flagged = [r for r in flagged if r["emphasis"]]
    centre = median or 0.0

    def key(r: dict[str, object]) -> tuple[int, float, str]:
        level = LEVEL_ORDER.index(str(r["level"])) if r["level"] in LEVEL_ORDER else -1
        return (-level, -abs(float(r["value"]) - centre), str(r["label"]))  # type: ignore[arg-type]

    return sorted(flagged, key=key)[:limit]


def _pack_labels(
    rows: list[dict[str, object]], left: float, right: float, size: float, max_rows: int = 4
) -> list[tuple[dict[str, object], int, tuple[float, float]]]:
    """Each label's row (0 nearest the dots) and x extent, packed left to right without overlaps."""
    ends: list[float] = []
    placed = []
    for r in sorted(rows, key=lambda r: (float(r["x"]), str(r["label"]))):  # type: ignore[arg-type]
        w = _text_width(str(r["label"]), size)
        x0 = min(max(float(r["x"]) - w / 2, left), right - w)  # type: ignore[arg-type]
        for i, end in enumerate(ends):
            if x0 >= end + 8:
                ends[i] = x0 + w
                placed.append((r, i, (x0, x0 + w)))
                break
        else:
            if len(ends) < max_rows:
                ends.append(x0 + w)
                placed.append((r, len(ends) - 1, (x0, x0 + w)))
    return placed


def _swarm(
    points: list[tuple[float, bool]], cy: float, half: float, radius: float
) -> tuple[list[float | None], list[tuple[float, int, float]]]:
    """Where each (x, flagged) dot goes: dots in one column stack outwards from the centre line.

    Stacks are squeezed (down to half a dot apart) to fit the band; a column with more unflagged dots
    than that becomes a pile: those dots get no y and the pile (x, count, height) is drawn instead.
    """
    step = 2 * radius + 0.5
    columns: dict[int, list[int]] = {}
    for i, (x, flagged) in enumerate(points):
        if not flagged:
            columns.setdefault(round(x / step), []).append(i)
    capacity = 2 * math.floor(half / radius) + 1
    fits = [len(c) for c in columns.values() if len(c) <= capacity]
    tallest = max(fits, default=1)
    spacing = min(step, half / math.ceil((tallest - 1) / 2)) if tallest > 1 else step
    ys: list[float | None] = [None] * len(points)
    piles = []
    for col, members in sorted(columns.items()):
        if len(members) > capacity:
            piles.append((col * step, len(members), 2 * half + 2 * radius))
            continue
        for k, i in enumerate(members):
            ys[i] = cy + ((k + 1) // 2) * spacing * (1 if k % 2 else -1)
    flagged_columns: dict[int, list[int]] = {}
    for i, (x, flagged) in enumerate(points):
        if flagged:
            flagged_columns.setdefault(round(x / step), []).append(i)
    for members in flagged_columns.values():
        apart = min(step * 1.3, half / math.ceil((len(members) - 1) / 2)) if len(members) > 1 else step
        for k, i in enumerate(members):
            ys[i] = cy + ((k + 1) // 2) * apart * (1 if k % 2 else -1)
    return ys, piles


def _density(xs: list[float], cy: float, half: float, left: float, right: float, width: float = 3.0) -> list[str]:
    """Columns of `width` px whose height is the share of values in them: a symmetric density band."""
    if not xs:
        return []
    counts: dict[int, int] = {}
    for x in xs:
        col = int((x - left) // width)
        counts[col] = counts.get(col, 0) + 1
    peak = max(counts.values())
    out = ['<g class="density">']
    for col in sorted(counts):
        h = max(1.5, 2 * half * math.sqrt(counts[col] / peak))
        x = left + col * width
        out.append(
            f'<rect x="{_f(x)}" y="{_f(cy - h / 2)}" width="{_f(width - 0.4)}" height="{_f(h)}" fill="{NEUTRAL}" '
            f'fill-opacity="0.45"><title>{counts[col]} value(s)</title></rect>'
        )
    out.append("</g>")
    return out


# -- timeline ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineLane:
    """A row of the timeline: a device (or a verdict), with an optional shaded span (first to last sign)."""

    key: str
    label: str
    note: str = ""
    color: str = NEUTRAL
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class TimelineEvent:
    """One dated sign on a lane: `kind` log (circle), metric (diamond) or test (square).

    `text` is its tooltip; `label` (e.g. the rule id) is written beside it where there is room, once per lane,
    labels placed in the order the events are given.
    """

    lane: str
    ts: datetime
    kind: str = "log"
    text: str = ""
    color: str | None = None
    label: str = ""


@dataclass(frozen=True)
class TimelineMark:
    """A vertical line across all lanes: `kind` boot (dashed grey) or reset (solid violet)."""

    ts: datetime
    label: str
    kind: str = "boot"
    text: str = ""


_TIME_STEPS = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
    1209600, 2592000,
)  # fmt: skip


def _naive(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def host_timeline_svg(
    lanes: Sequence[TimelineLane],
    events: Sequence[TimelineEvent],
    marks: Sequence[TimelineMark] = (),
    title: str = "Timeline",
    width: int = 880,
) -> str:
    """The dated events of one host (times in UTC): a lane per `lanes` entry, events placed on their lane's row.

    The time axis spans the events, lane spans and marks; events on a lane not listed get a lane of their own.
    With nothing dated, the chart says so.
    """
    lanes = list(lanes)
    known = {lane.key for lane in lanes}
    for e in events:
        if e.lane not in known:
            lanes.append(TimelineLane(e.lane, e.lane))
            known.add(e.lane)
    times = [_naive(e.ts) for e in events] + [_naive(m.ts) for m in marks]
    times += [_naive(t) for lane in lanes for t in (lane.start, lane.end) if t is not None]
    gutter = 200.0
    left, right = gutter, width - 16.0
    subtitle = "UTC" if times else None
    head, top = _heading(title, subtitle)
    lane_h = 34.0
    marks_row = 16.0 if marks else 0.0
    lanes_top = top + marks_row + 4
    axis_y = lanes_top + max(len(lanes), 1) * lane_h
    height = axis_y + 48
    body = list(head)
    if not times:
        body.append(f'<text x="0" y="{_f(top + 18)}" fill="{MUTED}">No time-stamped events</text>')
        return _svg(width, top + 30, title, f"{title}: no time-stamped events", body, "timeline")
    t0, t1 = min(times), max(times)
    span = (t1 - t0).total_seconds()
    if span <= 0:
        t0, t1, span = t0 - timedelta(seconds=60), t1 + timedelta(seconds=60), 120.0
    pad = span * 0.03
    t0, t1 = t0 - timedelta(seconds=pad), t1 + timedelta(seconds=pad)
    span = (t1 - t0).total_seconds()

    def sx(ts: datetime) -> float:
        return left + (right - left) * (_naive(ts) - t0).total_seconds() / span

    # lanes: zebra rows, labels, spans
    for i, lane in enumerate(lanes):
        y = lanes_top + i * lane_h
        fill = "#f8fafc" if i % 2 == 0 else "#ffffff"
        label = lane.label if len(lane.label) <= 28 else lane.label[:27] + "\u2026"
        body.append(
            f'<g class="lane" data-lane="{_e(lane.key)}">'
            f'<rect x="0" y="{_f(y)}" width="{_f(right)}" height="{_f(lane_h)}" fill="{fill}"/>'
            f'<rect x="0" y="{_f(y + 4)}" width="3" height="{_f(lane_h - 8)}" fill="{_e(lane.color)}"/>'
            f'<text x="10" y="{_f(y + (15 if lane.note else 21))}" font-family="{_e(MONO)}" font-size="11" '
            f'fill="{TEXT}"><title>{_e(lane.label)}</title>{_e(label)}</text>'
        )
        if lane.note:
            body.append(f'<text x="10" y="{_f(y + 27)}" font-size="10" fill="{MUTED}">{_e(lane.note)}</text>')
        if lane.start is not None and lane.end is not None:
            x0, x1 = sx(lane.start), sx(lane.end)
            body.append(
                f'<rect class="span" x="{_f(x0 - 3)}" y="{_f(y + 10)}" width="{_f(max(x1 - x0, 0) + 6)}" '
                f'height="{_f(lane_h - 20)}" rx="7" fill="{_e(lane.color)}" fill-opacity="0.15"/>'
            )
        body.append("</g>")
    # time axis
    ticks = _time_ticks(t0, t1, max(2, int((right - left) / 95)))
    last_day = None
    for t in ticks:
        x = sx(t)
        day = t.strftime("%b %d")
        text = t.strftime("%H:%M:%S" if _step_of(ticks) < 60 else "%H:%M")
        body.append(
            f'<line x1="{_f(x)}" y1="{_f(lanes_top)}" x2="{_f(x)}" y2="{_f(axis_y + 4)}" stroke="{GRID}"/>'
            f'<text class="tick" x="{_f(x)}" y="{_f(axis_y + 16)}" text-anchor="middle" font-size="11" fill="{MUTED}">'
            f"{_e(text)}</text>"
        )
        if day != last_day:
            body.append(
                f'<text class="day" x="{_f(x)}" y="{_f(axis_y + 29)}" text-anchor="middle" font-size="10" '
                f'fill="{MUTED}">'
                f"{_e(day)}</text>"
            )
            last_day = day
    body.append(f'<line x1="{_f(left)}" y1="{_f(axis_y)}" x2="{_f(right)}" y2="{_f(axis_y)}" stroke="#cbd5e1"/>')
    # boots and resets
    label_end = -1e9
    for m in sorted(marks, key=lambda m: (_naive(m.ts), m.kind, m.label)):
        x = sx(m.ts)
        color, dash = (RESET_COLOR, "") if m.kind == "reset" else ("#94a3b8", ' stroke-dasharray="3 3"')
        tip = f"{m.label} {_naive(m.ts):%Y-%m-%dT%H:%M:%SZ}" + (f": {m.text}" if m.text else "")
        body.append(
            f'<g class="mark {_e(m.kind)}"><title>{_e(tip)}</title>'
            f'<line x1="{_f(x)}" y1="{_f(lanes_top - 2)}" x2="{_f(x)}" y2="{_f(axis_y)}" stroke="{color}" '
            f'stroke-width="1.3"{dash}/>'
        )
        w = _text_width(m.label, 10)
        if x - w / 2 > label_end + 4 and left - 30 <= x:
            body.append(
                f'<text x="{_f(x)}" y="{_f(lanes_top - 6)}" text-anchor="middle" font-size="10" fill="{color}">'
                f"{_e(m.label)}</text>"
            )
            label_end = x + w / 2
        body.append("</g>")
    # events (log lines on top), then their labels where they fit, in the order given (most telling first)
    index = {lane.key: i for i, lane in enumerate(lanes)}
    colors = {lane.key: lane.color for lane in lanes}
    layer = {"metric": 0, "test": 1}
    for e in sorted(events, key=lambda e: (layer.get(e.kind, 2), _naive(e.ts), e.lane, e.text)):
        y = lanes_top + index[e.lane] * lane_h + lane_h / 2
        tip = f"{_naive(e.ts):%Y-%m-%dT%H:%M:%SZ} {e.text}".rstrip()
        body.append(_event_shape(e.kind, sx(e.ts), y, e.color or colors[e.lane], tip))
    taken: dict[str, list[tuple[float, float]]] = {}
    labelled: dict[str, set[str]] = {}
    for e in events:
        x = sx(e.ts) - 3
        w = _text_width(e.label, 9)
        seen = labelled.setdefault(e.lane, set())
        spans = taken.setdefault(e.lane, [])
        if not e.label or e.label in seen or x + w > right or any(x < b + 6 and a < x + w + 6 for a, b in spans):
            continue
        y = lanes_top + index[e.lane] * lane_h + 8.5  # above the markers, so a label never hides a sign
        body.append(
            f'<text class="event-label" x="{_f(x)}" y="{_f(y)}" font-size="9" fill="{TEXT}">{_e(e.label)}</text>'
        )
        spans.append((x, x + w))
        seen.add(e.label)
    # legend
    ly = axis_y + 42
    legend = [("log", "log line"), ("metric", "metric"), ("test", "test run")]
    x = left
    for kind, name in legend:
        body.append(_event_shape(kind, x + 4, ly - 4, NEUTRAL, name, role="key"))
        body.append(f'<text x="{_f(x + 12)}" y="{_f(ly)}" font-size="10" fill="{MUTED}">{name}</text>')
        x += 24 + _text_width(name, 10)
    if marks:
        for name, color, dash in (("boot", "#94a3b8", ' stroke-dasharray="3 3"'), ("GPU reset", RESET_COLOR, "")):
            body.append(
                f'<line x1="{_f(x)}" y1="{_f(ly - 9)}" x2="{_f(x)}" y2="{_f(ly + 1)}" stroke="{color}" '
                f'stroke-width="1.3"{dash}/><text x="{_f(x + 5)}" y="{_f(ly)}" font-size="10" fill="{MUTED}">'
                f"{name}</text>"
            )
            x += 20 + _text_width(name, 10)
    label = (
        f"{title}: {len(events)} dated events on {len(lanes)} lanes from {t0:%Y-%m-%d %H:%M} to {t1:%Y-%m-%d %H:%M} UTC"
    )
    return _svg(width, height, title, label, body, "timeline")


def _event_shape(kind: str, x: float, y: float, color: str, tip: str, role: str = "event") -> str:
    attrs = f'class="{role} {_e(kind)}" fill="{_e(color)}" stroke="#fff" stroke-width="1"'
    title = f"<title>{_e(tip)}</title>"
    if kind == "metric":
        s = 5.5
        points = f"{_f(x)},{_f(y - s)} {_f(x + s)},{_f(y)} {_f(x)},{_f(y + s)} {_f(x - s)},{_f(y)}"
        return f'<polygon {attrs} points="{points}">{title}</polygon>'
    if kind == "test":
        return f'<rect {attrs} x="{_f(x - 4.5)}" y="{_f(y - 4.5)}" width="9" height="9" rx="1">{title}</rect>'
    return f'<circle {attrs} cx="{_f(x)}" cy="{_f(y)}" r="5">{title}</circle>'


def _time_ticks(t0: datetime, t1: datetime, most: int) -> list[datetime]:
    """Round UTC times inside [t0, t1], at most about `most` of them."""
    span = (t1 - t0).total_seconds()
    step = next((s for s in _TIME_STEPS if span / s <= most), _TIME_STEPS[-1])
    epoch = datetime(1970, 1, 1)
    first = math.ceil((t0 - epoch).total_seconds() / step) * step
    ticks = []
    at = first
    while epoch + timedelta(seconds=at) <= t1 and len(ticks) < 60:
        ticks.append(epoch + timedelta(seconds=at))
        at += step
    return ticks


def _step_of(ticks: list[datetime]) -> float:
    return (ticks[1] - ticks[0]).total_seconds() if len(ticks) > 1 else 3600.0
