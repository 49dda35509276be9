"""S3-specific behaviour of :class:`bookstore.stores.s3.S3Store` against the session's real
SeaweedFS (tests/s3rig.py): error translation, ``check()``, the single client, long
version histories, and the rig itself.  The backend-neutral contract is test_contract.py."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from bookstore.errors import (
    AccessDenied,
    BucketNotFound,
    InvalidPath,
    ObjectNotFound,
    StoreError,
    StoreUnavailable,
    VersionNotFound,
)
from bookstore.stores.base import StoreStatus
from bookstore.stores.s3 import S3Store
from tests.paging import version_pages
from tests.s3rig import GRPC_OFFSET, SeaweedFS, SeaweedFSError, find_weed

pytestmark = pytest.mark.s3


@pytest.fixture
def s3_store(seaweedfs: SeaweedFS, jp_asyncio_loop: Any) -> Iterator[S3Store]:
    """A started store on the session's versioned bucket."""
    store = S3Store(settings=seaweedfs.settings())
    jp_asyncio_loop.run_until_complete(store.start())
    yield store
    jp_asyncio_loop.run_until_complete(store.close())


def closed_port() -> int:
    """A 127.0.0.1 port nobody listens on (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def assert_translated(error: BaseException) -> None:
    """A bookstore error chaining the backend's own, which never leaks itself."""
    assert isinstance(error, StoreError)
    assert not isinstance(error, BotoCoreError | ClientError)
    assert error.__cause__ is not None
    assert str(error)


async def test_missing_key_is_object_not_found(s3_store: S3Store, s3_prefix: str) -> None:
    key = f"{s3_prefix}/missing.ipynb"
    for call in (s3_store.get(key), s3_store.head(key), s3_store.copy(key, f"{key}.copy")):
        with pytest.raises(ObjectNotFound) as caught:
            await call
        assert not isinstance(caught.value, VersionNotFound)
        assert isinstance(caught.value.__cause__, ClientError)
        assert_translated(caught.value)
        assert key in str(caught.value)


async def test_unknown_or_foreign_version_is_version_not_found(
    s3_store: S3Store, s3_prefix: str
) -> None:
    key = f"{s3_prefix}/mine.ipynb"
    await s3_store.put(key, b"mine")
    foreign = await s3_store.put(f"{s3_prefix}/other.ipynb", b"other")
    for version_id in (foreign, "0" * 32, "not-a-version"):
        # HEAD answers a bare 404 without an error code: translated all the same
        for call in (
            s3_store.get(key, version_id),
            s3_store.head(key, version_id),
            s3_store.copy(key, f"{s3_prefix}/dst.ipynb", version_id=version_id),
        ):
            with pytest.raises(VersionNotFound) as caught:
                await call
            assert isinstance(caught.value.__cause__, ClientError)
            assert_translated(caught.value)
    with pytest.raises(ObjectNotFound):
        await s3_store.head(f"{s3_prefix}/dst.ipynb")


async def test_wrong_credentials_are_access_denied(seaweedfs: SeaweedFS, s3_prefix: str) -> None:
    key = f"{s3_prefix}/secret.ipynb"
    for overrides in (
        {"s3_secret_access_key": "not-the-secret"},
        {"s3_access_key_id": "nobody", "s3_secret_access_key": "nothing"},
    ):
        async with S3Store(settings=seaweedfs.settings(**overrides)) as store:
            calls = (
                store.put(key, b"x"),
                store.get(key),
                store.head(key),  # a bare 403 without an error code
                store.list_versions(key),
                store.list_keys(s3_prefix),
                store.delete(key),
            )
            for call in calls:
                with pytest.raises(AccessDenied) as caught:
                    await call
                assert_translated(caught.value)
                assert seaweedfs.secret_key not in str(caught.value)
                assert overrides["s3_secret_access_key"] not in str(caught.value)


