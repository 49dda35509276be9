"""Runs and schedules in JupyterLab, end to end in headless Chromium: the Run / Schedule
dialog from the notebook toolbar, the Runs panel with live progress, outputs, logs, cancel,
diffs between runs' outputs and the Schedules tab, executed for real (an embedded Dask
cluster, papermill, a python3 kernel) on both backends.

``BOOKSTORE_SCREENSHOTS=1`` saves pictures of the dialog, the panel and a diff between runs
to ``docs/images/`` (for the README); the tests never depend on them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import nbformat
import pytest
from nbformat import v4
from traitlets.config import Config

from tests.browser.chromium import JupyterServer
from tests.browser.lab import SLOW_MS, VIEWPORT, expect_text, with_installed_labextensions
from tests.browser.test_lab_ui import SCREENSHOTS_ENV, picture
from tests.server_fixtures import both_backends

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page

NAME = "regional report.ipynb"
#: A run executes on an embedded Dask cluster: a cluster start, a kernel start.
RUN_MS = 120_000


def report_notebook(path: Path) -> None:
    """A notebook whose ``parameters`` cell declares ``region`` (str), ``count`` (int) and
    ``delay`` (float); a ``count`` below 1 fails at the cell after it, and ``delay`` is how
    long each of four cells sleeps (the progress bar has time to move)."""
    from ipykernel.ipkernel import IPythonKernel

    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
    }
    nb.metadata["language_info"] = dict(IPythonKernel.language_info)
    parameters = v4.new_code_cell('region = "emea"  # the sales region\ncount = 3\ndelay = 0.0')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        parameters,
        v4.new_code_cell('assert count > 0, "count must be positive"'),
        *[v4.new_code_cell("import time\ntime.sleep(delay)") for _ in range(4)],
        v4.new_code_cell('import datetime\nprint(f"report for {region}", datetime.datetime.now())'),
    ]
    nbformat.write(nb, str(path))


@pytest.fixture
def server_extensions() -> dict[str, bool]:
    pytest.importorskip("jupyterlab", reason="needs JupyterLab: pip install -e '.[lab]'")
    return {"bookstore": True, "jupyterlab": True}


@pytest.fixture
def jp_server_config(jp_server_config: Config, tmp_path: Path) -> Config:
    """The installed labextensions, and runs on an embedded one-worker cluster."""
    jp_server_config.BookstoreRuns = Config(
        {
            "database_url": f"sqlite:///{tmp_path / 'runs.sqlite'}",
            "workers": 1,
            "poll_interval": 0.1,
            "tick_interval": 0.2,
        }
    )
    return with_installed_labextensions(jp_server_config)


async def open_notebook(page: Page, server: JupyterServer, root: Path) -> None:
    """Write :data:`NAME` and open it; opening makes its first version."""
    from tests.browser.lab import is_checkpoint_post

    report_notebook(root / NAME)
    await page.set_viewport_size(VIEWPORT)
    async with page.expect_response(is_checkpoint_post(NAME), timeout=SLOW_MS) as created:
        await page.goto(server.url("lab/tree/" + quote(NAME)), timeout=SLOW_MS)
    assert (await created.value).status == 201


async def open_run_dialog(page: Page) -> Locator:
    """The Run / Schedule dialog from the File menu, its parameters loaded. (Not from the
    toolbar button, which Notebook 7's test clicks: JupyterLab moves it into the toolbar's
    overflow menu whenever the notebook is narrow, as with three sidebars open on CI.)"""
    from playwright.async_api import expect

    await page.get_by_role("menuitem", name="File", exact=True).click()
    await page.get_by_role("menuitem", name="Run or schedule notebook…").click()
    dialog = page.locator(".jp-Dialog")
    await expect_text(dialog.locator(".jp-Dialog-header"), f"Run {NAME}")
    await expect(dialog.get_by_label("region", exact=True)).to_be_visible(timeout=SLOW_MS)
    return dialog


async def run_now(page: Page, parameters: dict[str, str]) -> Locator:
    """Run :data:`NAME` now with ``parameters`` typed into the dialog; return the new
    run's row in the Runs panel (which the dialog shows)."""
    from playwright.async_api import expect

    dialog = await open_run_dialog(page)
    for name, value in parameters.items():
        await dialog.get_by_label(name, exact=True).fill(value)
    runs = page.locator("#bookstore-runs li.jp-bookstore-run")
    before = await runs.count()
    await dialog.get_by_role("button", name="Run", exact=True).click()
    await expect(dialog).to_have_count(0)
    await expect(runs).to_have_count(before + 1, timeout=SLOW_MS)
    # Newest first: the new run's row, by its id (later runs go above it).
    run_id = await runs.first.get_attribute("data-run-id")
    return page.locator(f'#bookstore-runs li.jp-bookstore-run[data-run-id="{run_id}"]')


