"""One bucket for many users: the clone policy, publication owners, ``contents``
authorization and the audit trail, on the in-process server (both backends).

The person asking comes from a test identity provider that reads ``X-Test-User`` (and
``X-Test-Groups``, ``X-Test-Admin`` as JupyterHub would give them); the server runs for
``alice`` (``JUPYTERHUB_USER``), her workspace prefix ``{root}/workspace/alice``.  The
same cases on a real JupyterHub are in ``tests/hub``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from typing import Any

import pytest
from jupyter_core.utils import ensure_async
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User

from bookstore.cli import main as cli_main
from bookstore.core.audit import AuditEvent
from tests.notebooks import make_notebook
from tests.server_fixtures import both_backends

pytestmark = both_backends

NOTEBOOK = make_notebook("secret")
NOTEBOOK_BYTES = json.dumps(NOTEBOOK).encode()


class HubLikeUser(User):
    """A user as JupyterHub's extension gives it: ``hub_user`` with groups and admin."""

    hub_user: dict[str, Any]

    def __init__(self, name: str, groups: list[str], admin: bool) -> None:
        super().__init__(username=name)
        self.hub_user = {"name": name, "groups": groups, "admin": admin}


class HeaderIdentity(IdentityProvider):
    """Token authentication as usual; the user named by the request's test headers."""

    async def get_user(self, handler: Any) -> User | None:
        user = await ensure_async(super().get_user(handler))
        if user is None:
            return None
        headers = handler.request.headers
        groups = [g for g in headers.get("X-Test-Groups", "").split(",") if g]
        return HubLikeUser(
            headers.get("X-Test-User", "alice"), groups, headers.get("X-Test-Admin") == "1"
        )


def as_user(name: str, *, groups: str = "", admin: bool = False) -> dict[str, str]:
    headers = {"X-Test-User": name, "X-Test-Groups": groups}
    if admin:
        headers["X-Test-Admin"] = "1"
    return headers


