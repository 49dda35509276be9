"""Publish and clone through bookstore against the raw S3 calls they stand for, end to end.

Starts one SeaweedFS (``weed mini`` on 127.0.0.1, via ``tests/s3rig.py``) with a versioned
bucket and one real ``jupyter server`` subprocess (``tests/jupyter_process.py``) with
bookstore on that bucket: ``published_prefix`` and ``workspace_prefix`` under a prefix of
this run, archiving on (the default).  For each notebook size (``tests/notebooks.py``; by
default ``40x5000``, 40 code cells with 5,000-byte outputs, ~207 KB, and ``10x2000``,
~22 KB: publishing validates every cell against the nbformat schema, so its cost has a
per-cell part) it times two pairs, each latency being the wall time of one operation:

* ``publish``: ``PUT api/bookstore/publish/bench/report-<size>.ipynb`` with the body
  ``{"type": "notebook", "content": <notebook>}``, over one keep-alive HTTP connection,
  from sending the request to reading the whole reply (the server parses the JSON,
  validates the notebook, serialises and hashes it, then puts it), against a raw
  ``put_object`` of the bytes Jupyter would write for that notebook
  (``nbformat.writes(nb)``, UTF-8) to the same bucket from one long-lived aiobotocore client
  (``store_roundtrip.raw_config()``).
* ``publish_owned``: the same publish against what a publish that checks the path's owner
  needs at least: a raw ``head_object`` of the key (whose metadata names the owner), then
  the ``put_object``.  bookstore overlaps its HEAD with serialising the notebook.  After
  each bookstore publish (and clone) the benchmark waits, untimed, until its audit record,
  written after the reply, is in the store (``GET api/bookstore/audit?limit=1`` waits for
  them), so that put never slows the next operation.
* ``clone``: ``POST api/bookstore/clone`` ``{"s3_key": <published key>, "target_path":
  "clones/<size>-<round>.ipynb"}`` (a new target every round, so the server never has to
  number the file ``-1``, ``-2``…; it gets the latest version, validates the notebook,
  saves the exact bytes through the contents manager and answers the new file's contents
  model, content included), against a raw ``get_object`` of the same key, reading the body,
  and saving those bytes durably in a folder of the same file system the way
  ``store_roundtrip.write_durably`` does: write a temporary file in that folder, flush,
  ``os.fsync``, ``os.replace`` it onto the target.  (Jupyter Server 2.x's ``atomic_writing``
  writes a *new* file in place, then flush + ``os.fsync``: the same fsync, one rename
  fewer; it only copies to a ``.~`` backup when the file already exists.)

* ``clone_lean``: the same clone with ``"content": false`` (as the landing page's Clone
  button sends it): the reply is the contents model without the notebook, so the pair
  compares the same work, a get and a durable save, without shipping the notebook back.

Saving the clone fires bookstore's post-save hook, so the clone is also archived: spooled
during the save, uploaded by a background task.  The reply does not wait for that upload,
but the upload starts while the clone is still building its reply and shares the server's
event loop and CPU with it, so whatever it slows down counts in the clone's latency.  After
each bookstore clone the benchmark waits, untimed, until ``GET api/bookstore/archive``
reports nothing pending, so the upload never slows the next operation of either side.
The request bodies and the raw bytes are built before each round, outside the timing; the
raw side runs in this process with no HTTP server in between.

After a few untimed warm-up rounds, every round runs every pair of every size, the two
sides of a pair alternately (the side going first swaps every round), so machine noise hits
both alike.  The first round also checks that the cloned files hold exactly the published
bytes.  ``ratio`` = bookstore / raw, of the medians and of the means.  Targets: publish at
most 2.0x the raw put and 1.5x the raw head + put; clone at most 2.0x the raw get + local
save (bookstore 2.x was about 14x and 25x).  The last stdout line is one JSON object.

Run from the repository root: ``.venv/bin/python benchmarks/publish_clone.py [--rounds N]
[--notebooks CELLSxBYTES ...]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat
from _report import FIELDS, print_rows, summarize
from aiobotocore.session import AioSession
from archive_saves import Client, wait_for_drain
from store_roundtrip import CONTENT_TYPE, Pair, _timed, raw_config, write_durably

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_ROUNDS = 50
WARMUP_ROUNDS = 5
DEFAULT_NOTEBOOKS = ("40x5000", "10x2000")
TARGETS = {"publish": 2.0, "publish_owned": 1.5, "clone": 2.0, "clone_lean": 2.0}
CLONE_FOLDER = "clones"


# -- the server, as seen by the client -------------------------------------------------


class Api(Client):
    """One keep-alive HTTP connection to the Jupyter server (``archive_saves.Client``)."""

    def call(self, method: str, path: str, body: bytes) -> bytes:
        """Send one request and read the whole reply; raise unless it is a success."""
        self.connection.request(method, f"/{path}", body=body, headers=self.headers)
        response = self.connection.getresponse()
        reply = response.read()
        if response.status not in (200, 201):
            raise RuntimeError(f"{method} {path} answered {response.status}: {reply[:500]!r}")
        return reply


class SettledPair(Pair):
    """``store_roundtrip.Pair`` whose bookstore side is followed, untimed, by ``settle``."""

    def __init__(self, *args: Any, settle: Callable[[], Awaitable[None]]) -> None:
        super().__init__(*args)
        self.settle = settle

    async def round(self, n: int, *, record: bool = True) -> None:
        sides = [(self.base_op, self.base_ms), (self.thing_op, self.thing_ms)]
        if n % 2:
            sides.reverse()
        for op, latencies in sides:
            elapsed = await _timed(op, n)
            if op is self.thing_op:
                await self.settle()
            if record:
                latencies.append(elapsed)


# -- one notebook size -----------------------------------------------------------------


class Case:
    """One notebook size: its request bodies, and the four timed operations on it."""

    def __init__(self, bench: Bench, spec: str) -> None:
        from tests.notebooks import make_notebook

        cells, output_bytes = (int(part) for part in spec.split("x"))
        self.bench = bench
        self.label = spec
        self.notebook = make_notebook(spec, cells=cells, output_bytes=output_bytes)
        self.cells = cells
        self.output_bytes = output_bytes
        self.path = f"bench/report-{spec}.ipynb"
        self.published_key = f"{bench.prefix}/published/{self.path}"
        self.raw_key = f"{bench.prefix}/raw/{self.path}"
        self.publish_body = b""
        self.raw_body = b""
        self.publish_reply = b""
        self.published_size = 0
        self.clone_reply = b""
        self.publish = SettledPair(
            "publish",
            "PUT publish",
            "put_object",
            self.bookstore_publish,
            self.raw_put,
            settle=bench.settle_audit,
        )
        self.publish_owned = SettledPair(
            "publish_owned",
            "PUT publish",
            "head_object+put_object",
            self.bookstore_publish,
            self.raw_head_put,
            settle=bench.settle_audit,
        )
        self.clone = SettledPair(
            "clone",
            "POST clone",
            "get_object+write+fsync+rename",
            self.bookstore_clone,
            self.raw_get_save,
            settle=bench.settle,
        )
        self.clone_lean = SettledPair(
            "clone_lean",
            "POST clone, content false",
            "get_object+write+fsync+rename",
            self.bookstore_clone_lean,
            self.raw_get_save,
            settle=bench.settle,
        )

    def prepare(self, n: int) -> None:
        """The bodies of round ``n``: the notebook with a first cell of its own."""
        self.notebook["cells"][0]["source"] = f"# Benchmark round {n} ({uuid.uuid4().hex})"
        self.publish_body = json.dumps({"type": "notebook", "content": self.notebook}).encode()
        self.raw_body = nbformat.writes(nbformat.from_dict(self.notebook)).encode()

    def clone_target(self, n: int) -> str:
        return f"{CLONE_FOLDER}/{self.label}-{n}.ipynb"

    # -- the timed operations ------------------------------------------------------------

    async def bookstore_publish(self, n: int) -> None:
        self.publish_reply = self.bench.api.call(
            "PUT", f"api/bookstore/publish/{self.path}", self.publish_body
        )

    async def raw_put(self, n: int) -> None:
        await self.bench.raw.put_object(
            Bucket=self.bench.bucket, Key=self.raw_key, Body=self.raw_body, ContentType=CONTENT_TYPE
        )

    async def raw_head_put(self, n: int) -> None:
        """What a publish with an owner check needs at least: the latest version's
        metadata (who owns the path), then the put."""
        await self.bench.raw.head_object(Bucket=self.bench.bucket, Key=self.raw_key)
        await self.raw_put(n)

    async def bookstore_clone(self, n: int) -> None:
        body = {"s3_key": self.published_key, "target_path": self.clone_target(n)}
        self.clone_reply = self.bench.api.call(
            "POST", "api/bookstore/clone", json.dumps(body).encode()
        )

    async def bookstore_clone_lean(self, n: int) -> None:
        body = {
            "s3_key": self.published_key,
            "target_path": f"{CLONE_FOLDER}-lean/{self.label}-{n}.ipynb",
            "content": False,
        }
        reply = self.bench.api.call("POST", "api/bookstore/clone", json.dumps(body).encode())
        if json.loads(reply)["content"] is not None:
            raise RuntimeError("a clone with content false answered the content")

    async def raw_get_save(self, n: int) -> None:
        response = await self.bench.raw.get_object(Bucket=self.bench.bucket, Key=self.published_key)
        async with response["Body"] as stream:
            body = await stream.read()
        write_durably(self.bench.raw_clones / f"{self.label}-{n}.ipynb", body)

    # -- checks, untimed -----------------------------------------------------------------

    async def check(self, n: int) -> None:
        """The notebook was published under the expected key; the clone landed where
        asked; in round 0 also byte for byte equal to the published object (and to the
        raw side's copy)."""
        published = json.loads(self.publish_reply)
        if published["key"] != self.published_key:
            raise RuntimeError(f"published as {published['key']!r}, not {self.published_key!r}")
        self.published_size = published["size"]
        model = json.loads(self.clone_reply)
        target = self.clone_target(n)
        if model["path"] != target or model.get("s3_path", "").split("/", 3)[-1] != (
            self.published_key
        ):
            raise RuntimeError(
                f"clone of round {n} answered path {model['path']!r}, s3_path "
                f"{model.get('s3_path')!r}; expected {target!r}"
            )
        if n == 0:
            response = await self.bench.raw.get_object(
                Bucket=self.bench.bucket, Key=self.published_key
            )
            async with response["Body"] as stream:
                stored = bytes(await stream.read())
            cloned = (self.bench.root / target).read_bytes()
            raw_copy = (self.bench.raw_clones / f"{self.label}-{n}.ipynb").read_bytes()
            if not cloned == raw_copy == stored:
                raise RuntimeError(f"{self.label}: the clone differs from the published bytes")

    def summary(self) -> dict[str, Any]:
        ops: dict[str, Any] = {
            "cells": self.cells,
            "output_bytes": self.output_bytes,
            "publish_body_bytes": len(self.publish_body),
            "published_bytes": self.published_size,
            "raw_put_bytes": len(self.raw_body),
        }
        pairs = (
            ("publish", self.publish),
            ("publish_owned", self.publish_owned),
            ("clone", self.clone),
            ("clone_lean", self.clone_lean),
        )
        for name, pair in pairs:
            bookstore, raw = summarize(pair.thing_ms), summarize(pair.base_ms)
            ratio_median = round(bookstore["median_ms"] / raw["median_ms"], 3)
            ratio_mean = round(bookstore["mean_ms"] / raw["mean_ms"], 3)
            ops[name] = {
                "bookstore": bookstore,
                "raw": raw,
                "ratio_median": ratio_median,
                "ratio_mean": ratio_mean,
                "target": TARGETS[name],
                "ok": max(ratio_median, ratio_mean) <= TARGETS[name],
            }
        return ops


# -- the benchmark ---------------------------------------------------------------------


class Bench:
    """The server, the raw client and the cases; :meth:`run` interleaves everything."""

    def __init__(
        self, s3: Any, server: Any, prefix: str, work_dir: Path, *, specs: list[str], rounds: int
    ) -> None:
        self.s3 = s3
        self.server = server
        self.bucket = s3.bucket
        self.prefix = prefix
        self.root = server.root
        self.raw_clones = work_dir / "raw-clones"
        self.raw_clones.mkdir()
        self.rounds = rounds
        self.api = Api("bookstore", server)
        self.raw: Any = None
        self.cases = [Case(self, spec) for spec in specs]

    async def settle(self) -> None:
        """Wait until the clone's archive upload and audit record are done (untimed)."""
        wait_for_drain(self.server)
        await self.settle_audit()

    async def settle_audit(self) -> None:
        """Wait until the audit record of the last operation is written (untimed): the
        audit route waits for this server's pending records."""
        self.server.request("GET", "api/bookstore/audit?limit=1")

    async def run(self) -> None:
        client_args = {
            "region_name": self.s3.region,
            "endpoint_url": self.s3.endpoint_url,
            "aws_access_key_id": self.s3.access_key,
            "aws_secret_access_key": self.s3.secret_key,
        }
        session = AioSession()
        async with session.create_client("s3", config=raw_config(), **client_args) as raw:
            self.raw = raw
            for n in range(WARMUP_ROUNDS + self.rounds):
                for case in self.cases:
                    case.prepare(n)
                    await case.publish.round(n, record=n >= WARMUP_ROUNDS)
                    await case.publish_owned.round(n, record=n >= WARMUP_ROUNDS)
                    await case.clone.round(n, record=n >= WARMUP_ROUNDS)
                    await case.clone_lean.round(n, record=n >= WARMUP_ROUNDS)
                    await case.check(n)

    def close(self) -> None:
        self.api.close()


def check_setup(server: Any) -> None:
    """Publishing, cloning and archiving must all be usable on the server."""
    state = server.request("GET", "api/bookstore")
    features = state["features"]
    if not (features["publish_valid"] and features["s3_clone_valid"]):
        raise RuntimeError(f"publishing or cloning is not usable: {state}")
    if not (features["archive_valid"] and state["archive"]["enabled"]):
        raise RuntimeError(f"archiving is not usable: {state}")


def run(specs: list[str], rounds: int, work_dir: Path) -> dict[str, Any]:
    from tests.jupyter_process import JupyterServer
    from tests.s3rig import SeaweedFS

    started = time.perf_counter()
    s3 = SeaweedFS()
    server: Any = None
    bench: Bench | None = None
    try:
        s3.start()
        s3.create_buckets()
        prefix = f"bench-{uuid.uuid4().hex[:12]}"
        (work_dir / "server").mkdir()
        server = JupyterServer(
            work_dir / "server",
            s3.settings_dict(
                published_prefix=f"{prefix}/published",
                workspace_prefix=f"{prefix}/workspace",
                audit_prefix=f"{prefix}/audit",
                archive_spool_dir=str(work_dir / "spool"),
            ),
        )
        server.start()
        check_setup(server)
        print(f"SeaweedFS at {s3.endpoint_url}, bucket {s3.bucket} (versioned)")
        print(f"bookstore server on :{server.port}, keys under {prefix}/")
        bench = Bench(s3, server, prefix, work_dir, specs=specs, rounds=rounds)
        asyncio.run(bench.run())
        archive = server.request("GET", "api/bookstore/archive")
    finally:
        if bench is not None:
            bench.close()
        if server is not None:
            server.stop()
        s3.cleanup()

    return {
        "benchmark": "publish_clone",
        "rounds": rounds,
        "warmup_rounds": WARMUP_ROUNDS,
        "notebooks": {case.label: case.summary() for case in bench.cases},
        "clone_archives": {name: archive[name] for name in ("archived", "failed", "pending")},
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


# -- output ----------------------------------------------------------------------------

SIDES = {
    "publish": ("bookstore PUT publish", "raw put_object"),
    "publish_owned": ("bookstore PUT publish", "raw head_object + put_object"),
    "clone": ("bookstore POST clone", "raw get_object + durable save"),
    "clone_lean": ("bookstore POST clone, no content", "raw get_object + durable save"),
}


def print_report(summary: dict[str, Any]) -> None:
    rows: list[tuple[str, ...]] = [
        ("notebook", "op", "side", "median ms", "p90 ms", "mean ms", "min ms", "max ms")
    ]
    separators = {0}
    for label, case in summary["notebooks"].items():
        size = f"{label} ({case['raw_put_bytes'] / 1000:.0f} KB)"
        for op, (thing, baseline) in SIDES.items():
            stats = case[op]
            bookstore, raw = stats["bookstore"], stats["raw"]
            rows.append((size, op, thing, *(f"{bookstore[field]:.2f}" for field in FIELDS)))
            rows.append((size, op, baseline, *(f"{raw[field]:.2f}" for field in FIELDS)))
            rows.append(
                (
                    size,
                    op,
                    "ratio bookstore/raw",
                    f"{stats['ratio_median']:.2f}x",
                    f"{bookstore['p90_ms'] / raw['p90_ms']:.2f}x",
                    f"{stats['ratio_mean']:.2f}x",
                    "",
                    "",
                )
            )
            separators.add(len(rows) - 1)
    print_rows(rows, left=3, separators=separators)

    print("\ntargets (ratio bookstore/raw of the medians and of the means):")
    for label, case in summary["notebooks"].items():
        for op in SIDES:
            stats = case[op]
            verdict = "ok" if stats["ok"] else "ABOVE"
            print(
                f"  {label:<10} {op:<8} median {stats['ratio_median']:.3f}x  "
                f"mean {stats['ratio_mean']:.3f}x  target <= {stats['target']:.1f}x: {verdict}"
            )
    archives = summary["clone_archives"]
    print(
        f"\nclones archived in the background: {archives['archived']} "
        f"(failed {archives['failed']}, pending {archives['pending']})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"timed rounds per operation and size, after {WARMUP_ROUNDS} warm-up rounds "
        f"(default {DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--notebooks",
        nargs="+",
        default=list(DEFAULT_NOTEBOOKS),
        metavar="CELLSxBYTES",
        help="notebook sizes: code cells x bytes of output per cell "
        f"(default {' '.join(DEFAULT_NOTEBOOKS)}: ~207 KB and ~22 KB)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    for spec in args.notebooks:
        parts = spec.split("x")
        if len(parts) != 2 or not all(part.isdigit() and int(part) > 0 for part in parts):
            parser.error(f"--notebooks: {spec!r} is not CELLSxBYTES, e.g. 40x5000")
    if len(set(args.notebooks)) != len(args.notebooks):
        parser.error("--notebooks: each size at most once")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))

    work_dir = Path(tempfile.mkdtemp(prefix="bookstore-bench-publish-"))
    try:
        summary = run(args.notebooks, args.rounds, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)

    print(
        f"\n{args.rounds} rounds per operation and size (+{WARMUP_ROUNDS} warm-up), "
        "interleaved, the side going first swapping every round; ratio = bookstore / raw\n"
    )
    print_report(summary)
    print("\n" + json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
