"""The history routes: versions, one version, diffs and restore of workspace files;
the same for published notebooks, plus the published catalog.

A workspace file's history is its content, so the workspace routes also need Jupyter's
authorizer to allow ``read`` on ``contents`` (a restore: ``write``; naming or pinning a
version: ``write``); each restore and each annotation, refused ones too, is audited.
"""

from __future__ import annotations

from typing import ClassVar

from jupyter_server.auth.decorator import authorized
from tornado import web

from ...core.annotations import check_changes
from ...core.catalog import catalog_prefix
from ...core.diff import DiffOptions, cached_diff_reply, diff_refs
from ...core.history import History, area_path
from ...core.history_search import check_query, search_versions
from ...keys import check_version_id, s3_key
from ...tokens import parse_limit
from .base import BookstoreAPIHandler

__all__ = [
    "DiffHandler",
    "PublishedCatalogHandler",
    "PublishedDiffHandler",
    "PublishedNotebookHandler",
    "PublishedVersionHandler",
    "PublishedVersionsHandler",
    "VersionHandler",
    "VersionsHandler",
    "WorkspaceVersionHandler",
]


class _HistoryHandler(BookstoreAPIHandler):
    """Shared by the history routes of one area."""

    area: ClassVar[str] = "workspace"

    async def history(self) -> History:
        """The :class:`History` of this handler's area (403 when it is not configured,
        or, for the workspace, when the user may not read its files)."""
        if self.area == "workspace":
            await self.require("read", "contents", "reading a workspace file's history")
        return await self.services.history(self.area)


class VersionsHandler(_HistoryHandler):
    """``GET /api/bookstore/{area}/{path}/versions``: the versions, newest first (``q``:
    those whose cells contain a text, a bounded scan; ``named``: the named or pinned)."""

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        """Answer ``{"path", "versions", "next_token"}``."""
        path = area_path(self.area, path)
        limit = parse_limit(self.get_query_argument("limit", None), 100)
        token = self.get_query_argument("page_token", None) or None
        named = self.query_flag("named", default=False)
        # As typed: tornado's default strip would search for "a b" given " a b ".
        query = self.get_query_argument("q", None, strip=False)
        if query is not None:
            query = check_query(query)  # a 400 before anything is read
            history = await self.history()
            found = await search_versions(
                history, path, query, limit=limit, token=token, named=named
            )
            self.finish_json(found.to_dict(path))
            return
        history = await self.history()
        page = await history.list_versions(path, limit=limit, token=token, named=named)
        self.finish_json(
            {
                "path": path,
                "versions": [item.to_dict() for item in page.items],
                "next_token": page.next_token,
            }
        )


class VersionHandler(_HistoryHandler):
    """``GET /api/bookstore/{area}/{path}/versions/{id}``: one version's content."""

    @web.authenticated
    @authorized
    async def get(self, path: str, version_id: str) -> None:
        """Answer a read-only contents model of the version."""
        path = area_path(self.area, path)
        check_version_id(version_id)
        history = await self.history()
        content = self.query_flag("content")
        self.finish_json(await history.read_model(path, version_id, content=content))


class WorkspaceVersionHandler(VersionHandler):
    """Also ``POST``: restore the version into the workspace; ``PATCH``: name, describe
    or pin it."""

    @web.authenticated
    @authorized
    async def patch(self, path: str, version_id: str) -> None:
        """Apply ``{"name", "description", "pinned"}`` (each optional); answer the
        version's item with its note."""
        path = area_path(self.area, path)
        check_version_id(version_id)
        changes = await self.json_body()
        check_changes(changes)
        key = s3_key(self.services.areas.workspace_prefix(), path)
        async with self.audited("annotate", key=key, version_id=version_id, path=path) as record:
            await self.require("write", "contents", "naming or pinning a version")
            item = await self.services.annotate(path, version_id, changes, self.actor)
            record["version_id"] = item.id
            record["result"] = {
                "name": item.name,
                "description": item.description,
                "pinned": item.pinned,
            }
        self.finish_json(item.to_dict())

    @web.authenticated
    @authorized
    async def post(self, path: str, version_id: str) -> None:
        """Write the version over the file; answer what was restored and the new version."""
        path = area_path(self.area, path)
        check_version_id(version_id)
        key = s3_key(self.services.areas.workspace_prefix(), path)
        async with self.audited("restore", key=key, version_id=version_id, path=path) as record:
            await self.require("write", "contents", "restoring a version over the file")
            await self.history()  # and read access
            result = await self.services.restore(path, version_id)
            record["result"] = {"version_id": result.version_id, "archive": result.archive}
        self.finish_json(result.to_dict())


class DiffHandler(_HistoryHandler):
    """``GET /api/bookstore/{area}/{path}/diff?base=&remote=&hide=&only=``: an nbdime
    diff, less what ``hide``/``only`` leave out (replies cached by the services)."""

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        """Answer the diff, its summary, its options and the base notebook."""
        path = area_path(self.area, path)
        base, remote = diff_refs(
            self.area,
            path,
            self.get_query_argument("base", None),
            self.get_query_argument("remote", None),
        )
        # hide=outputs,metadata or hide=outputs&hide=metadata alike.
        options = DiffOptions.parse(
            ",".join(self.get_query_arguments("hide")), self.get_query_argument("only", None)
        )
        content = self.query_flag("content")
        history = await self.history()
        reply = await cached_diff_reply(
            self.services.diff_cache,
            history,
            path,
            base,
            remote,
            current_notebook=self.services.writer.current_notebook,
            content=content,
            options=options,
        )
        self.set_header("Content-Type", "application/json")
        self.finish(reply)


class PublishedVersionsHandler(VersionsHandler):
    """Versions of a published notebook."""

    area = "published"


class PublishedVersionHandler(VersionHandler):
    """One version of a published notebook."""

    area = "published"


class PublishedDiffHandler(DiffHandler):
    """Diffs between versions of a published notebook."""

    area = "published"


class PublishedNotebookHandler(_HistoryHandler):
    """``GET /api/bookstore/published/{path}``: the latest published version."""

    area = "published"

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        """Answer a read-only contents model (404 when not published)."""
        path = area_path(self.area, path)
        history = await self.history()
        content = self.query_flag("content")
        self.finish_json(await history.read_model(path, None, content=content))


class PublishedCatalogHandler(BookstoreAPIHandler):
    """``GET /api/bookstore/published``: everything published, in path order."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answer ``{"items", "next_token"}``; ``prefix`` and ``q`` filter by path."""
        limit = parse_limit(self.get_query_argument("limit", None), 50)
        token = self.get_query_argument("page_token", None) or None
        # As sent: tornado's default strip would turn " /a" into the absolute "/a".
        prefix = catalog_prefix(self.get_query_argument("prefix", "", strip=False))
        query = self.get_query_argument("q", "")
        catalog = await self.services.catalog()
        page = await catalog.page(prefix, query, limit=limit, token=token)
        items = [
            {**item.to_dict(), "clone_url": self.clone_url(item.bucket, item.key, item.version_id)}
            for item in page.items
        ]
        self.finish_json({"items": items, "next_token": page.next_token})
