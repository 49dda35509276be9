"""Save latency and server CPU per save with archiving on against a plain Jupyter server.

Starts one SeaweedFS (``weed mini`` on 127.0.0.1, via ``tests/s3rig.py``) with a
versioned bucket and two real ``jupyter server`` subprocesses (``tests/jupyter_process.py``)
that differ only in bookstore:

* ``plain``: bookstore disabled (``--ServerApp.jpserver_extensions=bookstore=False``; the
  other extensions still load; checked: ``GET /api/bookstore`` answers 404), default
  ``AsyncFileContentsManager``;
* ``archiving``: bookstore archiving every notebook save to that bucket (its post-save
  hook spools the file, a background task uploads it).

Every save PUTs a ~200 KB notebook (a new first cell every save) to
``api/contents/bench.ipynb`` over one keep-alive HTTP connection per server; the JSON
bodies are built before each block, outside the timing.  Each latency is the client's wall
time from sending the PUT to reading the whole reply.  After 5 untimed warm-up saves on each
server, the default measures in **blocks**: ``--block`` (100) back-to-back saves on one
server, then a block on the other, for ``--blocks`` (6) rounds, the server going first
swapping every round.  After each archiving block the script waits, untimed, until
``GET api/bookstore/archive`` reports nothing pending, so the uploads of one block never
land in the next block of either server; how long that took is the block's ``drain``.
Back-to-back saves are what a user's autosave or a script does: they let the uploads of
earlier saves share the server's event loop and CPU with the later saves, which is the cost
to measure.  ``--interleave`` instead alternates single saves between the servers
(``--saves`` rounds), as this script did first: the archiving server's upload then mostly
lands during the plain server's next save and slows both, which hides most of the cost.

The CPU of each server is its process's own user + system time (``utime`` + ``stime`` in
``/proc/<pid>/stat``, plus any child process of the server: a worker pool), read before and
after each block; SeaweedFS is a separate process sharing the same cores and is not counted.
``CPU ms/save`` of the archiving server counts everything its saves cost: the block, and its
drain up to the poll that saw the backlog at 0, minus the CPU of those status polls
themselves (measured once: ``poll CPU``, the cost of one ``GET api/bookstore/archive``).
``CPU in block`` is the part spent before the block's last reply.  The clock ticks every
10 ms: a block of 100 saves reads its CPU to about 1 %.

How to read it: ``ratio`` = archiving / plain: of the per-save latencies' medians, p90s and
means, and of the CPU per save (median of the blocks, and total / saves).  1.00 means
archiving costs a user nothing on save.  Goals: at most 1.02x wall (median and mean) and
1.05x CPU per save, printed as verdicts (``ok`` / ``ABOVE``).  SeaweedFS runs on the same
2 cores and takes CPU from both servers' saves; a real S3 does not, so the CPU ratio is the
steadier of the two.  The per-round table shows the spread between blocks.
``versions/save`` is the number of versions of the key in the bucket divided by the saves
sent to the archiving server (warm-up included): 1.00 means every save became exactly one
version.  ``backlog`` is the saves still pending when a block's last save was answered and
``drain`` how long after it the backlog reached 0.  The last stdout line is one JSON object.

Run from the repository root:
``.venv/bin/python benchmarks/archive_saves.py [--block N] [--blocks K]`` (default 100 x 6,
~1.5 min on 2 cores) or ``… --interleave [--saves N]`` (default 200).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _report import FIELDS, print_rows, summarize

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_BLOCK = 100
DEFAULT_BLOCKS = 6
DEFAULT_SAVES = 200
WARMUP_SAVES = 5
#: Goals of issue 15: archiving / plain, per save.
WALL_GOAL = 1.02
CPU_GOAL = 1.05
NOTEBOOK_PATH = "bench.ipynb"
DRAIN_TIMEOUT_S = 120.0
POLL_INTERVAL_S = 0.01
#: Between two archive status polls while a block drains (each poll costs server CPU).
DRAIN_POLL_S = 0.02
#: Status polls whose CPU is measured once, to take the drain's polls out of its CPU.
CALIBRATION_POLLS = 200
DISABLE_BOOKSTORE = "--ServerApp.jpserver_extensions=bookstore=False"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# -- a server process's CPU ------------------------------------------------------------


def _stat(pid: int) -> list[str]:
    """The fields of ``/proc/<pid>/stat`` after the command name (``state`` first)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """The live child processes of ``pid``, theirs, and so on."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat(int(entry.name))[1])
        except (OSError, ValueError):
            continue  # ended meanwhile
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` so far: its own, its ended children's
    (``cutime`` + ``cstime``) and its live descendants' (a worker pool)."""
    ticks = sum(int(value) for value in _stat(pid)[11:15])
    for child in descendants(pid):
        try:
            ticks += sum(int(value) for value in _stat(child)[11:13])
        except OSError:
            continue  # ended meanwhile: its time moved to our cutime + cstime, or is lost
    return ticks / CLOCK_TICKS


