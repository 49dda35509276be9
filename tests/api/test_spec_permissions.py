"""The permissions the OpenAPI document states (``x-jupyter-permissions`` on every
operation) are complete and well formed, and the server keeps to them: an authorizer that
refuses exactly one stated ``contents`` or ``kernels`` pair makes that operation answer 403
naming it."""

from __future__ import annotations

from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer

from bookstore.server.openapi import load_spec
from tests.notebooks import make_notebook

SPEC = load_spec()

#: The authorizer action of each HTTP method (jupyter_server's ``@authorized``).
ACTION_OF = {
    "get": "read",
    "put": "write",
    "post": "write",
    "patch": "write",
    "delete": "write",
}
#: The resources a stated pair may name besides ``bookstore``, each checked below.
EXTRA_RESOURCES = ("contents", "kernels")
#: A schedule id no schedule has: the routes that need ``kernels`` get past the check
#: (and answer 404) when it is allowed.
NO_SCHEDULE = "0123456789abcdef01234567"

#: ``(method, path template, operation)`` of every operation of the document.
OPERATIONS = [
    (method, path, operation)
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
    if method in ACTION_OF
]

#: A request for each operation that needs ``contents``, one its stated conditions
#: (``when``) hold for: ``(method, path, params, body)``.  Each would succeed or fail
#: later (the control test checks it is no 403) when ``contents`` is allowed.
REQUESTS: dict[str, tuple[str, str, dict[str, str], Any]] = {
    "publishNotebook": ("PUT", "api/bookstore/publish/a.ipynb", {}, {"version_id": "v1"}),
    "publishNotebookPost": ("POST", "api/bookstore/publish/a.ipynb", {}, {"version_id": "v1"}),
    "cloneFromStore": ("POST", "api/bookstore/clone", {}, {"s3_key": "t/published/a.ipynb"}),
    "cloneFromFileSystem": ("POST", "api/bookstore/fs-clone", {}, {"relpath": "a.ipynb"}),
    "listWorkspaceVersions": ("GET", "api/bookstore/workspace/a.ipynb/versions", {}, None),
    "getWorkspaceVersion": ("GET", "api/bookstore/workspace/a.ipynb/versions/v1", {}, None),
    "restoreWorkspaceVersion": ("POST", "api/bookstore/workspace/a.ipynb/versions/v1", {}, None),
    "annotateWorkspaceVersion": (
        "PATCH",
        "api/bookstore/workspace/a.ipynb/versions/v1",
        {},
        {"name": "x"},
    ),
    "diffWorkspaceVersions": (
        "GET",
        "api/bookstore/workspace/a.ipynb/diff",
        {"base": "latest", "remote": "current"},
        None,
    ),
    "submitRun": ("POST", "api/bookstore/runs", {}, {"path": "a.ipynb"}),
    "createSchedule": (
        "POST",
        "api/bookstore/schedules",
        {},
        {"path": "a.ipynb", "cron": "@daily"},
    ),
    "getRunParameters": ("GET", "api/bookstore/runs/parameters", {"path": "a.ipynb"}, None),
    "updateSchedule": ("PATCH", f"api/bookstore/schedules/{NO_SCHEDULE}", {}, {"name": "x"}),
    "scheduleAction": ("POST", f"api/bookstore/schedules/{NO_SCHEDULE}/run", {}, ""),
}

#: ``(operationId, action, resource)`` for every ``contents`` and ``kernels`` pair the
#: document states.
CONTENTS_CASES = [
    (operation["operationId"], entry["action"], entry["resource"])
    for _, _, operation in OPERATIONS
    for entry in operation["x-jupyter-permissions"]
    if entry["resource"] in EXTRA_RESOURCES
]


class DenyOne(Authorizer):
    """Allows everything but the pair ``denied``."""

    denied: tuple[str, str] | None = None

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return (action, resource) != self.denied


@pytest.fixture
def denied() -> tuple[str, str] | None:
    """The (action, resource) the server's authorizer refuses (parametrized), or None."""
    return None


@pytest.fixture
def bookstore_config(bookstore_config: dict[str, Any], tmp_path: Any) -> dict[str, Any]:
    """File-system cloning on (an empty base directory), so fs-clone gets that far."""
    shared = tmp_path / "shared"
    shared.mkdir()
    return {**bookstore_config, "fs_cloning_basedir": str(shared)}


@pytest.fixture
def jp_server_config(jp_server_config: Any, denied: tuple[str, str] | None) -> Any:
    if denied is not None:
        jp_server_config.ServerApp.authorizer_class = type("Deny", (DenyOne,), {"denied": denied})
    return jp_server_config


