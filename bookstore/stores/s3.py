"""The S3 backend: a versioned S3 bucket through one long-lived aiobotocore client.

Every request goes through :meth:`S3Store._request`, which bounds concurrency with a
semaphore (``max_threads``) and translates botocore and aiohttp errors, once, into
:mod:`bookstore.errors`.  Works with AWS S3 and S3-compatible servers (SeaweedFS, MinIO).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, ClassVar

import aiohttp
from aiobotocore.config import AioConfig
from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from botocore.handlers import add_expect_header
from botocore.utils import parse_timestamp

from ..errors import (
    AccessDenied,
    BucketNotFound,
    InvalidPath,
    ObjectNotFound,
    StoreError,
    StoreUnavailable,
    VersionNotFound,
)
from ..keys import usable_version_id
from ..tokens import (
    INVALID_TOKEN,
    MAX_PAGE_SIZE,
    clamp_limit,
    decode_token,
    encode_token,
    usable_page_token,
)
from .base import (
    CHUNK_SIZE,
    FileBody,
    ObjectInfo,
    ObjectStore,
    Page,
    StoredObject,
    StoreSettings,
    StoreStatus,
    check_key,
    check_text,
    transfer_progress,
)

__all__ = ["S3Store"]

#: The version id S3 gives objects written while a bucket was not versioned.
NULL_VERSION = "null"
#: Seconds :meth:`S3Store.check` may take before it reports the store unreachable.
CHECK_TIMEOUT = 10.0

#: Error codes meaning "credentials refused or operation not allowed" (HEAD gives "403").
_DENIED_CODES = frozenset(
    {
        "403",
        "AccessDenied",
        "AllAccessDisabled",
        "ExpiredToken",
        "InvalidAccessKeyId",
        "InvalidToken",
        "SignatureDoesNotMatch",
    }
)
#: Error codes meaning "no such key" (HEAD gives "404" with no body).
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
#: Error codes that, on a request naming a version id, mean "no such version".
_BAD_VERSION_CODES = frozenset(
    {"400", "404", "405", "InvalidArgument", "MethodNotAllowed", "NoSuchKey", "NoSuchVersion"}
)
#: Everything else a request may fail with that is not a ``ClientError``.
_TRANSPORT_ERRORS = (BotoCoreError, aiohttp.ClientError, OSError, asyncio.TimeoutError)


class _NoResendSession(AIOHTTPSession):
    """aiobotocore's HTTP session, except that aiohttp never sends a request again by
    itself: it resends a "idempotent" request (PUT among them) once when a kept-alive
    connection drops, even after S3 stored the object, which makes a duplicate version.
    botocore's retries, which know each operation, still apply."""

    async def _get_session(self, proxy_url: Any) -> Any:
        session = await super()._get_session(proxy_url)  # type: ignore[misc]
        # aiohttp has no public switch for this resend (aiohttp >= 3.10).
        session._retry_connection = False
        return session


def _no_blind_retry(caught_exception: BaseException | None = None, **kwargs: Any) -> None:
    """botocore's ``needs-retry`` hook for ``PutObject``: a put that failed after it was
    sent (its reply lost: a reset connection, a read timeout) is not sent again, since S3
    may have stored it; the error goes to the caller, who checks the store first (see
    :mod:`bookstore.core.archive`).  A put that never reached S3 is retried as usual."""
    if caught_exception is not None and not isinstance(
        caught_exception, EndpointConnectionError | ConnectTimeoutError
    ):
        raise caught_exception


