"""schemathesis hooks for ``tests/test_api_fuzz.py`` (loaded by the ``st`` command through
its configuration's ``hooks``): one more check on every response."""

from __future__ import annotations

import os
from typing import Any

import schemathesis

#: The server's root directory, which no reply may show (set by the test).
ROOT_ENV = "BOOKSTORE_FUZZ_ROOT"


@schemathesis.check
def no_traceback_or_server_path(ctx: Any, response: Any, case: Any) -> bool | None:
    """No reply holds a Python traceback or the server's root directory."""
    text = response.text if isinstance(response.text, str) else ""
    if "Traceback (most recent call last)" in text:
        raise AssertionError("The reply holds a Python traceback.")
    root = os.environ.get(ROOT_ENV)
    if root and root in text:
        raise AssertionError("The reply shows the server's root directory.")
    return None
