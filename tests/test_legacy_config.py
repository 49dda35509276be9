"""bookstore 2.x configuration files keep working where 2.x users keep them.

bookstore 2.x documented its settings in ``jupyter_notebook_config.py``, beginning with
``from bookstore import BookstoreContentsArchiver, BookstoreSettings``; jupyter_server 2
reads ``jupyter_server_config`` instead.  bookstore reads the ``BookstoreSettings``
section of ``jupyter_notebook_config.py``/``.json`` beneath the server's own
configuration (which wins), says so in one log line, and the 2.5.1 CI file works as is.
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

import bookstore.tests
from bookstore.config import BookstoreSettings, load_legacy_settings
from bookstore.standalone import load_config
from tests.jupyter_process import JupyterServer
from tests.notebooks import make_notebook
from tests.s3rig import SeaweedFS

#: bookstore 2.5.1's own CI configuration file, byte for byte.
CI_CONFIG_2_5_1 = Path(__file__).parent / "data" / "bookstore-2.5.1-ci-jupyter_notebook_config.py"


def write_legacy(config_dir: Path, settings: dict[str, Any], *, as_json: bool = False) -> Path:
    """A ``jupyter_notebook_config`` setting ``BookstoreSettings`` (and something else)."""
    if as_json:
        path = config_dir / "jupyter_notebook_config.json"
        document = {"NotebookApp": {"port_retries": 0}, "BookstoreSettings": settings}
        path.write_text(json.dumps(document))
        return path
    path = config_dir / "jupyter_notebook_config.py"
    lines = ["from bookstore import BookstoreContentsArchiver, BookstoreSettings"]
    lines += ["c = get_config()", "c.NotebookApp.port_retries = 0"]
    lines += [f"c.BookstoreSettings.{name} = {value!r}" for name, value in settings.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


# -- reading the files -----------------------------------------------------------------


@pytest.mark.parametrize("as_json", [False, True], ids=["py", "json"])
def test_only_the_bookstore_section_is_read(tmp_path: Path, as_json: bool) -> None:
    path = write_legacy(tmp_path, {"workspace_prefix": "ws-2x"}, as_json=as_json)
    legacy = load_legacy_settings([str(tmp_path)])
    assert legacy.files == (str(path),)
    assert dict(legacy.config) == {"workspace_prefix": "ws-2x"}
    merged = legacy.beneath(Config())
    assert set(merged) == {"BookstoreSettings"}  # NotebookApp's settings are not taken
    assert BookstoreSettings(config=merged).workspace_prefix == "ws-2x"


def test_the_server_configuration_wins(tmp_path: Path) -> None:
    write_legacy(tmp_path, {"workspace_prefix": "ws-2x", "published_prefix": "pub-2x"})
    server = Config({"BookstoreSettings": {"workspace_prefix": "ws-3x"}})
    settings = BookstoreSettings(config=load_legacy_settings([str(tmp_path)]).beneath(server))
    assert settings.workspace_prefix == "ws-3x"
    assert settings.published_prefix == "pub-2x"


def test_no_file_or_no_bookstore_section_reads_nothing(tmp_path: Path) -> None:
    assert load_legacy_settings([str(tmp_path)]).files == ()
    (tmp_path / "jupyter_notebook_config.py").write_text("c = get_config()\n")
    assert load_legacy_settings([str(tmp_path)]).files == ()


def test_a_broken_file_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "jupyter_notebook_config.py").write_text("raise RuntimeError('broken')\n")
    assert load_legacy_settings([str(tmp_path)]).files == ()


def test_the_command_line_tools_read_it_too(tmp_path: Path) -> None:
    write_legacy(tmp_path, {"workspace_prefix": "ws-2x", "published_prefix": "pub-2x"})
    (tmp_path / "jupyter_server_config.json").write_text(
        json.dumps({"BookstoreSettings": {"published_prefix": "pub-3x"}})
    )
    settings = BookstoreSettings(config=load_config([str(tmp_path)]))
    assert (settings.workspace_prefix, settings.published_prefix) == ("ws-2x", "pub-3x")


# -- a real server ---------------------------------------------------------------------


@pytest.fixture
def legacy_fs_dir(tmp_path: Path) -> Path:
    return tmp_path / "fs-clone"


@pytest.fixture
def jp_server_config(
    jp_config_dir: Path, bookstore_config: dict[str, Any], legacy_fs_dir: Path
) -> Config:
    """The in-process server, with a jupyter_notebook_config.py that sets a workspace
    prefix (the server's own wins) and a clone folder (nothing else sets it)."""
    legacy_fs_dir.mkdir()
    write_legacy(
        jp_config_dir,
        {"workspace_prefix": "from-2x-file", "fs_cloning_basedir": str(legacy_fs_dir)},
    )
    return Config(
        {
            "ServerApp": {"jpserver_extensions": {"bookstore": True}},
            "BookstoreSettings": bookstore_config,
        }
    )


async def test_in_a_server_the_file_lies_beneath_the_configuration(
    fetch_json: Any, bookstore_config: dict[str, Any]
) -> None:
    status, features = await fetch_json("api/bookstore")
    assert status == 200
    assert features["features"]["fs_clone_valid"] is True  # from the 2.x file
    assert features["archive"]["workspace_prefix"] == bookstore_config["workspace_prefix"]


@pytest.fixture
def ci_config_server(
    tmp_path: Path, seaweedfs: SeaweedFS, request: pytest.FixtureRequest
) -> Iterator[JupyterServer]:
    """``jupyter <app>`` with bookstore 2.5.1's CI file as jupyter_notebook_config.py; the
    command line points the store at the test's SeaweedFS (the file's minio address and
    credentials lose, as they should)."""
    app = request.param
    server = JupyterServer(tmp_path, seaweedfs.settings_dict(), app=app)
    shutil.copyfile(CI_CONFIG_2_5_1, server.config_dir / "jupyter_notebook_config.py")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.s3
@pytest.mark.parametrize("ci_config_server", ["server", "lab", "notebook"], indirect=True)
def test_bookstore_2_5_1_ci_config_works_unchanged(
    ci_config_server: JupyterServer, seaweedfs: SeaweedFS, request: pytest.FixtureRequest
) -> None:
    server = ci_config_server
    name = f"ci-{request.node.callspec.id}.ipynb"
    status = server.request("GET", "api/bookstore")
    assert status["features"]["publish_valid"] is True
    assert status["features"]["fs_clone_valid"] is True  # fs_cloning_basedir = test_dir
    assert status["store"]["location"] == seaweedfs.endpoint_url  # the command line won
    assert server.request("GET", "api/bookstore/archive")["workspace_prefix"] == "ci-workspace"

    # A save is archived under the file's workspace prefix ...
    server.request("PUT", f"api/contents/{name}", {"type": "notebook", "content": make_notebook()})
    server.wait_archived()
    versions = server.request("GET", f"api/bookstore/workspace/{name}/versions")["versions"]
    assert len(versions) == 1
    # ... and a publish under its published prefix.
    published = server.request(
        "PUT", f"api/bookstore/publish/{name}", {"type": "notebook", "content": make_notebook()}
    )
    assert published["s3_path"] == f"s3://{seaweedfs.bucket}/ci-published/{name}"
    # fs_cloning_basedir is bookstore.tests.test_dir: its __init__.py can be cloned.
    assert (Path(bookstore.tests.test_dir) / "__init__.py").is_file()
    query = urllib.parse.urlencode({"relpath": "__init__.py"})
    assert server.request_page(f"bookstore/fs-clone?{query}") == 200
    log = server.log.read_text()
    assert "using CI config" in log  # the file ran ...
    assert log.count("read BookstoreSettings from") == 1  # ... and bookstore said so, once
