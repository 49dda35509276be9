"""Publish, clone and browse the history of notebooks from a running kernel.

::

    from bookstore.client import BookstoreClient

    client = BookstoreClient()              # the server and notebook of this kernel
    client.publish()                        # publish this notebook (as last saved)
    versions = client.versions(limit=10)    # its newest archived versions
    client.diff(base=versions[1]["id"])     # what changed since then
    client.restore(versions[1]["id"])       # make the file that version again
    client.name_version(None, versions[0]["id"], "sent to review")  # name the newest
    client.pin_version(None, versions[0]["id"])                     # keep it forever
    client.versions(named=True)             # only the named and pinned versions

Outside a kernel, or when the kernel's notebook cannot be told apart, name things
explicitly: ``BookstoreClient(server_url="http://127.0.0.1:8888/", token="...",
path="folder/report.ipynb")``. The REST API is described in ``bookstore/openapi.yaml``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .errors import BookstoreAPIError, BookstoreClientError
from .nb_client import DEFAULT_TIMEOUT, CurrentNotebookClient, quote_path

__all__ = ["BookstoreClient"]

#: The most versions the server gives in one page.
_MAX_PAGE = 1000


class BookstoreClient(CurrentNotebookClient):
    """A bookstore client for the notebook this kernel belongs to.

    ``path`` names the notebook (relative to the server's root) instead of this kernel's
    session, e.g. when several notebooks share the kernel. ``server_url`` and ``token``
    name the Jupyter server instead of the one running this kernel (needed outside a
    kernel, or in a kernel no server started, as under papermill). ``s3_bucket`` is the
    default bucket of :meth:`clone` (default: the server's bucket). ``timeout`` is in
    seconds, per request.

    Raises :class:`~bookstore.client.errors.ServerNotFoundError` or
    :class:`~bookstore.client.errors.NotebookNotIdentifiedError` when no ``server_url`` is
    given and the server of this kernel cannot be found.
    """

    def __init__(
        self,
        s3_bucket: str | None = None,
        *,
        path: str | None = None,
        server_url: str | None = None,
        token: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.default_bucket = s3_bucket
        self.path = _normalize_path(path) if path is not None else None
        super().__init__(server_url=server_url, token=token, timeout=timeout)

    def __repr__(self) -> str:
        return f"<BookstoreClient {self.url}/ path={self.path!r}>"

    @property
    def notebook_path(self) -> str:
        """The notebook's path: ``path`` if given, else this kernel's session's path.

        Raises :class:`~bookstore.client.errors.NotebookNotIdentifiedError` when it cannot
        be told apart.
        """
        if self.path is not None:
            return self.path
        return self.session.path

    def _resolve(self, path: str | None) -> str:
        return _normalize_path(path) if path is not None else self.notebook_path

    def publish(self, path: str | None = None) -> dict[str, Any]:
        """Publish the notebook (as last saved) under the server's published prefix.

        ``path`` defaults to :attr:`notebook_path`. Returns the server's reply:
        ``s3_path``, ``versionID``, ``bucket``, ``key``, ``path``, ``size``, ``etag`` (the
        store's content hash, equal to that of a workspace version with the same bytes)
        and ``clone_url`` (the landing page that clones exactly this version).
        """
        path = self._resolve(path)
        try:
            model = self.get_contents(path)
        except BookstoreAPIError as exc:
            if exc.status != 404:
                raise
            raise BookstoreAPIError(
                404,
                f"There is no file {path!r} on the Jupyter server at {self.url}/ (paths are "
                "relative to the server's root).",
                reason=exc.reason,
                method=exc.method,
                url=exc.url,
            ) from exc
        if model.get("type") != "notebook":
            raise BookstoreClientError(
                f"{path!r} is a {model.get('type')}, not a notebook; only notebooks can be "
                "published."
            )
        body = {"type": "notebook", "content": model["content"]}
        return dict(self.request_json("PUT", _api("publish", path), json_body=body))

    def clone(
        self,
        s3_bucket: str | None,
        s3_key: str,
        version_id: str | None = None,
        target_path: str | None = None,
    ) -> dict[str, Any]:
        """Copy the object ``s3_key`` of ``s3_bucket`` (``None``: the default bucket given
        to the client, else the server's) into the workspace.

        ``version_id`` picks a past version (default the latest); ``target_path`` where to
        write (default the key's file name; an existing file is never overwritten, the
        server picks ``name-1.ipynb``). Returns the new file's contents model with
        ``s3_path`` and ``versionID`` (the version cloned).
        """
        body: dict[str, Any] = {"s3_key": s3_key}
        bucket = s3_bucket if s3_bucket is not None else self.default_bucket
        if bucket is not None:
            body["s3_bucket"] = bucket
        if version_id is not None:
            body["s3_version_id"] = version_id
        if target_path is not None:
            body["target_path"] = target_path
        return dict(self.request_json("POST", "api/bookstore/clone", json_body=body))

    def versions(
        self,
        path: str | None = None,
        limit: int | None = None,
        *,
        page_size: int | None = None,
        named: bool = False,
    ) -> list[dict[str, Any]]:
        """The archived versions of the file, newest first (every page, or the newest
        ``limit``); with ``named``, only the versions that are named or pinned.

        Each is ``{"id", "last_modified", "size", "is_latest", "path", "etag", "pending",
        "name", "description", "pinned", "named_by"}`` (``path`` is the name the version
        was saved under, which differs after a rename; ``etag`` the store's content hash,
        the MD5 hex of the bytes; ``name``, ``description`` and ``named_by`` are ``None``
        unless the version was named). ``page_size`` (1 to 1000) is how many the server
        sends at once.
        """
        path = self._resolve(path)
        if limit is not None and limit < 0:
            raise ValueError("limit must be 0 or more (or None for every version).")
        if page_size is not None and not 1 <= page_size <= _MAX_PAGE:
            raise ValueError(f"page_size must be between 1 and {_MAX_PAGE}.")
        page = page_size or _MAX_PAGE
        found: list[dict[str, Any]] = []
        page_token: str | None = None
        while limit is None or len(found) < limit:
            want = page if limit is None else min(page, limit - len(found))
            params: dict[str, Any] = {"limit": want}
            if named:
                params["named"] = 1
            if page_token is not None:
                params["page_token"] = page_token
            reply = self.request_json("GET", _api("workspace", path, "versions"), params=params)
            found.extend(reply["versions"])
            next_token = reply.get("next_token")
            if not next_token:
                break
            if next_token == page_token:
                raise BookstoreClientError(
                    f"The server gave the same page token twice while listing {path!r}."
                )
            page_token = next_token
        return found

    def diff(self, base: str, remote: str = "current", path: str | None = None) -> dict[str, Any]:
        """The nbdime diff of the notebook from ``base`` to ``remote``.

        Each side is a version id, ``"latest"`` (the newest archived version) or
        ``"current"`` (the file in the workspace now). Returns ``path``, ``base`` and
        ``remote`` (what each side is), ``diff`` (nbdime's entries), ``summary``
        (``cells_added``, ``cells_removed``, ``cells_changed``, ``metadata_changed``,
        ``text``) and ``base_notebook``.
        """
        path = self._resolve(path)
        params = {"base": base, "remote": remote}
        return dict(self.request_json("GET", _api("workspace", path, "diff"), params=params))

    def restore(self, version_id: str, path: str | None = None) -> dict[str, Any]:
        """Make the file that archived version again (which saves it as a new version).

        Returns ``path``, ``restored_from`` (the version), ``version_id`` (the new
        version's id, ``None`` while its archive is pending), ``archive`` and ``model``.
        A notebook open in the browser keeps showing its old content until reloaded.
        """
        path = self._resolve(path)
        api_path = _api("workspace", path, "versions") + "/" + _quote_segment(version_id)
        return dict(self.request_json("POST", api_path))

    def name_version(
        self,
        path: str | None,
        version_id: str,
        name: str | None,
        description: str | None = None,
    ) -> dict[str, Any]:
        """Name a version ("sent to review"; ``None`` or ``""`` removes the name) and,
        when ``description`` is given, describe it (``""`` removes the description).

        ``path`` is the file (``None``: :attr:`notebook_path`); ``version_id`` as
        :meth:`versions` lists it (a pending save's id names the version it becomes).
        Returns the version as :meth:`versions` lists it, with its new name.
        """
        body: dict[str, Any] = {"name": name}
        if description is not None:
            body["description"] = description
        return self._annotate(path, version_id, body)

    def pin_version(self, path: str | None, version_id: str, pinned: bool = True) -> dict[str, Any]:
        """Pin a version (retention keeps it forever), or unpin it with ``pinned=False``.

        Returns the version as :meth:`versions` lists it."""
        return self._annotate(path, version_id, {"pinned": bool(pinned)})

    def _annotate(self, path: str | None, version_id: str, body: dict[str, Any]) -> dict[str, Any]:
        resolved = self._resolve(path)
        api_path = _api("workspace", resolved, "versions") + "/" + _quote_segment(version_id)
        return dict(self.request_json("PATCH", api_path, json_body=body))


def _normalize_path(path: str) -> str:
    """A path relative to the server's root (a leading ``/`` means the root)."""
    normalized = path.lstrip("/")
    if not normalized:
        raise ValueError("The notebook path is empty.")
    return normalized


def _quote_segment(value: str) -> str:
    """``value`` percent-encoded as one URL segment (``/`` too)."""
    return quote(value, safe="")


def _api(area: str, path: str, *rest: str) -> str:
    """``api/bookstore/<area>/<path>[/<rest>...]`` with ``path`` encoded per segment."""
    return "/".join(["api/bookstore", area, quote_path(path), *rest])
