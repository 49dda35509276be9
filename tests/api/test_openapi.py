"""The OpenAPI document (``bookstore/openapi.yaml``): a valid OpenAPI 3.1 document, served
at ``GET /api/bookstore/openapi.json``, naming exactly the routes the extension registers,
and true to what the real server answers (success and errors, every route).

The conformance tests drive the in-process Jupyter server and check each response with
:func:`tests.openapi_check.check_response`.  The history routes
(``bookstore/server/handlers/history.py``) are in :class:`TestHistoryRoutesMatchSpec`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from openapi_spec_validator import validate
from tornado import web
from tornado.httpclient import HTTPResponse

from bookstore import __version__
from bookstore.server.openapi import load_spec
from tests.notebooks import make_notebook
from tests.openapi_check import (
    check_request_body,
    check_response,
    match_path,
    spec_paths,
    validate_at,
)

#: A small valid notebook, as stored bytes.
NOTEBOOK = make_notebook("spec", cells=2, output_bytes=10)
NOTEBOOK_BYTES = (json.dumps(NOTEBOOK, indent=1, sort_keys=True) + "\n").encode()

#: Path templates of the history routes (``bookstore/server/handlers/history.py``).
HISTORY_PATHS = {
    "/api/bookstore/workspace/{path}/versions",
    "/api/bookstore/workspace/{path}/versions/{id}",
    "/api/bookstore/workspace/{path}/diff",
    "/api/bookstore/published",
    "/api/bookstore/published/{path}",
    "/api/bookstore/published/{path}/versions",
    "/api/bookstore/published/{path}/versions/{id}",
    "/api/bookstore/published/{path}/diff",
}

METHODS = ("get", "put", "post", "delete", "patch")


# -- helpers ---------------------------------------------------------------------------


async def call(
    jp_fetch: Any,
    method: str,
    path: str,
    *,
    body: Any = None,
    params: dict[str, str] | None = None,
    auth: bool = True,
) -> tuple[int, Any, HTTPResponse]:
    """Send a request and check the response against the document; return the status,
    the parsed JSON body (None when empty or not JSON) and the raw response."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    headers = {} if auth else {"Authorization": ""}
    response = await jp_fetch(
        path,
        method=method,
        body=body,
        params=params,
        headers=headers,
        raise_error=False,
        follow_redirects=False,
        allow_nonstandard_methods=True,
    )
    content_type = response.headers.get("Content-Type")
    parsed = None
    if response.body and (content_type or "").startswith("application/json"):
        parsed = json.loads(response.body)
    check_response(method, path, response.code, parsed, content_type=content_type)
    return response.code, parsed, response


async def expect(
    jp_fetch: Any, status: int, method: str, path: str, *, body: Any = None, **kwargs: Any
) -> Any:
    """:func:`call`, asserting the status; the request body of a success is checked
    against the document too. Returns the parsed body."""
    got, parsed, response = await call(jp_fetch, method, path, body=body, **kwargs)
    assert got == status, f"{method} {path}: {got} {response.body[:500]!r}"
    if status < 300 and isinstance(body, (dict, list)):
        check_request_body(method, path, body)
    return parsed


def registered_routes(bookstore_app: Any) -> dict[str, type[web.RequestHandler]]:
    """The extension's routes, as templates (``{}`` for each regex group), and handlers."""
    routes = {}
    for pattern, handler, *_ in bookstore_app.handlers:
        routes[regex_template(pattern)] = handler
    return routes


def regex_template(pattern: str) -> str:
    """``/api/bookstore/publish/(.*)`` -> ``/api/bookstore/publish/{}``."""
    template = pattern.removesuffix("$").removesuffix("/?")
    template = re.sub(r"\((?:\?P<\w+>)?(?:[^()\\]|\\.)*\)", "{}", template)
    return re.sub(r"\\(.)", r"\1", template)


def spec_template(path: str) -> str:
    """``/api/bookstore/publish/{path}`` -> ``/api/bookstore/publish/{}``."""
    return re.sub(r"\{[^{}]+\}", "{}", path)


def implemented_methods(handler: type[web.RequestHandler]) -> set[str]:
    """The HTTP methods ``handler`` answers (those it overrides)."""
    return {m for m in METHODS if getattr(handler, m) is not getattr(web.RequestHandler, m)}


def schemas_with_examples(
    node: Any, where: tuple[str, ...]
) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every (location, schema) under ``node`` that carries an ``example``."""
    if isinstance(node, dict):
        if "example" in node:
            yield where, node
        for key, value in node.items():
            if key != "example":
                yield from schemas_with_examples(value, (*where, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schemas_with_examples(value, (*where, str(index)))


@pytest.fixture
def store(bookstore_app: Any, jp_asyncio_loop: Any) -> Any:
    """The server's started store."""
    return jp_asyncio_loop.run_until_complete(bookstore_app.ready_store())


