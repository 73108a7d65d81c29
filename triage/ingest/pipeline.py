"""Ingest: discover files, sniff and parse each, and append its rows to the store.

A file lands whole or not at all. Small files (up to `SMALL_FILE_BYTES` on disk: test
outputs, inventories, counter dumps) are parsed in memory and committed together, many per
transaction, since a fleet has hundreds of thousands of them; with many files they are
parsed by worker processes while this one writes, results taken in the files' order. A larger file is one
transaction up to `COMMIT_BYTES` of input, and beyond that is committed in chunks under a
`files` row marked `loading`, whose rows a failure removes at once and the next read-write
open of the store removes after a crash. A file that cannot be read gets a `files` row with
`status = 'error'` and the reason. A file already ingested for the same host (same sha256)
adds nothing.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
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
# A large file's rows are committed in chunks of this much input (one transaction below it).
COMMIT_BYTES = 64 << 20
# Files up to this size on disk are parsed in memory and committed with others ...
SMALL_FILE_BYTES = 4 << 20
# ... in transactions of up to this many files or this much input.
BATCH_FILES = 500
BATCH_BYTES = 64 << 20
# With at least this many files, small files are read and parsed in worker processes (one per
# core, `TRIAGE_INGEST_WORKERS` to choose), while this process writes to the store.
POOL_MIN_FILES = 200
POOL_LOOKAHEAD = 8  # files read ahead per worker


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
        batch = _Batch(store)
        try:
            for file, read in _reads(files, options, batch):
                summary.files.append(_land(store, batch, file, read, options, progress))
                if progress is not None:
                    progress(file, None)
        finally:
            batch.flush()  # files parsed before a failure are kept
    if summary.hosts:
        resolve_boot_times(store, summary.hosts)
        resolve_gpu_indexes(store, summary.hosts + sorted(batch.row_hosts - set(summary.hosts)))
    summary.seconds = time.perf_counter() - started
    return summary


@dataclass
class _Read:
    """What reading one file gave before it meets the store; picklable, as it may come from a worker."""

    host: str
    sniffed: sources.Sniffed | None = None
    error: str | None = None  # the file could not be read at all
    digest: tuple[str, int] | None = None  # (sha256, size) of a path seen before, read instead of parsed
    large: bool = False  # to be streamed into the store by the caller
    tables: list[tuple[str, pl.DataFrame]] = field(default_factory=list)  # rows, in the order parsed
    loaded: _Loaded | None = None
    stats: LineStats = field(default_factory=LineStats)


def _read(file: InputFile, options: IngestOptions, seen: bool) -> _Read:
    """Sniff `file` and, when small, parse it into frames (no store involved); `seen`: hash it first instead."""
    host = file.host or file.name_host
    if file.error:
        return _Read(host, error=file.error)
    try:
        head = read_head(file, SNIFF_BYTES)
    except (OSError, EOFError, ValueError) as exc:
        return _Read(host, error=reason(exc))
    if not head:
        return _Read(host, error="empty file")
    binary = _binary_reason(head)
    if binary:
        return _Read(host, error=binary)
    sample = head.decode("utf-8", errors="replace").splitlines()[:SNIFF_LINES]
    sniffed = sources.sniff(sample, file.path)
    host = file.host or sniffed.host or file.name_host
    # A path ingested before is likely unchanged: hash it first and skip it without parsing.
    # Anything else is hashed while it is parsed (one read), and dropped if it turns out a copy.
    if seen:
        try:
            return _Read(host, sniffed, digest=_digest(file))
        except (OSError, EOFError, ValueError) as exc:
            return _Read(host, sniffed, error=reason(exc))
    if file.size > SMALL_FILE_BYTES:
        return _Read(host, sniffed, large=True)
    read = _Read(host, sniffed)
    ctx = sources.ParseContext(file.path, file.mtime, options.timezone, options.boot_time)
    collected = _Collector()
    try:
        read.loaded = _parse(file, sniffed, ctx, read.stats, None, collected)
    except (OSError, EOFError, ValueError, InputError) as exc:
        return _Read(host, sniffed, error=_failure(exc, read.stats))
    read.tables = collected.frames
    return read


def _reads(files: list[InputFile], options: IngestOptions, batch: _Batch) -> Iterator[tuple[InputFile, _Read]]:
    """Each file with what reading it gave, in order: read here, or by worker processes for many files."""

    def seen(file: InputFile) -> bool:
        return batch.has_path(file.host or file.name_host, file.path)

    workers = _workers()
    if workers < 2 or len(files) < POOL_MIN_FILES:
        for file in files:
            yield file, _read(file, options, seen(file))
        return
    # Workers are spawned, not forked: this process runs DuckDB's and polars' threads.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        pending: collections.deque[tuple[InputFile, Future[_Read]]] = collections.deque()
        upcoming = iter(files)
        try:
            for file in itertools.islice(upcoming, workers * POOL_LOOKAHEAD):
                pending.append((file, pool.submit(_read, file, options, seen(file))))
            while pending:
                file, future = pending.popleft()
                result = future.result()
                for more in itertools.islice(upcoming, 1):
                    pending.append((more, pool.submit(_read, more, options, seen(more))))
                yield file, result
        finally:
            for _, future in pending:
                future.cancel()


def _workers() -> int:
    """How many processes parse small files: `TRIAGE_INGEST_WORKERS`, else one per core."""
    wanted = os.environ.get("TRIAGE_INGEST_WORKERS", "")
    if wanted.strip().isdigit():
        return int(wanted)
    return os.cpu_count() or 1


def _land(
    store: Store, batch: _Batch, file: InputFile, read: _Read, options: IngestOptions, progress: Progress | None
) -> FileResult:
    """Put what reading a file gave into the store (queued with other small files, or streamed when large)."""
    kind = read.sniffed.kind if read.sniffed else None
    if read.error is not None:
        return batch.error(file, read.host, kind, read.error)
    assert read.sniffed is not None
    if read.digest is not None:
        digest, size = read.digest
        if batch.has_content(read.host, digest):
            return FileResult(file.path, read.host, "unchanged", kind, bytes=size)
        return _land(store, batch, file, _read(file, options, seen=False), options, progress)  # content changed
    ctx = sources.ParseContext(file.path, file.mtime, options.timezone, options.boot_time)
    if read.large:
        batch.flush()
        return _ingest_large(store, batch, file, read.host, read.sniffed, ctx, progress)
    return _land_small(batch, file, read, progress)


def _land_small(batch: _Batch, file: InputFile, read: _Read, progress: Progress | None) -> FileResult:
    """Queue a small file's rows for the batch's next commit."""
    host, sniffed, loaded, stats = read.host, read.sniffed, read.loaded, read.stats
    assert sniffed is not None and loaded is not None
    if progress is not None:
        progress(file, stats.bytes)
    if batch.has_content(host, loaded.digest):
        return FileResult(file.path, host, "unchanged", sniffed.kind, bytes=stats.bytes)
    file_id = batch.store.next_id("files", "file_id")
    rows = _RowWriter(batch.store, file_id, host)
    for table, frame in read.tables:
        rows.write({table: frame})
    status, error, notes = _outcome(loaded, stats)
    row = _files_row(file_id, file, host, sniffed, status, error)
    batch.add(row.with_columns(_content_columns(loaded.digest, stats, notes)), host, file.path, loaded, rows)
    return FileResult(file.path, host, status, sniffed.kind, stats.lines, stats.bytes, error, notes, rows.counts)


def _ingest_large(
    store: Store,
    batch: _Batch,
    file: InputFile,
    host: str,
    sniffed: sources.Sniffed,
    ctx: sources.ParseContext,
    progress: Progress | None,
) -> FileResult:
    """Stream a large file into the store, committing in chunks under a `loading` files row."""
    stats = LineStats()
    store.begin()
    file_id = store.next_id("files", "file_id")
    rows = _RowWriter(store, file_id, host, sink=store.append)
    committed_at = 0

    def commit_chunk(read: int) -> None:
        nonlocal committed_at
        if read - committed_at >= COMMIT_BYTES:
            store.commit()
            store.begin()
            committed_at = read

    try:
        store.append("files", _files_row(file_id, file, host, sniffed, "loading"))
        loaded = _parse(file, sniffed, ctx, stats, progress, rows, commit_chunk)
        apply_fixups(store, file_id, loaded.fixups)
        if batch.has_content(host, loaded.digest):
            store.rollback()
            store.discard_file(file_id)  # rows of chunks committed before the copy was recognised
            return FileResult(file.path, host, "unchanged", sniffed.kind, bytes=stats.bytes)
        status, error, notes = _outcome(loaded, stats)
        store.execute(
            "UPDATE files SET status = ?, error = ?, note = ?, sha256 = ?, bytes = ?, lines = ? WHERE file_id = ?",
            [status, error, notes, loaded.digest, stats.bytes, stats.lines, file_id],
        )
        store.commit()
    except BaseException as exc:
        store.rollback()
        store.discard_file(file_id)  # rows of chunks committed before the failure
        if not isinstance(exc, OSError | EOFError | ValueError | InputError):
            raise
        return batch.error(file, host, sniffed.kind, _failure(exc, stats))
    batch.committed(host, file.path, loaded.digest, file_id, rows.hosts)
    return FileResult(file.path, host, status, sniffed.kind, stats.lines, stats.bytes, error, notes, rows.counts)


def _failure(exc: BaseException, stats: LineStats) -> str:
    """The one-line reason a file could not be read, with the line reached when known."""
    why = exc.reason if isinstance(exc, InputError) else reason(exc)
    where = f"line {stats.lines}: " if stats.lines and not isinstance(exc, InputError) else ""
    return where + why


def _outcome(loaded: _Loaded, stats: LineStats) -> tuple[str, str | None, str | None]:
    """Status, error and note of a file that was read."""
    notes = "; ".join(stats.notes()) or None
    if loaded.truncated:
        return "error", f"truncated compressed file: kept the {stats.lines} lines before the cut", notes
    if loaded.malformed:
        return "error", loaded.malformed, notes
    return "ok", None, notes


def _content_columns(digest: str, stats: LineStats, notes: str | None) -> list[pl.Expr]:
    return [
        pl.lit(digest).alias("sha256"),
        pl.lit(stats.bytes, dtype=pl.Int64).alias("bytes"),
        pl.lit(stats.lines, dtype=pl.Int64).alias("lines"),
        pl.lit(notes, dtype=pl.String).alias("note"),
    ]


def _parse(
    file: InputFile,
    sniffed: sources.Sniffed,
    ctx: sources.ParseContext,
    stats: LineStats,
    progress: Progress | None,
    rows: _RowWriter | _Collector,
    after_batch: Callable[[int], None] | None = None,
) -> _Loaded:
    """Read and parse `file`, handing its rows to `rows`; `after_batch(bytes read)` runs after each batch."""
    parser = sources.parser_for(sniffed, ctx)
    with file.open() as raw:
        stream = _HashingReader(raw)
        batches = iter_line_batches(stream, stats, lines.BATCH_BYTES)
        parsed = ((parser.parse(batch), stats.bytes) for batch in batches)
        for tables, read in prefetch(parsed):
            rows.write(tables)
            if after_batch is not None:
                after_batch(read)
            if progress is not None:
                progress(file, read)
        truncated = raw.truncated
    fixups = parser.finish()
    rows.write(fixups.tables)
    return _Loaded(truncated, fixups.error, stream.hexdigest(), fixups)


@dataclass
class _Loaded:
    """What reading one file gave besides its rows."""

    truncated: bool  # a compressed file cut off
    malformed: str | None  # the fault of a recognised but malformed file
    digest: str  # sha256 of the (decompressed) content
    fixups: sources.Fixups


class _Collector:
    """Keeps a parser's frames as they come, for a file read away from the store."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, pl.DataFrame]] = []

    def write(self, tables: dict[str, pl.DataFrame]) -> None:
        """Keep each non-empty frame."""
        self.frames.extend((table, frame) for table, frame in tables.items() if frame.height)


