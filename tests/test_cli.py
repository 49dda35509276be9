"""``jupyter bookstore``: every subcommand against SeaweedFS and the embedded store.

Most cases call :func:`bookstore.cli.main` in-process (fast); a few run the installed
``jupyter`` executable to prove that ``jupyter bookstore`` is found, that exit statuses
reach the shell and that errors are one line without a traceback.  Each test gets its own
workspace folder, Jupyter config/data/runtime directories and a
``jupyter_server_config.json`` that sets ``ServerApp.root_dir`` and ``BookstoreSettings``
(the embedded store under ``tmp_path``, or SeaweedFS with the test's own key prefix).
"""

from __future__ import annotations

import asyncio
import functools
import getpass
import io
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import nbformat
import pytest

import bookstore.cli.output
import bookstore.stores.s3
from bookstore.cli import EXIT_CODES, main
from bookstore.standalone import StandaloneBookstore
from tests.notebooks import first_cell, make_notebook
from tests.s3rig import SeaweedFS
from tests.server_fixtures import both_backends

T = TypeVar("T")

ERROR_PREFIX = "jupyter bookstore: error: "
s3_only = pytest.mark.parametrize("backend", ["s3"], indirect=True)
JUPYTER = str(Path(sys.executable).parent / "jupyter")


#: One notebook (fixed cell ids) that :func:`nb_bytes` varies.
BASE_NOTEBOOK = json.dumps(make_notebook(cells=2, output_bytes=20))


def nb_bytes(marker: str) -> bytes:
    """A small valid notebook whose first cell says ``# Notebook {marker}``, serialised
    unlike Jupyter (indent 2, unsorted keys): a re-serialisation would show."""
    notebook = json.loads(BASE_NOTEBOOK)
    notebook["cells"][0]["source"] = f"# Notebook {marker}"
    return (json.dumps(notebook, indent=2) + "\n").encode()


@dataclass
class Run:
    """The outcome of one ``jupyter bookstore`` run."""

    code: int
    raw: bytes
    err: str

    @property
    def out(self) -> str:
        return self.raw.decode()

    def json(self) -> Any:
        assert self.code == 0, self.err
        return json.loads(self.raw)

    def ok(self) -> Run:
        assert self.code == 0, (self.code, self.err)
        assert self.err == ""
        return self

    def failed(self, code: int, *words: str) -> Run:
        """Assert the run failed with ``code`` and one error line (naming ``words``)."""
        assert self.code == code, (self.code, self.out, self.err)
        assert self.raw == b""
        assert self.err.startswith(ERROR_PREFIX), self.err
        assert self.err.endswith("\n")
        assert self.err.count("\n") == 1, self.err
        assert "Traceback" not in self.err
        for word in words:
            assert word in self.err, (word, self.err)
        return self


@dataclass
class CLI:
    """``jupyter bookstore`` set up for one test on one backend."""

    backend: str
    key_root: str
    bucket: str
    root: Path
    config_dir: Path
    capture: Any

    def __call__(self, *args: str) -> Run:
        self.capture.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's own errors, as the console script sees them
            code = int(exc.code or 0)
        captured = self.capture.readouterr()
        return Run(code, captured.out, captured.err.decode())

    @property
    def workspace_prefix(self) -> str:
        return f"{self.key_root}/workspace"

    @property
    def published_prefix(self) -> str:
        return f"{self.key_root}/published"

    def with_bookstore(self, work: Callable[[StandaloneBookstore], Awaitable[T]]) -> T:
        """Run ``await work(bookstore)`` with the configured StandaloneBookstore."""

        async def run() -> T:
            async with StandaloneBookstore() as bookstore:
                return await work(bookstore)

        return asyncio.run(run())

    def archive(self, path: str, *bodies: bytes) -> list[str]:
        """Write workspace file ``path`` once per body, archived like a server save;
        the new version ids, oldest first."""

        async def work(bookstore: StandaloneBookstore) -> list[str]:
            ids = []
            for body in bodies:
                version = await bookstore.write_workspace_file(path, body, overwrite=True)
                assert version is not None
                ids.append(version)
            return ids

        return self.with_bookstore(work)

    def put(self, key: str, *bodies: bytes) -> list[str]:
        """Put each body as a new version of store key ``key``; the version ids."""

        async def work(bookstore: StandaloneBookstore) -> list[str]:
            store = await bookstore.ready_store()
            return [await store.put(key, body) for body in bodies]

        return self.with_bookstore(work)

    def versions(self, path: str, *extra: str) -> list[str]:
        """The version ids ``versions --json --all`` lists, newest first (``[]`` when the
        file has none: exit 3, with a message naming it)."""
        run = self("versions", path, "--json", "--all", *extra)
        if run.code == 3:
            run.failed(3, "has no versions" if "--published" not in extra else "never published")
            return []
        return [item["id"] for item in run.json()["versions"]]

    def environment(self, **extra: str) -> dict[str, str]:
        """The process environment for running the real executable."""
        return {**os.environ, "NO_COLOR": "1", **extra}


