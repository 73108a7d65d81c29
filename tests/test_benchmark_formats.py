"""The benchmark generators (benchmarks/formats) write files the parsers read as their own kind, without error."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from triage.sources.reading import parse_bytes

REPO = Path(__file__).resolve().parents[1]
FORMATS = sorted(p.stem for p in (REPO / "benchmarks" / "formats").glob("*.py") if p.stem != "__init__")


@pytest.mark.parametrize("name", FORMATS)
def test_first_generated_file_parses_as_its_kind(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", [str(REPO), *sys.path])
    files = importlib.import_module(f"benchmarks.formats.{name}").make(1)
    file_name, data = files[0]
    parsed = parse_bytes(data, file_name)
    assert (parsed.kind, parsed.error) == (name, None)
    assert sum(frame.height for table, frame in parsed.tables.items() if table != "events") > 0
