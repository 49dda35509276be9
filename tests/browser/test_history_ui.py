"""The History panel as a timeline, in headless Chromium on a real JupyterLab: selecting a
version previews its diff against the current notebook in one reused tab beside the
notebook (never another split pane), tabs named by what they show, names, descriptions and
pins from a row's menu and the preview's toolbar, "Save a named version" from the notebook
toolbar, the Named-only filter, searching the versions' cells, Restore from the preview,
relative times that stay current; and the dialogs that keep what was typed when the server
refuses it (Publish, Clone from bookstore), the published path remembered, and no 404 for
"not published".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlparse

import pytest
from traitlets.config import Config

from tests.browser.chromium import JupyterServer
from tests.browser.lab import (
    SLOW_MS,
    expect_saved,
    expect_text,
    first_cell_editor,
    open_and_save,
    with_installed_labextensions,
    write_notebook,
)
from tests.browser.test_lab_ui import open_panel, picture
from tests.notebooks import first_cell

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page, Response

NAME = "timeline demo.ipynb"


@pytest.fixture
def server_extensions() -> dict[str, bool]:
    """JupyterLab too: the tests drive it."""
    pytest.importorskip("jupyterlab", reason="needs JupyterLab: pip install -e '.[lab]'")
    return {"bookstore": True, "jupyterlab": True}


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    """The prebuilt extensions installed in this environment."""
    return with_installed_labextensions(jp_server_config)


def by_id(page: Page, widget_id: str) -> Locator:
    """The element with id ``widget_id`` (ids here hold spaces: no ``#`` selector)."""
    return page.locator(f'[id="{widget_id}"]')


def main_tab_bars(page: Page) -> Locator:
    """The main area's tab bars: one per split pane."""
    return page.locator("#jp-main-dock-panel .lm-DockPanel-tabBar")


async def row_menu(page: Page, row: Locator, item: str) -> None:
    """Choose ``item`` in ``row``'s menu (its ⋯ button)."""
    await row.hover()
    await row.locator(".jp-bookstore-rowMenu").click()
    await page.get_by_role("menuitem", name=item, exact=True).click()


async def expect_notebook_saved(page: Page) -> None:
    """Wait until the notebook's own tab (not a view's "{NAME}: …" or "{NAME} @ …") shows no
    unsaved changes."""
    from playwright.async_api import expect

    label = page.locator(".lm-TabBar-tabLabel", has_text=re.compile(rf"^{re.escape(NAME)}$"))
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab").filter(has=label)
    await expect(tab).to_have_count(1, timeout=SLOW_MS)
    await expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"), timeout=SLOW_MS)


def bookstore_404s(page: Page) -> list[str]:
    """Record every bookstore request answered 404 from now on (the browser shows each
    as a red error in its console)."""
    seen: list[str] = []

    def record(response: Response) -> None:
        path = unquote(urlparse(response.url).path)
        if response.status == 404 and "/api/bookstore/" in path:
            seen.append(f"{response.request.method} {path}")

    page.on("response", record)
    return seen


@dataclass(frozen=True)
class Timeline:
    """What the steps of the timeline test share."""

    page: Page
    history: Locator
    rows: Locator
    preview: Locator
    tab: Locator
    fetch_json: Any
    root: Path
    not_found: list[str]

    @property
    def oldest(self) -> Locator:
        return self.rows.nth(2)

    @property
    def middle(self) -> Locator:
        return self.rows.nth(1)

    @property
    def dialog(self) -> Locator:
        return self.page.locator(".jp-Dialog")

    @property
    def editor(self) -> Locator:
        return first_cell_editor(self.page)


async def preview_in_one_tab(t: Timeline) -> None:
    """Selecting a row previews its diff in one reused tab beside the notebook."""
    from playwright.async_api import expect

    # Selecting a row previews its diff against the current notebook, beside the notebook.
    await t.oldest.click()
    await expect(t.oldest).to_have_attribute("aria-selected", "true")
    await expect_text(t.preview.locator(".jp-bookstore-diffSummary"), re.compile("^1 cell changed"))
    await expect(t.preview.locator(".jp-Cell-diff.jp-Diff-twoway")).to_contain_text("total = 1")
    await expect(main_tab_bars(t.page)).to_have_count(2)
    await expect(t.tab).to_have_count(1)
    await expect(t.tab).to_have_text(f"{NAME}: now ↔ current")

    # Another row: the same tab shows it (no new tab, no new pane).
    await t.middle.click()
    await expect(t.preview.locator(".jp-Cell-diff.jp-Diff-twoway")).to_contain_text(
        "total = 2", timeout=SLOW_MS
    )
    await expect(t.tab).to_have_count(1)
    await expect(main_tab_bars(t.page)).to_have_count(2)
    # Keyboard: the arrow keys move the selection, which previews too.
    await t.page.keyboard.press("ArrowDown")
    await expect(t.oldest).to_have_attribute("aria-selected", "true")
    await expect(t.preview.locator(".jp-Cell-diff.jp-Diff-twoway")).to_contain_text(
        "total = 1", timeout=SLOW_MS
    )

    # The preview's Open: a read-only tab in the same tab group.
    await t.preview.locator('[data-action="open"]').click()
    version_view = t.page.locator(".jp-bookstore-VersionView")
    await expect(version_view).to_be_visible(timeout=SLOW_MS)
    await expect(main_tab_bars(t.page)).to_have_count(2)
    group = main_tab_bars(t.page).last
    await expect(group.locator(".lm-TabBar-tab")).to_have_count(2)


async def name_and_pin(t: Timeline) -> None:
    """Name, describe and pin the oldest version."""
    from playwright.async_api import expect

    # Name and describe the oldest from its menu; the name shows in the row and the API.
    await row_menu(t.page, t.oldest, "Name…")
    await t.dialog.get_by_label("Name", exact=True).fill("first draft")
    await t.dialog.get_by_label("Description (optional)").fill("before the review")
    await t.dialog.get_by_role("button", name="Save", exact=True).click()
    await expect(t.dialog).to_have_count(0)
    await expect_text(t.oldest.locator(".jp-bookstore-versionName"), "first draft")
    await expect_text(t.oldest.locator(".jp-bookstore-versionDescription"), "before the review")
    status, listed = await t.fetch_json("api/bookstore/workspace", NAME, "versions")
    assert status == 200, listed
    assert [v["name"] for v in listed["versions"]] == [None, None, "first draft"], listed

    # Pin it from the preview's toolbar.
    await t.oldest.click()
    await t.preview.locator('[data-action="pin"]').click()
    await expect(t.oldest.locator(".jp-bookstore-badge.jp-mod-pinned")).to_have_text(
        "pinned", timeout=SLOW_MS
    )


async def save_named_version(t: Timeline) -> None:
    """Save a named version from the notebook toolbar."""
    from playwright.async_api import expect

    # "Save a named version" from the notebook toolbar: save + name in one step.
    await t.page.locator(".jp-NotebookPanel .jp-Cell").first.click()
    await t.editor.click()
    await t.page.keyboard.press("Control+A")
    await t.page.keyboard.type("total = 42")
    await t.page.locator(
        '.jp-NotebookPanel-toolbar [data-command="bookstore:save-named-version"]'
    ).click()
    await t.dialog.get_by_label("Name", exact=True).fill("sent to review")
    await t.dialog.get_by_role("button", name="Save and name").click()
    await expect(t.dialog).to_have_count(0, timeout=SLOW_MS)
    await expect_notebook_saved(t.page)
    await expect(t.rows).to_have_count(4, timeout=SLOW_MS)
    await expect_text(t.rows.first.locator(".jp-bookstore-versionName"), "sent to review")
    status, listed = await t.fetch_json("api/bookstore/workspace", NAME, "versions")
    assert status == 200, listed
    assert listed["versions"][0]["name"] == "sent to review", listed
    status, newest = await t.fetch_json(
        "api/bookstore/workspace", NAME, "versions", listed["versions"][0]["id"]
    )
    assert status == 200, newest
    assert newest["content"]["cells"][0]["source"] == "total = 42", newest
    await picture(t.page, "history-timeline.png", t.history)


async def filter_and_search(t: Timeline) -> None:
    """The Named-only filter and the search box."""
    from playwright.async_api import expect

    # Named only: the two named versions.
    await t.history.get_by_label("Named only").check()
    await expect(t.rows).to_have_count(2, timeout=SLOW_MS)
    await expect(t.rows.locator(".jp-bookstore-versionName")).to_have_text(
        ["sent to review", "first draft"]
    )
    await t.history.get_by_label("Named only").uncheck()
    await expect(t.rows).to_have_count(4, timeout=SLOW_MS)

    # Search the versions' cells: exactly the version that said "total = 2".
    search = t.history.get_by_role("searchbox")
    await search.fill("TOTAL = 2")
    await expect(t.rows).to_have_count(1, timeout=SLOW_MS)
    await expect(t.rows.first.locator(".jp-bookstore-matches")).to_contain_text("total = 2")
    await expect(t.history.locator(".jp-bookstore-footnote")).to_contain_text("Searched 4 versions")
    await search.fill("")
    await expect(t.rows).to_have_count(4, timeout=SLOW_MS)


async def restore_and_times(t: Timeline) -> None:
    """Restore from the preview; relative times move on."""
    from playwright.async_api import expect

    # Restore is one deliberate action: from the preview, confirmed.
    await t.rows.last.click()
    await t.preview.locator('[data-action="restore"]').click()
    confirm = t.page.locator(".jp-Dialog")
    await expect_text(confirm.locator(".jp-Dialog-header"), "Restore this version?")
    await confirm.get_by_role("button", name="Restore").click()
    await expect_text(t.editor, "total = 1")
    assert first_cell((t.root / NAME).read_bytes()) == "total = 1"
    await expect(t.rows).to_have_count(5, timeout=SLOW_MS)

    # Relative times move on: five minutes later nothing says "now" any more, the preview
    # tab's label neither (it shows an unnamed version: by its time).
    await t.rows.nth(2).click()
    await expect(t.tab).to_have_text(
        re.compile(rf"^{re.escape(NAME)}: (now|\d min ago) ↔ current$")
    )
    # just restored: "now" or "N second(s) ago" (Intl.RelativeTimeFormat's singular too)
    await expect(t.rows.first.locator(".jp-bookstore-time")).to_have_text(
        re.compile(r"^(now|\d+ seconds? ago)$")
    )
    await t.page.clock.fast_forward("05:00")
    await expect(t.rows.first.locator(".jp-bookstore-time")).to_have_text(
        re.compile(r"^\d+ minutes ago$"), timeout=SLOW_MS
    )
    await expect(t.tab).to_have_text(
        re.compile(rf"^{re.escape(NAME)}: ([5-9]|1\d) min ago ↔ current$"), timeout=SLOW_MS
    )
    # "Is it published?" was asked without a single 404.
    assert t.not_found == [], t.not_found
    await expect(t.history.locator(".jp-bookstore-panel")).to_have_attribute("aria-busy", "false")


async def test_timeline_preview_names_pins_search_and_restore(
    jupyter_page: Page,
    jupyter_server_url: JupyterServer,
    jp_root_dir: Path,
    fetch_json: Any,
) -> None:
    from playwright.async_api import expect

    page, server = jupyter_page, jupyter_server_url
    not_found = bookstore_404s(page)
    # A fake clock (flowing normally until told otherwise): relative times are checked to
    # move on at the end.
    await page.clock.install()
    write_notebook(jp_root_dir / NAME, "total = 1")
    await open_and_save(
        page, server.url("lab/tree/" + quote(NAME)), NAME, ["total = 2", "total = 3"]
    )
    notebook_bar = main_tab_bars(page)
    await expect(notebook_bar).to_have_count(1)

    history = await open_panel(page, "bookstore-history")
    rows = history.locator("li.jp-bookstore-version")
    await expect(rows).to_have_count(3, timeout=SLOW_MS)
    # A timeline: no button wall, one menu button per row.
    await expect(history.get_by_role("button", name=re.compile("^Restore"))).to_have_count(0)
    await expect(history.locator(".jp-bookstore-rowMenu")).to_have_count(3)
    timeline = Timeline(
        page=page,
        history=history,
        rows=rows,
        preview=by_id(page, f"bookstore-preview-workspace-{NAME}"),
        tab=page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=f"{NAME}: "),
        fetch_json=fetch_json,
        root=jp_root_dir,
        not_found=not_found,
    )
    for step in (
        preview_in_one_tab,
        name_and_pin,
        save_named_version,
        filter_and_search,
        restore_and_times,
    ):
        await step(timeline)