class S3Store(ObjectStore):
    """An :class:`~bookstore.stores.base.ObjectStore` on an S3 bucket (versioning Enabled).

    ``get``/``head`` of a given ``version_id`` fill ``is_latest`` exactly, with one HEAD
    of the key's latest version sent concurrently.
    """

    backend_name: ClassVar[str] = "s3"

    def __init__(self, settings: StoreSettings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self._client: Any = None
        self._exit_stack: contextlib.AsyncExitStack | None = None
        self._semaphore: asyncio.Semaphore | None = None
        #: For a view made by :meth:`for_bucket`: the store owning the client, and the bucket.
        self._owner: S3Store | None = None
        self._bucket_name: str | None = None

    @property
    def bucket(self) -> str:
        """The configured ``s3_bucket`` (or the bucket of a :meth:`for_bucket` view)."""
        return self._bucket_name or str(self.settings.s3_bucket)

    def for_bucket(self, bucket: str) -> S3Store:
        """A view of another bucket through this store's client and concurrency bound.

        The view needs no :meth:`start` or :meth:`close` of its own.
        """
        if bucket == self.bucket:
            return self
        view = S3Store(self.settings, parent=self.parent)
        view._owner = self._owner or self
        view._bucket_name = bucket
        return view

    @property
    def endpoint_url(self) -> str | None:
        """The configured endpoint, or None for AWS S3 itself."""
        return self.settings.s3_endpoint_url or None

    @property
    def location(self) -> str:
        """Where the bucket lives, for humans: the endpoint URL or ``AWS S3 (<region>)``."""
        return self.endpoint_url or f"AWS S3 ({self.settings.s3_region_name or 'us-east-1'})"

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Create the one S3 client this store uses until :meth:`close`."""
        if self._client is not None or self._owner is not None:
            return
        settings = self.settings
        config = AioConfig(
            max_pool_connections=settings.max_threads,
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
            http_session_cls=_NoResendSession,
            # CRC32 of every body only where S3 requires one (the ETag and SigV4 remain).
            request_checksum_calculation="when_required",
            s3={"addressing_style": "path"} if self.endpoint_url else None,
        )
        stack = contextlib.AsyncExitStack()
        session = AioSession()
        # Listings carry a timestamp per version; botocore parses them with dateutil, the
        # larger part of the CPU a long listing costs (benchmarks/README.md, history_list).
        session.get_component("response_parser_factory").set_parser_defaults(
            timestamp_parser=_parse_timestamp
        )
        with self._errors():
            self._client = await stack.enter_async_context(
                session.create_client(
                    "s3",
                    region_name=settings.s3_region_name or None,
                    endpoint_url=self.endpoint_url,
                    aws_access_key_id=settings.s3_access_key_id or None,
                    aws_secret_access_key=settings.s3_secret_access_key or None,
                    config=config,
                )
            )
        # A put whose reply was lost may have stored the object: botocore must not send it
        # again (a duplicate version); the caller decides, knowing what the store holds.
        self._client.meta.events.register_first("needs-retry.s3.PutObject", _no_blind_retry)
        # No "Expect: 100-continue" round trip before each body (botocore adds it to every
        # body it can read; bookstore's bodies are bytes in memory, at most one part).
        self._client.meta.events.unregister("before-call.s3", add_expect_header)
        self._exit_stack = stack
        self._semaphore = asyncio.Semaphore(settings.max_threads)

    async def close(self) -> None:
        """Close the client and its connection pool."""
        if self._owner is not None:
            return
        stack, self._exit_stack = self._exit_stack, None
        self._client = None
        self._semaphore = None
        if stack is not None:
            with contextlib.suppress(Exception):
                await stack.aclose()

    # -- requests and errors -------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _request(
        self, key: str | None = None, version_id: str | None = None
    ) -> AsyncIterator[Any]:
        """The client, within the concurrency bound, with errors translated for ``key``."""
        owner = self._owner or self
        client, semaphore = owner._client, owner._semaphore
        if client is None or semaphore is None:
            raise StoreUnavailable("The S3 store is not started")
        async with semaphore:
            with self._errors(key, version_id):
                yield client

    @contextlib.contextmanager
    def _errors(self, key: str | None = None, version_id: str | None = None) -> Iterator[None]:
        """Re-raise any botocore/aiohttp error as a :mod:`bookstore.errors` one."""
        try:
            yield
        except StoreError:
            raise
        except (ClientError, *_TRANSPORT_ERRORS) as exc:
            raise self._translate(exc, key, version_id) from exc

    def _translate(self, exc: Exception, key: str | None, version_id: str | None) -> StoreError:
        """The bookstore error for ``exc``, raised by a request about ``key`` (None: the
        bucket itself) and ``version_id``."""
        what = f"s3://{self.bucket}/{key}" if key is not None else f"bucket {self.bucket!r}"
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if code == "NoSuchBucket" or (key is None and (code in _MISSING_CODES)):
                return BucketNotFound(f"The S3 bucket {self.bucket!r} does not exist")
            if code in _DENIED_CODES or status == 403:
                return AccessDenied(f"S3 denied access to {what} ({code or status})")
            bad_version = code in _BAD_VERSION_CODES or status in (400, 404, 405)
            if key is not None and version_id is not None and bad_version:
                return VersionNotFound(f"{key} has no version {version_id}")
            if key is not None and (code in _MISSING_CODES or status == 404):
                return ObjectNotFound(f"{key} not found")
            return StoreUnavailable(f"S3 failed on {what}: {code or status}")
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return AccessDenied("No S3 credentials were found for bookstore")
        if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
            return StoreUnavailable(f"Cannot reach S3 at {self.location}")
        if isinstance(exc, ReadTimeoutError | asyncio.TimeoutError | TimeoutError):
            return StoreUnavailable(f"S3 at {self.location} did not answer in time")
        return StoreUnavailable(f"S3 request on {what} failed ({type(exc).__name__})")

    # -- reads and writes ----------------------------------------------------------------

    async def put(
        self,
        key: str,
        body: bytes,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """``PutObject``; returns the new version id (``"null"`` in an unversioned bucket)."""
        self._check(key)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key, "Body": body}
        if content_type:
            params["ContentType"] = content_type
        if metadata:
            params["Metadata"] = dict(metadata)
        async with self._request(key) as client:
            response = await client.put_object(**params)
        return str(response.get("VersionId") or NULL_VERSION)

    async def put_file(
        self,
        key: str,
        body: FileBody,
        *,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """A body up to :data:`~bookstore.stores.base.CHUNK_SIZE` in one ``PutObject``; a
        bigger one as a multipart upload of parts of that size, each read in a worker
        thread (memory and event-loop time stay bounded by one part)."""
        if body.size <= CHUNK_SIZE:
            content = await asyncio.to_thread(body.read_all)
            return await self.put(key, content, content_type=content_type, metadata=metadata)
        self._check(key)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if content_type:
            params["ContentType"] = content_type
        if metadata:
            params["Metadata"] = dict(metadata)
        async with self._request(key) as client:
            upload_id = (await client.create_multipart_upload(**params))["UploadId"]
        try:
            parts = await self._upload_parts(key, upload_id, body)
            async with self._request(key) as client:
                response = await client.complete_multipart_upload(
                    Bucket=self.bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload={"Parts": parts},
                )
        except BaseException:
            with contextlib.suppress(Exception):
                async with self._request(key) as client:
                    await client.abort_multipart_upload(
                        Bucket=self.bucket, Key=key, UploadId=upload_id
                    )
            raise
        return str(response.get("VersionId") or NULL_VERSION)

    async def _upload_parts(self, key: str, upload_id: str, body: FileBody) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        stream = await asyncio.to_thread(body.open)
        try:
            for number in range(1, (body.size + CHUNK_SIZE - 1) // CHUNK_SIZE + 1):
                chunk = await asyncio.to_thread(stream.read, CHUNK_SIZE)
                if not chunk:
                    raise StoreUnavailable(f"The body of {key} ended early")
                async with self._request(key) as client:
                    response = await client.upload_part(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                    )
                parts.append({"PartNumber": number, "ETag": response["ETag"]})
        finally:
            await asyncio.to_thread(stream.close)
        return parts

    async def get(self, key: str, version_id: str | None = None) -> StoredObject:
        """``GetObject`` of the latest or the given version, body read in full."""
        self._check(key, version_id)

        async def fetch() -> tuple[Mapping[str, Any], bytes]:
            async with self._request(key, version_id) as client:
                response = await client.get_object(**self._object_params(key, version_id))
                async with response["Body"] as stream:
                    report = transfer_progress.get()
                    if report is None:
                        return response, await stream.read()
                    return response, await _read_reporting(
                        stream, int(response.get("ContentLength") or 0), report
                    )

        response, body = await self._with_latest(key, version_id, fetch())
        return StoredObject(info=self._info_from_response(key, version_id, response), body=body)

    async def head(self, key: str, version_id: str | None = None) -> ObjectInfo:
        """``HeadObject`` of the latest or the given version."""
        self._check(key, version_id)

        async def fetch() -> tuple[Mapping[str, Any], None]:
            async with self._request(key, version_id) as client:
                return await client.head_object(**self._object_params(key, version_id)), None

        response, _ = await self._with_latest(key, version_id, fetch())
        return self._info_from_response(key, version_id, response)

    async def _with_latest(
        self, key: str, version_id: str | None, request: Coroutine[Any, Any, tuple[Any, Any]]
    ) -> tuple[Any, Any]:
        """Run ``request``; when it names a version, learn the key's latest version id
        concurrently (so ``is_latest`` is exact at the cost of one parallel HEAD) and
        record it in the reply under ``_LatestVersionId``."""
        if version_id is None:
            return await request
        latest = asyncio.ensure_future(self._latest_version_id(key))
        try:
            response, body = await request
        except BaseException:
            latest.cancel()
            raise
        return {**response, "_LatestVersionId": await latest}, body

    async def _latest_version_id(self, key: str) -> str | None:
        """The version id of the latest version of ``key``; None when it is deleted or
        missing, or cannot be told."""
        try:
            async with self._request(key) as client:
                response = await client.head_object(Bucket=self.bucket, Key=key)
        except StoreError:
            return None
        return str(response.get("VersionId") or NULL_VERSION)

    @staticmethod
    def _check(key: str, version_id: str | None = None) -> None:
        """Refuse before sending what S3 could not take (botocore would fail to encode it)."""
        check_key(key)
        if version_id is not None and not usable_version_id(version_id):
            raise VersionNotFound(f"{key} has no version {version_id!r}")

    def _object_params(self, key: str, version_id: str | None) -> dict[str, Any]:
        params = {"Bucket": self.bucket, "Key": key}
        if version_id is not None:
            params["VersionId"] = version_id
        return params

    def _info_from_response(
        self, key: str, version_id: str | None, response: Mapping[str, Any]
    ) -> ObjectInfo:
        """The :class:`ObjectInfo` of a Get/HeadObject reply."""
        actual = str(response.get("VersionId") or NULL_VERSION)
        is_latest = version_id is None or response.get("_LatestVersionId") == actual
        return ObjectInfo(
            key=key,
            version_id=actual,
            size=int(response.get("ContentLength") or 0),
            last_modified=_utc(response.get("LastModified")),
            etag=_etag(response.get("ETag")),
            is_latest=is_latest,
            content_type=response.get("ContentType"),
            metadata=dict(response.get("Metadata") or {}),
        )

    async def delete(self, key: str) -> None:
        """``DeleteObject`` without a version id: adds a delete marker, keeps the history."""
        self._check(key)
        try:
            async with self._request(key) as client:
                await client.delete_object(Bucket=self.bucket, Key=key)
        except ObjectNotFound:  # some servers answer 404 for a missing key: a no-op
            return

    async def delete_version(self, key: str, version_id: str) -> None:
        """``DeleteObject`` with ``VersionId``: that version is gone for good (S3 then
        makes the previous version the latest).  A missing version is a no-op: AWS
        answers 204 for it, other servers 404 (or 400 for an id they cannot parse)."""
        check_key(key)
        if not usable_version_id(version_id):
            return  # no store issued such an id: nothing to delete
        try:
            async with self._request(key, version_id) as client:
                await client.delete_object(Bucket=self.bucket, Key=key, VersionId=version_id)
        except ObjectNotFound:  # VersionNotFound included
            return

    async def copy(
        self,
        src_key: str,
        dst_key: str,
        *,
        version_id: str | None = None,
        metadata: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> str:
        """Server-side ``CopyObject``; returns the new version id of ``dst_key``.  With
        ``metadata``, the copy's metadata is replaced (``MetadataDirective=REPLACE``) and
        its content type is ``content_type`` (else the source's, asked for with a HEAD)."""
        self._check(src_key, version_id)
        self._check(dst_key)
        source = {"Bucket": self.bucket, "Key": src_key}
        if version_id is not None:
            source["VersionId"] = version_id
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": dst_key, "CopySource": source}
        if metadata is not None:
            if content_type is None:
                content_type = (await self.head(src_key, version_id)).content_type
            params["MetadataDirective"] = "REPLACE"
            params["Metadata"] = dict(metadata)
            if content_type:
                params["ContentType"] = content_type
        async with self._request(src_key, version_id) as client:
            response = await client.copy_object(**params)
        return str(response.get("VersionId") or NULL_VERSION)

    # -- listings ------------------------------------------------------------------------

    async def list_versions(
        self, key: str, *, limit: int = 100, token: str | None = None
    ) -> Page[ObjectInfo]:
        """``ListObjectVersions`` filtered to exactly ``key``, newest first.

        S3 pages of ``limit + 1`` entries (full pages of 1,000 once other keys or delete
        markers show up) are requested until ``limit`` versions (plus one, to know whether
        another page exists) are found or the key's entries end.  The
        token encodes the last version returned; the next page resumes right after it
        (``KeyMarker=key``, ``VersionIdMarker=<that version>``).
        """
        check_key(key)
        limit = clamp_limit(limit)
        marker = _decode_token(token, key) if token else None
        items: list[ObjectInfo] = []
        seen: set[str] = set()
        # Ask for just enough; S3-compatible servers (SeaweedFS) may spend part of a page
        # on other keys sharing the prefix before reaching this one: once other keys show
        # up, ask for full pages.
        page_size = min(limit + 1, MAX_PAGE_SIZE)
        while len(items) <= limit:
            params: dict[str, Any] = {
                "Bucket": self.bucket,
                "Prefix": key,
                "MaxKeys": page_size,
            }
            if marker is not None:
                params["KeyMarker"] = key
                params["VersionIdMarker"] = marker
            async with self._request(key) as client:
                response = await client.list_object_versions(**params)
            versions = [v for v in response.get("Versions", []) if v.get("Key") == key]
            markers = [m for m in response.get("DeleteMarkers", []) if m.get("Key") == key]
            fresh = [v for v in versions if v.get("VersionId") not in seen]
            fresh_markers = [m for m in markers if m.get("VersionId") not in seen]
            others = len(versions) + len(markers) < len(response.get("Versions", [])) + len(
                response.get("DeleteMarkers", [])
            )
            if not fresh and not fresh_markers:
                if others and response.get("IsTruncated") and page_size < MAX_PAGE_SIZE:
                    page_size = MAX_PAGE_SIZE  # neighbours filled the page: look further
                    continue
                break  # this key has no further entries
            if others or len(fresh) + len(fresh_markers) < page_size:
                page_size = MAX_PAGE_SIZE
            for entry in fresh:
                seen.add(str(entry.get("VersionId")))
                items.append(_info_from_listing(entry, with_version=True))
            seen.update(str(m.get("VersionId")) for m in fresh_markers)
            if not response.get("IsTruncated"):
                break
            if response.get("NextKeyMarker") == key and response.get("NextVersionIdMarker"):
                marker = str(response["NextVersionIdMarker"])
            else:
                # The page went on to other keys (AWS: this key is exhausted, and the next
                # request returns none of its entries).  Resume after this key's oldest
                # entry seen, so a server listing keys out of order loses nothing.
                last = versions[-1] if versions else markers[-1]
                marker = str(last.get("VersionId"))
        page, rest = items[:limit], items[limit:]
        next_token = _encode_token(key, str(page[-1].version_id)) if rest else None
        return Page(items=page, next_token=next_token)

    async def list_keys(
        self, prefix: str, *, limit: int = 1000, token: str | None = None
    ) -> Page[ObjectInfo]:
        """``ListObjectsV2``: current keys under ``prefix`` in key order (``version_id`` is
        None: S3 does not report it here); the token is S3's continuation token."""
        check_text(prefix, "prefix")
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Prefix": prefix,
            "MaxKeys": clamp_limit(limit),
        }
        if token:
            if not usable_page_token(token):  # printable ASCII, as S3 issues them
                raise InvalidPath(INVALID_TOKEN)
            params["ContinuationToken"] = token
        async with self._request(prefix) as client:
            response = await client.list_objects_v2(**params)
        items = [_info_from_listing(entry) for entry in response.get("Contents", [])]
        next_token = response.get("NextContinuationToken") if response.get("IsTruncated") else None
        return Page(items=items, next_token=str(next_token) if next_token else None)

    # -- health --------------------------------------------------------------------------

    async def check(self) -> StoreStatus:
        """``HeadBucket`` then ``GetBucketVersioning``, within :data:`CHECK_TIMEOUT`
        seconds; never raises."""
        try:
            return await asyncio.wait_for(self._probe(), CHECK_TIMEOUT)
        except (asyncio.TimeoutError, TimeoutError):
            return self._status(
                reachable=False,
                error=f"S3 at {self.location} did not answer within {CHECK_TIMEOUT:.0f} s",
            )
        except Exception as exc:  # check() must never raise
            return self._status(reachable=False, error=f"Checking S3 failed: {exc}")

    async def _probe(self) -> StoreStatus:
        try:
            async with self._request() as client:
                await client.head_bucket(Bucket=self.bucket)
        except BucketNotFound:
            return self._status(
                reachable=True,
                error=f"The bucket {self.bucket!r} does not exist at {self.location}",
            )
        except AccessDenied:
            return self._status(
                reachable=True,
                error=f"S3 denied access to the bucket {self.bucket!r}: check the credentials",
            )
        except StoreError as exc:
            return self._status(reachable=False, error=f"{exc}")
        try:
            async with self._request() as client:
                response = await client.get_bucket_versioning(Bucket=self.bucket)
        except StoreError as exc:
            return self._status(
                reachable=True,
                bucket_exists=True,
                error=f"Cannot read the versioning of bucket {self.bucket!r}: {exc}",
            )
        versioning = str(response.get("Status") or "Disabled")
        return self._status(reachable=True, bucket_exists=True, versioning=versioning)

    def _status(
        self,
        *,
        reachable: bool,
        bucket_exists: bool = False,
        versioning: str = "unknown",
        error: str | None = None,
    ) -> StoreStatus:
        return StoreStatus(
            backend=self.backend_name,
            bucket=self.bucket,
            location=self.location,
            reachable=reachable,
            bucket_exists=bucket_exists,
            versioning=versioning,
            error=error,
        )


def _parse_timestamp(value: Any) -> datetime:
    """botocore's timestamp parser, with a fast path for the ISO 8601 times of S3's XML
    (``2026-11-26T02:57:10.000Z``); headers (RFC 1123) and the rest go to botocore's."""
    if isinstance(value, str) and value.endswith("Z") and "T" in value:
        try:
            return datetime.fromisoformat(value[:-1] + "+00:00")
        except ValueError:
            pass
    parsed: datetime = parse_timestamp(value)
    return parsed


def _utc(value: Any) -> datetime:
    """An aware UTC datetime (servers may answer in local time)."""
    if not isinstance(value, datetime):
        return datetime.now(timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _etag(value: Any) -> str:
    return str(value or "").strip('"')


def _info_from_listing(entry: Mapping[str, Any], *, with_version: bool = False) -> ObjectInfo:
    """The :class:`ObjectInfo` of a ``Versions`` or ``Contents`` listing entry."""
    return ObjectInfo(
        key=str(entry["Key"]),
        version_id=str(entry.get("VersionId") or NULL_VERSION) if with_version else None,
        size=int(entry.get("Size") or 0),
        last_modified=_utc(entry.get("LastModified")),
        etag=_etag(entry.get("ETag")),
        is_latest=bool(entry.get("IsLatest", True)),
    )


def _encode_token(key: str, version_id: str) -> str:
    return encode_token({"k": key, "v": version_id})


def _decode_token(token: str, key: str) -> str:
    """The version id marker in ``token``, which must have been issued for ``key``."""
    fields = decode_token(token)
    marker = fields.get("v")
    if fields.get("k") != key or not usable_version_id(marker):
        raise InvalidPath(f"The page token is not one for {key}")
    return str(marker)


#: Bytes read at a time when a transfer reports its progress.
_CHUNK_SIZE = 1 << 20


async def _read_reporting(stream: Any, total: int, report: Callable[[int, int], None]) -> bytes:
    """Read ``stream`` to the end in chunks, reporting each chunk's size."""
    chunks = []
    while chunk := await stream.read(_CHUNK_SIZE):
        chunks.append(chunk)
        report(len(chunk), total)
    return b"".join(chunks)
