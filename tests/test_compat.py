"""Every public name of bookstore 2.x works at its 2.x import path: the module index of the
2.2 documentation (``shared/seed/bookstore-docs.txt``), the package's top-level names and
2.5's additions, with the behaviour 2.x code relies on."""

from __future__ import annotations

import importlib
import inspect
import os
import subprocess
import sys
from typing import Any

import pytest

#: module -> the names bookstore 2.x documented (or 2.5 added) there.
NAMES_2X = {
    "bookstore": [
        "BookstoreContentsArchiver",
        "BookstoreSettings",
        "load_jupyter_server_extension",
        "version_info",
        "__version__",
        "PACKAGE_DIR",
        "_jupyter_server_extension_paths",
    ],
    "bookstore.bookstore_config": ["BookstoreSettings", "validate_bookstore"],
    "bookstore.archive": ["ArchiveRecord", "BookstoreContentsArchiver"],
    "bookstore.handlers": ["BookstoreVersionHandler", "load_jupyter_server_extension"],
    "bookstore.s3_paths": ["s3_display_path", "s3_key", "s3_path"],
    "bookstore.clone": [
        "BookstoreCloneHandler",
        "BookstoreCloneAPIHandler",
        "BookstoreFSCloneHandler",
        "BookstoreFSCloneAPIHandler",
    ],
    "bookstore.publish": ["BookstorePublishHandler", "BookstorePublishAPIHandler"],
    "bookstore.client.nb_client": [
        "NotebookClient",
        "NotebookClientCollection",
        "CurrentNotebookClient",
        "LiveNotebookRecord",
        "KernelInfo",
        "NotebookSession",
        "extract_kernel_id",
    ],
    "bookstore.client.store_client": ["BookstoreClient"],
    "bookstore.tests": ["test_dir"],
}

#: Documented members of 2.x classes: "module:Class" -> attribute names.
MEMBERS_2X = {
    "bookstore.bookstore_config:BookstoreSettings": [
        "workspace_prefix",
        "published_prefix",
        "s3_access_key_id",
        "s3_secret_access_key",
        "s3_endpoint_url",
        "s3_region_name",
        "s3_bucket",
        "max_threads",
        "enable_s3_cloning",
        "fs_cloning_basedir",
    ],
    "bookstore.archive:ArchiveRecord": ["filepath", "content", "queued_time"],
    "bookstore.archive:BookstoreContentsArchiver": ["archive"],
    "bookstore.clone:BookstoreCloneHandler": ["get", "construct_template_params", "get_template"],
    "bookstore.clone:BookstoreCloneAPIHandler": ["post", "build_post_model_response"],
    "bookstore.publish:BookstorePublishHandler": ["put", "post"],
    "bookstore.client.nb_client:NotebookClient": [
        "setup_auth",
        "setup_request_sessions",
        "headers",
        "sessions",
    ],
    "bookstore.client.nb_client:NotebookClientCollection": ["current_server"],
    "bookstore.client.nb_client:LiveNotebookRecord": [
        "base_url",
        "hostname",
        "notebook_dir",
        "password",
        "pid",
        "port",
        "secure",
        "token",
        "url",
    ],
}


@pytest.mark.parametrize(("module", "name"), [(m, n) for m, ns in NAMES_2X.items() for n in ns])
def test_2x_name_imports(module: str, name: str) -> None:
    assert getattr(importlib.import_module(module), name) is not None


@pytest.mark.parametrize(("owner", "member"), [(o, m) for o, ms in MEMBERS_2X.items() for m in ms])
def test_2x_member_exists(owner: str, member: str) -> None:
    module, _, cls = owner.partition(":")
    assert hasattr(getattr(importlib.import_module(module), cls), member)


def test_the_2x_config_line_imports_in_a_fresh_interpreter() -> None:
    line = "from bookstore import BookstoreContentsArchiver, BookstoreSettings"
    result = subprocess.run(
        [sys.executable, "-c", f"{line}; print(BookstoreSettings.__name__)"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "BookstoreSettings"


def test_top_level_names_are_the_classes_themselves() -> None:
    import bookstore
    from bookstore.config import BookstoreSettings
    from bookstore.server.contents_manager import BookstoreContentsArchiver

    assert bookstore.BookstoreSettings is BookstoreSettings
    assert bookstore.BookstoreContentsArchiver is BookstoreContentsArchiver
    assert "BookstoreSettings" in dir(bookstore)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        bookstore.nothing_here  # noqa: B018


def test_version_info_and_package_dir() -> None:
    import bookstore

    major, minor, micro, pre, dev = bookstore.version_info
    release = f"{major}.{minor}.{micro}{pre}" + (f".{dev}" if dev else "")
    assert release == bookstore.__version__
    assert os.path.isfile(os.path.join(bookstore.PACKAGE_DIR, "__init__.py"))
    assert bookstore._jupyter_server_extension_paths() == [{"module": "bookstore"}]
    assert os.path.isdir(importlib.import_module("bookstore.tests").test_dir)


def test_validate_bookstore_takes_just_the_settings() -> None:
    from bookstore.bookstore_config import BookstoreSettings, validate_bookstore

    flags = validate_bookstore(BookstoreSettings(s3_bucket="notebooks"))
    assert set(flags) >= {
        "bookstore_valid",
        "archive_valid",
        "publish_valid",
        "s3_clone_valid",
        "fs_clone_valid",
    }
    assert flags["publish_valid"] is True


def test_s3_paths_as_2x_computed_them() -> None:
    from bookstore.s3_paths import s3_display_path, s3_key, s3_path

    assert s3_key("workspace", "a/b.ipynb") == "workspace/a/b.ipynb"
    assert s3_path("bucket", "workspace", "a/b.ipynb") == "bucket/workspace/a/b.ipynb"
    assert s3_display_path("bucket", "published") == "s3://bucket/published"


def test_load_jupyter_server_extension_takes_the_server() -> None:
    from bookstore.handlers import load_jupyter_server_extension

    assert list(inspect.signature(load_jupyter_server_extension).parameters) == ["nb_app"]


def kernel(**changes: Any) -> dict[str, Any]:
    return {
        "id": "f92b7c8b",
        "name": "python3",
        "last_activity": "2026-01-01T00:00:00.000000Z",
        "execution_state": "idle",
        "connections": 1,
        **changes,
    }


def test_kernel_info_compares_by_value() -> None:
    from bookstore.client.nb_client import KernelInfo

    assert KernelInfo(**kernel()) == KernelInfo(**kernel())
    assert KernelInfo(**kernel()) != KernelInfo(**kernel(execution_state="busy"))
    assert KernelInfo(**kernel()) != kernel()
    assert len({KernelInfo(**kernel()), KernelInfo(**kernel())}) == 1


def test_notebook_session_compares_by_value() -> None:
    from bookstore.client.nb_client import NotebookSession

    def session(**changes: Any) -> NotebookSession:
        model: dict[str, Any] = {
            "id": "68d9c58f",
            "path": "a.ipynb",
            "name": "",
            "type": "notebook",
            "kernel": kernel(),
            "notebook": {"path": "a.ipynb", "name": ""},
            **changes,
        }
        return NotebookSession(**model)

    assert session() == session()
    # bookstore 2.x did not compare session ids.
    assert session() == session(id="another")
    assert session() != session(path="b.ipynb")
    assert session() != session(kernel=kernel(id="other"))
    assert session() != "a.ipynb"
