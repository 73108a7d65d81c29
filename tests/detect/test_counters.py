"""Counter-rate detector: deltas between counter snapshots in a real store, and the thresholds they cross."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from triage.detect.counters import CounterSettings, Threshold, counter_deltas, detect_counters
from triage.errors import TriageError
from triage.ingest import ingest
from triage.store import Store

T0 = dt.datetime(2026, 11, 16, 6, 0, 0)
HOUR = dt.timedelta(hours=1)
SHIPPED = CounterSettings.load()
SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "sample-fleet"

# Where each source's counters come from: test, device, unit.
ORIGIN = {
    "ib": ("ib_counters", "mlx5_0/1", "count"),
    "nvlink": ("nvlink", "0000:3b:00.0", "count"),
    "pcie": ("nvidia_smi", "0000:3b:00.0", "count"),
}


def measure(store: Store, rows: list[dict[str, Any]]) -> None:
    """Append measurements; each row gives metric, value, file_id and line_no, the rest defaults to an
    InfiniBand sysfs counter of node1's mlx5_0/1 at T0."""
    defaults = {"host": "node1", "device": "mlx5_0/1", "test": "ib_counters", "unit": "count", "ts": T0, "params": None}
    full = [{**defaults, **row} for row in rows]
    store.append(
        "measurements",
        pl.DataFrame(full, schema_overrides={"ts": pl.Datetime("us"), "value": pl.Float64, "file_id": pl.Int32}),
    )


def snapshots(store: Store, metric: str, values: list[float | None], hours: list[float | None], **row: Any) -> None:
    """One snapshot per value of `metric`, in file 1, 2, ... at line 10, taken `hours` after T0 (None: undated)."""
    measure(
        store,
        [
            {
                "metric": metric,
                "value": v,
                "file_id": i + 1,
                "line_no": 10,
                "ts": None if h is None else T0 + h * HOUR,
                **row,
            }
            for i, (v, h) in enumerate(zip(values, hours, strict=True))
        ],
    )


def ev(*pairs: tuple[int, int]) -> list[dict[str, int]]:
    return [{"file_id": f, "line_no": n} for f, n in pairs]


DELTA_COLUMNS = ["counter", "hours", "before", "after", "delta", "rate_per_hour", "saturated", "reset"]


# -- counter_deltas ------------------------------------------------------------------------------------
def test_before_and_after_give_the_change_and_its_rate(store: Store) -> None:
    snapshots(store, "symbol_error", [10, 130], [0, 2])
    deltas = counter_deltas(store)
    assert deltas.columns == [
        "host", "device", "source", "counter", "link", "first_ts", "last_ts", "hours", "before", "after",
        "delta", "rate_per_hour", "saturated", "reset", "lanes", "gen", "evidence",
    ]  # fmt: skip
    assert deltas.rows(named=True) == [
        {
            "host": "node1",
            "device": "mlx5_0/1",
            "source": "ib",
            "counter": "symbol_error",
            "link": None,
            "first_ts": T0,
            "last_ts": T0 + 2 * HOUR,
            "hours": 2.0,
            "before": 10.0,
            "after": 130.0,
            "delta": 120.0,
            "rate_per_hour": 60.0,
            "saturated": False,
            "reset": False,
            "lanes": None,
            "gen": None,
            "evidence": ev((1, 10), (2, 10)),
        }
    ]


@pytest.mark.parametrize(
    ("metric", "values", "params", "expected"),
    [
        pytest.param("symbol_error", [65000, 65535], None, (535.0, True), id="16-bit-symbol_error-reaches-65535"),
        pytest.param("symbol_error", [65535, 65535], None, (0.0, True), id="16-bit-symbol_error-stuck-at-65535"),
        pytest.param("link_downed", [250, 255], None, (5.0, True), id="8-bit-link_downed-reaches-255"),
        pytest.param("link_downed", [254, 254], None, (0.0, False), id="8-bit-link_downed-below-255"),
        pytest.param("port_xmit_wait", [4294967295, 4294967295], None, (0.0, True), id="32-bit-xmit_wait"),
        pytest.param(
            "symbol_error",
            [3, 15],
            '{"bits":4,"saturated":true}',
            (12.0, True),
            id="narrow-attribute-flagged-by-parser",
        ),
        pytest.param("port_xmit_data", [1e15, 2e15], None, (1e15, False), id="64-bit-data-never-saturates"),
    ],
)
def test_a_counter_at_the_top_of_its_width_is_saturated(
    store: Store, metric: str, values: list[float], params: str | None, expected: tuple[float, bool]
) -> None:
    unit = "4B-words" if metric == "port_xmit_data" else "count"
    snapshots(store, metric, values, [0, 1], params=params, unit=unit)
    assert counter_deltas(store).select("delta", "saturated").rows() == [expected]


