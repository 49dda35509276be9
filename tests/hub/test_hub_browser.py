"""What a hub user sees when bookstore refuses, in JupyterLab in headless Chromium on the
real JupyterHub of ``tests/hub/rig.py`` (``test_hub_isolation.py`` is the same flow over
REST).

alice logs in through the hub's login form and lands in her JupyterLab; bob has saved a
secret notebook and published a report (set up over REST).  alice's "Clone from
bookstore…" of bob's secret shows the server's refusal and writes nothing into her
workspace; her publish over bob's report shows the refusal naming bob.  carol, whose hub
scopes lack ``write:contents``, sees that she may not write contents when she clones.

The refusals show whole in the dialog that asked (its alert line); the dialog stays open
with everything typed, so the user can change a field and try again, or cancel.

Each refusal is pictured as ``hub-refusal-<what>.png`` in the test's ``tmp_path`` and in
``$BOOKSTORE_HUB_SCREENSHOTS`` when set; a failing test saves its page there too.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlparse

import pytest

from tests.browser.chromium import new_page, open_browser, skip_without_browser
from tests.browser.lab import SLOW_MS, VIEWPORT, expect_saved, expect_text, write_notebook
from tests.hub.test_hub_isolation import markers, publish, save

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page, Response

    from tests.hub.rig import Hub

#: One hub for every test of tests/hub when run with ``--dist loadgroup`` (make test).
pytestmark = [pytest.mark.xdist_group("hub"), pytest.mark.browser]

SCREENSHOTS_ENV = "BOOKSTORE_HUB_SCREENSHOTS"


@pytest.fixture(scope="session", autouse=True)
def _require_browser() -> None:
    """Skip (before the session's hub starts) when Chromium or playwright is missing; fail
    under ``BOOKSTORE_REQUIRE_BROWSER``.  Session-scoped: autouse fixtures come first only
    among fixtures of their scope, and ``hub`` is a session fixture."""
    skip_without_browser()


@pytest.fixture
def tag() -> str:
    """Names unique to one test (the hub and its bucket serve the whole session)."""
    return uuid.uuid4().hex[:8]


@pytest.fixture
def bob(hub: Hub, tag: str) -> tuple[str, str]:
    """bob's saved secret and published report: ``(secret path, published path)``."""
    hub.start_server("bob")
    secret, report = f"secret-{tag}.ipynb", f"bob-{tag}.ipynb"
    save(hub, "bob", secret, "bob's secret")
    status, published = publish(hub, "bob", report, "bob's report")
    assert status == 200, published
    assert published["owner"] == "bob"
    return secret, report


def quiet_lab(hub: Hub, user: str) -> None:
    """Never ask ``user`` about Jupyter news (its toast would sit among the refusals): the
    rig's servers run in ``<root>/home/<user>`` with that as ``HOME``, where JupyterLab
    keeps the user's settings."""
    settings = (
        hub.root
        / "home"
        / user
        / ".jupyter/lab/user-settings/@jupyterlab/apputils-extension"
        / "notification.jupyterlab-settings"
    )
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"fetchNews": "false"}))


@asynccontextmanager
async def lab_of(hub: Hub, user: str, tmp_path: Path, path: str = "") -> AsyncIterator[Page]:
    """A Chromium page of ``user`` logged in with the hub's login form, showing their
    JupyterLab (``path`` open, e.g. ``tree/a.ipynb``) with bookstore's commands ready;
    screenshotted to ``tmp_path`` when the block fails."""
    from playwright.async_api import expect

    hub.start_server(user)
    quiet_lab(hub, user)
    password = hub.admin_password if user in hub.admins else hub.user_password
    # ?reset: the layout of a previous test's visit is not restored
    lab = f"/user/{user}/lab/{path}?reset"
    shot = tmp_path / "browser-screenshot.png"
    async with open_browser() as browser, new_page(browser, screenshot_path=shot) as page:
        await page.set_viewport_size(VIEWPORT)
        await page.goto(f"{hub.url}/hub/login?next={quote(lab)}", timeout=SLOW_MS)
        await page.get_by_label("Username:").fill(user)
        await page.get_by_label("Password:").fill(password)
        await page.get_by_role("button", name="Sign in").click()
        # the hub sends the browser on to the server, which logs it in by OAuth
        await page.wait_for_url(
            re.compile(rf"^{re.escape(hub.url)}/user/{user}/lab"), timeout=SLOW_MS
        )
        # bookstore's status bar item: its commands are there too (same activation)
        await expect(page.locator(".jp-bookstore-ArchiveStatus")).to_be_visible(timeout=SLOW_MS)
        yield page


