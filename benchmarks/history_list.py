"""Listing the first page of a long history, through bookstore against the raw listing.

Starts one SeaweedFS (``weed mini`` on 127.0.0.1, via ``tests/s3rig.py``) with a versioned
bucket and writes, untimed, straight through bookstore's stores (concurrent ``put``s of a
~700-byte notebook, a body of its own per version, with the metadata the archiver writes:
``sha256`` and ``saved-at``):

* 10,000 versions of the workspace key ``{workspace_prefix}/bench/long.ipynb`` and 300
  versions of its neighbour ``bench/long.ipynb.bak`` to ``S3Store`` (S3 lists versions by
  *prefix*, so the neighbour's versions come back in the same listing and must be
  filtered out; SeaweedFS lists them *before* the key's);
* the same to a ``LocalStore`` (the embedded store: SQLite index plus blob files).

Then it starts two real ``jupyter server`` processes (``tests/jupyter_process.py``, token
auth) with bookstore: one on the bucket, one on the local store.  Both set
``published_prefix`` to the workspace prefix, so ``GET api/bookstore/published/{path}/versions``
lists the very same key as ``GET api/bookstore/workspace/{path}/versions`` but without the
rename lookup (the workspace route reads the newest version's metadata with a HEAD,
concurrently with the listing; the servers did not archive the file themselves, so they
do not know its lineage and make that HEAD on every request, as after a restart).

Timed, each latency the wall time of one listing:

* ``REST workspace`` / ``REST published``: the HTTP route on the running server, over one
  keep-alive connection, from sending the GET to reading the whole JSON reply (not
  parsing it);
* ``History``: ``History.list_versions`` in this process (workspace, following renames:
  listing and lineage HEAD in parallel), on a store of its own;
* ``store``: ``S3Store.list_versions`` (or ``LocalStore.list_versions``) in this process;
* baselines, S3: ``raw 1 call`` = one ``list_object_versions(Bucket, Prefix=key,
  MaxKeys=limit)`` with aiobotocore on one long-lived client.  SeaweedFS fills a page that
  cannot hold everything under the prefix with the neighbour's versions first, so at limit
  10 and 100 that call returns none of the key's versions (and at 1000, 700): a lower
  bound, not the same answer.  ``raw exact`` = the cheapest hand-written listing that does
  return the key's first ``limit`` versions on this server: full pages (``MaxKeys=1000``)
  keeping the key's entries, each resuming after the oldest of them seen.
  Local: ``LocalStore.list_versions`` is the baseline.

for the first page at ``limit`` 10, 100 (the route's default) and 1000, and for the second
page at limit 100 (``page_token`` from the first page, obtained untimed; the raw sides
resume at the 100th version with ``KeyMarker``/``VersionIdMarker``).  Every S3 listing of
the long key takes about a second on SeaweedFS, so the S3 groups at limit 10 and page 2
time only ``REST workspace``, ``History`` and the baselines; the local groups time every
side, 20 local rounds per S3 round.  First every side of every group runs once, untimed:
its version ids are checked against ``raw exact`` (or the local store), its S3 requests
are counted, and the connections warm up.  Then every round runs every side of every group
once, in an order rotated every other round and reversed every other round (each side
goes first, and follows each of its neighbours, equally often), so machine noise hits all
alike.

Columns: median, p90, mean, min and max in ms; ``x raw`` and ``x exact`` = this side / the
baseline, of the medians and of the means.  Then where the time goes: S3 requests per
listing, the lineage HEAD alone, botocore's parsing of one full ``ListObjectVersions``
reply, the handler's JSON encoding, reply sizes.  The last stdout line is one JSON object.

Run from the repository root: ``.venv/bin/python benchmarks/history_list.py [--rounds N]
[--versions N] [--neighbours N]``; ``--versions 1000 --neighbours 100 --rounds 2`` is a
quick check (about 1.5 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import http.client
import json
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import botocore.parsers
import nbformat
from _report import FIELDS, print_rows, summarize
from aiobotocore.session import AioSession
from archive_saves import start_all
from store_roundtrip import CONTENT_TYPE, raw_config

from bookstore.config import BookstoreSettings
from bookstore.core.history import History, VersionItem
from bookstore.keys import s3_key
from bookstore.stores.base import MAX_PAGE_SIZE, ObjectStore, Page
from bookstore.stores.local import LocalStore
from bookstore.stores.s3 import S3Store
from bookstore.timestamps import json_default

REPO_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_ROUNDS = 6
#: The local store's listings take milliseconds: this many local rounds per S3 round.
LOCAL_ROUNDS_PER_ROUND = 20
DEFAULT_VERSIONS = 10_000
DEFAULT_NEIGHBOURS = 300
LIMITS = (10, 100, 1000)
#: The S3 limits timed with every side; the others (and page 2) only with REST workspace,
#: History and the baselines (each S3 listing of the long key takes about a second).
FULL_LIMITS = (100, 1000)
PAGE_TWO_LIMIT = 100
SETUP_CONCURRENCY = 16
PATH = "bench/long.ipynb"
NEIGHBOUR_PATH = "bench/long.ipynb.bak"
PARTS_REPEATS = 20

Op = Callable[[], Awaitable[Any]]


# -- the fixture -----------------------------------------------------------------------


def body_template() -> str:
    """A small nbformat v4 notebook (~700 bytes) whose first cell says ``@SAVE@``."""
    from tests.notebooks import make_notebook

    notebook = make_notebook("@SAVE@", cells=2, output_bytes=200)
    return str(nbformat.writes(nbformat.from_dict(notebook)))


async def fill(store: ObjectStore, keys: list[str], template: str) -> float:
    """Write the versions of ``keys`` (one put per entry, a body of its own each, with the
    archiver's metadata) concurrently; return the seconds it took."""
    started = time.perf_counter()
    limiter = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def put(n: int, key: str) -> None:
        body = template.replace("@SAVE@", f"save {n}").encode()
        metadata = {
            "sha256": hashlib.sha256(body).hexdigest(),
            "saved-at": datetime.now(timezone.utc).isoformat(),
        }
        async with limiter:
            await store.put(key, body, content_type=CONTENT_TYPE, metadata=metadata)

    await asyncio.gather(*(put(n, key) for n, key in enumerate(keys)))
    return time.perf_counter() - started


def interleaved(key: str, neighbour: str, versions: int, neighbours: int) -> list[str]:
    """The keys of the puts: the neighbour's spread evenly among the key's."""
    keys = [key] * versions
    step = max(1, versions // max(1, neighbours))
    for n in range(neighbours):
        keys.insert(min(len(keys), n * (step + 1)), neighbour)
    return keys


# -- timing ----------------------------------------------------------------------------


class Side:
    """One timed way of listing, with its latencies."""

    def __init__(self, name: str, op: Op) -> None:
        self.name = name
        self.op = op
        self.ms: list[float] = []


class Group:
    """The sides listing the same page: every round runs each once, in an order rotated
    by one every other round and reversed every other round, so that over ``2 * sides``
    rounds each side goes first equally often and follows each of its two neighbours
    equally often (a side that always ran right after another request to the same server
    would find it warmer)."""

    def __init__(self, backend: str, label: str, sides: list[Side], baselines: list[str]) -> None:
        self.backend = backend
        self.label = label
        self.sides = sides
        self.baselines = baselines

    async def round(self, n: int) -> None:
        """Time every side once, in the order of round ``n``."""
        shift = (n // 2) % len(self.sides)
        order = self.sides[shift:] + self.sides[:shift]
        for side in reversed(order) if n % 2 else order:
            start = time.perf_counter()
            await side.op()
            side.ms.append((time.perf_counter() - start) * 1000.0)

    def summary(self) -> dict[str, Any]:
        stats = {side.name: summarize(side.ms) for side in self.sides}
        result: dict[str, Any] = {}
        for side in self.sides:
            entry: dict[str, Any] = dict(stats[side.name])
            for baseline in self.baselines:
                base = stats[baseline]
                entry[f"x_{baseline}"] = {
                    "median": round(entry["median_ms"] / base["median_ms"], 3),
                    "mean": round(entry["mean_ms"] / base["mean_ms"], 3),
                }
            result[side.name] = entry
        return result


# -- the server, as seen by the client -------------------------------------------------


class Api:
    """One keep-alive HTTP connection to a Jupyter server, token auth."""

    def __init__(self, server: Any) -> None:
        from tests.jupyter_process import TOKEN

        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        self.headers = {"Authorization": f"token {TOKEN}", "Connection": "keep-alive"}

    def get(self, path: str) -> bytes:
        """GET ``path`` and read the whole reply (unparsed); raise unless 200."""
        self.connection.request("GET", f"/{path}", headers=self.headers)
        response = self.connection.getresponse()
        reply = response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {path} answered {response.status}: {reply[:500]!r}")
        return reply

    def close(self) -> None:
        self.connection.close()


def versions_url(area: str, limit: int, token: str | None = None) -> str:
    url = f"api/bookstore/{area}/{PATH}/versions?limit={limit}"
    return url if token is None else f"{url}&page_token={quote(token, safe='')}"


def reply_ids(reply: bytes) -> tuple[list[str], str | None]:
    model = json.loads(reply)
    return [item["id"] for item in model["versions"]], model["next_token"]


# -- one backend -----------------------------------------------------------------------


class Backend:
    """One store (S3 or local), its server, and the groups timed on it."""

    def __init__(self, name: str, store: ObjectStore, server: Any, prefix: str) -> None:
        self.name = name
        self.store = store
        self.server = server
        self.prefix = prefix
        self.key = s3_key(prefix, PATH)
        self.history = History(store, s3_key(prefix), area="workspace", follows_renames=True)
        self.api = Api(server)
        self.groups: list[Group] = []
        self.tokens: dict[str, str] = {}
        self.reply_bytes: dict[str, int] = {}
        self.checks: dict[str, Any] = {}
        self.requests: dict[str, dict[str, int]] = {}

    # -- the bookstore sides -------------------------------------------------------------

    def rest(self, area: str, limit: int, token: str | None = None) -> Op:
        url = versions_url(area, limit, token)

        async def op() -> bytes:
            return self.api.get(url)

        return op

    def in_history(self, limit: int, token: str | None = None) -> Op:
        async def op() -> Page[VersionItem]:
            return await self.history.list_versions(PATH, limit=limit, token=token)

        return op

    def in_store(self, limit: int, token: str | None = None) -> Op:
        async def op() -> Page[Any]:
            return await self.store.list_versions(self.key, limit=limit, token=token)

        return op

    async def build(self) -> dict[str, list[str]]:
        """Make the groups; return the version ids each group's listing must give."""
        raise NotImplementedError

    async def ids_of(self, side: Side) -> list[str]:
        """The version ids a side lists (untimed)."""
        result = await side.op()
        if isinstance(result, bytes):
            return reply_ids(result)[0]
        if isinstance(result, Page):
            return [str(getattr(item, "id", None) or item.version_id) for item in result.items]
        return list(result)

    async def prepare_tokens(self) -> None:
        """The page tokens of the first page at :data:`PAGE_TWO_LIMIT` for each side."""
        limit = PAGE_TWO_LIMIT
        for area in ("workspace", "published"):
            _, token = reply_ids(self.api.get(versions_url(area, limit)))
            assert token is not None, "the first page has no next_token"
            self.tokens[area] = token
        history_page = await self.history.list_versions(PATH, limit=limit)
        store_page = await self.store.list_versions(self.key, limit=limit)
        assert history_page.next_token, "History's first page has no next_token"
        assert store_page.next_token, "the store's first page has no next_token"
        self.tokens["history"] = history_page.next_token
        self.tokens["store"] = store_page.next_token

    def bookstore_sides(
        self, limit: int, *, page_two: bool = False, full: bool = True
    ) -> list[Side]:
        """The REST and ``History`` sides; with ``full`` also ``REST published`` (the same
        listing without the lineage HEAD) and ``store``."""
        tokens = self.tokens if page_two else {}
        sides = [Side("REST workspace", self.rest("workspace", limit, tokens.get("workspace")))]
        if full:
            sides.append(
                Side("REST published", self.rest("published", limit, tokens.get("published")))
            )
        sides.append(Side("History", self.in_history(limit, tokens.get("history"))))
        if full:
            sides.append(Side("store", self.in_store(limit, tokens.get("store"))))
        return sides

    async def check(
        self, expected: dict[str, list[str]], counters: dict[str, Counter] | None = None
    ) -> None:
        """Every side of every group lists the expected ids (the raw one-call side: record
        how many of the key's versions it returned).  This pass is also the warm-up, and
        counts the S3 requests of the sides with a counter."""
        for group in self.groups:
            want = expected[group.label]
            for side in group.sides:
                counter = (counters or {}).get(side.name)
                if counter is not None:
                    counter.counts.clear()
                ids = await self.ids_of(side)
                if counter is not None:
                    self.requests[f"{group.label}: {side.name}"] = dict(counter.counts)
                if side.name == "raw 1 call":
                    self.checks[group.label] = {
                        "raw_1_call_key_versions": len(ids),
                        "raw_1_call_same_as_expected": ids == want,
                    }
                    continue
                if ids != want:
                    raise RuntimeError(
                        f"{self.name} {group.label} {side.name}: listed {len(ids)} versions "
                        f"that differ from the expected {len(want)}"
                    )
                if side.name.startswith("REST"):
                    reply = await side.op()
                    self.reply_bytes[f"{group.label} {side.name}"] = len(reply)

    def close(self) -> None:
        self.api.close()


class S3Backend(Backend):
    """The bucket: raw baselines on one long-lived aiobotocore client."""

    def __init__(self, store: S3Store, server: Any, prefix: str, raw: Any, bucket: str) -> None:
        super().__init__("s3", store, server, prefix)
        self.raw = raw
        self.bucket = bucket
        self.marker = ""

    def raw_one(self, limit: int, marker: str | None = None) -> Op:
        params: dict[str, Any] = {"Bucket": self.bucket, "Prefix": self.key, "MaxKeys": limit}
        if marker is not None:
            params.update(KeyMarker=self.key, VersionIdMarker=marker)

        async def op() -> list[str]:
            response = await self.raw.list_object_versions(**params)
            return [v["VersionId"] for v in response.get("Versions", []) if v["Key"] == self.key]

        return op

    def raw_exact(self, limit: int, marker: str | None = None) -> Op:
        async def op() -> list[str]:
            return await self.exact_ids(limit, marker)

        return op

    async def exact_ids(self, limit: int, marker: str | None = None) -> list[str]:
        """The key's first ``limit`` versions (after ``marker``), by hand: full pages, the
        key's entries kept, each page resuming after the oldest of them seen.

        Full pages, because SeaweedFS fills a page that cannot hold everything under the
        prefix with the neighbour's versions first (also after a marker); resuming from the
        key's own oldest version, because its ``NextKeyMarker`` then names the neighbour,
        after which the key's older versions never come."""
        ids: list[str] = []
        seen: set[str] = set()
        while len(ids) < limit:
            params: dict[str, Any] = {
                "Bucket": self.bucket,
                "Prefix": self.key,
                "MaxKeys": MAX_PAGE_SIZE,
            }
            if marker is not None:
                params.update(KeyMarker=self.key, VersionIdMarker=marker)
            response = await self.raw.list_object_versions(**params)
            fresh = [
                v["VersionId"]
                for v in response.get("Versions", [])
                if v["Key"] == self.key and v["VersionId"] not in seen
            ]
            ids.extend(fresh)
            seen.update(fresh)
            if not fresh or not response.get("IsTruncated"):
                break
            marker = fresh[-1]
        return ids[:limit]

    async def build(self) -> dict[str, list[str]]:
        await self.prepare_tokens()
        first = await self.exact_ids(2 * PAGE_TWO_LIMIT)
        self.marker = first[PAGE_TWO_LIMIT - 1]
        expected: dict[str, list[str]] = {}
        for limit in LIMITS:
            label = f"first page, limit {limit}"
            sides = [
                *self.bookstore_sides(limit, full=limit in FULL_LIMITS),
                Side("raw exact", self.raw_exact(limit)),
                Side("raw 1 call", self.raw_one(limit)),
            ]
            self.groups.append(Group("s3", label, sides, ["raw 1 call", "raw exact"]))
            expected[label] = await self.exact_ids(limit)
        label = f"page 2, limit {PAGE_TWO_LIMIT}"
        sides = [
            *self.bookstore_sides(PAGE_TWO_LIMIT, page_two=True, full=False),
            Side("raw exact", self.raw_exact(PAGE_TWO_LIMIT, self.marker)),
            Side("raw 1 call", self.raw_one(PAGE_TWO_LIMIT, self.marker)),
        ]
        self.groups.append(Group("s3", label, sides, ["raw 1 call", "raw exact"]))
        expected[label] = first[PAGE_TWO_LIMIT:]
        return expected


class LocalBackend(Backend):
    """The embedded store: ``LocalStore.list_versions`` is the baseline."""

    async def build(self) -> dict[str, list[str]]:
        await self.prepare_tokens()
        expected: dict[str, list[str]] = {}
        for limit in LIMITS:
            label = f"first page, limit {limit}"
            sides = self.bookstore_sides(limit)
            self.groups.append(Group("local", label, sides, ["store"]))
            page = await self.store.list_versions(self.key, limit=limit)
            expected[label] = [str(item.version_id) for item in page.items]
        label = f"page 2, limit {PAGE_TWO_LIMIT}"
        token = self.tokens["store"]
        sides = self.bookstore_sides(PAGE_TWO_LIMIT, page_two=True)
        self.groups.append(Group("local", label, sides, ["store"]))
        page = await self.store.list_versions(self.key, limit=PAGE_TWO_LIMIT, token=token)
        expected[label] = [str(item.version_id) for item in page.items]
        return expected


# -- where the time goes ---------------------------------------------------------------


class Counter:
    """Counts the S3 requests an aiobotocore client sends, by operation."""

    def __init__(self, client: Any) -> None:
        self.counts: dict[str, int] = {}
        client.meta.events.register("before-call.s3", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.counts[model.name] = self.counts.get(model.name, 0) + 1


async def _median_ms(op: Op, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        await op()
        times.append((time.perf_counter() - start) * 1000.0)
    return summarize(times)["median_ms"]


def _iso_timestamp(text: str) -> datetime:
    """S3's ISO 8601 timestamps, parsed by the standard library (``Z`` spelled out for
    Python 3.10)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def botocore_parse_ms(s3: S3Backend) -> tuple[float, float, int]:
    """How long botocore takes to parse one full ``ListObjectVersions`` reply (the XML of
    1,000 entries, as every side gets from SeaweedFS here), with no server involved: the
    reply of one raw call is kept and parsed again, by botocore's default parser (whose
    timestamps go through ``dateutil``) and by one with ``datetime.fromisoformat`` as its
    timestamp parser.  Returns (default ms, fromisoformat ms, entries)."""
    captured: dict[str, Any] = {}

    def keep(operation_model: Any, response_dict: dict[str, Any], **_: Any) -> None:
        captured.update(shape=operation_model.output_shape, response=dict(response_dict))

    events = s3.raw.meta.events
    events.register("before-parse.s3.ListObjectVersions", keep)
    try:
        await s3.raw.list_object_versions(Bucket=s3.bucket, Prefix=s3.key, MaxKeys=MAX_PAGE_SIZE)
    finally:
        events.unregister("before-parse.s3.ListObjectVersions", keep)
    parser = botocore.parsers.create_parser("rest-xml")
    entries = len(parser.parse(captured["response"], captured["shape"]).get("Versions", []))

    factory = botocore.parsers.ResponseParserFactory()
    factory.set_parser_defaults(timestamp_parser=_iso_timestamp)
    fast = factory.create_parser("rest-xml")
    if fast.parse(captured["response"], captured["shape"]) != parser.parse(
        captured["response"], captured["shape"]
    ):
        raise RuntimeError("the fromisoformat timestamp parser parses differently")

    async def parse() -> None:
        parser.parse(captured["response"], captured["shape"])

    async def parse_fast() -> None:
        fast.parse(captured["response"], captured["shape"])

    return (
        await _median_ms(parse, PARTS_REPEATS),
        await _median_ms(parse_fast, PARTS_REPEATS),
        entries,
    )


async def parts(s3: S3Backend, local: LocalBackend) -> dict[str, Any]:
    """The lineage HEAD alone, botocore's parsing of a full page, and the handler's JSON
    encoding of a page."""
    parse_ms, parse_fast_ms, parsed_entries = await botocore_parse_ms(s3)
    head_ms = {
        "s3": await _median_ms(lambda: s3.store.head(s3.key), PARTS_REPEATS),
        "local": await _median_ms(lambda: local.store.head(local.key), PARTS_REPEATS),
    }
    encode_ms: dict[str, float] = {}
    for limit in LIMITS:
        page = await local.history.list_versions(PATH, limit=limit)

        async def encode(page: Page[VersionItem] = page) -> None:
            # what VersionsHandler.get does after listing: items to dicts, dicts to JSON
            model = {
                "path": PATH,
                "versions": [item.to_dict() for item in page.items],
                "next_token": page.next_token,
            }
            json.dumps(model, default=json_default)

        encode_ms[str(limit)] = await _median_ms(encode, PARTS_REPEATS)
    return {
        "head_ms": head_ms,
        "botocore_parse_ms": parse_ms,
        "botocore_parse_fromisoformat_ms": parse_fast_ms,
        "botocore_parse_entries": parsed_entries,
        "json_encode_ms": encode_ms,
    }


# -- the benchmark ---------------------------------------------------------------------


async def measure(
    s3: Any,
    settings: BookstoreSettings,
    local_settings: BookstoreSettings,
    *,
    servers: dict[str, Any],
    prefix: str,
    rounds: int,
) -> dict[str, Any]:
    client_args = {
        "region_name": s3.region,
        "endpoint_url": s3.endpoint_url,
        "aws_access_key_id": s3.access_key,
        "aws_secret_access_key": s3.secret_key,
    }
    async with contextlib.AsyncExitStack() as stack:
        raw = await stack.enter_async_context(
            AioSession().create_client("s3", config=raw_config(), **client_args)
        )
        s3_store = await stack.enter_async_context(S3Store(settings=settings))
        local_store = await stack.enter_async_context(LocalStore(settings=local_settings))
        s3_backend = S3Backend(s3_store, servers["s3"], prefix, raw, s3.bucket)
        local_backend = LocalBackend("local", local_store, servers["local"], prefix)
        stack.callback(s3_backend.close)
        stack.callback(local_backend.close)
        backends: list[Backend] = [s3_backend, local_backend]
        store_counter = Counter(s3_store._client)  # the store's one client (diagnostics)
        raw_counter = Counter(raw)
        counters = {"History": store_counter, "store": store_counter}
        counters.update({"raw exact": raw_counter, "raw 1 call": raw_counter})
        started = time.perf_counter()
        await s3_backend.check(await s3_backend.build(), counters)
        await local_backend.check(await local_backend.build())
        print(
            f"every side lists the expected versions (checked in "
            f"{time.perf_counter() - started:.0f} s, the warm-up)",
            flush=True,
        )
        started = time.perf_counter()
        for n in range(rounds):
            for group in s3_backend.groups:
                await group.round(n)
            for m in range(LOCAL_ROUNDS_PER_ROUND):
                for group in local_backend.groups:
                    await group.round(n * LOCAL_ROUNDS_PER_ROUND + m)
            per_round = (time.perf_counter() - started) / (n + 1)
            print(f"  round {n + 1}/{rounds} ({per_round:.1f} s a round)", flush=True)
        where = await parts(s3_backend, local_backend)
        return {
            "backends": {
                backend.name: {
                    "rounds": rounds * (LOCAL_ROUNDS_PER_ROUND if backend is local_backend else 1),
                    "groups": {group.label: group.summary() for group in backend.groups},
                    "raw_checks": backend.checks,
                    "s3_requests": backend.requests,
                    "reply_bytes": backend.reply_bytes,
                }
                for backend in backends
            },
            "parts": where,
        }


def run(
    versions: int, neighbours: int, rounds: int, work_dir: Path
) -> tuple[dict[str, Any], dict[str, float]]:
    from tests.jupyter_process import JupyterServer
    from tests.s3rig import SeaweedFS

    s3 = SeaweedFS()
    servers: dict[str, Any] = {}
    try:
        s3.start()
        s3.create_buckets()
        prefix = f"bench-{uuid.uuid4().hex[:12]}/workspace"
        local_dir = str(work_dir / "local-store")
        settings = s3.settings(workspace_prefix=prefix, published_prefix=prefix)
        local_settings = BookstoreSettings(
            local_store_dir=local_dir, workspace_prefix=prefix, published_prefix=prefix
        )
        print(f"SeaweedFS at {s3.endpoint_url}, bucket {s3.bucket} (versioned)")
        print(
            f"writing {versions:,} versions of {prefix}/{PATH} and {neighbours:,} of "
            f"{prefix}/{NEIGHBOUR_PATH} to S3 and to a local store...",
            flush=True,
        )
        setup_s = asyncio.run(write_fixture(settings, local_settings, prefix, versions, neighbours))
        print(
            f"written in {setup_s['s3']:.1f} s (S3) and {setup_s['local']:.1f} s (local), "
            "concurrently",
            flush=True,
        )
        spool = str(work_dir / "spool")
        for name in ("s3", "local"):
            (work_dir / name).mkdir()
        servers["s3"] = JupyterServer(
            work_dir / "s3",
            s3.settings_dict(
                workspace_prefix=prefix, published_prefix=prefix, archive_spool_dir=spool + "-s3"
            ),
        )
        servers["local"] = JupyterServer(
            work_dir / "local",
            {
                "local_store_dir": local_dir,
                "workspace_prefix": prefix,
                "published_prefix": prefix,
                "archive_spool_dir": spool + "-local",
            },
        )
        start_all(list(servers.values()))
        for name, server in servers.items():
            state = server.request("GET", "api/bookstore")
            if state["store"]["backend"] != name or not state["features"]["history_valid"]:
                raise RuntimeError(f"the {name} server cannot serve histories: {state}")
            print(f"{name} server on :{server.port} (pid {server.process.pid})", flush=True)
        result = asyncio.run(
            measure(s3, settings, local_settings, servers=servers, prefix=prefix, rounds=rounds)
        )
    finally:
        for server in servers.values():
            server.stop()
        s3.cleanup()
    return result, setup_s


async def write_fixture(
    settings: BookstoreSettings,
    local_settings: BookstoreSettings,
    prefix: str,
    versions: int,
    neighbours: int,
) -> dict[str, float]:
    template = body_template()
    key, neighbour = s3_key(prefix, PATH), s3_key(prefix, NEIGHBOUR_PATH)
    keys = interleaved(key, neighbour, versions, neighbours)
    async with S3Store(settings=settings) as s3_store, LocalStore(settings=local_settings) as local:
        s3_s, local_s = await asyncio.gather(
            fill(s3_store, keys, template), fill(local, keys, template)
        )
    return {"s3": round(s3_s, 1), "local": round(local_s, 1)}


# -- output ----------------------------------------------------------------------------


def print_report(summary: dict[str, Any]) -> None:
    header = (
        "store",
        "listing",
        "side",
        "median ms",
        "p90 ms",
        "mean ms",
        "min ms",
        "max ms",
        "x raw med/mean",
        "x exact med/mean",
    )
    rows: list[tuple[str, ...]] = [header]
    separators = {0}
    for backend, data in summary["backends"].items():
        for label, sides in data["groups"].items():
            for name, stats in sides.items():
                ratios = []
                for baseline in ("raw 1 call", "store", "raw exact"):
                    ratio = stats.get(f"x_{baseline}")
                    if ratio is not None:
                        ratios.append(f"{ratio['median']:.2f}x / {ratio['mean']:.2f}x")
                if backend == "local":
                    ratios.append("")
                rows.append(
                    (
                        backend,
                        label,
                        name,
                        *(f"{stats[field]:.2f}" for field in FIELDS),
                        *ratios,
                    )
                )
            separators.add(len(rows) - 1)
    print_rows(rows, left=3, separators=separators)
    print("\n(local: 'x raw' is against LocalStore.list_versions)")

    raw_checks = summary["backends"]["s3"]["raw_checks"]
    print("\nversions of the key in the 'raw 1 call' reply (neighbour entries filtered out):")
    for label, check in raw_checks.items():
        print(f"  {label:<24} {check['raw_1_call_key_versions']}")
    where = summary["parts"]
    print("\nS3 requests per listing (in-process clients):")
    for label, counts in summary["backends"]["s3"]["s3_requests"].items():
        text = ", ".join(f"{op} {count}" for op, count in sorted(counts.items()))
        print(f"  {label:<44} {text}")
    heads = where["head_ms"]
    print(
        f"\nlineage HEAD alone (median of {PARTS_REPEATS}): s3 {heads['s3']:.2f} ms, "
        f"local {heads['local']:.2f} ms"
    )
    print(
        f"botocore parsing one ListObjectVersions reply of {where['botocore_parse_entries']:,} "
        f"entries, no server involved (median of {PARTS_REPEATS}): "
        f"{where['botocore_parse_ms']:.1f} ms; with datetime.fromisoformat as its timestamp "
        f"parser {where['botocore_parse_fromisoformat_ms']:.1f} ms"
    )
    encode = ", ".join(
        f"limit {limit} {ms:.2f} ms" for limit, ms in where["json_encode_ms"].items()
    )
    print(f"items to JSON as the handler does (median of {PARTS_REPEATS}): {encode}")
    sizes = summary["backends"]["s3"]["reply_bytes"]
    text = ", ".join(
        f"{label.removesuffix(' REST workspace')} {size / 1000:.1f} KB"
        for label, size in sizes.items()
        if label.endswith("REST workspace")
    )
    print(f"REST reply sizes (workspace): {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=DEFAULT_ROUNDS,
        help=f"timed S3 rounds, each followed by {LOCAL_ROUNDS_PER_ROUND} local rounds "
        f"(default {DEFAULT_ROUNDS})",
    )
    parser.add_argument(
        "--versions",
        type=int,
        default=DEFAULT_VERSIONS,
        help=f"versions of the listed key (default {DEFAULT_VERSIONS:,}; 1000 for a quick check)",
    )
    parser.add_argument(
        "--neighbours",
        type=int,
        default=DEFAULT_NEIGHBOURS,
        help=f"versions of the neighbour key {NEIGHBOUR_PATH} (default {DEFAULT_NEIGHBOURS})",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.versions < 2 * PAGE_TWO_LIMIT + 1:
        parser.error(f"--versions must be more than {2 * PAGE_TWO_LIMIT}")
    if args.neighbours < 0:
        parser.error("--neighbours must not be negative")
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))

    started = time.perf_counter()
    work_dir = Path(tempfile.mkdtemp(prefix="bookstore-bench-history-"))
    try:
        result, setup_s = run(args.versions, args.neighbours, args.rounds, work_dir)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    summary = {
        "benchmark": "history_list",
        "versions": args.versions,
        "neighbour_versions": args.neighbours,
        "rounds": args.rounds,
        "local_rounds": args.rounds * LOCAL_ROUNDS_PER_ROUND,
        "setup_s": setup_s,
        **result,
        "elapsed_s": round(time.perf_counter() - started, 1),
    }
    print(
        f"\n{args.rounds} S3 rounds, {args.rounds * LOCAL_ROUNDS_PER_ROUND} local rounds; "
        f"{args.versions:,} versions of the key + {args.neighbours:,} of its neighbour; every "
        "side of a listing once per round, the order rotated and reversed every other round\n"
    )
    print_report(summary)
    print("\n" + json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
