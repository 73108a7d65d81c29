"""Loading truth.csv: the columns it needs, the values it allows, one-line errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.errors import InputError
from triage.evaluate import load_truth

GOOD = """host,device,root_cause,action,fault
node001,,none,none,
node002,0000:3B:00.0,gpu_memory,rma_gpu,hbm_remap_failure
node003, mlx5_0/1 ,infiniband_link,replace_cable,ib_cable

node004,,driver_firmware,reboot_node,driver_mismatch
"""


def test_loads_rows_with_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "truth.csv"
    path.write_text(GOOD)
    frame = load_truth(path)
    assert frame.columns == ["host", "device", "root_cause", "action", "line_no"]
    assert frame.rows() == [
        ("node001", "", "none", "none", 2),
        ("node002", "0000:3B:00.0", "gpu_memory", "rma_gpu", 3),
        ("node003", "mlx5_0/1", "infiniband_link", "replace_cable", 4),
        ("node004", "", "driver_firmware", "reboot_node", 6),
    ]


def test_a_folder_means_its_truth_csv_and_columns_may_come_in_any_order(tmp_path: Path) -> None:
    (tmp_path / "truth.csv").write_bytes(b"\xef\xbb\xbfaction,root_cause,extra,device,host\r\nnone,none,x,,n1\r\n")
    assert load_truth(tmp_path).rows() == [("n1", "", "none", "none", 2)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        pytest.param("", "{p}: empty file (expected a CSV header with host, device, root_cause, action)", id="empty"),
        pytest.param(
            "\n\n", "{p}: empty file (expected a CSV header with host, device, root_cause, action)", id="blank"
        ),
        pytest.param(
            "host,device,root_cause\nn1,,none\n",
            "{p}:1: missing column(s) action (the header needs host, device, root_cause, action; "
            "it has host, device, root_cause)",
            id="missing-column",
        ),
        pytest.param(
            "host,device,cause,action\n",
            "{p}:1: missing column(s) root_cause (the header needs host, device, root_cause, action; "
            "it has host, device, cause, action)",
            id="misnamed-column",
        ),
        pytest.param(
            "host,device,root_cause,action,host\n", "{p}:1: column host appears twice in the header", id="repeated"
        ),
        pytest.param(
            "host,device,root_cause,action\n",
            "{p}: no rows after the header (a healthy host needs a row with root_cause none)",
            id="no-rows",
        ),
        pytest.param(
            "host,device,root_cause,action\nn1,,none,none\nn2,,none\n",
            "{p}:3: 3 field(s) where the header has 4",
            id="short-row",
        ),
        pytest.param(
            "host,device,root_cause,action\nn1,,none,none\n,gpu0,gpu_memory,rma_gpu\n",
            "{p}:3: empty host",
            id="empty-host",
        ),
        pytest.param(
            "host,device,root_cause,action\nn1,,none,none\n\nn2,gpu0,gpu_hw,rma_gpu\nn3,,bogus,none\n",
            "{p}:4: unknown root_cause 'gpu_hw' (expected a taxonomy root cause or none)",
            id="unknown-root-cause",
        ),
        pytest.param(
            "host,device,root_cause,action\nn1,gpu0,gpu_memory,RMA_GPU\n",
            "{p}:2: unknown action 'RMA_GPU' (expected a taxonomy action or none)",
            id="unknown-action",
        ),
        pytest.param(
            "host,device,root_cause,action\nn1,,none,monitor\n",
            "{p}:2: root_cause none with action 'monitor' (a row without a fault takes action none)",
            id="none-with-action",
        ),
    ],
)
def test_bad_truth_files_raise_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "truth.csv"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_truth(path)
    assert str(info.value) == message.format(p=path)
    assert "\n" not in str(info.value)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^.*/nothere\.csv: no such file$"):
        load_truth(tmp_path / "nothere.csv")
    with pytest.raises(InputError, match=r"^.*/truth\.csv: no such file$"):
        load_truth(tmp_path)  # a folder without truth.csv
    (tmp_path / "latin1.csv").write_bytes(b"host,device,root_cause,action\nn\xe9,,none,none\n")
    with pytest.raises(InputError, match=r"latin1\.csv: not UTF-8 text \(expected CSV\)$"):
        load_truth(tmp_path / "latin1.csv")