@pytest.fixture
def bookstore_config(
    bookstore_config: dict[str, Any], key_root: str, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    monkeypatch.setenv("JUPYTERHUB_USER", "alice")
    return {
        **bookstore_config,
        "workspace_prefix": f"{key_root}/workspace/{{username}}",
        "publication_editors": ["group:editors"],
        "audit_readers": ["auditor"],
    }


@pytest.fixture
def jp_server_config(jp_server_config: Any) -> Any:
    jp_server_config.ServerApp.identity_provider_class = HeaderIdentity
    return jp_server_config


@pytest.fixture
def store(bookstore_app: Any, jp_asyncio_loop: Any) -> Any:
    """The server's started store."""
    return jp_asyncio_loop.run_until_complete(bookstore_app.ready_store())


async def audit_events(fetch_json: Any, **query: str) -> list[dict[str, Any]]:
    status, reply = await fetch_json(
        "api/bookstore/audit", params=query, headers=as_user("auditor")
    )
    assert status == 200, reply
    return list(reply["events"])


# -- 1. alice may not read bob's work -----------------------------------------------------


async def test_clone_outside_the_policy_is_403_whether_or_not_the_key_exists(
    fetch_json: Any, jp_fetch: Any, store: Any, key_root: str
) -> None:
    bob_key = f"{key_root}/workspace/bob/secret.ipynb"
    old = await store.put(bob_key, NOTEBOOK_BYTES)
    await store.put(bob_key, json.dumps(make_notebook("newer")).encode())
    replies = []
    for body in (
        {"s3_key": bob_key},
        {"s3_key": bob_key, "s3_version_id": old},
        {"s3_key": f"{key_root}/workspace/bob/missing.ipynb"},
        {"s3_key": f"{key_root}/workspace/alice-old/x.ipynb"},  # not alice's: whole segments
    ):
        status, reply = await fetch_json("api/bookstore/clone", method="POST", body=body)
        assert status == 403, reply
        assert "BookstoreSettings.clone_allowed_prefixes" in reply["message"]
        replies.append(reply["message"].replace(body["s3_key"], "KEY"))
    assert len(set(replies)) == 1, replies  # the same answer, existing or not
    assert "secret" not in replies[0]

    response = await jp_fetch("bookstore/clone", params={"s3_key": bob_key}, raise_error=False)
    assert response.code == 403
    assert b"clone_allowed_prefixes" in response.body
    assert b"Newer" not in response.body
    assert old.encode() not in response.body

    events = await audit_events(fetch_json, action="clone")
    assert events[0]["outcome"] == "refused"
    assert events[0]["user"] == "alice"
    assert events[0]["key"] == f"{key_root}/workspace/alice-old/x.ipynb"
    assert len(events) == 4


async def test_own_workspace_and_published_keys_clone(
    fetch_json: Any, store: Any, key_root: str
) -> None:
    await store.put(f"{key_root}/workspace/alice/mine.ipynb", NOTEBOOK_BYTES)
    await store.put(f"{key_root}/published/shared.ipynb", NOTEBOOK_BYTES)
    for key in (f"{key_root}/workspace/alice/mine.ipynb", f"{key_root}/published/shared.ipynb"):
        status, model = await fetch_json("api/bookstore/clone", method="POST", body={"s3_key": key})
        assert status == 200, model
    events = await audit_events(fetch_json, action="clone", user="alice")
    assert [event["key"] for event in events] == [
        f"{key_root}/published/shared.ipynb",
        f"{key_root}/workspace/alice/mine.ipynb",
    ]
    assert all(event["outcome"] == "ok" for event in events)
    assert events[0]["path"] == "shared.ipynb"
    assert events[0]["origin"]["via"] == "server"
    assert events[0]["server_user"] == "alice"


# -- 2. publications have owners -------------------------------------------------------------


async def publish(fetch_json: Any, path: str, marker: str, user: str, **identity: Any) -> Any:
    return await fetch_json(
        f"api/bookstore/publish/{path}",
        method="PUT",
        body={"type": "notebook", "content": make_notebook(marker)},
        headers=as_user(user, **identity),
    )


async def test_only_the_owner_manages_a_publication(
    fetch_json: Any, store: Any, key_root: str
) -> None:
    status, first = await publish(fetch_json, "bob-report.ipynb", "bob's", "bob")
    assert status == 200, first
    assert first["owner"] == "bob"
    assert first["published_by"] == "bob"

    status, refused = await publish(fetch_json, "bob-report.ipynb", "alice's", "alice")
    assert status == 403, refused
    assert "published by 'bob'" in refused["message"]
    status, refused = await fetch_json(
        "api/bookstore/publish/bob-report.ipynb", method="DELETE", headers=as_user("alice")
    )
    assert status == 403, refused
    assert "'bob'" in refused["message"]
    status, described = await fetch_json("api/bookstore/publish/bob-report.ipynb")
    assert status == 200
    assert described["versionID"] == first["versionID"]  # nothing changed
    assert described["owner"] == "bob"
    assert described["may_manage"] is False  # alice asked
    status, described = await fetch_json(
        "api/bookstore/publish/bob-report.ipynb", headers=as_user("bob")
    )
    assert described["may_manage"] is True

    status, again = await publish(fetch_json, "bob-report.ipynb", "bob's 2", "bob")
    assert status == 200, again

    status, catalog = await fetch_json("api/bookstore/published")
    assert status == 200
    [item] = [item for item in catalog["items"] if item["path"] == "bob-report.ipynb"]
    assert item["owner"] == "bob"
    assert item["published_by"] == "bob"

    events = await audit_events(fetch_json, action="publish")
    assert [(e["user"], e["outcome"]) for e in events] == [
        ("bob", "ok"),
        ("alice", "refused"),
        ("bob", "ok"),
    ]
    unpublish = await audit_events(fetch_json, action="unpublish")
    assert [(e["user"], e["outcome"]) for e in unpublish] == [("alice", "refused")]


async def test_editors_and_hub_admins_manage_every_publication_and_keep_the_owner(
    fetch_json: Any, store: Any, key_root: str
) -> None:
    status, _ = await publish(fetch_json, "team.ipynb", "bob's", "bob")
    assert status == 200
    status, edited = await publish(fetch_json, "team.ipynb", "edited", "erin", groups="editors")
    assert status == 200, edited
    assert edited["owner"] == "bob"
    assert edited["published_by"] == "erin"
    status, admin = await publish(fetch_json, "team.ipynb", "admin", "root", admin=True)
    assert status == 200, admin
    assert admin["owner"] == "bob"
    assert admin["published_by"] == "root"
    status, catalog = await fetch_json("api/bookstore/published")
    [item] = [item for item in catalog["items"] if item["path"] == "team.ipynb"]
    assert (item["owner"], item["published_by"]) == ("bob", "root")
    status, reply = await fetch_json(
        "api/bookstore/publish/team.ipynb", method="DELETE", headers=as_user("root", admin=True)
    )
    assert status == 204, reply
    # Once unpublished, the path is free.
    status, claimed = await publish(fetch_json, "team.ipynb", "alice's", "alice")
    assert status == 200, claimed
    assert claimed["owner"] == "alice"


async def test_a_publication_from_before_owners_is_claimed_by_its_next_publisher(
    fetch_json: Any, store: Any, key_root: str
) -> None:
    await store.put(f"{key_root}/published/old.ipynb", NOTEBOOK_BYTES)
    status, described = await fetch_json("api/bookstore/publish/old.ipynb")
    assert described["owner"] is None
    status, claimed = await publish(fetch_json, "old.ipynb", "carol's", "carol")
    assert status == 200, claimed
    assert claimed["owner"] == "carol"
    status, _refused = await publish(fetch_json, "old.ipynb", "dan's", "dan")
    assert status == 403


async def test_publishing_a_workspace_version_records_the_owner(
    fetch_json: Any, store: Any, key_root: str
) -> None:
    saved = await store.put(f"{key_root}/workspace/alice/draft.ipynb", NOTEBOOK_BYTES)
    status, published = await fetch_json(
        "api/bookstore/publish/final.ipynb",
        method="PUT",
        body={"version_id": saved, "source_path": "draft.ipynb"},
    )
    assert status == 200, published
    assert published["owner"] == "alice"
    info = await store.head(f"{key_root}/published/final.ipynb")
    assert info.metadata["bookstore-owner"] == "alice"
    assert (await store.get(info.key)).body == NOTEBOOK_BYTES


# -- 3. contents authorization ---------------------------------------------------------------


class DenyContentsWrite(Authorizer):
    """Allows everything but writing ``contents``."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return not (resource == "contents" and action == "write")


class DenyContents(Authorizer):
    """Allows everything but ``contents``."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return resource != "contents"


async def saved_twice(jp_fetch: Any, bookstore_app: Any, name: str) -> list[str]:
    for marker in ("first", "second"):
        await jp_fetch(
            "api/contents",
            name,
            method="PUT",
            body=json.dumps({"type": "notebook", "content": make_notebook(marker)}),
        )
    assert await bookstore_app.archiver.drain(timeout=30)
    history = await bookstore_app.services.history("workspace")
    page = await history.list_versions(name)
    return [item.id for item in page.items]


class TestWithoutContentsWrite:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: Any) -> Any:
        jp_server_config.ServerApp.authorizer_class = DenyContentsWrite
        return jp_server_config

    async def test_clone_and_restore_write_nothing(
        self, fetch_json: Any, store: Any, key_root: str, jp_root_dir: Any
    ) -> None:
        await store.put(f"{key_root}/published/p.ipynb", NOTEBOOK_BYTES)
        status, reply = await fetch_json(
            "api/bookstore/clone", method="POST", body={"s3_key": f"{key_root}/published/p.ipynb"}
        )
        assert status == 403, reply
        assert "write contents" in reply["message"]
        assert not (jp_root_dir / "p.ipynb").exists()

        saved = await store.put(f"{key_root}/workspace/alice/r.ipynb", NOTEBOOK_BYTES)
        (jp_root_dir / "r.ipynb").write_text("mine")
        status, reply = await fetch_json(
            f"api/bookstore/workspace/r.ipynb/versions/{saved}", method="POST", body=b""
        )
        assert status == 403, reply
        assert (jp_root_dir / "r.ipynb").read_text() == "mine"

        # Reading is still allowed.
        status, reply = await fetch_json("api/bookstore/workspace/r.ipynb/versions")
        assert status == 200, reply
        events = await audit_events(fetch_json)
        assert [(e["action"], e["outcome"]) for e in events] == [
            ("restore", "refused"),
            ("clone", "refused"),
        ]


