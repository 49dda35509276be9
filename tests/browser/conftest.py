"""Fixtures of the browser tests: headless Chromium (``tests/browser/chromium.py``) on the
in-process Jupyter server with bookstore enabled.

Every test here is marked ``browser`` and skips, saying why, when Chromium or playwright is
missing (``BOOKSTORE_REQUIRE_BROWSER=1`` makes that a failure).  pytest-jupyter runs async
*tests* on its loop but not async *fixtures*, so the fixtures below are plain generators
that drive ``jp_asyncio_loop`` themselves; tests then use the objects on that same loop.

* ``browser`` - a headless Chromium ``Browser`` for the test;
* ``browser_page`` - a fresh page (own context, 10 s default timeout), screenshotted to the
  test's ``tmp_path`` when the test fails;
* ``jupyter_server_url`` - the :class:`~tests.browser.chromium.JupyterServer` (URL, token)
  of the in-process server, listening on 127.0.0.1;
* ``jupyter_page`` - ``browser_page`` logged into that server;
* the server itself comes from ``tests/server_fixtures.py`` (``bookstore_config``,
  ``server_extensions``: override the latter to add e.g. ``"jupyterlab": True``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.chromium import (
    JupyterServer,
    login,
    open_browser,
    open_page,
    screenshot,
    skip_without_browser,
)

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

_HERE = Path(__file__).parent
#: The pages of a running test, for the screenshot taken when it fails.
_OPEN_PAGES = pytest.StashKey[list[tuple[asyncio.AbstractEventLoop, "Page", Path]]]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this directory ``browser`` (``-m "not browser"`` leaves them out)."""
    for item in items:
        if item.path.is_relative_to(_HERE):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """When a test fails, save its ``browser_page`` as a PNG in its ``tmp_path``; the report
    shows where."""
    report = yield
    if report.when == "call" and report.failed:
        for loop, page, path in item.stash.get(_OPEN_PAGES, []):
            if loop.is_closed() or loop.is_running():
                continue
            if loop.run_until_complete(screenshot(page, path)):
                report.sections.append(("browser screenshot", f"{path}\n"))
    return report


@pytest.fixture(autouse=True)
def _require_browser() -> None:
    """Skip (before any server starts) when Chromium or playwright is missing."""
    skip_without_browser()


@pytest.fixture(autouse=True)
def _no_news_toast(jp_config_dir: Path) -> None:
    """Never ask about Jupyter news: its toast would cover a corner of the screenshot."""
    overrides = jp_config_dir / "labconfig" / "default_setting_overrides.json"
    overrides.parent.mkdir(parents=True, exist_ok=True)
    settings = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}
    overrides.write_text(json.dumps(settings))


@pytest.fixture
def browser(jp_asyncio_loop: asyncio.AbstractEventLoop) -> Iterator[Browser]:
    """A headless Chromium on the test's event loop, closed after the test."""
    manager = open_browser()
    browser = jp_asyncio_loop.run_until_complete(manager.__aenter__())
    try:
        yield browser
    finally:
        jp_asyncio_loop.run_until_complete(manager.__aexit__(None, None, None))


@pytest.fixture
def browser_page(
    request: pytest.FixtureRequest,
    browser: Browser,
    jp_asyncio_loop: asyncio.AbstractEventLoop,
    tmp_path: Path,
) -> Iterator[Page]:
    """A fresh page (own context and cookies, 10 s default timeout); screenshotted to
    ``tmp_path / "browser-screenshot.png"`` when the test fails."""
    page = jp_asyncio_loop.run_until_complete(open_page(browser))
    shot = tmp_path / "browser-screenshot.png"
    request.node.stash.setdefault(_OPEN_PAGES, []).append((jp_asyncio_loop, page, shot))
    try:
        yield page
    finally:
        jp_asyncio_loop.run_until_complete(page.context.close())


@pytest.fixture
def jupyter_server_url(jp_serverapp: Any, http_server_client: Any) -> JupyterServer:
    """The in-process Jupyter server as the browser reaches it (``jp_serverapp`` only listens
    once pytest-jupyter's ``http_server`` has started, which ``http_server_client`` does)."""
    return JupyterServer.from_app(jp_serverapp, http_server_client.get_http_port())


@pytest.fixture
def jupyter_page(
    browser_page: Page,
    jupyter_server_url: JupyterServer,
    jp_asyncio_loop: asyncio.AbstractEventLoop,
) -> Page:
    """``browser_page`` logged into the server: URLs need no token, POSTs carry ``_xsrf``."""
    jp_asyncio_loop.run_until_complete(login(browser_page, jupyter_server_url))
    return browser_page
