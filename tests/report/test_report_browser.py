"""The HTML report in headless Chromium: no console errors, a real screenshot, key elements visible, sorting,
filtering, no horizontal overflow at 1366 px, printable.

The first tests check the harness itself (tests/report/chromium.py) on tiny pages, so that each check can fail.
The report tests build a store from the committed sample fleet with the `triage` CLI. Without Chromium they are
skipped with the reason (`bash .ci/run` installs it); TRIAGE_CHROMIUM names another binary, and
TRIAGE_SCREENSHOT_DIR, when set, receives a copy of the report's screenshot and PDF.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from chromium import Browser, BrowserError, ConsoleError, Page, chromium_or_skip, pdf_pages, png_summary
from click.testing import CliRunner

from triage.cli import cli

REPO = Path(__file__).resolve().parents[2]
TRUTH = REPO / "datasets" / "sample-fleet" / "truth.csv"
WIDTH, HEIGHT = 1366, 768  # a common laptop screen


def write_page(folder: Path, name: str, body: str) -> Path:
    """A small HTML5 page with `body` (its first line is line 4 of the file)."""
    path = folder / name
    path.write_text(
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{name}</title></head>\n<body>\n{body}\n</body></html>\n"
    )
    return path


# --- the harness ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            '<p>x</p>\n<script>\nconsole.log("fine"); console.warn("only a warning");\nconsole.error("bad thing", 42);\nthrow new Error("boom");\n</script>',
            [
                ConsoleError("console.error", "bad thing 42", "PAGE", 7),
                ConsoleError("exception", "Uncaught Error: boom", "PAGE", 8),
            ],
            id="uncaught-throw-and-console-error",
        ),
        pytest.param(
            "<script>\nconsole.assert(1 === 2, 'one is not two');\nconsole.assert(true, 'not reported');\n</script>",
            [ConsoleError("console.assert", "one is not two", "PAGE", 5)],
            id="failed-console-assert",
        ),
        pytest.param(
            '<script>\nsetTimeout(() => { throw new TypeError("late"); }, 0);\n</script>',
            [ConsoleError("exception", "Uncaught TypeError: late", "PAGE", 5)],
            id="error-after-load",
        ),
        pytest.param(
            '<img src="missing.png" alt="">',
            [ConsoleError("log:network", "Failed to load resource: net::ERR_FILE_NOT_FOUND", "MISSING", None)],
            id="missing-resource",
        ),
        pytest.param('<p>all good</p>\n<script>console.log("fine");</script>', [], id="clean"),
    ],
)
def test_the_page_errors_are_reported(tmp_path: Path, body: str, expected: list[ConsoleError]) -> None:
    path = write_page(tmp_path, "page.html", body)
    urls = {"PAGE": path.as_uri(), "MISSING": (tmp_path / "missing.png").as_uri()}
    with Browser.launch() as browser:
        page = browser.open(path, WIDTH, HEIGHT)
        errors = page.errors
    assert errors == [ConsoleError(e.source, e.text, urls[e.url], e.line) for e in expected]


VISIBILITY_PAGE = """
<style>body { margin: 0 } .box { width: 100px; height: 20px }</style>
<div id="shown" class="box">shown</div>
<div id="none" class="box" style="display: none">none</div>
<div style="display: none"><p id="inside-none">inside</p></div>
<div id="hidden" class="box" style="visibility: hidden">hidden</div>
<div id="transparent" class="box" style="opacity: 0">transparent</div>
<div id="empty"></div>
<div id="away" class="box" style="position: absolute; left: -500px">away</div>
<table class="sortable" id="t"><thead><tr><th>name</th></tr></thead>
<tbody><tr><td>b</td></tr><tr><td>a</td></tr></tbody></table>
<input id="filter">
<script>
document.querySelector("#t th").addEventListener("click", () => {
  const body = document.querySelector("#t tbody");
  [...body.rows].sort((x, y) => x.textContent.localeCompare(y.textContent)).forEach(row => body.append(row));
});
document.querySelector("#filter").addEventListener("input", event => { document.title = "typed " + event.target.value; });
</script>
"""


def test_visibility_click_and_fill(tmp_path: Path) -> None:
    with Browser.launch() as browser:
        page = browser.open(write_page(tmp_path, "page.html", VISIBILITY_PAGE), WIDTH, HEIGHT)
        seen = {name: page.visibility(f"#{name}") for name in ("shown", "none", "inside-none", "hidden", "transparent")}
        seen |= {name: page.visibility(f"#{name}") for name in ("empty", "away", "absent")}
        page.click("#t th")
        rows = page.evaluate("[...document.querySelectorAll('#t tbody td')].map(cell => cell.textContent)")
        page.fill("#filter", "gpu")
        title = page.evaluate("document.title")
        with pytest.raises(BrowserError, match="no element #nothing"):
            page.click("#nothing")
        errors = page.errors
    assert seen == {
        "shown": "visible",
        "none": "display:none on div#none",
        "inside-none": "display:none on div",
        "hidden": "visibility:hidden",
        "transparent": "opacity:0 on div#transparent",
        "empty": "empty box 1366x0",
        "away": "outside the page: -500,60,100,20",
        "absent": "missing",
    }
    assert (rows, title, errors) == (["a", "b"], "typed gpu", [])


@pytest.mark.parametrize(
    ("body", "blank"),
    [
        pytest.param("<style>html { background: #fff }</style>", True, id="blank"),
        pytest.param("<style>html { background: #36c; height: 3000px }</style>", True, id="one-colour-tall"),
        pytest.param("<h1>Fleet report</h1>" + "<p>node0001 faulty gpu_memory rma_gpu</p>" * 40, False, id="text"),
    ],
)
def test_a_blank_screenshot_is_told_from_a_rendered_page(tmp_path: Path, body: str, blank: bool) -> None:
    with Browser.launch() as browser:
        page = browser.open(write_page(tmp_path, "page.html", body), WIDTH, HEIGHT)
        width, height, rows = png_summary(page.screenshot(tmp_path / "page.png"))
    assert width == WIDTH and height >= HEIGHT
    assert (rows <= 8) == blank, f"{rows} distinct rows"


def test_print_media_and_pdf(tmp_path: Path) -> None:
    body = "<style>@media print { input { display: none } }</style><input id='q'>" + "<p>line</p>" * 200
    with Browser.launch() as browser:
        page = browser.open(write_page(tmp_path, "page.html", body), WIDTH, HEIGHT)
        on_screen = page.visibility("#q")
        page.set_media("print")
        printed = page.visibility("#q")
        pdf = page.pdf(tmp_path / "page.pdf")
    assert (on_screen, printed) == ("visible", "display:none on input#q")
    assert pdf.startswith(b"%PDF-") and pdf_pages(pdf) >= 3


@pytest.mark.parametrize(
    ("script", "message"),
    [
        pytest.param("sleep 300", "no answer within the 2 s session timeout", id="hangs"),
        pytest.param(
            "echo 'cannot start' >&2; exit 3",
            r"closed its DevTools pipe \(exit code 3\)\nchromium output \(last lines\):\ncannot start$",
            id="exits",
        ),
    ],
)
def test_a_broken_chromium_fails_fast(tmp_path: Path, script: str, message: str) -> None:
    fake = tmp_path / "chromium"
    fake.write_text(f"#!/bin/sh\n{script}\n")
    fake.chmod(0o755)
    started = time.monotonic()
    with pytest.raises(BrowserError, match=message), Browser.launch(str(fake), timeout=2):
        pass
    assert time.monotonic() - started < 4


def test_chromium_or_skip_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRIAGE_CHROMIUM", str(tmp_path / "absent"))
    with pytest.raises(pytest.skip.Exception) as skipped:
        chromium_or_skip()
    assert str(skipped.value) == (
        f"chromium not installed (TRIAGE_CHROMIUM={tmp_path / 'absent'} is not executable): "
        "apt-get install chromium (bash .ci/run does this)"
    )


# --- the report of the sample fleet -------------------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """The HTML report of the sample fleet and what the other formats say, to check it against."""

    html: Path
    hosts: list[dict[str, Any]]  # the JSON report's hosts
    actions: list[dict[str, str]]  # `triage report --format csv`: one row per diagnosis asking for an action
    fleet: list[dict[str, str]]  # `triage fleet --format csv`: one row per host


def run_triage(*args: str | Path) -> str:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, f"triage {' '.join(map(str, args))}: {result.output}"
    return result.output


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory, sample_db: Path) -> Report:
    """The sample fleet ingested and analyzed with the shipped baseline (conftest's `sample_db`), reported
    as HTML, JSON and CSV by `triage report`."""
    chromium_or_skip()
    folder = tmp_path_factory.mktemp("browser-report")
    db = sample_db
    html = folder / "report.html"
    run_triage("report", "--db", db, "--format", "html", "-o", html)
    return Report(
        html=html,
        hosts=json.loads(run_triage("report", "--db", db, "--format", "json"))["hosts"],
        actions=list(csv.DictReader(io.StringIO(run_triage("report", "--db", db, "--format", "csv")))),
        fleet=list(csv.DictReader(io.StringIO(run_triage("fleet", "--db", db, "--format", "csv")))),
    )


@pytest.fixture
def page(report: Report) -> Iterator[Page]:
    """The report open in a fresh Chromium at laptop size."""
    with Browser.launch() as browser:
        yield browser.open(report.html, WIDTH, HEIGHT)


def is_rma(action: str) -> bool:
    """What the RMA table lists: parts to return or replace."""
    return action.startswith("rma_") or action in ("replace_cable", "contact_vendor")


def table_rows(page: Page, table: str, columns: list[str], visible_only: bool = False) -> list[tuple[str, ...]]:
    """The text of some `columns` (by header label) of the rows of `table`, top to bottom; a dash reads as ""."""
    rows = page.evaluate(
        f"""(() => {{
        const table = document.querySelector({json.dumps(table)});
        const labels = [...table.tHead.rows[0].cells].map(th => th.textContent.trim());
        const wanted = {json.dumps(columns)}.map(label => labels.indexOf(label));
        return [...table.tBodies[0].rows]
          .filter(row => !{json.dumps(visible_only)} || row.getClientRects().length > 0)
          .map(row => wanted.map(i => i < 0 ? "<no column>" : row.cells[i].textContent.trim()));
        }})()"""
    )
    return [tuple("" if cell == "\u2014" else cell for cell in row) for row in rows]


def header(page: Page, table: str, label: str) -> str:
    """A selector for the header cell of `table` labelled `label`."""
    labels = page.evaluate(
        f"[...document.querySelector({json.dumps(table)}).tHead.rows[0].cells].map(th => th.textContent.trim())"
    )
    assert label in labels, labels
    return f"{table} thead th:nth-child({labels.index(label) + 1})"


def keep(path: Path) -> None:
    """Copy a screenshot or PDF to $TRIAGE_SCREENSHOT_DIR, when set, for CI artifacts and human eyes."""
    folder = os.environ.get("TRIAGE_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(folder) / f"sample-fleet-report-{WIDTH}x{HEIGHT}{path.suffix}")


def test_the_report_renders_without_errors_and_screenshots(page: Page, tmp_path: Path) -> None:
    png = page.screenshot(tmp_path / "report.png")
    keep(tmp_path / "report.png")
    width, height, distinct_rows = png_summary(png)
    assert [str(e) for e in page.errors] == []
    assert (width, height >= HEIGHT, distinct_rows > 500) == (WIDTH, True, True), (width, height, distinct_rows)


def test_the_key_parts_are_visible(page: Page, report: Report) -> None:
    first_faulty = next(h["host"] for h in report.hosts if h["status"] == "faulty")
    selectors = [
        "#summary",
        "#summary table",
        "#charts [data-chart=status] svg",
        "#charts [data-chart=root-cause] svg",
        "#rma table",
        "#fleet table",
        "input[data-filter=fleet-table]",
        "#hosts",
        f"#host-{first_faulty}",
        "#distributions svg",
    ]
    assert {s: page.visibility(s) for s in selectors} == dict.fromkeys(selectors, "visible")


def test_the_rma_table_lists_the_parts_to_return(page: Page, report: Report) -> None:
    expected = [(r["host"], r["device"], r["action"]) for r in report.actions if is_rma(r["action"])]
    with TRUTH.open() as truth:
        true_rma = [(r["host"], r["device"], r["action"]) for r in csv.DictReader(truth) if is_rma(r["action"])]
    assert expected == true_rma  # the sample fleet's verdicts are right, so the table has something to show
    assert table_rows(page, "#rma table", ["Host", "Device", "Action"]) == expected
    rma_hosts = ["node0001", "node0006", "node0008", "node0011", "node0013", "node0022", "node0024"]
    assert [host for host, _, _ in expected] == rma_hosts


def test_clicking_a_header_sorts(page: Page, report: Report) -> None:
    hosts = [r["host"] for r in report.fleet]
    assert table_rows(page, "#fleet table", ["Host"]) == [(h,) for h in hosts]  # report order: faulty first
    page.click(header(page, "#fleet table", "Host"))
    ascending = table_rows(page, "#fleet table", ["Host"])
    page.click(header(page, "#fleet table", "Host"))
    descending = table_rows(page, "#fleet table", ["Host"])
    assert (ascending, descending) == ([(h,) for h in sorted(hosts)], [(h,) for h in sorted(hosts, reverse=True)])

    confidences = sorted(float(r["confidence"]) for r in report.actions if is_rma(r["action"]))
    page.click(header(page, "#rma table", "Conf."))  # numbers sort as numbers
    assert table_rows(page, "#rma table", ["Conf."]) == [(f"{c:.2f}",) for c in confidences]
    assert page.errors == []


def row_has_all(words: str) -> Callable[[dict[str, str]], bool]:
    """Whether a fleet CSV row contains every word, as the page's filter reads a row (its text, any case)."""
    return lambda row: all(word in " ".join(row.values()).lower() for word in words.split())


@pytest.mark.parametrize(
    ("control", "value", "matches"),
    [
        pytest.param("input[data-filter=fleet-table]", "rma_gpu", row_has_all("rma_gpu"), id="one-word"),
        pytest.param("input[data-filter=fleet-table]", "Faulty  PCIe", row_has_all("faulty pcie"), id="two-words"),
        pytest.param(
            "select[data-filter-status=fleet-table]", "suspect", lambda row: row["status"] == "suspect", id="status"
        ),
    ],
)
def test_filtering_hides_the_other_rows(
    page: Page, report: Report, control: str, value: str, matches: Callable[[dict[str, str]], bool]
) -> None:
    expected = [(r["host"],) for r in report.fleet if matches(r)]
    assert 0 < len(expected) < len(report.fleet)
    page.fill(control, value)
    shown = table_rows(page, "#fleet table", ["Host"], visible_only=True)
    count = page.evaluate("document.querySelector('[data-count=fleet-table]').textContent")
    assert (shown, count) == (expected, f"{len(expected)} of {len(report.fleet)} shown")
    page.fill(control, "")
    assert len(table_rows(page, "#fleet table", ["Host"], visible_only=True)) == len(report.fleet)


def test_no_horizontal_scrolling_at_laptop_width(page: Page) -> None:
    width, client = page.evaluate("[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]")
    assert width <= client <= WIDTH, f"the page is {width} px wide in a {client} px window"


def test_printing_hides_the_filters_and_keeps_the_content(page: Page, tmp_path: Path) -> None:
    filters = page.evaluate("[...document.querySelectorAll('[data-filter]')].map(e => e.getAttribute('data-filter'))")
    assert filters == ["rma-table", "fleet-table"]
    page.set_media("print")
    printed = {f: page.visibility(f"input[data-filter={f}]").split(" on ")[0] for f in filters}  # it or a parent
    kept = {s: page.visibility(s) for s in ("#summary", "#rma table", "#fleet table", "#hosts")}
    assert printed == dict.fromkeys(filters, "display:none")
    assert kept == dict.fromkeys(kept, "visible")
    pdf = page.pdf(tmp_path / "report.pdf")
    keep(tmp_path / "report.pdf")
    assert pdf.startswith(b"%PDF-") and pdf_pages(pdf) >= 2
    assert page.errors == []