def test_a_counter_that_went_down_was_reset_and_counts_from_zero(store: Store) -> None:
    snapshots(store, "link_downed", [200, 3], [0, 4])
    assert counter_deltas(store).select(DELTA_COLUMNS).rows() == [
        ("link_downed", 4.0, 200.0, 3.0, 3.0, 0.75, False, True)
    ]


def test_three_snapshots_give_two_consecutive_deltas(store: Store) -> None:
    snapshots(store, "port_rcv_errors", [0, 5, 12], [0, 1, 3])
    deltas = counter_deltas(store)
    assert deltas.select(DELTA_COLUMNS).rows() == [
        ("port_rcv_errors", 1.0, 0.0, 5.0, 5.0, 5.0, False, False),
        ("port_rcv_errors", 2.0, 5.0, 12.0, 7.0, 3.5, False, False),
    ]
    assert deltas["evidence"].to_list() == [ev((1, 10), (2, 10)), ev((2, 10), (3, 10))]


def test_snapshots_are_ordered_by_time_not_by_file(store: Store) -> None:
    # counters-after.txt sorts (and is ingested) before counters-before.txt
    snapshots(store, "symbol_error", [40, 10], [3, 0])
    assert counter_deltas(store).select("before", "after", "delta", "hours", "evidence").rows() == [
        (10.0, 40.0, 30.0, 3.0, ev((2, 10), (1, 10)))
    ]


def test_undated_snapshots_give_a_delta_without_rate(store: Store) -> None:
    snapshots(store, "link_downed", [1, 4], [None, None])
    assert counter_deltas(store).select([*DELTA_COLUMNS, "first_ts", "last_ts"]).rows() == [
        ("link_downed", None, 1.0, 4.0, 3.0, None, False, False, None, None)
    ]


def test_a_counter_seen_once_gives_no_delta(store: Store) -> None:
    snapshots(store, "symbol_error", [7], [0])
    snapshots(store, "link_downed", [1], [0], device="mlx5_1/1")
    assert counter_deltas(store).height == 0


def test_the_same_value_read_twice_at_the_same_time_is_one_snapshot(store: Store) -> None:
    snapshots(store, "symbol_error", [10, 10, 25], [0, 0, 1])
    deltas = counter_deltas(store)
    assert deltas.select(DELTA_COLUMNS).rows() == [("symbol_error", 1.0, 10.0, 25.0, 15.0, 15.0, False, False)]
    assert deltas["evidence"].to_list() == [ev((2, 10), (3, 10))]


def test_different_values_at_the_same_time_are_two_snapshots_without_rate(store: Store) -> None:
    snapshots(store, "symbol_error", [10, 12], [0, 0])
    assert counter_deltas(store).select(DELTA_COLUMNS).rows() == [
        ("symbol_error", 0.0, 10.0, 12.0, 2.0, None, False, False)
    ]


def test_port_states_rates_and_ids_are_not_counters(store: Store) -> None:
    for metric, unit in [("state", "enum"), ("phys_state", "enum"), ("rate", "Gbit/s"), ("lid", "id")]:
        snapshots(store, metric, [4, 1], [0, 1], unit=unit)
    snapshots(store, "nodes_checked", [4, 5], [0, 1], device=None, test="ibqueryerrors")
    assert counter_deltas(store).height == 0


def test_nvlink_counters_are_per_link_and_per_gpu_total(store: Store) -> None:
    gpu = "0000:3b:00.0"
    for link, values in [(0, [0, 0]), (3, [2, 9])]:
        snapshots(store, "nvlink_replay_errors", values, [0, 1], device=gpu, test="nvlink", params=f'{{"link":{link}}}')
    snapshots(store, "nvlink_active_links", [18, 17], [0, 1], device=gpu, test="nvlink")
    snapshots(store, "nvlink_crc_flit_errors", [100, 460], [0, 0.5], device=gpu, test="dcgm_exporter")
    assert counter_deltas(store).select("device", "source", "counter", "link", "delta", "rate_per_hour").rows() == [
        (gpu, "nvlink", "nvlink_crc_flit_errors", None, 360.0, 720.0),
        (gpu, "nvlink", "nvlink_replay_errors", 0, 0.0, 0.0),
        (gpu, "nvlink", "nvlink_replay_errors", 3, 7.0, 7.0),
    ]


