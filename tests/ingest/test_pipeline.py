"""Ingest end to end on a real DuckDB file: every line lands, bad files are recorded, nothing is half-written."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import random
import tarfile
import zipfile
import zlib
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from triage.discover import InputFile
from triage.ingest import IngestOptions, ingest
from triage.sources.lines import MAX_LINE_BYTES
from triage.store import Store

XID_48 = (
    "NVRM: Xid (PCI:0000:3b:00): 48, pid=1234, name=python3, An uncorrectable double bit error (DBE) has been "
    "detected on GPU in the framebuffer at partition 4, subpartition 1."
)
DMESG_LINES = [
    "[    0.000000] Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) #45-Ubuntu SMP PREEMPT_DYNAMIC",
    "[    1.204211] pci 0000:3b:00.0: [10de:2330] type 00 class 0x030200",
    "",
    "[   12.500000] nvidia-nvlink: Nvlink Core is being initialized, major device number 510",
    "  continuation line without a stamp",
    f"[ 4182.123456] {XID_48}",
    "[ 4182.123500] NVRM: GPU at PCI:0000:3b:00: GPU-5b1c1c0e-1a2b-3c4d-5e6f-7a8b9c0d1e2f",
]
DMESG = ("\n".join(DMESG_LINES) + "\n").encode()
DMESG_MESSAGES = [
    "Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) #45-Ubuntu SMP PREEMPT_DYNAMIC",
    "pci 0000:3b:00.0: [10de:2330] type 00 class 0x030200",
    "",
    "nvidia-nvlink: Nvlink Core is being initialized, major device number 510",
    "  continuation line without a stamp",
    XID_48,
    "NVRM: GPU at PCI:0000:3b:00: GPU-5b1c1c0e-1a2b-3c4d-5e6f-7a8b9c0d1e2f",
]
SMI_LINES = [
    "==============NVSMI LOG==============",
    "",
    "Timestamp                                 : Fri Nov 20 10:00:00 2026",
    "Driver Version                            : 550.54.15",
    "",
    "GPU 00000000:3B:00.0",
    "    Product Name                          : NVIDIA H100 80GB HBM3",
    "    Serial Number                         : 1654321098765",
]
SMI = ("\n".join(SMI_LINES) + "\n").encode()


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def file_row(store: Store, path: Path | str) -> dict[str, object]:
    rows = store.frame("SELECT * FROM files WHERE path = ?", [str(path)]).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


def lines_of(store: Store, path: Path | str) -> list[tuple[int, str]]:
    return store.frame(
        "SELECT e.line_no, e.message FROM events e JOIN files f USING (file_id) WHERE f.path = ? ORDER BY e.line_no",
        [str(path)],
    ).rows()


def counts(store: Store) -> tuple[int, int]:
    return store.count("files"), store.count("events")


# -- every line lands ---------------------------------------------------------------------


def test_every_line_lands_with_exact_line_numbers(store: Store, inputs: Path) -> None:
    dmesg = write(inputs / "node017" / "dmesg.log", DMESG)
    smi = write(inputs / "node017" / "nvidia-smi-q.txt", SMI)
    summary = ingest(store, [str(inputs)])
    assert [(f.path, f.status) for f in summary.files] == [(str(dmesg), "ok"), (str(smi), "ok")]
    assert lines_of(store, dmesg) == list(enumerate(DMESG_MESSAGES, start=1))
    assert lines_of(store, smi) == list(enumerate(SMI_LINES, start=1))
    assert store.count("events") == len(DMESG_LINES) + len(SMI_LINES)
    assert set(store.frame("SELECT DISTINCT host FROM events")["host"]) == {"node017"}


def test_files_row_describes_the_file(store: Store, inputs: Path) -> None:
    path = write(inputs / "node017" / "dmesg.log", DMESG)
    ingest(store, [str(inputs)])
    row = file_row(store, path)
    ingested_at = row.pop("ingested_at")
    assert isinstance(ingested_at, datetime)
    assert row == {
        "file_id": 1,
        "path": str(path),
        "host": "node017",
        "kind": "kernel_log",
        "format": "dmesg",
        "sha256": hashlib.sha256(DMESG).hexdigest(),
        "bytes": len(DMESG),
        "lines": len(DMESG_LINES),
        "status": "ok",
        "error": None,
        "note": None,
    }


def test_compressed_file_row_describes_the_decompressed_content(store: Store, inputs: Path) -> None:
    path = write(inputs / "node017" / "dmesg.log.gz", gzip.compress(DMESG))
    ingest(store, [str(inputs)])
    row = file_row(store, path)
    assert (row["sha256"], row["bytes"], row["lines"], row["status"]) == (
        hashlib.sha256(DMESG).hexdigest(),
        len(DMESG),
        len(DMESG_LINES),
        "ok",
    )
    assert lines_of(store, path) == list(enumerate(DMESG_MESSAGES, start=1))


def test_archive_members_land_under_bang_paths_and_folder_hosts(store: Store, inputs: Path) -> None:
    archive = inputs / "rack12.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        for name, data in {"node021/dmesg.log": DMESG, "node022/nvidia-smi.txt": SMI}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    summary = ingest(store, [str(archive)])
    assert summary.hosts == ["node021", "node022"]
    assert store.frame("SELECT path, host FROM files ORDER BY path").rows() == [
        (f"{archive}!node021/dmesg.log", "node021"),
        (f"{archive}!node022/nvidia-smi.txt", "node022"),
    ]
    assert lines_of(store, f"{archive}!node022/nvidia-smi.txt") == list(enumerate(SMI_LINES, start=1))


def test_summary_totals(store: Store, inputs: Path) -> None:
    write(inputs / "node017" / "dmesg.log", DMESG)
    write(inputs / "node018" / "nvidia-smi.txt", SMI)
    write(inputs / "node018" / "empty.log", b"")
    summary = ingest(store, [str(inputs)])
    data = summary.as_dict()
    assert set(data) == {
        "files",
        "ingested",
        "unchanged",
        "errors",
        "hosts",
        "lines",
        "rows",
        "bytes",
        "seconds",
        "mb_per_s",
    }
    assert (data["files"], data["ingested"], data["unchanged"]) == (3, 2, 0)
    assert data["errors"] == [{"path": str(inputs / "node018" / "empty.log"), "error": "empty file"}]
    assert data["hosts"] == ["node017", "node018"]
    assert (data["lines"], data["bytes"]) == (len(DMESG_LINES) + len(SMI_LINES), len(DMESG) + len(SMI))
    assert isinstance(data["seconds"], float)
    assert isinstance(data["mb_per_s"], float)


# -- duplicates -----------------------------------------------------------------------------


def test_reingesting_the_same_file_adds_nothing(store: Store, inputs: Path) -> None:
    write(inputs / "node017" / "dmesg.log", DMESG)
    first = ingest(store, [str(inputs)])
    before = counts(store)
    second = ingest(store, [str(inputs)])
    assert [f.status for f in first.files] == ["ok"]
    assert [(f.status, f.host, f.kind) for f in second.files] == [("unchanged", "node017", "kernel_log")]
    assert (second.ingested, second.unchanged, second.lines) == (0, 1, 0)
    assert counts(store) == before == (1, len(DMESG_LINES))


def test_same_content_under_another_name_of_the_same_host_adds_nothing(store: Store, inputs: Path) -> None:
    write(inputs / "node017" / "dmesg.log", DMESG)
    write(inputs / "node017" / "dmesg.log.1", DMESG)
    summary = ingest(store, [str(inputs)])
    assert sorted(f.status for f in summary.files) == ["ok", "unchanged"]
    assert counts(store) == (1, len(DMESG_LINES))


def test_same_content_under_two_hosts_lands_twice(store: Store, inputs: Path) -> None:
    write(inputs / "node017" / "dmesg.log", DMESG)
    write(inputs / "node018" / "dmesg.log", DMESG)
    summary = ingest(store, [str(inputs)])
    assert [f.status for f in summary.files] == ["ok", "ok"]
    per_host = store.frame("SELECT host, count(*) AS n FROM events GROUP BY host ORDER BY host").rows()
    assert per_host == [("node017", len(DMESG_LINES)), ("node018", len(DMESG_LINES))]
    assert store.frame("SELECT count(DISTINCT sha256) AS n FROM files")["n"][0] == 1


# -- bad inputs -----------------------------------------------------------------------------


def damaged_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("dmesg.log", DMESG * 500)
    whole = buf.getvalue()
    return whole[: len(whole) // 2]


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        pytest.param("empty.log", b"", "empty file", id="empty"),
        pytest.param("random.bin", random.Random(7).randbytes(8192), "binary file (not text)", id="random_bytes"),
        pytest.param(
            "nvidia-smi",
            b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x03\x00\x3e\x00\x01\x00\x00\x00" + bytes(400) + b"GLIBC_2.34",
            "binary file (not text)",
            id="elf_executable",
        ),
        pytest.param("zeros.log", bytes(4096), "binary file (not text)", id="only_nul_bytes"),
        pytest.param("bundle.zip", damaged_zip(), "damaged archive: File is not a zip file", id="damaged_zip"),
    ],
)
def test_bad_input_gets_an_error_row_and_earlier_files_stay(
    store: Store, inputs: Path, name: str, data: bytes, error: str
) -> None:
    good = write(inputs / "node017" / "dmesg.log", DMESG)
    ingest(store, [str(good)], IngestOptions(host="node017"))
    bad = write(inputs / "node017" / name, data)
    summary = ingest(store, [str(bad)], IngestOptions(host="node017"))
    assert [(f.path, f.status, f.error) for f in summary.files] == [(str(bad), "error", error)]
    row = file_row(store, bad)
    assert (row["host"], row["status"], row["error"], row["lines"]) == ("node017", "error", error, None)
    assert lines_of(store, bad) == []
    assert file_row(store, good)["status"] == "ok"
    assert lines_of(store, good) == list(enumerate(DMESG_MESSAGES, start=1))


def test_invalid_utf8_is_kept_with_a_note(store: Store, inputs: Path) -> None:
    data = (
        b"[    1.000000] NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.54.15\n"
        b"[    2.000000] mlx5_core 0000:0c:00.0: port name caf\xe9 \xff\xfe broken\n"
        b"[    3.000000] mlx5_core 0000:0c:00.0: Port module event: module 0, Cable plugged\n"
    )
    path = write(inputs / "node017" / "dmesg.log", data)
    summary = ingest(store, [str(inputs)])
    assert [(f.status, f.lines, f.note) for f in summary.files] == [("ok", 3, "invalid UTF-8 replaced with U+FFFD")]
    row = file_row(store, path)
    assert (row["status"], row["lines"], row["bytes"], row["note"]) == (
        "ok",
        3,
        len(data),
        "invalid UTF-8 replaced with U+FFFD",
    )
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert lines_of(store, path) == [
        (1, "NVRM: loading NVIDIA UNIX x86_64 Kernel Module  550.54.15"),
        (2, "mlx5_core 0000:0c:00.0: port name caf\ufffd \ufffd\ufffd broken"),
        (3, "mlx5_core 0000:0c:00.0: Port module event: module 0, Cable plugged"),
    ]


@pytest.mark.parametrize(
    ("length", "note", "kept"),
    [
        pytest.param(
            5 << 20,
            f"1 line(s) longer than {MAX_LINE_BYTES} bytes truncated",
            MAX_LINE_BYTES,
            id="5MiB_line_truncated",
        ),
        pytest.param(MAX_LINE_BYTES, None, MAX_LINE_BYTES, id="line_at_the_limit_kept_whole"),
        pytest.param(100_000, None, 100_000, id="long_line_below_limit"),
    ],
)
def test_very_long_single_line(store: Store, inputs: Path, length: int, note: str | None, kept: int) -> None:
    data = b"x" * length + b"\nafter the long line\n"
    path = write(inputs / "node017" / "blob.txt", data)
    summary = ingest(store, [str(inputs)])
    assert [(f.status, f.lines, f.bytes, f.note) for f in summary.files] == [("ok", 2, len(data), note)]
    got = store.frame("SELECT line_no, length(message) AS n, message[1:1] AS head FROM events ORDER BY line_no").rows()
    assert got == [(1, kept, "x"), (2, len("after the long line"), "a")]
    assert file_row(store, path)["note"] == note


def cut_gzip(head: bytes, tail: bytes) -> bytes:
    """A gzip stream of head + tail, cut right after `head` (a full flush makes the cut exact)."""
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    comp.compress(tail)
    comp.flush()
    return first


def test_truncated_gzip_keeps_the_lines_before_the_cut(store: Store, inputs: Path) -> None:
    head_lines = [f"[ {n:6d}.000000] NVRM: GPU 0000:3b:00.0: heartbeat {n}" for n in range(1, 51)]
    tail_lines = [f"[ {n:6d}.000000] NVRM: GPU 0000:3b:00.0: heartbeat {n}" for n in range(51, 101)]
    head = ("\n".join(head_lines) + "\n").encode()
    tail = ("\n".join(tail_lines) + "\n").encode()
    good = write(inputs / "node017" / "nvidia-smi.txt", SMI)
    ingest(store, [str(good)])
    path = write(inputs / "node017" / "kern.log.gz", cut_gzip(head, tail))
    expected_error = "truncated compressed file: kept the 50 lines before the cut"
    summary = ingest(store, [str(path)], IngestOptions(host="node017"))
    assert [(f.status, f.error) for f in summary.files] == [("error", expected_error)]
    row = file_row(store, path)
    assert (row["status"], row["error"], row["lines"]) == ("error", expected_error, 50)
    expected = [(n, f"NVRM: GPU 0000:3b:00.0: heartbeat {n}") for n in range(1, 51)]
    assert lines_of(store, path) == expected
    # a second attempt replaces the first: one files row, the lines once
    ingest(store, [str(path)], IngestOptions(host="node017"))
    assert file_row(store, path)["error"] == expected_error
    assert lines_of(store, path) == expected
    assert lines_of(store, good) == list(enumerate(SMI_LINES, start=1))


def test_reingesting_a_bad_file_replaces_its_error_row(store: Store, inputs: Path) -> None:
    path = write(inputs / "node017" / "dmesg.log", b"")
    ingest(store, [str(inputs)])
    ingest(store, [str(inputs)])
    rows = store.frame("SELECT status, error FROM files WHERE path = ?", [str(path)]).rows()
    assert rows == [("error", "empty file")]


def test_fixed_file_replaces_its_old_error_row(store: Store, inputs: Path) -> None:
    path = write(inputs / "node017" / "dmesg.log", b"")
    ingest(store, [str(inputs)])
    path.write_bytes(DMESG)
    summary = ingest(store, [str(inputs)])
    assert [f.status for f in summary.files] == ["ok"]
    rows = store.frame("SELECT status, error FROM files WHERE path = ?", [str(path)]).rows()
    assert rows == [("ok", None)]


def test_damaged_archive_in_a_folder_does_not_stop_the_rest(store: Store, inputs: Path) -> None:
    bad = write(inputs / "node017" / "bundle.zip", damaged_zip())
    good = write(inputs / "node017" / "dmesg.log", DMESG)
    summary = ingest(store, [str(inputs)])
    assert sorted((f.path, f.status) for f in summary.files) == [(str(bad), "error"), (str(good), "ok")]
    assert lines_of(store, good) == list(enumerate(DMESG_MESSAGES, start=1))


# -- a run that dies halfway ----------------------------------------------------------------


class Crash(Exception):
    pass


def test_run_dying_inside_a_file_leaves_the_store_as_before_that_file(store: Store, inputs: Path) -> None:
    first = write(inputs / "node017" / "dmesg.log", DMESG)
    second = write(inputs / "node017" / "nvidia-smi.txt", SMI)

    def progress(file: InputFile, read: int | None) -> None:
        # called after each batch of a file was appended, inside the file's transaction
        if file.path == str(second) and read is not None:
            raise Crash("power cut")

    with pytest.raises(Crash):
        ingest(store, [str(inputs)], progress=progress)
    assert store.frame("SELECT path, status FROM files").rows() == [(str(first), "ok")]
    assert lines_of(store, first) == list(enumerate(DMESG_MESSAGES, start=1))
    assert store.count("events") == len(DMESG_LINES)

    summary = ingest(store, [str(inputs)])  # the next run picks up where it died
    assert [f.status for f in summary.files] == ["unchanged", "ok"]
    assert lines_of(store, second) == list(enumerate(SMI_LINES, start=1))
    assert store.frame("SELECT path, status FROM files ORDER BY file_id").rows() == [
        (str(first), "ok"),
        (str(second), "ok"),
    ]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_in_a_folder_gets_an_error_row(store: Store, inputs: Path) -> None:
    good = write(inputs / "node017" / "dmesg.log", DMESG)
    locked = write(inputs / "node017" / "locked.log", DMESG.replace(b"python3", b"pytorch"))
    locked.chmod(0)
    try:
        summary = ingest(store, [str(inputs)])
    finally:
        locked.chmod(0o644)
    assert sorted((f.path, f.status) for f in summary.files) == [(str(good), "ok"), (str(locked), "error")]
    assert file_row(store, locked)["error"] == "permission denied"
    assert lines_of(store, locked) == []


# -- hosts and sources ----------------------------------------------------------------------


def test_file_given_directly_takes_its_host_from_syslog_content(store: Store, inputs: Path) -> None:
    path = write(
        inputs / "kern.log",
        f"Nov 20 01:09:42 node042 kernel: [ 4182.123456] {XID_48}\n"
        "Nov 20 01:10:00 node042 systemd[1]: Started nvidia-persistenced.service.\n".encode(),
    )
    summary = ingest(store, [str(path)])
    assert summary.hosts == ["node042"]
    assert file_row(store, path)["format"] == "syslog"


def test_file_given_directly_without_a_named_host_uses_its_file_name(store: Store, inputs: Path) -> None:
    path = write(inputs / "node043.log", DMESG)
    assert ingest(store, [str(path)]).hosts == ["node043"]


def test_host_option_wins_over_content(store: Store, inputs: Path) -> None:
    path = write(inputs / "kern.log", f"Nov 20 01:09:42 node042 kernel: [ 4182.123456] {XID_48}\n".encode())
    assert ingest(store, [str(path)], IngestOptions(host="node099")).hosts == ["node099"]
    assert set(store.frame("SELECT host FROM events")["host"]) == {"node099"}


RULE = "_" * 80
BUG_REPORT = f"""{RULE}