# -- (1) the document ------------------------------------------------------------------


def test_document_is_valid_openapi_3_1() -> None:
    spec = load_spec()
    assert spec["openapi"] == "3.1.0"
    validate(spec)


def test_document_is_plain_json() -> None:
    """YAML could turn unquoted dates or versions into other types; JSON must not change."""
    spec = load_spec()
    assert json.loads(json.dumps(spec)) == spec
    assert spec["info"]["version"] == __version__


def test_load_spec_returns_a_copy() -> None:
    spec = load_spec()
    spec["paths"].clear()
    assert load_spec()["paths"]


def test_schema_examples_match_their_schemas() -> None:
    spec = load_spec()
    schemas = spec["components"]["schemas"]
    examples = list(schemas_with_examples(schemas, ("components", "schemas")))
    assert len(examples) > 5
    for where, schema in examples:
        validate_at(schema["example"], where, "/".join(where) + " example")


def test_every_operation_documents_authentication_and_errors() -> None:
    spec = load_spec()
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            responses = item[method]["responses"]
            assert "403" in responses, f"{method.upper()} {path}: no 403"
            assert item[method].get("summary"), f"{method.upper()} {path}: no summary"
            if path.startswith("/bookstore/"):
                assert "302" in responses, f"{method.upper()} {path}: no login redirect"
                page = responses["200"]
                if "$ref" in page:
                    page = spec["components"]["responses"][page["$ref"].rsplit("/", 1)[1]]
                assert "text/html" in page["content"]
            else:
                assert any(code.startswith("2") for code in responses)


def test_error_schema_is_what_jupyter_writes() -> None:
    """``APIHandler.write_error`` writes ``message`` and ``reason`` (null unless set)."""
    error = {"message": "Forbidden", "reason": None}
    check_response("GET", "api/bookstore", 403, error)
    check_response("GET", "api/bookstore", 403, {"message": "no exception behind it"})
    with pytest.raises(AssertionError, match="traceback"):
        check_response("GET", "api/bookstore", 403, {**error, "traceback": ""})


@pytest.mark.parametrize(
    ("request_path", "template", "params"),
    [
        ("api/bookstore", "/api/bookstore", {}),
        ("api/bookstore/", "/api/bookstore", {}),
        ("/api/bookstore/archive/", "/api/bookstore/archive", {}),
        ("api/bookstore/openapi.json", "/api/bookstore/openapi.json", {}),
        ("api/bookstore/publish/a.ipynb", "/api/bookstore/publish/{path}", {"path": "a.ipynb"}),
        (
            "api/bookstore/publish/a/b/c.ipynb",
            "/api/bookstore/publish/{path}",
            {"path": "a/b/c.ipynb"},
        ),
        ("api/bookstore/publish/", "/api/bookstore/publish/{path}", {"path": ""}),
        ("api/bookstore/clone/", "/api/bookstore/clone", {}),
        ("bookstore/fs-clone", "/bookstore/fs-clone", {}),
        (
            "api/bookstore/workspace/r/s.ipynb/versions",
            "/api/bookstore/workspace/{path}/versions",
            {"path": "r/s.ipynb"},
        ),
        (
            "api/bookstore/workspace/r/s.ipynb/versions/v%2F1",
            "/api/bookstore/workspace/{path}/versions/{id}",
            {"path": "r/s.ipynb", "id": "v/1"},
        ),
        (
            "api/bookstore/workspace/versions/versions/x",
            "/api/bookstore/workspace/{path}/versions/{id}",
            {"path": "versions", "id": "x"},
        ),
        (
            "api/bookstore/workspace/a.ipynb/diff",
            "/api/bookstore/workspace/{path}/diff",
            {"path": "a.ipynb"},
        ),
        ("api/bookstore/published", "/api/bookstore/published", {}),
        ("api/bookstore/published/a.ipynb", "/api/bookstore/published/{path}", {"path": "a.ipynb"}),
        (
            "api/bookstore/published/t/a.ipynb/versions",
            "/api/bookstore/published/{path}/versions",
            {"path": "t/a.ipynb"},
        ),
        (
            "api/bookstore/published/t/a.ipynb/versions/",
            "/api/bookstore/published/{path}/versions",
            {"path": "t/a.ipynb"},
        ),
        ("api/bookstore/publish/folder/", "/api/bookstore/publish/{path}", {"path": "folder/"}),
        (
            "api/bookstore/published/a.ipynb/versions/v1",
            "/api/bookstore/published/{path}/versions/{id}",
            {"path": "a.ipynb", "id": "v1"},
        ),
        (
            "api/bookstore/published/a.ipynb/diff",
            "/api/bookstore/published/{path}/diff",
            {"path": "a.ipynb"},
        ),
    ],
)
def test_request_paths_match_the_most_specific_template(
    request_path: str, template: str, params: dict[str, str]
) -> None:
    route = match_path(request_path)
    assert (route.template, route.params) == (template, params)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("GET", "api/nowhere", 200, {}), "No path of the OpenAPI document"),
        (("PATCH", "api/bookstore", 200, {}), "documents only ['GET']"),
        (("GET", "api/bookstore/publish/a.ipynb", 500, {"message": "x"}), "not documented"),
        (("GET", "api/bookstore/publish/a.ipynb", 404, {"msg": "x"}), "'message' is a required"),
        (("GET", "api/bookstore/publish/a.ipynb", 404, None), "body is empty"),
        (("DELETE", "api/bookstore/publish/a.ipynb", 204, {"x": 1}), "says no body"),
        (
            (
                "GET",
                "api/bookstore/publish/a.ipynb",
                200,
                {
                    "s3_path": "s3://b/k",
                    "versionID": "v",
                    "bucket": "b",
                    "key": "k",
                    "path": "a.ipynb",
                    "size": 1,
                    "last_modified": "yesterday",
                    "clone_url": "/c",
                },
            ),
            "is not a 'date-time'",
        ),
    ],
)
def test_the_checker_refuses_what_is_not_documented(args: tuple[Any, ...], words: str) -> None:
    with pytest.raises(AssertionError, match=re.escape(words)):
        check_response(*args)


