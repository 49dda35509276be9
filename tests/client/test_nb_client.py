"""Pure logic of the client: kernel ids from connection files, server records and URLs,
session models. (Everything that talks to a server is tested against real ones in the
other modules of this folder.)"""

from __future__ import annotations

from typing import Any

import pytest

from bookstore.client import (
    KernelInfo,
    LiveNotebookRecord,
    NotebookClient,
    NotebookSession,
    extract_kernel_id,
)
from bookstore.client.nb_client import quote_path

SERVER_INFO: dict[str, Any] = {
    "base_url": "/user/alice/",
    "hostname": "0.0.0.0",
    "password": False,
    "pid": 4242,
    "port": 8888,
    "root_dir": "/home/alice",
    "secure": False,
    "sock": "",
    "token": "s3cr3t",
    "url": "http://0.0.0.0:8888/user/alice/",
    "version": "2.14.0",
}


@pytest.mark.parametrize(
    ("connection_file", "kernel_id"),
    [
        (
            "/run/jupyter/kernel-0a1b2c3d-4e5f-6789-abcd-ef0123456789.json",
            "0a1b2c3d-4e5f-6789-abcd-ef0123456789",
        ),
        ("kernel-abc.json", "abc"),
        ("/tmp/kernel-dir.json/kernel-x-y.json", "x-y"),
    ],
)
def test_extract_kernel_id(connection_file: str, kernel_id: str) -> None:
    assert extract_kernel_id(connection_file) == kernel_id


@pytest.mark.parametrize(
    "connection_file", ["/tmp/custom.json", "kernel-.json", "kernel-a.json.bak"]
)
def test_extract_kernel_id_refuses_other_names(connection_file: str) -> None:
    with pytest.raises(ValueError, match=r"kernel-<id>\.json"):
        extract_kernel_id(connection_file)


def test_record_from_server_info_maps_root_dir_and_hides_token() -> None:
    record = LiveNotebookRecord.from_server_info(SERVER_INFO)
    assert list(record._fields) == [
        "base_url", "hostname", "notebook_dir", "password", "pid", "port", "secure", "token", "url",
    ]  # fmt: skip
    assert record.notebook_dir == "/home/alice"
    assert record.token == "s3cr3t"
    assert "s3cr3t" not in repr(record)
    # a bookstore 2.x style config (notebook_dir) works too
    assert LiveNotebookRecord.from_server_info(record._asdict()) == record


def test_client_url_from_record() -> None:
    client = NotebookClient(SERVER_INFO)
    # the wildcard address is reached on the loopback one; base_url is kept
    assert client.url == "http://127.0.0.1:8888/user/alice"
    assert client.headers["Authorization"] == "token s3cr3t"
    assert client.xsrf_token == ""
    assert client.api_url("api/sessions") == "http://127.0.0.1:8888/user/alice/api/sessions"
    assert "s3cr3t" not in repr(client)

    secure = NotebookClient({**SERVER_INFO, "secure": True, "url": "http://host:9999/x/"})
    assert secure.url == "https://host:9999/user/alice"


def test_record_from_url() -> None:
    record = LiveNotebookRecord.from_url("https://hub.example.org/user/alice", token="t")
    assert record.url == "https://hub.example.org/user/alice/"
    assert (record.base_url, record.port, record.secure, record.token) == (
        "/user/alice/", 443, True, "t",
    )  # fmt: skip
    from_query = LiveNotebookRecord.from_url("127.0.0.1:8888/?token=abc")
    assert (from_query.url, from_query.token) == ("http://127.0.0.1:8888/", "abc")
    with pytest.raises(ValueError, match="not the http"):
        LiveNotebookRecord.from_url("ftp://example.org/")


def test_unix_socket_servers_are_refused_clearly() -> None:
    from bookstore.client import BookstoreClientError

    info = {**SERVER_INFO, "sock": "/tmp/j.sock", "url": "http+unix://%2Ftmp%2Fj.sock/"}
    with pytest.raises(BookstoreClientError, match="Unix socket"):
        NotebookClient(info)


def test_quote_path_encodes_each_segment() -> None:
    assert quote_path("a b/c#d?.ipynb") == "a%20b/c%23d%3F.ipynb"
    assert quote_path("über/100%.ipynb") == "%C3%BCber/100%25.ipynb"


def test_session_model() -> None:
    model: dict[str, Any] = {
        "id": "s-1",
        "path": "a/b.ipynb",
        "name": "b.ipynb",
        "type": "notebook",
        "kernel": {
            "id": "k-1",
            "name": "python3",
            "last_activity": "2026-01-01T00:00:00Z",
            "execution_state": "idle",
            "connections": 1,
            "reason": "",
        },
        "notebook": {"path": "a/b.ipynb", "name": "b.ipynb"},
    }
    session = NotebookSession(**model)
    assert (session.id, session.path, session.type) == ("s-1", "a/b.ipynb", "notebook")
    assert isinstance(session.kernel, KernelInfo)
    assert session.kernel.id == "k-1"
    assert session.kernel.model["reason"] == ""
    assert session.model == model
    with pytest.raises(TypeError, match="keyword arguments only"):
        NotebookSession(model, **model)