@pytest.fixture
def cli(
    request: pytest.FixtureRequest,
    backend: str,
    key_root: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: Any,
) -> CLI:
    """A workspace under ``tmp_path`` as the current directory, configured through a
    ``jupyter_server_config.json`` in ``JUPYTER_CONFIG_DIR`` like a Jupyter server."""
    root = tmp_path / "workspace"
    root.mkdir()
    config_dir = tmp_path / "jupyter-config"
    config_dir.mkdir()
    for name, folder in (
        ("JUPYTER_CONFIG_DIR", config_dir),
        ("JUPYTER_DATA_DIR", tmp_path / "jupyter-data"),
        ("JUPYTER_RUNTIME_DIR", tmp_path / "jupyter-runtime"),
    ):
        monkeypatch.setenv(name, str(folder))
    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    settings: dict[str, Any] = {
        "workspace_prefix": f"{key_root}/workspace",
        "published_prefix": f"{key_root}/published",
        "audit_prefix": f"{key_root}/audit",
    }
    if backend == "s3":
        seaweedfs = request.getfixturevalue("seaweedfs")
        settings.update(seaweedfs.settings_dict())
        bucket = seaweedfs.bucket
        # Each run makes its S3 client, as a process would; sharing the botocore session
        # only spares each in-process run from parsing botocore's data files again.
        monkeypatch.setattr(bookstore.stores.s3, "AioSession", shared_botocore_session)
    else:
        settings["local_store_dir"] = str(tmp_path / "store")
        bucket = "local"
    write_config(config_dir, settings, root)
    monkeypatch.chdir(root)
    return CLI(backend, key_root, bucket, root, config_dir, capsysbinary)


@functools.cache
def shared_botocore_session() -> Any:
    from aiobotocore.session import AioSession

    return AioSession()


