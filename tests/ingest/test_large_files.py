"""Files larger than one commit chunk: rows committed in chunks, yet a file lands whole or not at all."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from triage.ingest import ingest, pipeline
from triage.sources import lines
from triage.store import Store

LINE = "[{n:>12.6f}] NVRM: Xid (PCI:0000:3b:00): 79, pid='<unknown>', name=<unknown>, GPU has fallen off the bus.\n"


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Batches of ~2 KiB and a commit after every 4 KiB, so a 40 KiB file spans many chunks.

    Files above 1 KiB count as large (streamed in chunks rather than read in memory).
    """
    monkeypatch.setattr(lines, "BATCH_BYTES", 2048)
    monkeypatch.setattr(pipeline, "COMMIT_BYTES", 4096)
    monkeypatch.setattr(pipeline, "SMALL_FILE_BYTES", 1024)


def _write_dmesg(path: Path, count: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(LINE.format(n=i + 0.5) for i in range(count)))
    return path


def _counts(store: Store) -> tuple[int, int]:
    return store.count("files"), store.count("events")


def test_a_file_over_the_commit_chunk_lands_whole(small_chunks: None, store: Store, inputs: Path) -> None:
    path = _write_dmesg(inputs / "node017" / "dmesg.log", 400)
    assert path.stat().st_size > 10 * pipeline.COMMIT_BYTES

    summary = ingest(store, [str(inputs)])

    assert [(f.status, f.lines) for f in summary.files] == [("ok", 400)]
    files = store.frame("SELECT status, lines, error FROM files")
    assert files.rows() == [("ok", 400, None)]
    events = store.frame("SELECT line_no, uptime_s FROM events ORDER BY line_no")
    assert events["line_no"].to_list() == list(range(1, 401))
    assert events["uptime_s"][-1] == pytest.approx(399.5)


def test_a_failure_after_some_chunks_were_committed_removes_the_whole_file(
    small_chunks: None, store: Store, inputs: Path
) -> None:
    _write_dmesg(inputs / "node001" / "dmesg.log", 50)
    ingest(store, [str(inputs / "node001")], pipeline.IngestOptions(host="node001"))
    before = _counts(store)
    _write_dmesg(inputs / "node017" / "dmesg.log", 400)
    calls = []

    def die_on_the_tenth_batch(file: object, read: int | None) -> None:
        calls.append(read)
        if len(calls) == 10:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ingest(
            store, [str(inputs / "node017")], pipeline.IngestOptions(host="node017"), progress=die_on_the_tenth_batch
        )

    assert calls[9] is not None and calls[9] > 2 * pipeline.COMMIT_BYTES  # chunks were committed before the stop
    assert _counts(store) == before
    assert store.frame("SELECT DISTINCT host FROM events")["host"].to_list() == ["node001"]


def test_a_file_left_loading_by_a_killed_run_is_removed_on_the_next_open(db_path: Path) -> None:
    with Store.open(db_path) as store:
        store.append(
            "files",
            pl.DataFrame({"file_id": [1], "path": ["a/dmesg.log"], "host": ["a"], "status": ["ok"]}),
        )
        store.append("events", pl.DataFrame({"file_id": [1, 1], "host": ["a", "a"], "line_no": [1, 2]}))
        # What a run killed between two chunk commits leaves behind:
        store.append(
            "files",
            pl.DataFrame({"file_id": [2], "path": ["b/dmesg.log"], "host": ["b"], "status": ["loading"]}),
        )
        store.append("events", pl.DataFrame({"file_id": [2] * 3, "host": ["b"] * 3, "line_no": [1, 2, 3]}))

    with Store.open(db_path, read_only=True) as reader:  # a reader does not change the store
        assert _counts(reader) == (2, 5)
    with Store.open(db_path) as writer:
        assert writer.frame("SELECT file_id, status FROM files").rows() == [(1, "ok")]
        assert writer.frame("SELECT DISTINCT file_id FROM events")["file_id"].to_list() == [1]
