"""Shared fixtures: the in-process Jupyter server (jupyter_server's pytest plugin) and the
real SeaweedFS S3 server (tests/s3rig.py), plus an environment free of S3 settings."""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

pytest_plugins = [
    "jupyter_server.pytest_plugin",
    "tests.s3rig",
    "tests.server_fixtures",
    "tests.pgrig",
    "tests.daskrig",
    "tests.smtprig",
]

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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Captured output and logs with lone surrogates (the fuzz tests send such paths and
    bodies, and the server logs them) written as escapes: pytest-xdist's workers send
    reports as UTF-8 and fail on them."""
    report = yield
    report.sections = [(title, _utf8(text)) for title, text in report.sections]
    return report


def _utf8(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
