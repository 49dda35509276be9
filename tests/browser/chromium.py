"""Headless Chromium for the browser tests: Debian's ``chromium`` driven by Playwright.

Playwright's own browser download (``playwright install``) is never used: the tests run the
system Chromium (``make browser`` installs it), found by :func:`chromium_executable`.

Everything here uses Playwright's *async* API, so it must run on the event loop of the test
(pytest-jupyter's ``jp_asyncio_loop``), the loop the in-process Jupyter server answers on.
Playwright is imported lazily: without it, importing this module still works and the tests
skip with :func:`browser_unavailable_reason`.

* :func:`open_browser` - ``async with open_browser() as browser:`` a headless ``Browser``;
* :func:`new_page` - ``async with new_page(browser) as page:`` a page in a fresh context
  (own cookies) with a 10 s default timeout, screenshotted when the block fails;
* :class:`JupyterServer` and :func:`login` - the URL and token of the in-process server, and
  the log-in that leaves the page's context with Jupyter's login and ``_xsrf`` cookies;
* :func:`page_fetch` - ``fetch()`` from the page's JavaScript with the ``X-XSRFToken`` header,
  the way JupyterLab sends POSTs.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.skips import skip_unless_available

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

__all__ = [
    "CHROMIUM_ARGS",
    "DEFAULT_TIMEOUT_MS",
    "JupyterServer",
    "browser_unavailable_reason",
    "chromium_executable",
    "login",
    "new_page",
    "open_browser",
    "open_page",
    "page_fetch",
    "screenshot",
    "skip_without_browser",
]

#: Overrides where the Chromium executable is looked for.
CHROMIUM_ENV = "BOOKSTORE_CHROMIUM"
#: Debian's ``chromium`` package.
DEFAULT_CHROMIUM = "/usr/bin/chromium"

#: No sandbox (root, containers), no GPU, and nothing that talks to Google on its own.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)

#: Default timeout of every page action, navigation and request, in milliseconds.
DEFAULT_TIMEOUT_MS = 10_000

#: Fetches from the page's JavaScript, sending the ``_xsrf`` cookie as ``X-XSRFToken``.
_PAGE_FETCH_JS = """
async ([url, method, body]) => {
  const xsrf = document.cookie.split("; ").find((c) => c.startsWith("_xsrf="));
  const headers = {"Content-Type": "application/json"};
  if (xsrf) headers["X-XSRFToken"] = decodeURIComponent(xsrf.slice("_xsrf=".length));
  const init = {method, headers, credentials: "same-origin"};
  if (body !== null) init.body = JSON.stringify(body);
  const response = await fetch(url, init);
  return [response.status, await response.text()];
}
"""


def chromium_executable() -> str | None:
    """The Chromium to run: ``$BOOKSTORE_CHROMIUM``, else ``chromium`` on the ``PATH``,
    else ``/usr/bin/chromium``; None when none of them is an executable file."""
    candidates = [os.environ.get(CHROMIUM_ENV), shutil.which("chromium"), DEFAULT_CHROMIUM]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def browser_unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "browser tests need the playwright package: pip install -e '.[test]'"
    if chromium_executable() is None:
        where = f"${CHROMIUM_ENV}, `chromium` on PATH or {DEFAULT_CHROMIUM}"
        return (
            f"browser tests need Chromium, not found ({where}): "
            "run `make browser` or `apt-get install chromium`"
        )
    return None


def skip_without_browser() -> None:
    """Skip the running test when :func:`browser_unavailable_reason` says so; fail instead
    when ``BOOKSTORE_REQUIRE_BROWSER`` is set (a CI that must not skip them silently)."""
    skip_unless_available(browser_unavailable_reason(), "BOOKSTORE_REQUIRE_BROWSER")


@asynccontextmanager
async def open_browser() -> AsyncIterator[Browser]:
    """A headless Chromium, closed (with Playwright's driver) on exit.

    Skips the test when the browser or playwright is missing; launch errors of an installed
    Chromium are real failures and propagate.
    """
    skip_without_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_executable(),
            headless=True,
            args=list(CHROMIUM_ARGS),
            timeout=30_000,
        )
        try:
            yield browser
        finally:
            await browser.close()


async def open_page(browser: Browser, *, base_url: str | None = None) -> Page:
    """A new page in its own fresh context (no cookies) with :data:`DEFAULT_TIMEOUT_MS`.

    ``base_url`` lets ``page.goto("api/bookstore")`` resolve relative URLs.  Close it with
    ``await page.context.close()``.
    """
    context: BrowserContext = await browser.new_context(base_url=base_url)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
    return await context.new_page()


async def screenshot(page: Page, path: Path) -> Path | None:
    """Save a full-page screenshot of ``page`` to ``path``; None if the page cannot take one
    (closed, crashed).  Never raises: it runs while reporting another failure."""
    if page.is_closed():
        return None
    try:
        await page.screenshot(path=str(path), full_page=True, timeout=5_000)
    except Exception:
        return None
    return path


@asynccontextmanager
async def new_page(
    browser: Browser,
    *,
    base_url: str | None = None,
    screenshot_path: Path | None = None,
) -> AsyncIterator[Page]:
    """``async with new_page(browser) as page:`` a page from :func:`open_page`, closed with its
    context on exit; when the block raises and ``screenshot_path`` is given, the page is saved
    there first (and the path printed)."""
    page = await open_page(browser, base_url=base_url)
    try:
        yield page
    except BaseException:
        if screenshot_path is not None and await screenshot(page, screenshot_path):
            print(f"browser screenshot: {screenshot_path}")
        raise
    finally:
        await page.context.close()


@dataclass(frozen=True)
class JupyterServer:
    """Where the browser reaches the in-process Jupyter server."""

    #: ``http://127.0.0.1:<port><base_url>``, ending with ``/`` (pytest-jupyter's base URL is
    #: ``/a%40b/``; keep it percent-encoded).
    base_url: str
    #: The server's token (``jp_serverapp.identity_provider.token``).
    token: str

    @classmethod
    def from_app(cls, serverapp: Any, port: int) -> JupyterServer:
        """The server of pytest-jupyter's ``jp_serverapp`` listening on ``port`` (the socket
        of its ``http_server`` fixture: ``jp_serverapp`` alone does not listen)."""
        base = serverapp.base_url if serverapp.base_url.endswith("/") else serverapp.base_url + "/"
        return cls(f"http://127.0.0.1:{port}{base}", serverapp.identity_provider.token)

    def url(self, path: str = "") -> str:
        """The absolute URL of ``path`` (relative to the base URL, e.g. ``"api/bookstore"``)."""
        return self.base_url + path.lstrip("/")


async def login(page: Page, server: JupyterServer) -> None:
    """Log the page's browser context into ``server``.

    One token-authenticated request sets Jupyter's login cookie, and one page rendered from a
    template (a 404: jupyter_server's own error page) sets the ``_xsrf`` cookie.  Afterwards
    pages load without ``?token=`` and :func:`page_fetch` can POST.  Both go through the
    context's request API, which shares the context's cookies, so no page is loaded.
    """
    request = page.context.request
    response = await request.get(
        server.url("api/status"), params={"token": server.token}, timeout=DEFAULT_TIMEOUT_MS
    )
    if not response.ok:
        raise AssertionError(f"logging into {server.base_url} failed: HTTP {response.status}")
    # Any template page renders the XSRF token, which sets the cookie; a 404 is the cheapest.
    await request.get(server.url("browser-tests/set-xsrf-cookie"), timeout=DEFAULT_TIMEOUT_MS)
    names = {cookie["name"] for cookie in await page.context.cookies(server.base_url)}
    if "_xsrf" not in names or not any(name.startswith("username-") for name in names):
        raise AssertionError(f"logging into {server.base_url} left the cookies {sorted(names)}")


async def page_fetch(
    page: Page, url: str, *, method: str = "GET", body: Any = None
) -> tuple[int, str]:
    """``fetch(url)`` from the page's JavaScript with its cookies and the ``X-XSRFToken``
    header from the ``_xsrf`` cookie (what JupyterLab sends); ``body`` is sent as JSON.
    The page must be showing a page of the server (same origin).  Returns (status, text)."""
    status, text = await page.evaluate(_PAGE_FETCH_JS, [url, method, body])
    return int(status), str(text)
