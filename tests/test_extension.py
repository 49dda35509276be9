"""bookstore is a jupyter_server extension, enabled on install."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bookstore import _jupyter_server_extension_points
from bookstore.server.app import BookstoreApp


def test_extension_points() -> None:
    assert _jupyter_server_extension_points() == [
        {"module": "bookstore.server.app", "app": BookstoreApp}
    ]


def test_enabled_and_ok_in_extension_list() -> None:
    jupyter = Path(sys.executable).parent / "jupyter"
    result = subprocess.run(
        [str(jupyter), "server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    output = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)
    assert "bookstore enabled" in output
    assert "bookstore 3.0.0.dev0 OK" in output
