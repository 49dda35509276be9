"""Shared fixtures: the in-process Jupyter server (jupyter_server's pytest plugin) and the
real SeaweedFS S3 server (tests/s3rig.py), plus an environment free of S3 settings."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["jupyter_server.pytest_plugin", "tests.s3rig", "tests.server_fixtures"]

#: Environment variables that would point bookstore or botocore somewhere else.
_LEAKY_ENV_PREFIXES = ("JPYNB_S3_", "AWS_")


@pytest.fixture(autouse=True)
def _clean_s3_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the developer's S3 or AWS configuration."""
    for name in list(os.environ):
        if name.startswith(_LEAKY_ENV_PREFIXES):
            monkeypatch.delenv(name)
    # botocore must never find a real profile or instance metadata in tests.
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
