"""Loading what triage predicted, for `triage eval`: a report JSON or the diagnoses of a store.

A report is the document of `triage report --format json` (DESIGN.md "Outputs (contract)"): an
object with `schema: triage.report/v1` (a missing `schema` is accepted, another one is not) and
`hosts`, a list of `{host, status, diagnoses: [{device, root_cause, action, ...}]}`. A host
without `status` gets the status its diagnoses' actions give it (the DESIGN rule). Other keys
are ignored.

A store gives its `diagnoses` table; every host of its `files` table is a predicted host (a host
without diagnoses is predicted healthy) and each host's status is derived from its actions.

Both give a `Predictions`: `hosts` (host, status: one row per host) and `diagnoses` (host,
device, root_cause, action: "" for a node-level device). Problems raise a one-line `InputError`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from triage.errors import InputError, TriageError
from triage.evaluate.taxonomy import NONE, STATUSES, Taxonomy, host_status, load_taxonomy

REPORT_SCHEMA = "triage.report/v1"
DIAGNOSIS_SCHEMA = {"host": pl.String, "device": pl.String, "root_cause": pl.String, "action": pl.String}


@dataclass(frozen=True)
class Predictions:
    """Predicted host statuses and diagnoses, and where they came from (`report` or `db`)."""

    source: str
    path: str
    hosts: pl.DataFrame  # host, status
    diagnoses: pl.DataFrame  # host, device, root_cause, action


def predictions_from_diagnoses(
    diagnoses: pl.DataFrame, hosts: list[str] | None = None, source: str = "frame", path: str = ""
) -> Predictions:
    """Predictions from a frame of diagnoses (host, device, root_cause, action), statuses derived.

    `hosts` adds hosts that have no diagnosis (predicted healthy). Nulls in device become "".
    """
    frame = diagnoses.select(
        pl.col("host").cast(pl.String),
        pl.col("device").cast(pl.String).fill_null("").str.strip_chars(),
        pl.col("root_cause").cast(pl.String),
        pl.col("action").cast(pl.String),
    )
    known = pl.DataFrame({"host": sorted(set(hosts or []))}, schema={"host": pl.String})
    statuses = (
        known.join(host_status(frame), on="host", how="full", coalesce=True)
        .with_columns(pl.col("status").fill_null("healthy"))
        .sort("host")
    )
    return Predictions(source, path, statuses, frame)


# -- report JSON ------------------------------------------------------------------------------


def load_report(path: str | os.PathLike[str], taxonomy: Taxonomy | None = None) -> Predictions:
    """Read and validate a `triage.report/v1` JSON document."""
    taxonomy = taxonomy or load_taxonomy()
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(where, "no such file") from None
    except IsADirectoryError:
        raise InputError(where, "is a directory, not a report file") from None
    except UnicodeDecodeError:
        raise InputError(where, "not UTF-8 text (expected a JSON report)") from None
    except OSError as exc:
        raise InputError(where, (exc.strerror or str(exc)).lower()) from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(where, f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno) from None
    if not isinstance(document, dict):
        raise InputError(where, "not a triage report (expected a JSON object with `hosts`)")
    schema = document.get("schema")
    if schema is not None and schema != REPORT_SCHEMA:
        raise InputError(where, f"schema {schema!r} is not {REPORT_SCHEMA}")
    hosts = document.get("hosts")
    if hosts is None:
        raise InputError(where, "no `hosts` in the report (expected the output of `triage report --format json`)")
    if not isinstance(hosts, list):
        raise InputError(where, "`hosts` is not a list")

    names: list[str] = []
    statuses: list[str | None] = []
    rows: dict[str, list[str]] = {"host": [], "device": [], "root_cause": [], "action": [], "where": []}
    first: dict[str, int] = {}
    for i, entry in enumerate(hosts):
        name, status, diagnoses = _host_entry(entry, f"hosts[{i}]", where)
        if name in first:
            raise InputError(where, f"hosts[{i}]: host {name} appears twice (first as hosts[{first[name]}])")
        first[name] = i
        names.append(name)
        statuses.append(status)
        for j, diagnosis in enumerate(diagnoses):
            at = f"hosts[{i}].diagnoses[{j}] ({name})"
            device, root_cause, action = _diagnosis(diagnosis, at, where)
            for key, value in (("host", name), ("device", device), ("root_cause", root_cause), ("action", action)):
                rows[key].append(value)
            rows["where"].append(at)

    frame = pl.DataFrame(rows, schema={**DIAGNOSIS_SCHEMA, "where": pl.String})
    _check_values(frame, taxonomy, where)
    derived = predictions_from_diagnoses(frame.drop("where"), names, "report", where)
    given = pl.DataFrame({"host": names, "given": statuses}, schema={"host": pl.String, "given": pl.String})
    hosts_frame = (
        derived.hosts.join(given, on="host", how="left")
        .select("host", pl.coalesce("given", "status").alias("status"))
        .sort("host")
    )
    return Predictions("report", where, hosts_frame, derived.diagnoses)


def _host_entry(entry: Any, at: str, where: str) -> tuple[str, str | None, list[Any]]:
    if not isinstance(entry, dict):
        raise InputError(where, f"{at}: not an object with host, status and diagnoses")
    name = entry.get("host")
    if not isinstance(name, str) or not name.strip():
        raise InputError(where, f"{at}: no host name")
    name = name.strip()
    status = entry.get("status")
    if status is not None and status not in STATUSES:
        raise InputError(where, f"{at} ({name}): status {status!r} is not healthy, suspect or faulty")
    diagnoses = entry.get("diagnoses")
    if diagnoses is None:
        diagnoses = []
    if not isinstance(diagnoses, list):
        raise InputError(where, f"{at} ({name}): `diagnoses` is not a list")
    return name, status, diagnoses


def _diagnosis(diagnosis: Any, at: str, where: str) -> tuple[str, str, str]:
    if not isinstance(diagnosis, dict):
        raise InputError(where, f"{at}: not an object with device, root_cause and action")
    device = diagnosis.get("device")
    if device is not None and not isinstance(device, str):
        raise InputError(where, f"{at}: device {device!r} is not a string or null")
    values = []
    for key in ("root_cause", "action"):
        value = diagnosis.get(key)
        if not isinstance(value, str):
            raise InputError(where, f"{at}: no {key}" if value is None else f"{at}: {key} {value!r} is not a string")
        values.append(value)
    return device or "", values[0], values[1]


def _check_values(frame: pl.DataFrame, taxonomy: Taxonomy, where: str) -> None:
    """Raise for the first diagnosis whose root cause or action is not in the taxonomy."""
    problems = frame.select(
        pl.when(pl.col("root_cause").is_null())
        .then(pl.format("{}: no root_cause", "where"))
        .when(pl.col("action").is_null())
        .then(pl.format("{}: no action", "where"))
        .when(~pl.col("root_cause").is_in([*taxonomy.root_causes, NONE]))
        .then(pl.format("{}: unknown root_cause '{}' (not in the taxonomy)", "where", "root_cause"))
        .when(~pl.col("action").is_in(list(taxonomy.actions)))
        .then(pl.format("{}: unknown action '{}' (not in the taxonomy)", "where", "action"))
        .alias("problem")
    ).drop_nulls()
    if problems.height:
        raise InputError(where, problems.item(0, 0))


# -- store ------------------------------------------------------------------------------------


def load_store(path: str | os.PathLike[str], taxonomy: Taxonomy | None = None) -> Predictions:
    """The diagnoses of a triage store (opened read-only) and every host of its `files` table."""
    from triage.store import Store

    taxonomy = taxonomy or load_taxonomy()
    where = str(path)
    with Store.open(where, read_only=True) as store:
        tables = set(store.frame("SELECT table_name FROM duckdb_tables()")["table_name"].to_list())
        for needed in ("diagnoses", "files"):
            if needed not in tables:
                raise TriageError(f"{where}: no {needed} table (not a triage database?)")
        diagnoses = store.frame(
            "SELECT host, device, root_cause, action, diagnosis_id FROM diagnoses ORDER BY diagnosis_id, host"
        )
        hosts = store.frame("SELECT DISTINCT host FROM files WHERE host IS NOT NULL ORDER BY host")
    frame = diagnoses.with_columns(
        pl.format(
            "diagnoses row diagnosis_id={} ({})",
            pl.col("diagnosis_id").cast(pl.String).fill_null("null"),
            pl.col("host").fill_null(""),
        ).alias("where")
    )
    nameless = frame.filter(pl.col("host").is_null() | (pl.col("host").str.strip_chars() == ""))
    if nameless.height:
        raise InputError(where, f"diagnoses row diagnosis_id={nameless.item(0, 'diagnosis_id')} has no host")
    _check_values(frame.select("root_cause", "action", "where"), taxonomy, where)
    return predictions_from_diagnoses(
        frame.select(list(DIAGNOSIS_SCHEMA)).with_columns(pl.col("host").str.strip_chars()),
        [h.strip() for h in hosts["host"].to_list()],
        "db",
        where,
    )
