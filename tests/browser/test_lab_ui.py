"""bookstore's JupyterLab extension end to end, in headless Chromium on a real JupyterLab
(in-process, with the prebuilt extension installed by ``pip install``) over SeaweedFS:

save a notebook three times, publish it from the notebook toolbar, find it in the catalog,
see its four versions (the file as opened plus three saves) in the History panel, open nbdime's
diff of the oldest against the current notebook and see the changed cell marked, restore the
oldest, clone the published notebook from the catalog, and see the status bar say all archived.

``BOOKSTORE_SCREENSHOTS=1`` saves a picture of each panel to ``docs/images/`` (for the
README); the test never depends on them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from tests.browser.chromium import JupyterServer
from tests.browser.lab import (
    SLOW_MS,
    VIEWPORT,
    expect_saved,
    expect_text,
    first_cell_editor,
    is_contents_put,
    open_and_save,
    with_installed_labextensions,
    write_notebook,
)
from tests.jupyter_process import free_port
from tests.notebooks import first_cell
from tests.s3rig import SeaweedFS

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page
    from traitlets.config import Config

#: A space, so the UI's URL encoding is covered too.
NAME = "sales report.ipynb"
CLONE_TARGET = "my copy of the report.ipynb"
SCREENSHOTS_ENV = "BOOKSTORE_SCREENSHOTS"
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


@pytest.fixture
def server_extensions() -> dict[str, bool]:
    """JupyterLab too: the test drives it."""
    pytest.importorskip("jupyterlab", reason="needs JupyterLab: pip install -e '.[lab]'")
    return {"bookstore": True, "jupyterlab": True}


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    """The prebuilt extensions installed in this environment (pytest-jupyter hides the
    environment's data directories from the server it starts)."""
    return with_installed_labextensions(jp_server_config)


async def picture(page: Page, name: str, locator: Locator | None = None) -> None:
    """Save a screenshot for the README when :data:`SCREENSHOTS_ENV` is set."""
    if not os.environ.get(SCREENSHOTS_ENV):
        return
    IMAGES.mkdir(parents=True, exist_ok=True)
    target = locator if locator is not None else page
    # notifications of earlier steps would cover what is pictured
    await target.screenshot(path=str(IMAGES / name), style=".Toastify { display: none; }")


def sidebar_tab(page: Page, panel_id: str) -> Locator:
    """The sidebar tab that shows panel ``panel_id``."""
    return page.locator(f'.jp-SideBar [data-id="{panel_id}"]')


async def open_panel(page: Page, panel_id: str) -> Locator:
    """Show the sidebar panel ``panel_id`` (clicking its tab unless it is showing already)."""
    from playwright.async_api import expect

    panel = page.locator(f"#{panel_id}")
    if not await panel.is_visible():
        await sidebar_tab(page, panel_id).click()
    await expect(panel).to_be_visible(timeout=SLOW_MS)
    return panel


async def publish_from_toolbar(page: Page, fetch_json: Any) -> dict[str, Any]:
    """Publish with the notebook toolbar's button; return ``GET /api/bookstore/publish``."""
    from playwright.async_api import expect

    button = page.locator('.jp-NotebookPanel-toolbar [data-command="bookstore:publish"]')
    dialog = page.locator(".jp-Dialog")

    # A refused path: the dialog stays open with the server's message under the field;
    # nothing is published. Saved, so the dialog offers plain "Publish" (not "Publish last
    # save").
    await expect_saved(page, NAME)
    await button.click()
    await dialog.get_by_label("Published path").fill("../escape.ipynb")
    await dialog.get_by_role("button", name="Publish", exact=True).click()
    await expect(dialog.get_by_role("alert")).to_contain_text("without '.', '..'", timeout=SLOW_MS)
    status, catalog = await fetch_json("api/bookstore/published")
    assert status == 200, catalog
    assert catalog["items"] == [], catalog

    await dialog.get_by_label("Published path").fill(NAME)
    await expect_text(dialog.locator(".jp-Dialog-header"), f"Publish {NAME}")
    await expect(dialog.get_by_label("Published path")).to_have_value(NAME)
    await expect(dialog.get_by_role("status").first).to_have_text("Not published yet.")
    await picture(page, "publish-dialog.png", dialog.locator(".jp-Dialog-content"))
    await dialog.get_by_role("button", name="Publish", exact=True).click()
    await expect_text(dialog.locator(".jp-Dialog-header"), f"Published {NAME}")
    status, published = await fetch_json("api/bookstore/publish", NAME)
    assert status == 200, published
    await expect(dialog.get_by_role("textbox", name="Clone link")).to_have_value(
        re.compile(r"^http://127\.0\.0\.1:\d+/.*bookstore/clone\?.*s3_version_id=")
    )
    await expect(dialog.get_by_text(f"Version {published['versionID']}")).to_be_visible()
    await picture(page, "published-dialog.png", dialog.locator(".jp-Dialog-content"))
    await dialog.get_by_role("button", name="Done").click()
    await expect(dialog).to_have_count(0)
    return dict(published)


async def find_in_catalog(page: Page) -> Locator:
    """Search the catalog by part of the name (any case); return the item."""
    from playwright.async_api import expect

    catalog = await open_panel(page, "bookstore-catalog")
    search = catalog.get_by_label("Search published notebooks by name")
    item = catalog.locator(f'li.jp-bookstore-published[data-path="{NAME}"]')
    await search.fill("SALES")
    await expect(item).to_have_count(1, timeout=SLOW_MS)
    await search.fill("no such notebook")
    await expect(item).to_have_count(0, timeout=SLOW_MS)
    await expect(catalog.get_by_text("Nothing published matches")).to_be_visible()
    await search.fill("sales")
    await expect(item).to_have_count(1, timeout=SLOW_MS)
    await picture(page, "catalog-panel.png", catalog)
    return item


def preview_of(page: Page) -> Locator:
    """The History panel's preview tab of :data:`NAME` (the selected version's diff)."""
    return page.locator(f'[id="bookstore-preview-workspace-{NAME}"]')


async def open_read_only(page: Page, version: Locator) -> None:
    """Open ``version`` (the oldest) read-only from its row's menu: its cells, not
    editable, in a new tab."""
    from playwright.async_api import expect

    await version.hover()
    await version.locator(".jp-bookstore-rowMenu").click()
    await page.get_by_role("menuitem", name="Open read-only").click()
    view = page.locator(".jp-bookstore-VersionView")
    await expect(view.locator(".jp-bookstore-banner")).to_contain_text(
        re.compile(rf"^Read-only: {re.escape(NAME)} as saved "), timeout=SLOW_MS
    )
    # Static, highlighted code: nothing in the view can be edited.
    await expect(view.locator(".jp-bookstore-code").first).to_have_text(
        "total = 1", timeout=SLOW_MS
    )
    await expect(view.locator(".cm-editor, [contenteditable='true']")).to_have_count(0)
    await expect(view.locator(".jp-MarkdownCell")).to_contain_text("Every save is a version")
    await picture(page, "version-view.png")
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current")
    await tab.locator(".lm-TabBar-tabCloseIcon").click()
    await expect(view).to_have_count(0)


async def diff_against_current(page: Page, version: Locator) -> None:
    """Select ``version``: the preview shows nbdime's diff of it against the current
    notebook: one changed cell."""
    from playwright.async_api import expect

    await version.click()
    diff = preview_of(page)
    await expect(diff).to_be_visible(timeout=SLOW_MS)
    await expect_text(diff.locator(".jp-bookstore-diffSummary"), re.compile("^1 cell changed"))
    changed = diff.locator(".jp-Cell-diff.jp-Diff-twoway")
    await expect(changed).to_have_count(1, timeout=SLOW_MS)
    await expect(changed).to_contain_text("total = 1")
    await expect(changed).to_contain_text("total = 4")
    await expect(diff.locator(".jp-Cell-diff.jp-Diff-unchanged")).to_have_count(1)
    await picture(page, "diff-view.png")


async def restore(page: Page, version: Locator) -> None:
    """Restore ``version`` (selected) from the preview's toolbar, through its confirm dialog."""
    await version.click()
    await preview_of(page).locator('[data-action="restore"]').click()
    confirm = page.locator(".jp-Dialog")
    await expect_text(confirm.locator(".jp-Dialog-header"), "Restore this version?")
    await confirm.get_by_role("button", name="Restore").click()


async def clone_from_catalog(page: Page, item: Locator) -> None:
    """Clone the catalog's ``item`` (its one published version) to :data:`CLONE_TARGET`;
    it opens in a new tab."""
    from playwright.async_api import expect

    await open_panel(page, "bookstore-catalog")
    await item.get_by_role("button", name=f"Clone {NAME} into the workspace").click()
    dialog = page.locator(".jp-Dialog")
    await expect_text(dialog.locator(".jp-Dialog-header"), f"Clone {NAME}")
    await expect(dialog.get_by_label("Version").locator("option")).to_have_count(1)
    await dialog.get_by_label("Target path").fill(CLONE_TARGET)
    await dialog.get_by_role("button", name="Clone", exact=True).click()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=CLONE_TARGET)
    await expect(tab).to_be_visible(timeout=SLOW_MS)


