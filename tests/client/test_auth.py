"""The client against real servers with other authentication than a token: a password
only (the client cannot log in and says so) and none at all (it sends an XSRF token)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import nbformat
import pytest
from jupyter_server.auth.security import passwd

from bookstore.client import (
    BookstoreClient,
    NotebookClient,
    NotebookClientCollection,
    ServerNotFoundError,
    TokenRequiredError,
)
from tests.client.harness import ClientServer
from tests.notebooks import make_notebook


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ClientServer]]:
    """A server with a password and no token, and one with no authentication at all,
    started side by side."""
    started: dict[str, ClientServer] = {}
    arguments = {
        "password": (
            "--IdentityProvider.token=",
            f"--PasswordIdentityProvider.hashed_password={passwd('secret')}",
        ),
        "open": ("--IdentityProvider.token=", "--ServerApp.base_url=/user/alice/"),
    }
    try:
        for name, extra in arguments.items():
            tmp = tmp_path_factory.mktemp(f"client-{name}")
            settings = {
                "workspace_prefix": "t/workspace",
                "published_prefix": "t/published",
                "local_store_dir": str(tmp / "store"),
                "archive_spool_dir": str(tmp / "spool"),
            }
            started[name] = ClientServer(tmp, settings, extra)
            started[name].launch()
        for server in started.values():
            server.wait_ready()
        yield started
    finally:
        for server in started.values():
            server.stop()


def test_password_only_server_gives_a_clear_error(servers: dict[str, ClientServer]) -> None:
    server = servers["password"]
    runtime_dir = str(server.runtime_dir)
    (info,) = NotebookClientCollection.running_servers(runtime_dir)
    assert info["token"] == ""
    client = NotebookClient(info)
    with pytest.raises(TokenRequiredError, match="without a token") as caught:
        client.get_sessions()
    assert "token=" in str(caught.value)

    with pytest.raises(ServerNotFoundError, match="needs a password or a token"):
        NotebookClientCollection.current_server("some-kernel", runtime_dir=runtime_dir)

    # a runtime file that says "password" is refused before any request
    with pytest.raises(TokenRequiredError, match="protected by a password"):
        NotebookClient({**info, "password": True})


def test_server_without_authentication_under_a_base_url(
    servers: dict[str, ClientServer],
) -> None:
    server = servers["open"]
    assert server.url.endswith("/user/alice/")
    nbformat.write(nbformat.from_dict(make_notebook("open", cells=1)), server.root / "o.ipynb")

    # found from its runtime file, whose URL has the base URL
    (client,) = NotebookClientCollection.nb_client_gen(str(server.runtime_dir))
    assert client.url + "/" == server.url
    assert client.token == ""

    client = BookstoreClient(server_url=server.url, path="o.ipynb")
    # a state-changing request: jupyter_server checks XSRF when there is no token
    published = client.publish()
    assert published["path"] == "o.ipynb"
    assert published["clone_url"].startswith("/user/alice/bookstore/clone?")
    assert client.versions() == []  # written to disk, never saved through Jupyter

    body = {"type": "notebook", "content": make_notebook("saved", cells=1)}
    client.request_json("PUT", "api/contents/o.ipynb", json_body=body)
    deadline = time.monotonic() + 30
    while not client.versions() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [v["path"] for v in client.versions()] == ["o.ipynb"]
