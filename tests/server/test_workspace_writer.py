"""WorkspaceWriter against Jupyter's own async contents manager in a temporary folder (no
HTTP): new files never overwrite, restores write bytes exactly, messages hide the root."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import nbformat
import pytest
from jupyter_server.services.contents.filemanager import AsyncFileContentsManager

from bookstore.errors import (
    InvalidNotebook,
    InvalidPath,
    InvalidRequest,
    ObjectNotFound,
    WorkspaceError,
)
from bookstore.server.workspace import WorkspaceWriter
from tests.notebooks import make_notebook

NOTEBOOK = (json.dumps(make_notebook("stored", cells=1, output_bytes=5), indent=3) + "\n").encode()


@pytest.fixture
def root(tmp_path: Path) -> Path:
    folder = tmp_path / "root"
    folder.mkdir()
    return folder


@pytest.fixture
def writer(root: Path) -> WorkspaceWriter:
    return WorkspaceWriter(AsyncFileContentsManager(root_dir=str(root)), str(root))


async def test_clones_never_overwrite(writer: WorkspaceWriter, root: Path) -> None:
    first = await writer.clone_bytes("nb.ipynb", NOTEBOOK, None)
    second = await writer.clone_bytes("nb.ipynb", NOTEBOOK, None)
    assert (first["path"], second["path"]) == ("nb.ipynb", "nb-1.ipynb")
    assert (root / "nb-1.ipynb").read_bytes() == NOTEBOOK  # byte for byte, not re-serialised
    assert second["content"]["cells"][0]["source"] == "# Notebook stored"
    into = await writer.clone_bytes("nb.ipynb", NOTEBOOK, "new/folder/", with_content=False)
    assert into["path"] == "new/folder/nb.ipynb"
    assert into.get("content") is None
    renamed = await writer.clone_bytes("notes.md", b"plain", "notes.txt")
    assert (renamed["type"], renamed["format"], renamed["content"]) == ("file", "text", "plain")


async def test_what_a_clone_refuses_writes_nothing(writer: WorkspaceWriter, root: Path) -> None:
    with pytest.raises(InvalidNotebook):
        await writer.clone_bytes("nb.ipynb", b"{not json", None)
    with pytest.raises(InvalidPath, match="is hidden"):
        await writer.clone_bytes("nb.ipynb", NOTEBOOK, ".secret/nb.ipynb")
    with pytest.raises(InvalidPath, match="longer than 255 bytes"):
        await writer.clone_bytes("nb.ipynb", NOTEBOOK, "x" * 300 + ".ipynb")
    (root / "file").write_text("x")
    with pytest.raises(InvalidRequest, match=r"is a file, so it cannot be a folder\."):
        await writer.clone_bytes("nb.ipynb", NOTEBOOK, "file/nb.ipynb")
    assert await asyncio.to_thread(os.listdir, root) == ["file"]


async def test_overwrite_writes_the_exact_bytes(writer: WorkspaceWriter, root: Path) -> None:
    await asyncio.to_thread((root / "n.ipynb").write_text, "{}")
    model = await writer.overwrite("deep/n.ipynb", NOTEBOOK)
    assert model["path"] == "deep/n.ipynb"
    assert (root / "deep" / "n.ipynb").read_bytes() == NOTEBOOK
    await writer.overwrite("n.ipynb", NOTEBOOK)
    assert (root / "n.ipynb").read_bytes() == NOTEBOOK
    (root / "dir").mkdir()
    with pytest.raises(InvalidRequest, match="is a folder"):
        await writer.overwrite("dir", b"x")


async def test_the_current_notebook_without_trust_flags(
    writer: WorkspaceWriter, root: Path
) -> None:
    (root / "n.ipynb").write_bytes(NOTEBOOK)
    side = await writer.current_notebook("n.ipynb")
    assert side.reference["current"] is True
    assert side.reference["path"] == "n.ipynb"
    assert side.size == len(NOTEBOOK)
    assert side.body == NOTEBOOK  # the bytes as saved, parsed where the diff runs
    notebook = side.parsed()
    assert "trusted" not in notebook["cells"][1]["metadata"]
    nbformat.validate(notebook)
    with pytest.raises(ObjectNotFound, match=r"no file 'gone\.ipynb'"):
        await writer.current_notebook("gone.ipynb")


async def test_contents_errors_hide_the_root(writer: WorkspaceWriter, root: Path) -> None:
    (root / "broken.ipynb").write_bytes(b"\xff{not UTF-8")  # Jupyter names the file's path
    with pytest.raises(WorkspaceError) as caught:
        await writer.current_notebook("broken.ipynb")
    assert caught.value.status == 400
    assert str(root) not in str(caught.value)
