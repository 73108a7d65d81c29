"""Row collection for structured formats: PCI addresses, runs, measurements, assets."""

from __future__ import annotations

import polars as pl
import pytest

from triage.schema import TABLES
from triage.sources.records import Malformed, Records, bdf_expr, canonical_json, gpu_ref, normalize_bdf


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("00000000:3B:00.0", "0000:3b:00.0", id="nvidia-smi-8-digit-domain"),
        pytest.param("0000:3b:00.0", "0000:3b:00.0", id="already-normal"),
        pytest.param("0002:c1:00.1", "0002:c1:00.1", id="other-domain-and-function"),
        pytest.param("00000001:1A:00.0", "0001:1a:00.0", id="8-digit-nonzero-domain"),
        pytest.param("3b:00.0", "0000:3b:00.0", id="no-domain"),
        pytest.param("0000:3b:00", "0000:3b:00.0", id="no-function"),
        pytest.param(" 0000:3B:00.0 ", "0000:3b:00.0", id="padded"),
        pytest.param("10000:e1:00.0", "10000:e1:00.0", id="vmd-domain"),
        pytest.param("PCI:0000:3b:00", "0000:3b:00.0", id="kernel-prefix"),
        pytest.param("3:0.1", "0000:03:00.1", id="one-digit-bus-and-device"),
        pytest.param("GPU-5c6a8d0e", None, id="not-an-address"),
        pytest.param("", None, id="empty"),
        pytest.param("00010000:3b:00.0", "10000:3b:00.0", id="8-digit-vmd-domain"),
        pytest.param("ab:cd", "0000:ab:cd.0", id="bus-and-device-only"),
        pytest.param("0000:3b:00.8", None, id="function-out-of-range"),
    ],
)
def test_normalize_bdf(text: str, expected: str | None) -> None:
    assert normalize_bdf(text) == expected
    assert pl.select(bdf_expr(pl.lit(text))).item() == expected


def test_gpu_ref_and_canonical_json() -> None:
    assert gpu_ref(3) == "gpu3"
    assert canonical_json({"size": 8, "placement": "in_place"}) == '{"placement":"in_place","size":8}'
    assert canonical_json({}) is None


def test_records_frames_have_table_columns() -> None:
    records = Records()
    run = records.run(None, "hpl", "pass", 12, params={"N": 1000})
    records.measure(None, "hpl", "gflops", 812.5, "Gflops", 14, run_id=run)
    records.measure(None, "hpl", "time", None, "s", 14, run_id=run)  # an N/A cell
    records.asset("gpu", "0000:3b:00.0", 3, index=0, serial="1654321098765")
    frames = records.frames()
    for table, frame in frames.items():
        assert frame.columns == [name for name in TABLES[table].names if name != "file_id"]
    assert frames["test_runs"].select("run_id", "test", "status", "params", "line_no").rows() == [
        (1, "hpl", "pass", '{"N":1000}', 12)
    ]
    assert frames["measurements"].select("metric", "value", "unit", "run_id").rows() == [("gflops", 812.5, "Gflops", 1)]
    assert frames["assets"].select("kind", "device", "index", "serial").rows() == [
        ("gpu", "0000:3b:00.0", 0, "1654321098765")
    ]


def test_set_status_and_unknown_values_are_refused() -> None:
    records = Records()
    run = records.run("gpu0", "dcgm_memory", "pass", 1)
    records.set_status(run, "fail", "Memory test failed")
    assert records.frames()["test_runs"].select("status", "detail").rows() == [("fail", "Memory test failed")]
    with pytest.raises(ValueError, match="unknown test status 'skip'"):
        records.run(None, "x", "skip", 1)
    with pytest.raises(ValueError, match="unknown asset fields"):
        records.asset("gpu", "x", 1, colour="green")


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        pytest.param(
            Malformed(57, "row has 7 columns, expected 13"), "line 57: row has 7 columns, expected 13", id="line"
        ),
        pytest.param(Malformed(None, "no JSON document"), "no JSON document", id="no-line"),
    ],
)
def test_malformed_names_the_line(exc: Malformed, text: str) -> None:
    assert str(exc) == text
