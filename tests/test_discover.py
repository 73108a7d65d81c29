"""Discovery: folders, archives (nested), compressed files, host attribution and hostile archives."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import tarfile
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from triage.discover import Discovery, InputFile, Limits, read_head, strip_suffixes
from triage.errors import TriageError

DMESG = (
    b"[    0.000000] Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) #45-Ubuntu SMP\n"
    b"[ 4182.123456] NVRM: Xid (PCI:0000:3b:00): 48, pid=1234, name=python3, An uncorrectable double bit error "
    b"(DBE) has been detected on GPU in the framebuffer at partition 4, subpartition 1.\n"
)
KERN_LOG = (
    b"Nov 20 01:09:42 node018 kernel: [ 4182.123456] NVRM: Xid (PCI:0000:3b:00): 79, pid=0, "
    b"GPU has fallen off the bus.\n"
)


def make_tar(path: Path, members: dict[str, bytes], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_795_000_000
            tf.addfile(info, io.BytesIO(data))
    return path


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def listing(paths: list[str], **kwargs: object) -> list[InputFile]:
    """The files discovery lists; archive members are gone once this returns (the folder is closed)."""
    with Discovery(paths, **kwargs) as discovery:  # type: ignore[arg-type]
        return list(discovery.files())


def rel(files: list[InputFile], root: Path) -> list[tuple[str, str | None]]:
    """(display path relative to `root`, host) of every file, sorted."""
    return sorted((f.path.removeprefix(f"{root}/"), f.host) for f in files)


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Unpack archives under tmp_path/scratch, so an escape would land in tmp_path or above."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# -- host attribution -----------------------------------------------------------------------


def test_folder_root_host_is_first_component_folder_or_archive(inputs: Path) -> None:
    fleet = inputs / "fleet"
    (fleet / "node017" / "var" / "log").mkdir(parents=True)
    (fleet / "node017" / "var" / "log" / "dmesg.log").write_bytes(DMESG)
    (fleet / "node017" / "nvidia-smi.txt").write_text("GPU 00000000:3B:00.0\n")
    make_tar(fleet / "node018.tar.gz", {"var/log/kern.log": KERN_LOG, "dmesg.txt": DMESG})
    with Discovery([str(fleet)]) as discovery:
        files = list(discovery.files())
        by_path = {f.path.removeprefix(f"{fleet}/"): f for f in files}
        assert Path(by_path["node018.tar.gz!var/log/kern.log"].disk_path).read_bytes() == KERN_LOG
    assert rel(files, fleet) == [
        ("node017/nvidia-smi.txt", "node017"),
        ("node017/var/log/dmesg.log", "node017"),
        ("node018.tar.gz!dmesg.txt", "node018"),
        ("node018.tar.gz!var/log/kern.log", "node018"),
    ]
    assert all(f.error is None for f in files)
    assert by_path["node017/var/log/dmesg.log"].disk_path == str(fleet / "node017" / "var" / "log" / "dmesg.log")
    assert by_path["node017/var/log/dmesg.log"].size == len(DMESG)


def test_file_directly_in_root_is_named_by_content_later(inputs: Path) -> None:
    (inputs / "node031-dmesg.log").write_bytes(DMESG)
    (inputs / "node032").mkdir()
    (inputs / "node032" / "dmesg.log").write_bytes(DMESG)
    files = {f.path.removeprefix(f"{inputs}/"): f for f in listing([str(inputs)])}
    loose = files["node031-dmesg.log"]
    assert loose.host is None
    assert loose.name_host == "node031-dmesg"
    assert files["node032/dmesg.log"].host == "node032"


def test_file_given_directly_has_no_host_yet(inputs: Path) -> None:
    path = inputs / "kern.log"
    path.write_bytes(KERN_LOG)
    [file] = listing([str(path)])
    assert (file.path, file.host, file.name_host, file.compression, file.error) == (str(path), None, "kern", None, None)


def test_host_option_wins_everywhere(inputs: Path) -> None:
    (inputs / "node017").mkdir()
    (inputs / "node017" / "dmesg.log").write_bytes(DMESG)
    make_tar(inputs / "node018.tar.gz", {"node018/dmesg.log": DMESG, "node019/dmesg.log": DMESG})
    (inputs / "loose.log").write_bytes(DMESG)
    files = listing([str(inputs)], host="forced")
    assert len(files) == 4
    assert {f.host for f in files} == {"forced"}


def test_archive_given_directly_is_one_host(inputs: Path) -> None:
    archive = make_tar(inputs / "node018.tar.gz", {"node018/var/log/kern.log": KERN_LOG, "node018/dmesg.log": DMESG})
    assert rel(listing([str(archive)]), inputs) == [
        ("node018.tar.gz!node018/dmesg.log", "node018"),
        ("node018.tar.gz!node018/var/log/kern.log", "node018"),
    ]


def test_archive_with_two_top_folders_is_one_host_per_folder(inputs: Path) -> None:
    archive = make_tar(
        inputs / "rack12.tgz",
        {"node021/dmesg.log": DMESG, "node021/var/log/kern.log": KERN_LOG, "node022/dmesg.log": DMESG},
    )
    assert rel(listing([str(archive)]), inputs) == [
        ("rack12.tgz!node021/dmesg.log", "node021"),
        ("rack12.tgz!node021/var/log/kern.log", "node021"),
        ("rack12.tgz!node022/dmesg.log", "node022"),
    ]


def test_archive_with_two_folders_and_a_loose_file_is_one_host(inputs: Path) -> None:
    archive = zip_bytes({"node021/dmesg.log": DMESG, "node022/dmesg.log": DMESG, "README.txt": b"collected\n"})
    (inputs / "rack12.zip").write_bytes(archive)
    assert {f.host for f in listing([str(inputs / "rack12.zip")])} == {"rack12"}


def test_nested_archives_use_bang_paths(inputs: Path) -> None:
    (inputs / "node019").mkdir()
    inner = zip_bytes({"gpu/dmesg.txt": DMESG})
    make_tar(inputs / "node019" / "bundle.tar.gz", {"logs/kern.log": KERN_LOG, "diag.zip": inner})
    with Discovery([str(inputs)]) as discovery:
        files = list(discovery.files())
        nested = next(f for f in files if f.path.endswith("!gpu/dmesg.txt"))
        assert read_head(nested) == DMESG
    assert rel(files, inputs) == [
        ("node019/bundle.tar.gz!diag.zip!gpu/dmesg.txt", "node019"),
        ("node019/bundle.tar.gz!logs/kern.log", "node019"),
    ]
    assert nested.name_host == "dmesg"


@pytest.mark.parametrize(
    ("suffix", "compress", "compression"),
    [
        pytest.param(".gz", gzip.compress, "gzip", id="gzip"),
        pytest.param(".bz2", bz2.compress, "bzip2", id="bzip2"),
        pytest.param(".xz", lzma.compress, "xz", id="xz"),
    ],
)
def test_single_compressed_file_is_listed_and_readable(inputs: Path, suffix: str, compress, compression: str) -> None:
    (inputs / "node020").mkdir()
    path = inputs / "node020" / f"kern.log{suffix}"
    path.write_bytes(compress(KERN_LOG * 3))
    [file] = listing([str(inputs)])
    assert (file.path, file.host, file.name_host, file.compression) == (str(path), "node020", "kern", compression)
    assert file.size == path.stat().st_size
    with file.open() as stream:
        assert stream.read() == KERN_LOG * 3
        assert stream.truncated is False


def test_gzip_named_without_suffix_is_recognised_by_content(inputs: Path) -> None:
    path = inputs / "dmesg.log"
    path.write_bytes(gzip.compress(DMESG))
    [file] = listing([str(path)])
    assert file.compression == "gzip"
    assert read_head(file) == DMESG


def test_truncated_gzip_reads_to_the_cut(inputs: Path) -> None:
    whole = gzip.compress(DMESG * 50)
    path = inputs / "dmesg.log.gz"
    path.write_bytes(whole[: len(whole) - 20])  # the trailer (CRC, size) and some data are gone
    [file] = listing([str(path)])
    with file.open() as stream:
        data = stream.read(1 << 16)
        assert stream.read(1 << 16) == b""
        assert stream.truncated is True
    assert (DMESG * 50).startswith(data)


def test_file_mtime_is_the_reference_time(inputs: Path) -> None:
    path = inputs / "kern.log"
    path.write_bytes(KERN_LOG)
    stamp = datetime(2026, 11, 18, 20, 0, tzinfo=UTC).timestamp()
    os.utime(path, (stamp, stamp))
    [file] = listing([str(path)])
    assert file.mtime.isoformat() == "2026-11-18T20:00:00"


def test_missing_path_raises_naming_it(inputs: Path) -> None:
    (inputs / "dmesg.log").write_bytes(DMESG)
    missing = inputs / "node404.tar.gz"
    with pytest.raises(TriageError) as info:
        listing([str(inputs / "dmesg.log"), str(missing)])
    assert str(info.value) == f"{missing}: no such file or directory"


def test_temporary_folder_is_removed_after_close(inputs: Path, scratch: Path) -> None:
    archive = make_tar(inputs / "node018.tar.gz", {"dmesg.log": DMESG})
    with Discovery([str(archive)]) as discovery:
        [file] = list(discovery.files())
        unpacked = Path(file.disk_path)
        assert unpacked.read_bytes() == DMESG
        assert scratch in unpacked.parents
    assert not unpacked.exists()
    assert list(scratch.iterdir()) == []


def test_archive_without_regular_members_then_another_archive(inputs: Path) -> None:
    """A tar of an empty folder yields nothing and must not disturb the next archive."""
    with tarfile.open(inputs / "node030.tar.gz", "w:gz") as tf:
        info = tarfile.TarInfo("node030/var/log")
        info.type = tarfile.DIRTYPE
        tf.addfile(info)
    make_tar(inputs / "node031.tar.gz", {"dmesg.log": DMESG})
    files = listing([str(inputs / "node030.tar.gz"), str(inputs / "node031.tar.gz")])
    listed = rel(files, inputs)
    assert [entry for entry in listed if entry[0].startswith("node031")] == [("node031.tar.gz!dmesg.log", "node031")]
    # the empty archive lists nothing, or at most an error entry saying it is empty
    assert all(f.error for f in files if f.path.startswith(f"{inputs}/node030"))


# -- hostile and oversized archives ---------------------------------------------------------


def snapshot(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("container", [pytest.param("tar", id="tar"), pytest.param("zip", id="zip")])
@pytest.mark.parametrize("escape", [pytest.param("dotdot", id="dotdot"), pytest.param("absolute", id="absolute")])
def test_member_paths_outside_the_archive_are_refused(
    tmp_path: Path, inputs: Path, scratch: Path, container: str, escape: str
) -> None:
    evil_name = f"{tmp_path.name}-{container}-{escape}-evil"
    # scratch/triage-*/00000000-0/ is four levels below tmp_path.parent
    member = f"../../../../{evil_name}" if escape == "dotdot" else str(tmp_path.parent / evil_name)
    members = {"dmesg.log": DMESG, member: b"pwned\n"}
    if container == "tar":
        archive = make_tar(inputs / "node066.tar.gz", members)
    else:
        archive = inputs / "node066.zip"
        archive.write_bytes(zip_bytes(members))
    before = snapshot(tmp_path.parent)
    files = listing([str(archive)])
    assert len(files) == 1
    [file] = files
    assert file.path == str(archive)
    assert file.host == "node066"
    assert file.error is not None
    assert "refusing archive member outside the archive" in file.error
    assert evil_name in file.error
    assert not (tmp_path.parent / evil_name).exists()
    assert snapshot(tmp_path.parent) == before
    assert list(scratch.iterdir()) == []  # cleaned up after close


@pytest.mark.parametrize(
    "link_type", [pytest.param(tarfile.SYMTYPE, id="symlink"), pytest.param(tarfile.LNKTYPE, id="hardlink")]
)
def test_link_members_are_refused_with_an_error(tmp_path: Path, inputs: Path, scratch: Path, link_type: bytes) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-link-target"
    archive = inputs / "node067.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        link = tarfile.TarInfo("escape")
        link.type = link_type
        link.linkname = str(outside)
        tf.addfile(link)
        for name, data in {"escape/pwned.txt": b"pwned\n", "dmesg.log": DMESG}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    before = snapshot(tmp_path.parent)
    files = listing([str(archive)])
    errors = [f.error for f in files if f.error]
    assert errors, f"link member silently skipped: {[f.path for f in files]}"
    assert any("link" in e and "escape" in e for e in errors), errors
    assert not outside.exists()
    assert snapshot(tmp_path.parent) == before


@pytest.mark.parametrize("container", [pytest.param("tar", id="tar"), pytest.param("zip", id="zip")])
def test_member_count_limit_gives_an_error_file(inputs: Path, scratch: Path, container: str) -> None:
    members = {f"node070/gpu{i}.log": DMESG for i in range(5)}
    if container == "tar":
        archive = make_tar(inputs / "node070.tar.gz", members)
    else:
        archive = inputs / "node070.zip"
        archive.write_bytes(zip_bytes(members))
    [file] = listing([str(archive)], limits=Limits(max_members=3))
    assert (file.path, file.host, file.error) == (str(archive), "node070", "archive has more than 3 members")
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize("container", [pytest.param("tar", id="tar"), pytest.param("zip", id="zip")])
def test_unpacked_size_limit_gives_an_error_file(inputs: Path, scratch: Path, container: str) -> None:
    members = {"dmesg.log": DMESG * 20}  # ~5 KB, compresses to little
    if container == "tar":
        archive = make_tar(inputs / "node071.tar.gz", members)
    else:
        archive = inputs / "node071.zip"
        archive.write_bytes(zip_bytes(members))
    assert archive.stat().st_size < 1000
    [file] = listing([str(archive)], limits=Limits(max_unpacked_bytes=1000))
    assert (file.path, file.host, file.error) == (str(archive), "node071", "archive unpacks to more than 1000 bytes")


def test_nesting_depth_limit_gives_an_error_file(inputs: Path, scratch: Path) -> None:
    inner = zip_bytes({"dmesg.log": DMESG})
    archive = make_tar(inputs / "node072.tar.gz", {"kern.log": KERN_LOG, "inner.zip": inner})
    files = listing([str(archive)], limits=Limits(max_depth=1))
    assert sorted((f.path.removeprefix(f"{inputs}/"), f.error) for f in files) == [
        ("node072.tar.gz!inner.zip", "archive nested deeper than 1"),
        ("node072.tar.gz!kern.log", None),
    ]


def test_damaged_archive_gives_an_error_file(inputs: Path) -> None:
    whole = zip_bytes({"dmesg.log": DMESG * 200})
    archive = inputs / "node073.zip"
    archive.write_bytes(whole[: len(whole) // 2])
    [file] = listing([str(archive)])
    assert file.path == str(archive)
    assert file.error is not None
    assert file.error.startswith("damaged archive: ")


def test_damaged_archive_inside_a_folder_keeps_its_neighbours(inputs: Path) -> None:
    (inputs / "node074").mkdir()
    whole = make_tar(inputs / "whole.tar.gz", {"dmesg.log": DMESG * 200}).read_bytes()
    (inputs / "whole.tar.gz").unlink()
    (inputs / "node074" / "bundle.tar.gz").write_bytes(whole[:40])
    (inputs / "node074" / "kern.log").write_bytes(KERN_LOG)
    files = {f.path.removeprefix(f"{inputs}/"): f for f in listing([str(inputs)])}
    assert set(files) == {"node074/bundle.tar.gz", "node074/kern.log"}
    assert files["node074/kern.log"].error is None
    assert files["node074/bundle.tar.gz"].host == "node074"


# -- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("node017.tar.gz", "node017", id="tar_gz"),
        pytest.param("node017.tgz", "node017", id="tgz"),
        pytest.param("node017.tar", "node017", id="tar"),
        pytest.param("node017.zip", "node017", id="zip"),
        pytest.param("NODE017.TAR.GZ", "NODE017", id="upper_case_suffix"),
        pytest.param("nvidia-bug-report.log.gz", "nvidia-bug-report", id="compressed_log"),
        pytest.param("dmesg.log", "dmesg", id="one_extension"),
        pytest.param("node017", "node017", id="no_extension"),
        pytest.param("kern.log.1", "kern.log.1", id="rotated_number_kept"),
        pytest.param("10.0.0.5", "10.0.0.5", id="ip_address_kept"),
        pytest.param(".gz", ".gz", id="only_a_suffix"),
    ],
)
def test_strip_suffixes(name: str, expected: str) -> None:
    assert strip_suffixes(name) == expected


# -- sysfs trees ------------------------------------------------------------------------------

SYSFS = {
    "mlx5_0/fw_ver": b"28.41.1000\n",
    "mlx5_0/ports/1/state": b"4: ACTIVE\n",
    "mlx5_0/ports/1/counters/link_downed": b"255\n",
    "mlx5_0/ports/1/hw_counters/out_of_buffer": b"0\n",
    "mlx5_0/ports/1/gid_attrs/types/0": b"IB/RoCE v1\nsecond line\n",
    "mlx5_1/ports/1/counters/symbol_error": b"3\n",
}


def write_tree(root: Path, members: dict[str, bytes]) -> None:
    for name, data in members.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def flat(file: InputFile) -> str:
    with file.open() as fh:
        return fh.read().decode()


FLAT = (
    "./mlx5_0/fw_ver:28.41.1000\n"
    "./mlx5_0/ports/1/counters/link_downed:255\n"
    "./mlx5_0/ports/1/hw_counters/out_of_buffer:0\n"
    "./mlx5_0/ports/1/state:4: ACTIVE\n"
    "./mlx5_1/ports/1/counters/symbol_error:3\n"
)


def test_sysfs_tree_under_a_host_folder_is_one_flat_dump(inputs: Path) -> None:
    write_tree(inputs / "node3" / "sys" / "class" / "infiniband", SYSFS)
    (inputs / "node3" / "dmesg.log").write_bytes(DMESG)
    with Discovery([str(inputs)]) as discovery:
        files = list(discovery.files())
        assert rel(files, inputs) == [("node3/dmesg.log", "node3"), ("node3/sys/class/infiniband", "node3")]
        assert flat(files[1]) == FLAT  # one-value files only: the multi-line gid file is left out


def test_sysfs_tree_given_as_the_root(inputs: Path) -> None:
    write_tree(inputs, SYSFS)
    with Discovery([str(inputs)]) as discovery:
        (file,) = discovery.files()
        assert (file.path, file.host, file.name_host) == (str(inputs), None, "in")
        assert flat(file) == FLAT


def test_sysfs_tree_inside_an_archive(inputs: Path) -> None:
    archive = make_tar(inputs / "node9.tar.gz", {f"infiniband/{k}": v for k, v in SYSFS.items()})
    with Discovery([str(archive)]) as discovery:
        (file,) = discovery.files()
        assert (file.path, file.host) == (f"{archive}!infiniband", "node9")
        assert flat(file) == FLAT
