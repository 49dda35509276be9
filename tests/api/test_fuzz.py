"""Property-based fuzzing of every bookstore route on the real in-process Jupyter server.

Malformed URL paths, query strings, bodies and headers must never produce a 5xx, a
traceback or an absolute server path; every error is a clear one (``{"message": ...}``
for ``/api/...``, an HTML page in words for ``/bookstore/...``), and nothing is served
without the token.

Hypothesis cannot drive an ``async def`` test on pytest-jupyter's loop, so each test is
synchronous and its inner ``@given`` function sends requests with
``jp_asyncio_loop.run_until_complete``.  Examples are derandomized (the same inputs on
every run) and the example database is off, so a failure reproduces from the log.  The
``@example`` cases are inputs the fuzzer found once: they always run first.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import nbformat
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tornado.httpclient import HTTPResponse

import bookstore
from tests.fuzzing import (
    bodies,
    check_reply,
    clone_objects,
    fs_clone_objects,
    headers,
    path_texts,
    publish_objects,
    queries,
    raw_url_paths,
    reply_summary,
)
from tests.notebooks import make_notebook

#: Shared by every fuzz test; each sets its own ``max_examples`` (the whole module stays
#: well under a minute).
FUZZ = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

#: In the fs-clone base dir's neighbour: must never be served (a symlink points at it).
SECRET = "TOP SECRET: outside the fs-clone base dir"

NOTEBOOK_BYTES = (json.dumps(make_notebook("fuzz", cells=1, output_bytes=10)) + "\n").encode()

#: Relative paths in the fs-clone base dir (``fs_source``), good and bad.
FS_FILES = (
    "nb.ipynb",
    "sub/deep.ipynb",
    "notes.txt",
    "blob.bin",
    "empty.txt",
    "broken.ipynb",
    ".hidden",
    "escape.txt",
    "escape-dir/secret.txt",
    "passwd",
    "loop",
    "sub",
    "sub/",
)

#: Method names tornado knows but no bookstore handler implements, and one it does not know.
ODD_METHODS = ("PATCH", "PROPFIND")

#: A publish body whose notebook holds a lone surrogate: valid JSON, not UTF-8 encodable.
SURROGATE_NOTEBOOK = json.dumps(
    {
        "type": "notebook",
        "content": {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [{"id": "c0", "cell_type": "raw", "metadata": {}, "source": "\ud800"}],
        },
    }
).encode()

#: JSON nested deeper than Python's recursion limit (``json.loads`` raises RecursionError).
DEEP_JSON = b"[" * 1000 + b"]" * 1000

#: A file name one byte longer than NAME_MAX (255 bytes on Linux).
TOO_LONG_NAME = "a" * 256


@pytest.fixture
def fs_source(tmp_path: Path) -> Path:
    """The fs-clone base dir: a notebook, text, binary and empty files, a broken notebook,
    a subdir, and symlinks that point outside it (or at themselves)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    base = tmp_path / "fs-source"
    (base / "sub").mkdir(parents=True)
    (base / "nb.ipynb").write_bytes(NOTEBOOK_BYTES)
    (base / "sub" / "deep.ipynb").write_bytes(NOTEBOOK_BYTES)
    (base / "notes.txt").write_text("plain notes\n")
    (base / "blob.bin").write_bytes(bytes(range(256)))
    (base / "empty.txt").write_bytes(b"")
    (base / "broken.ipynb").write_text("{ not json")
    (base / ".hidden").write_text("hidden")
    (base / "escape.txt").symlink_to(outside / "secret.txt")
    (base / "escape-dir").symlink_to(outside)
    (base / "passwd").symlink_to("/etc/passwd")
    (base / "loop").symlink_to(base / "loop")
    return base


@pytest.fixture
def bookstore_config(
    bookstore_config: dict[str, Any], fs_source: Path, backend: str
) -> dict[str, Any]:
    """Every feature on: fs-cloning from ``fs_source``, and an allowed bucket that does
    not exist."""
    bucket = bookstore_config["s3_bucket"] if backend == "s3" else "local"
    return {
        **bookstore_config,
        "fs_cloning_basedir": str(fs_source),
        "clone_allowed_buckets": [bucket, "no-such-bucket-here"],
    }