class _RowWriter:
    """Hands a parser's rows, with their host and file and run ids unique in the store, to `sink`."""

    def __init__(
        self, store: Store, file_id: int, host: str, sink: Callable[[str, pl.DataFrame], object] | None = None
    ) -> None:
        """Rows go to `sink` (e.g. `store.append`) or, without one, are kept in `frames`."""
        self._store = store
        self._sink = sink or (lambda table, frame: self.frames.append((table, frame)))
        self._file_id = file_id
        self._host = host
        self._run_base: int | None = None
        self.counts: dict[str, int] = {}
        self.hosts: set[str] = set()  # hosts rows named themselves (a scrape of many nodes)
        self.frames: list[tuple[str, pl.DataFrame]] = []

    def write(self, tables: dict[str, pl.DataFrame]) -> None:
        """Append each non-empty frame to its table."""
        for table, frame in tables.items():
            if not frame.height:
                continue
            host = pl.lit(self._host)
            if "host" in frame.columns:
                self.hosts.update(frame["host"].drop_nulls().unique().to_list())
                host = pl.coalesce(pl.col("host"), host)
            frame = frame.with_columns(host.alias("host"), pl.lit(self._file_id).alias("file_id"))
            if "run_id" in frame.columns and table in ("test_runs", "measurements"):
                frame = frame.with_columns(pl.col("run_id") + self._run_ids(frame))
            self._sink(table, frame)
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