def test_pcie_replays_carry_the_link_width_and_generation_of_their_dump(store: Store) -> None:
    gpu = "0000:3b:00.0"
    snapshots(store, "pcie_replay_count", [10, 250], [0, 1], device=gpu, test="nvidia_smi")
    measure(
        store,
        [
            {
                "metric": "pcie_width_current",
                "value": 16,
                "file_id": 1,
                "line_no": 20,
                "device": gpu,
                "test": "nvidia_smi",
            },
            {
                "metric": "pcie_gen_current",
                "value": 5,
                "file_id": 1,
                "line_no": 21,
                "device": gpu,
                "test": "nvidia_smi",
            },
            {
                "metric": "pcie_width_current",
                "value": 8,
                "file_id": 2,
                "line_no": 20,
                "device": gpu,
                "test": "nvidia_smi",
            },
            {
                "metric": "pcie_gen_current",
                "value": 3,
                "file_id": 2,
                "line_no": 21,
                "device": gpu,
                "test": "nvidia_smi",
            },
        ],
    )
    snapshots(store, "pcie_replay_rollover", [0, 1], [0, 1], device=gpu, test="nvidia_smi")
    assert counter_deltas(store).select("source", "counter", "delta", "lanes", "gen").rows() == [
        ("pcie", "pcie_replay_count", 240.0, 8, 3),
        ("pcie", "pcie_replay_rollover", 1.0, 8, 3),
    ]


def test_hosts_limit_the_deltas(store: Store) -> None:
    snapshots(store, "symbol_error", [0, 1], [0, 1], host="node1")
    snapshots(store, "symbol_error", [0, 2], [0, 1], host="node2")
    assert counter_deltas(store, hosts=["node2"]).select("host", "delta").rows() == [("node2", 2.0)]
    assert counter_deltas(store, hosts=[]).height == 0


# -- detect_counters -----------------------------------------------------------------------------------
ANOMALY = ["host", "device", "detector", "metric", "value", "baseline", "score", "threshold", "cohort", "level"]


def one(threshold: Threshold) -> CounterSettings:
    return CounterSettings((threshold,))


def limit_delta(threshold: Threshold) -> float:
    """The rise within one hour that meets `threshold` exactly."""
    if threshold.increase is not None:
        return threshold.increase
    if threshold.link_ber is not None:
        return 31 * 60  # x16 Gen5 at 1e-12: ceil(30.72) = 31 per minute
    per_hour = {"rate_per_second": 3600, "rate_per_minute": 60, "rate_per_hour": 1}[threshold.per or ""]
    return (threshold.rate or 0) * per_hour


@pytest.mark.parametrize(
    "threshold",
    [
        pytest.param(t, id=f"{t.counter}-{t.per or ('increase' if t.increase else 'ber')}-{t.level}")
        for t in SHIPPED.thresholds
    ],
)
def test_each_shipped_threshold_fires_at_its_level_from_its_limit(store: Store, threshold: Threshold) -> None:
    test, device, unit = ORIGIN[threshold.source]
    delta = limit_delta(threshold)
    snapshots(store, threshold.counter, [0, delta], [0, 1], test=test, device=device, unit=unit)
    snapshots(store, threshold.counter, [0, delta - 1], [0, 1], test=test, device=device, unit=unit, host="node2")
    found = detect_counters(counter_deltas(store), one(threshold))
    baseline = 31.0 if threshold.link_ber else (threshold.increase or threshold.rate)
    assert found.select(ANOMALY).rows() == [
        ("node1", device, "counter_rate", threshold.counter, baseline, baseline, 1.0, 1.0, None, threshold.level)
    ]
    assert found["evidence"].to_list() == [ev((1, 10), (2, 10))]


def test_a_single_link_error_recovery_tick_is_fleet_noise(store: Store) -> None:
    snapshots(store, "link_error_recovery", [0, 1], [0, 1.17])
    assert detect_counters(counter_deltas(store), SHIPPED).height == 0


