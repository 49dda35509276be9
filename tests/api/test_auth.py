"""Every bookstore route needs Jupyter's authentication and its authorization."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from jupyter_server.auth.authorizer import Authorizer

ROUTES = [
    ("GET", "api/bookstore", None),
    ("GET", "api/bookstore/archive", None),
    ("GET", "api/bookstore/publish/a.ipynb", None),
    ("PUT", "api/bookstore/publish/a.ipynb", b'{"type": "notebook", "content": {}}'),
    ("POST", "api/bookstore/publish/a.ipynb", b'{"type": "notebook", "content": {}}'),
    ("DELETE", "api/bookstore/publish/a.ipynb", None),
    ("POST", "api/bookstore/clone", b'{"s3_key": "a.ipynb"}'),
    ("POST", "api/bookstore/fs-clone", b'{"relpath": "a.ipynb"}'),
    # History (bookstore/server/handlers/history.py): a query after "?" is sent through ``params=``.
    ("GET", "api/bookstore/workspace/a.ipynb/versions", None),
    ("GET", "api/bookstore/workspace/a.ipynb/versions?limit=1", None),
    ("GET", "api/bookstore/workspace/a.ipynb/versions/v1", None),
    ("POST", "api/bookstore/workspace/a.ipynb/versions/v1", None),
    ("POST", "api/bookstore/workspace/a.ipynb/versions/v1", b"{}"),
    ("GET", "api/bookstore/workspace/a.ipynb/diff?base=latest", None),
    ("GET", "api/bookstore/workspace/a.ipynb/diff?base=latest&remote=current", None),
    ("GET", "api/bookstore/published", None),
    ("GET", "api/bookstore/published?prefix=r/&q=a&limit=1", None),
    ("GET", "api/bookstore/published/a.ipynb", None),
    ("GET", "api/bookstore/published/a.ipynb/versions", None),
    ("GET", "api/bookstore/published/a.ipynb/versions/v1", None),
    ("GET", "api/bookstore/published/a.ipynb/diff?base=latest", None),
    ("GET", "api/bookstore/openapi.json", None),
]

PAGES = ["bookstore/clone?s3_key=a.ipynb", "bookstore/fs-clone?relpath=a.ipynb"]


def split_route(route: str) -> tuple[str, dict[str, str]]:
    """``route`` without its query, and the query as ``params`` (``jp_fetch`` escapes the
    path: a ``?`` in it would be sent as ``%3F``)."""
    path, _, query = route.partition("?")
    return path, dict(parse_qsl(query, keep_blank_values=True))


@pytest.mark.parametrize(("method", "route", "body"), ROUTES)
async def test_api_routes_refuse_requests_without_a_token(
    jp_fetch: Any, method: str, route: str, body: bytes | None
) -> None:
    path, params = split_route(route)
    response = await jp_fetch(
        path,
        params=params,
        method=method,
        body=body,
        headers={"Authorization": ""},
        raise_error=False,
        allow_nonstandard_methods=True,
    )
    assert response.code == 403
    assert b"release" not in response.body


@pytest.mark.parametrize("page", PAGES)
async def test_pages_send_anonymous_users_to_the_login(jp_fetch: Any, page: str) -> None:
    path, _, query = page.partition("?")
    key, _, value = query.partition("=")
    response = await jp_fetch(
        path,
        params={key: value},
        headers={"Authorization": ""},
        raise_error=False,
        follow_redirects=False,
    )
    assert response.code == 302
    assert "/login" in response.headers["Location"]


class DenyBookstore(Authorizer):
    """Allows everything but the ``bookstore`` resource."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "bookstore"


class TestAuthorization:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: Any) -> Any:
        jp_server_config.ServerApp.authorizer_class = DenyBookstore
        return jp_server_config

    @pytest.mark.parametrize(("method", "route", "body"), ROUTES)
    async def test_api_routes_ask_the_authorizer(
        self, jp_fetch: Any, method: str, route: str, body: bytes | None
    ) -> None:
        path, params = split_route(route)
        response = await jp_fetch(
            path,
            params=params,
            method=method,
            body=body,
            raise_error=False,
            allow_nonstandard_methods=True,
        )
        assert response.code == 403
        assert b"release" not in response.body

    @pytest.mark.parametrize("page", PAGES)
    async def test_pages_ask_the_authorizer(self, jp_fetch: Any, page: str) -> None:
        path, _, query = page.partition("?")
        key, _, value = query.partition("=")
        response = await jp_fetch(path, params={key: value}, raise_error=False)
        assert response.code == 403
        assert b"<h1>403:" in response.body

    async def test_contents_still_work(self, jp_fetch: Any) -> None:
        response = await jp_fetch("api/contents")
        assert response.code == 200


@pytest.mark.parametrize(("method", "route", "body"), ROUTES)
async def test_api_routes_answer_with_the_token(
    jp_fetch: Any, method: str, route: str, body: bytes | None
) -> None:
    """The 403s above are the routes' own: with the token each one answers in JSON (a
    success or its own error), not Jupyter's refusal nor its page for an unknown URL."""
    path, params = split_route(route)
    response = await jp_fetch(
        path,
        params=params,
        method=method,
        body=body,
        raise_error=False,
        allow_nonstandard_methods=True,
    )
    assert response.code < 500
    assert response.headers["Content-Type"].startswith("application/json")
    reply = json.loads(response.body)
    assert reply.get("message") != "Forbidden", reply
