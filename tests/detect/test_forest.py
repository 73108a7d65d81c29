"""The isolation-forest detector: node feature vectors from a real store, fleet outliers among them."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from triage.detect import anomalies
from triage.detect.forest import Feature, ForestSettings, ParamFilter, detect_forest, node_features
from triage.errors import TriageError
from triage.ingest import ingest
from triage.store import Store

SAMPLE = Path(__file__).resolve().parents[2] / "datasets" / "sample-fleet"
SHIPPED = ForestSettings.load()

# The settings of the synthetic fleets: five features a burn-in measures on every node.
SETTINGS = """\
n_estimators: 200
max_samples: 256
random_state: 0
min_nodes: 16
max_missing: 0.5
combined_deviation: true
levels: {monitor: 3.5, investigate: 6.0, drain: 10.0}
drivers: 3
driver_min_z: 2.0
extra_bad: high
features:
  - name: nccl_busbw
    test: "nccl_*"
    metric: busbw
    params: {size: {min: 1048576}, placement: out_of_place}
    aggregate: mean
    bad: low
  - name: hpl_gflops
    test: hpl
    metric: gflops
    aggregate: min
    bad: low
  - name: h2d_bw_min
    test: nvbandwidth
    metric: host_to_device_memcpy_ce
    aggregate: min
    bad: low
  - name: gpu_temp_max
    test: nvidia_smi
    metric: temperature_gpu
    aggregate: max
    bad: high
  - name: ib_symbol_errors
    test: ib_counters
    metric: symbol_error
    device_aggregate: max
    aggregate: sum
    bad: high
"""


def load(tmp_path: Path, text: str = SETTINGS) -> ForestSettings:
    (tmp_path / "detect").mkdir(exist_ok=True)
    (tmp_path / "detect" / "forest.yaml").write_text(text)
    return ForestSettings.load(tmp_path)


@pytest.fixture
def settings(tmp_path: Path) -> ForestSettings:
    return load(tmp_path)


# -- synthetic fleets --------------------------------------------------------------------------------
BASE = {"nccl_busbw": 460.0, "hpl_gflops": 420_000.0, "h2d_bw_min": 55.0, "gpu_temp_max": 40.0}
STEPS = {"nccl_busbw": 7, "hpl_gflops": 11, "h2d_bw_min": 13, "gpu_temp_max": 17}  # coprime to 40: a Latin layout


def tight(n: int = 40) -> dict[str, dict[str, float]]:
    """`n` healthy nodes: each feature within +-1 % of its base, evenly spread, in a different order per feature."""
    return {
        f"node{i:03d}": {
            name: base * (1 + 0.01 * (2 * ((i * STEPS[name] + 3) % n) / (n - 1) - 1)) for name, base in BASE.items()
        }
        for i in range(1, n + 1)
    }


def robust_sd(values: list[float]) -> float:
    series = pl.Series(values)
    return float((series - series.median()).abs().median()) * 1.4826


def write(store: Store, nodes: dict[str, dict[str, float]]) -> None:
    """Each node's features as the measurement rows the tools leave (node feature -> rows of its test)."""
    rows: list[tuple] = []
    for host, feats in nodes.items():
        if "nccl_busbw" in feats:
            for size, placement, value in [
                (8, "out_of_place", 0.01),  # latency-bound sizes and in-place runs are filtered out
                (1048576, "out_of_place", feats["nccl_busbw"]),
                (1 << 30, "out_of_place", feats["nccl_busbw"]),
                (1 << 30, "in_place", 1.0),
            ]:
                params = f'{{"placement":"{placement}","size":{size}}}'
                rows.append((host, None, "nccl_all_reduce", "busbw", value, "GB/s", params))
        if "hpl_gflops" in feats:
            rows.append((host, None, "hpl", "gflops", feats["hpl_gflops"], "Gflops", None))
        if "h2d_bw_min" in feats:  # two GPUs: the slower one is the feature
            for gpu, factor in (("0000:18:00.0", 1.0), ("0000:2a:00.0", 1.02)):
                rows.append(
                    (host, gpu, "nvbandwidth", "host_to_device_memcpy_ce", feats["h2d_bw_min"] * factor, "GB/s", None)
                )
        if "gpu_temp_max" in feats:
            for gpu, delta in (("0000:18:00.0", -3.0), ("0000:2a:00.0", 0.0)):
                rows.append((host, gpu, "nvidia_smi", "temperature_gpu", feats["gpu_temp_max"] + delta, "C", None))
        for snapshot in (0.0, feats.get("ib_symbol_errors", 0.0)):  # two snapshots of one port
            rows.append((host, "mlx5_0/1", "ib_counters", "symbol_error", snapshot, "count", None))
    columns = ["host", "device", "test", "metric", "value", "unit", "params"]
    frame = pl.DataFrame(rows, schema=columns, orient="row").with_columns(
        pl.lit(1, dtype=pl.Int32).alias("file_id"), pl.int_range(1, len(rows) + 1).alias("line_no")
    )
    store.append("measurements", frame)