def file_item(page: Page, name: str) -> Locator:
    """The file browser's entry of ``name``."""
    entries = page.locator("#filebrowser .jp-DirListing-item")
    return entries.filter(has=page.locator(".jp-DirListing-itemText").get_by_text(name, exact=True))


async def refresh_file_browser(page: Page) -> None:
    """Reload the file browser's listing with its Refresh button, until it is fetched."""

    def is_listing(response: Response) -> bool:
        path = unquote(urlparse(response.url).path).rstrip("/")
        return response.request.method == "GET" and path.endswith("/api/contents")

    async with page.expect_response(is_listing, timeout=SLOW_MS) as listed:
        await page.locator('#filebrowser [data-command="filebrowser:refresh"]').click()
    assert (await listed.value).status == 200


def is_bookstore_call(route: str, method: str = "POST"):  # type: ignore[no-untyped-def]
    """A predicate for JupyterLab calling ``<method> .../api/bookstore/<route>``."""

    def predicate(response: Response) -> bool:
        path = unquote(urlparse(response.url).path)
        return response.request.method == method and path.endswith(f"/api/bookstore/{route}")

    return predicate


async def refused_in_dialog(page: Page, message: str) -> Locator:
    """The open dialog, once its alert line shows the server's whole ``message``."""
    from playwright.async_api import expect

    dialog = page.locator(".jp-Dialog")
    await expect(dialog.get_by_role("alert")).to_have_text(message, timeout=SLOW_MS)
    await expect(dialog).to_have_count(1)
    return dialog


async def cancel(dialog: Locator) -> None:
    """Close ``dialog`` with its Cancel button."""
    from playwright.async_api import expect

    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)


async def picture(page: Page, what: str, tmp_path: Path) -> None:
    """Save the page as ``hub-refusal-<what>.png`` in the test's ``tmp_path`` and in
    ``$BOOKSTORE_HUB_SCREENSHOTS`` when set."""
    targets = [tmp_path]
    if os.environ.get(SCREENSHOTS_ENV):
        targets.append(Path(os.environ[SCREENSHOTS_ENV]))
    for target in targets:
        target.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(target / f"hub-refusal-{what}.png"), animations="disabled")


async def clone_from_store(page: Page, key: str) -> Response:
    """Clone ``key`` with File > Clone from bookstore…; return the server's answer."""
    await page.locator(".lm-MenuBar-item", has_text="File").click()
    await page.locator('.lm-Menu-item[data-command="bookstore:clone"]').click()
    dialog = page.locator(".jp-Dialog")
    await expect_text(dialog.locator(".jp-Dialog-header"), "Clone from bookstore")
    await dialog.get_by_label("Key").fill(key)
    async with page.expect_response(is_bookstore_call("clone"), timeout=SLOW_MS) as answered:
        await dialog.get_by_role("button", name="Clone", exact=True).click()
    return await answered.value


async def refusal(response: Response) -> str:
    """The message of the server's 403."""
    assert response.status == 403, await response.text()
    body: dict[str, Any] = await response.json()
    return str(body["message"])