@pytest.mark.parametrize("backend", ["s3"], indirect=True)
async def test_publish_history_diff_restore_and_clone_in_jupyterlab(
    jupyter_page: Page,
    jupyter_server_url: JupyterServer,
    jp_root_dir: Path,
    fetch_json: Any,
    bookstore_app: Any,
) -> None:
    from playwright.async_api import expect

    page, server = jupyter_page, jupyter_server_url
    write_notebook(jp_root_dir / NAME, "total = 1")
    # The file as opened is the first version; then three saves.
    url = server.url("lab/tree/" + quote(NAME))
    await open_and_save(page, url, NAME, ["total = 2", "total = 3", "total = 4"])
    status, listed = await fetch_json("api/bookstore/workspace", NAME, "versions")
    assert status == 200, listed
    assert len(listed["versions"]) == 4, listed

    await publish_from_toolbar(page, fetch_json)
    item = await find_in_catalog(page)

    # The History panel: four versions, newest first; the newest is latest and published.
    history = await open_panel(page, "bookstore-history")
    versions = history.locator("li.jp-bookstore-version")
    await expect(versions).to_have_count(4, timeout=SLOW_MS)
    ids = [await row.get_attribute("data-version-id") for row in await versions.all()]
    assert ids == [version["id"] for version in listed["versions"]]
    await expect(versions.first.locator(".jp-bookstore-badge")).to_have_text(
        ["latest", "published"]
    )
    await expect(versions.last.locator(".jp-bookstore-badge")).to_have_text(["oldest"])
    await picture(page, "history-panel.png", history)

    await open_read_only(page, versions.last)
    await diff_against_current(page, versions.last)

    # Restoring the oldest reloads the open notebook; the restore is a fifth version.
    await restore(page, versions.last)
    await expect_text(first_cell_editor(page), "total = 1")
    assert first_cell((jp_root_dir / NAME).read_bytes()) == "total = 1"
    await expect(versions).to_have_count(5, timeout=SLOW_MS)

    await clone_from_catalog(page, item)
    assert first_cell((jp_root_dir / CLONE_TARGET).read_bytes()) == "total = 4"

    # Every save above is archived (the clone's put may still be on its way: wait for it),
    # the archive route and the status bar say so.
    for path in (NAME, CLONE_TARGET):
        assert await bookstore_app.archiver.flush(path, SLOW_MS / 1000), path
    status, archive = await fetch_json("api/bookstore/archive")
    assert status == 200, archive
    assert (archive["state"], archive["pending"]) == ("ok", 0), archive
    status_item = page.locator(".jp-bookstore-ArchiveStatus")
    await expect(status_item).to_have_text("Bookstore: all archived", timeout=SLOW_MS)
    await picture(page, "jupyterlab-bookstore.png")

    # The History panel now follows the clone; let its requests end before the server stops.
    await expect(history.locator("h2")).to_contain_text(CLONE_TARGET[:10])
    await expect(history.locator(".jp-bookstore-panel")).to_have_attribute("aria-busy", "false")


