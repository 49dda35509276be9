"""What bookstore's JupyterLab UI adds on top of the REST round trips it makes.

Starts one real ``jupyter server`` (``tests/jupyter_process.py``; it also serves
JupyterLab, with bookstore's prebuilt extension from this environment) on the embedded
local store and saves a ~200 KB notebook (40 cells: 35 code cells with text outputs, 7 of
them with a small PNG image too, and 5 markdown cells) :data:`VERSIONS` times through
``PUT api/contents/bench.ipynb``: every save changes two code cells (source and output),
every 8th adds a markdown cell.  Once the archiver has stored every save, it opens the
notebook in JupyterLab in headless Chromium (``/usr/bin/chromium`` driven by Playwright, as
in ``tests/browser``) with the History panel showing.

Three pairs, each the UI's way of showing something against the one REST request it
makes for it, both timed in the same page with ``performance.now()`` (page JavaScript
starts the clock, clicks with ``element.click()`` and stops it from a
``MutationObserver``, so Playwright's messages to the browser are not in the numbers):

* ``history list``: the panel's Refresh button until the panel is no longer busy (its
  ``aria-busy`` went ``true`` and back to ``false``) with its 20 rows, against
  ``fetch(…/versions?limit=20)`` + ``json()``.  The panel also asks, in parallel,
  whether the notebook is published (``GET api/bookstore/publish/bench.ipynb``: 404).
* ``diff``: selecting the oldest of the 20 versions in the panel (a click on its row: the
  timeline previews the selected version's diff against the current file in its one
  preview tab) until the diff view of that version shows every cell (``.jp-Cell-diff``;
  how many is counted from the diff reply), against
  ``fetch(…/diff?base=<id>&remote=current)`` + ``json()``.
* ``open version``: the preview's ``open`` action (``button[data-action="open"]``; the
  preview is shown first, untimed) until the read-only notebook shows every cell of that
  version (``.jp-Cell``), against ``fetch(…/versions/<id>)`` + ``json()``.

The History panel before the timeline had Diff and Open buttons on every row; the script
finds which panel it drives and uses those buttons there, so its numbers compare.  Before
anything is timed, the diff pair is fetched twice from Python (to count the cells to
expect): both times are printed, the first being the server computing nbdime's diff, the
second (like every timed request) answered from the server's diff cache where it has one.

The raw side sends what the UI sends (JupyterLab's ``ServerConnection``: the same URL plus
a cache-busting parameter, ``cache: "no-store"``, ``Authorization: token …`` and
``X-XSRFToken``), from the same page.  A UI time ends with the first frame painted after
the DOM holds the result (a task queued from the next ``requestAnimationFrame``); ``dom``
is when the DOM first held it (then every cell has its editor and outputs, images
included).  The UI's own request, found in the page's resource timings, splits the UI
time into: click to request start, the request (start to response end), response end to
the DOM holding the result, and on to the paint; ``requests`` counts the bookstore
requests the UI made (the archive-status poll of the status bar aside).  Between UI
operations the view is closed (untimed): the UI would otherwise activate the open view
instead of rendering it again.  After the first (warm-up) round the diff and the version
are opened once more, untimed, and must show exactly the expected cells a second later.

After :data:`WARMUP_ROUNDS` untimed rounds, every round runs both sides of every pair
once, the side going first swapping every round, so machine noise hits both alike.
``ratio`` = median(UI) / median(raw); ``UI-raw`` = the difference of the medians.  The
goals of issue #19 (:data:`GOALS`: diff shown in under 0.6 s, the read-only version in
under 0.3 s, the History refresh under 2x its fetch) are checked against the medians and
printed (met or not; the script does not fail on them).  The last stdout line is one JSON
object.  Without Chromium, Playwright or JupyterLab the
script says why and exits 0, like the browser tests skip.

Run from the repository root: ``.venv/bin/python benchmarks/lab_ui.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import importlib.util
import json
import math
import random
import shutil
import statistics
import struct
import sys
import tempfile
import time
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import nbformat
from _report import p90, print_rows
from nbformat import v4

if TYPE_CHECKING:
    from playwright.async_api import ViewportSize

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_ROUNDS = 15
WARMUP_ROUNDS = 1
VERSIONS = 25
#: Versions per page of the History panel (``PAGE_SIZE`` in ``src/history.tsx``).
PAGE_SIZE = 20
NAME = "bench.ipynb"
CODE_CELLS = 35
IMAGE_EVERY = 5
#: Code cells the saves edit, two per save.
EDITED_CELLS = (2, 5, 9, 13, 18, 22, 26, 31)
ADD_CELL_EVERY = 8
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}
UI_TIMEOUT_MS = 60_000
#: The goals of issue #19: pair -> (summary key, limit, what it says).
GOALS: dict[str, tuple[str, float, str]] = {
    "diff": ("ui_median_ms", 600.0, "UI median < 600 ms"),
    "open version": ("ui_median_ms", 300.0, "UI median < 300 ms"),
    "history list": ("ratio", 2.0, "ratio < 2x"),
}
#: The classes of the main-area views (``src/views.ts``).
DIFF_VIEW = "jp-bookstore-DiffView"
VERSION_VIEW = "jp-bookstore-VersionView"

Op = Callable[[], Awaitable[Any]]

# -- the notebook ----------------------------------------------------------------------


@functools.cache
def png(width: int, height: int, seed: int) -> bytes:
    """A small PNG: a curve on a lightly noisy background (compresses like a plot)."""
    rng = random.Random(seed)
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            curve = height / 2 + height / 3 * math.sin((x + 7 * seed) / 12)
            if abs(y - curve) <= 1.5:
                row += bytes((31, 119, 180))
            else:
                shade = 255 - rng.randrange(8)
                row += bytes((shade, shade, shade))
        rows.append(bytes(row))

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def code_cell(n: int, save: int) -> Any:
    """Code cell ``n`` as of save ``save`` (its source and output change when edited)."""
    tweak = f"\nthreshold = {save}  # tuned in save {save}" if save else ""
    source = (
        f"# step {n}: summarise the batch\n"
        f"frame = load_batch({n})\n"
        "stats = frame.groupby('region').agg(['mean', 'std', 'count'])\n"
        f"print(stats.head(40)){tweak}"
    )
    lines = "\n".join(
        f"{n:3d} {i:3d} region-{i % 7}  {math.sin(n + i + save):+.6f}  "
        f"{math.cos(n * i + save):+.6f}  {(n * 31 + i * 17 + save) % 1000:4d}"
        for i in range(48)
    )
    outputs = [v4.new_output("stream", name="stdout", text=lines + "\n")]
    if n % IMAGE_EVERY == 0:
        image = base64.b64encode(png(160, 100, n)).decode()
        outputs.append(
            v4.new_output(
                "display_data",
                data={"image/png": image, "text/plain": "<Figure size 480x320 with 1 Axes>"},
            )
        )
    return v4.new_code_cell(source, execution_count=n + 1, outputs=outputs)


def notebook(save: int) -> Any:
    """The notebook as of save ``save`` (0 = the first): the edited cells carry the number
    of the save that last changed them; every :data:`ADD_CELL_EVERY`-th save adds a
    markdown cell."""
    last_edit = {n: 0 for n in range(CODE_CELLS)}
    for s in range(1, save + 1):
        for k in (2 * s, 2 * s + 1):
            last_edit[EDITED_CELLS[k % len(EDITED_CELLS)]] = s
    cells: list[Any] = [v4.new_markdown_cell("# Quarterly batch report\n\nSynthetic, realistic.")]
    for n in range(CODE_CELLS):
        if n and n % 7 == 0:
            cells.append(v4.new_markdown_cell(f"## Part {n // 7 + 1}\n\nNotes on the next steps."))
        cells.append(code_cell(n, last_edit[n]))
    for s in range(ADD_CELL_EVERY, save + 1, ADD_CELL_EVERY):
        at = min(len(cells), 6 * (s // ADD_CELL_EVERY) + 3)
        cells.insert(at, v4.new_markdown_cell(f"Reviewed at save {s}."))
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    nbformat.validate(nb)
    return nb


# -- timing ----------------------------------------------------------------------------

#: Installed once in the page: the timed operations, each returning milliseconds measured
#: with ``performance.now()`` in the page.
PAGE_JS = """
(token) => {
  const until = (root, condition, attributes) => new Promise((resolve, reject) => {
    let timer = null;
    const observer = new MutationObserver(records => {
      let met = false;
      try {
        met = condition(records);
      } catch (error) {
        observer.disconnect();
        clearTimeout(timer);
        reject(error);
        return;
      }
      if (met) {
        const now = performance.now();
        observer.disconnect();
        clearTimeout(timer);
        resolve(now);
      }
    });
    const options = {subtree: true, childList: true};
    if (attributes) {
      Object.assign(options, {attributes: true, attributeOldValue: true,
                              attributeFilter: ['aria-busy']});
    }
    observer.observe(root, options);
    timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error('the UI did not show the result within @TIMEOUT@ ms'));
    }, @TIMEOUT@);
  });
  // The end of the next frame: its paint is done when a task queued from its
  // requestAnimationFrame callback runs.
  const painted = () => new Promise(resolve => requestAnimationFrame(
    () => setTimeout(() => resolve(performance.now()), 0)));
  const request = (part, t0) => {
    const entries = performance.getEntriesByType('resource').filter(
      entry => entry.name.includes(part) && entry.startTime >= t0);
    return entries.length ? entries[entries.length - 1] : null;
  };
  const count = selector => document.querySelectorAll(selector).length;
  const timed = async (button, root, condition, attributes, part) => {
    performance.clearResourceTimings();
    const done = until(root, condition, attributes);
    const t0 = performance.now();
    button.click();
    const dom = await done;
    const paint = await painted();
    const entry = request(part, t0);
    const calls = performance.getEntriesByType('resource').filter(
      e => e.startTime >= t0 && e.name.includes('/api/bookstore/') &&
        !e.name.includes('/api/bookstore/archive'));
    return {
      requests: calls.length,
      ui: paint - t0,
      dom: dom - t0,
      request_start: entry ? entry.startTime - t0 : null,
      response_end: entry ? entry.responseEnd - t0 : null,
      bytes: entry ? entry.encodedBodySize : null,
    };
  };
  const row = versionId => {
    const found = document.querySelector(
      `#bookstore-history li.jp-bookstore-version[data-version-id="${CSS.escape(versionId)}"]`);
    if (!found) throw new Error(`no row for version ${versionId} in the History panel`);
    return found;
  };
  // The panel before the timeline had Diff and Open buttons on every row; the timeline
  // previews the selected row's diff and opens the version from the preview's toolbar.
  const rowButton = (versionId, label) =>
    row(versionId).querySelector(`button[aria-label^="${label}"]`);
  // The diff view of this version (views without the attribute: before the timeline).
  const diffView = versionId =>
    `.jp-bookstore-DiffView:is([data-bookstore-base="${CSS.escape(versionId)}"],` +
    ':not([data-bookstore-base]))';
  const diffShown = (versionId, cells) =>
    count(`${diffView(versionId)} .jp-Cell-diff`) >= cells;
  window.bookstoreBench = {
    // What JupyterLab's ServerConnection sends: a cache-busting query parameter,
    // cache: 'no-store', the token and the _xsrf cookie as headers.
    async raw(url) {
      const t0 = performance.now();
      const headers = {Authorization: `token ${token}`};
      const xsrf = document.cookie.split('; ').find(c => c.startsWith('_xsrf='));
      if (xsrf) headers['X-XSRFToken'] = decodeURIComponent(xsrf.slice('_xsrf='.length));
      const busted = url + (url.includes('?') ? '&' : '?') + Date.now();
      const init = {headers, cache: 'no-store', credentials: 'same-origin'};
      const response = await fetch(busted, init);
      const model = await response.json();
      const t1 = performance.now();
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
      return {raw: t1 - t0, items: (model.versions || []).length};
    },
    history(rows) {
      const panel = document.querySelector('#bookstore-history');
      const button = panel.querySelector('button[aria-label="Refresh history"]');
      let wasBusy = false;
      const condition = records => {
        for (const record of records) {
          if (record.attributeName === 'aria-busy' && record.oldValue === 'true') wasBusy = true;
        }
        const inner = panel.querySelector('.jp-bookstore-panel');
        if (inner.getAttribute('aria-busy') === 'true') {
          wasBusy = true;
          return false;
        }
        return wasBusy && count('#bookstore-history li.jp-bookstore-version') === rows;
      };
      return timed(button, panel, condition, true, '/versions?');
    },
    timeline: () => !rowButton(
      document.querySelector('#bookstore-history li.jp-bookstore-version').dataset.versionId,
      'Diff the version saved'),
    diff(versionId, cells) {
      const button = rowButton(versionId, 'Diff the version saved') || row(versionId);
      const main = document.querySelector('#jp-main-dock-panel');
      return timed(button, main, () => diffShown(versionId, cells), false, '/diff?');
    },
    // Untimed: the timeline's preview of this version, shown (the open action is on it).
    async preview(versionId, cells) {
      if (rowButton(versionId, 'Open the version saved') || diffShown(versionId, cells)) return;
      const main = document.querySelector('#jp-main-dock-panel');
      const done = until(main, () => diffShown(versionId, cells), false);
      row(versionId).click();
      await done;
    },
    version(versionId, cells) {
      const button = rowButton(versionId, 'Open the version saved') || document.querySelector(
        `${diffView(versionId)} button[data-action="open"]`);
      if (!button) throw new Error(`no way to open version ${versionId}`);
      const main = document.querySelector('#jp-main-dock-panel');
      const condition = () => count('.jp-bookstore-VersionView .jp-Cell') >= cells;
      return timed(button, main, condition, false, '/versions/');
    },
    count,
    // Quiet: two frames, then an idle period (or 500 ms).
    settle: () => new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(
      () => requestIdleCallback(() => resolve(), {timeout: 500})))),
    // The median interval between animation frames, in ms.
    frameInterval: () => new Promise(resolve => {
      const times = [];
      const tick = now => {
        times.push(now);
        if (times.length < 31) {
          requestAnimationFrame(tick);
          return;
        }
        const gaps = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
        resolve(gaps[Math.floor(gaps.length / 2)]);
      };
      requestAnimationFrame(tick);
    }),
  };
}
""".replace("@TIMEOUT@", str(UI_TIMEOUT_MS))


#: The phases of a UI operation, from the times of one run: (label, start key, end key).
PHASES = (
    ("click -> request", None, "request_start"),
    ("request", "request_start", "response_end"),
    ("response -> DOM", "response_end", "dom"),
    ("DOM -> painted", "dom", "ui"),
)


class Pair:
    """One UI operation against the raw request it makes, each side returning its times
    measured in the page."""

    def __init__(self, name: str, *, ui: str, raw: str, ui_op: Op, raw_op: Op, close: Op) -> None:
        self.name, self.ui, self.raw = name, ui, raw
        self.ui_op, self.raw_op, self.close = ui_op, raw_op, close
        self.ui_runs: list[dict[str, Any]] = []
        self.raw_ms: list[float] = []

    async def round(self, n: int, *, record: bool = True) -> None:
        """Both sides once, the one going first swapping with ``n``; the UI's view is
        closed after it (untimed)."""
        for side in ("raw", "ui") if n % 2 == 0 else ("ui", "raw"):
            if side == "raw":
                raw = await self.raw_op()
            else:
                ui = await self.ui_op()
                await self.close()
        if record:
            self.ui_runs.append(ui)
            self.raw_ms.append(raw["raw"])

    def summary(self) -> dict[str, Any]:
        ui = [run["ui"] for run in self.ui_runs]
        dom = [run["dom"] for run in self.ui_runs]
        phases = {}
        for label, start, end in PHASES:
            spans = [
                run[end] - (run[start] if start else 0.0)
                for run in self.ui_runs
                if run.get(end) is not None and (start is None or run.get(start) is not None)
            ]
            phases[label] = round(statistics.median(spans), 2) if spans else None
        ui_med, raw_med = statistics.median(ui), statistics.median(self.raw_ms)
        return {
            "ui": self.ui,
            "raw": self.raw,
            "ui_median_ms": round(ui_med, 2),
            "ui_p90_ms": round(p90(ui), 2),
            "dom_median_ms": round(statistics.median(dom), 2),
            "raw_median_ms": round(raw_med, 2),
            "raw_p90_ms": round(p90(self.raw_ms), 2),
            "ratio": round(ui_med / raw_med, 2),
            "ui_minus_raw_ms": round(ui_med - raw_med, 2),
            "ui_phases_median_ms": phases,
            "reply_bytes": self.ui_runs[-1].get("bytes"),
            "ui_requests": statistics.median(run["requests"] for run in self.ui_runs),
        }


def print_tables(pairs: list[Pair]) -> None:
    header = ("pair", "UI", "raw", "UI med", "p90", "dom med", "raw med", "p90", "ratio", "UI-raw")
    rows: list[tuple[str, ...]] = [header]
    summaries = [pair.summary() for pair in pairs]
    for pair, s in zip(pairs, summaries, strict=True):
        rows.append(
            (
                pair.name,
                s["ui"],
                s["raw"],
                f"{s['ui_median_ms']:.1f}",
                f"{s['ui_p90_ms']:.1f}",
                f"{s['dom_median_ms']:.1f}",
                f"{s['raw_median_ms']:.1f}",
                f"{s['raw_p90_ms']:.1f}",
                f"{s['ratio']:.2f}x",
                f"{s['ui_minus_raw_ms']:+.1f}",
            )
        )
    print_rows(rows, left=3)
    print("\nwhere the UI time goes (medians, ms; the UI's own request from resource timings):\n")
    rows = [("pair", *(label for label, _, _ in PHASES), "reply KB", "requests")]
    for pair, s in zip(pairs, summaries, strict=True):
        phases = s["ui_phases_median_ms"]
        size = s["reply_bytes"]
        rows.append(
            (
                pair.name,
                *(
                    "-" if phases[label] is None else f"{phases[label]:.1f}"
                    for label, _, _ in PHASES
                ),
                "-" if not size else f"{size / 1000:.1f}",
                f"{s['ui_requests']:g}",
            )
        )
    print_rows(rows, left=1)


def print_goals(pairs: list[Pair]) -> None:
    """The goals of :data:`GOALS`, met or not."""
    print("\ngoals (issue #19):\n")
    rows = [("pair", "goal", "measured", "met")]
    for name, goal in goal_results(summaries_by_name(pairs)).items():
        unit = "x" if goal["key"] == "ratio" else " ms"
        rows.append(
            (name, goal["goal"], f"{goal['measured']:.2f}{unit}", "yes" if goal["met"] else "NO")
        )
    print_rows(rows, left=2)


def summaries_by_name(pairs: list[Pair]) -> dict[str, dict[str, Any]]:
    return {pair.name: pair.summary() for pair in pairs}


def goal_results(summaries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each goal of :data:`GOALS` with the measured value and whether it is met."""
    results = {}
    for name, (key, limit, text) in GOALS.items():
        measured = summaries[name][key]
        results[name] = {"goal": text, "key": key, "measured": measured, "met": measured < limit}
    return results


