"""The command line: exit codes, one-line errors, JSON summaries, query formats and export.

Most tests call `triage.cli.main` in-process (the same code the `triage` script runs) and read
what it printed; a few run `python -m triage` in a subprocess to cover the real entry point.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from importlib.metadata import version
from pathlib import Path

import duckdb
import polars as pl
import pytest

from triage.cli import main

XID_48 = (
    "NVRM: Xid (PCI:0000:3b:00): 48, pid=1234, name=python3, An uncorrectable double bit error (DBE) has been "
    "detected on GPU in the framebuffer at partition 4, subpartition 1."
)
DMESG = f"""[    0.000000] Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) #45-Ubuntu SMP
[   12.500000] nvidia-nvlink: Nvlink Core is being initialized, major device number 510
[ 4182.123456] {XID_48}
"""
SMI = """GPU 00000000:3B:00.0
    Product Name                          : NVIDIA H100 80GB HBM3
"""
SUMMARY_KEYS = {"files", "ingested", "unchanged", "errors", "hosts", "lines", "rows", "bytes", "seconds", "mb_per_s"}


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


@pytest.fixture(autouse=True)
def _no_db_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIAGE_DB", raising=False)


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]):
    """Run `triage ARGS` in-process with `main`'s exit semantics."""

    def call(*args: str) -> Result:
        with pytest.raises(SystemExit) as info:
            main(list(args))
        out, err = capsys.readouterr()
        code = info.value.code
        return Result(code if isinstance(code, int) else (0 if code is None else 1), out, err)

    return call


@pytest.fixture
def fleet(inputs: Path) -> Path:
    """Two hosts: node017 with a dmesg, node018 with nvidia-smi output."""
    (inputs / "node017").mkdir()
    (inputs / "node017" / "dmesg.log").write_text(DMESG)
    (inputs / "node018").mkdir()
    (inputs / "node018" / "nvidia-smi.txt").write_text(SMI)
    return inputs


@pytest.fixture
def filled_db(run, fleet: Path, db_path: Path) -> Path:
    result = run("ingest", str(fleet), "--db", str(db_path))
    assert result.code == 0, result.err
    return db_path


