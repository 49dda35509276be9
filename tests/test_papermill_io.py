"""The papermill handler for ``bookstore://`` URLs, driven by the real ``papermill`` command
on both backends (the embedded store and SeaweedFS), configured through Jupyter config
files like the server."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import nbformat
import pytest
from nbformat import v4

from bookstore import __version__
from bookstore.core.archive import archive_version
from bookstore.errors import InvalidNotebook, InvalidPath, NotAllowed, VersionNotFound
from bookstore.papermill_io import (
    AS_USER_ENV,
    SOURCE_KEY_FIELD,
    SOURCE_VERSION_FIELD,
    BookstoreHandler,
    BookstoreURL,
    BookstoreURLError,
    close_bookstore,
    parse_url,
)
from bookstore.standalone import StandaloneBookstore
from bookstore.stores.base import ObjectStore
from tests.paging import all_versions
from tests.server_fixtures import bookstore_time, both_backends

T = TypeVar("T")


# -- the rig -------------------------------------------------------------------------------


@dataclass
class Rig:
    """A Jupyter config dir pointing bookstore at one backend, and the environment of a
    ``papermill`` run (the test process gets the same through ``monkeypatch``)."""

    env: dict[str, str]
    cwd: Path
    key_root: str

    @property
    def workspace_prefix(self) -> str:
        return f"{self.key_root}/workspace"

    def run_papermill(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The real ``papermill`` command (no progress bar, the python3 kernel)."""
        return subprocess.run(
            [sys.executable, "-m", "papermill", *args, "-k", "python3", "--no-progress-bar"],
            env=self.env,
            cwd=self.cwd,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def store(self, work: Callable[[StandaloneBookstore, ObjectStore], Awaitable[T]]) -> T:
        """Run ``work(bookstore, store)`` on a fresh bookstore configured like the runs."""

        async def main() -> T:
            async with StandaloneBookstore() as bookstore:
                return await work(bookstore, await bookstore.ready_store())

        return asyncio.run(main())


@pytest.fixture
def rig(
    request: pytest.FixtureRequest,
    backend: str,
    key_root: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Rig]:
    """The config file (prefixes under this test's ``key_root``; the embedded store under
    ``tmp_path``, or SeaweedFS through the ``JPYNB_S3_*`` variables)."""
    settings: dict[str, Any] = {
        "workspace_prefix": f"{key_root}/workspace",
        "published_prefix": f"{key_root}/published",
        "audit_prefix": f"{key_root}/audit",
    }
    env = {
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }
    if backend == "s3":
        env.update(request.getfixturevalue("seaweedfs").s3_env())
    else:
        settings["local_store_dir"] = str(tmp_path / "store")
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"BookstoreSettings": settings})
    )
    (tmp_path / "work").mkdir()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    close_bookstore()  # the handler's store in this process reads this configuration
    yield Rig(env={**os.environ, **env}, cwd=tmp_path / "work", key_root=key_root)
    close_bookstore()


def report(marker: str) -> bytes:
    """A parameterized notebook: ``x = 0`` in the cell tagged parameters, then a cell
    printing ``marker`` and ``x``."""
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    parameters = v4.new_code_cell("x = 0")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        v4.new_markdown_cell(f"# {marker}"),
        parameters,
        v4.new_code_cell(f"print({marker!r}, 'x =', x)"),
    ]
    nbformat.validate(nb)
    return str(nbformat.writes(nb)).encode()


def printed(notebook: dict[str, Any]) -> str:
    """Everything the notebook's code cells printed."""
    return "".join(
        "".join(output.get("text", ""))
        for cell in notebook["cells"]
        if cell["cell_type"] == "code"
        for output in cell["outputs"]
    )


def provenance(notebook: dict[str, Any]) -> dict[str, Any]:
    return dict(notebook["metadata"]["bookstore"]["provenance"])


def seconds_ago(timestamp: str) -> float:
    assert timestamp.endswith("Z"), timestamp
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return (datetime.now(timezone.utc) - moment).total_seconds()


async def seed(bookstore: StandaloneBookstore, store: ObjectStore) -> tuple[str, str]:
    """Two versions of ``workspace/report.ipynb``: marker ``older``, then ``newer``."""
    key = f"{bookstore.areas.workspace_prefix()}/report.ipynb"
    older = await archive_version(store, key, "report.ipynb", report("older"))
    newer = await archive_version(store, key, "report.ipynb", report("newer"))
    assert older
    assert newer
    return older, newer