async def test_missing_bucket_is_bucket_not_found(seaweedfs: SeaweedFS, s3_prefix: str) -> None:
    settings = seaweedfs.settings(s3_bucket="no-such-bucket-here")
    async with S3Store(settings=settings) as store:
        key = f"{s3_prefix}/a.ipynb"
        for call in (
            store.put(key, b"x"),
            store.get(key),
            store.list_versions(key),
            store.list_keys(s3_prefix),
            store.copy(key, f"{key}.copy"),
        ):
            with pytest.raises(BucketNotFound) as caught:
                await call
            assert_translated(caught.value)
            assert "no-such-bucket-here" in str(caught.value)


async def test_unreachable_endpoint_is_store_unavailable(seaweedfs: SeaweedFS) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    async with S3Store(settings=seaweedfs.settings(s3_endpoint_url=endpoint)) as store:
        started = time.monotonic()
        errors = await asyncio.gather(
            store.put("a", b"x"), store.get("a"), store.list_keys(""), return_exceptions=True
        )
        assert time.monotonic() - started < 8  # botocore's retries, without a long timeout
    for error in errors:
        assert isinstance(error, StoreUnavailable)
        assert_translated(error)
        assert endpoint in str(error)


async def test_no_credentials_anywhere_is_access_denied(seaweedfs: SeaweedFS) -> None:
    # the autouse fixture of tests/conftest.py removed every AWS_* variable and profile
    settings = seaweedfs.settings(s3_access_key_id="", s3_secret_access_key="")
    async with S3Store(settings=settings) as store:
        with pytest.raises(AccessDenied) as caught:
            await store.get("a.ipynb")
        assert_translated(caught.value)
        assert "credentials" in str(caught.value)


async def test_empty_settings_use_botocores_credential_chain(
    seaweedfs: SeaweedFS, s3_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", seaweedfs.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", seaweedfs.secret_key)
    settings = seaweedfs.settings(s3_access_key_id="", s3_secret_access_key="")
    async with S3Store(settings=settings) as store:
        version_id = await store.put(f"{s3_prefix}/env.ipynb", b"from env")
        assert (await store.get(f"{s3_prefix}/env.ipynb", version_id)).body == b"from env"


async def test_store_not_started_or_closed_is_unavailable(
    seaweedfs: SeaweedFS, s3_prefix: str
) -> None:
    store = S3Store(settings=seaweedfs.settings())
    with pytest.raises(StoreUnavailable, match="not started"):
        await store.get(f"{s3_prefix}/a.ipynb")
    status = await store.check()
    assert not status.usable
    assert status.error
    await store.start()
    await store.put(f"{s3_prefix}/a.ipynb", b"x")
    await store.close()
    with pytest.raises(StoreUnavailable, match="not started"):
        await store.get(f"{s3_prefix}/a.ipynb")


# -- check() -----------------------------------------------------------------------------


async def test_check_versioned_bucket(s3_store: S3Store, seaweedfs: SeaweedFS) -> None:
    status = await s3_store.check()
    assert status.to_dict() == {
        "backend": "s3",
        "bucket": seaweedfs.bucket,
        "location": seaweedfs.endpoint_url,
        "reachable": True,
        "bucket_exists": True,
        "versioning": "Enabled",
        "usable": True,
        "error": None,
    }
    assert status.versioned


async def test_check_unversioned_and_suspended_buckets(seaweedfs: SeaweedFS) -> None:
    suspended = seaweedfs.create_bucket(versioned=True)
    client = seaweedfs.client()
    try:
        client.put_bucket_versioning(
            Bucket=suspended, VersioningConfiguration={"Status": "Suspended"}
        )
    finally:
        client.close()
    for bucket, versioning in (
        (seaweedfs.unversioned_bucket, "Disabled"),
        (suspended, "Suspended"),
    ):
        async with S3Store(settings=seaweedfs.settings(s3_bucket=bucket)) as store:
            status = await store.check()
        assert (status.reachable, status.bucket_exists, status.versioning) == (
            True,
            True,
            versioning,
        )
        assert status.usable
        assert not status.versioned
        assert status.error is None


