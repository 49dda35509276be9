"""Store round trips: bookstore's object stores against the fastest raw equivalent.

Starts its own SeaweedFS (``weed mini`` on 127.0.0.1, via ``tests/s3rig.py``) and, for a
~200 KB nbformat v4 notebook (50 code cells with outputs, a fresh body for every put),
times each operation of bookstore against a baseline doing the same work by hand:

* ``s3 put`` / ``s3 get`` / ``s3 get@version``: ``S3Store`` against raw aiobotocore
  ``put_object`` / ``get_object`` (+ reading the body) on one long-lived client;
* ``s3 list_versions``: ``S3Store.list_versions(key, limit=100)`` on a key with 1,000
  versions against raw ``list_object_versions(Prefix=key, MaxKeys=100)``;
* ``local put`` / ``local get``: ``LocalStore`` against ``asyncio.to_thread`` writing the
  bytes to a file (write + fsync + rename) / reading them back, in the same directory;
* ``2.x put (new client)``: bookstore 2.x's pattern, a new aiobotocore session and client
  for every request, against the same raw ``put_object`` on one long-lived client.

Both sides of a pair run alternately in every round (the side going first swaps each
round), so machine noise hits both alike.  The table gives median and p90 in ms of
both sides and ``ratio`` = median(thing) / median(baseline): 1.00 means bookstore adds
nothing over the raw call, 2.00 means it costs twice the raw round trip.  The last
stdout line is the same data as one JSON object.

Run from the repository root: ``.venv/bin/python benchmarks/store_roundtrip.py
[--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nbformat
from _report import p90, print_rows
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from bookstore.config import BookstoreSettings
from bookstore.stores.local import LocalStore
from bookstore.stores.s3 import S3Store

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_ROUNDS = 30
WARMUP_ROUNDS = 5
TARGET_BODY_BYTES = 200_000
CODE_CELLS = 50
LISTED_VERSIONS = 1000
LIST_LIMIT = 100
CONTENT_TYPE = "application/x-ipynb+json"

Op = Callable[[int], Awaitable[Any]]


# -- the notebook ----------------------------------------------------------------------


def build_notebook() -> Any:
    """A realistic v4 notebook of about :data:`TARGET_BODY_BYTES` once serialised."""
    v4 = nbformat.v4
    cells: list[Any] = [v4.new_markdown_cell("# Benchmark notebook\n\nSynthetic but realistic.")]
    line = "value = compute(row, scale=0.5, offset=-1.25)  # typical line of analysis code\n"
    for n in range(CODE_CELLS):
        source = f"# cell {n}\nimport math\n" + line * 4 + f"print(value * {n})"
        rows = "\n".join(
            f"{n:3d} {i:4d} {math.sin(n + i):+.6f} {math.cos(n * i):+.6f} ok" for i in range(30)
        )
        outputs = [
            v4.new_output("stream", name="stdout", text=rows + "\n"),
            v4.new_output(
                "execute_result",
                data={
                    "text/plain": f"<DataFrame {n}: 30 rows x 4 columns>",
                    "text/html": "<table>"
                    + "".join(f"<tr><td>{i}</td><td>{i * n}</td></tr>" for i in range(20))
                    + "</table>",
                },
                execution_count=n + 1,
            ),
        ]
        cells.append(v4.new_code_cell(source, execution_count=n + 1, outputs=outputs))
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.metadata["language_info"] = {"name": "python", "version": platform.python_version()}
    # pad to the target size with a base64-ish image output, as plots do in real notebooks
    size = len(nbformat.writes(nb).encode())
    if size < TARGET_BODY_BYTES:
        pad = (uuid.uuid4().hex * (TARGET_BODY_BYTES // 32 + 1))[: TARGET_BODY_BYTES - size - 64]
        cells[-1].outputs.append(v4.new_output("display_data", data={"image/png": pad}))
    nbformat.validate(nb)
    return nb


def make_bodies(count: int) -> list[bytes]:
    """``count`` distinct serialisations of one notebook (one tag changes per save), so
    no store can skip a write because it already holds the bytes."""
    nb = build_notebook()
    bodies = []
    for n in range(count):
        nb.metadata["bench"] = {"save": n, "nonce": uuid.uuid4().hex}
        bodies.append(nbformat.writes(nb).encode() + b"\n")
    return bodies


# -- timing and statistics -------------------------------------------------------------


async def _timed(op: Op, n: int) -> float:
    start = time.perf_counter()
    await op(n)
    return (time.perf_counter() - start) * 1000.0


class Pair:
    """One comparison: ``thing`` (bookstore) against ``baseline`` (raw), timed alike."""

    def __init__(self, name: str, thing: str, baseline: str, thing_op: Op, base_op: Op) -> None:
        self.name, self.thing, self.baseline = name, thing, baseline
        self.thing_op, self.base_op = thing_op, base_op
        self.thing_ms: list[float] = []
        self.base_ms: list[float] = []

    async def round(self, n: int, *, record: bool = True) -> None:
        """Run both sides once; who goes first alternates with ``n``."""
        if n % 2 == 0:
            base = await _timed(self.base_op, n)
            thing = await _timed(self.thing_op, n)
        else:
            thing = await _timed(self.thing_op, n)
            base = await _timed(self.base_op, n)
        if record:
            self.thing_ms.append(thing)
            self.base_ms.append(base)

    def summary(self) -> dict[str, Any]:
        thing_med = statistics.median(self.thing_ms)
        base_med = statistics.median(self.base_ms)
        return {
            "thing": self.thing,
            "baseline": self.baseline,
            "thing_median_ms": round(thing_med, 3),
            "thing_p90_ms": round(p90(self.thing_ms), 3),
            "baseline_median_ms": round(base_med, 3),
            "baseline_p90_ms": round(p90(self.base_ms), 3),
            "ratio": round(thing_med / base_med, 2) if base_med else None,
        }


def print_table(pairs: list[Pair]) -> None:
    header = ("pair", "thing", "baseline", "thing med", "p90", "base med", "p90", "ratio")
    rows = [header]
    for pair in pairs:
        s = pair.summary()
        rows.append(
            (
                pair.name,
                s["thing"],
                s["baseline"],
                f"{s['thing_median_ms']:.2f}",
                f"{s['thing_p90_ms']:.2f}",
                f"{s['baseline_median_ms']:.2f}",
                f"{s['baseline_p90_ms']:.2f}",
                f"{s['ratio']:.2f}x",
            )
        )
    print_rows(rows, left=3)


# -- the benchmark ---------------------------------------------------------------------


def raw_config() -> AioConfig:
    """The baseline client's config: defaults, plus path-style addressing for SeaweedFS."""
    return AioConfig(s3={"addressing_style": "path"})


