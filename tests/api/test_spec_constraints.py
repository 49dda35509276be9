"""The OpenAPI document states every constraint the server enforces, and the server keeps
to it: the path and version-id patterns agree with ``bookstore/keys.py``, the notebook
schema is nbformat's own, the served document gives this server's length limits, 405s
carry ``Allow``, and documents nested too deeply are a 400 (or, stored, a 422) naming the
limit, never a 500.  The fuzzer that checks the document against a live server is
``tests/test_api_fuzz.py``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tornado import web

from bookstore.core.diff_filter import HIDE_PARTS, DiffOptions
from bookstore.errors import InvalidPath, InvalidRequest
from bookstore.keys import (
    MAX_KEY_BYTES,
    normalize_path,
    notebook_path,
    s3_key,
    usable_version_id,
)
from bookstore.server.openapi import load_spec, path_max_length, served_spec
from bookstore.server.routes import ROUTES
from tests.notebooks import make_notebook
from tests.server_fixtures import both_backends

SPEC = load_spec()
SCHEMAS = SPEC["components"]["schemas"]


def pattern(name: str) -> re.Pattern[str]:
    """The ``pattern`` of schema ``name``, as a full match (a closing ``$`` is the end)."""
    text = SCHEMAS[name]["pattern"]
    assert text.startswith("^"), text
    assert text.endswith("$"), text
    return re.compile(text[1:-1])


#: Characters that matter to the path rules, and some that do not.
PATH_TEXT = st.lists(
    st.sampled_from(
        [
            *("a", "b", ".", "/", "\\", " ", "\x00", "\x1f", "\x7f", "\t", "é", "\U0001f600"),
            *(".ipynb", ".IPYNB", "..", "~", "%", "?", "#", "\x85", "\u2028"),
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=3000, deadline=None, derandomize=True, database=None)
@given(PATH_TEXT)
@example("a/b.ipynb")
@example(".hidden/..x/...")
@example("a/./b")
@example("a//b")
def test_the_path_patterns_are_the_path_rules(text: str) -> None:
    """A path matches a path pattern exactly when ``keys.py`` takes it as it is."""
    try:
        file_ok = normalize_path(text) == text and text != ""
    except InvalidPath:
        file_ok = False
    try:
        notebook_ok = notebook_path(text) == text
    except InvalidPath:
        notebook_ok = False
    assert bool(pattern("WorkspaceFilePath").fullmatch(text)) == file_ok, text
    for name in ("WorkspaceNotebookPath", "PublishedNotebookPath"):
        assert bool(pattern(name).fullmatch(text)) == notebook_ok, (name, text)
    if pattern("CatalogPrefix").fullmatch(text):
        assert normalize_path(text) == text.rstrip("/")
    if pattern("ObjectKey").fullmatch(text):
        assert normalize_path(text)
    if pattern("TargetPath").fullmatch(text):
        normalize_path(text)  # no InvalidPath
        assert not any(part.startswith(".") for part in text.split("/"))


@settings(max_examples=2000, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.characters(max_codepoint=0x2FF), max_size=1100))
@example("v" * 1024)
@example("v" * 1025)
@example("")
@example("a b")
def test_the_version_id_pattern_is_usable_version_id(text: str) -> None:
    assert bool(pattern("VersionIdString").fullmatch(text)) == usable_version_id(text)
    assert bool(pattern("VersionRef").fullmatch(text)) == usable_version_id(text)
    optional = bool(pattern("OptionalVersionId").fullmatch(text))
    assert optional == (text == "" or usable_version_id(text))


@settings(max_examples=2000, deadline=None, derandomize=True, database=None)
@given(
    st.lists(
        st.sampled_from(
            [*HIDE_PARTS, "output", "cells", ",", " ", "\t", "\n", "\x1f", "\u2028", "é"]
        ),
        max_size=8,
    ).map("".join)
)
@example("outputs, metadata")
@example(" ,papermill,")
@example("outputsmetadata")
def test_the_hide_pattern_is_what_diff_options_take(text: str) -> None:
    """``hide`` matches its parameter's pattern exactly when :class:`DiffOptions` takes it."""
    hide = SPEC["components"]["parameters"]["DiffHide"]["schema"]["pattern"]
    try:
        DiffOptions.parse(text, None)
        taken = True
    except InvalidRequest:
        taken = False
    assert bool(re.search(hide, text)) == taken, text


