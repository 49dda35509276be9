"""JupyterLab's File > "Revert Notebook to Checkpoint…" on bookstore's versions, in headless
Chromium: three versions of a notebook, the dialog that lists them, and reverting to the
oldest, which brings its text back in the page and on disk.

What JupyterLab 4 does (read in its docmanager code, and checked here):

* opening a file with no checkpoint creates one (``Context._maybeCheckpoint``), so the
  notebook as written is the first version before any save;
* every save (Ctrl+S) ends with ``POST .../checkpoints``, which bookstore answers once the
  save is archived, so that response means "this save is a version";
* the "Choose a checkpoint" list shows the route's list *reversed* (JupyterLab expects the
  oldest first and puts the newest on top; ``Context.restoreCheckpoint()`` without an id
  takes the last entry), so bookstore answers that route oldest first while the list
  is newest first in the server (nbdime takes the first); the confirm dialog then
  ``POST``\\ s ``.../checkpoints/<id>`` and JupyterLab reloads the file from disk.

``BOOKSTORE_SCREENSHOTS=1`` also saves the open "Choose a checkpoint" dialog to
``docs/images/revert-to-checkpoint.png`` (for the README); the test never depends on it.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlparse

import pytest

from tests.browser.chromium import JupyterServer
from tests.browser.lab import (
    SLOW_MS,
    expect_text,
    first_cell_editor,
    is_checkpoint_post,
    save_as_version,
    write_notebook,
)
from tests.notebooks import first_cell
from tests.server_fixtures import both_backends

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page, Response, ViewportSize

#: A space, so the test also covers paths that need quoting.
NAME = "revert me.ipynb"
#: Set to write the README's screenshot of the checkpoint list.
SCREENSHOTS_ENV = "BOOKSTORE_SCREENSHOTS"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "images" / "revert-to-checkpoint.png"
VIEWPORT: ViewportSize = {"width": 1280, "height": 800}


@pytest.fixture
def server_extensions() -> dict[str, bool]:
    """JupyterLab too: the test drives its File menu."""
    pytest.importorskip("jupyterlab", reason="needs JupyterLab: pip install -e '.[lab]'")
    return {"bookstore": True, "jupyterlab": True}


#: Shows a ``<select>`` (and JupyterLab's fixed-height wrapper) as a list box, or back.
_AS_LIST_BOX_JS = """
(select, on) => {
  const wrapper = select.parentElement;
  for (const node of [select, wrapper]) node.style.height = on ? "auto" : "";
  if (on) select.size = select.options.length; else select.removeAttribute("size");
  const caret = wrapper.querySelector("svg, .jp-icon-wrapper, span");
  if (caret && caret !== select) caret.style.display = on ? "none" : "";
}
"""


async def screenshot_choice(page: Page, select: Locator) -> None:
    """Save the page with the checkpoint list open to :data:`SCREENSHOT`.  Headless Chromium
    draws no popup of a ``<select>``, so the list shows as a list box for the picture."""
    await select.evaluate(_AS_LIST_BOX_JS, True)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT))
    await select.evaluate(_AS_LIST_BOX_JS, False)


def is_restore_post(response: Response) -> bool:
    """JupyterLab restoring a checkpoint: ``POST /api/contents/<NAME>/checkpoints/<id>``."""
    path = unquote(urlparse(response.url).path)
    return response.request.method == "POST" and f"/{NAME}/checkpoints/" in path


async def list_checkpoints(fetch_json: Any, count: int) -> list[dict[str, Any]]:
    """``GET /api/contents/<NAME>/checkpoints`` once it lists ``count`` checkpoints (or
    fail with what it lists after :data:`SLOW_MS`)."""
    deadline = time.monotonic() + SLOW_MS / 1000
    while True:
        status, listed = await fetch_json("api/contents", NAME, "checkpoints")
        assert status == 200, listed
        if len(listed) == count or time.monotonic() > deadline:
            assert len(listed) == count, listed
            return list(listed)
        await asyncio.sleep(0.1)


def saved_at(checkpoint: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(checkpoint["last_modified"])


@both_backends
async def test_revert_notebook_to_the_oldest_of_three_checkpoints(
    jupyter_page: Page,
    jupyter_server_url: JupyterServer,
    jp_root_dir: Path,
    fetch_json: Any,
    backend: str,
    jp_serverapp: Any,
) -> None:
    page, server = jupyter_page, jupyter_server_url
    await page.set_viewport_size(VIEWPORT)
    write_notebook(jp_root_dir / NAME, "# version 1")
    assert await list_checkpoints(fetch_json, 0) == [], "written outside Jupyter: no version"

    # Opening it makes the first version: JupyterLab creates a checkpoint for a file that has
    # none, and bookstore archives the file as it is on disk.
    async with page.expect_response(is_checkpoint_post(NAME), timeout=SLOW_MS) as created:
        await page.goto(server.url("lab/tree/" + quote(NAME)), timeout=SLOW_MS)
    assert (await created.value).status == 201, await (await created.value).text()
    await expect_text(first_cell_editor(page), "# version 1")
    await list_checkpoints(fetch_json, 1)

    # Two saves from the keyboard, each a version.
    for n in (2, 3):
        await save_as_version(page, NAME, f"# version {n}")
        await list_checkpoints(fetch_json, n)
    assert first_cell((jp_root_dir / NAME).read_bytes()) == "# version 3"
    listed = await list_checkpoints(fetch_json, 3)
    assert len({saved_at(checkpoint) for checkpoint in listed}) == 3, listed
    oldest = min(listed, key=saved_at)

    # File > Revert Notebook to Checkpoint… lists the three versions.
    await page.get_by_role("menuitem", name="File", exact=True).click()
    await page.get_by_role("menuitem", name=re.compile(r"^Revert Notebook to Checkpoint")).click()
    dialog = page.locator(".jp-Dialog")
    await expect_text(dialog.locator(".jp-Dialog-header"), "Choose a checkpoint")
    select = dialog.locator("select")
    labels = await select.locator("option").all_inner_texts()
    assert len(labels) == 3, labels
    assert [label.split(".", 1)[0] for label in labels] == ["0", "1", "2"], labels
    if os.environ.get(SCREENSHOTS_ENV) and backend == "local":
        await screenshot_choice(page, select)

    # JupyterLab shows the route's list (oldest first) reversed: the newest on top, and the
    # last entry, which Context.restoreCheckpoint() without an id restores, is the newest.
    newest = max(listed, key=saved_at)
    assert listed[-1] == newest
    shown = list(reversed(listed))
    assert shown[0] == newest, "the dialog lists the newest first"
    assert shown.index(oldest) == len(shown) - 1
    # In the server (nbdime's "diff against checkpoint" takes the first), newest first.
    in_server = await jp_serverapp.contents_manager.list_checkpoints(NAME)
    assert [checkpoint["id"] for checkpoint in in_server] == [c["id"] for c in shown]
    # Pick the oldest version.
    await select.select_option(index=shown.index(oldest))
    await dialog.get_by_role("button", name="OK").click()
    await expect_text(dialog.locator(".jp-Dialog-header"), re.compile("to checkpoint$"))
    async with page.expect_response(is_restore_post, timeout=SLOW_MS) as restored:
        await dialog.get_by_role("button", name="Revert to Checkpoint").click()
    response = await restored.value
    assert response.status == 204, await response.text()
    assert unquote(urlparse(response.url).path).endswith(f"/checkpoints/{oldest['id']}")

    # The page reloads the restored file; the restore itself is archived as a new version.
    await expect_text(first_cell_editor(page), "# version 1")
    assert first_cell((jp_root_dir / NAME).read_bytes()) == "# version 1"
    await list_checkpoints(fetch_json, 4)
