"""Ingest: discover files, sniff and parse each, and append its rows to the store.

A file lands whole or not at all. Up to `COMMIT_BYTES` of input it is one transaction;
a larger file is committed in chunks under a `files` row marked `loading`, whose rows a
failure removes at once and the next read-write open of the store removes after a crash. A file that cannot
be read gets a `files` row with `status = 'error'` and the reason. A file already
ingested for the same host (same sha256) adds nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import polars as pl

from triage import sources
from triage.discover import Discovery, InputFile, Limits, read_head
from triage.errors import InputError, reason
from triage.ingest.clock import apply_fixups, resolve_boot_times
from triage.ingest.devices import resolve_gpu_indexes
from triage.ingest.prefetch import prefetch
from triage.sources import lines
from triage.sources.lines import LineStats, iter_line_batches
from triage.store import MEMORY, Store

SNIFF_BYTES = 1 << 16
SNIFF_LINES = 200
# A file's rows are committed in chunks of this much input (one transaction below it).
COMMIT_BYTES = 64 << 20


@dataclass
class FileResult:
    """What happened to one input file."""

    path: str
    host: str
    status: str  # ok, unchanged or error
    kind: str | None = None
    lines: int = 0
    bytes: int = 0
    error: str | None = None
    note: str | None = None
    rows: dict[str, int] = field(default_factory=dict)  # rows added per table besides events


@dataclass
class IngestSummary:
    """Totals of one ingest run."""

    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ingested(self) -> int:
        """Files added to the store."""
        return sum(1 for f in self.files if f.status == "ok")

    @property
    def unchanged(self) -> int:
        """Files skipped because the store already had them."""
        return sum(1 for f in self.files if f.status == "unchanged")

    @property
    def errors(self) -> list[FileResult]:
        """Files that could not be read."""
        return [f for f in self.files if f.status == "error"]

    @property
    def lines(self) -> int:
        """Lines stored, including those kept from files with errors (a truncated .gz)."""
        return sum(f.lines for f in self.files if f.status != "unchanged")

    @property
    def rows(self) -> dict[str, int]:
        """Rows added to the tables other than events (measurements, test_runs, assets)."""
        totals: dict[str, int] = {}
        for f in self.files:
            if f.status != "unchanged":
                for table, n in f.rows.items():
                    totals[table] = totals.get(table, 0) + n
        return dict(sorted(totals.items()))

    @property
    def bytes(self) -> int:
        """Bytes read into the store (decompressed), including files with errors that kept lines."""
        return sum(f.bytes for f in self.files if f.status != "unchanged")

    @property
    def hosts(self) -> list[str]:
        """Hosts that got rows in this run."""
        return sorted({f.host for f in self.files if f.status != "unchanged" and f.lines})

    @property
    def mb_per_s(self) -> float:
        """Throughput over the whole run."""
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view, stable for scripts."""
        return {
            "files": len(self.files),
            "ingested": self.ingested,
            "unchanged": self.unchanged,
            "errors": [{"path": f.path, "error": f.error} for f in self.errors],
            "hosts": self.hosts,
            "lines": self.lines,
            "rows": self.rows,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "mb_per_s": round(self.mb_per_s, 1),
        }


@dataclass(frozen=True)
class IngestOptions:
    """How to read the inputs."""

    host: str | None = None
    boot_time: datetime | None = None
    timezone: str = "UTC"
    limits: Limits = field(default_factory=Limits)


# Called with (file, bytes of it read so far) while a file is read, and (file, None) when it is done.
Progress = Callable[[InputFile, int | None], None]


def ingest(
    store: Store,
    paths: list[str],
    options: IngestOptions | None = None,
    progress: Progress | None = None,
    on_plan: Callable[[list[InputFile]], None] | None = None,
) -> IngestSummary:
    """Ingest files, folders and archives into `store`; each file lands whole or not at all."""
    options = options or IngestOptions()
    summary = IngestSummary()
    started = time.perf_counter()
    own_files = {Path(store.path + suffix) for suffix in ("", ".wal")} if store.path != MEMORY else set()
    with Discovery(paths, host=options.host, limits=options.limits, exclude=own_files) as discovery:
        files = list(discovery.files())
        if on_plan is not None:
            on_plan(files)
        for file in files:
            summary.files.append(_ingest_file(store, file, options, progress))
            if progress is not None:
                progress(file, None)
    if summary.hosts:
        resolve_boot_times(store, summary.hosts)
        resolve_gpu_indexes(store, summary.hosts)
    summary.seconds = time.perf_counter() - started
    return summary