async def expect_state(run: Locator, state: str) -> None:
    from playwright.async_api import expect

    await expect(run).to_have_attribute("data-state", state, timeout=RUN_MS)


@both_backends
async def test_run_now_progress_output_failure_and_cancel(
    jupyter_page: Page, jupyter_server_url: JupyterServer, jp_root_dir: Path, fetch_json: Any
) -> None:
    from playwright.async_api import expect

    page = jupyter_page
    await open_notebook(page, jupyter_server_url, jp_root_dir)

    # The dialog lists the parameters with their types and defaults.
    dialog = await open_run_dialog(page)
    region = dialog.get_by_label("region", exact=True)
    await expect(region).to_have_attribute("placeholder", '"emea"')
    await expect(dialog.get_by_text('str · default "emea" · the sales region')).to_be_visible()
    await expect(dialog.get_by_label("count", exact=True)).to_have_attribute("type", "number")
    await dialog.get_by_role("button", name="Cancel").click()

    # A run with a parameter: it moves through its cells, then COMPLETED.
    run = await run_now(page, {"region": "apac", "delay": "0.8"})
    await expect_state(run, "RUNNING")
    progress = run.get_by_role("progressbar")
    await expect(progress).to_have_attribute(
        "aria-valuetext", re.compile(r"^[1-7] of 8 cells$"), timeout=RUN_MS
    )
    await expect_state(run, "COMPLETED")
    await expect(run).to_contain_text('region="apac"')
    toast = page.locator(".jp-Notification-Toast-success", has_text="completed")
    await expect(toast).to_have_count(1, timeout=SLOW_MS)

    # Its output opens read-only, with the parameter's value in it.
    await run.get_by_role("button", name=re.compile(r"^Open the output of the run")).click()
    view = page.locator(".jp-bookstore-VersionView")
    await expect(view).to_contain_text("report for apac", timeout=SLOW_MS)
    # Closed again, as a user would, before the next runs.
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current")
    await tab.locator(".lm-TabBar-tabCloseIcon").click()
    await expect(view).to_have_count(0)
    run_id = await run.get_attribute("data-run-id")
    status, stored = await fetch_json(f"api/bookstore/runs/{run_id}")
    assert status == 200, stored
    assert stored["parameters"] == {"region": "apac", "delay": 0.8}
    assert stored["output"]["version_id"]

    # A count below 1 fails at the assert: FAILED, with the cell and the error. Cells are
    # numbered from 0 in the output (as in the log), where papermill added an error banner,
    # the injected parameters and a marker before the failing cell: the assert is cell 4.
    failed = await run_now(page, {"count": "0"})
    await expect_state(failed, "FAILED")
    await expect(failed.locator(".jp-bookstore-runError")).to_have_text(
        re.compile(r"^Cell 4: AssertionError: count must be positive")
    )
    await expect(page.locator(".jp-Notification-Toast-error", has_text="failed")).to_have_count(1)

    # A long run is cancelled while it runs: CANCELLED, with its partial output stored.
    long = await run_now(page, {"delay": "600"})
    await expect(long.get_by_role("progressbar")).to_have_attribute(
        "aria-valuetext", re.compile(r"^[2-7] of 8 cells$"), timeout=RUN_MS
    )
    await long.get_by_role("button", name=re.compile(r"^Cancel the run")).click()
    await expect_state(long, "CANCELLED")
    long_id = await long.get_attribute("data-run-id")
    status, cancelled = await fetch_json(f"api/bookstore/runs/{long_id}")
    assert status == 200, cancelled
    assert cancelled["output"]["version_id"], cancelled
    await long.get_by_role("button", name=re.compile(r"^Open the log of the run")).click()
    await expect(page.locator(".jp-bookstore-RunLog .jp-bookstore-status")).to_have_text(
        re.compile("^cancelled"), timeout=SLOW_MS
    )
    if os.environ.get(SCREENSHOTS_ENV):  # the notifications would cover the panel
        await page.add_style_tag(content=".Toastify { display: none !important; }")
    await picture(page, "runs-panel.png", page.locator("#bookstore-runs"))
    await rerun_and_clone(page, failed, jp_root_dir)


