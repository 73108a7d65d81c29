"""Fleet outliers: robust z per cohort over measurements in a real store."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from triage.detect.cohorts import MetricSpec, OutlierSettings, watched
from triage.detect.outliers import detect_outliers
from triage.store import Store

LEVELS = {"monitor": 1.5, "investigate": 2.0, "drain": 3.0}


def settings(*metrics: MetricSpec, min_cohort: int = 8) -> OutlierSettings:
    return OutlierSettings(min_cohort=min_cohort, levels=LEVELS, cohort_by=("model", "driver"), metrics=metrics)


def measure(store: Store, rows: list[tuple], test: str = "hpl", metric: str = "gflops", unit: str = "Gflops") -> None:
    """rows: (host, device, value[, params]) appended as measurements of `test`/`metric`."""
    frame = pl.DataFrame(
        {
            "host": [r[0] for r in rows],
            "device": [r[1] for r in rows],
            "test": test,
            "metric": metric,
            "value": [float(r[2]) for r in rows],
            "unit": unit,
            "params": [r[3] if len(r) > 3 else None for r in rows],
            "file_id": list(range(1, len(rows) + 1)),
            "line_no": 7,
        }
    )
    store.append("measurements", frame)


def gpu_assets(store: Store, hosts: dict[str, tuple[str, str]]) -> None:
    """hosts: host -> (model, driver) for one GPU asset each."""
    store.append(
        "assets",
        pl.DataFrame(
            {
                "host": list(hosts),
                "kind": "gpu",
                "device": "0000:3b:00.0",
                "model": [m for m, _ in hosts.values()],
                "driver": [d for _, d in hosts.values()],
            }
        ),
    )


HPL = MetricSpec("hpl", "gflops", "low", min_change=0.035)


def fleet(values: list[float]) -> list[tuple]:
    return [(f"n{i:02d}", None, v) for i, v in enumerate(values)]


def run(store: Store, spec_settings: OutlierSettings, hosts: list[str] | None = None) -> tuple[pl.DataFrame, list[str]]:
    return detect_outliers(watched(store, spec_settings), spec_settings, hosts)


def test_one_low_node_is_the_only_outlier(store: Store) -> None:
    # 10 nodes around 400 (MAD 1), one at 340: robust z = 60 / 1.4826 = 40.47
    measure(store, fleet([399, 400, 401, 399, 400, 401, 400, 399, 401, 400, 340]))
    found, notes = run(store, settings(HPL))
    assert notes == []
    assert found.select(
        "host", "device", "detector", "metric", "value", "baseline", "score", "threshold", "level"
    ).rows() == [("n10", None, "fleet_outlier", "gflops", 340.0, 400.0, 40.47, 3.0, "drain")]
    assert found["detail"][0] == "hpl gflops 340.0 Gflops is 15.0% below the cohort median 400.0 (robust z 40.5)"
    assert found["cohort"][0] == "hpl gflops on 11 nodes (model unknown, driver unknown)"
    assert found["evidence"].to_list() == [[{"file_id": 11, "line_no": 7}]]


@pytest.mark.parametrize(
    ("value", "level"),
    [
        pytest.param(397.0, None, id="z-1.0-below-monitor"),
        pytest.param(395.4, "monitor", id="z-1.55-monitor"),
        pytest.param(394.0, "investigate", id="z-2.02-investigate"),
        pytest.param(391.0, "drain", id="z-3.04-drain"),
    ],
)
def test_levels_follow_the_robust_z(store: Store, value: float, level: str | None) -> None:
    # centre 400, MAD 2 -> spread 2.9652, z = (400 - value) / 2.9652; no min_change, so only z decides
    measure(store, fleet([396, 398, 400, 402, 404, 396, 398, 400, 402, 404, value]))
    found, _ = run(store, settings(MetricSpec("hpl", "gflops", "low")))
    assert found["level"].to_list() == ([level] if level else [])


def test_high_values_are_good_when_only_low_is_bad(store: Store) -> None:
    measure(store, fleet([399, 400, 401, 399, 400, 401, 400, 399, 401, 400, 480]))
    found, _ = run(store, settings(HPL))
    assert found.is_empty()


def test_high_is_bad_mirrors_the_score(store: Store) -> None:
    measure(
        store,
        fleet([40, 41, 42, 40, 41, 42, 41, 40, 42, 41, 90]),
        test="nvidia_smi",
        metric="temperature_gpu",
        unit="C",
    )
    found, _ = run(store, settings(MetricSpec("nvidia_smi", "temperature_gpu", "high", min_delta=15)))
    assert found.select("host", "value", "baseline", "level").rows() == [("n10", 90.0, 41.0, "drain")]
    assert (
        found["detail"][0] == "nvidia_smi temperature_gpu 90.0 C is 49.0 C above the cohort median 41.0 (robust z 33.1)"
    )


def test_min_change_keeps_tiny_but_significant_dips_out(store: Store) -> None:
    # 2% low: z is huge in a tight cohort, but HPL's min_change is 3.5%
    measure(store, fleet([400.0] * 5 + [400.1] * 5 + [392.0]))
    found, _ = run(store, settings(HPL))
    assert found.is_empty()


def test_all_equal_values_have_no_outliers(store: Store) -> None:
    measure(store, fleet([400.0] * 12))
    found, _ = run(store, settings(HPL))
    assert found.is_empty()


def test_mad_zero_falls_back_to_the_mean_absolute_deviation(store: Store) -> None:
    # 11 GPUs with no corrected errors, one with 38: MAD 0, mean AD 38/12, spread 1.2533 * 38 / 12, z = 12 / 1.2533
    rows = [(f"n{i:02d}", "0000:3b:00.0", 0.0) for i in range(11)] + [("n11", "0000:3b:00.0", 38.0)]
    measure(store, rows, test="nvidia_smi", metric="ecc_volatile_correctable", unit="count")
    found, _ = run(store, settings(MetricSpec("nvidia_smi", "ecc_volatile_correctable", "high", min_delta=10)))
    assert found.select("host", "device", "score", "level").rows() == [("n11", "0000:3b:00.0", 9.57, "drain")]
    assert found["detail"][0] == (
        "nvidia_smi ecc_volatile_correctable 38.0 count is 38.0 count above the cohort median 0 (robust z 9.6)"
    )


def test_small_cohort_is_skipped_with_a_note(store: Store) -> None:
    measure(store, fleet([400, 400, 400, 340]))
    found, notes = run(store, settings(HPL))
    assert found.is_empty()
    assert notes == ["1 cohort(s) under 8 members not judged (largest 4): hpl gflops"]


def test_cohorts_split_by_gpu_model(store: Store) -> None:
    # 10 H100 nodes at 400 and 10 A100 nodes at 150: each is normal in its own cohort
    rows = fleet([399, 400, 401, 399, 400, 401, 400, 399, 401, 400]) + [
        (f"a{i:02d}", None, v) for i, v in enumerate([149, 150, 151, 149, 150, 151, 150, 149, 151, 150])
    ]
    measure(store, rows)
    gpu_assets(store, {h: ("H100", "550") for h, _, _ in rows[:10]} | {h: ("A100", "550") for h, _, _ in rows[10:]})
    found, _ = run(store, settings(HPL))
    assert found.is_empty()
    merged, _ = run(store, OutlierSettings(min_cohort=8, levels=LEVELS, cohort_by=(), metrics=(HPL,)))
    assert merged.is_empty()  # one cohort of 20 has a bimodal spread: nobody is 3 robust sd below 275


def test_parameter_sets_collapse_to_the_worst(store: Store) -> None:
    sizes = ['{"size":67108864}', '{"size":134217728}', '{"size":268435456}']
    rows = [(f"n{i:02d}", None, 400.0 + (i % 3), size) for i in range(10) for size in sizes]
    rows += [("n10", None, 300.0, sizes[0]), ("n10", None, 350.0, sizes[1]), ("n10", None, 401.0, sizes[2])]
    measure(store, rows, test="nccl_all_reduce", metric="busbw", unit="GB/s")
    spec = MetricSpec("nccl_*", "busbw", "low", min_change=0.05, min_size=67108864)
    found, _ = run(store, settings(spec))
    assert found.select("host", "value", "baseline", "level").rows() == [("n10", 300.0, 401.0, "drain")]
    assert found["detail"][0].endswith("(off at 2 of 3 parameter sets; worst shown)")


def test_min_size_drops_latency_bound_sizes(store: Store) -> None:
    rows = [(f"n{i:02d}", None, 20.0 + i % 2, '{"size":1024}') for i in range(10)] + [
        ("n10", None, 5.0, '{"size":1024}')
    ]
    measure(store, rows, test="nccl_all_reduce", metric="busbw", unit="GB/s")
    found, _ = run(store, settings(MetricSpec("nccl_*", "busbw", "low", min_change=0.05, min_size=67108864)))
    assert found.is_empty()


def test_hosts_limit_the_rows_not_the_cohort(store: Store) -> None:
    measure(store, fleet([399, 400, 401, 399, 400, 401, 400, 399, 401, 400, 340]))
    assert run(store, settings(HPL), hosts=["n01"])[0].is_empty()
    assert run(store, settings(HPL), hosts=["n10"])[0]["host"].to_list() == ["n10"]


def test_repeated_runs_reduce_to_their_median(store: Store) -> None:
    rows = [*fleet([399, 400, 401, 399, 400, 401, 400, 399, 401, 400]), ("n10", None, 340.0), ("n10", None, 400.0)]
    rows.append(("n10", None, 401.0))
    measure(store, rows)
    found, _ = run(store, settings(HPL))
    assert found.is_empty()


def test_reduce_last_takes_the_latest_snapshot(store: Store) -> None:
    measure(store, [(f"n{i:02d}", "mlx5_0/1", 400.0) for i in range(10)], test="ibstat", metric="rate", unit="Gbit/s")
    # n10's port read 400 Gbit/s, then 10 Gbit/s in the later snapshot: the last one counts, not the median
    store.append(
        "measurements",
        pl.DataFrame(
            {
                "host": ["n10", "n10", "n10"],
                "device": "mlx5_0/1",
                "test": "ibstat",
                "metric": "rate",
                "value": [400.0, 400.0, 10.0],
                "unit": "Gbit/s",
                "ts": [dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 2), dt.datetime(2026, 11, 3)],
                "file_id": [52, 51, 50],
                "line_no": 3,
            }
        ),
    )
    found, _ = run(store, settings(MetricSpec("ib*", "rate", "low", min_change=0.25, reduce="last")))
    assert found.select("host", "device", "value").rows() == [("n10", "mlx5_0/1", 10.0)]
    assert run(store, settings(MetricSpec("ib*", "rate", "low", min_change=0.25)))[0].is_empty()