def nbformat_as_components() -> dict[str, Any]:
    """nbformat's v4.5 schema as the document's components (``Nb...`` names)."""
    path = Path(nbformat.__file__).parent / "v4" / "nbformat.v4.5.schema.json"
    source = json.loads(path.read_text())
    names = {
        "cell_id": "NbCellId",
        "cell": "NbCell",
        "raw_cell": "NbRawCell",
        "markdown_cell": "NbMarkdownCell",
        "code_cell": "NbCodeCell",
        "output": "NbOutput",
        "execute_result": "NbExecuteResult",
        "display_data": "NbDisplayData",
        "stream": "NbStream",
        "error": "NbError",
        "misc/metadata_name": "NbMetadataName",
        "misc/metadata_tags": "NbMetadataTags",
        "misc/attachments": "NbAttachments",
        "misc/source": "NbSource",
        "misc/mimebundle": "NbMimebundle",
        "misc/output_metadata": "NbOutputMetadata",
        "misc/multiline_string": "NbMultilineString",
    }

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: (
                    "#/components/schemas/" + names[value.removeprefix("#/definitions/")]
                    if key == "$ref"
                    else rewrite(value)
                )
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    components = {"Notebook": rewrite({k: v for k, v in source.items() if k != "definitions"})}
    del components["Notebook"]["$schema"]
    for pointer, name in names.items():
        node = source["definitions"]
        for part in pointer.split("/"):
            node = node[part]
        components[name] = rewrite(node)
    return components


def test_the_notebook_schema_is_nbformats_own() -> None:
    for name, schema in nbformat_as_components().items():
        assert SCHEMAS[name] == schema, name
    publish = SCHEMAS["PublishNotebookRequest"]
    assert publish["properties"]["content"]["allOf"] == [{"$ref": "#/components/schemas/Notebook"}]
    assert SCHEMAS["Notebook"]["required"] == ["metadata", "nbformat_minor", "nbformat", "cells"]


@pytest.mark.parametrize("prefix", ["t/workspace", "w" * 300, "é" * 100])
def test_the_served_limits_always_fit_a_key(prefix: str) -> None:
    served = served_spec("/", {"workspace": prefix, "published": prefix + "/p"})
    limit = served["components"]["schemas"]["WorkspaceFilePath"]["maxLength"]
    assert limit == path_max_length(prefix)
    assert s3_key(prefix, "\U0001f600" * limit)  # four bytes a character: fits
    assert len(s3_key(prefix, "a" * limit).encode()) < MAX_KEY_BYTES
    published = served["components"]["schemas"]["PublishedNotebookPath"]["maxLength"]
    assert published == path_max_length(prefix + "/p")
    assert served["components"]["schemas"]["CatalogPrefix"]["maxLength"] == published
    # An area that is off keeps the file's limit; the file itself is unchanged.
    assert served_spec("/", {})["components"] == load_spec()["components"]
    assert SCHEMAS["WorkspaceFilePath"]["maxLength"] == 250


# -- the server: 405s, nesting, the rules the patterns state ---------------------------

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE")


def _example_path(group: re.Match[str]) -> str:
    """A path segment a route group takes: its first alternative, else ``a.ipynb``."""
    inner = group.group(0)[1:-1]
    if "|" in inner and re.fullmatch(r"[\w|-]+", inner):
        return inner.split("|")[0]
    return "a.ipynb"