def _notebook(body: bytes) -> dict[str, Any]:
    """A stored notebook, sources and texts joined."""
    return dict(nbformat.reads(body.decode(), as_version=4))


async def versions_of(key: str, store: ObjectStore) -> list[tuple[str, dict[str, Any], Any]]:
    """``(version id, notebook, info)`` of every version of ``key``, newest first."""
    result = []
    for info in await all_versions(store, key):
        stored = await store.get(key, info.version_id)
        result.append((str(info.version_id), _notebook(stored.body), stored.info))
    return result


# -- papermill runs on both backends ----------------------------------------------------


@both_backends
def test_runs_store_one_version_each_with_provenance(rig: Rig) -> None:
    older, newer = rig.store(seed)
    output_url = f"bookstore://{rig.key_root}/runs/report.ipynb"
    output_key = f"{rig.key_root}/runs/report.ipynb"
    source_key = f"{rig.workspace_prefix}/report.ipynb"

    # an exact, older version, executed with x = 1
    run = rig.run_papermill(
        f"bookstore://workspace/report.ipynb?version={older}", output_url, "-p", "x", "1"
    )
    assert run.returncode == 0, run.stderr

    async def outputs(bookstore: StandaloneBookstore, store: ObjectStore) -> Any:
        return store.bucket, await versions_of(output_key, store)

    bucket, stored = rig.store(outputs)
    assert len(stored) == 1  # not one per cell, not one per final write
    first_id, notebook, info = stored[0]
    assert "older x = 1" in printed(notebook)
    assert notebook["cells"][0]["source"] == "# older"
    nbformat.validate(nbformat.from_dict(notebook))
    record = provenance(notebook)
    assert record["source"] == {
        "url": f"bookstore://workspace/report.ipynb?version={older}",
        "bucket": bucket,
        "key": source_key,
        "version_id": older,
    }
    assert record["parameters"] == {"x": 1}
    assert record["status"] == "completed"
    # papermill's end time, as bookstore writes times (RFC 3339 with milliseconds).
    assert record["executed_at"] == bookstore_time(notebook["metadata"]["papermill"]["end_time"])
    assert 0 <= seconds_ago(record["executed_at"]) < 300
    assert record["bookstore_version"] == __version__
    assert record["papermill_version"]
    assert {"sha256", "saved-at"} <= set(info.metadata)  # archived like the server's saves
    assert info.metadata[SOURCE_KEY_FIELD] == source_key
    assert info.metadata[SOURCE_VERSION_FIELD] == older

    # no ?version=: the latest, and the version read is recorded; a second version
    run = rig.run_papermill("bookstore://workspace/report.ipynb", output_url, "-p", "x", "2")
    assert run.returncode == 0, run.stderr
    _, stored = rig.store(outputs)
    assert [version for version, _, _ in stored][1:] == [first_id]
    notebook = stored[0][1]
    assert "newer x = 2" in printed(notebook)
    record = provenance(notebook)
    assert record["source"]["url"] == "bookstore://workspace/report.ipynb"
    assert record["source"]["version_id"] == newer
    assert record["parameters"] == {"x": 2}


