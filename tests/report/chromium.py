"""A small Chrome DevTools Protocol client for tests: headless Chromium driven over `--remote-debugging-pipe`.

Chromium reads NUL-terminated JSON commands on its fd 3 and writes responses and events on its fd 4.
One browser process per `Browser.launch()`, a fresh profile, no network, and a deadline on everything:
a hung or crashed Chromium raises `BrowserError` and is killed, it never hangs the test suite.

    with Browser.launch() as browser:
        page = browser.open(path, 1366, 768)
        assert page.errors == []
        page.screenshot(tmp_path / "page.png")
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

INSTALL_HINT = "apt-get install chromium (bash .ci/run does this)"
FLAGS = (
    "--headless",
    "--remote-debugging-pipe",
    "--no-sandbox",  # the tests run as root in CI containers, where the sandbox cannot start
    "--disable-gpu",
    "--disable-dev-shm-usage",  # containers often have a 64 MB /dev/shm
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-extensions",
    "--disable-crash-reporter",
    "--mute-audio",
)


class BrowserError(RuntimeError):
    """Chromium did not answer in time, crashed, or answered a command with an error."""


def find_chromium() -> str | None:
    """The Chromium binary: $TRIAGE_CHROMIUM, else `chromium` or `chromium-browser` on PATH, else None."""
    configured = os.environ.get("TRIAGE_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def chromium_or_skip() -> str:
    """The Chromium binary, or skip the calling test with the reason and how to install it."""
    binary = find_chromium()
    if binary is None:
        configured = os.environ.get("TRIAGE_CHROMIUM")
        where = f"TRIAGE_CHROMIUM={configured} is not executable" if configured else "no chromium on PATH"
        pytest.skip(f"chromium not installed ({where}): {INSTALL_HINT}")
    return binary


@dataclass(frozen=True)
class ConsoleError:
    """One error the page reported: an uncaught exception, console.error/assert, or a browser log error."""

    source: str  # "exception", "console.error", "console.assert", or "log:<Log.entryAdded source>"
    text: str
    url: str = ""
    line: int | None = None  # 1-based

    def __str__(self) -> str:
        where = self.url if self.line is None else f"{self.url}:{self.line}"
        return f"{self.source}: {self.text}" + (f" ({where})" if self.url else "")


def _above_4(fd: int) -> int:
    """`fd` renumbered to 5 or more, so that moving it to fd 3 or 4 in the child cannot clobber the other."""
    copy = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 5)
    os.close(fd)
    return copy


_MOVE_FDS = """import os, sys
os.dup2(int(sys.argv[1]), 3)
os.dup2(int(sys.argv[2]), 4)
os.close(int(sys.argv[1]))
os.close(int(sys.argv[2]))
os.execv(sys.argv[3], sys.argv[3:])
"""


class Browser:
    """A headless Chromium process and its DevTools pipe; use `Browser.launch()`."""

    def __init__(self, binary: str, profile: str, log: IO[bytes], timeout: float) -> None:
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self._log = log
        to_chromium, self._out = os.pipe()
        self._in, from_chromium = os.pipe()
        to_chromium, from_chromium = _above_4(to_chromium), _above_4(from_chromium)
        # subprocess cannot renumber descriptors (and dash only knows fds 0-9): a tiny Python moves ours to the
        # 3 and 4 Chromium expects, then execs it.
        args = [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"]
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _MOVE_FDS, str(to_chromium), str(from_chromium), *args],
                pass_fds=(to_chromium, from_chromium),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=self._log,
                start_new_session=True,  # its own process group, so its helpers (zygote, renderers) die with it
            )
        except BaseException:
            os.close(self._in)
            os.close(self._out)
            raise
        finally:
            os.close(to_chromium)
            os.close(from_chromium)
        self._buffer = b""
        self._next_id = 0
        self._responses: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.pages: dict[str, Page] = {}
        self.hung = False

    @classmethod
    @contextlib.contextmanager
    def launch(cls, binary: str | None = None, timeout: float = 60.0) -> Iterator[Browser]:
        """Start Chromium (default: `chromium_or_skip()`); everything must finish within `timeout` seconds."""
        binary = binary or chromium_or_skip()
        with (
            tempfile.TemporaryDirectory(prefix="triage-chromium-", ignore_cleanup_errors=True) as profile,
            tempfile.TemporaryFile() as log,
        ):
            browser = cls(binary, profile, log, timeout)
            try:
                browser.send("Browser.getVersion")
                yield browser
            finally:
                browser.close()

    def remaining(self, limit: float | None = None) -> float:
        """Seconds left before the session's deadline (or `limit`, when sooner); raises when none are left."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.hung = True
            raise BrowserError(f"chromium: no answer within the {self.timeout:.0f} s session timeout{self._log_tail()}")
        return left if limit is None else min(left, limit)

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        """Run one DevTools command and return its result; raises `BrowserError` on an error answer or timeout."""
        self._next_id += 1
        number = self._next_id
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        self._write(json.dumps(message).encode() + b"\0")
        while number not in self._responses:
            self._read()
        response = self._responses.pop(number)
        if "error" in response:
            raise BrowserError(f"{method}: {response['error'].get('message')} {response['error'].get('data', '')}")
        return response.get("result", {})

    def wait_for(self, method: str, session: str | None, start: int = 0, limit: float = 30.0) -> dict[str, Any]:
        """The first event `method` of `session` at or after index `start` of `events`, waiting for it if needed."""
        until = time.monotonic() + self.remaining(limit)
        seen = start
        while True:
            for event in self.events[seen:]:
                if event.get("method") == method and event.get("sessionId") == session:
                    return event.get("params", {})
            seen = len(self.events)
            if time.monotonic() >= until:
                raise BrowserError(f"chromium: no {method} within {limit:.0f} s{self._log_tail()}")
            self._read(until)

    def open(self, path: str | Path, width: int = 1366, height: int = 768) -> Page:
        """A new tab of `width` x `height` CSS pixels showing the file `path`, loaded, with error collection on."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session, width, height)
        self.pages[session] = page
        for domain in ("Runtime", "Log", "Page"):
            self.send(f"{domain}.enable", session=session)
        page.resize(width, height)
        page.navigate(Path(path).resolve().as_uri())
        return page

    def close(self) -> None:
        """Ask Chromium to quit, then kill its process group if it has not within 5 seconds; idempotent.

        A Chromium that already missed the deadline is killed at once.
        """
        if self.process.poll() is None and not self.hung:
            with contextlib.suppress(BrowserError, OSError):
                self.deadline = max(self.deadline, time.monotonic() + 5)
                self._write(json.dumps({"id": 0, "method": "Browser.close", "params": {}}).encode() + b"\0")
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # helpers left behind, or Chromium itself when it hung
        self.process.wait()
        for fd in (self._in, self._out):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._in = self._out = -1

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            _, writable, _ = select.select([], [self._out], [], self.remaining())
            if not writable:
                continue
            try:
                view = view[os.write(self._out, view[: 1 << 16]) :]
            except BrokenPipeError:
                raise self._gone() from None

    def _read(self, until: float | None = None) -> None:
        """Read what Chromium has written (waiting at most until `until` or the deadline) and file each message."""
        limit = None if until is None else max(0.0, until - time.monotonic())
        readable, _, _ = select.select([self._in], [], [], self.remaining(limit))
        if not readable:
            return
        chunk = os.read(self._in, 1 << 20)
        if not chunk:
            raise self._gone()
        self._buffer += chunk
        if b"\0" not in chunk:  # a long message (a screenshot) comes in many chunks
            return
        *messages, self._buffer = self._buffer.split(b"\0")
        for raw in messages:
            message = json.loads(raw)
            if "id" in message:
                self._responses[message["id"]] = message
                continue
            self.events.append(message)
            page = self.pages.get(message.get("sessionId", ""))
            if page is not None:
                page.observe(message["method"], message.get("params", {}))

    def _gone(self) -> BrowserError:
        """The error for a pipe Chromium closed: its exit code (once it has exited) and last output lines."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=2)
        return BrowserError(
            f"chromium closed its DevTools pipe (exit code {self.process.returncode}){self._log_tail()}"
        )

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError, ValueError):
            self._log.seek(0)
            lines = self._log.read().decode(errors="replace").splitlines()[-15:]
            return "\nchromium output (last lines):\n" + "\n".join(lines) if lines else ""
        return ""


