"""The clone landing pages in headless Chromium: read the page, click Clone, land in the
opened notebook; and error pages that say what is wrong."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import pytest

from tests.browser.chromium import JupyterServer
from tests.notebooks import make_notebook
from tests.server_fixtures import both_backends

if TYPE_CHECKING:
    from playwright.async_api import Page

NOTEBOOK = make_notebook("landing", cells=2)


@pytest.fixture
def server_extensions() -> dict[str, bool]:
    """JupyterLab too, so the Clone button has a notebook view to open."""
    pytest.importorskip("jupyterlab", reason="needs JupyterLab: pip install -e '.[lab]'")
    return {"bookstore": True, "jupyterlab": True}


def landing_url(server: JupyterServer, route: str, **query: str) -> str:
    return server.url(route) + "?" + urlencode(query, quote_via=quote)


@both_backends
async def test_publish_then_clone_from_the_landing_page(
    jupyter_page: Page,
    jupyter_server_url: JupyterServer,
    jp_root_dir: Path,
    bookstore_app: Any,
    fetch_json: Any,
) -> None:
    page, server = jupyter_page, jupyter_server_url
    status, published = await fetch_json(
        "api/bookstore/publish/team/report.ipynb",
        method="PUT",
        body={"type": "notebook", "content": NOTEBOOK},
    )
    assert status == 200, published

    # The clone link the publish reply gives is the landing page.
    response = await page.goto(server.url(published["clone_url"].split("/", 2)[2]))
    assert response is not None
    assert response.status == 200
    assert await page.locator("#clone-name").inner_text() == "report.ipynb"
    assert await page.locator("#clone-key").inner_text() == published["key"]
    assert published["versionID"] in await page.locator("#clone-version").inner_text()
    assert await page.locator("#target-path").input_value() == "report.ipynb"

    await page.locator("#target-path").fill("inbox/report.ipynb")
    await page.get_by_role("button", name="Clone").click()
    await page.wait_for_url("**/lab/tree/inbox/report.ipynb", wait_until="commit")

    store = await bookstore_app.ready_store()
    stored = await store.get(published["key"], published["versionID"])
    assert (jp_root_dir / "inbox" / "report.ipynb").read_bytes() == stored.body


async def test_clone_errors_show_on_the_page(
    jupyter_page: Page, jupyter_server_url: JupyterServer, bookstore_app: Any, jp_root_dir: Path
) -> None:
    page, server = jupyter_page, jupyter_server_url
    store = await bookstore_app.ready_store()
    await store.put("t/published/x.ipynb", json.dumps(NOTEBOOK).encode())
    await page.goto(landing_url(server, "bookstore/clone", s3_key="t/published/x.ipynb"))
    await page.locator("#target-path").fill("../outside.ipynb")
    await page.get_by_role("button", name="Clone").click()
    alert = page.get_by_role("alert")
    await alert.wait_for()
    assert "'..'" in await alert.inner_text()
    assert not (jp_root_dir / "x.ipynb").exists()
    # Fixing the target makes the same page work.
    await page.locator("#target-path").fill("ok.ipynb")
    await page.get_by_role("button", name="Clone").click()
    await page.wait_for_url("**/lab/tree/ok.ipynb", wait_until="commit")


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ({"s3_key": "t/published/none.ipynb"}, 404, "not found"),
        ({}, 400, "Must have a 's3_key'"),
        ({"s3_key": "x.ipynb", "s3_bucket": "elsewhere"}, 403, "not allowed"),
    ],
)
async def test_landing_page_errors_are_readable(
    jupyter_page: Page,
    jupyter_server_url: JupyterServer,
    query: dict[str, str],
    status: int,
    words: str,
) -> None:
    response = await jupyter_page.goto(landing_url(jupyter_server_url, "bookstore/clone", **query))
    assert response is not None
    assert response.status == status
    assert (await jupyter_page.locator("h1").inner_text()).startswith(f"{status}:")
    assert words in await jupyter_page.get_by_role("alert").inner_text()


class TestFileSystemClone:
    @pytest.fixture
    def bookstore_config(self, bookstore_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
        base = tmp_path / "shared"
        base.mkdir()
        (base / "data.csv").write_bytes(b"a,b\r\n1,2\r\n")
        return {**bookstore_config, "fs_cloning_basedir": str(base)}

    async def test_clone_a_file(
        self, jupyter_page: Page, jupyter_server_url: JupyterServer, jp_root_dir: Path
    ) -> None:
        page = jupyter_page
        await page.goto(landing_url(jupyter_server_url, "bookstore/fs-clone", relpath="data.csv"))
        assert await page.locator("#clone-relpath").inner_text() == "data.csv"
        await page.get_by_role("button", name="Clone").click()
        await page.wait_for_url("**/lab/tree/data.csv", wait_until="commit")
        assert (jp_root_dir / "data.csv").read_bytes() == b"a,b\r\n1,2\r\n"