def test_a_bad_cable_is_one_row_per_counter_at_the_highest_level(store: Store) -> None:
    rows = [
        ("symbol_error", 0, 1322),
        ("link_error_recovery", 0, 12),
        ("link_downed", 0, 6),
        ("port_rcv_errors", 0, 42),
    ]
    for counter, before, after in rows:
        snapshots(store, counter, [before, after], [0, 7 / 6])
    found = detect_counters(counter_deltas(store), SHIPPED)
    assert found.select("metric", "value", "baseline", "score", "level").rows() == [
        ("link_downed", 6.0, 1.0, 6.0, "drain"),
        ("link_error_recovery", 12.0, 4.0, 3.0, "investigate"),
        ("symbol_error", pytest.approx(1133.142857), 120.0, pytest.approx(9.442857), "drain"),
    ]
    assert found["detail"].to_list() == [
        "link_downed rose by 6 in 1.17 h (threshold: any increase)",
        "link_error_recovery rose by 12 in 1.17 h (threshold: 4 or more)",
        "symbol_error rose by 1322 in 1.17 h (1133/h, threshold 120/h)",
    ]


def test_increase_thresholds_count_the_whole_window(store: Store) -> None:
    snapshots(store, "link_error_recovery", [0, 2, 4], [0, 1, 2])
    found = detect_counters(counter_deltas(store), SHIPPED)
    assert found.select("metric", "value", "level", "detail").rows() == [
        (
            "link_error_recovery",
            4.0,
            "investigate",
            "link_error_recovery rose by 4 in 2 h over 3 snapshots (threshold: 4 or more)",
        )
    ]
    assert found["evidence"].to_list() == [ev((1, 10), (2, 10), (3, 10))]


def test_rate_thresholds_take_the_worst_pair_of_snapshots(store: Store) -> None:
    # 10 errors in the first 5 hours, then 300 in 30 minutes: 600/h
    snapshots(store, "symbol_error", [0, 10, 310], [0, 5, 5.5])
    found = detect_counters(counter_deltas(store), SHIPPED)
    assert found.select("value", "baseline", "score", "level", "detail").rows() == [
        (600.0, 120.0, 5.0, "drain", "symbol_error rose by 300 in 30 min (600/h, threshold 120/h)")
    ]
    assert found["evidence"].to_list() == [ev((2, 10), (3, 10))]


def test_undated_snapshots_skip_rate_thresholds_but_not_increases(store: Store) -> None:
    snapshots(store, "symbol_error", [0, 5000], [None, None])
    snapshots(store, "link_downed", [0, 2], [None, None])
    found = detect_counters(counter_deltas(store), SHIPPED)
    assert found.select("metric", "value", "level", "detail").rows() == [
        ("link_downed", 2.0, "drain", "link_downed rose by 2 between undated snapshots (threshold: any increase)"),
        (
            "symbol_error",
            5000.0,
            "monitor",
            "symbol_error rose by 5000 between undated snapshots (threshold: any increase)",
        ),
    ]


@pytest.mark.parametrize(
    ("values", "detail"),
    [
        pytest.param(
            [250, 255],
            "link_downed rose by 5 in 2 h (threshold: any increase), a lower bound as the counter saturated",
            id="saturated",
        ),
        pytest.param(
            [9, 2],
            "link_downed rose by 2 in 2 h (threshold: any increase), counted from zero as the counter was reset in between",
            id="reset",
        ),
    ],
)
def test_the_detail_says_when_a_delta_is_a_lower_bound_or_counts_from_a_reset(
    store: Store, values: list[float], detail: str
) -> None:
    snapshots(store, "link_downed", values, [0, 2])
    assert detect_counters(counter_deltas(store), SHIPPED)["detail"].to_list() == [detail]


def test_a_counter_stuck_at_its_top_is_listed_only_when_asked(store: Store) -> None:
    snapshots(store, "symbol_error", [65535, 65535], [0, 8])
    deltas = counter_deltas(store)
    assert detect_counters(deltas, SHIPPED).height == 0
    asking = CounterSettings(SHIPPED.thresholds, saturated_level="monitor")
    found = detect_counters(deltas, asking)
    assert found.select("metric", "value", "baseline", "score", "level", "detail").rows() == [
        (
            "symbol_error",
            65535.0,
            None,
            1.0,
            "monitor",
            "symbol_error stayed saturated at 65535 in every snapshot, so no increase can be seen until the counters "
            "are cleared",
        )
    ]