async def test_check_missing_bucket(seaweedfs: SeaweedFS) -> None:
    async with S3Store(settings=seaweedfs.settings(s3_bucket="no-such-bucket")) as store:
        status = await store.check()
    assert status.reachable
    assert not status.bucket_exists
    assert not status.usable
    assert status.error is not None
    assert "no-such-bucket" in status.error
    assert "does not exist" in status.error


async def test_check_unreachable_endpoint_answers_quickly(seaweedfs: SeaweedFS) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    async with S3Store(settings=seaweedfs.settings(s3_endpoint_url=endpoint)) as store:
        started = time.monotonic()
        status = await store.check()
        elapsed = time.monotonic() - started
    assert elapsed < 8
    assert not status.reachable
    assert not status.usable
    assert status.location == endpoint
    assert status.error is not None
    assert endpoint in status.error


async def test_check_bad_credentials(seaweedfs: SeaweedFS) -> None:
    settings = seaweedfs.settings(s3_secret_access_key="wrong-secret")
    async with S3Store(settings=settings) as store:
        status = await store.check()
    assert status.reachable
    assert not status.usable
    assert status.error is not None
    assert "denied" in status.error
    assert "wrong-secret" not in status.error
    assert seaweedfs.secret_key not in status.error


def test_location_without_endpoint_names_the_aws_region() -> None:
    from bookstore.config import BookstoreSettings

    settings = BookstoreSettings(s3_bucket="b", s3_region_name="eu-west-3")
    assert S3Store(settings=settings).location == "AWS S3 (eu-west-3)"


# -- one client, bounded concurrency -----------------------------------------------------


async def test_one_client_serves_every_call(
    seaweedfs: SeaweedFS, s3_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aiobotocore.session import AioSession

    created: list[Any] = []
    real_create_client = AioSession.create_client

    def counting_create_client(self: AioSession, *args: Any, **kwargs: Any) -> Any:
        created.append(kwargs)
        return real_create_client(self, *args, **kwargs)

    monkeypatch.setattr(AioSession, "create_client", counting_create_client)
    store = S3Store(settings=seaweedfs.settings())
    async with store:
        client = store._client
        sent: list[str] = []
        client.meta.events.register("before-send.s3", lambda **kw: sent.append("x"))
        key = f"{s3_prefix}/reused.ipynb"
        ids = await asyncio.gather(*(store.put(key, f"{n}".encode()) for n in range(20)))
        await asyncio.gather(*(store.get(key, vid) for vid in ids[:5]))
        await store.list_versions(key)
        await store.list_keys(s3_prefix)
        await store.check()
        assert store._client is client
    assert len(created) == 1
    assert created[0]["endpoint_url"] == seaweedfs.endpoint_url
    # 20 puts, 5 versioned gets (each + 1 HEAD for is_latest), 1 + 1 listings, 2 for check
    assert len(sent) == 20 + 5 * 2 + 1 + 1 + 2


async def test_requests_in_flight_are_bounded_by_max_threads(
    seaweedfs: SeaweedFS, s3_prefix: str
) -> None:
    store = S3Store(settings=seaweedfs.settings(max_threads=2))
    async with store:
        key = f"{s3_prefix}/bounded.ipynb"
        await store.put(key, b"x")
        in_flight = 0
        most = 0

        def before(**kwargs: Any) -> None:
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)

        def after(**kwargs: Any) -> None:
            nonlocal in_flight
            in_flight -= 1

        store._client.meta.events.register("before-send.s3", before)
        store._client.meta.events.register("after-call.s3", after)
        infos = await asyncio.gather(*(store.head(key) for _ in range(12)))
    assert {info.size for info in infos} == {1}
    assert most == 2


# -- versions ----------------------------------------------------------------------------