# -- one server as seen by the client --------------------------------------------------


@dataclass
class Block:
    """The saves of one block on one server, and what they cost."""

    saves: int
    wall_s: float
    #: The server's CPU from before the block's first save to after its last reply.
    cpu_s: float
    #: Then until the archive backlog reached 0, the status polls' own CPU taken out.
    cpu_drain_s: float = 0.0
    backlog: int = 0
    drain_s: float = 0.0
    polls: int = 0

    @property
    def cpu_ms_per_save(self) -> float:
        return (self.cpu_s + self.cpu_drain_s) * 1000.0 / self.saves

    @property
    def wall_ms_per_save(self) -> float:
        return self.wall_s * 1000.0 / self.saves


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
        self.blocks: list[Block] = []
        self.saves = 0
        self.last_save_done = 0.0

    @property
    def pid(self) -> int:
        """The server's process id (``jupyter`` execs ``jupyter-server``: the same pid)."""
        return int(self.server.process.pid)

    def cpu_s(self) -> float:
        """The server process's CPU seconds so far."""
        return process_cpu_s(self.pid)

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

    def archive_status(self) -> dict[str, Any]:
        """``GET api/bookstore/archive`` on this connection."""
        self.connection.request("GET", "/api/bookstore/archive", headers=self.headers)
        response = self.connection.getresponse()
        reply = response.read()
        if response.status != 200:
            raise RuntimeError(f"{self.name}: archive status {response.status}: {reply[:500]!r}")
        status: dict[str, Any] = json.loads(reply)
        return status

    def drain(self) -> tuple[dict[str, Any], int, int, float]:
        """Poll the archive status every ``DRAIN_POLL_S`` until nothing is pending:
        (last status, pending at the first poll, polls made, when 0 was seen)."""
        deadline = time.perf_counter() + DRAIN_TIMEOUT_S
        polls = 0
        backlog = -1
        while True:
            status = self.archive_status()
            polls += 1
            if backlog < 0:
                backlog = int(status["pending"])
            if status["pending"] == 0:
                return status, backlog, polls, time.perf_counter()
            if time.perf_counter() > deadline:
                raise RuntimeError(
                    f"archive backlog not drained in {DRAIN_TIMEOUT_S:.0f} s: {status}"
                )
            time.sleep(DRAIN_POLL_S)

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


def start_pair(s3: Any, work_dir: Path, prefix: str) -> list[Any]:
    """Start the ``plain`` and ``archiving`` servers (archiving to ``prefix`` on ``s3``)
    side by side, check them, and say where they are: ``[plain, archiving]``."""
    from tests.jupyter_process import JupyterServer

    (work_dir / "plain").mkdir()
    (work_dir / "archiving").mkdir()
    plain = JupyterServer(work_dir / "plain", {}, extra_args=(DISABLE_BOOKSTORE,))
    archiving = JupyterServer(
        work_dir / "archiving",
        s3.settings_dict(workspace_prefix=prefix, archive_spool_dir=str(work_dir / "spool")),
    )
    start_all([plain, archiving])
    check_setup(plain, archiving)
    print(f"SeaweedFS at {s3.endpoint_url}, bucket {s3.bucket} (versioned)")
    print(f"plain server on :{plain.port}, archiving server on :{archiving.port}")
    return [plain, archiving]


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


# -- the two ways of measuring ---------------------------------------------------------