@dataclass
class Server:
    """Sends raw requests to the in-process server and checks the replies."""

    client: Any
    loop: Any
    base_url: str
    token: str
    #: What no reply may contain: absolute server paths, content from outside the base dir.
    forbidden: list[str]
    #: Keys of objects in the store (clone sources).
    keys: list[str] = field(default_factory=list)
    #: Strings that name real things (keys, versions, buckets, files) to mix into inputs.
    known: list[str] = field(default_factory=list)

    def send(
        self,
        method: str,
        path: str,
        query: str | None = None,
        body: bytes | None = None,
        extra_headers: dict[str, str] | None = None,
        *,
        auth: bool = True,
    ) -> tuple[str, HTTPResponse]:
        """``method`` ``{base_url}{path}[?query]`` exactly as given (no escaping); with the
        token in ``Authorization`` unless ``auth`` is false."""
        url = self.base_url + path + ("" if query is None else "?" + query)
        sent = {"Authorization": f"token {self.token}"} if auth else {}
        sent.update(extra_headers or {})
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = b""
        response = self.loop.run_until_complete(
            self.client.fetch(
                url,
                method=method,
                body=body,
                headers=sent,
                raise_error=False,
                allow_nonstandard_methods=True,
                follow_redirects=False,
                request_timeout=30,
            )
        )
        return url, response

    def check(
        self,
        method: str,
        path: str,
        query: str | None = None,
        body: bytes | None = None,
        extra_headers: dict[str, str] | None = None,
        *,
        page: bool = False,
    ) -> HTTPResponse:
        """Send with the token and assert the reply is a success or a clear error."""
        url, response = self.send(method, path, query, body, extra_headers)
        summary = reply_summary(method, url, body, response)
        if extra_headers:
            summary += f"\n  headers: {extra_headers!r}"
        check_reply(response, page=page, forbidden=self.forbidden, method=method, summary=summary)
        return response


@pytest.fixture
def server(
    jp_serverapp: Any,
    http_server_client: Any,
    jp_asyncio_loop: Any,
    jp_base_url: str,
    jp_root_dir: Path,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    bookstore_app: Any,
    bookstore_config: dict[str, Any],
    key_root: str,
) -> Server:
    """The started server, with objects in the store to clone and publish: notebooks (two
    versions), text, binary, a broken notebook, an archived notebook and a deleted one."""
    token = jp_serverapp.identity_provider.token
    assert token
    base_temp = tmp_path_factory.getbasetemp()
    forbidden = {
        str(base_temp),
        os.path.realpath(base_temp),
        str(tmp_path),
        str(jp_root_dir),
        os.path.realpath(jp_root_dir),
        bookstore_config["fs_cloning_basedir"],
        bookstore_config.get("local_store_dir") or str(base_temp),
        bookstore_config["archive_spool_dir"],
        str(Path(bookstore.__file__).resolve().parent),
        sys.prefix,
        str(Path(nbformat.__file__).resolve().parent.parent),
        bookstore_config.get("s3_secret_access_key") or SECRET,
        SECRET,
        "root:x:0:0",
    }

    async def seed() -> tuple[list[str], list[str]]:
        store = await bookstore_app.ready_store()
        published = f"{key_root}/published"
        keys: list[str] = []
        known = [store.bucket, "no-such-bucket-here", "elsewhere"]
        for name, body in [
            ("x.ipynb", NOTEBOOK_BYTES),
            ("x.ipynb", NOTEBOOK_BYTES + b" "),
            ("sub/deep.ipynb", NOTEBOOK_BYTES),
            ("note.txt", b"plain text"),
            ("blob.bin", bytes(range(256))),
            ("broken.ipynb", b"{ not json"),
            ("bad-schema.ipynb", b'{"nbformat": 4, "cells": 1}'),
        ]:
            version = await store.put(f"{published}/{name}", body)
            keys.append(f"{published}/{name}")
            known.append(version)
        version = await store.put(f"{key_root}/workspace/ws.ipynb", NOTEBOOK_BYTES)
        keys.append(f"{key_root}/workspace/ws.ipynb")
        known += ["ws.ipynb", version]
        deleted = f"{published}/gone.ipynb"
        version = await store.put(deleted, NOTEBOOK_BYTES)
        await store.delete(deleted)
        keys.append(deleted)
        known.append(version)
        return keys, known

    keys, known = jp_asyncio_loop.run_until_complete(seed())
    return Server(
        client=http_server_client,
        loop=jp_asyncio_loop,
        base_url=jp_base_url,
        token=token,
        forbidden=sorted(s for s in forbidden if s and len(s) > 4),
        keys=keys,
        known=[*keys, *known, *FS_FILES],
    )


