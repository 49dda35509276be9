"""bookstore's extension in Notebook 7, end to end in headless Chromium on the embedded
store: the same flows as in JupyterLab where Notebook 7's layout allows them.

Notebook 7 shows one document per browser tab and has no status bar: the History panel and
the catalog open in its right and left side panels (from the View menu), diffs open in a large
dialog, and a clone opens in a new browser tab. The Run / Schedule button and the Runs panel
are there too (runs themselves are tested in JupyterLab, ``test_runs_ui.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from tests.browser.chromium import JupyterServer
from tests.browser.lab import (
    SLOW_MS,
    expect_text,
    first_cell_editor,
    open_and_save,
    with_installed_labextensions,
    write_notebook,
)
from tests.notebooks import first_cell

if TYPE_CHECKING:
    from playwright.async_api import Page
    from traitlets.config import Config

NAME = "field notes.ipynb"
CLONE_TARGET = "field notes copy.ipynb"


@pytest.fixture
def server_extensions() -> dict[str, bool]:
    """Notebook 7 too: the test drives it."""
    pytest.importorskip(
        "notebook", minversion="7", reason="needs Notebook 7: pip install -e '.[lab]'"
    )
    return {"bookstore": True, "notebook": True}


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    """The prebuilt extensions installed in this environment."""
    return with_installed_labextensions(jp_server_config)


async def view_menu(page: Page, item: str) -> None:
    """Click ``item`` in Notebook 7's View menu."""
    await page.get_by_role("menuitem", name="View", exact=True).click()
    await page.get_by_role("menuitem", name=item, exact=True).click()


async def runs_dialog_and_panel(page: Page) -> None:
    """The Run / Schedule toolbar button opens its dialog; the Runs panel opens from the View
    menu and follows the notebook."""
    from playwright.async_api import expect

    # Run / Schedule from the toolbar: the dialog with the notebook's (no) parameters.
    await page.locator('.jp-NotebookPanel-toolbar [data-command="bookstore:run"]').click()
    dialog = page.locator(".jp-Dialog")
    await expect_text(dialog.locator(".jp-Dialog-header"), f"Run {NAME}")
    await expect(dialog.get_by_text("no parameters cell")).to_be_visible(timeout=SLOW_MS)
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)

    # The Runs panel in the right side panel, following the notebook.
    await view_menu(page, "Show notebook runs")
    runs = page.locator("#bookstore-runs")
    await expect(runs.get_by_text(f"No runs of {NAME} yet")).to_be_visible(timeout=SLOW_MS)


async def test_publish_history_diff_restore_and_clone_in_notebook7(
    jupyter_page: Page,
    jupyter_server_url: JupyterServer,
    jp_root_dir: Path,
    fetch_json: Any,
) -> None:
    from playwright.async_api import expect

    page, server = jupyter_page, jupyter_server_url
    write_notebook(jp_root_dir / NAME, "seen = 1")
    await open_and_save(
        page, server.url("notebooks/" + quote(NAME)), NAME, ["seen = 2", "seen = 3"]
    )

    # Publish from the notebook toolbar.
    await page.locator('.jp-NotebookPanel-toolbar [data-command="bookstore:publish"]').click()
    dialog = page.locator(".jp-Dialog")
    await expect(dialog.get_by_label("Published path")).to_have_value(NAME)
    await dialog.get_by_role("button", name="Publish", exact=True).click()
    await expect_text(dialog.locator(".jp-Dialog-header"), f"Published {NAME}")
    await dialog.get_by_role("button", name="Done").click()
    status, published = await fetch_json("api/bookstore/publish", NAME)
    assert status == 200, published

    # History in the right side panel: three versions; diff the oldest in a dialog.
    await view_menu(page, "Show notebook history")
    history = page.locator("#bookstore-history")
    versions = history.locator("li.jp-bookstore-version")
    await expect(versions).to_have_count(3, timeout=SLOW_MS)
    await expect(versions.first.locator(".jp-bookstore-badge")).to_have_text(
        ["latest", "published"]
    )
    # One document per page: selecting a row does not open anything; a double click (or
    # Enter) shows its diff against the current notebook.
    await versions.last.click()
    await expect(versions.last).to_have_attribute("aria-selected", "true")
    await expect(page.locator(".jp-Dialog")).to_have_count(0)
    await versions.last.dblclick()
    diff = page.locator(".jp-Dialog .jp-bookstore-DiffView")
    changed = diff.locator(".jp-Cell-diff.jp-Diff-twoway")
    await expect(changed).to_have_count(1, timeout=SLOW_MS)
    await expect(changed).to_contain_text("seen = 1")
    await expect(changed).to_contain_text("seen = 3")
    await page.locator(".jp-Dialog").get_by_role("button", name="Close").click()

    # Restore the oldest, from its row's menu.
    await versions.last.hover()
    await versions.last.locator(".jp-bookstore-rowMenu").click()
    await page.get_by_role("menuitem", name="Restore this version…").click()
    await page.locator(".jp-Dialog").get_by_role("button", name="Restore").click()
    await expect_text(first_cell_editor(page), "seen = 1")
    assert first_cell((jp_root_dir / NAME).read_bytes()) == "seen = 1"
    await expect(versions).to_have_count(4, timeout=SLOW_MS)

    # The catalog in the left side panel; the clone opens in a new browser tab.
    await view_menu(page, "Show published notebooks")
    item = page.locator(f'#bookstore-catalog li.jp-bookstore-published[data-path="{NAME}"]')
    await expect(item).to_have_count(1, timeout=SLOW_MS)
    await item.get_by_role("button", name=f"Clone {NAME} into the workspace").click()
    dialog = page.locator(".jp-Dialog")
    await dialog.get_by_label("Target path").fill(CLONE_TARGET)
    async with page.context.expect_page(timeout=SLOW_MS) as opened:
        await dialog.get_by_role("button", name="Clone", exact=True).click()
    new_tab = await opened.value
    await new_tab.wait_for_load_state()
    assert new_tab.url.endswith("notebooks/" + quote(CLONE_TARGET)), new_tab.url
    assert first_cell((jp_root_dir / CLONE_TARGET).read_bytes()) == "seen = 3"
    await new_tab.close()

    await runs_dialog_and_panel(page)