class Bench:
    """The two clients, the notebook, and the archiving server's status-poll CPU."""

    def __init__(self, plain: Client, archiving: Client, notebook: dict[str, Any]) -> None:
        self.plain = plain
        self.archiving = archiving
        self.notebook = notebook
        self.counter = 0
        self.poll_cpu_s = 0.0
        self.status: dict[str, Any] = {}

    def bodies(self, count: int) -> list[bytes]:
        """``count`` request bodies of saves of their own."""
        bodies = [request_body(self.notebook, self.counter + n) for n in range(count)]
        self.counter += count
        return bodies

    def warm_up(self) -> None:
        """Untimed saves on both servers; then drain, and measure the CPU of a status poll."""
        for body in self.bodies(WARMUP_SAVES):
            self.plain.save(body, record=False)
            self.archiving.save(body, record=False)
        self.archiving.drain()
        before = self.archiving.cpu_s()
        for _ in range(CALIBRATION_POLLS):
            self.archiving.archive_status()
        self.poll_cpu_s = (self.archiving.cpu_s() - before) / CALIBRATION_POLLS

    def settle(self, client: Client, block: Block, cpu_before: float) -> None:
        """After a block on the archiving server: wait for its backlog to drain, untimed."""
        if client is not self.archiving:
            return
        cpu_done = cpu_before + block.cpu_s
        self.status, block.backlog, block.polls, drained_at = client.drain()
        raw = client.cpu_s() - cpu_done
        block.cpu_drain_s = max(0.0, raw - block.polls * self.poll_cpu_s)
        block.drain_s = drained_at - client.last_save_done

    def run_blocks(self, size: int, rounds: int) -> None:
        """``rounds`` rounds of one block of ``size`` saves per server."""
        for r in range(rounds):
            order = (self.plain, self.archiving) if r % 2 == 0 else (self.archiving, self.plain)
            for client in order:
                bodies = self.bodies(size)
                cpu_before = client.cpu_s()
                start = time.perf_counter()
                for body in bodies:
                    client.save(body, record=True)
                wall_s = time.perf_counter() - start
                block = Block(size, wall_s, client.cpu_s() - cpu_before)
                self.settle(client, block, cpu_before)
                client.blocks.append(block)

    def run_interleaved(self, saves: int) -> None:
        """``saves`` rounds of one save per server, alternately: one block per server."""
        cpu_before = {client.name: client.cpu_s() for client in (self.plain, self.archiving)}
        walls = {self.plain.name: 0.0, self.archiving.name: 0.0}
        for n, body in enumerate(self.bodies(saves)):
            pair = (self.plain, self.archiving) if n % 2 == 0 else (self.archiving, self.plain)
            for client in pair:
                start = time.perf_counter()
                client.save(body, record=True)
                walls[client.name] += time.perf_counter() - start
        for client in (self.plain, self.archiving):
            block = Block(saves, walls[client.name], client.cpu_s() - cpu_before[client.name])
            self.settle(client, block, cpu_before[client.name])
            client.blocks.append(block)


# -- output ----------------------------------------------------------------------------


def cpu_stats(client: Client) -> dict[str, float]:
    """CPU ms per save of one server: median of its blocks, total / saves, in block only."""
    blocks = client.blocks
    saves = sum(block.saves for block in blocks)
    return {
        "cpu_ms_per_save_median": round(
            statistics.median(block.cpu_ms_per_save for block in blocks), 3
        ),
        "cpu_ms_per_save_mean": round(
            sum(block.cpu_s + block.cpu_drain_s for block in blocks) * 1000.0 / saves, 3
        ),
        "cpu_ms_per_save_in_block": round(sum(block.cpu_s for block in blocks) * 1000.0 / saves, 3),
    }


def verdict(ok: bool) -> str:
    return "ok" if ok else "ABOVE"