def combination(nodes: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """The fleet plus node041: typical everywhere but 2.5 robust sd low in NCCL busbw and HPL Gflops at once."""
    off = {name: float(pl.Series([f[name] for f in nodes.values()]).median()) for name in BASE}
    for name in ("nccl_busbw", "hpl_gflops"):
        off[name] -= 2.5 * robust_sd([f[name] for f in nodes.values()])
    return {**nodes, "node041": off}


def test_a_node_off_in_two_features_at_once_is_the_only_one_flagged(store: Store, settings: ForestSettings) -> None:
    write(store, combination(tight()))
    features = node_features(store, settings)
    found = detect_forest(features, settings)
    assert found.note is None
    assert found.anomalies.columns == anomalies.COLUMNS
    assert found.anomalies.select("host", "device", "detector", "metric", "level", "threshold", "cohort").rows() == [
        ("node041", None, "isolation_forest", "node_features", "monitor", 3.5,
         "isolation forest over 41 nodes, 4 features"),
    ]  # fmt: skip
    row = found.anomalies.row(0, named=True)
    assert row["detail"] == (
        "off in nccl_busbw 451.3 (median 459.9, z -2.5), hpl_gflops 412,000 (median 419,900, z -2.5); "
        "anomaly score 0.751 (fleet median 0.472)"
    )
    assert (round(row["value"], 3), round(row["baseline"], 3), round(row["score"], 2)) == (0.751, 0.472, 3.97)
    assert row["evidence"] is None


def test_every_node_gets_a_score_and_only_the_odd_one_crosses(store: Store, settings: ForestSettings) -> None:
    write(store, combination(tight()))
    scores = detect_forest(node_features(store, settings), settings).scores
    assert scores is not None
    assert scores.height == 41
    assert scores.filter(pl.col("z") >= settings.threshold)["host"].to_list() == ["node041"]
    assert scores.sort("z", descending=True)["host"][0] == "node041"


def test_features_are_one_row_per_host_reduced_as_the_settings_say(store: Store, settings: ForestSettings) -> None:
    nodes = tight(20)
    nodes["node007"]["ib_symbol_errors"] = 40.0
    write(store, nodes)
    features = node_features(store, settings)
    assert features.columns == [
        "host", "nccl_busbw", "hpl_gflops", "h2d_bw_min", "gpu_temp_max", "ib_symbol_errors", "missing_features"
    ]  # fmt: skip
    assert features["host"].to_list() == sorted(nodes)
    row = features.filter(pl.col("host") == "node007").row(0, named=True)
    assert row == {
        "host": "node007",
        "nccl_busbw": pytest.approx(nodes["node007"]["nccl_busbw"]),  # only out-of-place sizes >= 1 MiB
        "hpl_gflops": pytest.approx(nodes["node007"]["hpl_gflops"]),
        "h2d_bw_min": pytest.approx(nodes["node007"]["h2d_bw_min"]),  # the slower GPU
        "gpu_temp_max": pytest.approx(nodes["node007"]["gpu_temp_max"]),  # the hotter GPU
        "ib_symbol_errors": 40.0,  # the last snapshot, not the sum of both
        "missing_features": 0,
    }


def test_a_node_lacking_a_test_takes_the_fleet_median_and_is_not_flagged(
    store: Store, settings: ForestSettings
) -> None:
    nodes = tight()
    del nodes["node012"]["hpl_gflops"]
    del nodes["node030"]["hpl_gflops"]
    del nodes["node030"]["h2d_bw_min"]
    write(store, nodes)
    features = node_features(store, settings)
    median = features.filter(~pl.col("host").is_in(["node012", "node030"]))["hpl_gflops"].median()
    gaps = features.filter(pl.col("missing_features") > 0).select("host", "hpl_gflops", "missing_features")
    assert gaps.rows() == [("node012", median, 1), ("node030", median, 2)]
    found = detect_forest(features, settings)
    assert found.anomalies.height == 0
    assert found.note is None


def test_a_flagged_node_with_a_gap_says_so(store: Store, settings: ForestSettings) -> None:
    nodes = combination(tight())
    del nodes["node041"]["h2d_bw_min"]
    write(store, nodes)
    found = detect_forest(node_features(store, settings), settings)
    assert found.anomalies["host"].to_list() == ["node041"]
    assert found.anomalies["detail"][0].endswith("; 1 of its features missing, taken as the fleet median")


def test_features_missing_on_most_hosts_or_constant_are_dropped(store: Store, settings: ForestSettings) -> None:
    nodes = tight(20)
    for host in list(nodes)[:11]:  # 11 of 20 lack nvbandwidth; nobody has symbol errors
        del nodes[host]["h2d_bw_min"]
    write(store, nodes)
    assert node_features(store, settings).columns == [
        "host", "nccl_busbw", "hpl_gflops", "gpu_temp_max", "missing_features"
    ]  # fmt: skip


def test_a_node_better_than_the_fleet_is_not_an_outlier(store: Store, settings: ForestSettings) -> None:
    nodes = tight()
    nodes["node041"] = {"nccl_busbw": 520.0, "hpl_gflops": 470_000.0, "h2d_bw_min": 58.0, "gpu_temp_max": 30.0}
    write(store, nodes)
    found = detect_forest(node_features(store, settings), settings)
    assert found.anomalies.height == 0


def test_a_node_far_off_in_one_feature_is_flagged_with_that_driver(store: Store, settings: ForestSettings) -> None:
    nodes = tight()
    nodes["node020"]["gpu_temp_max"] = 88.0
    write(store, nodes)
    found = detect_forest(node_features(store, settings), settings)
    # the forest picks one feature per split, so in a fleet this small even a gross outlier scores about 4.5
    assert found.anomalies.select("host", "level", pl.col("score").round(2)).rows() == [("node020", "monitor", 4.5)]
    assert found.anomalies["detail"][0].startswith("off in gpu_temp_max 88 (median 40, z 150); anomaly score")


def test_all_equal_fleet_flags_nothing(store: Store, settings: ForestSettings) -> None:
    write(store, {f"node{i:03d}": dict(BASE) for i in range(1, 31)})
    features = node_features(store, settings)
    assert features.columns == ["host", "missing_features"]
    found = detect_forest(features, settings)
    assert found.anomalies.height == 0
    assert found.note == "isolation forest skipped: no feature varies across the 30 nodes"
    assert found.scores is None


def test_a_fleet_below_the_minimum_is_not_judged(store: Store, settings: ForestSettings) -> None:
    nodes = combination(tight(12))
    write(store, nodes)
    found = detect_forest(node_features(store, settings), settings)
    assert found.anomalies.height == 0
    assert found.anomalies.schema == anomalies.empty().schema
    assert found.note == "isolation forest skipped: 13 nodes with features, it needs at least 16"


def test_an_empty_store_is_not_judged(store: Store, settings: ForestSettings) -> None:
    features = node_features(store, settings)
    assert features.height == 0
    assert (
        detect_forest(features, settings).note
        == "isolation forest skipped: 0 nodes with features, it needs at least 16"
    )


def test_two_runs_give_identical_frames(store: Store, settings: ForestSettings) -> None:
    write(store, combination(tight()))
    first_features, second_features = node_features(store, settings), node_features(store, settings)
    assert_frame_equal(first_features, second_features)
    first, second = detect_forest(first_features, settings), detect_forest(second_features, settings)
    assert_frame_equal(first.anomalies, second.anomalies)
    assert first.scores is not None and second.scores is not None
    assert_frame_equal(first.scores, second.scores)


def test_the_fleet_is_scored_whole_but_rows_are_only_for_hosts_in_scope(store: Store, settings: ForestSettings) -> None:
    write(store, combination(tight()))
    features = node_features(store, settings)
    assert detect_forest(features, settings, hosts=["node001", "node002"]).anomalies.height == 0
    assert detect_forest(features, settings, hosts=["node041"]).anomalies["host"].to_list() == ["node041"]


def test_extra_columns_are_joined_and_judged_high_is_bad(store: Store, settings: ForestSettings) -> None:
    nodes = tight()
    hpl = [f["hpl_gflops"] for f in nodes.values()]
    nodes["node033"]["hpl_gflops"] = float(pl.Series(hpl).median()) - 2.5 * robust_sd(hpl)
    write(store, nodes)
    hosts = sorted(nodes)
    deltas = [0.0 if i % 4 else 1.0 for i in range(len(hosts))]  # benign one-off ticks on a quarter of the nodes
    deltas[hosts.index("node033")] = 12.0  # and node033 retrained its link a dozen times while its HPL was low
    deltas[hosts.index("node008")] = -5.0  # a counter reset: fewer is not worse
    deltas[hosts.index("node039")] = float("nan")  # unreadable: missing, like node040's that was never taken
    extra = pl.DataFrame({"host": hosts[:-1], "link_error_recovery_delta": deltas[:-1]})
    features = node_features(store, settings, extra=extra)
    assert features.columns[-2:] == ["link_error_recovery_delta", "missing_features"]
    gaps = features.filter(pl.col("host").is_in(["node039", "node040"]))
    assert gaps.select("link_error_recovery_delta", "missing_features").rows() == [(0.0, 1), (0.0, 1)]
    found = detect_forest(features, settings)
    assert found.anomalies["host"].to_list() == ["node033"]
    assert found.anomalies["detail"][0].startswith(
        "off in link_error_recovery_delta 12 (median 0, z 15), hpl_gflops 412,000 (median 420,000, z -2.5); "
    )


def test_extra_columns_must_be_new_and_numeric(store: Store, settings: ForestSettings) -> None:
    write(store, tight(20))
    with pytest.raises(ValueError, match="new numeric columns"):
        node_features(store, settings, extra=pl.DataFrame({"host": ["node001"], "hpl_gflops": [1.0]}))
    with pytest.raises(ValueError, match="one row per host"):
        node_features(store, settings, extra=pl.DataFrame({"host": ["node001", "node001"], "x": [1.0, 2.0]}))


# -- settings ----------------------------------------------------------------------------------------
def test_settings_load_what_the_file_says(settings: ForestSettings) -> None:
    assert settings.features[0] == Feature(
        name="nccl_busbw",
        test="nccl_*",
        metric="busbw",
        aggregate="mean",
        bad="low",
        params=(ParamFilter("size", min=1048576.0), ParamFilter("placement", equals="out_of_place")),
    )
    assert settings.features[4].device_aggregate == "max"
    assert settings.levels == {"monitor": 3.5, "investigate": 6.0, "drain": 10.0}
    assert settings.threshold == 3.5
    assert settings.direction("gpu_temp_max") == "high"
    assert settings.direction("someone_elses_delta") == "high"


def test_the_shipped_settings_load() -> None:
    assert SHIPPED.min_nodes == 16
    assert SHIPPED.random_state == 0
    assert SHIPPED.threshold == 3.5
    assert len(SHIPPED.features) == 20
    assert {f.bad for f in SHIPPED.features} == {"low", "high"}


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        pytest.param("drivers: 3\n", "drivers: 3\nfoo: 1\n", ":9: unknown setting 'foo'", id="unknown-key"),
        pytest.param("drivers: 3\n", "drivers: 3\ndrivers: 4\n", ":9: duplicate key 'drivers'", id="duplicate-key"),
        pytest.param("n_estimators: 200\n", "", ": setting 'n_estimators' is missing", id="missing-key"),
        pytest.param(
            "random_state: 0\n",
            "random_state: -1\n",
            ":3: random_state must be a whole number >= 0, not -1",
            id="negative-seed",
        ),
        pytest.param(
            "min_nodes: 16\n",
            "min_nodes: many\n",
            ":4: min_nodes must be a whole number >= 3, not 'many'",
            id="text-number",
        ),
        pytest.param(
            "max_missing: 0.5\n",
            "max_missing: 1.5\n",
            ":5: max_missing must be a fraction between 0 and 1",
            id="fraction",
        ),
        pytest.param(
            "combined_deviation: true\n",
            "combined_deviation: 1\n",
            ":6: combined_deviation must be true or false",
            id="not-bool",
        ),
        pytest.param("monitor: 3.5,", "monitor: 7.0,", ":7: levels must rise from monitor to drain", id="levels-order"),
        pytest.param("monitor: 3.5,", "watch: 3.5,", ":7: unknown setting 'watch'", id="unknown-level"),
        pytest.param(
            "extra_bad: high\n",
            "extra_bad: up\n",
            ":10: extra_bad must be one of low, high, both, not 'up'",
            id="extra-direction",
        ),
        pytest.param(
            "    aggregate: mean\n",
            "    aggregate: average\n",
            ":16: aggregate must be one of min, max, mean, median, sum, not 'average'",
            id="aggregate",
        ),
        pytest.param(
            "  - name: hpl_gflops\n",
            "  - name: HPL\n",
            ":18: feature name 'HPL' must be lower_snake_case",
            id="feature-name",
        ),
        pytest.param(
            "  - name: hpl_gflops\n",
            "  - name: nccl_busbw\n",
            ":18: duplicate feature name 'nccl_busbw'",
            id="duplicate-feature",
        ),
        pytest.param("    metric: gflops\n", "", ":18: setting 'metric' is missing", id="feature-without-metric"),
        pytest.param(
            "    aggregate: min\n    bad: low\n  - name: h2d",
            "    aggregate: min\n  - name: h2d",
            ":18: setting 'bad' is missing",
            id="feature-without-direction",
        ),
        pytest.param(
            "    device_aggregate: max\n",
            "    device_aggregate: last\n",
            ":36: device_aggregate must be one of min, max, mean, median, sum, not 'last'",
            id="device-aggregate",
        ),
        pytest.param(
            "{size: {min: 1048576},",
            "{size: {min: 1048576, max: 8},",
            ":15: parameter 'size' has min above max",
            id="bounds-order",
        ),
        pytest.param(
            "{size: {min: 1048576},", "{size: {at_least: 1048576},", ":15: unknown setting 'at_least'", id="bound-key"
        ),
        pytest.param(
            "{size: {min: 1048576},", "{size: {min: big},", ":15: min must be a number, not 'big'", id="bound-value"
        ),
        pytest.param(
            "{size: {min: 1048576},",
            '{"size)": 8,',
            ":15: parameter name 'size)' must be a plain identifier",
            id="param-name",
        ),
        pytest.param(
            "placement: out_of_place}",
            "placement: [a, b]}",
            ":15: parameter 'placement' must be a text, a number, a boolean or min/max bounds",
            id="param-list",
        ),
        pytest.param(
            SETTINGS[SETTINGS.index("features:") :],
            "features: []\n",
            ":11: features must be a non-empty list",
            id="no-features",
        ),
    ],
)
def test_bad_settings_name_the_file_and_line(tmp_path: Path, old: str, new: str, error: str) -> None:
    assert old in SETTINGS
    with pytest.raises(TriageError) as info:
        load(tmp_path, SETTINGS.replace(old, new, 1))
    message = str(info.value)
    assert message.startswith(str(tmp_path / "detect" / "forest.yaml"))
    assert error in message


