"""Runs across real Jupyter server processes sharing one bucket (SeaweedFS) and one runs
database (SQLite file, PostgreSQL): each run executes once, cancel works from the other
server, a SIGKILLed server's run is LOST and retried, and the scale-out path: two
servers sending runs to a separately started Dask scheduler with two workers."""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from nbformat import v4

from tests.core.runs_rows import in_last_cell
from tests.jupyter_process import JupyterServer

pytestmark = pytest.mark.s3

RUN_TIMEOUT = 180.0


def notebook(body: str) -> dict[str, Any]:
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    parameters = v4.new_code_cell("n = 0")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, v4.new_code_cell(body)]
    return dict(nb)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))


def start_servers(
    tmp_path: Path, seaweedfs: Any, s3_prefix: str, count: int, runs: dict[str, Any]
) -> list[JupyterServer]:
    settings = {
        **seaweedfs.settings_dict(),
        "workspace_prefix": f"{s3_prefix}/workspace",
        "published_prefix": f"{s3_prefix}/published",
        "audit_prefix": f"{s3_prefix}/audit",
    }
    # A lease long enough that a server starved of CPU (the whole suite on two cores) still
    # renews it in time; the test of a killed server shortens it, to see it expire.
    options = {"workers": 1, "poll_interval": 0.1, "lease_seconds": 10, **runs}
    servers = []
    for _ in range(count):
        home = Path(tempfile.mkdtemp(prefix="server", dir=tmp_path))
        args = tuple(f"--BookstoreRuns.{name}={value}" for name, value in options.items())
        server = JupyterServer(home, settings, args)
        server.root = tmp_path / "root"  # one workspace folder for all
        server.start()
        servers.append(server)
    return servers


@pytest.fixture
def make_servers(tmp_path: Path, seaweedfs: Any, s3_prefix: str) -> Iterator[Any]:
    started: list[JupyterServer] = []

    def make(count: int, **runs: Any) -> list[JupyterServer]:
        servers = start_servers(tmp_path, seaweedfs, s3_prefix, count, runs)
        started.extend(servers)
        return servers

    yield make
    for server in started:
        server.stop()


def save(server: JupyterServer, path: str, nb: dict[str, Any]) -> None:
    server.request(
        "PUT", f"api/contents/{path}", {"type": "notebook", "format": "json", "content": nb}
    )
    server.wait_archived()


def wait_for(
    server: JupyterServer, run_id: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    while True:
        run: dict[str, Any] = server.request("GET", f"api/bookstore/runs/{run_id}")
        if done(run):
            return run
        assert time.monotonic() < deadline, run
        time.sleep(0.1)


def final(run: dict[str, Any]) -> bool:
    return run["state"] not in ("QUEUED", "RUNNING")


def test_two_servers_execute_each_run_once_and_cancel_from_the_other(
    make_servers: Any, database_url: str
) -> None:
    first, second = make_servers(2, database_url=database_url)
    save(first, "job.ipynb", notebook("print(n)"))
    save(first, "sleep.ipynb", notebook("import time\ntime.sleep(600)"))
    ids = [
        first.request("POST", "api/bookstore/runs", {"path": "job.ipynb", "parameters": {"n": n}})[
            "id"
        ]
        for n in range(4)
    ]
    runs = [wait_for(second, run_id, final) for run_id in ids]
    assert [run["state"] for run in runs] == ["COMPLETED"] * 4
    listed = first.request("GET", "api/bookstore/runs?path=job.ipynb")["runs"]
    assert sorted(run["id"] for run in listed) == sorted(ids), "no run twice"
    long = first.request("POST", "api/bookstore/runs", {"path": "sleep.ipynb"})
    wait_for(first, long["id"], in_last_cell)
    asked = time.monotonic()
    second.request("POST", f"api/bookstore/runs/{long['id']}/cancel")
    cancelled = wait_for(first, long["id"], final)
    took = time.monotonic() - asked
    assert cancelled["state"] == "CANCELLED", (cancelled, took)


def test_a_sigkilled_server_loses_its_run_which_is_retried_and_nothing_stays_running(
    make_servers: Any, postgres_url: str, tmp_path: Path
) -> None:
    database_url = postgres_url
    (first,) = make_servers(1, database_url=database_url, lease_seconds=3)
    marker = tmp_path / "attempted"
    body = (
        "import pathlib, time\n"
        f"m = pathlib.Path({str(marker)!r})\n"
        "if not m.exists():\n"
        "    m.write_text('x')\n"
        "    time.sleep(600)\n"
        "print('second attempt')"
    )
    save(first, "crash.ipynb", notebook(body))
    run = first.request(
        "POST",
        "api/bookstore/runs",
        {"path": "crash.ipynb", "max_retries": 1, "retry_on": ["lost"], "retry_backoff": 0},
    )
    wait_for(first, run["id"], in_last_cell)
    first.kill()
    (second,) = make_servers(1, database_url=database_url, lease_seconds=3)
    lost = wait_for(second, run["id"], final)
    assert lost["state"] == "LOST", lost
    runs = second.request("GET", "api/bookstore/runs?path=crash.ipynb")["runs"]
    retries = [r for r in runs if r["retry_of"] == run["id"]]
    assert len(retries) == 1, runs
    retried = wait_for(second, retries[0]["id"], final)
    assert retried["state"] == "COMPLETED", retried
    first.start()  # the killed server comes back: it marks nothing twice
    runs = first.request("GET", "api/bookstore/runs?path=crash.ipynb")["runs"]
    assert sorted(r["state"] for r in runs) == ["COMPLETED", "LOST"]


def test_two_servers_send_runs_to_a_separate_dask_cluster(
    make_servers: Any, dask_scheduler_address: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    first, second = make_servers(2, database_url=url, scheduler_address=dask_scheduler_address)
    save(first, "scale.ipynb", notebook("import socket, os\nprint(os.getpid())"))
    ids = [
        server.request(
            "POST", "api/bookstore/runs", {"path": "scale.ipynb", "parameters": {"n": n}}
        )["id"]
        for n, server in enumerate([first, second, first, second])
    ]
    runs = [wait_for(first, run_id, final) for run_id in ids]
    states = [(run["state"], run["error"]) for run in runs]
    assert [state for state, _ in states] == ["COMPLETED"] * 4, states
    assert {run["engine"] for run in runs} == {f"dask {dask_scheduler_address}"}
    outputs = first.request("GET", "api/bookstore/workspace/runs/adhoc/scale.ipynb/versions")
    assert len(outputs["versions"]) == 4
    assert json.dumps(outputs)
