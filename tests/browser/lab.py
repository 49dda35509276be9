"""Driving JupyterLab and Notebook 7 pages in the browser tests: notebooks written to disk,
typing into the first cell, saving with Ctrl+S until the save is a version, and waiting for
text with a generous timeout (CI runs this on two cores while kernels start)."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

import nbformat
from nbformat import v4

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page, Response, ViewportSize
    from traitlets.config import Config

__all__ = [
    "SLOW_MS",
    "VIEWPORT",
    "expect_saved",
    "expect_text",
    "first_cell_editor",
    "is_checkpoint_post",
    "is_contents_put",
    "open_and_save",
    "save_as_version",
    "with_installed_labextensions",
    "write_notebook",
]

#: Generous: CI runs this on two cores, with a kernel starting while JupyterLab loads.
SLOW_MS = 60_000
VIEWPORT: ViewportSize = {"width": 1400, "height": 900}


def write_notebook(path: Path, text: str) -> None:
    """A notebook written straight to disk (so bookstore has no version of it yet), with
    ``text`` as its first cell, and the kernelspec and language_info this environment's
    kernel reports: JupyterLab writes both into the notebook when the kernel connects, which
    makes it unsaved again if they differ (a publish would then offer "Publish last save")."""
    from ipykernel.ipkernel import IPythonKernel

    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = dict(IPythonKernel.language_info)
    nb.cells.append(v4.new_code_cell(text))
    nb.cells.append(v4.new_markdown_cell("Every save is a version in bookstore."))
    nbformat.write(nb, str(path))


def is_checkpoint_post(name: str):  # type: ignore[no-untyped-def]
    """A predicate for JupyterLab creating a checkpoint of ``name``:
    ``POST /api/contents/<name>/checkpoints`` (bookstore answers once the save is archived)."""

    def predicate(response: Response) -> bool:
        path = unquote(urlparse(response.url).path)
        return response.request.method == "POST" and path.endswith(f"/{name}/checkpoints")

    return predicate


def is_contents_put(name: str):  # type: ignore[no-untyped-def]
    """A predicate for JupyterLab saving ``name``: ``PUT /api/contents/<name>``."""

    def predicate(response: Response) -> bool:
        path = unquote(urlparse(response.url).path)
        return response.request.method == "PUT" and path.endswith(f"/api/contents/{name}")

    return predicate


def first_cell_editor(page: Page) -> Locator:
    return page.locator(".jp-NotebookPanel .jp-Cell").first.locator(".cm-content")


async def expect_text(locator: Locator, text: str | re.Pattern[str]) -> None:
    from playwright.async_api import expect

    await expect(locator).to_have_text(text, timeout=SLOW_MS)


async def expect_saved(page: Page, name: str) -> None:
    """Wait until JupyterLab's tab of ``name`` shows no unsaved changes."""
    from playwright.async_api import expect

    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=name)
    await expect(tab).to_have_count(1, timeout=SLOW_MS)
    await expect(tab).not_to_have_class(re.compile(r"\bjp-mod-dirty\b"), timeout=SLOW_MS)


async def save_as_version(page: Page, name: str, text: str) -> None:
    """Type ``text`` over the first cell, as a user does, and save with Ctrl+S; return once
    JupyterLab's checkpoint after the save is created (the save is then a version)."""
    from playwright.async_api import expect

    editor = first_cell_editor(page)
    await editor.click()
    await expect(editor).to_be_focused(timeout=SLOW_MS)
    await page.keyboard.press("Control+A")
    await page.keyboard.type(text)
    await expect_text(editor, text)
    async with page.expect_response(is_checkpoint_post(name), timeout=SLOW_MS) as created:
        await page.keyboard.press("Control+S")
    response = await created.value
    assert response.status == 201, await response.text()


def with_installed_labextensions(config: Config) -> Config:
    """``config`` plus this environment's ``share/jupyter/labextensions`` (where ``pip
    install`` put bookstore's prebuilt extension) for JupyterLab and Notebook 7: pytest-jupyter
    points the server's Jupyter paths at temporary directories."""
    installed = str(Path(sys.prefix) / "share" / "jupyter" / "labextensions")
    for app in ("LabApp", "JupyterNotebookApp"):
        config[app]["extra_labextensions_path"] = [installed]
    return config


async def open_and_save(page: Page, url: str, name: str, texts: list[str]) -> None:
    """Open the notebook ``name`` (written by :func:`write_notebook`) at ``url`` and save it
    once per text of ``texts``: opening makes its first version (JupyterLab and Notebook 7
    create a checkpoint for a file that has none), and each save one more."""
    await page.set_viewport_size(VIEWPORT)
    async with page.expect_response(is_checkpoint_post(name), timeout=SLOW_MS) as created:
        await page.goto(url, timeout=SLOW_MS)
    response = await created.value
    assert response.status == 201, await response.text()
    for text in texts:
        await save_as_version(page, name, text)
