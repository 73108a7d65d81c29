"""Shared fixtures: a real DuckDB store on disk, kept apart from the input files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from triage.store import Store


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's store lives: its own folder, so a folder ingest never reads the database."""
    folder = tmp_path / "db"
    folder.mkdir()
    return folder / "triage.duckdb"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """A fresh store in a DuckDB file, closed after the test."""
    with Store.open(db_path) as opened:
        yield opened


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    """An empty folder for the test's input files."""
    folder = tmp_path / "in"
    folder.mkdir()
    return folder


REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


@pytest.fixture
def realdata() -> Path:
    """The shared folder of real sample files; the test is skipped where it is absent."""
    if not REALDATA.is_dir():
        pytest.skip("../shared/realdata is not present")
    return REALDATA


REPO = Path(__file__).resolve().parents[1]
SAMPLE_HOSTS = REPO / "datasets" / "sample-fleet" / "hosts"
SAMPLE_BASELINE = REPO / "rules" / "baselines" / "h100-80gb-hbm3.yaml"


@pytest.fixture(scope="session")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed sample fleet ingested and analyzed (with the shipped baseline) once per session.

    Open it read-only; a test that writes copies it first.
    """
    import triage

    path = tmp_path_factory.mktemp("sample") / "sample.duckdb"
    with triage.open(path) as fleet:
        fleet.ingest([SAMPLE_HOSTS])
        fleet.analyze(baseline=SAMPLE_BASELINE)
    return path