#: A request path for each route pattern (``(.+)``, ``([^/]+)`` filled in).
ROUTE_PATHS = {
    pattern: re.sub(r"\\(.)", r"\1", re.sub(r"\((?:[^()\\]|\\.)*\)", _example_path, pattern))
    .removesuffix("/?")
    .lstrip("/")
    for pattern, _ in ROUTES
}


def own_methods(handler: type[web.RequestHandler]) -> list[str]:
    return [
        method
        for method in handler.SUPPORTED_METHODS
        if getattr(handler, method.lower()) is not getattr(web.RequestHandler, method.lower())
    ]


@pytest.mark.parametrize(("route", "handler"), ROUTES, ids=[route for route, _ in ROUTES])
async def test_405_names_the_methods_of_the_route(
    jp_fetch: Any, route: str, handler: type[web.RequestHandler]
) -> None:
    allowed = own_methods(handler)
    assert "GET" in allowed or "POST" in allowed
    api = route.startswith("/api/")
    assert ("OPTIONS" in allowed) == api  # Jupyter's CORS preflight, on API routes only
    for method in METHODS:
        if method in allowed:
            continue
        response = await jp_fetch(
            ROUTE_PATHS[route],
            method=method,
            body=b"{}" if method in {"POST", "PUT", "PATCH"} else None,
            raise_error=False,
            allow_nonstandard_methods=True,
        )
        assert response.code == 405, (method, route)
        assert response.headers["Allow"] == ", ".join(allowed), (method, route)
        if method == "HEAD":
            continue
        if api:
            assert json.loads(response.body)["message"] == "Method Not Allowed"
        else:
            assert b"405" in response.body
            assert response.headers["Content-Type"].startswith("text/html")


async def test_options_names_the_methods_too(jp_fetch: Any) -> None:
    response = await jp_fetch("api/bookstore/publish/a.ipynb", method="OPTIONS", raise_error=False)
    assert response.code in {200, 204}
    assert response.headers["Allow"] == "GET, POST, DELETE, PUT, OPTIONS"


def deep_notebook(depth: int) -> dict[str, Any]:
    """A valid notebook whose metadata nests ``depth`` levels deep."""
    notebook: dict[str, Any] = json.loads(json.dumps(make_notebook(cells=1, output_bytes=10)))
    deep: dict[str, Any] = {}
    for _ in range(depth - 1):
        deep = {"x": deep}
    notebook["metadata"]["deep"] = deep
    return notebook


LIMIT_MESSAGE = (
    "The notebook is nested more than 100 levels deep (in its metadata or outputs); "
    "bookstore accepts at most 100."
)


