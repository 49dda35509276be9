"""What bookstore's Runs panel costs in JupyterLab: showing 50 runs, and how late it shows
a run's new state.

Starts one real ``jupyter server`` (``tests/jupyter_process.py``; it also serves
JupyterLab, with bookstore's prebuilt extension from this environment) on the embedded
local store, with runs on but neither executed nor fired
(``--BookstoreRuns.execute_runs=False --BookstoreRuns.fire_schedules=False``) and their
database in a SQLite file of the benchmark's temporary folder.  It saves two notebooks
through ``PUT api/contents``: ``report.ipynb`` (a ``parameters`` cell and five code cells)
and ``scratch.ipynb`` (one cell), waits until both are archived, and queues
:data:`RUNS` runs of ``report.ipynb`` with ``POST api/bookstore/runs`` (each with its own
``region`` parameter).  Nobody executes them: they stay ``QUEUED`` until the benchmark
moves them.  JupyterLab then opens ``scratch.ipynb`` in headless Chromium
(``/usr/bin/chromium`` driven by Playwright, as in ``tests/browser``) with the Runs panel
(``#bookstore-runs``, right sidebar) showing that notebook's runs: none.

Three measures:

* ``open runs panel``, against the one request it makes.  UI: the panel's "Which runs to
  show" select switched from the active notebook (no runs) to "All my runs", until the
  panel is no longer busy (its ``aria-busy`` went ``true`` and back to ``false``) and
  shows its :data:`RUNS` rows (``li.jp-bookstore-run``), then the next frame painted;
  the select is set back (untimed) before the next round, so every timed switch renders
  the 50 rows from an empty list, which is what the panel does when it first opens.
  (Showing a hidden panel, or its Refresh button, re-fetches into rows that are already
  there: React changes nothing in the DOM, so that has no "shown" moment to time.)  Raw:
  ``fetch(…/api/bookstore/runs?limit=50)`` + ``json()`` from the same page, with what
  JupyterLab's ``ServerConnection`` sends (a cache-busting parameter,
  ``cache: "no-store"``, the token and ``X-XSRFToken``), the URL the panel asks for "All
  my runs".  Both timed in the page with ``performance.now()``, the select's change event
  dispatched from page JavaScript and the end seen by a ``MutationObserver``, as in
  ``lab_ui.py`` (whose ``Pair`` and tables this script reuses): after
  :data:`WARMUP_ROUNDS` untimed rounds both sides run once a round, the side going first
  swapping every round.
* ``state change -> row``: with "All my runs" shown, the benchmark process changes a
  run's state in the runs database itself (``bookstore.core.runs.db.RunDB.transition``:
  ``QUEUED`` -> ``RUNNING`` with progress ``0 / 6 cells``, then the same run ``RUNNING``
  -> ``COMPLETED``; both moves allowed by ``states.py``, no lease needed since no runner
  supervises them), :data:`CHANGES` times, each after a random pause of 0.1 to 1.1 s (so
  the writes fall anywhere in the panel's poll cycle).  The write time is ``time.time()``
  when SQLAlchemy is about to commit the update (its ``commit`` event); the page records
  ``Date.now()`` when a ``MutationObserver`` sees the row's ``data-state`` change; latency
  = page time - write time (one machine, one clock).  The poll request that brought the
  change (the last ``/api/bookstore/runs`` resource timing to end before it) splits the
  latency into: write -> that request's start (waiting for the poll), the request, and
  response -> DOM; a last column goes on to the next frame painted.  The floor to compare
  with is half the poll's period plus one fetch (the raw fetch's median above).  At least
  one shown run stays ``QUEUED`` or ``RUNNING`` throughout, so the panel polls every
  second (``ACTIVE_INTERVAL_MS`` in ``src/runs.tsx``; 3 s otherwise).
* ``polling``: the requests the panel makes, counted from the page's resource timings
  over :data:`WINDOW_S` seconds with nothing changing, first while shown runs are queued
  (``active``: before the state changes), then once every run has ended (``idle``: the
  remaining runs moved to ``CANCELLED`` or ``COMPLETED`` in the database).  Per window:
  requests to ``/api/bookstore/runs`` and to ``/api/bookstore/*`` per minute, the measured
  period between two polls, the poll's median duration, how many polls started before the
  previous one ended (``overlapping``), and the DOM mutations in the panel per poll (0:
  an unchanged answer changes nothing on screen).

The last stdout line is one JSON object.  Without Chromium, Playwright or JupyterLab the
script says why and exits 0, like the browser tests skip.

Run from the repository root:
``.venv/bin/python benchmarks/runs_ui.py [--rounds N] [--changes N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from _report import p90, print_rows
from lab_ui import UI_TIMEOUT_MS, VIEWPORT, Pair, print_tables, wait_for_idle_kernels
from nbformat import v4

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_ROUNDS = 30
WARMUP_ROUNDS = 2
#: Runs queued; the panel's page size (``PAGE_SIZE`` in ``src/runs.tsx``) is 50.
RUNS = 50
DEFAULT_CHANGES = 40
#: Seconds each polling window lasts (a multiple of both poll intervals).
WINDOW_S = 12.0
#: The panel's poll intervals (``src/runs.tsx``), ms.
ACTIVE_INTERVAL_MS = 1_000
IDLE_INTERVAL_MS = 3_000
REPORT = "report.ipynb"
SCRATCH = "scratch.ipynb"
#: Cells of ``report.ipynb``: the progress a RUNNING run reports is out of these.
REPORT_CELLS = 6
SEED = 20261202

# -- the page --------------------------------------------------------------------------

#: Installed once in the page; every timed operation returns times measured in the page.
PAGE_JS = """
(token) => {
  performance.setResourceTimingBufferSize(100000);
  const until = (root, condition) => new Promise((resolve, reject) => {
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
    observer.observe(root, {subtree: true, childList: true, attributes: true,
                            attributeOldValue: true, attributeFilter: ['aria-busy']});
    timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error('the panel did not show the result within @TIMEOUT@ ms'));
    }, @TIMEOUT@);
  });
  // The end of the next frame: its paint is done when a task queued from its
  // requestAnimationFrame callback runs.
  const painted = () => new Promise(resolve => requestAnimationFrame(
    () => setTimeout(() => resolve(performance.now()), 0)));
  const panel = () => document.querySelector('#bookstore-runs');
  const busy = () => panel().querySelector('.jp-bookstore-panel').getAttribute('aria-busy');
  const rows = () => panel().querySelectorAll('li.jp-bookstore-run');
  const isRuns = entry => entry.name.includes('/api/bookstore/runs');
  const resources = () => performance.getEntriesByType('resource');
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
      return {raw: t1 - t0, items: (model.runs || []).length};
    },
    // Switch the "Which runs to show" select to `value` ('all' or 'notebook') and time
    // until the panel, busy meanwhile, is not busy and shows `expected` rows.
    async scope(value, expected) {
      performance.clearResourceTimings();
      const root = panel();
      const select = root.querySelector('select[aria-label="Which runs to show"]');
      let wasBusy = false;
      const condition = records => {
        for (const record of records) {
          if (record.attributeName === 'aria-busy' && record.oldValue === 'true') wasBusy = true;
        }
        if (busy() === 'true') {
          wasBusy = true;
          return false;
        }
        return wasBusy && rows().length === expected;
      };
      const done = until(root, condition);
      const t0 = performance.now();
      select.value = value;
      select.dispatchEvent(new Event('change', {bubbles: true}));
      const dom = await done;
      const paint = await painted();
      const own = resources().filter(entry => isRuns(entry) && entry.startTime >= t0 &&
        entry.name.includes('path=') === (value === 'notebook'));
      const entry = own.length ? own[own.length - 1] : null;
      const calls = resources().filter(e => e.startTime >= t0 &&
        e.name.includes('/api/bookstore/') && !e.name.includes('/api/bookstore/archive'));
      return {
        requests: calls.length,
        ui: paint - t0,
        dom: dom - t0,
        request_start: entry ? entry.startTime - t0 : null,
        response_end: entry ? entry.responseEnd - t0 : null,
        bytes: entry ? entry.encodedBodySize : null,
      };
    },
    shown() {
      return Array.from(rows(), row => [row.dataset.runId, row.dataset.state]);
    },
    busy,
    // Record every change of a row's data-state: Date.now() when the observer sees it,
    // the poll request that brought it (the last runs request to end before it) in the
    // same clock, and the next frame painted.
    watch() {
      performance.clearResourceTimings();
      const log = [];
      const observer = new MutationObserver(records => {
        const wall = Date.now();
        const perf = performance.now();
        for (const record of records) {
          const row = record.target;
          if (record.attributeName !== 'data-state' || !row.matches('li.jp-bookstore-run')) {
            continue;
          }
          const state = row.getAttribute('data-state');
          if (state === record.oldValue) continue;
          const change = {id: row.dataset.runId, state, old: record.oldValue, wall,
                          request_start: null, response_end: null, paint: null};
          const before = resources().filter(e => isRuns(e) && e.responseEnd <= perf);
          if (before.length) {
            const last = before.reduce((a, b) => (b.responseEnd > a.responseEnd ? b : a));
            change.request_start = wall - (perf - last.startTime);
            change.response_end = wall - (perf - last.responseEnd);
          }
          log.push(change);
          requestAnimationFrame(() => setTimeout(() => {
            change.paint = wall + (performance.now() - perf);
          }, 0));
        }
      });
      observer.observe(panel(), {subtree: true, attributes: true, attributeOldValue: true,
                                 attributeFilter: ['data-state']});
      this.changes = log;
      this.unwatch = () => {
        observer.disconnect();
        const runs = resources().filter(isRuns).sort((a, b) => a.startTime - b.startTime);
        let overlapping = 0;
        for (let i = 1; i < runs.length; i++) {
          if (runs[i].startTime < runs[i - 1].responseEnd) overlapping += 1;
        }
        return {polls: runs.length, overlapping};
      };
    },
    seen(id, state) {
      const change = (this.changes || []).find(c => c.id === id && c.state === state);
      return change && change.paint !== null ? change : null;
    },
    // Nothing done for `ms`: the requests made and the panel's DOM mutations meanwhile.
    async window(ms) {
      const counts = {attributes: 0, childList: 0, characterData: 0};
      const attributes = {};
      const observer = new MutationObserver(records => {
        for (const record of records) {
          counts[record.type] += 1;
          if (record.type === 'attributes') {
            const name = `${record.target.tagName.toLowerCase()}[${record.attributeName}]`;
            attributes[name] = (attributes[name] || 0) + 1;
          }
        }
      });
      observer.observe(panel(), {subtree: true, childList: true, attributes: true,
                                 characterData: true});
      performance.clearResourceTimings();
      const t0 = performance.now();
      await new Promise(resolve => setTimeout(resolve, ms));
      observer.disconnect();
      const entries = resources().filter(e => e.startTime >= t0);
      const runs = entries.filter(isRuns).sort((a, b) => a.startTime - b.startTime);
      const paths = {};
      for (const e of entries.filter(e => e.name.includes('/api/'))) {
        const path = new URL(e.name).pathname;
        paths[path] = (paths[path] || 0) + 1;
      }
      let overlapping = 0;
      for (let i = 1; i < runs.length; i++) {
        if (runs[i].startTime < runs[i - 1].responseEnd) overlapping += 1;
      }
      return {
        ms: performance.now() - t0,
        runs: runs.length,
        bookstore: entries.filter(e => e.name.includes('/api/bookstore/')).length,
        paths,
        gaps: runs.slice(1).map((e, i) => e.startTime - runs[i].startTime),
        durations: runs.map(e => e.responseEnd - e.startTime),
        overlapping,
        mutations: counts,
        attributes,
      };
    },
    // Quiet: two frames, then an idle period (or 500 ms).
    settle: () => new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(
      () => requestIdleCallback(() => resolve(), {timeout: 500})))),
  };
}
""".replace("@TIMEOUT@", str(UI_TIMEOUT_MS))


# -- the notebooks and the runs --------------------------------------------------------


def report_notebook() -> Any:
    """A notebook whose ``parameters`` cell declares ``region``, and four cells after."""
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    parameters = v4.new_code_cell('region = "emea"  # the sales region\nlimit = 10')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        v4.new_markdown_cell("# Regional report"),
        parameters,
        v4.new_code_cell("import statistics"),
        v4.new_code_cell("values = [i * i for i in range(limit)]"),
        v4.new_code_cell("print(region, statistics.mean(values))"),
        v4.new_code_cell("print('done')"),
    ]
    return nb


def scratch_notebook() -> Any:
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [v4.new_code_cell("1 + 1")]
    return nb


def queue_runs(server: Any) -> list[str]:
    """Save both notebooks, wait until they are versions, queue :data:`RUNS` runs of the
    report (oldest first); return their ids."""
    for name, nb in ((REPORT, report_notebook()), (SCRATCH, scratch_notebook())):
        server.request(
            "PUT",
            f"api/contents/{quote(name)}",
            {"type": "notebook", "format": "json", "content": nb},
        )
    server.wait_archived()
    ids = []
    for n in range(RUNS):
        body = {"path": REPORT, "parameters": {"region": f"region-{n:02d}"}}
        run = server.request("POST", "api/bookstore/runs", body)
        if run["state"] != "QUEUED":
            raise RuntimeError(f"a new run is {run['state']}, not QUEUED")
        ids.append(run["id"])
    return ids


class Writer:
    """Moves runs in the runs database from this process, recording when each update is
    about to be committed."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        from bookstore.core.runs.db import RunDB

        self.db = RunDB(url)
        self.commits: list[float] = []
        sa.event.listen(self.db.engine, "commit", lambda _conn: self.commits.append(time.time()))

    def move(self, run_id: str, state: str) -> tuple[float, float]:
        """Move ``run_id`` to ``state`` (RUNNING from QUEUED, a final state from either);
        (time.time() just before the update's commit, the whole call's seconds)."""
        from bookstore.core.runs.states import RunState

        new = RunState(state)
        fields: dict[str, Any] = {}
        if new is RunState.RUNNING:
            expected = [RunState.QUEUED]
            fields = {"started_at": time.time(), "cells_total": REPORT_CELLS, "cells_done": 0}
        elif new is RunState.COMPLETED:
            expected = [RunState.RUNNING]
            fields = {"cells_done": REPORT_CELLS, "current_cell": None}
        else:
            expected = [RunState.QUEUED]
        self.commits.clear()
        started = time.perf_counter()
        if self.db.transition(run_id, new, expected=expected, **fields) is None:
            raise RuntimeError(f"run {run_id} was not {expected[0].value}")
        return self.commits[0], time.perf_counter() - started

    def close(self) -> None:
        self.db.close()