async def rerun_and_clone(page: Page, failed: Locator, root: Path) -> None:
    """Re-run the failed run: the dialog has its parameters, edited it completes; then its
    output is cloned into the workspace."""
    from playwright.async_api import expect

    await failed.get_by_role("button", name=re.compile(r"^Run again like the run")).click()
    dialog = page.locator(".jp-Dialog")
    count = dialog.get_by_label("count", exact=True)
    await expect(count).to_have_value("0", timeout=SLOW_MS)
    await count.fill("2")
    await dialog.get_by_role("button", name="Run", exact=True).click()
    await expect(dialog).to_have_count(0, timeout=SLOW_MS)
    runs = page.locator("#bookstore-runs li.jp-bookstore-run")
    rerun = runs.filter(has=page.locator(".jp-bookstore-runParameters", has_text="count=2"))
    await expect(rerun).to_have_count(1, timeout=SLOW_MS)
    await expect_state(rerun, "COMPLETED")

    await rerun.get_by_role("button", name=re.compile(r"^Clone the output of the run")).click()
    await expect(dialog.get_by_label("Target path")).to_have_value(
        re.compile(r"^regional report-run-\d{8}T?\d{4}\.ipynb$"), timeout=SLOW_MS
    )
    await dialog.get_by_label("Target path").fill("cloned run.ipynb")
    await dialog.get_by_role("button", name="Clone", exact=True).click()
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text="cloned run.ipynb")
    await expect(tab).to_be_visible(timeout=SLOW_MS)
    cloned = nbformat.read(str(root / "cloned run.ipynb"), as_version=4)
    assert cloned.metadata["bookstore"]["run"]["parameters"] == {"count": 2}


async def edit_and_delete(page: Page, schedule: Locator, fetch_json: Any) -> None:
    """Edit the schedule in the same dialog (a new cron), then delete it after a confirm."""
    from playwright.async_api import expect

    await schedule.get_by_role("button", name=re.compile("^Edit schedule minutely")).click()
    dialog = page.locator(".jp-Dialog")
    await expect_text(dialog.locator(".jp-Dialog-header"), "Edit schedule minutely")
    await expect(dialog.get_by_label("region", exact=True)).to_have_value("nordics")
    await dialog.get_by_label("Repeat").select_option(label="Daily")
    await dialog.get_by_role("button", name="Save schedule").click()
    await expect(dialog).to_have_count(0, timeout=SLOW_MS)
    await expect(schedule.locator("code")).to_have_text("0 0 * * *", timeout=SLOW_MS)
    status, listed = await fetch_json("api/bookstore/schedules")
    assert status == 200, listed
    assert [(s["cron"], s["parameters"]) for s in listed["schedules"]] == [
        ("0 0 * * *", {"region": "nordics"})
    ]

    await schedule.get_by_role("button", name=re.compile("^Delete schedule minutely")).click()
    await expect_text(dialog.locator(".jp-Dialog-header"), "Delete schedule minutely?")
    await dialog.get_by_role("button", name="Delete").click()
    await expect(schedule).to_have_count(0, timeout=SLOW_MS)
    status, listed = await fetch_json("api/bookstore/schedules")
    assert (status, listed["schedules"]) == (200, [])


def field_row(dialog: Locator, label: str) -> Locator:
    """The dialog's row of the field labelled ``label`` (where its error shows)."""
    return dialog.locator(".jp-bookstore-field", has=dialog.page.get_by_label(label, exact=True))


async def refusals_keep_the_input(dialog: Locator, fetch_json: Any) -> None:
    """A refused cron is explained next to its field (from the preview); a webhook the
    server refuses too, and the dialog keeps everything typed; nothing is created."""
    from playwright.async_api import expect

    await dialog.get_by_label("Cron expression").fill("61 * * * *")
    cron_row = field_row(dialog, "Cron expression")
    cron_error = cron_row.locator(".jp-bookstore-fieldError")
    await expect(cron_error).to_contain_text("61", timeout=SLOW_MS)
    await dialog.get_by_label("Cron expression").fill("* * * * *")
    await expect(cron_error).to_have_count(0, timeout=SLOW_MS)
    await dialog.get_by_label("region", exact=True).fill("nordics")
    await dialog.get_by_label("Webhook URL").fill("ftp://hooks.example/x")
    await dialog.get_by_role("button", name="Create schedule").click()
    webhook = dialog.get_by_label("Webhook URL")
    webhook_row = field_row(dialog, "Webhook URL")
    await expect(webhook_row.locator(".jp-bookstore-fieldError")).to_contain_text(
        "ftp://hooks.example/x", timeout=SLOW_MS
    )
    await expect(webhook).to_have_attribute("aria-invalid", "true")
    await expect(dialog.locator(".jp-bookstore-fieldError")).to_have_count(1)
    await expect(dialog.get_by_label("Schedule name")).to_have_value("minutely")
    await expect(dialog.get_by_label("region", exact=True)).to_have_value("nordics")
    await expect(dialog.get_by_label("Cron expression")).to_have_value("* * * * *")
    status, listed = await fetch_json("api/bookstore/schedules")
    assert (status, listed["schedules"]) == (200, [])