# -- the sample fleet --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """datasets/sample-fleet/hosts ingested once into a store of its own."""
    with Store.open(tmp_path_factory.mktemp("sample") / "triage.duckdb") as store:
        ingest(store, [str(SAMPLE / "hosts")])
        yield store


def test_the_sample_fleet_flags_faulty_nodes_only(sample_store: Store) -> None:
    features = node_features(sample_store, SHIPPED)
    assert features.height == 24
    found = detect_forest(features, SHIPPED)
    assert found.note is None
    assert found.anomalies.select("host", "level").rows() == [
        ("node0001", "investigate"),
        ("node0007", "investigate"),
        ("node0021", "monitor"),
        ("node0022", "monitor"),
    ]
    with (SAMPLE / "truth.csv").open(newline="") as fh:
        faults = {row["host"]: row["fault"] for row in csv.DictReader(fh)}
    # a bad cable, a downtrained PCIe link, a hot GPU and an HBM remap failure; all truly faulty
    assert [faults[h] for h in found.anomalies["host"]] == [
        "ib_cable",
        "pcie_downtrained",
        "gpu_thermal",
        "hbm_remap_failure",
    ]
    assert found.anomalies["detail"][1].startswith(
        "off in d2h_bw_min 27.88 (median 55.14, z -31), h2d_bw_min 27.73 (median 54.96, z -30), "
        "pcie_width_min 8 (median 16, z -19)"
    )
