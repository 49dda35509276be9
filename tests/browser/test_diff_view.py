"""bookstore's diff view and read-only version view in JupyterLab, in headless Chromium
(the prebuilt extension installed by ``pip install``, the embedded store).

Two versions of a notebook are saved through the contents API: a code cell whose source
and output change, an unchanged markdown and code cell, and a cell whose PNG, execution
count and metadata change.  Selecting the older one in the History panel previews its diff
against the current file; the tests check that a changed cell shows base and remote in two
columns next to each other (their boxes, not only their classes), that the toggles (hide
outputs, metadata, execution counts; outputs only) ask the server again and change both
what is shown and the summary, that a changed image is shown old and new side by side with
labels, and that the read-only version shows every cell with highlighted code and rendered
outputs but no editor.
"""

from __future__ import annotations

import asyncio
import base64
import re
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest
from nbformat import v4

from tests.browser.chromium import JupyterServer
from tests.browser.lab import SLOW_MS, VIEWPORT, with_installed_labextensions

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page
    from traitlets.config import Config

NAME = "diff demo.ipynb"


@pytest.fixture
def server_extensions() -> dict[str, bool]:
    """JupyterLab too: the tests drive it."""
    pytest.importorskip("jupyterlab", reason="needs JupyterLab: pip install -e '.[lab]'")
    return {"bookstore": True, "jupyterlab": True}


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    """The prebuilt extensions installed in this environment."""
    return with_installed_labextensions(jp_server_config)


#: Where bookstore's diff and version styles may apply (``style/diff.css``).
VIEW_SCOPES = (
    ".jp-bookstore-DiffView",
    ".jp-bookstore-VersionView",
    ".jp-bookstore-diffBody",
    ".jp-bookstore-diffScroller",
    ".jp-bookstore-readOnlyNotebook",
)
STYLE = Path(__file__).resolve().parents[2] / "style"


def test_view_styles_are_scoped_and_nbdime_sheets_not_loaded() -> None:
    """Every rule of the views' style sheet starts inside one of the views, and no style
    sheet of bookstore imports nbdime's (whose unscoped rules restyle JupyterLab's drag
    images, flex and collapsible panels). Plain text checks: no browser needed."""
    css = re.sub(r"/\*.*?\*/", "", (STYLE / "diff.css").read_text(), flags=re.DOTALL)
    selectors = [
        selector.strip()
        for block in re.findall(r"([^{}]+)\{[^{}]*\}", css)
        for selector in block.split(",")
    ]
    assert len(selectors) > 50, selectors
    unscoped = [s for s in selectors if not s.startswith(VIEW_SCOPES)]
    assert unscoped == [], unscoped
    for sheet in STYLE.glob("*.css"):
        assert "nbdime" not in re.sub(r"/\*.*?\*/", "", sheet.read_text(), flags=re.DOTALL), sheet


