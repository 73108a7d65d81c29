"""Loading a ground-truth file (truth.csv) for `triage eval`.

The file is CSV with a header holding at least the columns `host`, `device`, `root_cause` and
`action` (others, like the generator's `fault`, are allowed and ignored). One row per faulty
device; `device` is empty for a node-level fault, and a host without any fault has one row with
root_cause and action `none`. root_cause and action must be taxonomy values (rules/taxonomy.yaml)
or `none`; a `none` root cause takes the action `none`. Any problem is one `InputError` naming the
file and line.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import polars as pl

from triage.errors import InputError
from triage.evaluate.taxonomy import NONE, Taxonomy, load_taxonomy

TRUTH_COLUMNS = ("host", "device", "root_cause", "action")
TRUTH_FILE = "truth.csv"


def truth_path(path: str | os.PathLike[str]) -> Path:
    """The truth file `path` names: the file itself, or `truth.csv` inside a folder."""
    given = Path(path)
    return given / TRUTH_FILE if given.is_dir() else given


def load_truth(path: str | os.PathLike[str], taxonomy: Taxonomy | None = None) -> pl.DataFrame:
    """Read and validate a truth file (or `DIR/truth.csv`).

    Returns one row per data row, in file order: host, device ("" for the node), root_cause,
    action (all strings, surrounding spaces removed) and line_no (1-based line in the file).
    """
    taxonomy = taxonomy or load_taxonomy()
    file = truth_path(path)
    where = str(file)
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            header, rows, lines = _read_rows(handle, where)
    except FileNotFoundError:
        raise InputError(where, "no such file") from None
    except IsADirectoryError:
        raise InputError(where, "is a directory, not a truth file") from None
    except UnicodeDecodeError:
        raise InputError(where, "not UTF-8 text (expected CSV)") from None
    except OSError as exc:
        raise InputError(where, (exc.strerror or str(exc)).lower()) from None
    except csv.Error as exc:
        raise InputError(where, f"invalid CSV: {exc}") from None

    index = {name: i for i, name in enumerate(header)}
    frame = pl.DataFrame(
        {name: [row[index[name]] for row in rows] for name in TRUTH_COLUMNS} | {"line_no": lines},
        schema={**dict.fromkeys(TRUTH_COLUMNS, pl.String), "line_no": pl.Int64},
    )
    _validate(frame, where, taxonomy)
    return frame


def _read_rows(handle: object, where: str) -> tuple[list[str], list[list[str]], list[int]]:
    reader = csv.reader(handle)  # type: ignore[arg-type]
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    for record in reader:
        if not record or all(not cell.strip() for cell in record):
            continue  # blank line
        cells = [cell.strip() for cell in record]
        if header is None:
            header = cells
            _check_header(header, where, reader.line_num)
            continue
        if len(cells) != len(header):
            raise InputError(where, f"{len(cells)} field(s) where the header has {len(header)}", reader.line_num)
        rows.append(cells)
        lines.append(reader.line_num)
    if header is None:
        raise InputError(where, f"empty file (expected a CSV header with {', '.join(TRUTH_COLUMNS)})")
    if not rows:
        raise InputError(where, "no rows after the header (a healthy host needs a row with root_cause none)")
    return header, rows, lines


def _check_header(header: list[str], where: str, line_no: int) -> None:
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        raise InputError(where, f"column {repeated[0]} appears twice in the header", line_no)
    missing = [name for name in TRUTH_COLUMNS if name not in header]
    if missing:
        raise InputError(
            where,
            f"missing column(s) {', '.join(missing)} (the header needs {', '.join(TRUTH_COLUMNS)}; "
            f"it has {', '.join(header)})",
            line_no,
        )


def _validate(frame: pl.DataFrame, where: str, taxonomy: Taxonomy) -> None:
    """Raise for the first bad row (in file order)."""
    root_causes = [*taxonomy.root_causes, NONE]
    problems = frame.select(
        "line_no",
        pl.when(pl.col("host") == "")
        .then(pl.lit("empty host"))
        .when(~pl.col("root_cause").is_in(root_causes))
        .then(pl.format("unknown root_cause '{}' (expected a taxonomy root cause or none)", pl.col("root_cause")))
        .when(~pl.col("action").is_in(list(taxonomy.actions)))
        .then(pl.format("unknown action '{}' (expected a taxonomy action or none)", pl.col("action")))
        .when((pl.col("root_cause") == NONE) & (pl.col("action") != NONE))
        .then(pl.format("root_cause none with action '{}' (a row without a fault takes action none)", "action"))
        .alias("problem"),
    ).filter(pl.col("problem").is_not_null())
    if problems.height:
        line_no, problem = problems.row(0)
        raise InputError(where, problem, line_no)