async def test_get_of_a_version_reports_whether_it_is_latest(
    s3_store: S3Store, s3_prefix: str
) -> None:
    key = f"{s3_prefix}/latest.ipynb"
    old = await s3_store.put(key, b"old")
    new = await s3_store.put(key, b"new")
    assert not (await s3_store.get(key, old)).info.is_latest
    assert (await s3_store.head(key, new)).is_latest
    assert (await s3_store.head(key)).version_id == new
    await s3_store.delete(key)
    assert not (await s3_store.head(key, new)).is_latest


async def test_unversioned_bucket_has_the_null_version(
    seaweedfs: SeaweedFS, s3_prefix: str
) -> None:
    async with S3Store(
        settings=seaweedfs.settings(s3_bucket=seaweedfs.unversioned_bucket)
    ) as store:
        key = f"{s3_prefix}/plain.ipynb"
        assert await store.put(key, b"one") == "null"
        assert await store.put(key, b"two") == "null"
        obj = await store.get(key, "null")
        assert (obj.body, obj.info.version_id, obj.info.is_latest) == (b"two", "null", True)
        page = await store.list_versions(key)
        assert [(v.version_id, v.size) for v in page.items] == [("null", 3)]


async def test_version_history_past_a_thousand_with_deletes_and_neighbours(
    s3_store: S3Store, s3_prefix: str
) -> None:
    key = f"{s3_prefix}/many.ipynb"
    chunks: list[list[str]] = []  # 50 concurrent puts at a time, one chunk after the other
    for start in range(0, 1010, 50):
        bodies = (f"save {n}".encode() for n in range(start, min(start + 50, 1010)))
        chunks.append(list(await asyncio.gather(*(s3_store.put(key, body) for body in bodies))))
    ids = [vid for chunk in chunks for vid in chunk]
    chunk_of = {vid: n for n, chunk in enumerate(chunks) for vid in chunk}
    assert len(chunk_of) == 1010
    # keys sharing the prefix, and a delete marker as the newest entry
    await s3_store.put(f"{s3_prefix}/many.ipynb.bak", b"neighbour")
    await s3_store.put(f"{s3_prefix}/many.ipynb/inner", b"neighbour")
    await s3_store.delete(key)

    by_thousand = await version_pages(s3_store, key, limit=1000)
    assert [len(page) for page in by_thousand] == [1000, 10]
    listed = [item for page in by_thousand for item in page]
    assert {item.version_id for item in listed} == set(ids)
    assert {item.key for item in listed} == {key}
    assert not any(item.is_latest for item in listed)  # the delete marker is the latest
    # newest first: every chunk is listed before the chunks written earlier
    order = [chunk_of[str(item.version_id)] for item in listed]
    assert order == sorted(order, reverse=True)

    by_300 = await version_pages(s3_store, key, limit=300)
    assert [len(page) for page in by_300] == [300, 300, 300, 110]
    assert [i.version_id for p in by_300 for i in p] == [i.version_id for i in listed]

    restored = await s3_store.put(key, b"restored")
    page = await s3_store.list_versions(key, limit=1)
    assert [(item.version_id, item.is_latest) for item in page.items] == [(restored, True)]
    assert page.next_token is not None
    following = await s3_store.list_versions(key, limit=2, token=page.next_token)
    assert [item.version_id for item in following.items] == [i.version_id for i in listed[:2]]


async def test_page_tokens_are_opaque_and_checked(s3_store: S3Store, s3_prefix: str) -> None:
    key = f"{s3_prefix}/tok.ipynb"
    for n in range(3):
        await s3_store.put(key, f"{n}".encode())
    page = await s3_store.list_versions(key, limit=1)
    assert page.next_token is not None
    assert key not in page.next_token
    with pytest.raises(InvalidPath):
        await s3_store.list_versions(f"{s3_prefix}/other.ipynb", token=page.next_token)
    for garbage in ("not a token", "e30", json.dumps({"k": key})):
        with pytest.raises(InvalidPath):
            await s3_store.list_versions(key, token=garbage)