async def test_dialogs_keep_what_was_typed_and_publish_remembers_its_path(
    jupyter_page: Page,
    jupyter_server_url: JupyterServer,
    jp_root_dir: Path,
    fetch_json: Any,
) -> None:
    from playwright.async_api import expect

    page, server = jupyter_page, jupyter_server_url
    not_found = bookstore_404s(page)
    write_notebook(jp_root_dir / NAME, "total = 1")
    await open_and_save(page, server.url("lab/tree/" + quote(NAME)), NAME, [])
    await expect_saved(page, NAME)
    dialog = page.locator(".jp-Dialog")
    publish = page.locator('.jp-NotebookPanel-toolbar [data-command="bookstore:publish"]')

    # A refused path: the dialog stays open, says why next to the field, keeps the text.
    await publish.click()
    field = dialog.get_by_label("Published path")
    await expect(dialog.get_by_role("status").first).to_have_text(
        "Not published yet.", timeout=SLOW_MS
    )
    await field.fill("../escape.ipynb")
    await dialog.get_by_role("button", name="Publish", exact=True).click()
    await expect(dialog.get_by_role("alert")).to_contain_text("'..'", timeout=SLOW_MS)
    await expect(field).to_have_value("../escape.ipynb")
    await expect(field).to_have_attribute("aria-invalid", "true")
    await field.fill("team/weekly.ipynb")
    await dialog.get_by_role("button", name="Publish", exact=True).click()
    await expect_text(dialog.locator(".jp-Dialog-header"), "Published team/weekly.ipynb")
    await dialog.get_by_role("button", name="Done").click()
    status, published = await fetch_json("api/bookstore/publish", "team", "weekly.ipynb")
    assert status == 200, published
    status, not_there = await fetch_json("api/bookstore/publish", "..", "escape.ipynb")
    assert status != 200, not_there

    # Publishing again offers the path it was published under.
    await publish.click()
    await expect(field).to_have_value("team/weekly.ipynb", timeout=SLOW_MS)
    await expect(dialog.get_by_role("status").first).to_contain_text("Already published")
    await dialog.get_by_role("button", name="Cancel").click()
    await expect(dialog).to_have_count(0)

    # Clone from bookstore: a refusal keeps all four fields.
    await page.get_by_role("menuitem", name="File").click()
    await page.get_by_role("menuitem", name="Clone from bookstore…").click()
    await dialog.get_by_label("Key").fill("published/no/such.ipynb")
    await dialog.get_by_label("Target path (optional)").fill("copied.ipynb")
    await dialog.get_by_role("button", name="Clone", exact=True).click()
    await expect(dialog.get_by_role("alert")).not_to_be_empty(timeout=SLOW_MS)
    await expect(dialog.get_by_label("Key")).to_have_value("published/no/such.ipynb")
    await expect(dialog.get_by_label("Target path (optional)")).to_have_value("copied.ipynb")
    await dialog.get_by_label("Key").fill(published["key"])
    await dialog.get_by_role("button", name="Clone", exact=True).click()
    await expect(dialog).to_have_count(0, timeout=SLOW_MS)
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="copied.ipynb")
    await expect(tab).to_be_visible(timeout=SLOW_MS)
    assert first_cell((jp_root_dir / "copied.ipynb").read_bytes()) == "total = 1"
    # The clone that failed is the only 404 (a missing key); "not published" never is one.
    assert [url for url in not_found if "/publish/" in url] == [], not_found
