"""bookstore's Python client run inside real kernels of a real `jupyter server` subprocess
(embedded store): it finds its server and notebook, publishes, lists, diffs, restores and
clones, and says clearly when the notebook cannot be told apart."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.client.harness import TOKEN, ClientServer, InKernel, quoted, running_server

#: The notebook the main kernel belongs to (a folder and a space: paths are URL-encoded).
NB = "reports/weekly report.ipynb"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClientServer]:
    tmp = tmp_path_factory.mktemp("client-local")
    settings = {
        "workspace_prefix": "t/workspace",
        "published_prefix": "t/published",
        "local_store_dir": str(tmp / "store"),
        "archive_spool_dir": str(tmp / "spool"),
        "archive_retry_max_delay": 0.5,
    }
    with running_server(tmp, settings, NB, stale_runtime_file=True) as server:
        yield server


@pytest.fixture(scope="module")
def session(server: ClientServer) -> Iterator[dict[str, Any]]:
    """The notebook session of ``NB`` (a kernel started by the server)."""
    model = server.start_session(NB)
    yield model
    server.end_session(model["id"])


@pytest.fixture(scope="module")
def kernel(server: ClientServer, session: dict[str, Any]) -> Iterator[InKernel]:
    """Runs code in the kernel of ``NB``'s session."""
    in_kernel = server.connect(session["kernel"]["id"])
    yield in_kernel
    in_kernel.close()


def test_finds_its_server_and_notebook(
    server: ClientServer, session: dict[str, Any], kernel: InKernel
) -> None:
    found = kernel.ok(
        "{'servers': len(NotebookClientCollection.running_servers()),"
        " 'url': NotebookClientCollection.current_server().url,"
        " 'path': CurrentNotebookClient().session.path,"
        " 'kernel_id': CurrentNotebookClient().kernel_id,"
        " 'notebook_path': BookstoreClient().notebook_path}"
    )
    assert found == {
        "servers": 2,  # the real one and the stale runtime file, skipped
        "url": server.url.rstrip("/"),
        "path": NB,
        "kernel_id": session["kernel"]["id"],
        "notebook_path": NB,
    }


def test_publish_current_notebook(server: ClientServer, kernel: InKernel) -> None:
    reply = kernel.ok("BookstoreClient().publish()")
    assert reply["path"] == NB
    assert reply["bucket"] == "local"
    assert reply["key"] == f"t/published/{NB}"
    assert reply["s3_path"] == f"s3://local/t/published/{NB}"
    assert reply["size"] > 0
    assert reply["versionID"] in reply["clone_url"]

    published = server.request("GET", f"api/bookstore/published/{quoted(NB)}")
    assert published["version"]["id"] == reply["versionID"]
    assert published["content"]["cells"][0]["source"] == server.first_cell(NB)


def test_versions_diff_and_restore(server: ClientServer, kernel: InKernel) -> None:
    before = len(server.versions(NB))
    server.save(NB, "v2")
    server.save(NB, "v3")
    expected = server.wait_versions(NB, before + 2)
    ids = [v["id"] for v in expected]

    listed = kernel.ok("BookstoreClient().versions()")
    assert [v["id"] for v in listed] == ids
    assert all(v["path"] == NB for v in listed)
    assert [v["is_latest"] for v in listed] == [True] + [False] * (len(ids) - 1)
    # one version per page: the client follows next_token (sent back as page_token)
    assert [v["id"] for v in kernel.ok("BookstoreClient().versions(page_size=1)")] == ids
    assert [v["id"] for v in kernel.ok("BookstoreClient().versions(limit=2)")] == ids[:2]
    assert kernel.ok(f"BookstoreClient().versions({NB!r}, limit=0)") == []

    oldest = ids[-1]
    diff = kernel.ok(f"BookstoreClient().diff(base={oldest!r})")
    assert diff["path"] == NB
    assert diff["base"]["id"] == oldest
    assert diff["remote"]["current"] is True
    assert diff["summary"]["cells_changed"] >= 1
    same = kernel.ok("BookstoreClient().diff(base='latest', remote='current')")
    assert same["diff"] == []

    assert server.first_cell(NB) == "# Notebook v3"
    restored = kernel.ok(f"BookstoreClient().restore({oldest!r})")
    assert restored["path"] == NB
    assert restored["restored_from"]["id"] == oldest
    assert server.first_cell(NB) == "# Notebook v1"