def png(width: int, height: int, rgb: tuple[int, int, int]) -> str:
    """A one-colour PNG, base64-encoded as notebooks hold it."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(tag: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + tag
            + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    return base64.b64encode(data).decode()


def notebook(version: int) -> dict[str, Any]:
    """Version 1 or 2 of the test notebook."""
    x = 1 if version == 1 else 10
    changed = v4.new_code_cell(
        f"x = {x}\nprint(x)",
        execution_count=1 if version == 1 else 5,
        outputs=[v4.new_output("stream", name="stdout", text=f"{x}\n")],
    )
    plot = v4.new_code_cell(
        "plot(data)",
        execution_count=3 if version == 1 else 6,
        outputs=[
            v4.new_output(
                "display_data",
                data={
                    "image/png": png(120, 80, (220, 40, 40) if version == 1 else (40, 80, 220)),
                    "text/plain": "<Figure>",
                },
            )
        ],
    )
    plot.metadata["tags"] = [] if version == 1 else ["plot"]
    cells = [
        changed,
        v4.new_markdown_cell("# Notes\n\nThese stay the same."),
        v4.new_code_cell("y = 2", execution_count=2),
        plot,
    ]
    for n, cell in enumerate(cells):
        cell.id = f"cell-{n}"  # the same in both versions
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return dict(nb)


async def save_versions(
    fetch_json: Any, notebooks: list[dict[str, Any]] | None = None
) -> list[str]:
    """Save both versions (``notebooks``, default :func:`notebook` 1 and 2) through the
    contents API; wait until both are archived; return the version ids, newest first."""
    for content in notebooks or [notebook(1), notebook(2)]:
        body = {"type": "notebook", "format": "json", "content": content}
        status, reply = await fetch_json("api/contents", NAME, method="PUT", body=body)
        assert status in (200, 201), reply
    for _ in range(600):
        status, listed = await fetch_json("api/bookstore/workspace", NAME, "versions")
        if (
            status == 200
            and len(listed["versions"]) == 2
            and not any(item["pending"] for item in listed["versions"])
        ):
            return [item["id"] for item in listed["versions"]]
        await asyncio.sleep(0.1)
    raise AssertionError(f"the two saves did not become versions: {listed}")


async def open_history(page: Page, server: JupyterServer) -> Locator:
    """JupyterLab showing the notebook and its History panel; return the version rows."""
    from playwright.async_api import expect

    await page.set_viewport_size(VIEWPORT)
    await page.goto(server.url("lab/tree/" + quote(NAME)), timeout=SLOW_MS)
    await page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for(timeout=SLOW_MS)
    history = page.locator("#bookstore-history")
    if not await history.is_visible():
        await page.locator('.jp-SideBar [data-id="bookstore-history"]').click()
    rows = history.locator("li.jp-bookstore-version")
    await expect(rows).to_have_count(2, timeout=SLOW_MS)
    return rows


async def open_diff(page: Page, row: Locator) -> Locator:
    """The diff of ``row``'s version against the current file: the History panel previews
    the selected row (the Diff button of each row, in the panel before the timeline)."""
    from playwright.async_api import expect

    button = row.get_by_role("button", name=re.compile(r"^Diff the version saved"))
    if await button.count():
        await button.click()
    else:
        await row.click()
    view = page.locator(".jp-bookstore-DiffView")
    await expect(view).to_have_count(1, timeout=SLOW_MS)
    await expect(view.locator(".jp-bookstore-diffBody")).to_have_count(1, timeout=SLOW_MS)
    return view


async def box(locator: Locator) -> dict[str, float]:
    """The bounding box of ``locator``, scrolled into view first."""
    await locator.scroll_into_view_if_needed()
    found = await locator.bounding_box()
    assert found is not None, f"{locator} has no box"
    return {key: float(found[key]) for key in ("x", "y", "width", "height")}


def assert_left_of(left: dict[str, float], right: dict[str, float]) -> None:
    """``left`` is entirely left of ``right`` and they share rows (side by side, not
    stacked)."""
    assert left["x"] + left["width"] <= right["x"] + 1, (left, right)
    assert left["width"] > 50, left
    assert right["width"] > 50, right
    top = max(left["y"], right["y"])
    bottom = min(left["y"] + left["height"], right["y"] + right["height"])
    assert bottom > top, f"not on the same rows: {left} {right}"


async def summary(view: Locator) -> str:
    return (await view.locator(".jp-bookstore-diffSummary").text_content()) or ""


async def wait_summary(view: Locator, pattern: str) -> None:
    from playwright.async_api import expect

    await expect(view.locator(".jp-bookstore-diffSummary")).to_have_text(
        re.compile(pattern), timeout=SLOW_MS
    )
    await expect(view.locator(".jp-bookstore-diffScroller")).not_to_have_attribute(
        "aria-busy", "true"
    )


async def test_changed_cell_in_two_columns_and_unchanged_cells_hidden(
    jupyter_page: Page, jupyter_server_url: JupyterServer, fetch_json: Any
) -> None:
    from playwright.async_api import expect

    page = jupyter_page
    ids = await save_versions(fetch_json)
    rows = await open_history(page, jupyter_server_url)
    view = await open_diff(page, rows.last)
    await expect(view).to_have_attribute("data-bookstore-base", ids[1])
    await wait_summary(view, r"^2 cells changed")

    # The changed code cell: base on the left, remote on the right, lines aligned.
    changed = view.locator(".jp-Cell-diff.jp-Diff-twoway").first
    await expect(view.locator(".jp-Cell-diff.jp-Diff-twoway")).to_have_count(2)
    base = changed.locator(".jp-bookstore-source .jp-bookstore-pane.jp-mod-base")
    remote = changed.locator(".jp-bookstore-source .jp-bookstore-pane.jp-mod-remote")
    await expect(base).to_contain_text("x = 1")
    await expect(remote).to_contain_text("x = 10")
    assert_left_of(await box(base), await box(remote))
    first_lines = [
        base.locator(".jp-bookstore-line").first,
        remote.locator(".jp-bookstore-line").first,
    ]
    left, right = [await box(line) for line in first_lines]
    assert abs(left["y"] - right["y"]) < 1, (left, right)
    # Only the changed characters are marked: "0" added on the right, nothing on the left
    # but the line.
    await expect(first_lines[1].locator(".jp-bookstore-mark")).to_have_text("0")
    await expect(first_lines[0]).to_have_class(re.compile(r"\bjp-mod-changed\b"))
    # The unchanged second line is not marked.
    await expect(remote.locator(".jp-bookstore-line").nth(1)).not_to_have_class(
        re.compile(r"jp-mod-(changed|added)")
    )
    # Its text output changed too: side by side as lines.
    outputs = changed.locator(".jp-bookstore-outputText")
    await expect(outputs.locator(".jp-mod-base")).to_contain_text("1")
    await expect(outputs.locator(".jp-mod-remote")).to_contain_text("10")
    assert_left_of(
        await box(outputs.locator(".jp-bookstore-pane.jp-mod-base")),
        await box(outputs.locator(".jp-bookstore-pane.jp-mod-remote")),
    )
    # Code is highlighted statically; no editor is made for a diff.
    await expect(base.locator("span[class]").first).to_be_attached()
    await expect(view.locator(".cm-editor")).to_have_count(0)

    # Two unchanged cells, hidden, and a marker says so; the toggle shows them.
    unchanged = view.locator(".jp-Cell-diff.jp-Diff-unchanged")
    await expect(unchanged).to_have_count(2)
    for n in range(2):
        await expect(unchanged.nth(n)).to_be_hidden()
    hidden_before = view.locator("[data-bookstore-hidden-before='2']")
    await expect(hidden_before).to_have_count(1)
    toggle = view.get_by_label("Hide unchanged cells")
    await expect(toggle).to_be_checked()
    await toggle.uncheck()
    await expect(unchanged.nth(0)).to_be_visible()
    await expect(unchanged.nth(0).locator(".jp-RenderedMarkdown h1")).to_contain_text("Notes")
    await expect(unchanged.nth(1)).to_contain_text("y = 2")
    await toggle.check()
    await expect(unchanged.nth(0)).to_be_hidden()


def diff_requests(page: Page) -> list[str]:
    """The URLs of the diff requests the page makes from now on."""
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/diff?" in r.url else None)
    return requests


async def test_hide_toggles_refetch_and_change_what_is_shown(
    jupyter_page: Page, jupyter_server_url: JupyterServer, fetch_json: Any
) -> None:
    from playwright.async_api import expect

    page = jupyter_page
    await save_versions(fetch_json)
    rows = await open_history(page, jupyter_server_url)
    view = await open_diff(page, rows.last)
    await wait_summary(view, r"^2 cells changed")
    plot = view.locator(".jp-Cell-diff").nth(3)
    await expect(plot).to_have_class(re.compile(r"\bjp-Diff-twoway\b"))
    await expect(plot.locator(".jp-bookstore-cellMetadata")).to_have_count(1)
    await expect(plot.locator(".jp-bookstore-cellHeader .jp-mod-base")).to_have_text("In [3]:")
    await expect(plot.locator(".jp-bookstore-cellHeader .jp-mod-remote")).to_have_text("In [6]:")
    # Metadata changes are collapsed; opening shows them side by side.
    await plot.locator(".jp-bookstore-cellMetadata > summary").click()
    await expect(plot.locator(".jp-bookstore-cellMetadata .jp-mod-remote")).to_contain_text("plot")
    requests = diff_requests(page)

    # Hide outputs: the server is asked with hide=outputs; no output row is left.
    outputs_box = view.get_by_label("Hide outputs")
    await outputs_box.check()
    await wait_summary(view, r"Not compared: outputs\.$")
    assert any("hide=outputs" in url for url in requests), requests
    await expect(
        view.locator(".jp-bookstore-outputs, .jp-bookstore-outputsUnchanged")
    ).to_have_count(0)
    await expect(plot).to_have_class(re.compile(r"\bjp-Diff-twoway\b"))

    # Hide metadata and execution counts too (the first from the keyboard): the plot cell
    # changed only in those, so it is unchanged now and one cell is left changed.
    metadata_box = view.get_by_label("Hide metadata")
    await metadata_box.focus()
    await page.keyboard.press("Space")
    await wait_summary(view, r"Not compared: metadata, outputs\.$")
    await expect(metadata_box).to_be_checked()
    await view.get_by_label("Hide execution counts").check()
    await wait_summary(view, r"^1 cell changed.*Not compared: execution counts, metadata, outputs")
    assert "hide=execution_count%2Cmetadata%2Coutputs" in requests[-1], requests
    await expect(view.locator(".jp-Cell-diff.jp-Diff-twoway")).to_have_count(1)
    await expect(plot).to_have_class(re.compile(r"\bjp-Diff-unchanged\b"))
    await expect(view.locator(".jp-bookstore-cellHeader")).to_have_count(0)

    # Back to everything.
    for label in ("Hide outputs", "Hide metadata", "Hide execution counts"):
        await view.get_by_label(label).uncheck()
    await wait_summary(view, r"^2 cells changed\.$")
    await expect(plot.locator(".jp-bookstore-outputCompare")).to_have_count(1)


async def test_outputs_only_compares_outputs_alone(
    jupyter_page: Page, jupyter_server_url: JupyterServer, fetch_json: Any
) -> None:
    from playwright.async_api import expect

    page = jupyter_page
    await save_versions(fetch_json)
    rows = await open_history(page, jupyter_server_url)
    view = await open_diff(page, rows.last)
    await wait_summary(view, r"^2 cells changed")
    requests = diff_requests(page)

    # Sources are not compared (the changed cell's source shows once, for context), the
    # output changes are; the hide toggles that do not apply are disabled.
    only = view.get_by_label("Outputs only")
    await only.check()
    await wait_summary(view, r"Outputs only\.$")
    assert "only=outputs" in requests[-1], requests
    assert "hide=" not in requests[-1], requests
    outputs_box = view.get_by_label("Hide outputs")
    await expect(outputs_box).to_be_disabled()
    await expect(view.get_by_label("Hide metadata")).to_be_disabled()
    changed = view.locator(".jp-Cell-diff.jp-Diff-twoway")
    await expect(changed).to_have_count(2)
    await expect(changed.locator(".jp-bookstore-source")).to_have_count(0)
    await expect(changed.first.locator(".jp-bookstore-sameSource")).to_contain_text("x = 1")
    await expect(changed.first.locator(".jp-bookstore-outputText")).to_have_count(1)
    await expect(changed.nth(1).locator(".jp-bookstore-outputCompare")).to_have_count(1)
    await expect(view.locator(".jp-bookstore-cellMetadata")).to_have_count(0)

    await only.uncheck()
    await wait_summary(view, r"^2 cells changed\.$")
    await expect(outputs_box).to_be_enabled()
    await expect(view.locator(".jp-bookstore-source")).to_have_count(1)


async def test_changed_image_shown_old_and_new_side_by_side(
    jupyter_page: Page, jupyter_server_url: JupyterServer, fetch_json: Any
) -> None:
    from playwright.async_api import expect

    page = jupyter_page
    await save_versions(fetch_json)
    rows = await open_history(page, jupyter_server_url)
    view = await open_diff(page, rows.last)
    compare = view.locator(".jp-bookstore-outputCompare")
    await expect(compare).to_have_count(1, timeout=SLOW_MS)
    before = compare.locator("figure.jp-mod-base")
    after = compare.locator("figure.jp-mod-remote")
    await expect(before.locator("figcaption")).to_have_text(re.compile(r"^Before: version "))
    await expect(after.locator("figcaption")).to_have_text("After: current file")
    images = [before.locator("img"), after.locator("img")]
    for image in images:
        await expect(image).to_have_count(1)
        await expect(image).to_have_js_property("complete", True)
        await expect(image).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
    sources = [await image.get_attribute("src") for image in images]
    assert sources[0] != sources[1]
    left, right = [await box(image) for image in images]
    assert_left_of(left, right)
    assert abs(left["y"] - right["y"]) < 2, (left, right)


async def test_read_only_version_is_static_and_complete(
    jupyter_page: Page, jupyter_server_url: JupyterServer, fetch_json: Any
) -> None:
    from playwright.async_api import expect

    page = jupyter_page
    ids = await save_versions(fetch_json)
    rows = await open_history(page, jupyter_server_url)
    view = await open_diff(page, rows.last)
    open_button = view.locator('button[data-action="open"]')
    if await open_button.count():
        await open_button.click()
    else:
        await rows.last.get_by_role("button", name=re.compile(r"^Open the version")).click()
    version = page.locator(".jp-bookstore-VersionView")
    await expect(version.locator(".jp-bookstore-banner")).to_contain_text(ids[1], timeout=SLOW_MS)
    cells = version.locator(".jp-Cell")
    await expect(cells).to_have_count(4)
    await expect(cells.nth(0).locator(".jp-InputPrompt")).to_have_text("[1]:")
    await expect(cells.nth(0).locator(".jp-bookstore-code")).to_have_text("x = 1\nprint(x)")
    # Highlighted like JupyterLab's editor (its highlight style's classes), not editable.
    await expect(cells.nth(0).locator(".jp-bookstore-code span[class]").first).to_be_attached()
    await expect(version.locator(".cm-editor, [contenteditable='true']")).to_have_count(0)
    await expect(cells.nth(0).locator(".jp-OutputArea-output")).to_have_text("1")
    await expect(cells.nth(1).locator(".jp-RenderedMarkdown h1")).to_contain_text("Notes")
    image = cells.nth(3).locator(".jp-OutputArea-output img")
    await expect(image).to_have_js_property("complete", True)


async def test_long_changed_output_shows_its_first_lines_then_the_rest(
    jupyter_page: Page, jupyter_server_url: JupyterServer, fetch_json: Any
) -> None:
    """A changed output of 1,500 lines shows 1,000 of them aligned and a button for the
    rest (so a huge log does not freeze the page)."""
    from playwright.async_api import expect

    versions = []
    for version in (1, 2):
        nb = notebook(version)
        lines = "".join(f"line {n} of run {version if n % 100 == 0 else 1}\n" for n in range(1500))
        nb["cells"][0]["outputs"] = [v4.new_output("stream", name="stdout", text=lines)]
        versions.append(nb)
    await save_versions(fetch_json, versions)
    rows = await open_history(jupyter_page, jupyter_server_url)
    view = await open_diff(jupyter_page, rows.last)
    text = view.locator(".jp-bookstore-outputText").first
    base_lines = text.locator(".jp-bookstore-pane.jp-mod-base .jp-bookstore-line")
    await expect(base_lines).to_have_count(1000, timeout=SLOW_MS)
    await expect(text.locator(".jp-bookstore-pane.jp-mod-remote .jp-bookstore-line")).to_have_count(
        1000
    )
    await expect(base_lines.nth(100)).to_have_class(re.compile(r"\bjp-mod-changed\b"))
    await expect(base_lines.nth(101)).not_to_have_class(re.compile(r"\bjp-mod-changed\b"))
    more = text.get_by_role("button", name="Show 500 more lines")
    await more.click()
    await expect(base_lines).to_have_count(1500)
    await expect(base_lines.last).to_have_text("line 1499 of run 1")
    await expect(base_lines.last).to_have_attribute("data-line", "1500")
    await expect(more).to_have_count(0)
