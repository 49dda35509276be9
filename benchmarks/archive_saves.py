"""Save latency with archiving on against a plain Jupyter server, end to end.

Starts one SeaweedFS (``weed mini`` on 127.0.0.1, via ``tests/s3rig.py``) with a
versioned bucket and two real ``jupyter server`` subprocesses (``tests/jupyter_process.py``)
that differ only in bookstore:

* ``plain``: bookstore disabled (``--ServerApp.jpserver_extensions=bookstore=False``; the
  other extensions still load; checked: ``GET /api/bookstore`` answers 404), default
  ``AsyncFileContentsManager``;
* ``archiving``: bookstore archiving every notebook save to that bucket (its post-save
  hook spools the file, a background task uploads it).

After a few untimed warm-up saves, each round PUTs the same ~200 KB notebook (a new first
cell every round) to ``api/contents/bench.ipynb`` on both servers, alternately (the server
going first swaps every round, so machine noise hits both alike), over one keep-alive
HTTP connection per server; the JSON body is built once per round, outside the timing.
Each latency is the client's wall time from sending the PUT to reading the whole reply.

How to read it: ``ratio`` = archiving / plain, of the medians and of the means; 1.00 means
archiving adds nothing a user can feel on save (target: at most 1.05).  ``versions/save``
is the number of versions of the key in the bucket divided by the saves sent to the
archiving server (warm-up included): 1.00 means every save became exactly one version.
``drain`` is how long after the last save the archive backlog (``pending`` in
``GET /api/bookstore/archive``) reached 0.  The last stdout line is one JSON object.

Run from the repository root: ``.venv/bin/python benchmarks/archive_saves.py [--saves N]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import uuid
from pathlib import Path
from typing import Any

from _report import FIELDS, print_rows, summarize

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_SAVES = 200
WARMUP_SAVES = 5
NOTEBOOK_PATH = "bench.ipynb"
DRAIN_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.01
DISABLE_BOOKSTORE = "--ServerApp.jpserver_extensions=bookstore=False"


# -- one server as seen by the client --------------------------------------------------


class Client:
    """One keep-alive HTTP connection to a Jupyter server, and the PUT latencies on it."""

    def __init__(self, name: str, server: Any) -> None:
        from tests.jupyter_process import TOKEN

        self.name = name
        self.server = server
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.headers = {
            "Authorization": f"token {TOKEN}",
            "Content-Type": "application/json",
            "Connection": "keep-alive",
        }
        self.latencies_ms: list[float] = []
        self.saves = 0
        self.last_save_done = 0.0

    def save(self, body: bytes, *, record: bool) -> None:
        """PUT the notebook; keep the wall time of the round trip when ``record``."""
        start = time.perf_counter()
        self.connection.request(
            "PUT", f"/api/contents/{NOTEBOOK_PATH}", body=body, headers=self.headers
        )
        response = self.connection.getresponse()
        reply = response.read()
        self.last_save_done = time.perf_counter()
        elapsed_ms = (self.last_save_done - start) * 1000.0
        if response.status not in (200, 201):
            raise RuntimeError(f"{self.name}: PUT answered {response.status}: {reply[:500]!r}")
        self.saves += 1
        if record:
            self.latencies_ms.append(elapsed_ms)

    def close(self) -> None:
        self.connection.close()


def request_body(notebook: dict[str, Any], n: int) -> bytes:
    """The PUT body of save ``n``: the notebook with a first cell of its own."""
    notebook["cells"][0]["source"] = f"# Benchmark save {n} ({uuid.uuid4().hex})"
    return json.dumps({"type": "notebook", "format": "json", "content": notebook}).encode()


def start_all(servers: list[Any]) -> None:
    """Start the Jupyter servers side by side (each start waits for ``api/status``)."""
    errors: list[BaseException] = []

    def start(server: Any) -> None:
        try:
            server.start()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(server,)) for server in servers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def check_setup(plain: Any, archiving: Any) -> None:
    """bookstore must be off on ``plain`` and archiving must be valid on ``archiving``."""
    try:
        plain.request("GET", "api/bookstore")
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise
    else:
        raise RuntimeError("bookstore answers on the plain server: it was not disabled")
    features = archiving.request("GET", "api/bookstore")
    if not features["features"]["archive_valid"] or not features["archive"]["enabled"]:
        raise RuntimeError(f"archiving is not usable on the archiving server: {features}")


def wait_for_drain(server: Any) -> tuple[dict[str, Any], float]:
    """Poll the archive status until nothing is pending; (status, when it was seen)."""
    deadline = time.perf_counter() + DRAIN_TIMEOUT_S
    while True:
        status = server.request("GET", "api/bookstore/archive")
        if status["pending"] == 0:
            return status, time.perf_counter()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"archive backlog not drained in {DRAIN_TIMEOUT_S:.0f} s: {status}")
        time.sleep(POLL_INTERVAL_S)


def count_versions(s3: Any, key: str) -> int:
    """How many versions of exactly ``key`` the bucket holds (delete markers excluded)."""
    client = s3.client()
    try:
        paginator = client.get_paginator("list_object_versions")
        return sum(
            1
            for page in paginator.paginate(Bucket=s3.bucket, Prefix=key)
            for version in page.get("Versions", [])
            if version["Key"] == key
        )
    finally:
        client.close()


# -- output ----------------------------------------------------------------------------


def print_report(summary: dict[str, Any]) -> None:
    plain, archiving = summary["plain"], summary["archiving"]
    rows: list[tuple[str, ...]] = [("", "median ms", "p90 ms", "mean ms", "min ms", "max ms")]
    for name, stats in (("plain", plain), ("archiving", archiving)):
        rows.append(
            (
                name,
                *(f"{stats[field]:.2f}" for field in FIELDS),
            )
        )
    rows.append(
        (
            "ratio",
            f"{summary['ratio_median']:.3f}x",
            f"{archiving['p90_ms'] / plain['p90_ms']:.3f}x",
            f"{summary['ratio_mean']:.3f}x",
            "",
            "",
        )
    )
    print_rows(rows, left=1, separators=(0, 2))
    verdict = "ok" if max(summary["ratio_median"], summary["ratio_mean"]) <= 1.05 else "ABOVE"
    print(f"\ntarget ratio <= 1.05: {verdict}")
    print(
        f"versions/save: {summary['versions_per_save']:.2f} "
        f"({summary['versions']} versions / {summary['archiving_saves']} saves; "
        f"archived {summary['archived']}, skipped_identical {summary['skipped_identical']}, "
        f"failed {summary['failed']})"
    )
    print(
        f"drain: backlog of {summary['pending_after_last_save']} reached 0 "
        f"{summary['drain_s'] * 1000:.0f} ms after the last save"
    )


# -- the benchmark ---------------------------------------------------------------------


def run(saves: int, work_dir: Path) -> dict[str, Any]:
    from tests.jupyter_process import JupyterServer
    from tests.notebooks import make_notebook
    from tests.s3rig import SeaweedFS

    started = time.perf_counter()
    s3 = SeaweedFS()
    servers: list[Any] = []
    clients: list[Client] = []
    try:
        s3.start()
        s3.create_buckets()
        prefix = f"bench-{uuid.uuid4().hex[:12]}/workspace"
        (work_dir / "plain").mkdir()
        (work_dir / "archiving").mkdir()
        plain = JupyterServer(work_dir / "plain", {}, extra_args=(DISABLE_BOOKSTORE,))
        archiving = JupyterServer(
            work_dir / "archiving",
            s3.settings_dict(workspace_prefix=prefix, archive_spool_dir=str(work_dir / "spool")),
        )
        servers = [plain, archiving]
        start_all(servers)
        check_setup(plain, archiving)
        print(f"SeaweedFS at {s3.endpoint_url}, bucket {s3.bucket} (versioned)")
        print(f"plain server on :{plain.port}, archiving server on :{archiving.port}")

        a = Client("plain", plain)
        b = Client("archiving", archiving)
        clients = [a, b]
        notebook = make_notebook("benchmark")
        body_bytes = len(request_body(notebook, -1))
        for n in range(WARMUP_SAVES + saves):
            body = request_body(notebook, n)
            record = n >= WARMUP_SAVES
            first, second = (a, b) if n % 2 == 0 else (b, a)
            first.save(body, record=record)
            second.save(body, record=record)
        pending = archiving.request("GET", "api/bookstore/archive")["pending"]
        status, drained_at = wait_for_drain(archiving)
        drain_s = drained_at - b.last_save_done
        key = f"{prefix}/{NOTEBOOK_PATH}"
        versions = count_versions(s3, key)
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.stop()
        s3.cleanup()

    plain_stats = summarize(a.latencies_ms)
    archiving_stats = summarize(b.latencies_ms)
    return {
        "benchmark": "archive_saves",
        "saves": saves,
        "warmup_saves": WARMUP_SAVES,
        "body_bytes": body_bytes,
        "plain": plain_stats,
        "archiving": archiving_stats,
        "ratio_median": round(archiving_stats["median_ms"] / plain_stats["median_ms"], 3),
        "ratio_mean": round(archiving_stats["mean_ms"] / plain_stats["mean_ms"], 3),
        "archiving_saves": b.saves,
        "versions": versions,
        "versions_per_save": round(versions / b.saves, 3),
        "archived": status["archived"],
        "skipped_identical": status["skipped_identical"],
        "failed": status["failed"],
        "pending_after_last_save": pending,
        "drain_s": round(drain_s, 3),
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--saves",
        type=int,
        default=DEFAULT_SAVES,
        help=f"timed saves per server, after {WARMUP_SAVES} warm-up saves "
        f"(default {DEFAULT_SAVES})",
    )
    args = parser.parse_args(argv)
    if args.saves < 1:
        parser.error("--saves must be at least 1")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))

    work_dir = Path(tempfile.mkdtemp(prefix="bookstore-bench-saves-"))
    try:
        summary = run(args.saves, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)

    print(
        f"\n{args.saves} saves per server (+{WARMUP_SAVES} warm-up), PUT body "
        f"{summary['body_bytes']:,} bytes, interleaved; ratio = archiving / plain\n"
    )
    print_report(summary)
    print("\n" + json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