def subprocess_triage(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TRIAGE_DB"}
    return subprocess.run(
        [sys.executable, "-m", "triage", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


# -- ingest ---------------------------------------------------------------------------------


def test_ingest_prints_one_summary_line_and_exits_0(run, fleet: Path, db_path: Path) -> None:
    result = run("ingest", str(fleet), "--db", str(db_path))
    assert result.code == 0
    assert result.err == ""
    [line] = result.out.splitlines()
    assert line.startswith("ingested 2 file(s) from 2 host(s): 5 lines, 1 assets, 0.0 MB in ")
    assert line.endswith(f" into {db_path}")
    assert db_path.is_file()


def test_ingest_json_summary(run, fleet: Path, db_path: Path) -> None:
    first = run("ingest", str(fleet), "--db", str(db_path), "--json")
    assert first.code == 0
    assert first.err == ""
    data = json.loads(first.out)
    assert set(data) == SUMMARY_KEYS
    assert {k: data[k] for k in ("files", "ingested", "unchanged", "errors", "hosts", "lines", "bytes")} == {
        "files": 2,
        "ingested": 2,
        "unchanged": 0,
        "errors": [],
        "hosts": ["node017", "node018"],
        "lines": 5,
        "bytes": len(DMESG.encode()) + len(SMI.encode()),
    }
    assert isinstance(data["seconds"], float | int)
    assert isinstance(data["mb_per_s"], float | int)

    again = json.loads(run("ingest", str(fleet), "--db", str(db_path), "--json").out)
    assert (again["files"], again["ingested"], again["unchanged"], again["lines"]) == (2, 0, 2, 0)


def test_ingest_with_a_bad_file_exits_1_with_one_line_per_error(run, fleet: Path, db_path: Path) -> None:
    empty = fleet / "node018" / "empty.log"
    empty.write_bytes(b"")
    binary = fleet / "node017" / "core.bin"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00" + bytes(512))
    result = run("ingest", str(fleet), "--db", str(db_path), "--json")
    assert result.code == 1
    assert sorted(result.err_lines) == sorted(
        [f"error: {empty}: empty file", f"error: {binary}: binary file (not text)"]
    )
    data = json.loads(result.out)
    assert (data["files"], data["ingested"], data["lines"]) == (4, 2, 5)
    assert sorted(data["errors"], key=lambda e: e["path"]) == sorted(
        [{"path": str(empty), "error": "empty file"}, {"path": str(binary), "error": "binary file (not text)"}],
        key=lambda e: e["path"],
    )


def test_ingest_summary_line_counts_errors_and_unchanged(run, fleet: Path, db_path: Path) -> None:
    run("ingest", str(fleet), "--db", str(db_path))
    (fleet / "node018" / "empty.log").write_bytes(b"")
    result = run("ingest", str(fleet), "--db", str(db_path))
    assert result.code == 1
    assert result.out.startswith("ingested 0 file(s) (2 unchanged, 1 with errors) from 0 host(s): 0 lines")


def test_ingest_notes_go_to_stderr_and_exit_0(run, inputs: Path, db_path: Path) -> None:
    path = inputs / "node017" / "dmesg.log"
    path.parent.mkdir()
    path.write_bytes(b"[    1.000000] NVRM: caf\xe9 \xff\n[    2.000000] ok\n")
    result = run("ingest", str(inputs), "--db", str(db_path))
    assert result.code == 0
    assert result.err_lines == [f"note: {path}: invalid UTF-8 replaced with U+FFFD"]


@pytest.mark.parametrize(
    ("boot_time", "expected"),
    [
        pytest.param("2026-11-20T03:00:00Z", datetime(2026, 11, 20, 4, 9, 42, 123456), id="utc_z"),
        pytest.param("2026-11-20T04:00:00+01:00", datetime(2026, 11, 20, 4, 9, 42, 123456), id="with_offset"),
        pytest.param("2026-11-20T03:00:00", datetime(2026, 11, 20, 4, 9, 42, 123456), id="naive_is_utc"),
    ],
)
def test_ingest_boot_time_dates_raw_dmesg(run, fleet: Path, db_path: Path, boot_time: str, expected: datetime) -> None:
    dmesg = fleet / "node017" / "dmesg.log"
    result = run("ingest", str(dmesg), "--db", str(db_path), "--host", "node017", "--boot-time", boot_time)
    assert result.code == 0, result.err
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        got = con.execute("SELECT ts FROM events WHERE line_no = 3").fetchall()
    finally:
        con.close()
    assert got == [(expected,)]


def test_ingest_uses_triage_db_from_the_environment(
    run, fleet: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "from-env.duckdb"
    monkeypatch.setenv("TRIAGE_DB", str(target))
    assert run("ingest", str(fleet)).code == 0
    assert target.is_file()


# -- user errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(["ingest", "{tmp}/node404.tar.gz", "--db", "{db}"], "{tmp}/node404.tar.gz", id="missing_path"),
        pytest.param(
            ["ingest", "{tmp}/in", "--db", "{db}", "--boot-time", "yesterday-ish"], "yesterday-ish", id="bad_boot_time"
        ),
        pytest.param(
            ["ingest", "{tmp}/in", "--db", "{db}", "--timezone", "Mars/Olympus"], "Mars/Olympus", id="unknown_timezone"
        ),
        pytest.param(["query", "SELECT 1", "--db", "{tmp}/none.duckdb"], "{tmp}/none.duckdb", id="query_missing_db"),
        pytest.param(["query", "DELETE FROM events", "--db", "{db}"], "DELETE", id="query_write_statement"),
        pytest.param(["query", "DROP TABLE files", "--db", "{db}"], "DROP", id="query_drop"),
        pytest.param(["query", "SELEC 1", "--db", "{db}"], "Parser Error", id="query_syntax_error"),
        pytest.param(["query", "SELECT 1", "--db", "{tmp}"], "is a directory", id="query_db_is_a_folder"),
        pytest.param(
            ["export", "--parquet", "{tmp}/out", "--db", "{tmp}/none.duckdb"],
            "{tmp}/none.duckdb",
            id="export_missing_db",
        ),
    ],
)
def test_user_errors_exit_1_with_one_line(
    run, fleet: Path, filled_db: Path, tmp_path: Path, args: list[str], needle: str
) -> None:
    def fill(text: str) -> str:
        return text.replace("{tmp}", str(tmp_path)).replace("{db}", str(filled_db))

    result = run(*[fill(a) for a in args])
    assert result.code == 1
    assert len(result.err_lines) == 1, result.err
    assert fill(needle) in result.err_lines[0]
    assert "Traceback" not in result.err
    assert result.out == ""


def test_refused_write_leaves_the_store_unchanged(run, filled_db: Path) -> None:
    assert run("query", "DELETE FROM events", "--db", str(filled_db)).code == 1
    result = run("query", "SELECT count(*) AS n FROM events", "--db", str(filled_db), "--format", "json")
    assert json.loads(result.out) == [{"n": 5}]


def test_query_cannot_write_a_file_through_explain_analyze(run, filled_db: Path, tmp_path: Path) -> None:
    leak = tmp_path / "leak.csv"
    result = run("query", f"EXPLAIN ANALYZE COPY events TO '{leak}'", "--db", str(filled_db))
    assert result.code == 1
    assert len(result.err_lines) == 1, result.err
    assert not leak.exists()


# -- query ----------------------------------------------------------------------------------

SQL = "SELECT host, line_no, ts, message FROM events WHERE host = 'node017' ORDER BY line_no"


def test_query_json(run, filled_db: Path) -> None:
    result = run("query", SQL, "--db", str(filled_db), "--format", "json")
    assert result.code == 0
    assert result.err == ""
    assert json.loads(result.out) == [
        {
            "host": "node017",
            "line_no": 1,
            "ts": None,
            "message": "Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) #45-Ubuntu SMP",
        },
        {
            "host": "node017",
            "line_no": 2,
            "ts": None,
            "message": "nvidia-nvlink: Nvlink Core is being initialized, major device number 510",
        },
        {"host": "node017", "line_no": 3, "ts": None, "message": XID_48},
    ]


def test_query_csv(run, filled_db: Path) -> None:
    result = run("query", SQL, "--db", str(filled_db), "--format", "csv")
    assert result.code == 0
    assert list(csv.reader(io.StringIO(result.out))) == [
        ["host", "line_no", "ts", "message"],
        ["node017", "1", "", "Linux version 6.8.0-45-generic (buildd@lcy02-amd64-075) #45-Ubuntu SMP"],
        ["node017", "2", "", "nvidia-nvlink: Nvlink Core is being initialized, major device number 510"],
        ["node017", "3", "", XID_48],
    ]


def test_query_csv_flattens_lists_to_json(run, filled_db: Path) -> None:
    sql = "SELECT ['xid-48', 'xid-63'] AS related, {'file_id': 1, 'line_no': 3} AS ref"
    result = run("query", sql, "--db", str(filled_db), "--format", "csv")
    assert result.code == 0
    assert list(csv.reader(io.StringIO(result.out))) == [
        ["related", "ref"],
        ['["xid-48", "xid-63"]', '{"file_id": 1, "line_no": 3}'],
    ]


def test_query_table(run, filled_db: Path) -> None:
    result = run("query", "SELECT host, count(*) AS n FROM events GROUP BY host ORDER BY host", "--db", str(filled_db))
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[-1] == "2 row(s)"
    body = "\n".join(lines[:-1])
    for cell in ("host", "n", "node017", "node018", "3", "2"):
        assert cell in body
    row = next(line for line in lines if "node017" in line)
    assert row.split()[1:4:2] == ["node017", "3"]


def test_query_limit(run, filled_db: Path) -> None:
    result = run("query", SQL, "--db", str(filled_db), "--format", "json", "--limit", "2")
    assert [r["line_no"] for r in json.loads(result.out)] == [1, 2]


# -- export ---------------------------------------------------------------------------------


def test_export_parquet(run, filled_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "parquet"
    result = run("export", "--parquet", str(out), "--db", str(filled_db))
    assert result.code == 0
    assert result.out == f"exported to {out}: files 2, events 5, assets 1\n"
    assert sorted(p.name for p in out.iterdir()) == ["assets", "events", "files"]
    assert sorted(p.name for p in (out / "events").iterdir()) == ["host=node017", "host=node018"]
    events = pl.read_parquet(out / "events" / "**" / "*.parquet", hive_partitioning=True)
    assert dict(events.group_by("host").len().sort("host").iter_rows()) == {"node017": 3, "node018": 2}


def test_export_of_an_empty_store(run, db_path: Path, tmp_path: Path) -> None:
    from triage.store import Store

    Store.open(db_path).close()
    out = tmp_path / "parquet"
    result = run("export", "--parquet", str(out), "--db", str(db_path))
    assert result.code == 0
    assert result.out == f"exported to {out}: nothing (the store is empty)\n"


# -- the real entry point -------------------------------------------------------------------


def test_python_m_triage_help(tmp_path: Path) -> None:
    proc = subprocess_triage("--help", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.startswith("Usage: triage [OPTIONS] COMMAND [ARGS]...")
    for command in ("ingest", "query", "export"):
        assert f"  {command} " in proc.stdout
    assert proc.stderr == ""


def test_version(tmp_path: Path) -> None:
    proc = subprocess_triage("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == f"triage, version {version('triage')}\n"


def test_subprocess_ingest_error_and_query(tmp_path: Path, fleet: Path) -> None:
    (fleet / "node018" / "empty.log").write_bytes(b"")
    proc = subprocess_triage("ingest", str(fleet), "--json", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [f"error: {fleet / 'node018' / 'empty.log'}: empty file"]
    assert json.loads(proc.stdout)["ingested"] == 2
    assert (tmp_path / "triage.duckdb").is_file()  # the default store, in the working folder

    proc = subprocess_triage("query", "SELECT count(*) AS n FROM events", "--format", "csv", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "n\n5\n", "")

    proc = subprocess_triage("query", "INSERT INTO events (host) VALUES ('x')", cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["error: query: only read-only statements are allowed, not INSERT"]


def test_subprocess_user_error_is_one_line(tmp_path: Path) -> None:
    proc = subprocess_triage("ingest", "node404", "--db", str(tmp_path / "t.duckdb"), cwd=tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["error: node404: no such file or directory"]
    assert proc.stdout == ""