# -- the benchmark ---------------------------------------------------------------------


class Lab:
    """JupyterLab in one page showing ``scratch.ipynb`` and the Runs panel."""

    def __init__(self, page: Any, server: Any) -> None:
        self.page = page
        self.server = server
        self.all_url = f"{server.url}api/bookstore/runs?limit={RUNS}"

    async def load(self, token: str) -> None:
        from playwright.async_api import expect

        await self.page.goto(f"{self.server.url}lab/tree/{quote(SCRATCH)}?token={token}")
        await self.page.locator(".jp-Notebook .jp-Cell").first.wait_for()
        await self.page.locator('.jp-SideBar [data-id="bookstore-runs"]').click()
        panel = self.page.locator("#bookstore-runs .jp-bookstore-panel")
        await expect(panel).to_have_attribute("aria-busy", "false", timeout=UI_TIMEOUT_MS)
        scope = self.page.get_by_label("Which runs to show")
        await expect(scope).to_have_value("notebook")
        await expect(self.page.locator("#bookstore-runs li.jp-bookstore-run")).to_have_count(0)
        await wait_for_idle_kernels(self.server)
        await self.page.evaluate(PAGE_JS, token)

    async def call(self, expression: str, *args: Any) -> Any:
        return await self.page.evaluate(expression, list(args))

    async def settle(self) -> None:
        await self.page.evaluate("bookstoreBench.settle()")

    async def open_all(self) -> Any:
        return await self.call("([n]) => bookstoreBench.scope('all', n)", RUNS)

    async def back(self) -> None:
        """The select back to the active notebook (no runs: an empty list), untimed."""
        await self.call("() => bookstoreBench.scope('notebook', 0)")
        await self.settle()

    async def raw(self) -> Any:
        return await self.call("([url]) => bookstoreBench.raw(url)", self.all_url)

    def pair(self) -> Pair:
        return Pair(
            "open runs panel",
            ui=f"All my runs -> {RUNS} rows",
            raw=f"GET runs?limit={RUNS}",
            ui_op=self.open_all,
            raw_op=self.raw,
            close=self.back,
        )

    async def shown(self) -> dict[str, str]:
        return dict(await self.call("() => bookstoreBench.shown()"))

    async def window(self, seconds: float) -> dict[str, Any]:
        return dict(await self.call("([ms]) => bookstoreBench.window(ms)", seconds * 1000))


