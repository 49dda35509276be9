"""The prebuilt JupyterLab extension is installed with the package and JupyterLab accepts it
(``jupyter labextension list`` says enabled and OK), with the schema that adds the menus and
the notebook toolbar buttons."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXTENSION = "bookstore-jupyterlab"
INSTALLED = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / EXTENSION


def test_jupyter_labextension_list_shows_bookstore_enabled_and_ok() -> None:
    pytest.importorskip("jupyterlab", reason="needs JupyterLab: pip install -e '.[lab]'")
    jupyter = Path(sys.executable).parent / "jupyter"
    listed = subprocess.run(
        [str(jupyter), "labextension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    output = re.sub(r"\x1b\[[0-9;]*m", "", listed.stdout + listed.stderr)
    line = next((line for line in output.splitlines() if EXTENSION in line), None)
    assert line is not None, output
    assert re.search(r"\benabled\s+OK\b", line), line
    assert "(python, bookstore)" in line, line


def test_the_installed_extension_has_its_menus_and_toolbar_button() -> None:
    package = json.loads((INSTALLED / "package.json").read_text())
    assert package["name"] == EXTENSION
    assert package["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    schema = json.loads((INSTALLED / "schemas" / EXTENSION / "plugin.json").read_text())
    file_menu = next(
        m for m in schema["jupyter.lab.menus"]["main"] if m["id"] == "jp-mainmenu-file"
    )
    assert {
        "bookstore:save-named-version",
        "bookstore:publish",
        "bookstore:run",
        "bookstore:clone",
    } <= {i.get("command") for i in file_menu["items"]}
    toolbar = schema["jupyter.lab.toolbars"]["Notebook"]
    assert [item["command"] for item in toolbar] == [
        "bookstore:save-named-version",
        "bookstore:publish",
        "bookstore:run",
    ]