async def test_alice_sees_why_she_may_not_clone_bobs_secret_or_publish_over_his_report(
    hub: Hub, bob: tuple[str, str], tag: str, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    secret, report = bob
    mine = f"alice-notes-{tag}.ipynb"
    # a notebook of hers with the kernel's metadata: opening it leaves it saved
    write_notebook(tmp_path / mine, "total = 1")
    hub.start_server("alice")
    content = json.loads((tmp_path / mine).read_text())
    status, body = hub.request(
        "alice", "PUT", f"api/contents/{mine}", {"type": "notebook", "content": content}
    )
    assert status == 201, body

    async with lab_of(hub, "alice", tmp_path, f"tree/{quote(mine)}") as page:
        await expect_saved(page, mine)
        await expect(file_item(page, mine)).to_be_visible(timeout=SLOW_MS)

        # Cloning bob's secret by its key: refused, with the server's reason.
        key = f"workspace/bob/{secret}"
        message = await refusal(await clone_from_store(page, key))
        assert repr(key) in message, message
        dialog = await refused_in_dialog(page, message)
        # what she may clone, and the setting that says so
        assert message.startswith(
            "You may clone only keys under published/, workspace/alice/ "
            "(BookstoreSettings.clone_allowed_prefixes)"
        ), message
        await expect(dialog.get_by_label("Key")).to_have_value(key)  # kept, to correct
        await picture(page, "clone", tmp_path)
        await cancel(dialog)
        # nothing was written: no file in her file browser (reloaded), nor in her workspace
        await refresh_file_browser(page)
        await expect(file_item(page, mine)).to_be_visible()
        await expect(file_item(page, secret)).to_have_count(0)
        status, _ = hub.request("alice", "GET", f"api/contents/{secret}")
        assert status == 404

        # Publishing her notebook over bob's report: refused, naming bob.
        await page.locator('.jp-NotebookPanel-toolbar [data-command="bookstore:publish"]').click()
        dialog = page.locator(".jp-Dialog")
        await expect_text(dialog.locator(".jp-Dialog-header"), f"Publish {mine}")
        await expect(dialog.get_by_role("status").first).to_have_text("Not published yet.")
        await dialog.get_by_label("Published path").fill(report)
        # the dialog looks the new path up: bob's, and she may not publish over it
        await expect(dialog.get_by_role("status").first).to_contain_text(
            "Already published by bob", timeout=SLOW_MS
        )
        await expect(dialog.get_by_role("status").first).to_contain_text(
            "It belongs to bob: only they, the publication editors and JupyterHub admins "
            "may publish over it. Choose another path."
        )
        await expect(dialog.get_by_role("button", name="Unpublish")).to_have_count(0)
        async with page.expect_response(
            is_bookstore_call(f"publish/{report}", "PUT"), timeout=SLOW_MS
        ) as answered:
            await dialog.get_by_role("button", name="Publish", exact=True).click()
        message = await refusal(await answered.value)
        assert f"{report!r} is published by 'bob'" in message, message
        dialog = await refused_in_dialog(page, message)
        assert message.startswith(f"{report!r} is published by 'bob': only 'bob'"), message
        await expect(dialog.get_by_label("Published path")).to_have_value(report)
        await picture(page, "publish", tmp_path)
        await cancel(dialog)

    status, model = hub.request("bob", "GET", f"api/bookstore/published/{report}")
    assert status == 200, model
    assert markers(model) == "# bob's report"  # still bob's


async def test_carol_sees_she_may_not_write_contents_when_she_clones(
    hub: Hub, bob: tuple[str, str], tmp_path: Path
) -> None:
    from playwright.async_api import expect

    _, report = bob
    async with lab_of(hub, "carol", tmp_path) as page:
        message = await refusal(await clone_from_store(page, f"published/{report}"))
        assert "not authorized to write contents" in message, message
        dialog = await refused_in_dialog(page, message)
        assert message.startswith("You are not authorized to write contents on this server"), (
            message
        )
        await picture(page, "carol-clone", tmp_path)
        await cancel(dialog)
        await refresh_file_browser(page)
        await expect(file_item(page, report)).to_have_count(0)
    status, _ = hub.request("carol", "GET", f"api/contents/{report}")
    assert status == 404
