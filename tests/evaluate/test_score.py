"""Scoring: hand-made truths and predictions with scores worked out by hand."""

from __future__ import annotations

from fractions import Fraction

import polars as pl
import pytest

from triage.evaluate import EVAL_SCHEMA, Evaluation, Predictions, load_taxonomy, predictions_from_diagnoses, score

# Seven hosts with two GPUs each. Truth statuses: h1, h2, h7 healthy (h7's fault is the
# application's), h3, h4, h5 faulty, h6 suspect. Five truth faults.
GPUS = ("0000:18:00.0", "0000:3b:00.0")
TRUTH = [
    ("h1", "", "none", "none"),
    ("h2", "", "none", "none"),
    ("h3", "0000:3B:00.0", "gpu_memory", "rma_gpu"),
    ("h4", "mlx5_0/1", "infiniband_link", "replace_cable"),
    ("h5", "", "driver_firmware", "reboot_node"),
    ("h6", "", "performance", "rerun_test"),
    ("h7", "0000:18:00.0", "application", "restart_app"),
]
HOSTS = [f"h{i}" for i in range(1, 8)]
TRUTH_CAUSES = ["gpu_memory", "infiniband_link", "driver_firmware", "application", "performance"]


def truth_frame(rows: list[tuple[str, str, str, str]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["host", "device", "root_cause", "action"], orient="row").with_row_index(
        "line_no", offset=2
    )


def claims(rows: list[tuple[str, str | None, str, str]], hosts: list[str] | None = None) -> Predictions:
    frame = pl.DataFrame(
        rows,
        schema={"host": pl.String, "device": pl.String, "root_cause": pl.String, "action": pl.String},
        orient="row",
    )
    return predictions_from_diagnoses(frame, hosts, source="report", path="report.json")


def report(statuses: dict[str, str], rows: list[tuple[str, str | None, str, str]]) -> Predictions:
    """Predictions with the statuses a report states (not derived)."""
    derived = claims(rows, list(statuses))
    given = pl.DataFrame({"host": list(statuses), "status": list(statuses.values())})
    return Predictions("report", "report.json", given, derived.diagnoses)


def by_cause(result: Evaluation) -> dict[str, tuple[int, int, int, int, int, float, float, float]]:
    """Root cause -> (support, predicted, tp, fp, fn, precision, recall, f1), causes with any count only."""
    return {
        row[0]: row[1:]
        for row in result.root_causes.iter_rows()
        if row[1] or row[2]  # support or predicted
    }


PERFECT = [
    ("h3", "0000:3b:00.0", "gpu_memory", "rma_gpu"),
    ("h4", "mlx5_0/1", "infiniband_link", "replace_cable"),
    ("h5", None, "driver_firmware", "reboot_node"),
    ("h6", None, "performance", "rerun_test"),
    ("h7", "0000:18:00.0", "application", "restart_app"),
]
# rma_gpu / gpu_memory on every GPU of every host.
ALL_FAULTY = [(host, gpu, "gpu_memory", "rma_gpu") for host in HOSTS for gpu in GPUS]


def test_perfect_report_scores_one_everywhere() -> None:
    result = score(truth_frame(TRUTH), claims(PERFECT, HOSTS))
    assert result.status_accuracy == 1.0
    assert result.macro_f1 == 1.0
    assert result.macro_f1_root_causes == TRUTH_CAUSES
    assert by_cause(result) == {cause: (1, 1, 1, 0, 0, 1.0, 1.0, 1.0) for cause in TRUTH_CAUSES}
    assert (result.truth_faults, result.claims, result.missed_faults, result.missed_fault_rate) == (5, 5, 0, 0.0)
    assert (result.rma_claims, result.false_rma, result.false_rma_rate) == (2, 0, 0.0)
    assert (result.healthy_hosts, result.false_rma_host_count, result.false_rma_hosts) == (3, 0, 0.0)
    assert result.confusion == {
        "healthy": {"healthy": 3, "suspect": 0, "faulty": 0},
        "suspect": {"healthy": 0, "suspect": 1, "faulty": 0},
        "faulty": {"healthy": 0, "suspect": 0, "faulty": 3},
    }
    assert result.hosts.rows() == [
        ("h1", "healthy", "healthy", True),
        ("h2", "healthy", "healthy", True),
        ("h3", "faulty", "faulty", True),
        ("h4", "faulty", "faulty", True),
        ("h5", "faulty", "faulty", True),
        ("h6", "suspect", "suspect", True),
        ("h7", "healthy", "healthy", True),
    ]
    assert result.unscored_hosts == []


def test_all_healthy_report() -> None:
    result = score(truth_frame(TRUTH), report(dict.fromkeys(HOSTS, "healthy"), []))
    assert result.status_accuracy == pytest.approx(3 / 7)  # the three truth-healthy hosts
    assert result.macro_f1 == 0.0
    assert by_cause(result) == {cause: (1, 0, 0, 0, 1, 0.0, 0.0, 0.0) for cause in TRUTH_CAUSES}
    assert (result.missed_faults, result.missed_fault_rate) == (5, 1.0)
    assert (result.rma_claims, result.false_rma, result.false_rma_rate, result.false_rma_hosts) == (0, 0, 0.0, 0.0)
    assert result.confusion["faulty"] == {"healthy": 3, "suspect": 0, "faulty": 0}
    assert result.confusion["suspect"] == {"healthy": 1, "suspect": 0, "faulty": 0}


def test_all_faulty_report() -> None:
    result = score(truth_frame(TRUTH), claims(ALL_FAULTY, HOSTS))
    assert result.status_accuracy == pytest.approx(3 / 7)  # h3, h4, h5
    # gpu_memory: the one truth fault (h3's 0000:3B:00.0) found, 13 of the 14 claims wrong.
    precision, recall = Fraction(1, 14), Fraction(1)
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 == Fraction(2, 15)
    causes = by_cause(result)
    assert causes["gpu_memory"] == pytest.approx((1, 14, 1, 13, 0, float(precision), 1.0, float(f1)))
    assert {c: v[:5] for c, v in causes.items() if c != "gpu_memory"} == {
        c: (1, 0, 0, 0, 1) for c in TRUTH_CAUSES if c != "gpu_memory"
    }
    assert result.macro_f1 == pytest.approx(float(f1) / 5)
    # False RMAs: both GPUs of h1, h2 and h7 (healthy), h3's other GPU, both GPUs of h4 (its fault is
    # a cable); h5's and h6's node-level truth rows cover their GPUs.
    assert (result.rma_claims, result.false_rma) == (14, 9)
    assert result.false_rma_rate == pytest.approx(9 / 14)
    assert (result.healthy_hosts, result.false_rma_host_count, result.false_rma_hosts) == (3, 3, 1.0)
    # Missed: only h4's HCA port has no claim at all.
    assert (result.missed_faults, result.missed_fault_rate) == (1, 0.2)
    assert result.confusion["healthy"] == {"healthy": 0, "suspect": 0, "faulty": 3}


def test_hosts_missing_from_the_report_count_as_healthy() -> None:
    result = score(truth_frame(TRUTH), claims(PERFECT[:1], ["h1", "h2", "h3"]))
    assert (
        result.hosts.filter(pl.col("host").is_in(["h4", "h5", "h6", "h7"]))["predicted_status"].to_list()
        == ["healthy"] * 4
    )
    assert result.status_accuracy == pytest.approx(4 / 7)  # h1, h2, h3 and h7 (truth healthy)
    assert (result.missed_faults, result.missed_fault_rate) == (4, 0.8)
    assert result.macro_f1 == pytest.approx(1 / 5)


@pytest.mark.parametrize(
    ("claim", "tp", "fp", "missed"),
    [
        pytest.param(("h", "0000:3b:00.0", "driver_firmware", "reset_gpu"), 1, 0, 0, id="claim-on-a-device"),
        pytest.param(("h", None, "driver_firmware", "reboot_node"), 1, 0, 0, id="node-level-claim"),
        pytest.param(("h", "0000:3b:00.0", "gpu_hardware", "rma_gpu"), 0, 0, 0, id="other-cause-not-missed"),
        pytest.param(("h", None, "driver_firmware", "none"), 0, 0, 1, id="action-none-ignored"),
        pytest.param(("x", None, "driver_firmware", "reboot_node"), 0, 0, 1, id="other-host"),
    ],
)
def test_node_level_truth_row(claim: tuple[str, str | None, str, str], tp: int, fp: int, missed: int) -> None:
    result = score(truth_frame([("h", "", "driver_firmware", "reboot_node")]), claims([claim]))
    [(support, _, got_tp, got_fp, fn, *_)] = [by_cause(result)["driver_firmware"]]
    assert (support, got_tp, got_fp, fn, result.missed_faults) == (1, tp, fp, 1 - tp, missed)


@pytest.mark.parametrize(
    ("device", "matched", "false_rma"),
    [
        pytest.param("0000:3b:00.0", True, 0, id="lowercase"),
        pytest.param("0000:3B:00.0", True, 0, id="same-case"),
        pytest.param(" 0000:3B:00.0 ", True, 0, id="spaces"),
        pytest.param("0000:3b:00.1", False, 1, id="other-function"),
        # A node-level claim matches only node-level truth; as an RMA it is not false on a faulty host.
        pytest.param(None, False, 0, id="node-level-claim-for-a-device-fault"),
        pytest.param("", False, 0, id="empty-device-claim"),
    ],
)
def test_device_match_is_case_insensitive_and_exact_otherwise(
    device: str | None, matched: bool, false_rma: int
) -> None:
    result = score(
        truth_frame([("h", "0000:3B:00.0", "gpu_memory", "rma_gpu")]), claims([("h", device, "gpu_memory", "rma_gpu")])
    )
    assert by_cause(result)["gpu_memory"][2:5] == ((1, 0, 0) if matched else (0, 1, 1))
    assert result.missed_faults == (0 if matched else 1)
    assert result.false_rma == false_rma


def test_predictions_with_action_none_claim_nothing() -> None:
    result = score(
        truth_frame([("h", "0000:3b:00.0", "gpu_memory", "rma_gpu"), ("g", "", "none", "none")]),
        claims([("h", "0000:3b:00.0", "gpu_memory", "none"), ("g", "0000:3b:00.0", "gpu_hardware", "none")]),
    )
    assert result.claims == 0
    assert by_cause(result) == {"gpu_memory": (1, 0, 0, 0, 1, 0.0, 0.0, 0.0)}
    assert result.missed_fault_rate == 1.0
    assert result.hosts.rows() == [("g", "healthy", "healthy", True), ("h", "faulty", "healthy", False)]


@pytest.mark.parametrize(
    ("truth", "claim", "false"),
    [
        pytest.param(("h", "", "none", "none"), ("h", "0000:3b:00.0", "gpu_hardware", "rma_gpu"), 1, id="healthy-host"),
        pytest.param(
            ("h", "0000:3b:00.0", "application", "restart_app"),
            ("h", "0000:3b:00.0", "gpu_hardware", "rma_gpu"),
            1,
            id="application-fault-is-no-hardware-fault",
        ),
        pytest.param(
            ("h", "0000:3b:00.0", "gpu_memory", "reset_gpu"),
            ("h", "0000:3b:00.0", "gpu_hardware", "rma_gpu"),
            0,
            id="wrong-cause-right-device",
        ),
        pytest.param(
            ("h", "0000:3b:00.0", "gpu_memory", "rma_gpu"),
            ("h", "0000:18:00.0", "gpu_memory", "rma_gpu"),
            1,
            id="other-device-of-a-faulty-host",
        ),
        pytest.param(
            ("h", "mlx5_0/1", "infiniband_link", "monitor"),
            ("h", "MLX5_0/1", "infiniband_link", "replace_cable"),
            0,
            id="suspect-device-replace-cable",
        ),
        pytest.param(
            ("h", "", "host_hardware", "contact_vendor"),
            ("h", "0000:3b:00.0", "gpu_hardware", "rma_gpu"),
            0,
            id="node-level-truth-covers-devices",
        ),
        pytest.param(
            ("h", "0000:3b:00.0", "gpu_memory", "rma_gpu"),
            ("h", None, "host_hardware", "rma_node"),
            0,
            id="node-level-claim-on-a-faulty-host",
        ),
        pytest.param(
            ("h", "", "none", "none"), ("h", None, "host_hardware", "rma_node"), 1, id="node-level-claim-healthy-host"
        ),
        pytest.param(
            ("h", "", "none", "none"), ("h", "0000:3b:00.0", "gpu_hardware", "reset_gpu"), 0, id="reset-is-no-rma"
        ),
    ],
)
def test_false_rma(truth: tuple[str, str, str, str], claim: tuple[str, str | None, str, str], false: int) -> None:
    result = score(truth_frame([truth]), claims([claim]))
    rma = int(claim[3].startswith("rma_") or claim[3] == "replace_cable")
    assert (result.rma_claims, result.false_rma, result.false_rma_rate) == (rma, false, float(false))


def test_false_rma_hosts_is_a_share_of_truth_healthy_hosts() -> None:
    truth = truth_frame([("a", "", "none", "none"), ("b", "", "none", "none"), ("c", "", "none", "none")])
    result = score(
        truth, claims([("a", "mlx5_1/1", "infiniband_link", "replace_cable"), ("b", None, "unknown", "monitor")])
    )
    assert (result.healthy_hosts, result.false_rma_host_count, result.false_rma_hosts) == (3, 1, pytest.approx(1 / 3))
    assert (result.rma_claims, result.false_rma, result.false_rma_rate) == (1, 1, 1.0)
    assert result.confusion["healthy"] == {"healthy": 1, "suspect": 1, "faulty": 1}


def test_report_status_wins_over_its_actions() -> None:
    truth = truth_frame([("h", "0000:3b:00.0", "gpu_memory", "rma_gpu")])
    result = score(truth, report({"h": "suspect"}, [("h", "0000:3b:00.0", "gpu_memory", "rma_gpu")]))
    assert result.hosts.rows() == [("h", "faulty", "suspect", False)]
    assert by_cause(result)["gpu_memory"][2] == 1  # the device-level claim still counts


def test_predicted_hosts_outside_the_truth_are_not_scored() -> None:
    truth = truth_frame([("h", "", "none", "none")])
    result = score(truth, claims([("z", "0000:3b:00.0", "gpu_memory", "rma_gpu"), ("y", None, "unknown", "monitor")]))
    assert result.unscored_hosts == ["y", "z"]
    assert (result.claims, result.rma_claims, result.false_rma) == (0, 0, 0)
    assert by_cause(result) == {}
    assert result.macro_f1 is None  # the truth has no fault


def test_duplicate_truth_rows_count_once_and_one_claim_serves_a_node_and_a_device_row() -> None:
    truth = truth_frame(
        [
            ("h", "0000:3b:00.0", "gpu_hardware", "rma_gpu"),
            ("h", "0000:3B:00.0", "gpu_hardware", "rma_gpu"),
            ("h", "", "gpu_hardware", "reboot_node"),
        ]
    )
    result = score(truth, claims([("h", "0000:3b:00.0", "gpu_hardware", "rma_gpu")] * 2))
    assert by_cause(result)["gpu_hardware"] == (2, 2, 2, 0, 0, 1.0, 1.0, 1.0)


@pytest.mark.parametrize(
    ("actions", "status"),
    [
        pytest.param(["none"], "healthy", id="none"),
        pytest.param(["restart_app", "none"], "healthy", id="application"),
        pytest.param(["monitor"], "suspect", id="monitor"),
        pytest.param(["rerun_test", "investigate"], "suspect", id="rerun-investigate"),
        pytest.param(["monitor", "restart_fabric_manager"], "faulty", id="fabric-manager"),
        pytest.param(["check_mechanicals"], "faulty", id="mechanicals"),
        pytest.param(["rma_dimm", "monitor"], "faulty", id="rma"),
        pytest.param(["contact_vendor"], "faulty", id="vendor"),
    ],
)
def test_derived_host_status(actions: list[str], status: str) -> None:
    predicted = claims([("h", None, "unknown", a) for a in actions])
    assert predicted.hosts.rows() == [("h", status)]


def test_root_causes_are_listed_in_taxonomy_order_with_their_columns() -> None:
    result = score(truth_frame(TRUTH), claims(PERFECT, HOSTS))
    assert result.root_causes["root_cause"].to_list() == list(load_taxonomy().root_causes)
    assert result.root_causes.columns == [
        "root_cause",
        "support",
        "predicted",
        "tp",
        "fp",
        "fn",
        "precision",
        "recall",
        "f1",
    ]


def test_as_dict_keys_and_values() -> None:
    result = score(truth_frame(TRUTH), claims(ALL_FAULTY, HOSTS))
    doc = result.as_dict()
    assert list(doc) == [
        "schema", "truth", "source", "hosts", "truth_status", "status_accuracy", "status_correct",
        "status_confusion", "macro_f1", "macro_f1_root_causes", "root_causes", "truth_faults", "claims",
        "missed_faults", "missed_fault_rate", "rma_claims", "false_rma", "false_rma_rate", "healthy_hosts",
        "false_rma_host_count", "false_rma_hosts", "unscored_hosts", "per_host",
    ]  # fmt: skip
    assert doc["schema"] == EVAL_SCHEMA == "triage.eval/v1"
    assert doc["source"] == {"kind": "report", "path": "report.json"}
    assert (doc["hosts"], doc["truth_status"]) == (7, {"healthy": 3, "suspect": 1, "faulty": 3})
    assert (doc["status_correct"], doc["truth_faults"], doc["claims"], doc["rma_claims"], doc["false_rma"]) == (
        3,
        5,
        14,
        14,
        9,
    )
    assert doc["per_host"][0] == {
        "host": "h1",
        "truth_status": "healthy",
        "predicted_status": "faulty",
        "correct": False,
    }
    assert set(doc["root_causes"][0]) == {
        "root_cause",
        "support",
        "predicted",
        "tp",
        "fp",
        "fn",
        "precision",
        "recall",
        "f1",
    }
