"""POST /api/bookstore/fs-clone and GET /bookstore/fs-clone: files of fs_cloning_basedir."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.notebooks import make_notebook
from tests.server_fixtures import both_backends

pytestmark = both_backends

NOTEBOOK = (json.dumps(make_notebook("fs", cells=2), indent=1, sort_keys=True) + "\n").encode()
TEXT = "\u03b1,\u03b2\r\n1,2\r\n\ttabbed; no final newline".encode()
BINARY = bytes(range(256)) + b"\x00\xff" * 100


def names(folder: Path) -> list[str]:
    """The sorted names in ``folder``."""
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def basedir(tmp_path: Path) -> Path:
    """A cloning base dir with a notebook, a text file, a binary file and links out."""
    base = tmp_path / "shared-notebooks"
    (base / "sub").mkdir(parents=True)
    (base / "sub" / "analysis.ipynb").write_bytes(NOTEBOOK)
    (base / "data.csv").write_bytes(TEXT)
    (base / "image.png").write_bytes(BINARY)
    (base / "broken.ipynb").write_bytes(b'{"cells": ')
    secret = tmp_path / "secret.txt"
    secret.write_text("outside")
    os.symlink(secret, base / "link-out.txt")
    os.symlink(tmp_path, base / "dir-out")
    os.symlink(base / "data.csv", base / "link-in.csv")
    return base


@pytest.fixture
def bookstore_config(bookstore_config: dict[str, Any], basedir: Path) -> dict[str, Any]:
    return {**bookstore_config, "fs_cloning_basedir": str(basedir)}


@pytest.mark.parametrize(
    ("relpath", "expected", "name"),
    [
        ("sub/analysis.ipynb", NOTEBOOK, "analysis.ipynb"),
        ("data.csv", TEXT, "data.csv"),
        ("image.png", BINARY, "image.png"),
        ("link-in.csv", TEXT, "link-in.csv"),
    ],
)
async def test_files_are_copied_byte_exact(
    fetch_json: Any, jp_root_dir: Path, relpath: str, expected: bytes, name: str
) -> None:
    status, model = await fetch_json(
        "api/bookstore/fs-clone", method="POST", body={"relpath": relpath}
    )
    assert status == 200, model
    assert model["path"] == name
    assert model["relpath"] == relpath
    assert (jp_root_dir / name).read_bytes() == expected
    assert model["type"] == ("notebook" if name.endswith(".ipynb") else "file")


async def test_target_path_and_no_overwrite(fetch_json: Any, jp_root_dir: Path) -> None:
    replies = [
        await fetch_json(
            "api/bookstore/fs-clone",
            method="POST",
            body={"relpath": "data.csv", "target_path": "inbox/d.csv"},
        )
        for _ in range(2)
    ]
    assert [reply["path"] for _, reply in replies] == ["inbox/d.csv", "inbox/d-1.csv"]
    assert (jp_root_dir / "inbox/d-1.csv").read_bytes() == TEXT


@pytest.mark.parametrize(
    "relpath",
    [
        "../secret.txt",
        "sub/../../secret.txt",
        "/etc/passwd",
        "link-out.txt",
        "dir-out/secret.txt",
        "sub",
        "missing.ipynb",
        "sub//analysis.ipynb",
        "with\x00nul",
        "x" * 5000,
    ],
)
async def test_anything_outside_or_not_a_file_is_404(
    fetch_json: Any, jp_root_dir: Path, basedir: Path, relpath: str
) -> None:
    before = names(jp_root_dir)
    status, reply = await fetch_json(
        "api/bookstore/fs-clone", method="POST", body={"relpath": relpath}
    )
    assert status == 404, reply
    assert str(basedir) not in reply["message"]
    assert str(basedir.parent) not in reply["message"]
    assert relpath[:50] in reply["message"] or relpath.startswith("with")
    assert names(jp_root_dir) == before


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 400),
        ({"relpath": ""}, 400),
        ({"relpath": 7}, 400),
        ({"relpath": "data.csv", "target_path": "../up.csv"}, 400),
        ({"relpath": "data.csv", "target_path": 3}, 400),
        ({"relpath": "broken.ipynb"}, 422),
        ({"relpath": "data.csv", "target_path": "data.ipynb"}, 422),
        ([], 400),
    ],
)
async def test_bad_requests(
    fetch_json: Any, jp_root_dir: Path, basedir: Path, body: Any, status: int
) -> None:
    before = names(jp_root_dir)
    got, reply = await fetch_json("api/bookstore/fs-clone", method="POST", body=body)
    assert got == status, reply
    assert str(basedir) not in reply["message"]
    assert names(jp_root_dir) == before


async def test_cloned_notebook_is_archived(
    fetch_json: Any, bookstore_app: Any, key_root: str, jp_asyncio_loop: Any
) -> None:
    status, _ = await fetch_json(
        "api/bookstore/fs-clone", method="POST", body={"relpath": "sub/analysis.ipynb"}
    )
    assert status == 200
    await bookstore_app.archiver.drain()
    store = await bookstore_app.ready_store()
    assert (await store.get(f"{key_root}/workspace/analysis.ipynb")).body == NOTEBOOK


async def test_landing_page(jp_fetch: Any, jp_base_url: str, basedir: Path) -> None:
    page = await jp_fetch("bookstore/fs-clone", params={"relpath": "sub/analysis.ipynb"})
    html = page.body.decode()
    assert page.code == 200
    assert "sub/analysis.ipynb" in html
    assert f"{len(NOTEBOOK):,} bytes" in html
    assert f"{jp_base_url}api/bookstore/fs-clone" in html
    assert str(basedir) not in html


@pytest.mark.parametrize(
    ("relpath", "status"), [("../secret.txt", 404), ("link-out.txt", 404), ("", 400)]
)
async def test_landing_page_errors(jp_fetch: Any, basedir: Path, relpath: str, status: int) -> None:
    page = await jp_fetch("bookstore/fs-clone", params={"relpath": relpath}, raise_error=False)
    html = page.body.decode()
    assert page.code == status
    assert f"<h1>{status}:" in html
    assert str(basedir) not in html


class TestFsCloningOff:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any]) -> dict[str, Any]:
        return {**bookstore_config, "fs_cloning_basedir": ""}

    async def test_api_and_page_are_403(self, fetch_json: Any, jp_fetch: Any) -> None:
        status, reply = await fetch_json(
            "api/bookstore/fs-clone", method="POST", body={"relpath": "data.csv"}
        )
        assert status == 403
        assert "fs_cloning_basedir" in reply["message"]
        page = await jp_fetch("bookstore/fs-clone", params={"relpath": "x"}, raise_error=False)
        assert page.code == 403
        assert b"fs_cloning_basedir" in page.body

    async def test_off_is_said_before_the_fields_are_checked(self, fetch_json: Any) -> None:
        status, _ = await fetch_json("api/bookstore/fs-clone", method="POST", body=[])
        assert status == 400  # not even a JSON object
        status, reply = await fetch_json(
            "api/bookstore/fs-clone", method="POST", body={"relpath": "x", "target_path": 5}
        )
        assert status == 403, reply