# -- the rig -----------------------------------------------------------------------------


def _listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address hex, port) of every TCP socket process ``pid`` listens on."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with_target = os.readlink(fd) if fd.is_symlink() else ""
        if with_target.startswith("socket:["):
            inodes.add(with_target[len("socket:[") : -1])
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, port = fields[1].split(":")
            if fields[3] == "0A" and fields[9] in inodes:  # LISTEN
                found.add((address, int(port, 16)))
    return found


def test_rig_listens_on_loopback_only(seaweedfs: SeaweedFS) -> None:
    assert seaweedfs.is_running()
    assert seaweedfs.endpoint_url == f"http://127.0.0.1:{seaweedfs.s3_port}"
    assert seaweedfs._process is not None
    listening = _listening_addresses(seaweedfs._process.pid)
    assert ("0100007F", seaweedfs.s3_port) in listening
    assert {address for address, _ in listening} == {"0100007F"}  # 127.0.0.1, nothing else
    expected = set(seaweedfs.ports.values())
    assert {port for _, port in listening} >= expected | {p + GRPC_OFFSET for p in expected}


def test_rig_env_and_settings(seaweedfs: SeaweedFS) -> None:
    env = seaweedfs.s3_env()
    assert env == {
        "JPYNB_S3_ENDPOINT_URL": seaweedfs.endpoint_url,
        "JPYNB_S3_ACCESS_KEY_ID": seaweedfs.access_key,
        "JPYNB_S3_SECRET_ACCESS_KEY": seaweedfs.secret_key,
        "JPYNB_S3_REGION_NAME": "us-east-1",
        "JPYNB_S3_BUCKET": seaweedfs.bucket,
    }
    settings = seaweedfs.settings(max_threads=3)
    assert (settings.s3_bucket, settings.s3_endpoint_url, settings.max_threads) == (
        seaweedfs.bucket,
        seaweedfs.endpoint_url,
        3,
    )
    assert seaweedfs.bucket != seaweedfs.unversioned_bucket
    client = seaweedfs.client()
    try:
        assert client.get_bucket_versioning(Bucket=seaweedfs.bucket)["Status"] == "Enabled"
        assert "Status" not in client.get_bucket_versioning(Bucket=seaweedfs.unversioned_bucket)
    finally:
        client.close()


def test_rig_without_weed_says_to_run_make_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.executable", "/nonexistent/bin/python")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(SeaweedFSError, match="make test"):
        find_weed()


async def test_outage_and_restart_keep_the_data(
    seaweedfs: SeaweedFS, s3_store: S3Store, s3_prefix: str
) -> None:
    key = f"{s3_prefix}/kept.ipynb"
    first = await s3_store.put(key, b"before the outage")
    ports, data_dir = dict(seaweedfs.ports), seaweedfs.data_dir

    with seaweedfs.outage():
        assert not seaweedfs.is_running()
        error, status = await asyncio.gather(
            s3_store.get(key), s3_store.check(), return_exceptions=True
        )
        assert isinstance(error, StoreUnavailable)
        assert_translated(error)
        assert isinstance(status, StoreStatus)
        assert (status.reachable, status.usable) == (False, False)
        leftovers = {
            name
            for name in os.listdir(tempfile.gettempdir())
            for port in ports.values()
            if name.startswith("seaweedfs-") and name.endswith(f"-grpc-{port + GRPC_OFFSET}.sock")
        }
        assert leftovers == set()
    assert seaweedfs.is_running()

    # the same store and client recover once the server is back
    assert (await s3_store.get(key, first)).body == b"before the outage"
    second = await s3_store.put(key, b"after the outage")

    seaweedfs.restart()
    assert (seaweedfs.ports, seaweedfs.data_dir) == (ports, data_dir)
    assert (await s3_store.get(key)).body == b"after the outage"
    versions = await s3_store.list_versions(key)
    assert [item.version_id for item in versions.items] == [second, first]
    assert (await s3_store.check()).versioned