def test_nvlink_gives_one_row_per_gpu_and_counter_naming_the_worst_link(store: Store) -> None:
    gpu = "0000:3b:00.0"
    for link, after in [(1, 2), (4, 30), (7, 0)]:
        snapshots(
            store, "nvlink_replay_errors", [0, after], [0, 1], device=gpu, test="nvlink", params=f'{{"link":{link}}}'
        )
    found = detect_counters(counter_deltas(store), SHIPPED)
    assert found.select("device", "metric", "value", "score", "level", "detail").rows() == [
        (
            gpu,
            "nvlink_replay_errors",
            30.0,
            30.0,
            "drain",
            "nvlink_replay_errors on link 4 rose by 30 in 1 h (threshold: any increase), and on 1 other link(s)",
        )
    ]


def test_nvlink_crc_rate_per_second(store: Store) -> None:
    snapshots(store, "nvlink_crc_flit_errors", [0, 720000], [0, 1], device="0000:3b:00.0", test="dcgm_exporter")
    found = detect_counters(counter_deltas(store), SHIPPED)
    assert found.select("value", "baseline", "score", "level", "detail").rows() == [
        (200.0, 100.0, 2.0, "drain", "nvlink_crc_flit_errors rose by 720000 in 1 h (200/s, threshold 100/s)")
    ]


@pytest.mark.parametrize(
    ("link", "replays", "expected"),
    [
        pytest.param(None, 1860, (31.0, 31.0, "investigate", "x16 Gen5"), id="no-link-state-assumes-x16-gen5"),
        pytest.param((16, 5), 1859, None, id="x16-gen5-below-31-per-minute"),
        pytest.param((8, 3), 240, (4.0, 4.0, "investigate", "x8 Gen3"), id="x8-gen3-allows-4-per-minute"),
    ],
)
def test_pcie_replay_limit_follows_the_link_width_and_generation(
    store: Store, link: tuple[int, int] | None, replays: int, expected: tuple[float, float, str, str] | None
) -> None:
    gpu = "0000:3b:00.0"
    snapshots(store, "pcie_replay_count", [0, replays], [0, 1], device=gpu, test="nvidia_smi")
    if link is not None:
        lanes, gen = link
        measure(
            store,
            [
                {"metric": m, "value": v, "file_id": f, "line_no": 20, "device": gpu, "test": "nvidia_smi"}
                for f in (1, 2)
                for m, v in (("pcie_width_current", lanes), ("pcie_gen_current", gen))
            ],
        )
    found = detect_counters(counter_deltas(store), SHIPPED)
    if expected is None:
        assert found.height == 0
        return
    value, baseline, level, shape = expected
    assert found.select("metric", "value", "baseline", "level").rows() == [
        ("pcie_replay_count", value, baseline, level)
    ]
    rate = int(replays / 60)
    assert found["detail"][0] == (
        f"pcie_replay_count rose by {replays} in 1 h ({rate}/min, threshold {int(baseline)}/min for {shape} at BER 1e-12)"
    )


def test_no_deltas_no_anomalies(store: Store) -> None:
    found = detect_counters(counter_deltas(store), SHIPPED)
    assert found.height == 0
    assert found.columns == [
        "host", "device", "detector", "metric", "value", "baseline", "score", "threshold", "cohort", "detail",
        "level", "evidence",
    ]  # fmt: skip


# -- settings ------------------------------------------------------------------------------------------
def test_the_shipped_settings_cover_the_three_sources() -> None:
    assert {t.source for t in SHIPPED.thresholds} == {"ib", "nvlink", "pcie"}
    assert SHIPPED.saturated_level is None
    drains = sorted({t.counter for t in SHIPPED.thresholds if t.level == "drain"})
    assert drains == [
        "excessive_buffer_overrun_errors", "link_downed", "local_link_integrity_errors", "nvlink_crc_data_errors",
        "nvlink_crc_errors", "nvlink_crc_flit_errors", "nvlink_recovery_errors", "nvlink_replay_errors",
        "symbol_error",
    ]  # fmt: skip