class TestWithoutContents:
    @pytest.fixture
    def jp_server_config(self, jp_server_config: Any) -> Any:
        jp_server_config.ServerApp.authorizer_class = DenyContents
        return jp_server_config

    async def test_the_workspace_history_and_the_current_file_are_not_read(
        self, fetch_json: Any, store: Any, key_root: str, jp_root_dir: Any
    ) -> None:
        saved = await store.put(f"{key_root}/workspace/alice/d.ipynb", NOTEBOOK_BYTES)
        (jp_root_dir / "d.ipynb").write_bytes(NOTEBOOK_BYTES)
        for route, params in (
            ("api/bookstore/workspace/d.ipynb/diff", {"base": saved, "remote": "current"}),
            ("api/bookstore/workspace/d.ipynb/diff", {"base": saved}),
            ("api/bookstore/workspace/d.ipynb/versions", {}),
            (f"api/bookstore/workspace/d.ipynb/versions/{saved}", {}),
        ):
            status, reply = await fetch_json(route, params=params)
            assert status == 403, (route, reply)
            assert "read contents" in reply["message"]
        status, reply = await fetch_json(
            "api/bookstore/publish/d.ipynb",
            method="PUT",
            body={"version_id": saved, "source_path": "d.ipynb"},
        )
        assert status == 403, reply
        # The published area is not workspace contents.
        await store.put(f"{key_root}/published/p.ipynb", NOTEBOOK_BYTES)
        status, reply = await fetch_json("api/bookstore/published/p.ipynb/versions")
        assert status == 200, reply