@dataclass
class Page:
    """One tab of a `Browser`: its session and the errors it reported so far."""

    browser: Browser
    target: str
    session: str
    width: int
    height: int
    errors: list[ConsoleError] = field(default_factory=list)
    crashed: str = ""

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one DevTools command in this tab."""
        if self.crashed:
            raise BrowserError(f"the page is gone: {self.crashed}")
        return self.browser.send(method, params, self.session)

    def resize(self, width: int, height: int) -> None:
        """Emulate a window of `width` x `height` CSS pixels at device scale 1 (a desktop, not a phone)."""
        self.width, self.height = width, height
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.send("Emulation.setDeviceMetricsOverride", metrics)

    def navigate(self, url: str) -> None:
        """Load `url` and wait for its load event and one more task, so errors of scripts run at load are in."""
        mark = len(self.browser.events)
        answer = self.send("Page.navigate", {"url": url})
        if answer.get("errorText"):
            raise BrowserError(f"{url}: {answer['errorText']}")
        self.browser.wait_for("Page.loadEventFired", self.session, mark)
        self.evaluate("new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)))")

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression (promises awaited), as JSON; raises `BrowserError` when it throws."""
        answer = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            description = details.get("exception", {}).get("description") or details.get("text", "")
            raise BrowserError(f"evaluate: {description}\nin: {expression}")
        return answer["result"].get("value")

    def click(self, selector: str) -> None:
        """Click the first element matching the CSS `selector` (a DOM click event, dispatched by script)."""
        self.evaluate(f"{_element(selector)}.click()")

    def fill(self, selector: str, text: str) -> None:
        """Set the value of the input matching `selector` and dispatch an `input` event, as typing would."""
        self.evaluate(
            f"(e => {{ e.focus(); e.value = {json.dumps(text)};"
            " e.dispatchEvent(new Event('input', {bubbles: true})); })"
            f"({_element(selector)})"
        )

    def visibility(self, selector: str) -> str:
        """The word "visible", or why the first element matching `selector` is not seen on the page.

        Visible means: present, `visibility: visible`, neither it nor an ancestor `display: none` or `opacity: 0`,
        and a non-empty box that starts inside the page (a wide table may run on in a scrolling box).
        """
        return self.evaluate(f"({_VISIBILITY})({json.dumps(selector)})")

    def set_media(self, media: str) -> None:
        """Emulate the CSS media type (`print`, `screen`; "" restores the default)."""
        self.send("Emulation.setEmulatedMedia", {"media": media})

    def screenshot(self, path: str | Path | None = None) -> bytes:
        """A PNG of the whole page as the window shows it, `width` pixels wide and as tall as the page.

        Written to `path` when given. Chromium grows the window to the page's height for the capture, so the
        vertical scrollbar is not drawn; the window is set back to `width` x `height` afterwards.
        """
        height = self.send("Page.getLayoutMetrics")["cssContentSize"]["height"]
        clip = {"x": 0, "y": 0, "width": self.width, "height": height, "scale": 1}
        answer = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip})
        self.send("Emulation.clearDeviceMetricsOverride")  # setting the same metrics again would not undo the capture's
        self.resize(self.width, self.height)
        data = base64.b64decode(answer["data"])
        if path is not None:
            Path(path).write_bytes(data)
        return data

    def pdf(self, path: str | Path | None = None) -> bytes:
        """The page printed to PDF (print media, backgrounds on, the page's `@page` size or A4), to `path` if given."""
        options = {"printBackground": True, "preferCSSPageSize": True, "paperWidth": 8.27, "paperHeight": 11.69}
        answer = self.send("Page.printToPDF", options)
        data = base64.b64decode(answer["data"])
        if path is not None:
            Path(path).write_bytes(data)
        return data

    def observe(self, method: str, params: dict[str, Any]) -> None:
        """File one event of this tab: errors go to `errors`; a crash or detach marks the page gone."""
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            description = details.get("exception", {}).get("description") or ""
            text = details.get("text", "")
            first = description.splitlines()[0] if description else ""
            self.errors.append(
                ConsoleError("exception", f"{text} {first}".strip(), details.get("url", ""), _line(details))
            )
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            text = " ".join(_remote_text(arg) for arg in params.get("args", []))
            frames = params.get("stackTrace", {}).get("callFrames", [])
            url, line = (frames[0]["url"], _line(frames[0])) if frames else ("", None)
            self.errors.append(ConsoleError(f"console.{params['type']}", text, url, line))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            self.errors.append(
                ConsoleError(f"log:{entry['source']}", entry["text"], entry.get("url", ""), _line(entry))
            )
        elif method in ("Inspector.targetCrashed", "Inspector.detached"):
            self.crashed = params.get("reason", method)