def test_clone_a_published_version(server: ClientServer, kernel: InKernel) -> None:
    published = kernel.ok("BookstoreClient().publish()")
    cloned = kernel.ok(
        f"BookstoreClient().clone('local', {published['key']!r},"
        f" version_id={published['versionID']!r}, target_path='cloned/copy.ipynb')"
    )
    assert cloned["path"] == "cloned/copy.ipynb"
    assert cloned["versionID"] == published["versionID"]
    assert cloned["s3_path"] == published["s3_path"]
    assert server.first_cell("cloned/copy.ipynb") == server.first_cell(NB)
    # the default bucket is the server's; an existing file is never overwritten
    again = kernel.ok(f"BookstoreClient().clone(None, {published['key']!r}, None, 'cloned/')")
    assert again["path"] == "cloned/weekly report.ipynb"
    assert (server.root / "cloned" / "weekly report.ipynb").is_file()


def test_api_error_has_status_and_server_message(server: ClientServer, kernel: InKernel) -> None:
    status, body = server.error_of(
        "POST", f"api/bookstore/workspace/{quoted(NB)}/versions/no-such-version"
    )
    assert status == 404
    outcome = kernel.call("BookstoreClient().restore('no-such-version')")
    assert outcome["error"] == "BookstoreAPIError"
    assert "BookstoreClientError" in outcome["classes"]
    assert outcome["status"] == 404
    assert body["message"] in outcome["message"]
    assert "404" in outcome["message"]

    missing = kernel.call("BookstoreClient().publish('nowhere/missing.ipynb')")
    assert missing["status"] == 404
    assert "nowhere/missing.ipynb" in missing["message"]


def test_two_sessions_on_one_kernel_are_not_guessed(server: ClientServer) -> None:
    (server.root / "shared").mkdir()
    server.save("shared/a.ipynb", "a")
    server.save("shared/b.ipynb", "b")
    first = server.start_session("shared/a.ipynb")
    kernel_id = first["kernel"]["id"]
    second = server.start_session("shared/b.ipynb", kernel_id=kernel_id)
    assert second["kernel"]["id"] == kernel_id
    shared = server.connect(kernel_id)
    try:
        for expression in ("BookstoreClient().publish()", "CurrentNotebookClient().session"):
            outcome = shared.call(expression)
            assert outcome["error"] == "NotebookNotIdentifiedError", outcome
            assert outcome["paths"] == ["shared/a.ipynb", "shared/b.ipynb"]
            assert "'shared/a.ipynb'" in outcome["message"]
            assert "'shared/b.ipynb'" in outcome["message"]
            assert "BookstoreClient(path=" in outcome["message"]
            assert ".publish(" in outcome["message"]

        explicit = shared.ok("BookstoreClient(path='shared/b.ipynb').publish()")
        assert explicit["path"] == "shared/b.ipynb"
        by_argument = shared.ok("BookstoreClient().publish('shared/a.ipynb')")
        assert by_argument["path"] == "shared/a.ipynb"
    finally:
        shared.close()
        server.end_session(second["id"])
        server.end_session(first["id"])


def test_kernel_not_started_by_a_server(server: ClientServer) -> None:
    manager, foreign = server.start_foreign_kernel()
    try:
        for expression in (
            "BookstoreClient()",
            "NotebookClientCollection.current_server()",
            "CurrentNotebookClient()",
        ):
            outcome = foreign.call(expression)
            assert outcome["error"] == "NotebookNotIdentifiedError", outcome
            message = outcome["message"]
            assert "not started by a running Jupyter server" in message
            assert "papermill" in message
            assert server.url in message  # the server asked, and how to name it
            assert "server_url=" in message
            assert "path=" in message
            assert TOKEN not in message

        explicit = f"BookstoreClient(server_url={server.url!r}, token={TOKEN!r}, path={NB!r})"
        versions = foreign.ok(f"{explicit}.versions()")
        assert [v["id"] for v in versions] == [v["id"] for v in server.versions(NB)]
        assert foreign.ok(f"{explicit}.publish()")["path"] == NB

        # the server named but not the notebook: this kernel has no session there
        no_path = foreign.call(
            f"BookstoreClient(server_url={server.url!r}, token={TOKEN!r}).publish()"
        )
        assert no_path["error"] == "NotebookNotIdentifiedError"
        assert "No notebook session" in no_path["message"]
    finally:
        foreign.close()
        manager.shutdown_kernel(now=True)