# -- the routes, fuzzed ----------------------------------------------------------------


def test_fuzz_status_routes(server: Server) -> None:
    """``/api/bookstore`` and ``/api/bookstore/archive``: any method, query, header, body."""

    @settings(FUZZ, max_examples=150)
    @given(
        path=st.sampled_from(
            ["api/bookstore", "api/bookstore/", "api/bookstore/archive", "api/bookstore/archive/"]
        ),
        method=st.sampled_from(["GET", "GET", "PUT", "POST", "DELETE", "HEAD", "OPTIONS"])
        | st.sampled_from(ODD_METHODS),
        query=queries(),
        body=st.none() | bodies(),
        extra=headers(),
    )
    def check(
        path: str, method: str, query: str | None, body: bytes | None, extra: dict[str, str]
    ) -> None:
        server.check(method, path, query, body, extra)

    check()


def test_fuzz_publish_paths(server: Server) -> None:
    """``/api/bookstore/publish/{path}``: raw, malformed paths with any method and body."""

    @settings(FUZZ, max_examples=200)
    @given(
        method=st.sampled_from(["GET", "PUT", "POST", "DELETE", "PROPFIND"]),
        path=raw_url_paths(),
        query=queries(server.known),
        body=st.none() | bodies(publish_objects(server.known)),
        extra=headers(),
    )
    def check(
        method: str, path: str, query: str | None, body: bytes | None, extra: dict[str, str]
    ) -> None:
        server.check(method, "api/bookstore/publish/" + path, query, body, extra)

    check()


def fuzz_publish_bodies(server: Server, max_examples: int) -> None:
    """``PUT``/``POST /api/bookstore/publish/{path}`` on notebook paths: broken notebooks,
    hostile ``version_id``/``source_path``, malformed JSON; GET and DELETE in between."""
    paths = st.sampled_from(
        ["x.ipynb", "sub/deep.ipynb", "ws.ipynb", "new.ipynb"]
    ) | path_texts().map(lambda path: quote(path) + ".ipynb")

    @settings(FUZZ, max_examples=max_examples)
    @given(
        method=st.sampled_from(["PUT", "PUT", "POST", "GET", "DELETE"]),
        path=paths,
        body=bodies(publish_objects(server.known)),
        extra=headers(),
    )
    @example(method="PUT", path="x.ipynb", body=SURROGATE_NOTEBOOK, extra={})
    @example(
        method="PUT",
        path="x.ipynb",
        body=json.dumps({"version_id": "v", "source_path": "\ud800.ipynb"}).encode(),
        extra={},
    )
    @example(
        method="PUT", path="x.ipynb", body=json.dumps({"version_id": "\ud800"}).encode(), extra={}
    )
    @example(method="PUT", path="x.ipynb", body=DEEP_JSON, extra={})
    def check(method: str, path: str, body: bytes, extra: dict[str, str]) -> None:
        server.check(method, "api/bookstore/publish/" + path, None, body, extra)

    check()


def test_fuzz_publish_bodies(server: Server) -> None:
    fuzz_publish_bodies(server, 250)


