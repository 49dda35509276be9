"""Event-loop lag and peak memory of a Jupyter server while bookstore archives and diffs a
100 MB notebook, against a plain server saving the same notebook.

Starts one SeaweedFS (``weed mini`` on 127.0.0.1, via ``tests/s3rig.py``) with a
versioned bucket and two real ``jupyter server`` subprocesses (``tests/jupyter_process.py``),
as ``archive_saves.py`` does: ``plain`` (bookstore disabled, checked) and ``archiving``
(bookstore archiving every save to that bucket).  The notebook is ``tests/notebooks.py``'s
``make_notebook`` with ``--cells`` (100) code cells of one text output each, ``--mb`` (100)
MB in all; its JSON request body is built once, before anything is timed.

While an operation runs, a **probe** thread of this process sends ``GET /api/status``
(with the token) to the server under test every 10 ms on a keep-alive connection of its
own and records each latency.  The request is trivial, so its latency above the server's
idle baseline is how long the server's event loop could not answer: every other user of
the server (kernels' messages, other saves, the UI's requests) waits that long too.  A
probe that waits L ms stands for the probes it kept from being sent: the percentiles count
it once plus once per 10 ms it waited (L - 10, L - 20, … ms; HdrHistogram's correction for
coordinated omission), so a 4 s stall weighs as 400 probes would, not as one.  Only the
probes overlapping the operation count.

Before the phases, untimed: two saves of a small notebook on each server and a diff of its
two versions, so that one-time start-up (the S3 client, lazy imports) is not timed.
Phases:

* ``idle``, on each server: the probe alone for 2 s, the baseline (its median is taken
  off every ``lag``).
* ``save``, on each server: ``PUT api/contents/huge.ipynb`` of the notebook.  On the
  archiving server the operation lasts until ``GET api/bookstore/archive`` (polled every
  50 ms on another connection) reports nothing pending, since the upload happens after the
  reply; ``reply s`` is the PUT alone, and ``reply / after`` splits its ``lag p99`` at the
  reply (what bookstore adds to the save itself / the upload after it).
* ``save v2``, archiving server: the same with a second, slightly different version (a new
  first cell, one code cell's source and output changed).
* ``diff``, archiving server: ``GET api/bookstore/workspace/huge.ipynb/diff?base=<oldest
  version>&remote=<newest version>`` (the two versions just archived, from the versions
  route, untimed), the whole reply read (the diff, its summary and the base notebook, as
  JupyterLab's diff view asks for it); it is parsed and checked after the probe stopped.
  Big diffs run in a worker process that the first one starts: ``diff again`` is the same
  request once more, with that process running.

Columns: the operation's wall time (``op s``), the probes completed during it, the probe's
p50 / p99 / max latency in ms, ``lag p99`` = p99 - the idle median, the server's CPU
seconds during the operation (``archive_saves.process_cpu_s``: the server process's user +
system time and its child processes'), its RSS before the operation and its peak RSS
(``VmHWM`` of ``/proc/<pid>/status``, reset before each operation by writing 5 to
``/proc/<pid>/clear_refs``, read at its end: the operation's own peak; ``since start`` if
the reset was refused), and ``workers MB``, the summed peak RSS of its child processes
(the diff worker) measured the same way.

How to read it: goals of issue 15, printed as verdicts (``ok`` / ``ABOVE``): p99 probe lag
under 100 ms while the archiving server archives a save and while it diffs, and the
archiving server's peak RSS while saving (and archiving) the notebook under 1.2x the plain
server's.  The plain server's own lag while saving is the floor: Jupyter itself parses,
validates and writes the notebook on its event loop, and the archiving server does the
same before bookstore's part.  The machine's other load (SeaweedFS shares its cores, and
the probe thread this process's) shows in the idle rows: compare a run's rows with each
other.  The last stdout line is one JSON object.

Run from the repository root: ``.venv/bin/python benchmarks/huge_notebooks.py [--mb N]
[--cells N]`` (default 100 MB in 100 cells; ``--mb 5`` is a quick check).
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _report import print_rows
from archive_saves import descendants, process_cpu_s, start_pair

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_MB = 100
DEFAULT_CELLS = 100
NOTEBOOK_PATH = "huge.ipynb"
WARMUP_PATH = "warm-up.ipynb"
IDLE_S = 2.0
#: The probe's period: one request every 10 ms (or right after a slower one).
PROBE_INTERVAL_S = 0.01
#: The probe runs this long before each operation (its connection is warm by then).
PROBE_LEAD_S = 0.3
DRAIN_POLL_S = 0.05
REQUEST_TIMEOUT_S = 900.0
#: Goals of issue 15.
LAG_GOAL_MS = 100.0
RSS_GOAL = 1.2


# -- HTTP ------------------------------------------------------------------------------


class Http:
    """One keep-alive HTTP connection to a Jupyter server, with its token."""

    def __init__(self, port: int) -> None:
        from tests.jupyter_process import TOKEN

        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT_S)
        self.headers = {"Authorization": f"token {TOKEN}", "Connection": "keep-alive"}

    def call(self, method: str, path: str, body: bytes | None = None) -> bytes:
        """Send one request, read the whole reply; raise unless it is a success."""
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        self.connection.request(method, f"/{path}", body=body, headers=headers)
        response = self.connection.getresponse()
        reply = response.read()
        if response.status not in (200, 201):
            raise RuntimeError(f"{method} {path} answered {response.status}: {reply[:500]!r}")
        return reply

    def json(self, method: str, path: str) -> Any:
        return json.loads(self.call(method, path))

    def close(self) -> None:
        self.connection.close()


class Probe:
    """A thread sending ``GET api/status`` every ``PROBE_INTERVAL_S`` on a connection of
    its own; ``samples`` are (sent, answered) ``perf_counter`` pairs."""

    def __init__(self, port: int) -> None:
        self.http = Http(port)
        self.samples: list[tuple[float, float]] = []
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="probe", daemon=True)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                sent = time.perf_counter()
                self.http.call("GET", "api/status")
                answered = time.perf_counter()
                self.samples.append((sent, answered))
                self._stop.wait(max(0.0, PROBE_INTERVAL_S - (answered - sent)))
        except BaseException as exc:
            self.error = exc

    def __enter__(self) -> Probe:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()  # the request in flight completes
        self.http.close()
        if self.error is not None and exc_info[0] is None:
            raise RuntimeError(f"the probe failed: {self.error!r}") from self.error


def corrected(latencies_ms: list[float]) -> list[float]:
    """The latencies plus, for each one longer than the probe period, the latencies of
    the probes it kept from being sent (HdrHistogram's coordinated-omission correction)."""
    period = PROBE_INTERVAL_S * 1000.0
    values = list(latencies_ms)
    for latency in latencies_ms:
        missed = latency - period
        while missed >= period:
            values.append(missed)
            missed -= period
    return values


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` percentile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


# -- the server process ----------------------------------------------------------------


def proc_status_kb(pid: int, field_name: str) -> int:
    """A ``kB`` field of ``/proc/<pid>/status`` (``VmHWM``, ``VmRSS``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field_name} in /proc/{pid}/status")


def reset_peak_rss(pid: int) -> bool:
    """Reset the process's ``VmHWM`` to its current RSS (Linux >= 4.0); False if refused."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def window(samples: list[tuple[float, float]], start: float, end: float) -> tuple[list[float], int]:
    """The latencies (ms) of the probes overlapping ``start``..``end``, and how many of
    them completed within it."""
    during = [(sent, answered) for sent, answered in samples if answered >= start and sent <= end]
    completed = sum(1 for _, answered in during if answered <= end)
    return [(answered - sent) * 1000.0 for sent, answered in during], completed


@dataclass
class Result:
    """One operation on one server, with the probe's view of it."""

    phase: str
    server: str
    op_s: float
    probes: int
    latencies_ms: list[float]
    cpu_s: float
    rss_before_kb: int
    peak_rss_kb: int
    peak_reset: bool
    #: The peak RSS of the server's child processes (the diff worker), summed.
    workers_peak_rss_kb: int = 0
    baseline_ms: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)
    #: The probe latencies before and after the reply, for saves archived after it.
    reply_ms: list[float] = field(default_factory=list)
    after_reply_ms: list[float] = field(default_factory=list)

    def lag_p99(self, latencies_ms: list[float]) -> float | None:
        """The p99 of ``latencies_ms`` (corrected) above the idle median."""
        if not latencies_ms:
            return None
        return round(percentile(corrected(latencies_ms), 0.99) - self.baseline_ms, 2)

    def to_dict(self) -> dict[str, Any]:
        weighted = corrected(self.latencies_ms)
        p99 = percentile(weighted, 0.99)
        return {
            "phase": self.phase,
            "server": self.server,
            "op_s": round(self.op_s, 3),
            "probes_completed": self.probes,
            "probe_p50_ms": round(statistics.median(weighted), 2),
            "probe_p99_ms": round(p99, 2),
            "probe_max_ms": round(max(weighted), 2),
            "probe_p99_uncorrected_ms": round(percentile(self.latencies_ms, 0.99), 2),
            "lag_p99_ms": round(p99 - self.baseline_ms, 2),
            "reply_lag_p99_ms": self.lag_p99(self.reply_ms),
            "after_reply_lag_p99_ms": self.lag_p99(self.after_reply_ms),
            "cpu_s": round(self.cpu_s, 2),
            "rss_before_mb": round(self.rss_before_kb / 1024, 1),
            "peak_rss_mb": round(self.peak_rss_kb / 1024, 1),
            "peak_rss_since": "operation" if self.peak_reset else "start",
            "workers_peak_rss_mb": round(self.workers_peak_rss_kb / 1024, 1),
            **self.details,
        }


def measure(phase: str, name: str, server: Any, operation: Callable[[], dict[str, Any]]) -> Result:
    """Run ``operation`` with the probe on ``server``; its latencies, CPU and peak RSS.
    An operation that answers ``replied_at`` (a ``perf_counter`` time) gets its probe
    latencies split there too."""
    pid = int(server.process.pid)
    reset = reset_peak_rss(pid)
    for child in descendants(pid):
        reset_peak_rss(child)
    rss_before = proc_status_kb(pid, "VmRSS")
    cpu_before = process_cpu_s(pid)
    with Probe(server.port) as probe:
        time.sleep(PROBE_LEAD_S)
        start = time.perf_counter()
        details = operation()
        end = time.perf_counter()
    cpu_s = process_cpu_s(pid) - cpu_before
    peak = proc_status_kb(pid, "VmHWM")
    workers = 0
    for child in descendants(pid):
        try:
            workers += proc_status_kb(child, "VmHWM")
        except (OSError, RuntimeError):
            continue  # ended meanwhile
    latencies, completed = window(probe.samples, start, end)
    if not latencies:
        raise RuntimeError(f"{phase} on {name}: no probe overlapped the operation")
    result = Result(
        phase, name, end - start, completed, latencies, cpu_s, rss_before, peak, reset, workers
    )
    replied_at = details.pop("replied_at", None)
    if replied_at is not None and "drain_s" in details:
        result.reply_ms = window(probe.samples, start, replied_at)[0]
        result.after_reply_ms = window(probe.samples, replied_at, end)[0]
    result.details = details
    return result


# -- the operations --------------------------------------------------------------------


def put_body(notebook: dict[str, Any]) -> bytes:
    return json.dumps({"type": "notebook", "format": "json", "content": notebook}).encode()


def second_version(notebook: dict[str, Any]) -> None:
    """Change the notebook slightly: its first cell, and one code cell's source and output."""
    cells = notebook["cells"]
    cells[0]["source"] = f"# Notebook, second version ({uuid.uuid4().hex})"
    middle = cells[len(cells) // 2]
    middle["source"] = "print('changed')"
    text = middle["outputs"][0]["text"]
    middle["outputs"][0]["text"] = "changed " + text[8:]


def save(http: Http, body: bytes, status: Http | None) -> dict[str, Any]:
    """PUT the notebook; with ``status``, then wait until the archive backlog is 0."""
    start = time.perf_counter()
    http.call("PUT", f"api/contents/{NOTEBOOK_PATH}", body)
    replied_at = time.perf_counter()
    details: dict[str, Any] = {"reply_s": round(replied_at - start, 3), "replied_at": replied_at}
    if status is not None:
        polls = 0
        deadline = start + REQUEST_TIMEOUT_S
        while True:
            archive = status.json("GET", "api/bookstore/archive")
            polls += 1
            if archive["pending"] == 0:
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"archive backlog not drained: {archive}")
            time.sleep(DRAIN_POLL_S)
        details["drain_s"] = round(time.perf_counter() - replied_at, 3)
        details["archive"] = {
            name: archive[name] for name in ("archived", "skipped_identical", "failed")
        }
    return details


def versions(http: Http, path: str) -> list[str]:
    """The ids of the stored (not pending) versions of ``path``, newest first."""
    reply = http.json("GET", f"api/bookstore/workspace/{path}/versions")
    return [item["id"] for item in reply["versions"] if not item.get("pending")]


# -- output ----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "ok" if ok else "ABOVE"


def split(result: dict[str, Any]) -> str:
    """``lag p99`` before / after the reply, for saves archived after it."""
    before, after = result["reply_lag_p99_ms"], result["after_reply_lag_p99_ms"]
    if before is None or after is None:
        return ""
    return f"{before:.1f} / {after:.1f}"


def print_report(summary: dict[str, Any]) -> None:
    rows: list[tuple[str, ...]] = [
        (
            "phase",
            "server",
            "op s",
            "reply s",
            "probes",
            "p50 ms",
            "p99 ms",
            "max ms",
            "lag p99 ms",
            "reply / after",
            "CPU s",
            "RSS before MB",
            "peak RSS MB",
            "workers MB",
        )
    ]
    for result in summary["phases"]:
        rows.append(
            (
                result["phase"],
                result["server"],
                f"{result['op_s']:.2f}",
                f"{result['reply_s']:.2f}" if "reply_s" in result else "",
                str(result["probes_completed"]),
                f"{result['probe_p50_ms']:.1f}",
                f"{result['probe_p99_ms']:.1f}",
                f"{result['probe_max_ms']:.1f}",
                f"{result['lag_p99_ms']:.1f}" if result["phase"] != "idle" else "",
                split(result),
                f"{result['cpu_s']:.2f}",
                f"{result['rss_before_mb']:.0f}",
                f"{result['peak_rss_mb']:.0f}"
                + ("" if result["peak_rss_since"] == "operation" else " (since start)"),
                f"{result['workers_peak_rss_mb']:.0f}" if result["workers_peak_rss_mb"] else "",
            )
        )
    print_rows(rows, left=2)
    print()
    for goal in summary["goals"]:
        print(f"goal {goal['goal']}: {goal['measured']} {verdict(goal['ok'])}")
    diff = summary["diff"]
    print(
        f"diff: {diff['reply_bytes']:,} bytes answered, {diff['summary']}; versions "
        f"{diff['base']} -> {diff['remote']}"
    )


# -- the benchmark ---------------------------------------------------------------------


def idle() -> dict[str, Any]:
    time.sleep(IDLE_S)
    return {}


class Bench:
    """The two servers, a connection to each, and the results of every phase."""

    def __init__(self, plain: Any, archiving: Any) -> None:
        self.plain = plain
        self.archiving = archiving
        self.to_plain = Http(plain.port)
        self.to_archiving = Http(archiving.port)
        self.status = Http(archiving.port)
        self.results: list[Result] = []
        self.baselines: dict[str, float] = {}
        self.diff_info: dict[str, Any] = {}

    def close(self) -> None:
        for connection in (self.to_plain, self.to_archiving, self.status):
            connection.close()

    def warm_up(self) -> None:
        """Untimed: two saves of a small notebook on each server (archived), and their
        diff, so that no one-time start-up (the S3 client, lazy imports) is timed."""
        from tests.notebooks import make_notebook

        for marker in ("one", "two"):
            body = put_body(make_notebook(marker))
            self.to_plain.call("PUT", f"api/contents/{WARMUP_PATH}", body)
            self.to_archiving.call("PUT", f"api/contents/{WARMUP_PATH}", body)
            self.archiving.wait_archived(timeout=REQUEST_TIMEOUT_S)
        ids = versions(self.to_archiving, WARMUP_PATH)
        query = urllib.parse.urlencode({"base": ids[-1], "remote": ids[0]})
        self.to_archiving.call("GET", f"api/bookstore/workspace/{WARMUP_PATH}/diff?{query}")

    def idle(self) -> None:
        """Phase a: the probe alone on each server, for its baseline."""
        for name, server in (("plain", self.plain), ("archiving", self.archiving)):
            result = measure("idle", name, server, idle)
            self.baselines[name] = statistics.median(result.latencies_ms)
            self.results.append(result)

    def save(self, body: bytes) -> None:
        """Phase b: the notebook saved on each server (archiving: until archived)."""
        self.results.append(
            measure("save", "plain", self.plain, lambda: save(self.to_plain, body, None))
        )
        self.results.append(
            measure(
                "save",
                "archiving",
                self.archiving,
                lambda: save(self.to_archiving, body, self.status),
            )
        )

    def save_again(self, body: bytes) -> None:
        """Phase c, first part: a second version saved and archived."""
        self.results.append(
            measure(
                "save v2",
                "archiving",
                self.archiving,
                lambda: save(self.to_archiving, body, self.status),
            )
        )

    def diff(self, phase: str) -> None:
        """Phase c: the diff of the oldest and the newest version, with its base notebook."""
        ids = versions(self.to_archiving, NOTEBOOK_PATH)
        if len(ids) != 2:
            raise RuntimeError(f"expected 2 versions of {NOTEBOOK_PATH}, found {ids}")
        newest, oldest = ids[0], ids[-1]
        query = urllib.parse.urlencode({"base": oldest, "remote": newest})
        path = f"api/bookstore/workspace/{NOTEBOOK_PATH}/diff?{query}"
        replies: list[bytes] = []

        def operation() -> dict[str, Any]:
            replies.append(self.to_archiving.call("GET", path))
            return {"reply_bytes": len(replies[0])}

        self.results.append(measure(phase, "archiving", self.archiving, operation))
        reply = json.loads(replies.pop())
        if not reply["diff"]:
            raise RuntimeError("the diff of two different versions is empty")
        summary = reply["summary"]
        self.diff_info = {
            "reply_bytes": self.results[-1].details["reply_bytes"],
            "summary": summary.get("text", summary) if isinstance(summary, dict) else summary,
            "base": oldest,
            "remote": newest,
        }


def goals(by_key: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    """The verdicts against issue 15's goals."""
    found: list[dict[str, Any]] = []
    plain_lag = by_key[("save", "plain")]["lag_p99_ms"]
    for phase, what in (
        ("save", "archiving a save"),
        ("save v2", "archiving a second save"),
        ("diff", "diffing"),
        ("diff again", "diffing again"),
    ):
        result = by_key[(phase, "archiving")]
        lag = result["lag_p99_ms"]
        floor = (
            f" (before / after the reply: {split(result)} ms; plain server saving: "
            f"{plain_lag:.0f} ms)"
            if phase.startswith("save")
            else ""
        )
        found.append(
            {
                "goal": f"p99 probe lag < {LAG_GOAL_MS:.0f} ms while {what}",
                "measured": f"{lag:.0f} ms{floor}",
                "value": lag,
                "ok": lag < LAG_GOAL_MS,
            }
        )
    plain, archiving = by_key[("save", "plain")], by_key[("save", "archiving")]
    plain_peak, archiving_peak = plain["peak_rss_mb"], archiving["peak_rss_mb"]
    rss_ratio = round(archiving_peak / plain_peak, 3)
    growth = (
        f"+{archiving_peak - archiving['rss_before_mb']:.0f} / "
        f"+{plain_peak - plain['rss_before_mb']:.0f} MB above the RSS before"
    )
    found.append(
        {
            "goal": f"peak RSS archiving / plain while saving < {RSS_GOAL:.1f}x",
            "measured": f"{rss_ratio:.2f}x ({archiving_peak:.0f} / {plain_peak:.0f} MB; {growth})",
            "value": rss_ratio,
            "ok": rss_ratio < RSS_GOAL,
        }
    )
    return found


def run(mb: float, cells: int, work_dir: Path) -> dict[str, Any]:
    from tests.notebooks import make_notebook
    from tests.s3rig import SeaweedFS

    started = time.perf_counter()
    output_bytes = max(1, round(mb * 1_000_000 / cells))
    notebook = make_notebook("huge", cells=cells, output_bytes=output_bytes)
    body = put_body(notebook)
    body_bytes = len(body)
    print(f"notebook: {cells} cells x {output_bytes:,} bytes, PUT body {body_bytes:,} bytes")

    s3 = SeaweedFS()
    servers: list[Any] = []
    bench: Bench | None = None
    try:
        s3.start()
        s3.create_buckets()
        prefix = f"bench-{uuid.uuid4().hex[:12]}/workspace"
        servers = start_pair(s3, work_dir, prefix)
        plain, archiving = servers
        bench = Bench(plain, archiving)
        bench.warm_up()
        bench.idle()
        bench.save(body)
        second_version(notebook)
        body = put_body(notebook)
        del notebook
        bench.save_again(body)
        del body
        bench.diff("diff")
        bench.diff("diff again")
    finally:
        if bench is not None:
            bench.close()
        for server in servers:
            server.stop()
        s3.cleanup()

    for result in bench.results:
        result.baseline_ms = bench.baselines[result.server]
    phases = [result.to_dict() for result in bench.results]
    verdicts = goals({(phase["phase"], phase["server"]): phase for phase in phases})
    summary: dict[str, Any] = {
        "benchmark": "huge_notebooks",
        "mb": mb,
        "cells": cells,
        "output_bytes": output_bytes,
        "body_bytes": body_bytes,
        "probe_interval_ms": PROBE_INTERVAL_S * 1000.0,
        "baseline_p50_ms": {name: round(value, 2) for name, value in bench.baselines.items()},
        "phases": phases,
        "diff": bench.diff_info,
        "goals": verdicts,
        "all_ok": all(goal["ok"] for goal in verdicts),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    print(
        "\nprobe: GET /api/status every 10 ms; percentiles corrected for coordinated "
        "omission; lag = latency - the idle median "
        f"(plain {bench.baselines['plain']:.1f} ms, "
        f"archiving {bench.baselines['archiving']:.1f} ms)\n"
    )
    print_report(summary)
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--mb",
        type=float,
        default=DEFAULT_MB,
        help=f"the notebook's size in MB (default {DEFAULT_MB})",
    )
    parser.add_argument(
        "--cells",
        type=int,
        default=DEFAULT_CELLS,
        help=f"code cells, one text output each (default {DEFAULT_CELLS})",
    )
    args = parser.parse_args(argv)
    if args.mb <= 0:
        parser.error("--mb must be positive")
    if args.cells < 2:
        parser.error("--cells must be at least 2")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))

    work_dir = Path(tempfile.mkdtemp(prefix="bookstore-bench-huge-"))
    try:
        summary = run(args.mb, args.cells, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    print("\n" + json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