@both_backends
def test_a_write_into_the_workspace_continues_its_history(rig: Rig) -> None:
    """``--prepare-only`` (no kernel) from an exact version into the workspace area: the
    next version of that file, its rename lineage carried forward, history unbroken."""

    async def setup(bookstore: StandaloneBookstore, store: ObjectStore) -> tuple[str, ...]:
        prefix = bookstore.areas.workspace_prefix()
        old = await archive_version(store, f"{prefix}/old.ipynb", "old.ipynb", report("old"))
        renamed = await archive_version(
            store, f"{prefix}/old.ipynb", "old.ipynb", report("renamed")
        )
        assert old
        assert renamed
        body = report("renamed")
        first = await store.put(  # the archiver's copy when old.ipynb is renamed report.ipynb
            f"{prefix}/report.ipynb",
            body,
            metadata={
                "sha256": hashlib.sha256(body).hexdigest(),
                "renamed-from": "old.ipynb",
                "renamed-from-version": renamed,
            },
        )
        second = await archive_version(
            store, f"{prefix}/report.ipynb", "report.ipynb", report("second")
        )
        assert second
        return old, first, second

    old, first, second = rig.store(setup)
    run = rig.run_papermill(
        f"bookstore://workspace/report.ipynb?version={first}",
        "bookstore://workspace/report.ipynb",
        "-p",
        "x",
        "3",
        "--prepare-only",
    )
    assert run.returncode == 0, run.stderr

    async def check(bookstore: StandaloneBookstore, store: ObjectStore) -> Any:
        history = await bookstore.areas.history("workspace")
        page = await history.list_versions("report.ipynb")
        key = f"{bookstore.areas.workspace_prefix()}/report.ipynb"
        latest = await store.get(key)
        return [(item.id, item.path) for item in page.items], latest

    listed, latest = rig.store(check)
    newest = str(latest.info.version_id)
    assert listed == [
        (newest, "report.ipynb"),
        (second, "report.ipynb"),
        (first, "report.ipynb"),  # the copy of old.ipynb's newest version
        (old, "old.ipynb"),
    ]
    assert latest.info.metadata["renamed-from"] == "old.ipynb"
    assert latest.info.metadata["lineage-start"] == first
    notebook = _notebook(latest.body)
    assert "x = 3" in notebook["cells"][2]["source"]  # the injected parameters cell
    assert notebook["cells"][0]["source"] == "# renamed"
    record = provenance(notebook)
    assert record["source"]["version_id"] == first
    assert record["parameters"] == {"x": 3}
    assert record["status"] == "prepared"
    assert 0 <= seconds_ago(record["executed_at"]) < 300


@both_backends
def test_reads_follow_renames(rig: Rig, tmp_path: Path) -> None:
    """A version saved before the file was renamed is read under its new name, as
    ``jupyter bookstore show`` and the REST API find it."""
    from bookstore.core.archive import Archiver, Spool, archive_version
    from bookstore.keys import s3_key

    before = report("saved before the rename")

    async def save_then_rename(bookstore: StandaloneBookstore, store: ObjectStore) -> str:
        old_key = s3_key(rig.workspace_prefix, "old.ipynb")
        version = await archive_version(store, old_key, "old.ipynb", before)
        assert version is not None

        async def open_store() -> ObjectStore:
            return store

        archiver = Archiver(
            open_store=open_store,
            spool=Spool(tmp_path / "spool"),
            workspace_prefix=rig.workspace_prefix,
            file_types=["notebook"],
        )
        archiver.record_rename("old.ipynb", "new.ipynb")
        assert await archiver.drain(timeout=30)
        await archiver.stop()
        return version

    version = rig.store(save_then_rename)
    url = f"bookstore://workspace/new.ipynb?version={version}"
    assert BookstoreHandler.read(url).encode() == before
    with pytest.raises(VersionNotFound, match="has no version 'no-such-version'"):
        BookstoreHandler.read("bookstore://workspace/new.ipynb?version=no-such-version")


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
def test_an_unknown_version_fails_clearly(rig: Rig) -> None:
    """Through the real command, on S3 (the embedded store: in-process below)."""
    rig.store(seed)
    url = "bookstore://workspace/report.ipynb?version=no-such-version"
    run = rig.run_papermill(url, f"bookstore://{rig.key_root}/runs/missing.ipynb")
    assert run.returncode != 0
    assert f"VersionNotFound: {url}: " in run.stderr
    assert "has no version 'no-such-version'" in run.stderr
    assert "drop ?version= to read the latest version" in run.stderr

    async def keys(bookstore: StandaloneBookstore, store: ObjectStore) -> list[str]:
        page = await store.list_keys(f"{rig.key_root}/runs/")
        return [info.key for info in page.items]

    assert rig.store(keys) == []