@both_backends
class TestDeepDocuments:
    async def test_publishing_an_800_deep_notebook_is_a_400_naming_the_limit(
        self, fetch_json: Any, bookstore_app: Any
    ) -> None:
        for method in ("PUT", "POST"):
            status, reply = await fetch_json(
                "api/bookstore/publish/deep.ipynb",
                method=method,
                body={"type": "notebook", "content": deep_notebook(800)},
            )
            assert (status, reply["message"]) == (400, LIMIT_MESSAGE)
        store = await bookstore_app.ready_store()
        page = await store.list_keys(bookstore_app.bookstore_settings.published_prefix + "/")
        assert page.items == []  # nothing was stored
        status, reply = await fetch_json(
            "api/bookstore/publish/ok.ipynb",
            method="PUT",
            body={"type": "notebook", "content": deep_notebook(97)},  # 100 levels in all
        )
        assert status == 200, reply

    async def test_a_request_body_too_deep_for_json_is_a_400(
        self, fetch_json: Any, key_root: str
    ) -> None:
        shallow = {"s3_key": f"{key_root}/published/x.ipynb", "more": [[[[[]]]]] * 3}
        for body in ("[" * 5000 + "]" * 5000, json.dumps(shallow)):
            status, reply = await fetch_json("api/bookstore/clone", method="POST", body=body)
            assert status in {400, 404}, reply
        deep: Any = []
        for _ in range(150):
            deep = [deep]
        for route in ("api/bookstore/clone", "api/bookstore/fs-clone"):
            status, reply = await fetch_json(
                route, method="POST", body={"s3_key": "x", "relpath": "x", "extra": deep}
            )
            if status == 403:  # fs-clone is off here
                continue
            assert status == 400, reply
            assert "nested more than 100 levels deep" in reply["message"]
        status, reply = await fetch_json(
            "api/bookstore/publish/x.ipynb", method="PUT", body="[" * 5000 + "]" * 5000
        )
        assert status == 400
        assert "nested more than 100 levels deep" in reply["message"]

    async def test_a_deep_stored_notebook_is_a_422_never_a_500(
        self, fetch_json: Any, bookstore_app: Any, jp_root_dir: Path
    ) -> None:
        store = await bookstore_app.ready_store()
        key = bookstore_app.archiver.key_for("deep.ipynb")
        body = json.dumps(deep_notebook(800)).encode()
        version = await store.put(key, body)
        route = "api/bookstore/workspace/deep.ipynb"
        status, reply = await fetch_json(f"{route}/versions/{version}")
        assert status == 422, reply
        assert "nested more than 100 levels deep" in reply["message"]
        status, reply = await fetch_json(f"{route}/diff", params={"base": version})
        assert status in {404, 422}, reply  # the workspace file is missing, or the version
        status, reply = await fetch_json(
            "api/bookstore/clone", method="POST", body={"s3_key": key, "s3_version_id": version}
        )
        assert status == 422, reply
        assert "nested more than 100 levels deep" in reply["message"]
        assert not (jp_root_dir / "deep.ipynb").exists()


@both_backends
class TestWhatThePatternsSay:
    async def test_a_version_id_is_printable_ascii_everywhere(self, fetch_json: Any) -> None:
        for version_id in ("a b", "é", "v" * 1025):
            status, reply = await fetch_json(
                "api/bookstore/publish/x.ipynb", method="PUT", body={"version_id": version_id}
            )
            assert status == 400, reply
            assert "printable ASCII" in reply["message"]
        status, reply = await fetch_json(
            "api/bookstore/publish/x.ipynb", method="PUT", body={"version_id": "v" * 1024}
        )
        assert status == 404, reply

    async def test_whole_floats_publish(self, fetch_json: Any) -> None:
        notebook = json.loads(json.dumps(make_notebook(cells=1, output_bytes=10)))
        notebook["nbformat_minor"] = 5.0
        notebook["cells"][1]["execution_count"] = 1.0
        status, reply = await fetch_json(
            "api/bookstore/publish/f.ipynb",
            method="PUT",
            body={"type": "notebook", "content": notebook},
        )
        assert status == 200, reply

    async def test_query_values_are_taken_as_sent(self, fetch_json: Any, jp_fetch: Any) -> None:
        """Landing pages and the catalog read keys and prefixes as sent (tornado's default
        would strip the spaces, making ``" "`` a missing key and ``" /a"`` absolute)."""
        status, reply = await fetch_json("api/bookstore/published", params={"prefix": " /a"})
        assert (status, reply["items"]) == (200, [])
        for page, name in (("bookstore/clone", "s3_key"), ("bookstore/fs-clone", "relpath")):
            response = await jp_fetch(page, params={name: " "}, raise_error=False)
            assert response.code in {403, 404}, (page, response.body[:300])


class TestFsCloneNamesFilesOnly:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
        shared = tmp_path / "shared"
        shared.mkdir()
        (shared / "data.txt").write_text("text\n")
        return {**bookstore_config, "fs_cloning_basedir": str(shared)}

    async def test_a_trailing_slash_names_no_file(self, fetch_json: Any) -> None:
        route = "api/bookstore/fs-clone"
        status, reply = await fetch_json(route, method="POST", body={"relpath": "data.txt/"})
        assert status == 404, reply
        status, reply = await fetch_json(route, method="POST", body={"relpath": "data.txt"})
        assert status == 200, reply