def fuzz_clone_api(server: Server, max_examples: int) -> None:
    """``POST /api/bookstore/clone``: hostile keys, buckets, versions and targets."""
    existing = server.keys[0]

    @settings(FUZZ, max_examples=max_examples)
    @given(
        path=st.sampled_from(["api/bookstore/clone", "api/bookstore/clone/"]),
        method=st.sampled_from(["POST", "POST", "POST", "POST", "GET", "PUT", "DELETE"])
        | st.sampled_from(ODD_METHODS),
        query=queries(server.known),
        body=bodies(clone_objects(server.keys, server.known)),
        extra=headers(),
    )
    @example(path="api/bookstore/clone", method="POST", query=None, body=DEEP_JSON, extra={})
    @example(
        path="api/bookstore/clone",
        method="POST",
        query=None,
        body=json.dumps({"s3_key": existing, "target_path": TOO_LONG_NAME}).encode(),
        extra={},
    )
    @example(
        path="api/bookstore/clone",
        method="POST",
        query=None,
        body=json.dumps({"s3_key": existing, "s3_version_id": "\ud800"}).encode(),
        extra={},
    )
    @example(
        path="api/bookstore/clone",
        method="POST",
        query=None,
        body=json.dumps({"s3_key": "\ud800"}).encode(),
        extra={},
    )
    def check(
        path: str, method: str, query: str | None, body: bytes, extra: dict[str, str]
    ) -> None:
        server.check(method, path, query, body, extra)

    check()


def test_fuzz_clone_api(server: Server) -> None:
    fuzz_clone_api(server, 250)


def test_fuzz_fs_clone_api(server: Server) -> None:
    """``POST /api/bookstore/fs-clone``: escaping relpaths, symlinks, hostile targets."""

    @settings(FUZZ, max_examples=250)
    @given(
        path=st.sampled_from(["api/bookstore/fs-clone", "api/bookstore/fs-clone/"]),
        method=st.sampled_from(["POST", "POST", "POST", "POST", "GET", "PUT", "DELETE"])
        | st.sampled_from(ODD_METHODS),
        query=queries(server.known),
        body=bodies(fs_clone_objects(FS_FILES, server.known)),
        extra=headers(),
    )
    @example(path="api/bookstore/fs-clone", method="POST", query=None, body=DEEP_JSON, extra={})
    @example(
        path="api/bookstore/fs-clone",
        method="POST",
        query=None,
        body=json.dumps({"relpath": "\ud800"}).encode(),
        extra={},
    )
    @example(
        path="api/bookstore/fs-clone",
        method="POST",
        query=None,
        body=json.dumps({"relpath": TOO_LONG_NAME}).encode(),
        extra={},
    )
    @example(
        path="api/bookstore/fs-clone",
        method="POST",
        query=None,
        body=json.dumps({"relpath": "nb.ipynb", "target_path": TOO_LONG_NAME}).encode(),
        extra={},
    )
    def check(
        path: str, method: str, query: str | None, body: bytes, extra: dict[str, str]
    ) -> None:
        server.check(method, path, query, body, extra)

    check()


def fuzz_landing_pages(server: Server, max_examples: int) -> None:
    """``GET /bookstore/clone?...`` and ``GET /bookstore/fs-clone?...``: raw queries, any
    method, header and body; errors are pages in words."""

    @settings(FUZZ, max_examples=max_examples)
    @given(
        path=st.sampled_from(
            ["bookstore/clone", "bookstore/clone/", "bookstore/fs-clone", "bookstore/fs-clone/"]
        ),
        method=st.sampled_from(["GET", "GET", "GET", "GET", "HEAD", "POST"])
        | st.sampled_from(ODD_METHODS),
        query=queries(server.known),
        body=st.none() | bodies(),
        extra=headers(),
    )
    @example(
        path="bookstore/fs-clone",
        method="GET",
        query="relpath=" + TOO_LONG_NAME,
        body=None,
        extra={},
    )
    @example(
        path="bookstore/clone",
        method="GET",
        query="s3_key=" + quote(server.keys[0]),
        body=None,
        extra={"Content-Type": "multipart/form-data"},
    )
    @example(path="bookstore/clone", method="PROPFIND", query=None, body=None, extra={})
    def check(
        path: str, method: str, query: str | None, body: bytes | None, extra: dict[str, str]
    ) -> None:
        server.check(method, path, query, body, extra, page=True)

    check()


def test_fuzz_landing_pages(server: Server) -> None:
    fuzz_landing_pages(server, 250)