def _ingest_file(store: Store, file: InputFile, options: IngestOptions, progress: Progress | None) -> FileResult:
    host = file.host or file.name_host
    if file.error:
        return _record_error(store, file, host, None, file.error)
    try:
        head = read_head(file, SNIFF_BYTES)
    except (OSError, EOFError, ValueError) as exc:
        return _record_error(store, file, host, None, reason(exc))
    if not head:
        return _record_error(store, file, host, None, "empty file")
    binary = _binary_reason(head)
    if binary:
        return _record_error(store, file, host, None, binary)
    sample = head.decode("utf-8", errors="replace").splitlines()[:SNIFF_LINES]
    sniffed = sources.sniff(sample, file.path)
    host = file.host or sniffed.host or file.name_host

    # A path ingested before is likely unchanged: hash it first and skip it without parsing.
    # Anything else is hashed while it is parsed (one read), and dropped if it turns out a copy.
    if _seen_before(store, host, file.path):
        try:
            digest, size = _digest(file)
        except (OSError, EOFError, ValueError) as exc:
            return _record_error(store, file, host, sniffed.kind, reason(exc))
        if _ok_copy_exists(store, host, digest):
            return FileResult(file.path, host, "unchanged", sniffed.kind, bytes=size)

    ctx = sources.ParseContext(file.path, file.mtime, options.timezone, options.boot_time)
    stats = LineStats()
    store.begin()
    file_id = store.next_id("files", "file_id")
    try:
        store.append("files", _files_row(file_id, file, host, sniffed, "loading"))
        loaded = _load(store, file, file_id, host, sniffed, ctx, stats, progress)
        digest = loaded.digest
        if _ok_copy_exists(store, host, digest, other_than=file_id):
            store.rollback()
            store.discard_file(file_id)  # rows of chunks committed before the copy was recognised
            return FileResult(file.path, host, "unchanged", sniffed.kind, bytes=stats.bytes)
        notes = "; ".join(stats.notes()) or None
        status, error = "ok", None
        if loaded.malformed:
            status, error = "error", loaded.malformed
        if loaded.truncated:
            status, error = "error", f"truncated compressed file: kept the {stats.lines} lines before the cut"
        store.execute(
            "UPDATE files SET status = ?, error = ?, note = ?, sha256 = ?, bytes = ?, lines = ? WHERE file_id = ?",
            [status, error, notes, digest, stats.bytes, stats.lines, file_id],
        )
        store.commit()
    except BaseException as exc:
        store.rollback()
        store.discard_file(file_id)  # rows of chunks committed before the failure
        if not isinstance(exc, OSError | EOFError | ValueError | InputError):
            raise
        why = exc.reason if isinstance(exc, InputError) else reason(exc)
        where = f"line {stats.lines}: " if stats.lines and not isinstance(exc, InputError) else ""
        return _record_error(store, file, host, sniffed.kind, where + why)
    _discard_failed_attempts(store, host, file.path, digest, keep=file_id)
    return FileResult(file.path, host, status, sniffed.kind, stats.lines, stats.bytes, error, notes, loaded.rows)


def _seen_before(store: Store, host: str, path: str) -> bool:
    return store.frame("SELECT 1 FROM files WHERE host = ? AND path = ? AND status = 'ok'", [host, path]).height > 0


def _ok_copy_exists(store: Store, host: str, digest: str, other_than: int | None = None) -> bool:
    """Whether the store already has this content for this host."""
    found = store.frame(
        "SELECT 1 FROM files WHERE host = ? AND sha256 = ? AND status = 'ok' AND file_id IS DISTINCT FROM ?",
        [host, digest, other_than],
    )
    return found.height > 0


def _load(
    store: Store,
    file: InputFile,
    file_id: int,
    host: str,
    sniffed: sources.Sniffed,
    ctx: sources.ParseContext,
    stats: LineStats,
    progress: Progress | None,
) -> _Loaded:
    """Parse `file` into the store inside the caller's transaction.

    Returns whether a compressed file was cut off, the fault of a malformed file (its
    rows up to the fault are kept), the sha256 of what was read and the rows added.
    Every `COMMIT_BYTES` of input the transaction is committed and a new one begun, so
    memory stays bounded for huge files; the `files` row says `loading` until the caller's
    last commit, and a failure (or the next open after a crash) removes what was committed.
    """
    parser = sources.parser_for(sniffed, ctx)
    rows = _RowWriter(store, file_id, host)
    committed_at = 0
    with file.open() as raw:
        stream = _HashingReader(raw)
        batches = iter_line_batches(stream, stats, lines.BATCH_BYTES)
        parsed = ((parser.parse(batch), stats.bytes) for batch in batches)
        for tables, read in prefetch(parsed):
            rows.write(tables)
            if read - committed_at >= COMMIT_BYTES:
                store.commit()
                store.begin()
                committed_at = read
            if progress is not None:
                progress(file, read)
        truncated = raw.truncated
    fixups = parser.finish()
    rows.write(fixups.tables)
    apply_fixups(store, file_id, fixups)
    return _Loaded(truncated, fixups.error, stream.hexdigest(), rows.counts)