def write_config(config_dir: Path, settings: dict[str, Any], root: Path | None) -> None:
    config: dict[str, Any] = {"BookstoreSettings": settings}
    if root is not None:
        config["ServerApp"] = {"root_dir": str(root)}
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_executables(
    *argvs: list[str], env: dict[str, str], cwd: Path
) -> list[subprocess.CompletedProcess[bytes]]:
    """Run ``jupyter bookstore ARGV`` for each argv, at the same time (each start-up
    takes seconds)."""
    processes = [
        subprocess.Popen(
            [JUPYTER, "bookstore", *argv],
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for argv in argvs
    ]
    done = []
    for argv, process in zip(argvs, processes, strict=True):
        try:
            stdout, stderr = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise
        done.append(subprocess.CompletedProcess(argv, process.returncode, stdout, stderr))
    return done


def status_rows(out: str) -> dict[str, str]:
    """The label -> value rows of ``status``'s table."""
    rows = (re.split(r"\s{2,}", line, maxsplit=1) for line in out.splitlines())
    return {row[0]: row[1] for row in rows}


def one_error_line(stderr: bytes) -> str:
    text = stderr.decode()
    assert "Traceback" not in text, text
    assert text.startswith(ERROR_PREFIX), text
    assert text.count("\n") == 1, text
    return text


# -- status -------------------------------------------------------------------------------


@both_backends
def test_status(cli: CLI) -> None:
    rows = status_rows(cli("status").ok().out)
    assert rows["store"].startswith(f"{cli.backend} store, bucket {cli.bucket!r} (")
    assert rows["state"] == "ok"
    assert rows["versioning"] == "Enabled"
    assert rows["workspace"] == f"{cli.key_root}/workspace/ <- {cli.root}"
    assert rows["published"] == f"{cli.key_root}/published/"
    assert rows["archived types"] == "notebook"
    assert rows["pending saves"] == "0 waiting, 0 set aside"

    document = cli("status", "--json").json()
    assert set(document) >= {
        "release",
        "store",
        "root_dir",
        "workspace_prefix",
        "published_prefix",
        "archive_file_types",
        "spool",
    }
    store = document["store"]
    assert store["backend"] == cli.backend
    assert store["bucket"] == cli.bucket
    assert store["usable"] is True
    assert store["reachable"] is True
    assert store["versioning"] == "Enabled"
    assert store["error"] is None
    assert document["root_dir"] == str(cli.root)
    assert document["workspace_prefix"] == cli.workspace_prefix
    assert document["published_prefix"] == cli.published_prefix
    assert document["archive_file_types"] == ["notebook"]
    assert document["spool"]["pending"] == 0
    assert document["spool"]["failed"] == 0

    # --root-dir wins over ServerApp.root_dir; an empty published prefix reads "off".
    elsewhere = cli.root.parent / "elsewhere"
    elsewhere.mkdir()
    document = cli(
        "status", "--json", "--root-dir", str(elsewhere), "--BookstoreSettings.published_prefix="
    ).json()
    assert document["root_dir"] == str(elsewhere)
    assert document["published_prefix"] is None
    rows = status_rows(cli("status", "--BookstoreSettings.published_prefix=").ok().out)
    assert rows["published"] == "off/"


@s3_only
def test_status_of_an_unreachable_store(cli: CLI, seaweedfs: SeaweedFS) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    run = cli("status", "--json", f"--BookstoreSettings.s3_endpoint_url={endpoint}")
    assert run.code == 5, run.err
    assert run.err == ""
    document = json.loads(run.raw)
    assert document["store"]["usable"] is False
    assert document["store"]["reachable"] is False
    assert endpoint in document["store"]["error"]
    # Commands that need the store say so in one line, with exit status 5.
    cli("versions", "nb.ipynb", f"--BookstoreSettings.s3_endpoint_url={endpoint}").failed(
        5, "127.0.0.1"
    )


# -- publish -------------------------------------------------------------------------------


@both_backends
def test_publish(cli: CLI, tmp_path: Path) -> None:
    body = nb_bytes("pub")
    (cli.root / "sub").mkdir()
    (cli.root / "sub" / "nb.ipynb").write_bytes(body)
    published = f"s3://{cli.bucket}/{cli.published_prefix}/sub/nb.ipynb"

    run = cli("publish", "sub/nb.ipynb").ok()
    assert run.out.startswith(f"Published {published} (version ")
    first = run.out.rstrip().rpartition(" ")[2].rstrip(")")

    result = cli("publish", "sub/nb.ipynb", "--json").json()
    assert result["s3_path"] == published
    assert result["key"] == f"{cli.published_prefix}/sub/nb.ipynb"
    assert result["path"] == "sub/nb.ipynb"
    assert result["versionID"] != first
    assert cli.versions("sub/nb.ipynb", "--published") == [result["versionID"], first]
    # What is published is the notebook (as Jupyter serialises it).
    shown = cli("show", "--published", "sub/nb.ipynb").ok().raw
    assert nbformat.reads(shown.decode(), as_version=4) == nbformat.reads(
        body.decode(), as_version=4
    )

    result = cli("publish", "sub/nb.ipynb", "--as", "other/name.ipynb", "--json").json()
    assert result["s3_path"] == f"s3://{cli.bucket}/{cli.published_prefix}/other/name.ipynb"
    assert first_cell(cli("show", "--published", "other/name.ipynb").raw) == "# Notebook pub"

    # A notebook outside the workspace is published under its name.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "lone.ipynb").write_bytes(body)
    result = cli("publish", str(outside / "lone.ipynb"), "--json").json()
    assert result["key"] == f"{cli.published_prefix}/lone.ipynb"


@both_backends
def test_publish_an_archived_version(cli: CLI) -> None:
    old, new = nb_bytes("old"), nb_bytes("new")
    v_old, _ = cli.archive("nb.ipynb", old, new)
    result = cli("publish", "nb.ipynb", "--version", v_old, "--json").json()
    assert result["key"] == f"{cli.published_prefix}/nb.ipynb"
    assert result["source"] == {"path": "nb.ipynb", "version_id": v_old}
    # The archived bytes are copied as they are.
    assert cli("show", "--published", "nb.ipynb").ok().raw == old
    run = cli("publish", "nb.ipynb", "--version", v_old, "--as", "old.ipynb").ok()
    assert run.out.startswith(f"Published s3://{cli.bucket}/{cli.published_prefix}/old.ipynb ")
    assert cli("show", "--published", "old.ipynb").raw == old
    cli("publish", "nb.ipynb", "--version", "no-such-version").failed(3)
    cli("publish", "nb.ipynb", "--version", "bad id").failed(2)


@both_backends
def test_publish_errors(cli: CLI) -> None:
    (cli.root / "broken.ipynb").write_bytes(b'{"cells": [')
    cli("publish", "broken.ipynb").failed(2, "not valid JSON")
    (cli.root / "schema.ipynb").write_text(json.dumps({"nbformat": 4, "cells": "no"}))
    cli("publish", "schema.ipynb").failed(2, "Not a valid notebook")
    cli("publish", "missing.ipynb").failed(3, "missing.ipynb")
    (cli.root / "folder.ipynb").mkdir()
    cli("publish", "folder.ipynb").failed(2, "folder")
    (cli.root / "nb.ipynb").write_bytes(nb_bytes("x"))
    cli("publish", "nb.ipynb", "--as", "x.txt").failed(2, "x.txt")
    cli("publish", "nb.ipynb", "--as", "../up.ipynb").failed(2)
    cli("publish", "nb.ipynb", "--BookstoreSettings.published_prefix=").failed(
        4, "published_prefix"
    )
    # Nothing was published.
    cli("versions", "--published", "nb.ipynb").failed(3, "'nb.ipynb' was never published")


# -- versions ----------------------------------------------------------------------------


@both_backends
def test_versions(cli: CLI) -> None:
    bodies = [nb_bytes(f"v{n}") for n in range(1, 4)]
    v1, v2, v3 = cli.archive("sub/nb.ipynb", *bodies)

    run = cli("versions", "sub/nb.ipynb").ok()
    lines = run.out.splitlines()
    assert lines[0].split() == ["VERSION", "SAVED", "SIZE", "AS"]
    assert [line.split()[0] for line in lines[1:]] == [v3, v2, v1]
    assert lines[1].split()[-1] == "latest"
    assert "latest" not in lines[2] + lines[3]
    assert f"{len(bodies[2])} B" in lines[1]

    listing = cli("versions", "sub/nb.ipynb", "--json").json()
    assert listing["path"] == "sub/nb.ipynb"
    assert listing["next_token"] is None
    items = listing["versions"]
    assert [item["id"] for item in items] == [v3, v2, v1]
    assert [item["is_latest"] for item in items] == [True, False, False]
    assert [item["size"] for item in items] == [len(body) for body in reversed(bodies)]
    assert {item["path"] for item in items} == {"sub/nb.ipynb"}
    assert all(item["last_modified"].endswith("Z") for item in items)

    # Pages: a hint to go on, and the token continues where the page stopped.
    run = cli("versions", "sub/nb.ipynb", "--limit", "2").ok()
    lines = run.out.splitlines()
    assert [line.split()[0] for line in lines[1:3]] == [v3, v2]
    assert lines[-1].startswith("(more: --page-token ")
    assert lines[-1].endswith(", or --all)")
    token = lines[-1].removeprefix("(more: --page-token ").removesuffix(", or --all)")
    rest = cli("versions", "sub/nb.ipynb", "--limit", "2", "--page-token", token).ok()
    assert [line.split()[0] for line in rest.out.splitlines()[1:]] == [v1]
    page = cli("versions", "sub/nb.ipynb", "--limit", "2", "--json").json()
    assert page["next_token"] == token
    assert [item["id"] for item in page["versions"]] == [v3, v2]
    everything = cli("versions", "sub/nb.ipynb", "--limit", "1", "--all", "--json").json()
    assert [item["id"] for item in everything["versions"]] == [v3, v2, v1]
    assert everything["next_token"] is None
    cli("versions", "sub/nb.ipynb", "--page-token", "garbage").failed(2, "page token")
    # The local path may be given any way that lands in the workspace.
    assert cli.versions(str(cli.root / "sub" / "nb.ipynb")) == [v3, v2, v1]
    os.chdir(cli.root / "sub")
    assert cli.versions("nb.ipynb") == [v3, v2, v1]
    os.chdir(cli.root)

    # Published versions are their own history.
    (cli.root / "pub.ipynb").write_bytes(bodies[0])
    published = [cli("publish", "pub.ipynb", "--json").json()["versionID"] for _ in range(2)]
    assert cli.versions("pub.ipynb", "--published") == published[::-1]
    assert cli.versions("pub.ipynb") == []

    # No versions: exit 3 (as show and diff), naming the file looked for and the root.
    cli("versions", "unknown.ipynb").failed(
        3, "'unknown.ipynb' has no versions", str(cli.root / "unknown.ipynb"), "ServerApp.root_dir"
    )
    cli("versions", "unknown.ipynb", "--json").failed(3, "unknown.ipynb")
    cli("versions", "--published", "unknown.ipynb").failed(3, "never published")
    cli("versions", "../outside.ipynb").failed(2, "outside the workspace root")
    cli("versions", "--published", "../outside.ipynb").failed(2)
    cli("versions", ".").failed(2, "folder")


@both_backends
def test_versions_lists_the_saves_still_in_the_spool(cli: CLI) -> None:
    """A save a server acknowledged but has not archived yet is listed, marked pending,
    and can be shown (read back from the server's spool)."""
    from bookstore.core.archive import Spool

    (archived,) = cli.archive("p.ipynb", nb_bytes("archived"))
    spool_dir = cli.with_bookstore(lambda bookstore: asyncio.sleep(0, bookstore.spool_dir()))
    Spool(spool_dir).add_bytes(f"{cli.key_root}/workspace/p.ipynb", "p.ipynb", nb_bytes("pending"))

    listing = cli("versions", "p.ipynb", "--json").json()
    pending, stored = listing["versions"]
    assert pending["id"].startswith("pending-")
    assert (pending["pending"], pending["is_latest"]) == (True, True)
    assert (stored["id"], stored["pending"], stored["is_latest"]) == (archived, False, False)
    run = cli("versions", "p.ipynb").ok()
    assert run.out.splitlines()[1].split()[-2:] == ["latest", "pending"]
    shown = cli("show", "p.ipynb", pending["id"]).ok()
    assert "# Notebook pending" in shown.out


def test_versions_usage_errors(cli: CLI) -> None:
    for limit in ("0", "1001", "many"):
        cli("versions", "nb.ipynb", "--limit", limit).failed(2, "--limit")
    cli("versions").failed(2, "PATH")


# -- show --------------------------------------------------------------------------------


@both_backends
def test_show(cli: CLI) -> None:
    v1_body, v2_body = nb_bytes("one"), nb_bytes("two")
    v1, v2 = cli.archive("nb.ipynb", v1_body, v2_body)

    assert cli("show", "nb.ipynb").ok().raw == v2_body
    assert cli("show", "nb.ipynb", "latest").ok().raw == v2_body
    assert cli("show", "nb.ipynb", v1).ok().raw == v1_body

    run = cli("show", "nb.ipynb", v1, "-o", "out/copy.ipynb")
    assert run.code == 0, run.err
    assert run.raw == b""
    assert run.err == f"Wrote version {v1} of nb.ipynb to out/copy.ipynb\n"
    assert (cli.root / "out" / "copy.ipynb").read_bytes() == v1_body
    # -o writes a plain file: it is not archived.
    assert cli.versions("out/copy.ipynb") == []
    cli("show", "nb.ipynb", "-o", "out/copy.ipynb").failed(4, "exists", "--force")
    assert (cli.root / "out" / "copy.ipynb").read_bytes() == v1_body
    assert cli("show", "nb.ipynb", "-o", "out/copy.ipynb", "--force").code == 0
    assert (cli.root / "out" / "copy.ipynb").read_bytes() == v2_body
    cli("show", "nb.ipynb", "-o", "out").failed(4, "folder")

    model = cli("show", "nb.ipynb", v1, "--json").json()
    assert model["path"] == "nb.ipynb"
    assert model["type"] == "notebook"
    assert model["format"] == "json"
    assert model["writable"] is False
    assert model["size"] == len(v1_body)
    assert model["content"]["cells"][0]["source"] == "# Notebook one"
    assert model["version"]["id"] == v1
    assert model["version"]["is_latest"] is False
    assert cli("show", "nb.ipynb", "--json").json()["version"]["id"] == v2

    cli("show", "nb.ipynb", "no-such-version").failed(3, "no-such-version")
    cli("show", "never.ipynb").failed(3, "never.ipynb")
    cli("show", "nb.ipynb", "has space").failed(2, "version id")
    cli("show", "nb.ipynb", "ctrl\x01char").failed(2, "version id")
    cli("show", "--published", "nb.ipynb").failed(3, "not published")
    cli("show", "../nb.ipynb").failed(2, "outside")


# -- diff --------------------------------------------------------------------------------


def test_diff_of_a_file_that_is_no_notebook(cli: CLI) -> None:
    """Usage first: the path is wrong whatever the configuration (exit 2, not 4)."""
    cli("diff", "notes.txt").failed(2, "Diffs are for notebooks")
    cli("diff", "notes.txt", "--BookstoreSettings.workspace_prefix=").failed(
        2, "Diffs are for notebooks"
    )
    cli("diff", "nb.ipynb", "--BookstoreSettings.workspace_prefix=").failed(4, "history is off")


@both_backends
def test_diff(cli: CLI) -> None:
    v1, v2 = cli.archive("nb.ipynb", nb_bytes("one"), nb_bytes("two"))

    run = cli("diff", "nb.ipynb", v1, v2).ok()
    assert f"nb.ipynb@{v1}" in run.out
    assert f"nb.ipynb@{v2}" in run.out
    assert "-  # Notebook one" in run.out
    assert "+  # Notebook two" in run.out
    assert run.out.endswith("\n1 cell changed\n")
    assert "\x1b[" not in run.out  # no colours when not on a terminal

    document = cli("diff", "nb.ipynb", v1, v2, "--json").json()
    assert document["path"] == "nb.ipynb"
    assert document["base"]["id"] == v1
    assert document["remote"]["id"] == v2
    assert document["diff"]
    assert document["summary"] == {
        "cells_added": 0,
        "cells_removed": 0,
        "cells_changed": 1,
        "metadata_changed": False,
        "text": "1 cell changed",
    }
    assert cli("diff", "nb.ipynb", v1, v2, "--exit-code").code == 1
    assert cli("diff", "nb.ipynb", v2, "latest", "--exit-code").ok().out == (
        f"nb.ipynb: no changes between {v2} and {v2}\n"
    )

    # The default: the latest version against the file as it is now.
    run = cli("diff", "nb.ipynb", "--exit-code").ok()
    assert run.out == f"nb.ipynb: no changes between {v2} and current\n"
    notebook = nbformat.reads(nb_bytes("two").decode(), as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell("added = True"))
    notebook.cells[1].source = "print('edited')"
    nbformat.write(notebook, cli.root / "nb.ipynb")
    run = cli("diff", "nb.ipynb", "--exit-code")
    assert run.code == 1, run.err
    assert f"nb.ipynb@{v2}" in run.out
    assert "nb.ipynb@current" in run.out
    assert "+  print('edited')" in run.out
    assert "added = True" in run.out
    assert run.out.endswith("\n1 cell added, 1 cell changed\n")
    document = cli("diff", "nb.ipynb", v1, "--json").json()
    assert document["remote"]["current"] is True
    assert document["remote"]["id"] is None
    assert document["remote"]["path"] == "nb.ipynb"
    # Times in the JSON are UTC with a Z, like the API's (the file's mtime too).
    assert document["base"]["last_modified"].endswith("Z")
    assert document["remote"]["last_modified"].endswith("Z")
    assert document["summary"]["text"] == "1 cell added, 2 cells changed"
    assert cli("diff", "nb.ipynb", v1).ok().out.endswith("\n1 cell added, 2 cells changed\n")

    # Published notebooks: latest by default, never 'current'.
    cli("publish", "nb.ipynb", "--version", v1).ok()
    cli("publish", "nb.ipynb", "--version", v2).ok()
    published = cli("diff", "--published", "nb.ipynb", "--json").json()
    assert published["base"]["id"] == published["remote"]["id"]
    assert published["diff"] == []
    cli("diff", "--published", "nb.ipynb", "latest", "current").failed(2, "current")

    (cli.root / "notes.txt").write_text("text\n")
    cli("diff", "notes.txt").failed(2, ".ipynb")
    cli("diff", "nb.ipynb", "no-such-version").failed(3)
    cli("diff", "nb.ipynb", "bad id").failed(2)
    (cli.root / "nb.ipynb").unlink()
    cli("diff", "nb.ipynb").failed(3, "nb.ipynb")
    cli("diff", "never.ipynb", v1).failed(3)


# -- restore -----------------------------------------------------------------------------


@both_backends
def test_restore(cli: CLI) -> None:
    v1_body, v2_body, edited = nb_bytes("one"), nb_bytes("two"), nb_bytes("edited, not saved")
    v1, v2 = cli.archive("sub/nb.ipynb", v1_body, v2_body)
    local = cli.root / "sub" / "nb.ipynb"
    local.write_bytes(edited)

    run = cli("restore", "sub/nb.ipynb", v1).ok()
    assert run.out.startswith(f"Restored sub/nb.ipynb to version {v1} of ")
    assert local.read_bytes() == v1_body
    history = cli.versions("sub/nb.ipynb")
    assert len(history) == 4
    restored, kept = history[0], history[1]
    assert run.out.rstrip().endswith(f"; it is now version {restored}")
    assert history[2:] == [v2, v1]
    # What was in the file is a version now: nothing was lost.
    assert cli("show", "sub/nb.ipynb", kept).raw == edited
    assert cli("show", "sub/nb.ipynb").raw == v1_body

    # Restoring the state the file is in makes no duplicate version.
    document = cli("restore", "sub/nb.ipynb", v1, "--json").json()
    assert document["path"] == "sub/nb.ipynb"
    assert document["restored_from"]["id"] == v1
    assert document["version_id"] == restored
    assert document["archive"] == "archived"
    assert cli.versions("sub/nb.ipynb") == history

    cli("restore", "sub/nb.ipynb", "no-such-version").failed(3)
    cli("restore", "sub/nb.ipynb", "bad id").failed(2)
    cli("restore", "../nb.ipynb", v1).failed(2)
    assert local.read_bytes() == v1_body
    assert cli.versions("sub/nb.ipynb") == history

    # A deleted file comes back.
    local.unlink()
    cli("restore", "sub/nb.ipynb", v2).ok()
    assert local.read_bytes() == v2_body
    assert len(cli.versions("sub/nb.ipynb")) == 5


@both_backends
def test_restore_never_drops_a_file_that_is_not_archived(cli: CLI) -> None:
    # Text files are not archived by default (archive_file_types = ["notebook"]): a version
    # of one, from when they were, must not overwrite what the file holds unasked.
    (v1,) = cli.put(f"{cli.workspace_prefix}/notes.txt", b"version one\n")
    local = cli.root / "notes.txt"
    local.write_bytes(b"edited, in no version\n")

    cli("restore", "notes.txt", v1).failed(4, "not archived", "--force")
    assert local.read_bytes() == b"edited, in no version\n"

    run = cli("restore", "notes.txt", v1, "--force").ok()
    assert run.out.rstrip().endswith("(not archived)")
    assert local.read_bytes() == b"version one\n"
    assert cli.versions("notes.txt") == [v1]
    # Content equal to the version: nothing to lose, no --force needed.
    cli("restore", "notes.txt", v1).ok()


class Terminal(io.StringIO):
    """A stderr that says it is a terminal (where progress bars are shown)."""

    def isatty(self) -> bool:
        return True


@both_backends
def test_progress_bar_on_a_terminal(
    cli: CLI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # ~2.4 MB: S3 reads it in 1 MiB chunks, each reported to the bar.
    body = json.dumps(make_notebook("big", cells=40, output_bytes=60_000)).encode()
    cli.put(f"{cli.workspace_prefix}/big.ipynb", body)
    monkeypatch.setattr(bookstore.cli.output, "PROGRESS_DELAY", 0)

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["show", "big.ipynb", "-o", str(tmp_path / "out.ipynb")]) == 0
    assert (tmp_path / "out.ipynb").read_bytes() == body
    shown = terminal.getvalue()
    assert "reading big.ipynb" in shown
    assert "100%" in shown
    assert "2.3" in shown  # the size, in MiB

    # No bar with --json (output for programs), nor when stderr is no terminal.
    for stderr in (Terminal(), io.StringIO()):
        monkeypatch.setattr(sys, "stderr", stderr)
        json_flag = ["--json"] if isinstance(stderr, Terminal) else []
        out = tmp_path / f"out-{len(json_flag)}.ipynb"
        assert main(["show", "big.ipynb", "-o", str(out), *json_flag]) == 0
        assert "reading" not in stderr.getvalue()


# -- clone --------------------------------------------------------------------------------


@both_backends
def test_clone(cli: CLI, tmp_path: Path) -> None:
    old, new = nb_bytes("old"), nb_bytes("new")
    key = f"{cli.key_root}/shared/src.ipynb"
    v_old, v_new = cli.put(key, old, new)

    run = cli("clone", cli.bucket, key).ok()
    assert run.out == f"Cloned s3://{cli.bucket}/{key} (version {v_new}) to src.ipynb\n"
    assert (cli.root / "src.ipynb").read_bytes() == new
    # A clone into the workspace is archived like a save.
    archived = cli.versions("src.ipynb")
    assert len(archived) == 1
    assert cli("show", "src.ipynb").raw == new

    # An existing target is refused, and left alone, unless --force.
    cli("clone", f"s3://{cli.bucket}/{key}", "--version", v_old).failed(4, "--force")
    assert (cli.root / "src.ipynb").read_bytes() == new
    document = cli(
        "clone", f"s3://{cli.bucket}/{key}", "--version", v_old, "--force", "--json"
    ).json()
    assert (cli.root / "src.ipynb").read_bytes() == old
    assert document["s3_path"] == f"s3://{cli.bucket}/{key}"
    assert document["versionID"] == v_old
    assert document["path"] == str(cli.root / "src.ipynb")
    assert document["size"] == len(old)
    assert document["workspace_version_id"] is not None
    assert cli.versions("src.ipynb") == [document["workspace_version_id"], *archived]
    # What a forced clone overwrites becomes a version first, as with restore.
    edited = nb_bytes("edited, in no version")
    (cli.root / "src.ipynb").write_bytes(edited)
    forced = cli("clone", cli.bucket, key, "--force", "--json").json()
    assert (cli.root / "src.ipynb").read_bytes() == new
    history = cli.versions("src.ipynb")
    assert history[0] == forced["workspace_version_id"]
    assert cli("show", "src.ipynb", history[1]).raw == edited

    run = cli("clone", f"s3://{cli.bucket}/{key}", "--version", v_old, "-o", "sub/dir/x.ipynb")
    assert run.ok().out.endswith(" to sub/dir/x.ipynb\n")
    assert (cli.root / "sub" / "dir" / "x.ipynb").read_bytes() == old
    assert len(cli.versions("sub/dir/x.ipynb")) == 1

    # Outside the workspace: a plain file, not archived; the default name is the key's.
    outside = tmp_path / "outside"
    outside.mkdir()
    os.chdir(outside)
    document = cli("clone", cli.bucket, key, "--json").json()
    assert document["path"] == str(outside / "src.ipynb")
    assert document["workspace_version_id"] is None
    assert (outside / "src.ipynb").read_bytes() == new
    os.chdir(cli.root)

    # Any object, byte for byte; only notebooks are archived (archive_file_types).
    data = bytes(range(256)) * 4
    cli.put(f"{cli.key_root}/shared/data.bin", data)
    document = cli("clone", cli.bucket, f"{cli.key_root}/shared/data.bin", "--json").json()
    assert (cli.root / "data.bin").read_bytes() == data
    assert document["workspace_version_id"] is None
    assert cli.versions("data.bin") == []


@both_backends
def test_acting_for_a_user_follows_their_clone_policy_and_is_audited(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace = f"--BookstoreSettings.workspace_prefix={cli.key_root}/ws/{{username}}"
    bobs = f"{cli.key_root}/ws/bob/secret.ipynb"
    cli.put(bobs, nb_bytes("bob's"))
    cli.put(f"{cli.key_root}/ws/alice/mine.ipynb", nb_bytes("alice's"))
    for as_alice in (("--as-user", "alice"), ()):
        if not as_alice:
            monkeypatch.setenv("JUPYTERHUB_USER", "alice")  # a hub user's terminal
        cli("clone", cli.bucket, bobs, *as_alice, workspace).failed(
            4, "You may clone only keys under", "clone_allowed_prefixes"
        )
        assert not (cli.root / "secret.ipynb").exists()
    monkeypatch.delenv("JUPYTERHUB_USER")
    cli(
        "clone", cli.bucket, f"{cli.key_root}/ws/alice/mine.ipynb", "--as-user", "alice", workspace
    ).ok()
    cli("clone", cli.bucket, bobs, workspace).ok()  # an operator's shell reads any key

    trail = cli("audit", "--json", "--action", "clone").json()["events"]
    assert [(e["user"], e["outcome"], e["key"]) for e in trail] == [
        (getpass.getuser(), "ok", bobs),
        ("alice", "ok", f"{cli.key_root}/ws/alice/mine.ipynb"),
        ("alice", "refused", bobs),
        ("alice", "refused", bobs),
    ]
    assert {e["origin"]["via"] for e in trail} == {"cli"}
    cli("audit", "--as-user", "alice").failed(4, "audit_readers")
    table = cli("audit").ok().out
    assert "refused" in table
    assert table.splitlines()[0].split() == [
        "TIME",
        "USER",
        "ACTION",
        "OUTCOME",
        "KEY",
        "VERSION",
        "FROM",
    ]


@both_backends
def test_clone_errors(cli: CLI) -> None:
    key = f"{cli.key_root}/shared/src.ipynb"
    cli.put(key, nb_bytes("src"))
    broken = f"{cli.key_root}/shared/broken.ipynb"
    cli.put(broken, b'{"nbformat": 4, "cells": ')
    (cli.root / "src.ipynb").write_bytes(b"mine")
    other_bucket = "other-bucket"

    cli("clone", other_bucket, key, "-o", "a.ipynb").failed(4, other_bucket)
    cli("clone", cli.bucket, f"{cli.key_root}/shared/missing.ipynb").failed(3)
    cli("clone", cli.bucket, key, "--version", "no-such-version", "-o", "a.ipynb").failed(3)
    cli("clone", cli.bucket, key, "--version", "bad id", "-o", "a.ipynb").failed(2)
    cli("clone", cli.bucket, broken).failed(2, "not valid JSON")
    cli("clone", cli.bucket, f"{cli.key_root}/shared/").failed(2)
    cli("clone", cli.bucket).failed(2, "s3://BUCKET/KEY")
    cli("clone", "s3://only-a-bucket").failed(2, "s3://BUCKET/KEY")
    cli("clone", cli.bucket, key, "--BookstoreSettings.enable_s3_cloning=False").failed(
        4, "enable_s3_cloning"
    )
    cli("clone", cli.bucket, key).failed(4, "exists")
    assert (cli.root / "src.ipynb").read_bytes() == b"mine"
    assert sorted(path.name for path in cli.root.iterdir()) == ["src.ipynb"]
    assert cli.versions("broken.ipynb") == []
    assert cli.versions("a.ipynb") == []


@s3_only
def test_clone_from_another_allowed_bucket(cli: CLI, seaweedfs: SeaweedFS) -> None:
    other = seaweedfs.create_bucket()
    key = f"{cli.key_root}/elsewhere.ipynb"
    body = nb_bytes("elsewhere")
    client = seaweedfs.client()
    try:
        version = client.put_object(Bucket=other, Key=key, Body=body)["VersionId"]
    finally:
        client.close()
    cli("clone", other, key).failed(4, other)
    allow = [
        f"--BookstoreSettings.clone_allowed_buckets={cli.bucket}",
        f"--BookstoreSettings.clone_allowed_buckets={other}",
    ]
    run = cli("clone", f"s3://{other}/{key}", *allow).ok()
    assert run.out == f"Cloned s3://{other}/{key} (version {version}) to elsewhere.ipynb\n"
    assert (cli.root / "elsewhere.ipynb").read_bytes() == body


# -- usage and configuration errors --------------------------------------------------------


def test_usage_errors(cli: CLI) -> None:
    for argv in (["frobnicate"], [], ["status", "extra"]):
        cli(*argv).failed(2)
    cli("status", "--bogus").failed(2, "--bogus")
    cli("versions", "nb.ipynb", "--NotBookstore.x=1").failed(2, "--NotBookstore.x=1")
    cli("status", "--BookstoreSettings.s3_buckt=x").failed(2, "no setting 's3_buckt'")
    cli("versions", "--BookstoreSettings.s3_bucket", "b", "nb.ipynb").failed(
        2, "--BookstoreSettings.<name>=<value>"
    )
    cli("status", "--BookstoreSettings.max_threads=0").failed(2, "invalid configuration")
    # argparse's own errors are one line too, with where to find help.
    cli("versions").failed(2, "PATH", "jupyter bookstore versions --help")
    cli("versions", "nb.ipynb", "--limit", "0").failed(2, "--limit", "between 1 and 1000")
    cli("frobnicate").failed(2, "invalid choice", "jupyter bookstore --help")
    cli("status", "--BookstoreSettings.max_threads=many").failed(2)
    run = cli("--help")
    assert run.code == 0
    assert "exit status: " in run.out
    assert " ".join(EXIT_CODES[3].split()[:3]) in " ".join(run.out.split())


# -- the real executable and the environment -----------------------------------------------


def test_executable_on_the_embedded_store(cli: CLI) -> None:
    """``jupyter bookstore`` runs as a command; bytes and exit statuses reach the shell."""
    body = nb_bytes("shell")
    v1, _ = cli.archive("nb.ipynb", body, nb_bytes("later"))
    shown, missing = run_executables(
        ["show", "nb.ipynb", v1],
        ["show", "nb.ipynb", "no-such-version"],
        env=cli.environment(),
        cwd=cli.root,
    )
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == body
    assert shown.stderr == b""
    assert missing.returncode == 3
    assert missing.stdout == b""
    assert "no-such-version" in one_error_line(missing.stderr)


def test_configured_by_environment_variables(
    cli: CLI, seaweedfs: SeaweedFS, s3_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only ``JPYNB_S3_*`` name the store: no S3 setting in any config file."""
    write_config(
        cli.config_dir,
        {"workspace_prefix": f"{s3_prefix}/ws", "published_prefix": f"{s3_prefix}/pub"},
        root=None,
    )
    (done,) = run_executables(
        ["status", "--json"], env=cli.environment(**seaweedfs.s3_env()), cwd=cli.root
    )
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["store"]["backend"] == "s3"
    assert document["store"]["bucket"] == seaweedfs.bucket
    assert document["store"]["location"] == seaweedfs.endpoint_url
    assert document["store"]["usable"] is True
    assert document["workspace_prefix"] == f"{s3_prefix}/ws"
    # The current directory is the workspace when no root_dir is configured.
    assert document["root_dir"] == str(cli.root)

    # In-process as well: the same variables drive every command.
    for name, value in seaweedfs.s3_env().items():
        monkeypatch.setenv(name, value)
    (cli.root / "nb.ipynb").write_bytes(nb_bytes("env"))
    result = cli("publish", "nb.ipynb", "--json").json()
    assert result["s3_path"] == f"s3://{seaweedfs.bucket}/{s3_prefix}/pub/nb.ipynb"
    # Explicit configuration wins over the environment.
    assert (
        cli("status", "--json", "--BookstoreSettings.s3_bucket=").json()["store"]["backend"]
        == "local"
    )
    # A wrong secret: the store refuses the credentials (exit 5, one line).
    monkeypatch.setenv("JPYNB_S3_SECRET_ACCESS_KEY", "wrong")
    cli("versions", "nb.ipynb").failed(5)


def test_a_workspace_root_behind_a_symlink(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A root dir reached through a symlink: files named through the link or through the
    real folder are in the workspace, and the spool is the one a server on that root uses."""
    from jupyter_server.serverapp import ServerApp
    from traitlets.config import Config

    from bookstore.core.archive import default_spool_dir
    from bookstore.errors import InvalidPath

    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    bookstore = StandaloneBookstore(
        Config(), root_dir=str(link), local_store_dir=str(tmp_path / "store")
    )
    assert bookstore.workspace_path(link / "b.ipynb") == "b.ipynb"
    assert bookstore.workspace_path(real / "b.ipynb") == "b.ipynb"
    monkeypatch.chdir(link)  # The current directory is then the real folder.
    assert bookstore.workspace_path("sub/c.ipynb") == "sub/c.ipynb"
    with pytest.raises(InvalidPath, match="outside the workspace root"):
        bookstore.workspace_path(tmp_path / "elsewhere.ipynb")
    server_root = ServerApp(root_dir=str(link)).root_dir
    assert bookstore.spool_dir() == default_spool_dir(server_root)


def test_new_files_get_the_mode_of_the_umask(tmp_path: Path) -> None:
    """Written as any new file (0o666 less the umask); an overwritten file keeps its mode."""
    from bookstore.standalone import write_file_atomically

    previous = os.umask(0o027)
    try:
        write_file_atomically(tmp_path / "new.ipynb", b"{}")
    finally:
        os.umask(previous)
    assert (tmp_path / "new.ipynb").stat().st_mode & 0o777 == 0o640
    (tmp_path / "new.ipynb").chmod(0o600)
    write_file_atomically(tmp_path / "new.ipynb", b"[]", overwrite=True)
    assert (tmp_path / "new.ipynb").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "new.ipynb").read_bytes() == b"[]"
    assert [path.name for path in tmp_path.iterdir()] == ["new.ipynb"]
