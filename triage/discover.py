"""Finding the input files: folders, archives (nested) and compressed files, and their hosts.

`Discovery(paths, host=...)` walks what the user named and lists `InputFile`s. Archives
(.tar, .tar.gz/.tgz, .zip, recognised by content) are unpacked into a private temporary
folder, never outside it: absolute or `..` member paths and links are refused, and the
member count and unpacked size are capped. Single compressed files (.gz, .bz2, .xz) are
read through a decompressing stream. Paths inside archives read `archive!member`.

Host attribution (DESIGN.md): `host` given wins; under a folder root the host is the
first path component below the root (folder or archive, extensions stripped); an
archive given directly is one host named after it, unless its members sit in two or
more top-level folders, each then a host; a file given directly is named by its content
(`host=None` here, settled after sniffing) or else by its file name.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import re
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from triage.errors import TriageError, reason

ARCHIVE_SUFFIXES = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tbz2", ".txz", ".tar", ".zip")
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")
_DECOMPRESSORS = {"gzip": gzip.GzipFile, "bzip2": bz2.BZ2File, "xz": lzma.LZMAFile}
_DECOMPRESSOR_TYPES = tuple(_DECOMPRESSORS.values())


def _open_compressed(path: str, compression: str) -> BinaryIO:
    """A decompressing binary stream over `path` (the caller closes it)."""
    return _DECOMPRESSORS[compression](path, "rb")  # type: ignore[return-value]


@dataclass(frozen=True)
class Limits:
    """Caps on what archives may unpack to."""

    max_members: int = 100_000
    max_unpacked_bytes: int = 32 << 30
    max_depth: int = 4


@dataclass
class InputFile:
    """One file to ingest."""

    path: str  # display path: as given, with `!member` inside archives
    disk_path: str  # where to read it (maybe inside the temporary folder)
    host: str | None  # None: decide from the content, else `name_host`
    name_host: str  # host taken from the file name
    mtime: datetime  # last modification (UTC), reference for year-less stamps
    compression: str | None = None  # gzip, bzip2, xz or None
    size: int = 0  # bytes on disk
    error: str | None = None  # why it cannot be read, found during discovery

    def open(self) -> TolerantStream:
        """A binary stream of the (decompressed) content; a cut-off compressed file reads as EOF."""
        if self.compression:
            return TolerantStream(_open_compressed(self.disk_path, self.compression))
        return TolerantStream(open(self.disk_path, "rb"))


class TolerantStream:
    """Reads a stream, turning a truncated compressed file into a clean end marked `truncated`."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.truncated = False

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes; at the cut of a truncated file, what came before it, then b""."""
        if self.truncated:
            return b""
        if not isinstance(self._raw, _DECOMPRESSOR_TYPES):
            return self._raw.read(size)
        # Decompressors drop what they decoded when the data ends early, so read in small steps.
        chunks: list[bytes] = []
        wanted = size if size >= 0 else 1 << 62
        try:
            while wanted > 0:
                chunk = self._raw.read1(min(wanted, 1 << 20))
                if not chunk:
                    break
                chunks.append(chunk)
                wanted -= len(chunk)
        except (EOFError, lzma.LZMAError, zlib.error, gzip.BadGzipFile):
            self.truncated = True
        return b"".join(chunks)

    def close(self) -> None:
        """Close the underlying stream."""
        self._raw.close()

    def __enter__(self) -> TolerantStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Discovery:
    """The input files under some paths; a context manager owning the unpack folder."""

    def __init__(
        self,
        paths: list[str],
        host: str | None = None,
        limits: Limits | None = None,
        exclude: set[Path] | None = None,
    ) -> None:
        self.paths = paths
        self.host = host
        self.limits = limits or Limits()
        self.exclude = {p.resolve() for p in exclude or set()}
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._unpacked_bytes = 0
        self._members = 0

    def __enter__(self) -> Discovery:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove unpacked archive members."""
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def files(self) -> Iterator[InputFile]:
        """Every input file, in a stable order; unreadable ones carry `error`; `exclude`d paths are skipped."""
        for file in self._files():
            if Path(file.disk_path).resolve() not in self.exclude:
                yield file

    def _files(self) -> Iterator[InputFile]:
        for raw in self.paths:
            path = Path(raw)
            if not path.exists() and not path.is_symlink():
                raise TriageError(f"{raw}: no such file or directory")
            if path.is_dir():
                yield from self._walk_root(path, raw)
            else:
                yield from self._given_file(path, raw)

    # -- roots ---------------------------------------------------------------------
    def _walk_root(self, root: Path, shown: str) -> Iterator[InputFile]:
        for disk, rel in self._walk(root):
            display = _join(shown, rel)
            parts = PurePosixPath(rel).parts
            if len(parts) > 1:
                host = self.host or strip_suffixes(parts[0])
                yield from self._entry(disk, display, host, depth=0)
            else:
                yield from self._given_file(disk, display)

    def _given_file(self, disk: Path, shown: str) -> Iterator[InputFile]:
        """A file named directly (or loose in a root folder); an archive may hold a whole fleet."""
        archive_host = self.host or strip_suffixes(disk.name)
        try:
            kind = _container_kind(disk)
            if kind not in ("tar", "zip"):
                yield from self._entry(disk, shown, self.host, depth=0)
                return
            members = self._walk(self._unpack(disk, kind, depth=0))
        except (_UnpackError, OSError) as exc:
            yield self._error_file(disk, shown, archive_host, _unpack_reason(exc))
            return
        rel_parts = [PurePosixPath(rel).parts for _, rel in members]
        tops = {parts[0] for parts in rel_parts if len(parts) > 1}
        per_folder = self.host is None and len(tops) >= 2 and all(len(parts) > 1 for parts in rel_parts)
        for (member, rel), parts in zip(members, rel_parts, strict=True):
            host = parts[0] if per_folder else archive_host
            yield from self._entry(member, f"{shown}!{rel}", host, depth=1)

    # -- one entry -------------------------------------------------------------------
    def _entry(self, disk: Path, shown: str, host: str | None, depth: int) -> Iterator[InputFile]:
        """A file under a known host (or None: decided from content); nested archives recurse."""
        try:
            kind = _container_kind(disk)
            if kind not in ("tar", "zip"):
                name_host = strip_suffixes(disk.name)
                size = disk.stat().st_size
                yield InputFile(shown, str(disk), host, name_host, _mtime(disk), compression=kind, size=size)
                return
            if depth >= self.limits.max_depth:
                raise _UnpackError(f"archive nested deeper than {self.limits.max_depth}")
            members = self._walk(self._unpack(disk, kind, depth))
        except (_UnpackError, OSError) as exc:
            yield self._error_file(disk, shown, host, _unpack_reason(exc))
            return
        for member, rel in members:
            yield from self._entry(member, f"{shown}!{rel}", host, depth + 1)

    def _error_file(self, disk: Path, shown: str, host: str | None, reason: str) -> InputFile:
        return InputFile(shown, str(disk), host, strip_suffixes(disk.name), _mtime(disk), error=reason)

    # -- sysfs trees ------------------------------------------------------------------
    def _walk(self, root: Path) -> list[tuple[Path, str]]:
        """The files below `root`; a copy of `/sys/class/infiniband` counts as one file, its flat dump."""
        found = _walk(root)
        trees = sorted({m.group(1) for _, rel in found if (m := _IB_SYSFS.match(rel))})
        if not trees:
            return found
        kept = [(disk, rel) for disk, rel in found if not any(_under(rel, tree) for tree in trees)]
        for tree in trees:
            members = [(disk, rel) for disk, rel in found if _under(rel, tree)]
            name = PurePosixPath(tree).name or root.resolve().name or "infiniband"
            kept.append((self._flat_dump(members, tree, name), tree.rstrip("/")))
        return sorted(kept, key=lambda item: item[1])

    def _flat_dump(self, members: list[tuple[Path, str]], tree: str, name: str) -> Path:
        """Write the small one-value files of a sysfs tree as `./<path>:<value>` lines (what `grep -r .` prints)."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="triage-")
        dump = Path(tempfile.mkdtemp(dir=self._tmp.name, prefix="sysfs-")) / name
        with open(dump, "w", encoding="utf-8") as out:
            for disk, rel in members:
                if disk.stat().st_size > _SYSFS_VALUE_BYTES:
                    continue
                text = disk.read_bytes().decode("utf-8", errors="replace").strip()
                if text and "\n" not in text:
                    out.write(f"./{rel[len(tree) :]}:{text}\n")
        newest = max(disk.stat().st_mtime for disk, _ in members)
        os.utime(dump, (newest, newest))
        return dump

    # -- unpacking -------------------------------------------------------------------
    def _unpack(self, archive: Path, kind: str, depth: int) -> Path:
        """Unpack into a fresh folder of the temporary area; raises `_UnpackError` saying why not."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="triage-")
        target = Path(tempfile.mkdtemp(dir=self._tmp.name, prefix=f"d{depth}-"))
        try:
            if kind == "tar":
                self._unpack_tar(archive, target)
            else:
                self._unpack_zip(archive, target)
        except _UnpackError:
            shutil.rmtree(target, ignore_errors=True)
            raise
        except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, lzma.LZMAError, ValueError) as exc:
            shutil.rmtree(target, ignore_errors=True)
            raise _UnpackError(f"damaged archive: {reason(exc)}") from exc
        return target

    def _unpack_tar(self, archive: Path, target: Path) -> None:
        with tarfile.open(archive, "r:*") as tar:
            for member in tar:
                if member.issym() or member.islnk():
                    raise _UnpackError(f"refusing link member in archive: {member.name!r} -> {member.linkname!r}")
                if not member.isfile():
                    continue  # folders are implied; devices and fifos carry no content
                dest = self._member_dest(target, member.name)
                self._account(member.size)
                src = tar.extractfile(member)
                if src is None:
                    continue
                with src, open(dest, "wb") as out:
                    self._copy(src, out)
                os.utime(dest, (member.mtime, member.mtime))

    def _unpack_zip(self, archive: Path, target: Path) -> None:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    raise _UnpackError(f"refusing link member in archive: {info.filename!r}")
                dest = self._member_dest(target, info.filename)
                self._account(info.file_size)
                with zf.open(info) as src, open(dest, "wb") as out:
                    self._copy(src, out)
                stamp = datetime(*info.date_time).timestamp() if info.date_time[0] > 1980 else None
                if stamp:
                    os.utime(dest, (stamp, stamp))

    def _member_dest(self, target: Path, name: str) -> Path:
        rel = PurePosixPath(name.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise _UnpackError(f"refusing archive member outside the archive: {name!r}")
        dest = target.joinpath(*rel.parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        return dest

    def _account(self, size: int) -> None:
        self._members += 1
        if self._members > self.limits.max_members:
            raise _UnpackError(f"archive has more than {self.limits.max_members} members")
        if self._unpacked_bytes + size > self.limits.max_unpacked_bytes:
            raise _UnpackError(f"archive unpacks to more than {self.limits.max_unpacked_bytes} bytes")

    def _copy(self, src: BinaryIO, out: BinaryIO) -> None:
        while chunk := src.read(1 << 20):
            self._unpacked_bytes += len(chunk)
            if self._unpacked_bytes > self.limits.max_unpacked_bytes:
                raise _UnpackError(f"archive unpacks to more than {self.limits.max_unpacked_bytes} bytes")
            out.write(chunk)


class _UnpackError(Exception):
    pass


def _unpack_reason(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, _UnpackError) else reason(exc)


def strip_suffixes(name: str) -> str:
    """A file or archive name without archive, compression and one format extension."""
    lower = name.lower()
    for suffix in ARCHIVE_SUFFIXES + COMPRESSED_SUFFIXES:
        if lower.endswith(suffix) and len(name) > len(suffix):
            name, lower = name[: -len(suffix)], lower[: -len(suffix)]
            break
    stem, dot, ext = name.rpartition(".")
    return stem if dot and stem and not ext.isdigit() else name


# A file in a copy of /sys/class/infiniband: group 1 is the tree's folder (with its `/`).
_IB_SYSFS = re.compile(r"^((?:.*/)?)[^/]+/ports/[0-9]+/(?:hw_)?counters/[^/]+$")
_SYSFS_VALUE_BYTES = 4096


def _under(rel: str, tree: str) -> bool:
    """Whether `rel` lies in the sysfs tree folder `tree` ("" for the root) as a device file."""
    return rel.startswith(tree) and "/" in rel[len(tree) :]


def _walk(root: Path) -> list[tuple[Path, str]]:
    """Regular files below `root` sorted by relative path, with their `/`-separated relative paths."""
    found = []
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            disk = Path(dirpath) / name
            if disk.is_symlink() or not disk.is_file():
                continue
            found.append((disk, disk.relative_to(root).as_posix()))
    return sorted(found, key=lambda item: item[1])


def _container_kind(path: Path) -> str | None:
    """tar, zip, gzip, bzip2, xz (by content), or None for anything else."""
    with open(path, "rb") as fh:
        head = fh.read(512)
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    for name, magic in (("gzip", b"\x1f\x8b"), ("bzip2", b"BZh"), ("xz", b"\xfd7zXZ\x00")):
        if head.startswith(magic):
            return "tar" if _compressed_tar(path, name) else name
    return None


def _compressed_tar(path: Path, compression: str) -> bool:
    try:
        with _open_compressed(str(path), compression) as fh:
            head = fh.read(512)
    except (OSError, EOFError, lzma.LZMAError):
        return False
    return len(head) >= 262 and head[257:262] == b"ustar"


def _join(root: str, rel: str) -> str:
    if not rel:
        return root
    return rel if root in (".", "") else f"{root.rstrip('/')}/{rel}"


def _mtime(path: Path) -> datetime:
    try:
        stamp = path.stat().st_mtime
    except OSError:
        return _now()
    when = datetime.fromtimestamp(stamp, UTC).replace(tzinfo=None)
    return when if when.year >= 2000 else _now()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def read_head(file: InputFile, size: int = 1 << 16) -> bytes:
    """The first `size` bytes of the (decompressed) content."""
    with file.open() as fh:
        return fh.read(size)


__all__ = ["Discovery", "InputFile", "Limits", "TolerantStream", "read_head", "strip_suffixes"]


def bundle_host(paths: list[str]) -> str | None:
    """The host of a single node bundle folder: its name, else None (DESIGN's host rule applies).

    A single folder holding files directly at its top level (`node017/dmesg.log`, not only
    sub-folders or archives) is one node's bundle, named after the folder. A folder holding
    only folders or archives is a fleet, one host per entry. Archives and files need nothing
    here: an archive given alone is already one host named after it.
    """
    if len(paths) != 1:
        return None
    root = Path(paths[0])
    if not root.is_dir():
        return None
    try:
        entries = list(root.iterdir())
    except OSError:
        return None
    loose = [
        e
        for e in entries
        if not e.name.startswith(".") and e.is_file() and not e.name.lower().endswith(ARCHIVE_SUFFIXES)
    ]
    return strip_suffixes(root.resolve().name) if loose else None