@dataclass
class _Loaded:
    truncated: bool
    malformed: str | None
    digest: str
    rows: dict[str, int]


class _RowWriter:
    """Appends a parser's rows with their host and file, and run ids made unique in the store."""

    def __init__(self, store: Store, file_id: int, host: str) -> None:
        self._store = store
        self._file_id = file_id
        self._host = host
        self._run_base: int | None = None
        self.counts: dict[str, int] = {}

    def write(self, tables: dict[str, pl.DataFrame]) -> None:
        """Append each non-empty frame to its table."""
        for table, frame in tables.items():
            if not frame.height:
                continue
            host = pl.lit(self._host)
            if "host" in frame.columns:
                host = pl.coalesce(pl.col("host"), host)
            frame = frame.with_columns(host.alias("host"), pl.lit(self._file_id).alias("file_id"))
            if "run_id" in frame.columns and table in ("test_runs", "measurements"):
                frame = frame.with_columns(pl.col("run_id") + self._run_ids(frame))
            self._store.append(table, frame)
            if table != "events":
                self.counts[table] = self.counts.get(table, 0) + frame.height

    def _run_ids(self, frame: pl.DataFrame) -> int:
        """The offset from the file's run ids (1, 2, ...) to ids unique in the store."""
        if self._run_base is None:
            self._run_base = self._store.next_id("test_runs", "run_id") - 1
        highest = frame["run_id"].max()
        if highest is not None:
            self._store.reserve_ids("test_runs", "run_id", self._run_base + int(highest))  # type: ignore[arg-type]
        return self._run_base


class _HashingReader:
    """Passes reads through, hashing them (hashlib releases the GIL, so this overlaps the store)."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._sha = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._sha.update(data)
        return data

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def _files_row(
    file_id: int, file: InputFile, host: str, sniffed: sources.Sniffed | None, status: str, error: str | None = None
) -> pl.DataFrame:
    """A new `files` row; content facts (sha256, bytes, lines, note) are filled in once the file is read."""
    return pl.DataFrame(
        {
            "file_id": [file_id],
            "path": [file.path],
            "host": [host],
            "kind": [sniffed.kind if sniffed else None],
            "format": [sniffed.format if sniffed else None],
            "status": [status],
            "error": [error],
            "ingested_at": [datetime.now(UTC).replace(tzinfo=None)],
        }
    )


def _record_error(store: Store, file: InputFile, host: str, kind: str | None, why: str) -> FileResult:
    _discard_failed_attempts(store, host, file.path, None)
    with store.transaction():
        file_id = store.next_id("files", "file_id")
        store.append("files", _files_row(file_id, file, host, sources.Sniffed(kind) if kind else None, "error", why))
    return FileResult(file.path, host, "error", kind, error=why)


def _discard_failed_attempts(store: Store, host: str, path: str, digest: str | None, keep: int | None = None) -> None:
    """A new attempt replaces the error rows of earlier ones (same host and path, or same content)."""
    stale = store.frame(
        "SELECT file_id FROM files WHERE host = ? AND status <> 'ok' AND (path = ? OR sha256 = ?) "
        "AND file_id IS DISTINCT FROM ?",
        [host, path, digest, keep],
    )
    for (file_id,) in stale.iter_rows():
        store.discard_file(file_id)


def _digest(file: InputFile) -> tuple[str, int]:
    size = 0
    with file.open() as fh:
        stream = _HashingReader(fh)
        while block := stream.read(1 << 22):
            size += len(block)
    return stream.hexdigest(), size


_TEXT_BYTES = bytes(range(32, 127)) + b"\t\n\r\f\v\x1b\x08" + bytes(range(128, 256))


def _binary_reason(head: bytes) -> str | None:
    """Why the head of a file does not look like text, or None.

    Binary means control bytes (NUL and C0 codes other than tab, newlines, form feed and
    escape) or mostly undecodable bytes. A few invalid UTF-8 bytes (a Latin-1 log) are text:
    the reader replaces them and notes it.
    """
    if head.count(0) > len(head) * 0.3:
        return "binary file (not text)"
    body = head.replace(b"\x00", b"")
    controls = len(body.translate(None, _TEXT_BYTES))
    undecodable = body.decode("utf-8", errors="replace").count("\ufffd")
    if controls > len(body) * 0.05 or undecodable > len(body) * 0.3:
        return "binary file (not text)"
    return None


__all__ = ["FileResult", "IngestOptions", "IngestSummary", "ingest"]