async def test_schedule_appears_runs_diffs_and_pauses(
    jupyter_page: Page, jupyter_server_url: JupyterServer, jp_root_dir: Path, fetch_json: Any
) -> None:
    from playwright.async_api import expect

    page = jupyter_page
    await open_notebook(page, jupyter_server_url, jp_root_dir)
    dialog = await open_run_dialog(page)
    await dialog.get_by_role("radio", name="On a schedule").check()
    await dialog.get_by_label("Schedule name").fill("minutely")
    await dialog.get_by_label("Repeat").select_option(label="Daily")
    await expect(dialog.get_by_label("Cron expression")).to_have_value("@daily")
    fire_times = dialog.get_by_role("list", name="Next fire times").get_by_role("listitem")
    await expect(fire_times).to_have_count(5, timeout=SLOW_MS)
    await picture(page, "run-dialog.png", dialog.locator(".jp-Dialog-content"))

    # Whenever the tick comes, even while the run asked for below runs, it runs after it.
    await dialog.get_by_label("Overlapping runs").select_option("queue")
    await refusals_keep_the_input(dialog, fetch_json)

    await dialog.get_by_label("Webhook URL").fill("")
    await dialog.get_by_role("button", name="Create schedule").click()
    await expect(dialog).to_have_count(0, timeout=SLOW_MS)

    # The Schedules tab shows it; "Run now" makes a first run.
    panel = page.locator("#bookstore-runs")
    schedule = panel.locator("li.jp-bookstore-schedule")
    await expect(schedule).to_have_count(1, timeout=SLOW_MS)
    await expect(schedule).to_contain_text("* * * * *")
    await schedule.get_by_role("button", name=re.compile("^Run schedule minutely")).click()
    await schedule.get_by_role("button", name=re.compile("^Show the runs of schedule")).click()
    runs = panel.locator("li.jp-bookstore-run")

    def runs_of(trigger: str) -> Locator:
        meta = page.locator(".jp-bookstore-runMeta", has_text=re.compile(f"^{trigger}"))
        return runs.filter(has=meta)

    # The run asked for, and (whether it comes before or after that run) the next minute's
    # tick, which appears without a reload; both complete.
    await expect(runs_of("now, from schedule minutely")).to_have_count(1, timeout=SLOW_MS)
    await expect(runs_of("schedule minutely")).not_to_have_count(0, timeout=RUN_MS)
    for row in (runs_of("now, from schedule minutely"), runs_of("schedule minutely").last):
        await expect_state(row, "COMPLETED")

    # The newest output against the previous run's: the printed time changed.
    newest = panel.locator('li.jp-bookstore-run[data-state="COMPLETED"]').first
    await newest.get_by_role("button", name=re.compile("^Diff the output of the run")).click()
    diff = page.locator(".jp-bookstore-DiffView")
    changed = diff.locator(".jp-Cell-diff.jp-Diff-twoway", has_text="report for nordics")
    await expect(changed).to_have_count(1, timeout=SLOW_MS)
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-current")
    await expect(tab).to_contain_text(f"{NAME}: run ")
    await picture(page, "runs-diff.png")

    # Pause: the row says so, and the schedule is paused on the server.
    await panel.get_by_role("tab", name="Schedules").click()
    await schedule.get_by_role("button", name=re.compile("^Pause schedule minutely")).click()
    await expect(schedule.locator(".jp-mod-paused")).to_have_text("paused", timeout=SLOW_MS)
    status, listed = await fetch_json("api/bookstore/schedules")
    assert status == 200, listed
    assert [s["paused"] for s in listed["schedules"]] == [True]
    await edit_and_delete(page, schedule, fetch_json)