def png_summary(data: bytes) -> tuple[int, int, int]:
    """Width, height and the number of distinct pixel rows of a PNG, from its IHDR and inflated IDAT chunks.

    Rows are compared as stored (each with its filter byte), which needs no unfiltering: an image of one colour
    has at most a handful of distinct stored rows whatever the filters, a rendered page has hundreds.
    """
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        raise ValueError("not a PNG: bad signature")
    position, header, compressed = 8, b"", bytearray()
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed += body
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(f"unexpected PNG format: depth {depth}, colour type {colour}, interlace {interlace}")
    stride = 1 + width * _CHANNELS[colour]
    raw = zlib.decompress(bytes(compressed))
    if len(raw) != stride * height:
        raise ValueError(f"PNG data is {len(raw)} bytes, {stride * height} expected")
    return width, height, len({raw[row : row + stride] for row in range(0, len(raw), stride)})


_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # PNG colour type -> bytes per pixel at depth 8


def pdf_pages(data: bytes) -> int:
    """The number of page objects in a PDF as Chromium writes it (uncompressed page dictionaries)."""
    if not data.startswith(b"%PDF-"):
        raise ValueError("not a PDF: no %PDF- header")
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def _line(where: dict[str, Any]) -> int | None:
    """The 1-based line of a DevTools location (whose `lineNumber` counts from 0)."""
    return None if where.get("lineNumber") is None else where["lineNumber"] + 1