@both_backends
def test_acting_for_a_user_reads_and_writes_only_what_they_may(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What a server running papermill for a user sets (``BOOKSTORE_AS_USER``)."""
    rig.store(seed)

    async def put_other(bookstore: StandaloneBookstore, store: ObjectStore) -> str:
        return await store.put(f"{rig.key_root}/elsewhere/x.ipynb", report("x"))

    rig.store(put_other)
    monkeypatch.setenv(AS_USER_ENV, "alice")
    close_bookstore()
    with pytest.raises(NotAllowed, match=r"You may read only keys under .*clone_allowed_prefixes"):
        BookstoreHandler.read(f"bookstore://{rig.key_root}/elsewhere/x.ipynb")
    assert "newer" in BookstoreHandler.read("bookstore://workspace/report.ipynb")
    written = report("written").decode()
    with pytest.raises(NotAllowed, match="jupyter bookstore publish"):
        BookstoreHandler.write(written, "bookstore://published/x.ipynb")
    with pytest.raises(NotAllowed, match="You may write only keys under"):
        BookstoreHandler.write(written, f"bookstore://{rig.key_root}/elsewhere/y.ipynb")
    assert BookstoreHandler.write(written, "bookstore://workspace/out.ipynb")
    monkeypatch.delenv(AS_USER_ENV)
    close_bookstore()  # an operator's process: any key
    assert "x" in BookstoreHandler.read(f"bookstore://{rig.key_root}/elsewhere/x.ipynb")


def test_a_malformed_url_fails_clearly(rig: Rig) -> None:
    url = "bookstore://workspace/report.ipynb?revision=1"
    run = rig.run_papermill(url, "bookstore://t/runs/out.ipynb")
    assert run.returncode != 0
    assert f"BookstoreURLError: {url}: unknown query parameter 'revision'; " in run.stderr
    assert "the only parameter is ?version=<id>" in run.stderr


# -- the handler in this process --------------------------------------------------------


def executed(marker: str, end_time: str | None, *, input_path: str, **papermill: Any) -> str:
    """A notebook as papermill writes it during (``end_time`` None) or after a run."""
    nb = nbformat.reads(report(marker).decode(), as_version=4)
    nb.metadata["papermill"] = {
        "input_path": input_path,
        "parameters": {"x": 5},
        "start_time": "2024-05-01T12:00:00+00:00",
        "end_time": end_time,
        **papermill,
    }
    return str(nbformat.writes(nb))


def test_only_the_final_write_of_a_run_is_stored(rig: Rig) -> None:
    older, newer = rig.store(seed)
    source = "bookstore://workspace/report.ipynb"
    assert "# newer" in BookstoreHandler.read(source)
    assert "# older" in BookstoreHandler.read(f"{source}?version={older}")
    out = "bookstore://t/runs/final.ipynb"

    assert BookstoreHandler.write(executed("a", None, input_path=source), out) is None
    assert BookstoreHandler.listdir("bookstore://t/runs") == []
    final = executed("a", "2024-05-01T12:00:03.500000+00:00", input_path=source)
    stored = BookstoreHandler.write(final, out)
    assert stored
    assert BookstoreHandler.write(final, out) is None  # identical: no new version
    failed = executed("b", "2024-05-01T12:09:00+00:00", input_path=source, exception=True)
    assert BookstoreHandler.write(failed, out)

    async def check(bookstore: StandaloneBookstore, store: ObjectStore) -> Any:
        return await versions_of("t/runs/final.ipynb", store)

    versions = rig.store(check)
    assert [version for version, _, _ in versions][1:] == [stored]
    record = provenance(versions[1][1])
    assert record["source"]["version_id"] == newer  # what read() of that URL returned
    assert record["executed_at"] == "2024-05-01T12:00:03.500Z"
    assert record["parameters"] == {"x": 5}
    assert provenance(versions[0][1])["status"] == "failed"

    prepared = nbformat.reads(executed("c", None, input_path="report.ipynb"), as_version=4)
    del prepared.metadata.papermill["end_time"]  # as --prepare-only leaves it; a local input
    assert BookstoreHandler.write(nbformat.writes(prepared), out)
    assert provenance(nbformat.reads(BookstoreHandler.read(out), as_version=4)) | {
        "executed_at": "now"
    } == {
        "source": {"url": "report.ipynb", "bucket": None, "key": None, "version_id": None},
        "parameters": {"x": 5},
        "executed_at": "now",
        "status": "prepared",
        "papermill_version": record["papermill_version"],
        "bookstore_version": __version__,
    }

    assert BookstoreHandler.listdir("bookstore://t") == [
        "bookstore://t/runs/",
        "bookstore://t/workspace/",
    ]
    assert BookstoreHandler.listdir("bookstore://workspace/") == [
        "bookstore://workspace/report.ipynb"
    ]
    assert BookstoreHandler.pretty_path(out) == out
    with pytest.raises(BookstoreURLError, match=r"\?version= is for reading"):
        BookstoreHandler.write(final, f"{out}?version={stored}")
    with pytest.raises(VersionNotFound, match="no-such-version"):
        BookstoreHandler.read(f"{source}?version=no-such-version")
    with pytest.raises(BookstoreURLError, match=r"may not contain '\.\.' segments"):
        BookstoreHandler.read("bookstore://workspace/../secrets.ipynb")
    with pytest.raises(BookstoreURLError, match=r"may not contain '\.\.' segments"):
        BookstoreHandler.write(final, "bookstore://runs/../../escape.ipynb")

    # An output that is no notebook, or not a valid one, is refused and nothing is stored.
    broken = json.loads(final)
    broken["cells"][0]["cell_type"] = "spreadsheet"
    for bad in ("{not json", json.dumps(broken), b"\xff\xfe not UTF-8"):
        with pytest.raises(InvalidNotebook, match=r"final\.ipynb"):
            BookstoreHandler.write(bad, out)
    assert len(rig.store(check)) == len(versions) + 1


def test_papermill_picks_the_handler() -> None:
    from papermill.iorw import papermill_io

    assert papermill_io.get_handler("bookstore://x/y.ipynb") is BookstoreHandler
    assert papermill_io.pretty_path("bookstore://x/y.ipynb") == "bookstore://x/y.ipynb"


# -- URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("bookstore://workspace/a/report.ipynb", ("workspace", "a/report.ipynb", None)),
        ("bookstore://published/report.ipynb?version=v1", ("published", "report.ipynb", "v1")),
        ("bookstore://runs/report.ipynb", (None, "runs/report.ipynb", None)),
        ("bookstore://workspacex/r.ipynb", (None, "workspacex/r.ipynb", None)),
        ("bookstore://workspace/my%20report%3F.ipynb", ("workspace", "my report?.ipynb", None)),
        ("bookstore://runs/r.ipynb?version=a%2Bb", (None, "runs/r.ipynb", "a+b")),
        ("bookstore://r%C3%A9sum%C3%A9.ipynb", (None, "résumé.ipynb", None)),
    ],
)
def test_parse_url(url: str, parsed: tuple[str | None, str, str | None]) -> None:
    assert parse_url(url) == BookstoreURL(url, *parsed)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://bucket/report.ipynb", "is not a bookstore URL"),
        ("bookstore://workspace/r.ipynb?revision=2", "unknown query parameter 'revision'"),
        ("bookstore://workspace/r.ipynb?version=", "?version= is empty"),
        ("bookstore://workspace/r.ipynb?version=a&version=b", "give ?version= once"),
        ("bookstore://workspace/r.ipynb?version", "malformed query"),
        ("bookstore://workspace/../r.ipynb", "'..' segments"),
        ("bookstore://runs/a/%2E%2E/r.ipynb", "'..' segments"),
        ("bookstore://runs//r.ipynb", "empty segment"),
        ("bookstore:///runs/r.ipynb", "must follow bookstore:// directly"),
        ("bookstore://runs/r.ipynb#cell", "fragment"),
        ("bookstore://runs/", "names a folder"),
        ("bookstore://workspace", "names the workspace area"),
        ("bookstore://runs/%FF.ipynb", "not UTF-8"),
        ("bookstore://runs/a%5Cb.ipynb", "backslash"),
    ],
)
def test_parse_url_refuses(url: str, message: str) -> None:
    with pytest.raises(BookstoreURLError) as caught:
        parse_url(url)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, InvalidPath)
    if url.startswith("bookstore://"):
        assert str(caught.value).startswith(url)


def test_listing_urls_may_name_folders() -> None:
    assert parse_url("bookstore://", file=False) == BookstoreURL("bookstore://", None, "")
    assert parse_url("bookstore://published/", file=False).area == "published"
    assert BookstoreURL("u", "workspace", "").child_url("a b.ipynb") == (
        "bookstore://workspace/a%20b.ipynb"
    )