class _Batch:
    """Small files parsed but not yet committed, and what the store holds (to skip copies)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.row_hosts: set[str] = set()  # hosts that rows named besides their files' hosts
        known = store.frame("SELECT host, path, sha256 FROM files WHERE status = 'ok'")
        self._paths = set(zip(known["host"].to_list(), known["path"].to_list(), strict=True))
        self._contents = set(zip(known["host"].to_list(), known["sha256"].to_list(), strict=True))
        self._files: list[pl.DataFrame] = []
        self._tables: dict[str, list[pl.DataFrame]] = {}
        self._fixups: list[tuple[int, sources.Fixups]] = []
        self._attempts: list[tuple[str, str, str | None]] = []  # (host, path, sha256) of queued files
        self._bytes = 0

    def has_path(self, host: str, path: str) -> bool:
        """Whether a file at this path was ingested for this host before."""
        return (host, path) in self._paths

    def has_content(self, host: str, digest: str) -> bool:
        """Whether this content is in the store (or queued) for this host."""
        return (host, digest) in self._contents

    def add(self, files_row: pl.DataFrame, host: str, path: str, loaded: _Loaded, rows: _RowWriter) -> None:
        """Queue a file read in memory; commits when the batch is full."""
        self._files.append(files_row)
        for table, frame in rows.frames:
            self._tables.setdefault(table, []).append(frame)
        self._fixups.append((int(files_row["file_id"][0]), loaded.fixups))
        self._attempts.append((host, path, loaded.digest))
        self._bytes += int(files_row["bytes"][0])
        self.row_hosts |= rows.hosts
        if files_row["status"][0] == "ok":
            self._paths.add((host, path))
            self._contents.add((host, loaded.digest))
        if len(self._files) >= BATCH_FILES or self._bytes >= BATCH_BYTES:
            self.flush()

    def error(self, file: InputFile, host: str, kind: str | None, why: str) -> FileResult:
        """Queue the `files` row of a file that could not be read."""
        file_id = self.store.next_id("files", "file_id")
        self._files.append(_files_row(file_id, file, host, sources.Sniffed(kind) if kind else None, "error", why))
        self._attempts.append((host, file.path, None))
        return FileResult(file.path, host, "error", kind, error=why)

    def committed(self, host: str, path: str, digest: str, file_id: int, row_hosts: set[str]) -> None:
        """Note a large file the caller committed itself; earlier failed attempts at it are removed."""
        self._paths.add((host, path))
        self._contents.add((host, digest))
        self.row_hosts |= row_hosts
        self._discard_failed_attempts([(host, path, digest)], keep=file_id)

    def flush(self) -> None:
        """Commit the queued files in one transaction (earlier failed attempts at them are removed first)."""
        if not self._files:
            return
        self._discard_failed_attempts(self._attempts)
        with self.store.transaction():
            self.store.append("files", pl.concat(self._files, how="diagonal_relaxed"))
            for table, frames in self._tables.items():
                self.store.append(table, pl.concat(frames, how="diagonal_relaxed"))
            for file_id, fixups in self._fixups:
                apply_fixups(self.store, file_id, fixups)
        self._files, self._tables, self._fixups, self._attempts, self._bytes = [], {}, [], [], 0

    def _discard_failed_attempts(self, attempts: list[tuple[str, str, str | None]], keep: int | None = None) -> None:
        """A new attempt replaces the error rows of earlier ones (same host and path, or same content)."""
        hosts, paths, digests = (list(column) for column in zip(*attempts, strict=True))
        stale = self.store.frame(
            "SELECT DISTINCT f.file_id FROM files f JOIN (SELECT unnest(?::VARCHAR[]) AS host, "
            "unnest(?::VARCHAR[]) AS path, unnest(?::VARCHAR[]) AS sha256) k "
            "ON f.host = k.host AND (f.path = k.path OR f.sha256 = k.sha256) "
            "WHERE f.status <> 'ok' AND f.file_id IS DISTINCT FROM ?",
            [hosts, paths, digests, keep],
        )
        for (file_id,) in stale.iter_rows():
            self.store.discard_file(file_id)


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