async def state_changes(
    lab: Lab, writer: Writer, ids: list[str], changes: int, rng: random.Random
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Move runs QUEUED -> RUNNING -> COMPLETED, one change at a time, and time each
    until its row shows it."""
    order = ids[:]
    rng.shuffle(order)
    await lab.call("() => bookstoreBench.watch()")
    results = []
    for k in range(changes):
        run_id = order[k // 2]
        state = "RUNNING" if k % 2 == 0 else "COMPLETED"
        await asyncio.sleep(rng.uniform(0.1, 1.1))
        written, call_s = await asyncio.to_thread(writer.move, run_id, state)
        await lab.page.wait_for_function(
            "([id, state]) => bookstoreBench.seen(id, state) !== null",
            arg=[run_id, state],
            polling=50,
            timeout=UI_TIMEOUT_MS,
        )
        seen = await lab.call("([id, state]) => bookstoreBench.seen(id, state)", run_id, state)
        results.append({**seen, "written": written * 1000, "write_ms": call_s * 1000})
        if (k + 1) % 10 == 0:
            print(f"  change {k + 1}/{changes}", flush=True)
    polls = await lab.call("() => bookstoreBench.unwatch()")
    return results, polls


async def finish_all(lab: Lab, writer: Writer) -> None:
    """End every run still queued or running (in the database), until the panel shows it."""
    from playwright.async_api import expect

    for run_id, state in (await lab.shown()).items():
        if state == "QUEUED":
            await asyncio.to_thread(writer.move, run_id, "CANCELLED")
        elif state == "RUNNING":
            await asyncio.to_thread(writer.move, run_id, "COMPLETED")
    active = lab.page.locator(
        '#bookstore-runs li.jp-bookstore-run:is([data-state="QUEUED"], [data-state="RUNNING"])'
    )
    await expect(active).to_have_count(0, timeout=UI_TIMEOUT_MS)


async def measure(
    server: Any, rounds: int, changes: int, ids: list[str], db_url: str
) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    from tests.browser.chromium import CHROMIUM_ARGS, chromium_executable
    from tests.jupyter_process import TOKEN

    executable = chromium_executable()
    if executable is None:
        raise RuntimeError("Chromium not found (apt-get install chromium)")
    errors: list[str] = []
    rng = random.Random(SEED)
    writer = Writer(db_url)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, headless=True, args=list(CHROMIUM_ARGS), timeout=30_000
        )
        try:
            page = await browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(UI_TIMEOUT_MS)
            page.on("pageerror", lambda error: errors.append(str(error)))
            lab = Lab(page, server)
            started = time.perf_counter()
            await lab.load(TOKEN)
            print(
                f"JupyterLab showing {SCRATCH} and the Runs panel (no runs), kernel idle, in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
            pair = lab.pair()
            for n in range(WARMUP_ROUNDS + rounds):
                await pair.round(n, record=n >= WARMUP_ROUNDS)
                if n == 0:
                    await lab.open_all()
                    shown = await lab.shown()
                    await lab.back()
                    if sorted(shown) != sorted(ids) or set(shown.values()) != {"QUEUED"}:
                        raise RuntimeError(f"the panel shows {shown}, not the {RUNS} queued runs")
            print(f"  open runs panel: {rounds} rounds done", flush=True)
            await lab.open_all()
            await lab.settle()
            await asyncio.sleep(1.5)
            active = await lab.window(WINDOW_S)
            print(f"  active polling: {active['runs']} requests in {WINDOW_S:.0f} s", flush=True)
            latencies, polls = await state_changes(lab, writer, ids, changes, rng)
            await finish_all(lab, writer)
            await asyncio.sleep(1.5)
            idle = await lab.window(WINDOW_S)
            print(f"  idle polling: {idle['runs']} requests in {WINDOW_S:.0f} s", flush=True)
        finally:
            await browser.close()
            writer.close()
    if errors:
        raise RuntimeError(f"errors in the page: {errors}")
    return {
        "pair": pair,
        "changes": latencies,
        "change_polls": polls,
        "windows": {"active": active, "idle": idle},
    }


def run(rounds: int, changes: int, work_dir: Path) -> dict[str, Any]:
    from tests.jupyter_process import JupyterServer

    db_url = f"sqlite:///{work_dir / 'runs.sqlite'}"
    server = JupyterServer(
        work_dir,
        {
            "local_store_dir": str(work_dir / "local-store"),
            "archive_spool_dir": str(work_dir / "spool"),
        },
        (
            "--BookstoreRuns.execute_runs=False",
            "--BookstoreRuns.fire_schedules=False",
            f"--BookstoreRuns.database_url={db_url}",
        ),
    )
    try:
        server.start()
        state = server.request("GET", "api/bookstore")
        features = state["features"]
        if not features["history_valid"] or not features.get("runs_valid"):
            raise RuntimeError(f"the server cannot serve histories and runs: {state}")
        assert server.process is not None
        print(f"jupyter server on :{server.port} (pid {server.process.pid}), local store")
        started = time.perf_counter()
        ids = queue_runs(server)
        print(
            f"saved {REPORT} and {SCRATCH}, queued {len(ids)} runs of {REPORT} in "
            f"{time.perf_counter() - started:.1f} s (nobody executes them)",
            flush=True,
        )
        return asyncio.run(measure(server, rounds, changes, ids, db_url))
    finally:
        server.stop()


# -- the report ------------------------------------------------------------------------

#: The phases of a state change, from its times: (label, start key, end key).
CHANGE_PHASES = (
    ("write -> poll starts", "written", "request_start"),
    ("poll request", "request_start", "response_end"),
    ("response -> DOM", "response_end", "wall"),
    ("DOM -> painted", "wall", "paint"),
)


def window_summary(window: dict[str, Any], interval_ms: int) -> dict[str, Any]:
    minutes = window["ms"] / 60_000
    polls = max(window["runs"], 1)
    return {
        "interval_ms": interval_ms,
        "window_s": round(window["ms"] / 1000, 1),
        "runs_requests": window["runs"],
        "runs_per_min": round(window["runs"] / minutes, 1),
        "bookstore_per_min": round(window["bookstore"] / minutes, 1),
        "period_median_ms": round(statistics.median(window["gaps"]), 1) if window["gaps"] else None,
        "poll_median_ms": (
            round(statistics.median(window["durations"]), 1) if window["durations"] else None
        ),
        "overlapping": window["overlapping"],
        "mutations_per_poll": round(sum(window["mutations"].values()) / polls, 1),
        "mutations": window["mutations"],
        "mutated_attributes": window["attributes"],
        "api_paths": window["paths"],
    }


def change_summary(
    changes: list[dict[str, Any]], polls: dict[str, Any], raw_median_ms: float, period_ms: float
) -> dict[str, Any]:
    latency = [c["wall"] - c["written"] for c in changes]
    painted = [c["paint"] - c["written"] for c in changes]
    phases = {}
    for label, start, end in CHANGE_PHASES:
        spans = [c[end] - c[start] for c in changes if c[start] is not None and c[end] is not None]
        phases[label] = round(statistics.median(spans), 1) if spans else None
    floor = period_ms / 2 + raw_median_ms
    return {
        "changes": len(changes),
        "median_ms": round(statistics.median(latency), 1),
        "p90_ms": round(p90(latency), 1),
        "max_ms": round(max(latency), 1),
        "min_ms": round(min(latency), 1),
        "painted_median_ms": round(statistics.median(painted), 1),
        "interval_ms": ACTIVE_INTERVAL_MS,
        "period_ms": round(period_ms, 1),
        "floor_ms": round(floor, 1),
        "median_over_floor": round(statistics.median(latency) / floor, 2),
        "write_call_median_ms": round(statistics.median(c["write_ms"] for c in changes), 2),
        "phases_median_ms": phases,
        "polls": polls["polls"],
        "overlapping_polls": polls["overlapping"],
        "by_move": {
            move: round(statistics.median(c["wall"] - c["written"] for c in group), 1)
            for move in ("QUEUED->RUNNING", "RUNNING->COMPLETED")
            if (group := [c for c in changes if f"{c['old']}->{c['state']}" == move])
        },
    }


def print_report(pair: Pair, change: dict[str, Any], windows: dict[str, dict[str, Any]]) -> None:
    print_tables([pair])
    print(
        f"\nstate change -> row's data-state (Date.now() in the page - time.time() at the "
        f"commit, ms); the panel polls every {change['interval_ms'] / 1000:g} s (a shown run "
        "is queued or running)\n"
    )
    rows: list[tuple[str, ...]] = [
        (
            "measure",
            "n",
            "median",
            "p90",
            "max",
            "min",
            "painted med",
            "interval",
            "period",
            "floor",
            "median/floor",
        ),
        (
            "state change -> row",
            str(change["changes"]),
            f"{change['median_ms']:.0f}",
            f"{change['p90_ms']:.0f}",
            f"{change['max_ms']:.0f}",
            f"{change['min_ms']:.0f}",
            f"{change['painted_median_ms']:.0f}",
            f"{change['interval_ms']}",
            f"{change['period_ms']:.0f}",
            f"{change['floor_ms']:.0f}",
            f"{change['median_over_floor']:.2f}x",
        ),
    ]
    print_rows(rows, left=1)
    phases = change["phases_median_ms"]
    print(
        "\nwhere it goes (medians, ms; the poll that brought the change, from resource "
        "timings): "
        + ", ".join(f"{label} {value}" for label, value in phases.items())
        + f"; by move: {change['by_move']}; the database write itself "
        f"{change['write_call_median_ms']:.1f} ms; {change['polls']} polls, "
        f"{change['overlapping_polls']} overlapping"
    )
    print(f"\npolling with nothing changing ({WINDOW_S:.0f} s windows):\n")
    rows = [
        (
            "panel",
            "runs shown",
            "interval",
            "period med",
            "poll med",
            "runs req/min",
            "bookstore req/min",
            "overlapping",
            "mutations/poll",
        )
    ]
    for name, shown in (("active", "50 queued"), ("idle", "50 ended")):
        w = windows[name]
        rows.append(
            (
                name,
                shown,
                f"{w['interval_ms']} ms",
                "-" if w["period_median_ms"] is None else f"{w['period_median_ms']:.0f}",
                "-" if w["poll_median_ms"] is None else f"{w['poll_median_ms']:.1f}",
                f"{w['runs_per_min']:.0f}",
                f"{w['bookstore_per_min']:.0f}",
                str(w["overlapping"]),
                f"{w['mutations_per_poll']:g}",
            )
        )
    print_rows(rows, left=2)
    for name in ("active", "idle"):
        w = windows[name]
        print(f"  {name}: API requests in the window by path: {w['api_paths']}")
        print(
            f"  {name}: DOM mutations in the panel: {w['mutations']}, "
            f"attributes {w['mutated_attributes']}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"timed rounds of the open pair, after {WARMUP_ROUNDS} warm-up rounds "
        f"(default {DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--changes",
        type=int,
        default=DEFAULT_CHANGES,
        help=f"state changes timed, at least 20 (default {DEFAULT_CHANGES})",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if not 1 <= args.changes <= 2 * (RUNS - 1):
        parser.error(f"--changes must be between 1 and {2 * (RUNS - 1)}")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from tests.browser.chromium import browser_unavailable_reason

    reason = browser_unavailable_reason()
    if reason is None and importlib.util.find_spec("jupyterlab") is None:
        reason = "needs JupyterLab: pip install -e '.[lab]'"
    if reason is None and importlib.util.find_spec("sqlalchemy") is None:
        reason = "needs runs: pip install -e '.[runs]'"
    if reason is not None:
        print(f"skipped: {reason}")
        print("\n" + json.dumps({"benchmark": "runs_ui", "skipped": reason}))
        return 0

    started = time.perf_counter()
    work_dir = Path(tempfile.mkdtemp(prefix="bookstore-bench-runs-ui-"))
    try:
        result = run(args.rounds, args.changes, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    pair: Pair = result["pair"]
    windows = {
        "active": window_summary(result["windows"]["active"], ACTIVE_INTERVAL_MS),
        "idle": window_summary(result["windows"]["idle"], IDLE_INTERVAL_MS),
    }
    opened = pair.summary()
    period = windows["active"]["period_median_ms"] or float(ACTIVE_INTERVAL_MS)
    change = change_summary(
        result["changes"], result["change_polls"], opened["raw_median_ms"], period
    )
    print(
        f"\n{args.rounds} rounds (+{WARMUP_ROUNDS} warm-up) of the open pair, both sides "
        f"once a round, alternately; {RUNS} runs of {REPORT}; ratio = median(UI) / "
        f"median(raw); then {args.changes} state changes written to the runs database\n"
    )
    print_report(pair, change, windows)
    summary = {
        "benchmark": "runs_ui",
        "rounds": args.rounds,
        "warmup_rounds": WARMUP_ROUNDS,
        "runs": RUNS,
        "open": opened,
        "state_change": change,
        "polling": windows,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    print("\n" + json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