GOOD = """\
thresholds:
  - source: ib
    counter: link_downed
    increase: 1
    level: drain
    reference: "NVSentinel"
"""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(GOOD + "window: 3h\n", "counters.yaml:7: unknown setting 'window'", id="unknown-top-level-key"),
        pytest.param(
            GOOD + "    per_port: true\n", "counters.yaml:7: unknown setting 'per_port'", id="unknown-threshold-key"
        ),
        pytest.param(
            GOOD.replace("level: drain", "level: fatal"), "counters.yaml:5: level must be one of", id="bad-level"
        ),
        pytest.param(
            GOOD.replace("source: ib", "source: efa"), "counters.yaml:2: source must be one of", id="bad-source"
        ),
        pytest.param(
            GOOD.replace("increase: 1", "increase: 0"),
            "counters.yaml:4: increase must be a number >= 1, not 0",
            id="zero-increase",
        ),
        pytest.param(
            GOOD + "    rate_per_hour: 120\n", "counters.yaml:2: a threshold needs exactly one of", id="two-limits"
        ),
        pytest.param(
            GOOD.replace("increase: 1", "link_ber: 1.0e-12"),
            "counters.yaml:4: link_ber applies to source pcie only",
            id="ber-on-ib",
        ),
        pytest.param(
            GOOD.replace('    reference: "NVSentinel"\n', ""),
            "counters.yaml:2: a threshold needs a text reference",
            id="no-reference",
        ),
        pytest.param(GOOD + GOOD.replace("thresholds:\n", ""), "counters.yaml:7: duplicate threshold", id="duplicate"),
        pytest.param(
            "saturated_level: loud\n" + GOOD,
            "counters.yaml:1: saturated_level must be one of",
            id="bad-saturated-level",
        ),
        pytest.param("thresholds: []\n", "counters.yaml:1: thresholds must be a non-empty list", id="no-thresholds"),
        pytest.param(GOOD + "thresholds: []\n", "counters.yaml:7: duplicate key 'thresholds'", id="duplicate-key"),
    ],
)
def test_bad_settings_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "detect").mkdir()
    path = tmp_path / "detect" / "counters.yaml"
    path.write_text(text)
    with pytest.raises(TriageError) as raised:
        CounterSettings.load(tmp_path)
    assert str(raised.value).startswith(f"{path.parent}/{message}")


def test_good_settings_load(tmp_path: Path) -> None:
    (tmp_path / "detect").mkdir()
    (tmp_path / "detect" / "counters.yaml").write_text(GOOD)
    assert CounterSettings.load(tmp_path) == CounterSettings(
        (Threshold(source="ib", counter="link_downed", level="drain", reference="NVSentinel", increase=1.0),)
    )


# -- the sample fleet ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """datasets/sample-fleet/hosts ingested once into a store of its own."""
    with Store.open(tmp_path_factory.mktemp("sample") / "triage.duckdb") as store:
        ingest(store, [str(SAMPLE / "hosts")])
        yield store


def test_the_sample_fleet_flags_only_the_bad_cable(sample_store: Store) -> None:
    found = detect_counters(counter_deltas(sample_store), SHIPPED)
    assert found.select("host", "device", "metric", "level").rows() == [
        ("node0001", "mlx5_2/1", "link_downed", "drain"),
        ("node0001", "mlx5_2/1", "link_error_recovery", "investigate"),
        ("node0001", "mlx5_2/1", "symbol_error", "drain"),
    ]
    with (SAMPLE / "truth.csv").open(newline="") as fh:
        truth = list(csv.DictReader(fh))
    flagged = set(found.select("host", "device").iter_rows())
    cables = {(t["host"], t["device"]) for t in truth if t["fault"] == "ib_cable"}
    healthy = {t["host"] for t in truth if not t["fault"]}
    assert cables <= flagged
    assert not {host for host, _ in flagged} & healthy


def test_the_sample_fleet_evidence_points_at_the_counter_lines(sample_store: Store) -> None:
    found = detect_counters(counter_deltas(sample_store), SHIPPED)
    lines = found.select("evidence").explode("evidence").unnest("evidence")
    quoted = sample_store.frame(
        "SELECT e.message FROM events e JOIN (SELECT unnest(?::INTEGER[]) AS file_id, unnest(?::BIGINT[]) AS line_no) "
        "AS l USING (file_id, line_no)",
        [lines["file_id"].to_list(), lines["line_no"].to_list()],
    )
    messages = sorted(quoted["message"].to_list())
    assert messages == sorted(
        f"./mlx5_2/ports/1/counters/{metric}:{value}"
        for metric, value in [("link_downed", 0), ("link_downed", 6), ("link_error_recovery", 0),
                              ("link_error_recovery", 12), ("symbol_error", 0), ("symbol_error", 1322)]
    )  # fmt: skip