# -- the benchmark ---------------------------------------------------------------------


def diff_cells(diff: dict[str, Any]) -> int:
    """How many cell widgets nbdime shows for ``diff``: every cell of the base (unchanged,
    changed or deleted) plus every added cell."""
    added = 0
    for entry in diff["diff"]:
        if entry["op"] == "patch" and entry["key"] == "cells":
            added += sum(len(op["valuelist"]) for op in entry["diff"] if op["op"] == "addrange")
    return len(diff["base_notebook"]["cells"]) + added


def save_versions(server: Any) -> tuple[list[str], int, float]:
    """Save the notebook :data:`VERSIONS` times through the contents API and wait until
    every save is a version; return the version ids (newest first), the size of the last
    save and how long the saves took, in seconds (the bodies are built first)."""
    from archive_saves import wait_for_drain

    bodies = [
        {"type": "notebook", "format": "json", "content": notebook(n)} for n in range(VERSIONS)
    ]
    started = time.perf_counter()
    for body in bodies:
        server.request("PUT", f"api/contents/{quote(NAME)}", body)
    wait_for_drain(server)
    listing = server.request("GET", f"api/bookstore/workspace/{quote(NAME)}/versions?limit=100")
    ids = [item["id"] for item in listing["versions"]]
    if len(ids) != VERSIONS:
        raise RuntimeError(f"{VERSIONS} saves made {len(ids)} versions")
    size = len((server.root / NAME).read_bytes())
    return ids, size, time.perf_counter() - started