def print_report(summary: dict[str, Any], plain: Client, archiving: Client) -> None:
    p, a = summary["plain"], summary["archiving"]
    rows: list[tuple[str, ...]] = [
        (
            "",
            "median ms",
            "p90 ms",
            "mean ms",
            "min ms",
            "max ms",
            "CPU ms/save",
            "(mean)",
            "CPU in block",
        )
    ]
    for name, stats in (("plain", p), ("archiving", a)):
        rows.append(
            (
                name,
                *(f"{stats[field]:.2f}" for field in FIELDS),
                f"{stats['cpu_ms_per_save_median']:.2f}",
                f"{stats['cpu_ms_per_save_mean']:.2f}",
                f"{stats['cpu_ms_per_save_in_block']:.2f}",
            )
        )
    rows.append(
        (
            "ratio",
            f"{summary['ratio_median']:.3f}x",
            f"{a['p90_ms'] / p['p90_ms']:.3f}x",
            f"{summary['ratio_mean']:.3f}x",
            "",
            "",
            f"{summary['cpu_ratio_median']:.3f}x",
            f"{summary['cpu_ratio_mean']:.3f}x",
            f"{summary['cpu_ratio_in_block']:.3f}x",
        )
    )
    print_rows(rows, left=1, separators=(0, 2))

    print()
    table: list[tuple[str, ...]] = [
        (
            "round",
            "first",
            "plain ms/save",
            "archiving",
            "ratio",
            "plain CPU ms/save",
            "archiving",
            "ratio",
            "backlog",
            "drain ms",
        )
    ]
    for r, (pb, ab) in enumerate(zip(plain.blocks, archiving.blocks, strict=True)):
        table.append(
            (
                str(r + 1),
                "-" if summary["mode"] == "interleave" else ("plain", "archiving")[r % 2],
                f"{pb.wall_ms_per_save:.2f}",
                f"{ab.wall_ms_per_save:.2f}",
                f"{ab.wall_ms_per_save / pb.wall_ms_per_save:.3f}x",
                f"{pb.cpu_ms_per_save:.2f}",
                f"{ab.cpu_ms_per_save:.2f}",
                f"{ab.cpu_ms_per_save / pb.cpu_ms_per_save:.3f}x" if pb.cpu_s else "-",
                str(ab.backlog),
                f"{ab.drain_s * 1000:.0f}",
            )
        )
    print_rows(table, left=2)

    wall = max(summary["ratio_median"], summary["ratio_mean"])
    cpu = max(summary["cpu_ratio_median"], summary["cpu_ratio_mean"])
    print(
        f"\ngoal wall per save <= {WALL_GOAL:.2f}x (median {summary['ratio_median']:.3f}x, "
        f"mean {summary['ratio_mean']:.3f}x): {verdict(wall <= WALL_GOAL)}"
    )
    print(
        f"goal CPU per save <= {CPU_GOAL:.2f}x (median {summary['cpu_ratio_median']:.3f}x, "
        f"mean {summary['cpu_ratio_mean']:.3f}x): {verdict(cpu <= CPU_GOAL)}"
    )
    print(
        f"versions/save: {summary['versions_per_save']:.2f} "
        f"({summary['versions']} versions / {summary['archiving_saves']} saves; "
        f"archived {summary['archived']}, skipped_identical {summary['skipped_identical']}, "
        f"failed {summary['failed']})"
    )
    print(
        f"drain after each archiving block (untimed): backlog median "
        f"{summary['backlog_median']:.0f}, reached 0 in {summary['drain_median_s'] * 1000:.0f} ms "
        f"median, {summary['drain_max_s'] * 1000:.0f} ms max; poll CPU "
        f"{summary['poll_cpu_ms']:.2f} ms, taken out of the drain's CPU"
    )


# -- the benchmark ---------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("nan")


