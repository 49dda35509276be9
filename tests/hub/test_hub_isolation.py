"""One bucket for a whole JupyterHub: each person reaches only what they may.

alice, bob, carol and admin (a hub admin, in the group ``editors``) each have their own
single-user server on one SeaweedFS bucket (``workspace/{username}``); carol's hub
scopes lack ``custom:jupyter_server:write:contents``.  The three defects of issue 16, on
the real hub: alice read bob's work by key, publications had no owner, and only the
``bookstore`` resource was asked for.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest

from tests.hub.rig import Hub

#: One hub for every test of tests/hub when run with ``--dist loadgroup`` (make test).
pytestmark = pytest.mark.xdist_group("hub")

DEADLINE = 60.0


def notebook(marker: str) -> dict[str, Any]:
    return {
        "cells": [{"cell_type": "markdown", "id": "m", "metadata": {}, "source": f"# {marker}"}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def save(hub: Hub, user: str, path: str, marker: str) -> None:
    status, body = hub.request(
        user, "PUT", f"api/contents/{path}", {"type": "notebook", "content": notebook(marker)}
    )
    assert status in (200, 201), body


def versions(hub: Hub, user: str, path: str, count: int) -> list[str]:
    """The ids of ``path``'s versions on ``user``'s server, once there are ``count``."""
    deadline = time.monotonic() + DEADLINE
    while True:
        status, body = hub.request(user, "GET", f"api/bookstore/workspace/{path}/versions")
        assert status == 200, body
        ids = [item["id"] for item in body["versions"] if not item.get("pending")]
        if len(ids) >= count:
            return ids
        assert time.monotonic() < deadline, (ids, hub.log_tail())
        time.sleep(0.1)


def publish(hub: Hub, user: str, path: str, marker: str) -> tuple[int, Any]:
    return hub.request(
        user,
        "PUT",
        f"api/bookstore/publish/{path}",
        {"type": "notebook", "content": notebook(marker)},
    )


def markers(model: dict[str, Any]) -> str:
    return "".join(cell["source"] for cell in model["content"]["cells"])


@dataclass
class Scene:
    """bob's saved secret (two versions) and publication, alice's publication; names
    unique to one test."""

    hub: Hub
    secret: str  # bob's workspace path
    bobs_old: str  # the older version of it
    bobs_report: str  # published paths
    alices_report: str


@pytest.fixture
def scene(hub: Hub) -> Iterator[Scene]:
    began = time.monotonic()
    for user in ("alice", "bob", "carol", "admin"):
        hub.start_server(user)
    tag = uuid.uuid4().hex[:8]
    secret = f"secret-{tag}.ipynb"
    save(hub, "bob", secret, "bob's first secret")
    save(hub, "bob", secret, "bob's second secret")
    bobs_old = versions(hub, "bob", secret, 2)[-1]
    scene = Scene(hub, secret, bobs_old, f"bob-{tag}.ipynb", f"alice-{tag}.ipynb")
    status, bobs = publish(hub, "bob", scene.bobs_report, "bob's report")
    assert status == 200, bobs
    assert bobs["owner"] == "bob"
    status, alices = publish(hub, "alice", scene.alices_report, "alice's report")
    assert status == 200, alices
    yield scene
    print(f"\nhub started in {hub.timings['hub']:.1f} s; test {time.monotonic() - began:.1f} s")


def test_alice_cannot_clone_read_diff_or_restore_bobs_work(scene: Scene) -> None:
    hub, key = scene.hub, f"workspace/bob/{scene.secret}"
    for body in ({"s3_key": key}, {"s3_key": key, "s3_version_id": scene.bobs_old}):
        status, reply = hub.request("alice", "POST", "api/bookstore/clone", body)
        assert status == 403, reply
        assert "clone_allowed_prefixes" in reply["message"]
    status, page = hub.request("alice", "GET", f"bookstore/clone?s3_key={quote(key, safe='')}")
    assert status == 403
    assert "clone_allowed_prefixes" in page
    assert "bob's" not in page
    status, reply = hub.request("alice", "GET", f"api/bookstore/workspace/{scene.secret}/versions")
    assert status == 200
    assert reply["versions"] == []  # her own history: bob's saves are not in it
    for method, route in (
        ("GET", f"versions/{scene.bobs_old}"),
        ("GET", f"diff?base={scene.bobs_old}&remote=latest"),
        ("POST", f"versions/{scene.bobs_old}"),
    ):
        status, reply = hub.request(
            "alice", method, f"api/bookstore/workspace/{scene.secret}/{route}"
        )
        assert status == 404, (route, reply)
    status, reply = hub.request(
        "alice", "GET", f"api/bookstore/workspace/../bob/{scene.secret}/versions"
    )
    assert status in (400, 404), reply
    status, _ = hub.request("alice", "GET", f"api/contents/{scene.secret}")
    assert status == 404  # nothing was written into alice's workspace


def test_publications_have_owners(scene: Scene) -> None:
    hub = scene.hub
    status, reply = publish(hub, "alice", scene.bobs_report, "alice's take-over")
    assert status == 403, reply
    assert "published by 'bob'" in reply["message"]
    status, reply = hub.request("alice", "DELETE", f"api/bookstore/publish/{scene.bobs_report}")
    assert status == 403, reply
    status, model = hub.request("carol", "GET", f"api/bookstore/published/{scene.bobs_report}")
    assert status == 200, model
    assert markers(model) == "# bob's report"  # bob's readers see his

    status, cloned = hub.request(
        "bob", "POST", "api/bookstore/clone", {"s3_key": f"published/{scene.alices_report}"}
    )
    assert status == 200, cloned
    status, model = hub.request("bob", "GET", f"api/contents/{cloned['path']}")
    assert status == 200
    assert markers(model) == "# alice's report"

    # A hub admin manages both; the owner stays.
    status, edited = publish(hub, "admin", scene.bobs_report, "edited by admin")
    assert status == 200, edited
    assert (edited["owner"], edited["published_by"]) == ("bob", "admin")
    status, reply = hub.request("admin", "DELETE", f"api/bookstore/publish/{scene.alices_report}")
    assert status == 204, reply
    status, catalog = hub.request("carol", "GET", "api/bookstore/published?limit=1000")
    assert status == 200
    owners = {item["path"]: (item["owner"], item["published_by"]) for item in catalog["items"]}
    assert owners[scene.bobs_report] == ("bob", "admin")
    assert scene.alices_report not in owners


def test_the_hubs_scopes_deny_a_clone_to_a_user_without_contents_write(scene: Scene) -> None:
    hub = scene.hub
    status, reply = hub.request(
        "carol", "POST", "api/bookstore/clone", {"s3_key": f"published/{scene.bobs_report}"}
    )
    assert status == 403, reply
    assert "not authorized to write contents" in reply["message"]
    status, _ = hub.request("carol", "GET", f"api/contents/{scene.bobs_report}")
    assert status == 404
    # alice, who holds write:contents, may
    status, reply = hub.request(
        "alice", "POST", "api/bookstore/clone", {"s3_key": f"published/{scene.bobs_report}"}
    )
    assert status == 200, reply


def test_the_audit_trail_lists_every_servers_actions_for_an_admin(scene: Scene) -> None:
    hub, key = scene.hub, f"workspace/bob/{scene.secret}"
    bobs, alices = f"published/{scene.bobs_report}", f"published/{scene.alices_report}"
    hub.request("alice", "POST", "api/bookstore/clone", {"s3_key": key})
    publish(hub, "alice", scene.bobs_report, "again")
    hub.request("bob", "POST", "api/bookstore/clone", {"s3_key": alices})
    hub.request("carol", "POST", "api/bookstore/clone", {"s3_key": bobs})
    hub.request("admin", "DELETE", f"api/bookstore/publish/{scene.bobs_report}")

    status, reply = hub.request("alice", "GET", "api/bookstore/audit")
    assert status == 403, reply
    assert "audit_readers" in reply["message"]
    newest_first = [
        ("admin", "unpublish", "ok", bobs),
        ("carol", "clone", "refused", bobs),
        ("bob", "clone", "ok", alices),
        ("alice", "publish", "refused", bobs),
        ("alice", "clone", "refused", key),
        ("alice", "publish", "ok", alices),
        ("bob", "publish", "ok", bobs),
    ]
    # Each server writes its records just after answering: wait until all are listed.
    deadline = time.monotonic() + DEADLINE
    while True:
        status, trail = hub.request("admin", "GET", "api/bookstore/audit?limit=100")
        assert status == 200, trail
        seen = [
            (event["user"], event["action"], event["outcome"], event.get("key"))
            for event in trail["events"]
        ]
        missing = [event for event in newest_first if event not in seen]
        if not missing:
            break
        assert time.monotonic() < deadline, (missing, seen)
        time.sleep(0.05)
    found = [seen.index(event) for event in newest_first]
    assert found == sorted(found), seen
    [refused] = [e for e in trail["events"] if e.get("key") == key]
    assert refused["server_user"] == "alice"
    assert refused["origin"]["via"] == "server"
    assert "clone_allowed_prefixes" in refused["message"]