def test_the_checker_knows_media_types() -> None:
    check_response("GET", "bookstore/clone", 200, None, content_type="text/html; charset=UTF-8")
    with pytest.raises(AssertionError, match="Content-Type"):
        check_response("GET", "bookstore/clone", 200, None, content_type="application/json")
    with pytest.raises(AssertionError, match="Content-Type"):
        check_response("GET", "api/bookstore", 403, None, content_type="text/html")


# -- (2) served, with every route ------------------------------------------------------


async def test_served_as_json_with_the_base_url(jp_fetch: Any, jp_base_url: str) -> None:
    served = await expect(jp_fetch, 200, "GET", "api/bookstore/openapi.json")
    assert served["servers"] == [{"url": jp_base_url}]
    assert served["info"]["version"] == __version__
    spec = load_spec()
    # The file, with this server's path limits (from its prefixes) in the path schemas.
    served_schemas = served["components"].pop("schemas")
    spec_schemas = spec["components"].pop("schemas")
    assert {**served, "servers": None} == {**spec, "servers": None}
    assert served_schemas.keys() == spec_schemas.keys()
    for name, schema in spec_schemas.items():
        if "x-bookstore-area" in schema:
            assert served_schemas[name] == {
                **schema,
                "maxLength": served_schemas[name]["maxLength"],
            }
            assert served_schemas[name]["maxLength"] > 200
        else:
            assert served_schemas[name] == schema, name
    validate({**served, "components": {**served["components"], "schemas": served_schemas}})


async def test_openapi_json_needs_authentication(jp_fetch: Any) -> None:
    reply = await expect(jp_fetch, 403, "GET", "api/bookstore/openapi.json", auth=False)
    assert "paths" not in reply


class TestUnderJupyterHub:
    @pytest.fixture
    def jp_base_url(self) -> str:
        return "/user/kylek/"

    async def test_servers_names_the_hub_prefix(self, jp_fetch: Any) -> None:
        served = await expect(jp_fetch, 200, "GET", "api/bookstore/openapi.json")
        assert served["servers"] == [{"url": "/user/kylek/"}]