def test_outside_a_kernel(server: ClientServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from bookstore.client import (
        BookstoreAPIError,
        BookstoreClient,
        CurrentNotebookClient,
        NotebookNotIdentifiedError,
        NotInKernelError,
    )

    with pytest.raises(NotInKernelError, match="not run inside a Jupyter kernel") as caught:
        CurrentNotebookClient()
    assert isinstance(caught.value, NotebookNotIdentifiedError)
    assert "server_url=" in str(caught.value)

    client = BookstoreClient(server_url=server.url, token=TOKEN)
    with pytest.raises(NotInKernelError):
        client.publish()
    assert [v["id"] for v in client.versions(NB)] == [v["id"] for v in server.versions(NB)]
    assert client.publish(f"/{NB}")["path"] == NB  # a leading / means the server's root

    # token-authenticated requests need no XSRF token, but the server's cookie is followed
    assert client.xsrf_token == ""
    if importlib.util.find_spec("jupyterlab") is not None:
        client.request("GET", "lab")  # a page that sets the _xsrf cookie
        assert client.xsrf_token
        assert client.req_session.headers["X-XSRFToken"] == client.xsrf_token
        assert client.publish(NB)["path"] == NB

    with pytest.raises(BookstoreAPIError) as refused:
        BookstoreClient(server_url=server.url, token="wrong-token", path=NB).versions()
    assert refused.value.status == 403

    # the token may come with the URL, as Jupyter prints it
    with_token = BookstoreClient(server_url=f"{server.url}?token={TOKEN}", path=NB)
    assert with_token.versions(limit=1)[0]["is_latest"] is True


def test_finds_the_server_from_runtime_files(server: ClientServer) -> None:
    from jupyter_server.serverapp import list_running_servers

    from bookstore.client import NotebookClientCollection, ServerNotFoundError

    runtime_dir = str(server.runtime_dir)
    ours = NotebookClientCollection.running_servers(runtime_dir)
    theirs = list(list_running_servers(runtime_dir))
    assert sorted(ours, key=lambda i: i["pid"]) == sorted(theirs, key=lambda i: i["pid"])

    clients = list(NotebookClientCollection.nb_client_gen(runtime_dir))
    assert {c.url for c in clients} >= {server.url.rstrip("/")}

    with pytest.raises(ServerNotFoundError, match="No running Jupyter server"):
        NotebookClientCollection.current_server(
            "any-kernel", runtime_dir=str(Path(runtime_dir).parent / "empty")
        )


def test_name_and_pin_versions(server: ClientServer, kernel: InKernel) -> None:
    before = len(server.versions(NB))
    server.save(NB, "named")
    newest, older = (v["id"] for v in server.wait_versions(NB, before + 1)[:2])

    named = kernel.ok(
        f"BookstoreClient().name_version(None, {newest!r}, 'sent to review', 'for Kim')"
    )
    assert (named["id"], named["name"], named["description"]) == (
        newest,
        "sent to review",
        "for Kim",
    )
    assert named["named_by"]
    pinned = kernel.ok(f"BookstoreClient().pin_version({NB!r}, {older!r})")
    assert (pinned["id"], pinned["pinned"], pinned["name"]) == (older, True, None)
    listed = {v["id"]: v for v in kernel.ok("BookstoreClient().versions()")}
    assert (listed[newest]["name"], listed[newest]["pinned"]) == ("sent to review", False)
    assert listed[older]["pinned"] is True
    named_only = kernel.ok("BookstoreClient().versions(named=True)")
    assert [v["id"] for v in named_only] == [newest, older]
    assert [v["id"] for v in kernel.ok("BookstoreClient().versions(named=True, page_size=1)")] == [
        newest,
        older,
    ]

    unpinned = kernel.ok(f"BookstoreClient().pin_version(None, {older!r}, pinned=False)")
    assert unpinned["pinned"] is False
    cleared = kernel.ok(f"BookstoreClient().name_version(None, {newest!r}, None)")
    assert (cleared["name"], cleared["description"]) == (None, "for Kim")
    assert kernel.ok("BookstoreClient().versions(named=True)") == []

    refused = kernel.call(f"BookstoreClient().name_version(None, {newest!r}, 'x' * 121)")
    assert refused["error"] == "BookstoreAPIError"
    assert refused["status"] == 400
    assert "at most 120" in refused["message"]
    missing = kernel.call("BookstoreClient().pin_version(None, 'no-such-version')")
    assert missing["status"] == 404