# -- 4. the audit trail ------------------------------------------------------------------------


async def test_the_audit_trail_is_for_its_readers_and_pages(
    fetch_json: Any, store: Any, key_root: str, bookstore_app: Any
) -> None:
    status, reply = await fetch_json("api/bookstore/audit")  # alice is no reader
    assert status == 403, reply
    assert "audit_readers" in reply["message"]
    status, reply = await fetch_json("api/bookstore/audit", headers=as_user("x", admin=True))
    assert status == 200, reply

    for marker in ("a", "b", "c"):
        status, _ = await publish(fetch_json, f"{marker}.ipynb", marker, "alice")
        assert status == 200
    seen: list[str] = []
    token = None
    while True:
        params = {"limit": "1", **({"page_token": token} if token else {})}
        status, reply = await fetch_json(
            "api/bookstore/audit", params=params, headers=as_user("auditor")
        )
        assert status == 200, reply
        seen.extend(event["key"] for event in reply["events"])
        token = reply["next_token"]
        if token is None:
            break
    assert seen == [f"{key_root}/published/{m}.ipynb" for m in ("c", "b", "a")]

    status, reply = await fetch_json(
        "api/bookstore/audit", params={"action": "delete"}, headers=as_user("auditor")
    )
    assert status == 400, reply
    status, reply = await fetch_json(
        "api/bookstore/audit", params={"page_token": "nope"}, headers=as_user("auditor")
    )
    assert status == 400, reply

    # The command line reads the same trail from the store, for its readers.
    settings = bookstore_app.bookstore_settings
    args = [f"--BookstoreSettings.{name}={getattr(settings, name)}" for name in _STORE_SETTINGS]
    args.append("--BookstoreSettings.audit_readers=auditor")
    code, out = await asyncio.to_thread(
        run_cli, ["audit", "--json", "--action", "publish", "--as-user", "auditor", *args]
    )
    assert code == 0, out
    assert [e["key"] for e in json.loads(out)["events"]][:3] == seen
    code, out = await asyncio.to_thread(run_cli, ["audit", "--as-user", "alice", *args])
    assert code != 0


async def test_a_stopping_server_writes_its_pending_audit_records(
    bookstore_app: Any, key_root: str
) -> None:
    services = bookstore_app.services
    for n in range(20):
        services.record(AuditEvent("clone", f"user{n}", key=f"k{n}"))
    await services.close(timeout=60)  # what stop_extension does
    async with bookstore_app.bookstore_settings.make_store() as store:
        page = await store.list_keys(f"{key_root}/audit/")
    assert len(page.items) == 20


_STORE_SETTINGS = (
    "s3_bucket",
    "s3_endpoint_url",
    "s3_access_key_id",
    "s3_secret_access_key",
    "local_store_dir",
    "workspace_prefix",
    "published_prefix",
    "audit_prefix",
)


def run_cli(argv: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli_main(argv)
    return code, out.getvalue()