class DenyBookstore(Authorizer):
    """Allows everything but the ``bookstore`` resource."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "bookstore"


class TestNotAuthorized:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: Any) -> Any:
        jp_server_config.ServerApp.authorizer_class = DenyBookstore
        return jp_server_config

    async def test_openapi_json_asks_the_authorizer(self, jp_fetch: Any) -> None:
        await expect(jp_fetch, 403, "GET", "api/bookstore/openapi.json")

    async def test_pages_are_403_pages(self, jp_fetch: Any) -> None:
        await expect(jp_fetch, 403, "GET", "bookstore/clone", params={"s3_key": "a.ipynb"})
        await expect(jp_fetch, 403, "GET", "bookstore/fs-clone", params={"relpath": "a"})


def test_every_registered_route_is_documented(bookstore_app: Any) -> None:
    documented = {spec_template(path): path for path in spec_paths()}
    spec = load_spec()
    for template, handler in registered_routes(bookstore_app).items():
        assert template in documented, f"route {template} ({handler.__name__}) is not documented"
        path = documented[template]
        methods = {m for m in METHODS if m in spec["paths"][path]}
        assert implemented_methods(handler) == methods, f"{path}: {handler.__name__}"


def test_every_documented_route_is_registered(bookstore_app: Any) -> None:
    """(The history routes are checked in :class:`TestHistoryRoutesMatchSpec`.)"""
    registered = registered_routes(bookstore_app)
    for path in set(spec_paths()) - HISTORY_PATHS:
        assert spec_template(path) in registered, f"{path} is documented but not served"


def test_history_paths_are_the_documented_ones() -> None:
    assert HISTORY_PATHS.issubset(spec_paths())


# -- (3) real responses match the document ---------------------------------------------


async def test_bookstore_and_archive_status(jp_fetch: Any, bookstore_app: Any) -> None:
    await expect(jp_fetch, 200, "GET", "api/bookstore")
    await expect(jp_fetch, 200, "GET", "api/bookstore/")
    await expect(jp_fetch, 403, "GET", "api/bookstore", auth=False)
    idle = await expect(jp_fetch, 200, "GET", "api/bookstore/archive")
    assert idle["enabled"] is True
    assert idle["last_archived_time"] is None
    await jp_fetch(
        "api/contents/saved.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "content": NOTEBOOK}),
    )
    await bookstore_app.archiver.drain()
    status = await expect(jp_fetch, 200, "GET", "api/bookstore/archive/")
    assert status["archived"] == 1
    assert status["last_archived_time"]
    info = await expect(jp_fetch, 200, "GET", "api/bookstore")
    assert info["archive"]["archived"] == 1
    await expect(jp_fetch, 403, "GET", "api/bookstore/archive", auth=False)


class TestArchivingOff:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
        return {**bookstore_config, "archive_file_types": []}

    async def test_archive_status_is_disabled(self, jp_fetch: Any) -> None:
        assert await expect(jp_fetch, 200, "GET", "api/bookstore/archive") == {"enabled": False}
        info = await expect(jp_fetch, 200, "GET", "api/bookstore")
        assert info["archive"] == {"enabled": False}
        assert info["features"]["archive_valid"] is False


class TestStoreUnavailable:
    """An embedded store whose directory is a file: the store cannot start (503)."""

    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
        blocker = tmp_path / "not-a-directory"
        blocker.write_text("")
        return {
            **bookstore_config,
            "local_store_dir": str(blocker),
            "archive_shutdown_timeout": 0.0,
        }

    async def test_503_and_a_failing_archiver(self, jp_fetch: Any, bookstore_app: Any) -> None:
        info = await expect(jp_fetch, 200, "GET", "api/bookstore")
        assert info["store"]["usable"] is False
        assert info["store"]["error"]
        body = {"type": "notebook", "content": NOTEBOOK}
        await expect(jp_fetch, 503, "PUT", "api/bookstore/publish/x.ipynb", body=body)
        await expect(jp_fetch, 503, "GET", "api/bookstore/publish/x.ipynb")
        await expect(jp_fetch, 503, "DELETE", "api/bookstore/publish/x.ipynb")
        await expect(jp_fetch, 503, "POST", "api/bookstore/clone", body={"s3_key": "x.ipynb"})
        await expect(jp_fetch, 503, "GET", "bookstore/clone", params={"s3_key": "x.ipynb"})
        # Saving still works (the save waits in the spool), and the archiver says why not.
        saved = await jp_fetch(
            "api/contents/saved.ipynb",
            method="PUT",
            body=json.dumps({"type": "notebook", "content": NOTEBOOK}),
        )
        assert saved.code == 201
        for _ in range(600):  # The archiver's first attempt fails in the background.
            if bookstore_app.archiver.failing:
                break
            await asyncio.sleep(0.05)
        status = await expect(jp_fetch, 200, "GET", "api/bookstore/archive")
        assert status["state"] == "failing"
        assert status["last_error"]
        assert status["last_error_time"]


async def test_publish_routes(jp_fetch: Any, bookstore_app: Any) -> None:
    path = "api/bookstore/publish/team/report.ipynb"
    body = {"type": "notebook", "content": NOTEBOOK}
    first = await expect(jp_fetch, 200, "PUT", path, body=body)
    assert "source" not in first
    await expect(jp_fetch, 200, "POST", path, body=body)
    info = await expect(jp_fetch, 200, "GET", path)
    assert info["path"] == "team/report.ipynb"
    await expect(jp_fetch, 204, "DELETE", path)
    await expect(jp_fetch, 404, "GET", path)
    await expect(jp_fetch, 404, "DELETE", path)

    # Publish a version archived from a save.
    await jp_fetch(
        "api/contents/draft.ipynb",
        method="PUT",
        body=json.dumps({"type": "notebook", "content": NOTEBOOK}),
    )
    await bookstore_app.archiver.drain()
    store = await bookstore_app.ready_store()
    key = bookstore_app.archiver.key_for("draft.ipynb")
    version = (await store.head(key)).version_id
    from_version = {"version_id": version, "source_path": "draft.ipynb"}
    reply = await expect(jp_fetch, 200, "PUT", path, body=from_version)
    assert reply["source"] == {"path": "draft.ipynb", "version_id": version}
    await expect(jp_fetch, 404, "PUT", path, body={"version_id": "no-such-version"})


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("PUT", "api/bookstore/publish/../x.ipynb", {"type": "notebook", "content": {}}, 400),
        ("PUT", "api/bookstore/publish/notes.txt", {"type": "notebook", "content": {}}, 400),
        ("PUT", "api/bookstore/publish/", {"type": "notebook", "content": {}}, 400),
        ("PUT", "api/bookstore/publish/x.ipynb", b"{not json", 400),
        ("PUT", "api/bookstore/publish/x.ipynb", b"", 400),
        ("POST", "api/bookstore/publish/x.ipynb", {"content": {}}, 400),
        ("PUT", "api/bookstore/publish/x.ipynb", {"type": "file", "content": "hi"}, 415),
        ("PUT", "api/bookstore/publish/x.ipynb", {"type": "notebook", "content": []}, 422),
        ("PUT", "api/bookstore/publish/x.ipynb", {"type": "notebook", "content": {}}, 422),
        ("GET", "api/bookstore/publish/a//b.ipynb", None, 400),
        ("DELETE", "api/bookstore/publish/a\\b.ipynb", None, 400),
        ("GET", "api/bookstore/publish/x.ipynb", None, 403),
        ("PUT", "api/bookstore/publish/x.ipynb", {"type": "notebook", "content": {}}, 403),
        ("DELETE", "api/bookstore/publish/x.ipynb", None, 403),
    ],
)
async def test_publish_errors(
    jp_fetch: Any, method: str, path: str, body: Any, status: int
) -> None:
    await expect(jp_fetch, status, method, path, body=body, auth=status != 403)


class TestPublishingOff:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
        return {**bookstore_config, "published_prefix": ""}

    async def test_publish_routes_are_403(self, jp_fetch: Any) -> None:
        body = {"type": "notebook", "content": NOTEBOOK}
        reply = await expect(jp_fetch, 403, "PUT", "api/bookstore/publish/x.ipynb", body=body)
        assert "published_prefix" in reply["message"]
        await expect(jp_fetch, 403, "GET", "api/bookstore/publish/x.ipynb")
        await expect(jp_fetch, 403, "DELETE", "api/bookstore/publish/x.ipynb")


async def test_clone_route(jp_fetch: Any, store: Any, key_root: str) -> None:
    key = f"{key_root}/published/c.ipynb"
    version = await store.put(key, NOTEBOOK_BYTES)
    await store.put(f"{key_root}/published/notes.txt", "π and text\n".encode())
    await store.put(f"{key_root}/published/blob.bin", bytes(range(256)))
    await store.put(f"{key_root}/published/broken.ipynb", b"{ nope")

    model = await expect(
        jp_fetch,
        200,
        "POST",
        "api/bookstore/clone",
        body={"s3_bucket": store.bucket, "s3_key": key, "s3_version_id": version},
    )
    assert model["type"] == "notebook"
    assert isinstance(model["content"], dict)
    lean = await expect(
        jp_fetch,
        200,
        "POST",
        "api/bookstore/clone/",
        body={"s3_key": key, "target_path": "in/", "content": False},
    )
    assert lean["content"] is None
    text = await expect(
        jp_fetch,
        200,
        "POST",
        "api/bookstore/clone",
        body={"s3_key": f"{key_root}/published/notes.txt"},
    )
    assert text["format"] == "text"
    binary = await expect(
        jp_fetch,
        200,
        "POST",
        "api/bookstore/clone",
        body={"s3_key": f"{key_root}/published/blob.bin"},
    )
    assert binary["format"] == "base64"

    cases: list[tuple[Any, int]] = [
        (b"not json", 400),
        ([], 400),
        ({"s3_key": ""}, 400),
        ({"s3_key": key, "content": "no"}, 400),
        ({"s3_key": key, "target_path": "../out.ipynb"}, 400),
        ({"s3_key": key, "s3_bucket": "someone-elses"}, 403),
        ({"s3_key": f"{key_root}/published/missing.ipynb"}, 404),
        ({"s3_key": key, "s3_version_id": "nope"}, 404),
        ({"s3_key": f"{key_root}/published/broken.ipynb"}, 422),
    ]
    for body, status in cases:
        await expect(jp_fetch, status, "POST", "api/bookstore/clone", body=body)
    await expect(jp_fetch, 403, "POST", "api/bookstore/clone", body={"s3_key": key}, auth=False)


async def test_clone_page(jp_fetch: Any, store: Any, key_root: str) -> None:
    key = f"{key_root}/published/p.ipynb"
    await store.put(key, NOTEBOOK_BYTES)
    await expect(jp_fetch, 200, "GET", "bookstore/clone", params={"s3_key": key})
    await expect(jp_fetch, 200, "GET", "bookstore/clone/", params={"s3_key": key})
    await expect(jp_fetch, 302, "GET", "bookstore/clone", params={"s3_key": key}, auth=False)
    await expect(jp_fetch, 400, "GET", "bookstore/clone")
    await expect(
        jp_fetch, 403, "GET", "bookstore/clone", params={"s3_key": key, "s3_bucket": "elsewhere"}
    )
    await expect(jp_fetch, 404, "GET", "bookstore/clone", params={"s3_key": f"{key}.gone"})


class TestCloningOff:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
        return {**bookstore_config, "enable_s3_cloning": False}

    async def test_api_and_page_are_403(self, jp_fetch: Any) -> None:
        reply = await expect(jp_fetch, 403, "POST", "api/bookstore/clone", body={"s3_key": "a"})
        assert "enable_s3_cloning" in reply["message"]
        await expect(jp_fetch, 403, "GET", "bookstore/clone", params={"s3_key": "a"})


class TestFsClone:
    @pytest.fixture
    def basedir(self, tmp_path: Path) -> Path:
        """A base dir with a notebook, a text file and a broken notebook."""
        base = tmp_path / "shared"
        (base / "sub").mkdir(parents=True)
        (base / "sub" / "nb.ipynb").write_bytes(NOTEBOOK_BYTES)
        (base / "data.csv").write_text("a,b\n1,2\n")
        (base / "broken.ipynb").write_text("{ nope")
        return base

    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any], basedir: Path) -> dict[str, Any]:
        return {**bookstore_config, "fs_cloning_basedir": str(basedir)}

    async def test_api(self, jp_fetch: Any) -> None:
        route = "api/bookstore/fs-clone"
        model = await expect(jp_fetch, 200, "POST", route, body={"relpath": "sub/nb.ipynb"})
        assert model["relpath"] == "sub/nb.ipynb"
        await expect(
            jp_fetch,
            200,
            "POST",
            route + "/",
            body={"relpath": "data.csv", "target_path": "in/d.csv", "content": False},
        )
        cases: list[tuple[Any, int]] = [
            ({}, 400),
            ([], 400),
            ({"relpath": 7}, 400),
            ({"relpath": "data.csv", "target_path": 3}, 400),
            ({"relpath": "../secret.txt"}, 404),
            ({"relpath": "sub"}, 404),
            ({"relpath": "broken.ipynb"}, 422),
        ]
        for body, status in cases:
            await expect(jp_fetch, status, "POST", route, body=body)
        await expect(jp_fetch, 403, "POST", route, body={"relpath": "data.csv"}, auth=False)

    async def test_page(self, jp_fetch: Any) -> None:
        page = "bookstore/fs-clone"
        await expect(jp_fetch, 200, "GET", page, params={"relpath": "sub/nb.ipynb"})
        await expect(jp_fetch, 302, "GET", page, params={"relpath": "data.csv"}, auth=False)
        await expect(jp_fetch, 400, "GET", page)
        await expect(jp_fetch, 404, "GET", page, params={"relpath": "../x"})


class TestFsCloningOff:
    async def test_api_and_page_are_403(self, jp_fetch: Any) -> None:
        reply = await expect(
            jp_fetch, 403, "POST", "api/bookstore/fs-clone", body={"relpath": "data.csv"}
        )
        assert "fs_cloning_basedir" in reply["message"]
        await expect(jp_fetch, 403, "GET", "bookstore/fs-clone", params={"relpath": "x"})


# -- the history routes (bookstore/server/handlers/history.py) -------------------------


class TestHistoryRoutesMatchSpec:
    """The history API of ``/tmp/history_contract.md`` against the document.

    These fail unless bookstore's route table (``bookstore/server/routes.py``) has them.
    """

    @pytest.fixture
    def saved(self, jp_fetch: Any, bookstore_app: Any, jp_asyncio_loop: Any) -> list[str]:
        """``notes/nb.ipynb`` saved three times (each differs); its version ids, newest
        first."""

        async def save() -> list[str]:
            for n in range(3):
                notebook = make_notebook(f"v{n}", cells=n + 1, output_bytes=10)
                await jp_fetch(
                    "api/contents/notes", method="PUT", body=json.dumps({"type": "directory"})
                )
                await jp_fetch(
                    "api/contents/notes/nb.ipynb",
                    method="PUT",
                    body=json.dumps({"type": "notebook", "content": notebook}),
                )
                await bookstore_app.archiver.drain()
            store = await bookstore_app.ready_store()
            page = await store.list_versions(bookstore_app.archiver.key_for("notes/nb.ipynb"))
            return [str(info.version_id) for info in page.items]

        return list(jp_asyncio_loop.run_until_complete(save()))

    @pytest.fixture
    def published(self, jp_fetch: Any, jp_asyncio_loop: Any) -> list[str]:
        """``team/report.ipynb`` published twice; its version ids, newest first."""

        async def publish() -> list[str]:
            ids = []
            for n in range(2):
                notebook = make_notebook(f"p{n}", cells=n + 1, output_bytes=10)
                response = await jp_fetch(
                    "api/bookstore/publish/team/report.ipynb",
                    method="PUT",
                    body=json.dumps({"type": "notebook", "content": notebook}),
                )
                ids.append(json.loads(response.body)["versionID"])
            return ids[::-1]

        return list(jp_asyncio_loop.run_until_complete(publish()))

    def test_history_routes_are_registered(self, bookstore_app: Any) -> None:
        registered = registered_routes(bookstore_app)
        for path in sorted(HISTORY_PATHS):
            assert spec_template(path) in registered, f"{path} is documented but not served"

    async def test_workspace_versions(self, jp_fetch: Any, saved: list[str]) -> None:
        route = "api/bookstore/workspace/notes/nb.ipynb/versions"
        listing = await expect(jp_fetch, 200, "GET", route)
        assert [v["id"] for v in listing["versions"]] == saved
        assert listing["next_token"] is None
        first = await expect(jp_fetch, 200, "GET", route, params={"limit": "2"})
        assert len(first["versions"]) == 2
        assert first["next_token"]
        # The page token is sent as ``page_token`` (``token`` is Jupyter's server token).
        rest = await expect(
            jp_fetch, 200, "GET", route, params={"limit": "2", "page_token": first["next_token"]}
        )
        assert [v["id"] for v in rest["versions"]] == saved[2:]
        empty = await expect(jp_fetch, 200, "GET", "api/bookstore/workspace/never.ipynb/versions")
        assert empty["versions"] == []
        for limit in ("0", "1001", "many"):
            await expect(jp_fetch, 400, "GET", route, params={"limit": limit})
        await expect(jp_fetch, 400, "GET", "api/bookstore/workspace/../x.ipynb/versions")
        await expect(jp_fetch, 403, "GET", route, auth=False)

    async def test_workspace_version(self, jp_fetch: Any, saved: list[str]) -> None:
        route = f"api/bookstore/workspace/notes/nb.ipynb/versions/{saved[-1]}"
        model = await expect(jp_fetch, 200, "GET", route)
        assert model["type"] == "notebook"
        assert isinstance(model["content"], dict)
        assert model["version"]["id"] == saved[-1]
        lean = await expect(jp_fetch, 200, "GET", route, params={"content": "0"})
        assert lean["content"] is None
        assert lean["format"] is None
        await expect(jp_fetch, 404, "GET", "api/bookstore/workspace/notes/nb.ipynb/versions/nope")
        await expect(jp_fetch, 403, "GET", route, auth=False)

    async def test_workspace_version_not_a_notebook_is_422(
        self, jp_fetch: Any, bookstore_app: Any, store: Any
    ) -> None:
        version = await store.put(bookstore_app.archiver.key_for("bad.ipynb"), b"{ nope")
        await expect(jp_fetch, 422, "GET", f"api/bookstore/workspace/bad.ipynb/versions/{version}")

    async def test_restore(self, jp_fetch: Any, bookstore_app: Any, saved: list[str]) -> None:
        route = f"api/bookstore/workspace/notes/nb.ipynb/versions/{saved[-1]}"
        result = await expect(jp_fetch, 200, "POST", route)
        assert result["restored_from"]["id"] == saved[-1]
        assert result["archive"] in {"archived", "pending"}
        assert result["model"]["content"] is None
        await expect(jp_fetch, 404, "POST", "api/bookstore/workspace/notes/nb.ipynb/versions/nope")
        await expect(jp_fetch, 403, "POST", route, auth=False)

    async def test_restore_a_file_that_is_not_archived(
        self, jp_fetch: Any, bookstore_app: Any, store: Any, jp_root_dir: Path
    ) -> None:
        """Only notebooks are archived here: a text version restores with ``archive: off``."""
        version = await store.put(bookstore_app.archiver.key_for("notes.txt"), b"old text\n")
        route = f"api/bookstore/workspace/notes.txt/versions/{version}"
        model = await expect(jp_fetch, 200, "GET", route)
        assert (model["type"], model["format"]) == ("file", "text")
        result = await expect(jp_fetch, 200, "POST", route)
        assert (result["archive"], result["version_id"]) == ("off", None)
        assert (jp_root_dir / "notes.txt").read_bytes() == b"old text\n"

    async def test_workspace_diff(self, jp_fetch: Any, jp_root_dir: Path, saved: list[str]) -> None:
        route = "api/bookstore/workspace/notes/nb.ipynb/diff"
        diff = await expect(jp_fetch, 200, "GET", route, params={"base": saved[-1]})
        assert diff["remote"]["current"] is True
        assert diff["remote"]["id"] is None
        assert diff["summary"]["cells_added"] >= 1
        assert isinstance(diff["base_notebook"], dict)
        lean = await expect(
            jp_fetch,
            200,
            "GET",
            route,
            params={"base": saved[-1], "remote": "latest", "content": "0"},
        )
        assert lean["base_notebook"] is None
        await expect(jp_fetch, 400, "GET", route)
        await expect(jp_fetch, 404, "GET", route, params={"base": "nope"})
        (jp_root_dir / "plain.txt").write_text("text")
        await expect(
            jp_fetch,
            415,
            "GET",
            "api/bookstore/workspace/plain.txt/diff",
            params={"base": "current"},
        )
        await expect(jp_fetch, 403, "GET", route, params={"base": saved[-1]}, auth=False)

    async def test_published_catalog(self, jp_fetch: Any, published: list[str]) -> None:
        catalog = await expect(jp_fetch, 200, "GET", "api/bookstore/published")
        assert [item["path"] for item in catalog["items"]] == ["team/report.ipynb"]
        filtered = await expect(
            jp_fetch, 200, "GET", "api/bookstore/published", params={"prefix": "team/", "q": "REP"}
        )
        assert len(filtered["items"]) == 1
        none = await expect(jp_fetch, 200, "GET", "api/bookstore/published", params={"q": "zzz"})
        assert none["items"] == []
        await expect(jp_fetch, 400, "GET", "api/bookstore/published", params={"limit": "0"})
        await expect(
            jp_fetch, 400, "GET", "api/bookstore/published", params={"page_token": "%%bad"}
        )
        await expect(jp_fetch, 403, "GET", "api/bookstore/published", auth=False)

    async def test_published_notebook_and_versions(
        self, jp_fetch: Any, published: list[str]
    ) -> None:
        base = "api/bookstore/published/team/report.ipynb"
        latest = await expect(jp_fetch, 200, "GET", base)
        assert latest["version"]["id"] == published[0]
        await expect(jp_fetch, 200, "GET", base, params={"content": "0"})
        await expect(jp_fetch, 404, "GET", "api/bookstore/published/never.ipynb")
        listing = await expect(jp_fetch, 200, "GET", f"{base}/versions")
        assert [v["id"] for v in listing["versions"]] == published
        await expect(jp_fetch, 400, "GET", f"{base}/versions", params={"limit": "-1"})
        old = await expect(jp_fetch, 200, "GET", f"{base}/versions/{published[-1]}")
        assert old["version"]["is_latest"] is False
        await expect(jp_fetch, 404, "GET", f"{base}/versions/nope")
        diff = await expect(jp_fetch, 200, "GET", f"{base}/diff", params={"base": published[-1]})
        assert diff["remote"]["id"] == published[0]
        await expect(jp_fetch, 400, "GET", f"{base}/diff")
        await expect(
            jp_fetch,
            400,
            "GET",
            f"{base}/diff",
            params={"base": published[-1], "remote": "current"},
        )
        await expect(jp_fetch, 404, "GET", f"{base}/diff", params={"base": "nope"})
        for route in (base, f"{base}/versions", f"{base}/versions/{published[0]}"):
            await expect(jp_fetch, 403, "GET", route, auth=False)

    class TestPublishingOff:
        @pytest.fixture
        def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
            return {**bookstore_config, "published_prefix": ""}

        async def test_published_routes_are_403(self, jp_fetch: Any) -> None:
            await expect(jp_fetch, 403, "GET", "api/bookstore/published")
            await expect(jp_fetch, 403, "GET", "api/bookstore/published/a.ipynb")
            await expect(jp_fetch, 403, "GET", "api/bookstore/published/a.ipynb/versions")

    class TestWorkspaceHistoryOff:
        @pytest.fixture
        def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
            return {**bookstore_config, "workspace_prefix": ""}

        async def test_workspace_routes_are_403(self, jp_fetch: Any) -> None:
            await expect(jp_fetch, 403, "GET", "api/bookstore/workspace/a.ipynb/versions")
            await expect(jp_fetch, 403, "GET", "api/bookstore/workspace/a.ipynb/versions/v")
            await expect(jp_fetch, 403, "POST", "api/bookstore/workspace/a.ipynb/versions/v")
            await expect(
                jp_fetch,
                403,
                "GET",
                "api/bookstore/workspace/a.ipynb/diff",
                params={"base": "latest"},
            )