class TestStoreDown:
    """The store unreachable from the start: saving goes on, and the UI says what is wrong
    (status bar, History panel) instead of hiding or failing silently."""

    @pytest.fixture
    def bookstore_config(self, seaweedfs: SeaweedFS, tmp_path: Path) -> dict[str, Any]:
        return {
            **seaweedfs.settings_dict(),
            "s3_endpoint_url": f"http://127.0.0.1:{free_port()}",
            "archive_spool_dir": str(tmp_path / "spool"),
            "archive_retry_max_delay": 0.5,
            "checkpoint_timeout": 1,
        }

    async def test_saves_go_on_and_the_panels_say_the_store_is_down(
        self, jupyter_page: Page, jupyter_server_url: JupyterServer, jp_root_dir: Path
    ) -> None:
        from playwright.async_api import expect

        page = jupyter_page
        await page.set_viewport_size(VIEWPORT)
        write_notebook(jp_root_dir / NAME, "total = 1")
        await page.goto(jupyter_server_url.url("lab/tree/" + quote(NAME)), timeout=SLOW_MS)
        editor = first_cell_editor(page)
        await expect_text(editor, "total = 1")

        # The save itself is not held up by the store: the file is written.
        await editor.click()
        await page.keyboard.press("Control+A")
        await page.keyboard.type("total = 2")
        async with page.expect_response(is_contents_put(NAME), timeout=SLOW_MS) as saved:
            await page.keyboard.press("Control+S")
        assert (await saved.value).status == 200
        assert first_cell((jp_root_dir / NAME).read_bytes()) == "total = 2"

        # The status bar says archiving fails (the reason on hover) and what is waiting.
        status_item = page.locator(".jp-bookstore-ArchiveStatus")
        await expect(status_item).to_have_text(
            re.compile(r"^Bookstore: archiving failing \(\d+ pending\)$"), timeout=SLOW_MS
        )
        await expect(status_item).to_have_attribute("title", re.compile("Archiving fails"))

        # The History panel shows the server's message rather than an empty history.
        history = await open_panel(page, "bookstore-history")
        await expect(history.get_by_role("alert")).to_contain_text("127.0.0.1", timeout=SLOW_MS)

        # The notebook stays open, with no error dialog (JupyterLab closes a notebook whose
        # checkpoints fail to list: bookstore answers a placeholder while the store is down).
        await expect(page.locator(".jp-Dialog")).to_have_count(0)
        await expect(page.locator(".jp-NotebookPanel")).to_be_visible()
        await expect_text(editor, "total = 2")
        await picture(page, "store-down.png")