def run(args: argparse.Namespace, work_dir: Path) -> dict[str, Any]:
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
        servers = start_pair(s3, work_dir, prefix)
        plain, archiving = servers

        a = Client("plain", plain)
        b = Client("archiving", archiving)
        clients = [a, b]
        notebook = make_notebook("benchmark")
        body_bytes = len(request_body(notebook, -1))
        bench = Bench(a, b, notebook)
        bench.warm_up()
        if args.interleave:
            bench.run_interleaved(args.saves)
        else:
            bench.run_blocks(args.block, args.blocks)
        status = bench.status
        key = f"{prefix}/{NOTEBOOK_PATH}"
        versions = count_versions(s3, key)
    finally:
        for client in clients:
            client.close()
        for server in servers:
            server.stop()
        s3.cleanup()

    plain_stats = {**summarize(a.latencies_ms), **cpu_stats(a)}
    archiving_stats = {**summarize(b.latencies_ms), **cpu_stats(b)}
    drains = [block.drain_s for block in b.blocks]
    summary: dict[str, Any] = {
        "benchmark": "archive_saves",
        "mode": "interleave" if args.interleave else "blocks",
        "block": args.saves if args.interleave else args.block,
        "blocks": 1 if args.interleave else args.blocks,
        "saves": len(a.latencies_ms),
        "warmup_saves": WARMUP_SAVES,
        "body_bytes": body_bytes,
        "plain": plain_stats,
        "archiving": archiving_stats,
        "ratio_median": ratio(archiving_stats["median_ms"], plain_stats["median_ms"]),
        "ratio_mean": ratio(archiving_stats["mean_ms"], plain_stats["mean_ms"]),
    }
    for name in ("median", "mean", "in_block"):
        field = f"cpu_ms_per_save_{name}"
        summary[f"cpu_ratio_{name}"] = ratio(archiving_stats[field], plain_stats[field])
    wall = max(summary["ratio_median"], summary["ratio_mean"])
    cpu = max(summary["cpu_ratio_median"], summary["cpu_ratio_mean"])
    summary.update(
        {
            "wall_goal": WALL_GOAL,
            "wall_ok": wall <= WALL_GOAL,
            "cpu_goal": CPU_GOAL,
            "cpu_ok": cpu <= CPU_GOAL,
            "rounds": [
                {
                    "plain_ms_per_save": round(pb.wall_ms_per_save, 3),
                    "archiving_ms_per_save": round(ab.wall_ms_per_save, 3),
                    "plain_cpu_ms_per_save": round(pb.cpu_ms_per_save, 3),
                    "archiving_cpu_ms_per_save": round(ab.cpu_ms_per_save, 3),
                    "backlog": ab.backlog,
                    "drain_s": round(ab.drain_s, 3),
                }
                for pb, ab in zip(a.blocks, b.blocks, strict=True)
            ],
            "archiving_saves": b.saves,
            "versions": versions,
            "versions_per_save": round(versions / b.saves, 3),
            "archived": status["archived"],
            "skipped_identical": status["skipped_identical"],
            "failed": status["failed"],
            "backlog_median": statistics.median(block.backlog for block in b.blocks),
            "drain_median_s": round(statistics.median(drains), 3),
            "drain_max_s": round(max(drains), 3),
            "poll_cpu_ms": round(bench.poll_cpu_s * 1000.0, 3),
            "elapsed_s": round(time.perf_counter() - started, 1),
        }
    )
    print_intro(summary)
    print_report(summary, a, b)
    return summary


def print_intro(summary: dict[str, Any]) -> None:
    if summary["mode"] == "interleave":
        how = f"{summary['saves']} saves per server, interleaved one by one"
    else:
        how = (
            f"{summary['blocks']} blocks of {summary['block']} back-to-back saves per server, "
            "alternating, the first server swapping every round"
        )
    print(
        f"\n{how} (+{WARMUP_SAVES} warm-up); PUT body {summary['body_bytes']:,} bytes; "
        "ratio = archiving / plain; CPU = the server process's user + system time\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--block",
        type=int,
        default=DEFAULT_BLOCK,
        help=f"back-to-back saves per block (default {DEFAULT_BLOCK})",
    )
    parser.add_argument(
        "--blocks",
        type=int,
        default=DEFAULT_BLOCKS,
        help=f"blocks per server, i.e. rounds (default {DEFAULT_BLOCKS}; even: each server "
        "goes first equally often)",
    )
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="alternate single saves between the servers instead of blocks",
    )
    parser.add_argument(
        "--saves",
        type=int,
        default=DEFAULT_SAVES,
        help=f"with --interleave: timed saves per server (default {DEFAULT_SAVES})",
    )
    args = parser.parse_args(argv)
    for name in ("block", "blocks", "saves"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))

    work_dir = Path(tempfile.mkdtemp(prefix="bookstore-bench-saves-"))
    try:
        summary = run(args, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    print("\n" + json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