async def wait_for_idle_kernels(server: Any, timeout_s: float = 60.0) -> None:
    """JupyterLab starts the notebook's kernel: wait until it is up and idle."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        kernels = await asyncio.to_thread(server.request, "GET", "api/kernels")
        if kernels and all(kernel["execution_state"] == "idle" for kernel in kernels):
            return
        await asyncio.sleep(0.25)
    raise RuntimeError("the notebook's kernel did not become idle")


class Lab:
    """JupyterLab in one page showing the notebook and its History panel; each method
    returning a coroutine is one operation, timed in the page."""

    def __init__(self, page: Any, server: Any, ids: list[str]) -> None:
        self.page = page
        self.server = server
        self.base = f"api/bookstore/workspace/{quote(NAME)}"
        #: The version diffed and opened: the oldest in the panel.
        self.version_id = ids[PAGE_SIZE - 1]
        version = quote(self.version_id, safe="")
        self.versions_url = f"{self.base}/versions?limit={PAGE_SIZE}"
        self.diff_url = f"{self.base}/diff?base={version}&remote=current"
        self.version_url = f"{self.base}/versions/{version}"
        self.expected: dict[str, int] = {}
        #: The History panel is the timeline (select a row to preview its diff), not the
        #: panel before it (Diff and Open buttons on every row).
        self.timeline = False
        self.select = self.open = ""
        #: The first (uncached) and second diff request of the pair, from Python, in ms.
        self.first_diff_ms = self.second_diff_ms = 0.0

    async def load(self, token: str) -> None:
        """Count what the UI must show (from untimed REST replies), open the notebook with
        the History panel, wait for the kernel to be idle and install :data:`PAGE_JS`."""
        from playwright.async_api import expect

        started = time.perf_counter()
        diff = await asyncio.to_thread(self.server.request, "GET", self.diff_url)
        # The server computes nbdime's diff once; it answers the same pair from its cache
        # afterwards (every timed request of the diff pair).
        self.first_diff_ms = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        await asyncio.to_thread(self.server.request, "GET", self.diff_url)
        self.second_diff_ms = (time.perf_counter() - started) * 1000
        version = await asyncio.to_thread(self.server.request, "GET", self.version_url)
        self.expected = {
            "rows": PAGE_SIZE,
            "diff_cells": diff_cells(diff),
            "version_cells": len(version["content"]["cells"]),
        }
        await self.page.goto(f"{self.server.url}lab/tree/{quote(NAME)}?token={token}")
        await self.page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        await self.page.locator('.jp-SideBar [data-id="bookstore-history"]').click()
        rows = self.page.locator("#bookstore-history li.jp-bookstore-version")
        await expect(rows).to_have_count(PAGE_SIZE, timeout=UI_TIMEOUT_MS)
        await wait_for_idle_kernels(self.server)
        await self.page.evaluate(PAGE_JS, token)
        self.timeline = bool(await self.page.evaluate("bookstoreBench.timeline()"))
        self.select = "select row" if self.timeline else "Diff"
        self.open = "preview's Open" if self.timeline else "Open"

    async def call(self, expression: str, *args: Any) -> Any:
        return await self.page.evaluate(expression, list(args))

    def raw(self, url: str) -> Op:
        absolute = self.server.url + url
        return lambda: self.call("([url]) => bookstoreBench.raw(url)", absolute)

    async def history(self) -> Any:
        return await self.call("([n]) => bookstoreBench.history(n)", self.expected["rows"])

    async def diff(self) -> Any:
        cells = self.expected["diff_cells"]
        return await self.call("([id, n]) => bookstoreBench.diff(id, n)", self.version_id, cells)

    async def version(self) -> Any:
        """Open the version read-only: the timeline's way is the preview's open action, so
        the preview is shown first (untimed)."""
        await self.call(
            "([id, n]) => bookstoreBench.preview(id, n)",
            self.version_id,
            self.expected["diff_cells"],
        )
        await self.settle()
        cells = self.expected["version_cells"]
        return await self.call("([id, n]) => bookstoreBench.version(id, n)", self.version_id, cells)

    async def settle(self) -> None:
        await self.page.evaluate("bookstoreBench.settle()")

    def closer(self, *tabs: tuple[str, str]) -> Op:
        """Close every main-area tab whose widget id starts with a prefix of ``tabs``
        (Playwright's real click: Lumino closes tabs on pointer events) and wait until its
        view is gone; ``tabs`` holds (prefix, view selector) pairs."""
        from playwright.async_api import expect

        async def close() -> None:
            for prefix, view in tabs:
                tab = self.page.locator(f'#jp-main-dock-panel .lm-TabBar-tab[data-id^="{prefix}"]')
                for _ in range(await tab.count()):
                    await tab.first.locator(".lm-TabBar-tabCloseIcon").click()
                await expect(self.page.locator(view)).to_have_count(0)
            await self.settle()

        return close

    def pairs(self) -> list[Pair]:
        expected = self.expected
        # The diff's tab: the timeline's one preview tab, or (before it) a tab of the pair.
        diff_tabs = (("bookstore-preview-", f".{DIFF_VIEW}"), ("bookstore-diff-", f".{DIFF_VIEW}"))
        return [
            Pair(
                "history list",
                ui=f"Refresh -> {PAGE_SIZE} rows",
                raw=f"GET versions?limit={PAGE_SIZE}",
                ui_op=self.history,
                raw_op=self.raw(self.versions_url),
                close=self.settle,
            ),
            Pair(
                "diff",
                ui=f"{self.select} -> {expected['diff_cells']} cells",
                raw="GET diff",
                ui_op=self.diff,
                raw_op=self.raw(self.diff_url),
                close=self.closer(*diff_tabs),
            ),
            Pair(
                "open version",
                ui=f"{self.open} -> {expected['version_cells']} cells",
                raw="GET versions/<id>",
                ui_op=self.version,
                raw_op=self.raw(self.version_url),
                close=self.closer(("bookstore-version-", f".{VERSION_VIEW}"), *diff_tabs),
            ),
        ]

    async def check_counts(self, pairs: list[Pair]) -> None:
        """Once the UI has had time to finish, it shows exactly the expected cells (the
        timed condition is ``>=``)."""
        for pair, selector, key in (
            (pairs[1], f".{DIFF_VIEW} .jp-Cell-diff", "diff_cells"),
            (pairs[2], f".{VERSION_VIEW} .jp-Cell", "version_cells"),
        ):
            await pair.ui_op()
            await asyncio.sleep(1.0)
            shown = await self.call("([s]) => bookstoreBench.count(s)", selector)
            await pair.close()
            if shown != self.expected[key]:
                raise RuntimeError(
                    f"{pair.name}: the UI shows {shown} cells, expected {self.expected[key]}"
                )


async def measure(server: Any, rounds: int, ids: list[str]) -> tuple[list[Pair], dict[str, Any]]:
    """Open JupyterLab in headless Chromium and time every pair, interleaved."""
    from playwright.async_api import async_playwright

    from tests.browser.chromium import CHROMIUM_ARGS, chromium_executable
    from tests.jupyter_process import TOKEN

    executable = chromium_executable()
    if executable is None:
        raise RuntimeError("Chromium not found (apt-get install chromium)")
    errors: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_ARGS), timeout=30_000
        )
        try:
            page = await browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.on("pageerror", lambda error: errors.append(str(error)))
            lab = Lab(page, server, ids)
            started = time.perf_counter()
            await lab.load(TOKEN)
            print(
                f"JupyterLab showing {NAME} and its History panel, kernel idle, in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            frame_ms = await page.evaluate("bookstoreBench.frameInterval()")
            pairs = lab.pairs()
            for n in range(WARMUP_ROUNDS + rounds):
                for pair in pairs:
                    await pair.round(n, record=n >= WARMUP_ROUNDS)
                if n == 0:
                    await lab.check_counts(pairs)
                if n + 1 == WARMUP_ROUNDS:
                    started = time.perf_counter()
                elif n >= WARMUP_ROUNDS and (n + 1 - WARMUP_ROUNDS) % 5 == 0:
                    done = n + 1 - WARMUP_ROUNDS
                    per_round = (time.perf_counter() - started) / done
                    print(f"  round {done}/{rounds} ({per_round:.1f} s a round)", flush=True)
        finally:
            await browser.close()
    if errors:
        raise RuntimeError(f"errors in the page: {errors}")
    return pairs, {
        "frame_interval_ms": round(frame_ms, 2),
        "expected": lab.expected,
        "timeline": lab.timeline,
        "first_diff_request_ms": round(lab.first_diff_ms, 1),
        "second_diff_request_ms": round(lab.second_diff_ms, 1),
    }


def run(rounds: int, work_dir: Path) -> dict[str, Any]:
    from tests.jupyter_process import JupyterServer

    server = JupyterServer(
        work_dir,
        {
            "local_store_dir": str(work_dir / "local-store"),
            "archive_spool_dir": str(work_dir / "spool"),
        },
    )
    try:
        server.start()
        state = server.request("GET", "api/bookstore")
        if state["store"]["backend"] != "local" or not state["features"]["history_valid"]:
            raise RuntimeError(f"the server cannot serve histories: {state}")
        assert server.process is not None
        print(f"jupyter server on :{server.port} (pid {server.process.pid}), local store")
        ids, size, seconds = save_versions(server)
        print(
            f"saved {NAME} ({size / 1000:.0f} KB) {VERSIONS} times through the contents API: "
            f"{len(ids)} versions in {seconds:.1f} s",
            flush=True,
        )
        pairs, info = asyncio.run(measure(server, rounds, ids))
    finally:
        server.stop()
    return {"pairs": pairs, "notebook_bytes": size, **info}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"timed rounds, after {WARMUP_ROUNDS} warm-up rounds (default {DEFAULT_ROUNDS})",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from tests.browser.chromium import browser_unavailable_reason

    reason = browser_unavailable_reason()
    if reason is None and importlib.util.find_spec("jupyterlab") is None:
        reason = "needs JupyterLab: pip install -e '.[lab]'"
    if reason is not None:
        print(f"skipped: {reason}")
        print("\n" + json.dumps({"benchmark": "lab_ui", "skipped": reason}))
        return 0

    started = time.perf_counter()
    work_dir = Path(tempfile.mkdtemp(prefix="bookstore-bench-lab-ui-"))
    try:
        result = run(args.rounds, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    pairs: list[Pair] = result["pairs"]
    expected = result["expected"]
    print(
        f"\n{args.rounds} rounds (+{WARMUP_ROUNDS} warm-up), both sides of every pair once a "
        f"round, alternately; notebook {result['notebook_bytes'] / 1000:.0f} KB, "
        f"{VERSIONS} versions; diff and open: the oldest of the {expected['rows']} versions in "
        f"the panel; History panel: {'timeline' if result['timeline'] else 'buttons'}; "
        f"frame interval {result['frame_interval_ms']:.1f} ms; "
        "ratio = median(UI) / median(raw)\n"
    )
    print(
        f"the diff pair's first request (untimed setup, from Python): "
        f"{result['first_diff_request_ms']:.0f} ms (the server computes nbdime's diff), "
        f"the second {result['second_diff_request_ms']:.0f} ms (a server that caches diffs "
        "answers it, and every timed request, from its cache)\n"
    )
    print_tables(pairs)
    print_goals(pairs)
    summary = {
        "benchmark": "lab_ui",
        "rounds": args.rounds,
        "warmup_rounds": WARMUP_ROUNDS,
        "versions": VERSIONS,
        "notebook_bytes": result["notebook_bytes"],
        "frame_interval_ms": result["frame_interval_ms"],
        "expected": expected,
        "history_panel": "timeline" if result["timeline"] else "buttons",
        "first_diff_request_ms": result["first_diff_request_ms"],
        "second_diff_request_ms": result["second_diff_request_ms"],
        "pairs": summaries_by_name(pairs),
        "goals": goal_results(summaries_by_name(pairs)),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    print("\n" + json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