def write_durably(path: Path, body: bytes) -> None:
    """The local put baseline: write a temporary file, fsync it, rename it into place."""
    temporary = path.with_name(f".tmp-{uuid.uuid4().hex}")
    with open(temporary, "xb") as stream:
        stream.write(body)
        stream.flush()
        os.fsync(stream.fileno())
    os.replace(temporary, path)


class Bench:
    """The stores, the raw clients and the fixtures; each ``*_put``/``*_get``/… method is
    one timed operation, given the round number ``n`` (which picks the body of a put)."""

    def __init__(self, server: Any, rounds: int, work_dir: Path) -> None:
        self.total = rounds + WARMUP_ROUNDS
        bodies = make_bodies(2 * self.total + 2)
        self.store_bodies = bodies[: self.total]
        self.raw_bodies = bodies[self.total : 2 * self.total]
        self.read_bodies = bodies[-2:]
        self.body_bytes = len(bodies[0])
        self.bucket = server.bucket
        self.client_args: dict[str, Any] = {
            "region_name": server.region,
            "endpoint_url": server.endpoint_url,
            "aws_access_key_id": server.access_key,
            "aws_secret_access_key": server.secret_key,
        }
        self.prefix = f"bench-{uuid.uuid4().hex[:8]}"
        self.read_key = f"{self.prefix}/read.ipynb"
        self.list_key = f"{self.prefix}/history.ipynb"
        self.local_key = "bench/local.ipynb"
        self.raw_files = work_dir / "raw-files"
        self.raw_read_path = self.raw_files / "read.ipynb"
        self.s3_store = S3Store(settings=server.settings())
        self.local_store = LocalStore(
            settings=BookstoreSettings(local_store_dir=str(work_dir / "local-store"))
        )
        self.raw: Any = None
        self.old_version = ""
        self.setup_s = 0.0

    async def setup(self, stack: contextlib.AsyncExitStack) -> None:
        """Open the clients and stores (closed with ``stack``) and write the fixtures: a key
        with two versions to read, a key with :data:`LISTED_VERSIONS` versions to list."""
        self.raw = await stack.enter_async_context(
            AioSession().create_client("s3", config=raw_config(), **self.client_args)
        )
        await stack.enter_async_context(self.s3_store)
        await stack.enter_async_context(self.local_store)
        old, latest = self.read_bodies
        reply = await self.raw.put_object(Bucket=self.bucket, Key=self.read_key, Body=old)
        self.old_version = reply["VersionId"]
        await self.raw.put_object(Bucket=self.bucket, Key=self.read_key, Body=latest)
        started = time.perf_counter()
        limiter = asyncio.Semaphore(8)

        async def put_small(n: int) -> None:
            async with limiter:
                body = f"save {n}\n".encode()
                await self.raw.put_object(Bucket=self.bucket, Key=self.list_key, Body=body)

        await asyncio.gather(*(put_small(n) for n in range(LISTED_VERSIONS)))
        self.setup_s = time.perf_counter() - started
        await self.local_store.put(self.local_key, latest, content_type=CONTENT_TYPE)
        self.raw_files.mkdir()
        self.raw_read_path.write_bytes(latest)

    # -- the raw sides -------------------------------------------------------------------

    async def raw_put(self, n: int) -> None:
        await self.raw.put_object(
            Bucket=self.bucket,
            Key=f"{self.prefix}/put-raw.ipynb",
            Body=self.raw_bodies[n],
            ContentType=CONTENT_TYPE,
        )

    async def raw_get(self, n: int) -> bytes:
        response = await self.raw.get_object(Bucket=self.bucket, Key=self.read_key)
        async with response["Body"] as stream:
            return bytes(await stream.read())

    async def raw_get_version(self, n: int) -> bytes:
        response = await self.raw.get_object(
            Bucket=self.bucket, Key=self.read_key, VersionId=self.old_version
        )
        async with response["Body"] as stream:
            return bytes(await stream.read())

    async def raw_list(self, n: int) -> Any:
        return await self.raw.list_object_versions(
            Bucket=self.bucket, Prefix=self.list_key, MaxKeys=LIST_LIMIT
        )

    async def file_put(self, n: int) -> None:
        path = self.raw_files / f"put-{n}.ipynb"
        await asyncio.to_thread(write_durably, path, self.raw_bodies[n])

    async def file_get(self, n: int) -> bytes:
        return await asyncio.to_thread(self.raw_read_path.read_bytes)

    # -- the bookstore sides -------------------------------------------------------------

    async def store_put(self, n: int) -> str:
        key = f"{self.prefix}/put-store.ipynb"
        return await self.s3_store.put(key, self.store_bodies[n], content_type=CONTENT_TYPE)

    async def store_get(self, n: int) -> Any:
        return await self.s3_store.get(self.read_key)

    async def store_get_version(self, n: int) -> Any:
        return await self.s3_store.get(self.read_key, self.old_version)

    async def store_list(self, n: int) -> Any:
        page = await self.s3_store.list_versions(self.list_key, limit=LIST_LIMIT)
        if len(page.items) != LIST_LIMIT:
            raise RuntimeError(f"list_versions gave {len(page.items)} versions")
        return page

    async def local_put(self, n: int) -> str:
        body = self.store_bodies[n]
        return await self.local_store.put(self.local_key, body, content_type=CONTENT_TYPE)

    async def local_get(self, n: int) -> Any:
        return await self.local_store.get(self.local_key)

    async def old_put(self, n: int) -> None:
        """bookstore 2.x: ``aiobotocore.get_session()`` in the handler's ``initialize()``
        (once per HTTP request), then ``async with session.create_client(...)`` per put."""
        session = AioSession()
        async with session.create_client("s3", config=raw_config(), **self.client_args) as c:
            await c.put_object(
                Bucket=self.bucket,
                Key=f"{self.prefix}/put-old.ipynb",
                Body=self.store_bodies[n],
                ContentType=CONTENT_TYPE,
            )

    def pairs(self) -> list[Pair]:
        limit = LIST_LIMIT
        return [
            Pair("s3 put", "S3Store.put", "put_object", self.store_put, self.raw_put),
            Pair("s3 get latest", "S3Store.get", "get_object+read", self.store_get, self.raw_get),
            Pair(
                "s3 get@version",
                "S3Store.get(key, vid)",
                "get_object(VersionId)+read",
                self.store_get_version,
                self.raw_get_version,
            ),
            Pair(
                "s3 list_versions",
                f"list_versions(limit={limit})",
                f"list_object_versions(MaxKeys={limit})",
                self.store_list,
                self.raw_list,
            ),
            Pair(
                "local put",
                "LocalStore.put",
                "to_thread write+fsync+rename",
                self.local_put,
                self.file_put,
            ),
            Pair("local get", "LocalStore.get", "to_thread read", self.local_get, self.file_get),
            Pair(
                "2.x put (new client)",
                "new session+client+put",
                "put_object",
                self.old_put,
                self.raw_put,
            ),
        ]

    async def run(self) -> list[Pair]:
        """Warm up, then time every pair once per round, the pairs interleaved too."""
        async with contextlib.AsyncExitStack() as stack:
            await self.setup(stack)
            pairs = self.pairs()
            for n in range(self.total):
                for pair in pairs:
                    await pair.round(n, record=n >= WARMUP_ROUNDS)
        return pairs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"timed rounds per pair, after {WARMUP_ROUNDS} warm-up rounds "
        f"(default {DEFAULT_ROUNDS})",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    from tests.s3rig import SeaweedFS

    started = time.perf_counter()
    server = SeaweedFS()
    work_dir = Path(tempfile.mkdtemp(prefix="bookstore-bench-"))
    try:
        server.start()
        server.create_buckets()
        print(f"SeaweedFS at {server.endpoint_url}, bucket {server.bucket} (versioned)")
        print(f"local store and raw files in {work_dir}")
        bench = Bench(server, args.rounds, work_dir)
        pairs = asyncio.run(bench.run())
    finally:
        server.cleanup()
        shutil.rmtree(work_dir, ignore_errors=True)
    elapsed = time.perf_counter() - started

    print(
        f"\n{args.rounds} rounds (+{WARMUP_ROUNDS} warm-up), body {bench.body_bytes:,} bytes, "
        f"list key with {LISTED_VERSIONS:,} versions (created in {bench.setup_s:.1f} s); "
        f"ratio = thing median / baseline median\n"
    )
    print_table(pairs)
    summary = {
        "benchmark": "store_roundtrip",
        "rounds": args.rounds,
        "warmup_rounds": WARMUP_ROUNDS,
        "body_bytes": bench.body_bytes,
        "elapsed_s": round(elapsed, 1),
        "pairs": {pair.name: pair.summary() for pair in pairs},
    }
    print("\n" + json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