@pytest.mark.s3
@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_fuzz_on_seaweedfs(server: Server) -> None:
    """A shorter run of the store-facing routes on SeaweedFS (real S3 errors and keys)."""
    fuzz_clone_api(server, 60)
    fuzz_publish_bodies(server, 60)
    fuzz_landing_pages(server, 40)


# -- authentication --------------------------------------------------------------------

#: (path, is a page, the methods its handler implements)
ROUTES = (
    ("api/bookstore", False, {"GET"}),
    ("api/bookstore/archive", False, {"GET"}),
    ("api/bookstore/publish/x.ipynb", False, {"GET", "PUT", "POST", "DELETE"}),
    ("api/bookstore/clone", False, {"POST"}),
    ("api/bookstore/fs-clone", False, {"POST"}),
    ("bookstore/clone", True, {"GET"}),
    ("bookstore/fs-clone", True, {"GET"}),
)

#: What an authorised reply would contain; an unauthenticated reply never does.
DATA_MARKERS = (
    '"release"',
    '"features"',
    '"versionID"',
    '"s3_path"',
    '"enabled"',
    "clone-button",
    "Notebook fuzz",
    "plain notes",
    "plain text",
)


def bad_credentials(token: str) -> st.SearchStrategy[dict[str, str]]:
    """Authorization headers and cookies that are not the server's token."""
    junk = st.text(
        alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=40
    ).filter(lambda s: s != token)
    authorization = st.one_of(
        st.sampled_from(
            ["", "token", "token ", "bearer", "Basic dXNlcjpwYXNz", "token " + token[:-1]]
        ),
        st.sampled_from(["token ", "Bearer ", "Token ", ""]).flatmap(
            lambda scheme: junk.map(lambda value: scheme + value)
        ),
        st.just(f"token {token}x"),
    )
    return st.fixed_dictionaries(
        {"Authorization": authorization},
        optional={
            "Cookie": st.sampled_from(
                ["_xsrf=abc", "username-127-0-0-1=2|1:0|junk", f"_xsrf={token}"]
            ),
            "X-XSRFToken": st.just("abc"),
        },
    )


def test_no_route_answers_without_the_token(server: Server) -> None:
    """Without the token: 403 for every API method a route implements, a redirect to the
    login page for the pages' GET, 403/405 for the rest; never any data."""

    @settings(FUZZ, max_examples=150)
    @given(
        route=st.sampled_from(ROUTES),
        method=st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE"]),
        credentials=bad_credentials(server.token),
        query=st.sampled_from(
            [None, "s3_key=t/published/x.ipynb", "relpath=nb.ipynb", "token=wrong", "token="]
        ),
        body=st.sampled_from(
            [None, b'{"s3_key": "t/published/x.ipynb"}', b'{"relpath": "nb.ipynb"}']
        ),
    )
    def check(
        route: tuple[str, bool, set[str]],
        method: str,
        credentials: dict[str, str],
        query: str | None,
        body: bytes | None,
    ) -> None:
        path, page, implemented = route
        if path.startswith("api/bookstore/publish") and method in ("PUT", "POST"):
            body = json.dumps({"type": "notebook", "content": json.loads(NOTEBOOK_BYTES)}).encode()
        url, response = server.send(method, path, query, body, credentials, auth=False)
        summary = reply_summary(method, url, body, response) + f"\n  headers: {credentials!r}"
        text = (response.body or b"").decode("utf-8", "replace")
        for marker in DATA_MARKERS:
            assert marker not in text, f"data without the token{summary}"
        if method not in implemented:
            assert response.code in (403, 405), f"not refused{summary}"
        elif page:
            assert response.code == 302, f"page not redirected to login{summary}"
            location = response.headers.get("Location", "")
            assert location.startswith(f"{server.base_url}login?next="), summary
            return
        else:
            assert response.code == 403, f"not forbidden{summary}"
        check_reply(response, page=page, forbidden=server.forbidden, method=method, summary=summary)

    check()
    # With the token the same routes answer: the 403s above are not an accident.
    assert server.check("GET", "api/bookstore").code == 200
    assert server.check("GET", "bookstore/fs-clone", "relpath=nb.ipynb", page=True).code == 200