@pytest.mark.parametrize(
    ("method", "path", "operation"), OPERATIONS, ids=[op["operationId"] for *_, op in OPERATIONS]
)
def test_every_operation_states_its_permissions(
    method: str, path: str, operation: dict[str, Any]
) -> None:
    permissions = operation.get("x-jupyter-permissions")
    assert isinstance(permissions, list), f"{method.upper()} {path}"
    assert permissions, f"{method.upper()} {path}"
    for entry in permissions:
        assert {"action", "resource"} <= set(entry) <= {"action", "resource", "when"}, entry
        assert entry["action"] in {"read", "write", "execute"}, entry
        assert entry["resource"] in {"bookstore", *EXTRA_RESOURCES}, entry
        when = entry.get("when", "-")
        assert isinstance(when, str), entry
        assert when.strip(), entry
    pairs = [(entry["action"], entry["resource"]) for entry in permissions]
    assert len(set(pairs)) == len(pairs), pairs
    assert {"action": ACTION_OF[method], "resource": "bookstore"} in permissions
    assert "403" in operation["responses"]


def test_the_description_explains_the_permissions() -> None:
    description = SPEC["info"]["description"]
    for words in (
        "x-jupyter-permissions",
        "custom:jupyter_server:{action}:{resource}",
        "bookstore.server.hub_authorizer.HubScopesAuthorizer",
    ):
        assert words in description


def test_every_contents_operation_has_a_request() -> None:
    assert {operation for operation, _, _ in CONTENTS_CASES} == set(REQUESTS)


async def send(fetch_json: Any, operation: str) -> tuple[int, Any]:
    """:data:`REQUESTS`'s request for ``operation`` (checked against the document)."""
    method, path, params, body = REQUESTS[operation]
    status, reply = await fetch_json(
        path, method=method, params=params, body=body, allow_nonstandard_methods=True
    )
    return int(status), reply


@pytest.mark.parametrize("operation", sorted(REQUESTS))
async def test_with_contents_allowed_the_request_gets_further(
    fetch_json: Any, operation: str
) -> None:
    status, reply = await send(fetch_json, operation)
    assert status != 403, reply


@pytest.mark.parametrize(
    ("operation", "denied"),
    [(operation, (action, resource)) for operation, action, resource in CONTENTS_CASES],
    ids=[f"{operation}-{action}-{resource}" for operation, action, resource in CONTENTS_CASES],
)
async def test_refusing_a_stated_pair_is_a_403_naming_it(
    fetch_json: Any, operation: str, denied: tuple[str, str]
) -> None:
    status, reply = await send(fetch_json, operation)
    action, resource = denied
    assert status == 403, reply
    assert f"not authorized to {action} {resource}" in reply["message"], reply


@pytest.mark.parametrize("denied", [("read", "contents")])
async def test_a_pair_with_when_is_needed_only_then(fetch_json: Any) -> None:
    """Publishing the notebook in the body reads no workspace version."""
    body = {"type": "notebook", "content": make_notebook("when", cells=1)}
    status, reply = await fetch_json("api/bookstore/publish/b.ipynb", method="PUT", body=body)
    assert status == 200, reply


@pytest.mark.parametrize("denied", [("execute", "kernels")])
async def test_pausing_a_schedule_needs_no_kernels(fetch_json: Any) -> None:
    """Only the schedule action ``run`` executes code."""
    status, reply = await fetch_json(
        f"api/bookstore/schedules/{NO_SCHEDULE}/pause", method="POST", body=""
    )
    assert status == 404, reply


async def test_the_audit_trail_is_what_the_document_says(
    fetch_json: Any, bookstore_app: Any
) -> None:
    """The audit route's events (ok and refused, of each form) and errors match the
    document (``fetch_json`` checks every reply)."""
    body = {"type": "notebook", "content": make_notebook("audit", cells=1)}
    await fetch_json("api/contents/n.ipynb", method="PUT", body=body)
    await bookstore_app.archiver.drain()
    _, listing = await fetch_json("api/bookstore/workspace/n.ipynb/versions")
    version = listing["versions"][0]["id"]
    for method, path, request in [
        ("PUT", "api/bookstore/publish/a.ipynb", body),
        ("PUT", "api/bookstore/publish/a.ipynb", {"version_id": version, "source_path": "n.ipynb"}),
        ("POST", "api/bookstore/clone", {"s3_key": "t/published/a.ipynb"}),
        ("POST", "api/bookstore/clone", {"s3_key": "elsewhere/a.ipynb"}),  # refused
        ("POST", f"api/bookstore/workspace/n.ipynb/versions/{version}", {}),
        ("DELETE", "api/bookstore/publish/a.ipynb", None),
    ]:
        await fetch_json(path, method=method, body=request, allow_nonstandard_methods=True)
    status, trail = await fetch_json("api/bookstore/audit")
    assert status == 200, trail
    actions = ["unpublish", "restore", "clone", "clone", "publish", "publish"]
    assert [event["action"] for event in trail["events"]] == actions
    _, page = await fetch_json("api/bookstore/audit", params={"limit": "1", "action": "clone"})
    assert page["next_token"], page
    params = {"limit": "1", "action": "clone", "page_token": page["next_token"]}
    assert (await fetch_json("api/bookstore/audit", params=params))[0] == 200
    for params in ({"action": "bogus"}, {"limit": "0"}, {"page_token": "nope"}):
        assert (await fetch_json("api/bookstore/audit", params=params))[0] == 400
