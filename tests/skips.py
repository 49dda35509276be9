"""Skipping tests whose real parts cannot run here, or failing them where they must run."""

from __future__ import annotations

import os

import pytest


def skip_unless_available(reason: str | None, require_env: str) -> None:
    """Skip the running test when ``reason`` says why its parts cannot run (None: they
    can); fail instead when the environment variable ``require_env`` is set (a CI that
    must not skip them silently)."""
    if reason is None:
        return
    if os.environ.get(require_env):
        pytest.fail(f"{require_env} is set but {reason}", pytrace=False)
    pytest.skip(reason)
