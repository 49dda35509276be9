"""``/api/bookstore/runs`` and ``/api/bookstore/schedules`` on the in-process server, with
runs executed for real (an embedded Dask cluster, papermill, a python3 kernel) on both
backends: states, provenance, parameters, failures, cancel, logs, idempotency, and a
PATCH contract for every schedule field."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat import v4
from traitlets.config import Config

from bookstore.core.runs.requests import PATCHABLE
from tests.core.runs_rows import in_last_cell
from tests.server_fixtures import both_backends

#: Seconds a run of a small notebook may take here (a kernel start and the cluster's).
RUN_TIMEOUT = 120.0


def parameterized_notebook(body: str = 'print(f"hello {name} {count}")') -> dict[str, Any]:
    """A notebook with a ``parameters`` cell (``name``, ``count``) and one cell after."""
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    parameters = v4.new_code_cell('name = "world"\ncount = 1')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [
        parameters,
        v4.new_code_cell("assert isinstance(name, str)"),
        v4.new_code_cell(body),
    ]
    return dict(nb)


@pytest.fixture
def jp_server_config(jp_server_config: Config, tmp_path: Path) -> Config:
    jp_server_config.BookstoreRuns = Config(
        {
            "database_url": f"sqlite:///{tmp_path / 'runs.sqlite'}",
            "workers": 1,
            "poll_interval": 0.1,
            "lease_seconds": 5.0,
            "tick_interval": 0.2,
        }
    )
    return jp_server_config


async def save(fetch_json: Any, app: Any, path: str, notebook: dict[str, Any]) -> None:
    """Save ``path`` through Jupyter and wait until it is a version."""
    status, reply = await fetch_json(
        "api/contents/" + path,
        method="PUT",
        body={"type": "notebook", "format": "json", "content": notebook},
    )
    assert status in (200, 201), reply
    assert await app.archiver.flush(path, 30)


async def wait_for_run(
    fetch_json: Any, run_id: str, done: Any = None, timeout: float = RUN_TIMEOUT
) -> dict[str, Any]:
    """Poll the run until ``done(run)`` (default: a final state)."""
    until = done or (lambda run: run["state"] not in ("QUEUED", "RUNNING"))
    deadline = time.monotonic() + timeout
    while True:
        status, run = await fetch_json(f"api/bookstore/runs/{run_id}")
        assert status == 200, run
        if until(run):
            return dict(run)
        assert time.monotonic() < deadline, f"run {run_id} is still {run['state']}"
        await asyncio.sleep(0.1)


async def submit(fetch_json: Any, body: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    status, run = await fetch_json("api/bookstore/runs", method="POST", body=body, **kwargs)
    assert status == 202, run
    assert run["state"] == "QUEUED"
    return dict(run)


@both_backends
async def test_a_run_executes_a_version_and_stores_its_output_as_a_version(
    fetch_json: Any, jp_fetch: Any, bookstore_app: Any
) -> None:
    await save(fetch_json, bookstore_app, "demo.ipynb", parameterized_notebook())
    status, versions = await fetch_json("api/bookstore/workspace/demo.ipynb/versions")
    assert status == 200
    pinned = versions["versions"][0]["id"]
    status, declared = await fetch_json(
        "api/bookstore/runs/parameters", params={"path": "demo.ipynb"}
    )
    assert status == 200
    assert [(p["name"], p["type"]) for p in declared["parameters"]] == [
        ("name", "str"),
        ("count", "int"),
    ]
    run = await submit(
        fetch_json,
        {"path": "demo.ipynb", "version_id": pinned, "parameters": {"name": "1+1", "count": 7}},
    )
    run = await wait_for_run(fetch_json, run["id"])
    assert run["state"] == "COMPLETED", run["error"]
    assert run["source"] == {
        "area": "workspace",
        "path": "demo.ipynb",
        "key": run["source"]["key"],
        "version_id": pinned,
        "version_policy": "pinned",
    }
    assert run["progress"]["cells_done"] == run["progress"]["cells_total"] == 4
    assert run["output"]["path"] == "runs/adhoc/demo.ipynb"
    assert run["output"]["version_id"]
    # The output is a version of the workspace path runs/adhoc/demo.ipynb, with provenance.
    status, history = await fetch_json("api/bookstore/workspace/runs/adhoc/demo.ipynb/versions")
    assert status == 200
    assert history["versions"][0]["id"] == run["output"]["version_id"]
    response = await jp_fetch("api/bookstore/runs", run["id"], "notebook")
    output = nbformat.reads(response.body.decode(), as_version=4)
    provenance = output.metadata["bookstore"]["run"]
    assert provenance["id"] == run["id"]
    assert provenance["state"] == "COMPLETED"
    assert provenance["source"]["version_id"] == pinned
    assert provenance["parameters"] == {"name": "1+1", "count": 7}
    printed = output.cells[-1].outputs[0]["text"]
    assert printed == "hello 1+1 7\n", "a string parameter arrives as that string"
    status, log = await fetch_json(f"api/bookstore/runs/{run['id']}/log")
    assert status == 200
    assert "hello 1+1 7" in log["log"]


async def test_latest_runs_the_newest_version_and_pinned_the_pinned_one(
    fetch_json: Any, jp_fetch: Any, bookstore_app: Any
) -> None:
    await save(fetch_json, bookstore_app, "v.ipynb", parameterized_notebook('print("first")'))
    _, versions = await fetch_json("api/bookstore/workspace/v.ipynb/versions")
    first = versions["versions"][0]["id"]
    await save(fetch_json, bookstore_app, "v.ipynb", parameterized_notebook('print("second")'))
    _, versions = await fetch_json("api/bookstore/workspace/v.ipynb/versions")
    second = versions["versions"][0]["id"]
    latest = await submit(fetch_json, {"path": "v.ipynb"})
    pinned = await submit(fetch_json, {"path": "v.ipynb", "version_id": first})
    latest = await wait_for_run(fetch_json, latest["id"])
    pinned = await wait_for_run(fetch_json, pinned["id"])
    assert latest["source"]["version_policy"] == "latest"
    assert latest["source"]["version_id"] == second
    assert pinned["source"]["version_id"] == first
    for run, text in ((latest, "second"), (pinned, "first")):
        response = await jp_fetch("api/bookstore/runs", run["id"], "notebook")
        output = nbformat.reads(response.body.decode(), as_version=4)
        assert output.cells[-1].outputs[0]["text"] == f"{text}\n"


async def test_a_failing_cell_fails_the_run_with_the_cell_and_the_partial_output(
    fetch_json: Any, jp_fetch: Any, bookstore_app: Any
) -> None:
    await save(fetch_json, bookstore_app, "bad.ipynb", parameterized_notebook("1 / 0"))
    run = await submit(fetch_json, {"path": "bad.ipynb"})
    run = await wait_for_run(fetch_json, run["id"])
    assert run["state"] == "FAILED"
    error = run["error"]
    assert error["ename"] == "ZeroDivisionError"
    assert "\x1b[" not in error["traceback"]
    assert run["output"]["version_id"], "the partial output is saved"
    response = await jp_fetch("api/bookstore/runs", run["id"], "notebook")
    output = nbformat.reads(response.body.decode(), as_version=4)
    assert output.metadata["bookstore"]["run"]["state"] == "FAILED"
    failing = output.cells[error["cell_index"]]
    assert failing.source == "1 / 0", "cell_index is the failing cell of the output"


async def test_cancel_stops_a_running_run_and_keeps_its_partial_output(
    fetch_json: Any, bookstore_app: Any
) -> None:
    body = 'print("started", flush=True)\nimport time\ntime.sleep(600)'
    await save(fetch_json, bookstore_app, "long.ipynb", parameterized_notebook(body))
    run = await submit(fetch_json, {"path": "long.ipynb"})
    await wait_for_run(fetch_json, run["id"], in_last_cell)
    status, log = await fetch_json(f"api/bookstore/runs/{run['id']}/log")
    assert status == 200
    if "started" not in log["log"]:
        log = await _wait_for_log(fetch_json, run["id"], "started")
    asked = time.monotonic()
    status, reply = await fetch_json(
        f"api/bookstore/runs/{run['id']}/cancel", method="POST", body=""
    )
    assert status == 202
    assert reply["cancel_requested"]
    run = await wait_for_run(fetch_json, run["id"])
    took = time.monotonic() - asked
    assert run["state"] == "CANCELLED", (run, took)
    assert run["output"]["version_id"], "the partial output is saved"
    status, reply = await fetch_json(
        f"api/bookstore/runs/{run['id']}/cancel", method="POST", body=""
    )
    assert status == 409, reply


async def _wait_for_log(fetch_json: Any, run_id: str, text: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        status, log = await fetch_json(f"api/bookstore/runs/{run_id}/log")
        assert status == 200
        if text in log["log"]:
            return dict(log)
        assert time.monotonic() < deadline, log
        await asyncio.sleep(0.1)


async def test_an_idempotency_key_answers_the_first_run(
    fetch_json: Any, bookstore_app: Any
) -> None:
    await save(fetch_json, bookstore_app, "i.ipynb", parameterized_notebook())
    headers = {"Idempotency-Key": "order-42"}
    first = await submit(fetch_json, {"path": "i.ipynb"}, headers=headers)
    status, again = await fetch_json(
        "api/bookstore/runs", method="POST", body={"path": "i.ipynb"}, headers=headers
    )
    assert status == 200
    assert again["id"] == first["id"]
    status, page = await fetch_json("api/bookstore/runs", params={"path": "i.ipynb"})
    assert status == 200
    assert [run["id"] for run in page["runs"]] == [first["id"]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "exactly one of 'path'"),
        ({"path": "a.ipynb", "published_path": "b.ipynb"}, "exactly one of 'path'"),
        ({"path": "../x.ipynb"}, ".."),
        ({"path": "p.ipynb", "colour": "red"}, "Unknown field"),
        ({"path": "p.ipynb", "parameters": {"count": "7"}}, "parameters.count"),
        ({"path": "p.ipynb", "parameters": [1]}, "parameters"),
        ({"path": "p.ipynb", "max_retries": 99}, "max_retries"),
        ({"path": "p.ipynb", "retry_on": ["sometimes"]}, "retry_on"),
        ({"path": "p.ipynb", "notify": [{"webhook": "ftp://x"}]}, "notify[0].webhook"),
        ({"path": "p.ipynb", "notify": [{"email": "a@b.org"}]}, "smtp_host is not set"),
        ({"path": "p.ipynb", "execution_timeout": -1}, "execution_timeout"),
        ({"path": "p.ipynb", "output_path": "p.ipynb"}, "output_path"),
        ({"path": "p.ipynb", "kernel_name": "a b"}, "kernel_name"),
    ],
)
async def test_bad_run_requests_are_400_and_queue_nothing(
    fetch_json: Any, bookstore_app: Any, body: dict[str, Any], message: str
) -> None:
    await save(fetch_json, bookstore_app, "p.ipynb", parameterized_notebook())
    status, reply = await fetch_json("api/bookstore/runs", method="POST", body=body)
    assert status == 400, reply
    assert message in reply["message"]
    status, page = await fetch_json("api/bookstore/runs")
    assert status == 200
    assert page["runs"] == []


async def test_unknown_runs_and_notebooks_are_404(fetch_json: Any) -> None:
    status, reply = await fetch_json("api/bookstore/runs/0123456789abcdef01234567")
    assert status == 404, reply
    status, reply = await fetch_json(
        "api/bookstore/runs", method="POST", body={"path": "missing.ipynb"}
    )
    assert status == 404, reply
    status, reply = await fetch_json("api/bookstore/runs", params={"state": "DONE"})
    assert status == 400
    assert "not a run state" in reply["message"]


# -- schedules ------------------------------------------------------------------------------


async def create_schedule(fetch_json: Any, **fields: Any) -> dict[str, Any]:
    body = {"path": "s.ipynb", "cron": "0 6 * * 1-5", "timezone": "Europe/Paris", **fields}
    status, schedule = await fetch_json("api/bookstore/schedules", method="POST", body=body)
    assert status == 201, schedule
    return dict(schedule)


async def test_schedule_crud_pause_resume_and_preview(fetch_json: Any, bookstore_app: Any) -> None:
    await save(fetch_json, bookstore_app, "s.ipynb", parameterized_notebook())
    schedule = await create_schedule(fetch_json, name="morning", parameters={"count": 2})
    assert schedule["name"] == "morning"
    assert schedule["paused"] is False
    assert len(schedule["next_fire_times"]) == 5
    first = schedule["next_fire_times"][0]
    assert first["local"].startswith(first["local"][:10])
    assert first["local"][11:16] == "06:00"
    assert schedule["output"]["path"] == "runs/morning/s.ipynb"
    status, listing = await fetch_json("api/bookstore/schedules")
    assert status == 200
    assert [s["id"] for s in listing["schedules"]] == [schedule["id"]]
    status, paused = await fetch_json(
        f"api/bookstore/schedules/{schedule['id']}/pause", method="POST", body=""
    )
    assert status == 200
    assert paused["paused"] is True
    assert paused["next_fire_times"] == []
    status, resumed = await fetch_json(
        f"api/bookstore/schedules/{schedule['id']}/resume", method="POST", body=""
    )
    assert status == 200
    assert resumed["paused"] is False
    status, preview = await fetch_json(
        "api/bookstore/schedules/preview",
        params={"cron": "@daily", "timezone": "UTC", "count": "3"},
    )
    assert status == 200
    assert len(preview["next_fire_times"]) == 3
    assert preview["next_fire_times"][0]["utc"].endswith("T00:00:00.000Z")
    status, reply = await fetch_json(
        "api/bookstore/schedules/preview", params={"cron": "61 * * * *"}
    )
    assert status == 400
    assert "cron" in reply["message"]
    status, _ = await fetch_json(f"api/bookstore/schedules/{schedule['id']}", method="DELETE")
    assert status == 204
    status, _ = await fetch_json(f"api/bookstore/schedules/{schedule['id']}")
    assert status == 404


#: A value for each field PATCH accepts, and what the schedule (and a run of it) then shows.
PATCH_CASES: dict[str, tuple[Any, Any]] = {
    "name": ("evening", lambda s, r: s["name"] == "evening"),
    "version_policy": ("latest", lambda s, r: r["source"]["version_policy"] == "latest"),
    "version_id": (None, None),  # filled in by the test (a real version id)
    "parameters": ({"count": 9}, lambda s, r: r["parameters"] == {"count": 9}),
    "kernel_name": ("python3", lambda s, r: r["kernel_name"] == "python3"),
    "execution_timeout": (30, lambda s, r: r["execution_timeout"] == 30),
    "wall_timeout": (60, lambda s, r: r["wall_timeout"] == 60),
    "slow_after": (5, lambda s, r: s["slow_after"] == 5),
    "output_path": ("out/x.ipynb", lambda s, r: r["output"]["path"] == "out/x.ipynb"),
    "max_retries": (3, lambda s, r: r["max_retries"] == 3),
    "retry_on": (["error", "timeout"], lambda s, r: s["retry_on"] == ["error", "timeout"]),
    "retry_backoff": (5, lambda s, r: s["retry_backoff"] == 5),
    "notify": (
        [{"webhook": "https://hooks.example.org/x", "on": ["failed"]}],
        lambda s, r: s["notify"] == [{"webhook": "https://hooks.example.org/x", "on": ["failed"]}],
    ),
    "cron": ("30 7 * * *", lambda s, r: s["next_fire_times"][0]["local"][11:16] == "07:30"),
    "timezone": ("Asia/Tokyo", lambda s, r: s["next_fire_times"][0]["local"].endswith("+09:00")),
    "missed": ("all", lambda s, r: s["missed"] == "all"),
    "max_catchup": (4, lambda s, r: s["max_catchup"] == 4),
    "overlap": ("queue", lambda s, r: s["overlap"] == "queue"),
    "paused": (True, lambda s, r: s["paused"] is True and s["next_fire_times"] == []),
}


def test_every_patchable_field_has_a_contract_case() -> None:
    assert set(PATCH_CASES) == set(PATCHABLE)


@pytest.mark.parametrize("field", sorted(PATCH_CASES))
async def test_each_patched_field_takes_effect(
    fetch_json: Any, bookstore_app: Any, field: str
) -> None:
    await save(fetch_json, bookstore_app, "s.ipynb", parameterized_notebook())
    _, versions = await fetch_json("api/bookstore/workspace/s.ipynb/versions")
    version = versions["versions"][0]["id"]
    schedule = await create_schedule(fetch_json, version_id=version)
    value, check = PATCH_CASES[field]
    if field == "version_id":
        await save(fetch_json, bookstore_app, "s.ipynb", parameterized_notebook("print(2)"))
        _, versions = await fetch_json("api/bookstore/workspace/s.ipynb/versions")
        value = versions["versions"][0]["id"]

        def check(s: Any, r: Any) -> bool:
            return bool(r["source"]["version_id"] == value)

    status, changed = await fetch_json(
        f"api/bookstore/schedules/{schedule['id']}", method="PATCH", body={field: value}
    )
    assert status == 200, changed
    assert changed["revision"] == schedule["revision"] + 1
    status, fresh = await fetch_json(f"api/bookstore/schedules/{schedule['id']}")
    assert status == 200
    status, run = await fetch_json(
        f"api/bookstore/schedules/{schedule['id']}/run", method="POST", body=""
    )
    assert status == 202, run
    assert check(fresh, run), (field, fresh, run)


@pytest.mark.parametrize(
    ("body", "status_code", "message"),
    [
        ({"path": "other.ipynb"}, 400, "cannot change"),
        ({"colour": "red"}, 400, "Unknown field"),
        ({"cron": "every day"}, 400, "cron"),
        ({"timezone": "Mars/Olympus"}, 400, "timezone"),
        ({"missed": "never"}, 400, "missed"),
        ({"overlap": "sometimes"}, 400, "overlap"),
        ({"max_catchup": 0}, 400, "max_catchup"),
        ({"parameters": {"count": "x"}}, 400, "parameters.count"),
        ({"paused": "yes"}, 400, "paused"),
        ({"name": None}, 400, "name"),
        ({"version_policy": "pinned", "version_id": None}, 400, "version_policy"),
        ({"name": "x", "revision": 99}, 409, "changed by somebody else"),
    ],
)
async def test_a_refused_patch_changes_nothing(
    fetch_json: Any, bookstore_app: Any, body: dict[str, Any], status_code: int, message: str
) -> None:
    await save(fetch_json, bookstore_app, "s.ipynb", parameterized_notebook())
    schedule = await create_schedule(fetch_json)
    status, reply = await fetch_json(
        f"api/bookstore/schedules/{schedule['id']}", method="PATCH", body=body
    )
    assert status == status_code, reply
    assert message in reply["message"]
    status, fresh = await fetch_json(f"api/bookstore/schedules/{schedule['id']}")
    assert status == 200
    assert fresh["revision"] == schedule["revision"]
    assert {k: v for k, v in fresh.items() if k != "last_run"} == schedule


async def test_a_per_minute_schedule_fires_and_its_runs_are_listed(
    fetch_json: Any, bookstore_app: Any
) -> None:
    """The scheduler loop of the server fires a due tick (the schedule is backdated so its
    first tick is due now, not at the next minute)."""
    await save(fetch_json, bookstore_app, "m.ipynb", parameterized_notebook())
    schedule = await create_schedule(
        fetch_json, path="m.ipynb", cron="* * * * *", timezone="UTC", missed="latest"
    )
    runs = bookstore_app.services.runs
    await asyncio.to_thread(
        runs.db.update_schedule, schedule["id"], {"timing_since": time.time() - 120}
    )
    deadline = time.monotonic() + 30
    while True:
        status, page = await fetch_json(
            "api/bookstore/runs", params={"schedule_id": schedule["id"]}
        )
        assert status == 200
        if page["runs"]:
            break
        assert time.monotonic() < deadline, "the tick did not fire"
        await asyncio.sleep(0.1)
    states = sorted(run["state"] for run in page["runs"])
    assert states.count("SKIPPED") <= 1
    assert len(page["runs"]) <= 2
    fired = [run for run in page["runs"] if run["state"] != "SKIPPED"]
    assert fired
    assert fired[0]["trigger"] == "schedule"
    assert fired[0]["fire_time"]
    assert json.dumps(page)  # serialisable as the spec says