def _remote_text(arg: dict[str, Any]) -> str:
    """How the console would print one argument (a Runtime.RemoteObject)."""
    if "value" in arg:
        return arg["value"] if isinstance(arg["value"], str) else json.dumps(arg["value"])
    return arg.get("description") or arg.get("unserializableValue") or arg.get("type", "")


def _element(selector: str) -> str:
    """A JavaScript expression for the element matching `selector` that throws when there is none."""
    quoted = json.dumps(selector)
    return f"(document.querySelector({quoted}) ?? (() => {{ throw new Error('no element ' + {quoted}); }})())"


_VISIBILITY = """(selector) => {
  const element = document.querySelector(selector);
  if (!element) return "missing";
  const own = getComputedStyle(element);
  if (own.visibility !== "visible") return "visibility:" + own.visibility;
  for (let node = element; node instanceof Element; node = node.parentElement) {
    const style = getComputedStyle(node);
    const name = node.tagName.toLowerCase() + (node.id ? "#" + node.id : node.classList.length ? "." + node.classList[0] : "");
    if (style.display === "none") return "display:none on " + name;
    if (style.opacity === "0") return "opacity:0 on " + name;
  }
  const box = element.getBoundingClientRect();
  if (box.width <= 0 || box.height <= 0) return "empty box " + box.width + "x" + box.height;
  const page = document.scrollingElement;
  const left = box.left + window.scrollX, top = box.top + window.scrollY;
  if (left < 0 || top < 0 || left >= page.scrollWidth || top >= page.scrollHeight)
    return "outside the page: " + [left, top, box.width, box.height].map(Math.round).join(",");
  return "visible";
}"""
