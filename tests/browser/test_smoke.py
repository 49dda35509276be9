"""The browser rig works: headless Chromium logs into the in-process Jupyter server, reads
bookstore's API, loads a page Jupyter serves and POSTs from page JavaScript with ``_xsrf``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from bookstore import __version__
from tests.browser.chromium import JupyterServer, page_fetch

if TYPE_CHECKING:
    from playwright.async_api import Page


@pytest.fixture
def server_extensions() -> dict[str, bool]:
    """JupyterLab too, for a real page served by Jupyter."""
    pytest.importorskip(
        "jupyterlab", reason="the smoke test opens JupyterLab: pip install -e '.[lab]'"
    )
    return {"bookstore": True, "jupyterlab": True}


async def test_browser_reaches_jupyter(
    jupyter_page: Page, jupyter_server_url: JupyterServer
) -> None:
    page, server = jupyter_page, jupyter_server_url

    # Logged in by cookie: no token in any URL from here on.
    response = await page.goto(server.url("api/bookstore"))
    assert response is not None
    assert response.status == 200
    text = await page.locator("body").inner_text()
    assert "release" in text
    assert json.loads(text)["release"] == __version__

    # A page Jupyter renders itself; its <title> is in the HTML, no need to run the app.
    response = await page.goto(server.url("lab"), wait_until="domcontentloaded")
    assert response is not None
    assert response.status == 200
    assert "JupyterLab" in await page.title()

    # A POST from the page's JavaScript, authenticated by cookie and ``_xsrf`` like JupyterLab's.
    status, body = await page_fetch(
        page, server.url("api/contents"), method="POST", body={"type": "directory"}
    )
    assert status == 201, body
    assert json.loads(body)["type"] == "directory"
    assert "token=" not in page.url
    # ...and without the X-XSRFToken header the same POST is refused: the cookies really are
    # what authenticates the page.
    refused = await page.evaluate(
        "async (url) => (await fetch(url, {method: 'POST', body: '{}'})).status",
        server.url("api/contents"),
    )
    assert refused == 403