Start of NVIDIA bug report log file.  Please include this file, along
with a detailed description of your problem, when reporting a graphics
driver bug via the NVIDIA Linux forum (see forums.developer.nvidia.com)
or by sending email to 'linux-bugs@nvidia.com'.

nvidia-bug-report.sh Version: 35230296

Date: Fri Nov 20 10:00:00 UTC 2026
uname: Linux node42 6.8.0-45-generic #45-Ubuntu SMP PREEMPT_DYNAMIC Fri Aug 30 12:02:04 UTC 2024 x86_64 GNU/Linux
command line flags:

{RULE}

*** /proc/uptime
*** ls: -r--r--r-- 1 root root 0 2026-11-20 10:00:00.000000000 +0000 /proc/uptime
36000.00 280000.00

{RULE}

*** /proc/driver/nvidia/version
*** ls: -r--r--r-- 1 root root 0 2026-11-20 10:00:00.000000000 +0000 /proc/driver/nvidia/version
NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024

{RULE}

dmesg:

[    0.000000] Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) #45-Ubuntu SMP PREEMPT_DYNAMIC
[   12.500000] nvidia-nvlink: Nvlink Core is being initialized, major device number 510
[ 4182.123456] {XID_48}

{RULE}

*** /proc/meminfo
MemTotal:       2113389760 kB
"""


@pytest.mark.parametrize(
    ("name", "encode"),
    [
        pytest.param("nvidia-bug-report.log", lambda b: b, id="plain"),
        pytest.param("nvidia-bug-report.log.gz", gzip.compress, id="gzip"),
    ],
)
def test_nvidia_bug_report(store: Store, inputs: Path, name: str, encode) -> None:
    raw = BUG_REPORT.encode()
    path = write(inputs / name, encode(raw))
    summary = ingest(store, [str(path)])
    assert summary.hosts == ["node42"]
    row = file_row(store, path)
    assert (row["host"], row["kind"], row["format"], row["status"], row["lines"], row["bytes"]) == (
        "node42",
        "bug_report",
        "nvidia_bug_report",
        "ok",
        len(BUG_REPORT.splitlines()),
        len(raw),
    )
    ev = store.frame("SELECT line_no, ts, uptime_s, source, message FROM events ORDER BY line_no")
    assert ev["line_no"].to_list() == list(range(1, len(BUG_REPORT.splitlines()) + 1))
    kernel = ev.filter(pl.col("uptime_s").is_not_null()).select("ts", "uptime_s", "source", "message").rows()
    assert kernel == [
        (
            datetime(2026, 11, 20, 0, 0, 0),
            0.0,
            "kernel_log",
            "Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) #45-Ubuntu SMP PREEMPT_DYNAMIC",
        ),
        (
            datetime(2026, 11, 20, 0, 0, 12, 500000),
            12.5,
            "kernel_log",
            "nvidia-nvlink: Nvlink Core is being initialized, major device number 510",
        ),
        (datetime(2026, 11, 20, 1, 9, 42, 123456), 4182.123456, "kernel_log", XID_48),
    ]
    others = ev.filter(pl.col("uptime_s").is_null() & (pl.col("message").str.strip_chars() != ""))
    assert set(others["source"]) == {"bug_report"}
    assert others["ts"].null_count() == others.height
    assert "uname: Linux node42 6.8.0-45-generic" in others["message"].str.slice(0, 36).to_list()
    assert "MemTotal:       2113389760 kB" in others["message"].to_list()
    assert "36000.00 280000.00" in others["message"].to_list()
