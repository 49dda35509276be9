"""``jupyter bookstore run``, ``schedule``, ``runs`` and ``scheduler`` on the embedded
store, a SQLite runs database and a real embedded Dask cluster (one worker).

Most cases call :func:`bookstore.cli.main` in-process; Ctrl-C, the standalone scheduler
and the missing ``bookstore[runs]`` extra run ``python -m bookstore.cli`` in a process of
its own.  Each test gets its workspace, store, runs database and Jupyter directories
under ``tmp_path``; the runs settings are given on the command line
(``--BookstoreRuns.<name>=<value>``).  A test executes at most one run (the cluster
takes seconds to start); every wait polls for a condition, with a deadline.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat import v4

from bookstore.cli import main
from bookstore.cli.runs import RUNS_MISSING, parameter_value
from bookstore.standalone import StandaloneBookstore

ERROR_PREFIX = "jupyter bookstore: error: "
#: Longest wait for a run, a process or a log line.
DEADLINE = 90.0

#: The fields of a schedule as ``schedule add --json`` prints it.
SCHEDULE_FIELDS = {
    "id", "name", "owner", "source", "parameters", "kernel_name", "cron", "timezone",
    "execution_timeout", "wall_timeout", "slow_after", "output", "missed", "max_catchup",
    "overlap", "max_retries", "retry_on", "retry_backoff", "notify", "paused", "revision",
    "created_at", "updated_at", "next_fire_times",
}  # fmt: skip
#: The fields of a run.
RUN_FIELDS = {
    "id", "state", "owner", "schedule_id", "trigger", "fire_time", "reason", "source",
    "parameters", "kernel_name", "execution_timeout", "wall_timeout", "output", "progress",
    "slow_after", "attempt", "max_retries", "retry_on", "retry_backoff", "notify",
    "retry_of", "error", "cancel_requested", "engine", "created_at", "not_before",
    "started_at", "finished_at", "duration_s",
}  # fmt: skip


def notebook(*cells: str) -> bytes:
    """A Python notebook declaring ``n = 1`` and ``label = "x"``, then ``cells``."""
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    parameters = v4.new_code_cell('n = 1\nlabel = "x"')
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters, *(v4.new_code_cell(source) for source in cells)]
    return str(nbformat.writes(nb)).encode()


PRINTING = notebook('print("n is", n, type(n).__name__)', 'print("label is", repr(label))')


@dataclass
class Result:
    """The outcome of one ``jupyter bookstore`` run."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, (self.code, self.err)
        return json.loads(self.out)

    def ok(self) -> Result:
        assert self.code == 0, (self.code, self.out, self.err)
        assert self.err == "", self.err
        return self

    def failed(self, code: int, *words: str) -> Result:
        """Failed with ``code``, nothing on stdout and one error line naming ``words``."""
        assert self.code == code, (self.code, self.out, self.err)
        assert self.out == ""
        assert self.err.startswith(ERROR_PREFIX), self.err
        assert self.err.count("\n") == 1, self.err
        assert "Traceback" not in self.err
        for word in words:
            assert word in self.err, (word, self.err)
        return self


@dataclass
class RunsCLI:
    """``jupyter bookstore`` with a workspace, a store and a runs database of its own."""

    root: Path
    database: Path
    capture: pytest.CaptureFixture[str]

    @property
    def settings(self) -> list[str]:
        return [
            f"--BookstoreRuns.database_url=sqlite:///{self.database}",
            "--BookstoreRuns.workers=1",
        ]

    def __call__(self, *args: str) -> Result:
        self.capture.readouterr()
        try:
            code = main([*args, *self.settings])
        except SystemExit as exc:  # argparse's own errors
            code = int(exc.code or 0)
        captured = self.capture.readouterr()
        return Result(code, captured.out, captured.err)

    def archive(self, path: str, body: bytes) -> str:
        """Write workspace notebook ``path``, archived as a server save; its version."""

        async def work() -> str | None:
            async with StandaloneBookstore() as bookstore:
                return await bookstore.write_workspace_file(path, body, overwrite=True)

        version = asyncio.run(work())
        assert version is not None
        return version

    def stored(self, key: str, version_id: str) -> bytes:
        """The bytes of a version in the store."""

        async def work() -> bytes:
            async with StandaloneBookstore() as bookstore:
                store = await bookstore.ready_store()
                return bytes((await store.get(key, version_id=version_id)).body)

        return asyncio.run(work())

    def runs(self, *filters: str) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = self("runs", "list", "--json", *filters).json()["runs"]
        return runs

    def run_model(self, run_id: str) -> dict[str, Any]:
        run: dict[str, Any] = self("runs", "show", run_id, "--json").json()
        return run

    def process(self, *args: str, stderr: Any = subprocess.PIPE) -> subprocess.Popen[bytes]:
        """``python -m bookstore.cli ARGS`` in a session of its own (like a terminal's)."""
        return subprocess.Popen(
            [sys.executable, "-m", "bookstore.cli", *args, *self.settings],
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            start_new_session=True,
        )


@pytest.fixture
def cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> RunsCLI:
    root = tmp_path / "workspace"
    root.mkdir()
    config_dir = tmp_path / "jupyter-config"
    config_dir.mkdir()
    for name, folder in (
        ("JUPYTER_CONFIG_DIR", config_dir),
        ("JUPYTER_DATA_DIR", tmp_path / "jupyter-data"),
        ("JUPYTER_RUNTIME_DIR", tmp_path / "jupyter-runtime"),
    ):
        monkeypatch.setenv(name, str(folder))
    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    monkeypatch.delenv("BOOKSTORE_RUNS_DATABASE_URL", raising=False)
    monkeypatch.delenv("BOOKSTORE_DASK_SCHEDULER", raising=False)
    config = {
        "BookstoreSettings": {"local_store_dir": str(tmp_path / "store")},
        "ServerApp": {"root_dir": str(root)},
    }
    (config_dir / "jupyter_server_config.json").write_text(json.dumps(config))
    monkeypatch.chdir(root)
    return RunsCLI(root, tmp_path / "runs.sqlite", capsys)


def wait_for(what: str, check: Callable[[], Any]) -> Any:
    """Poll ``check`` until it answers something true (at most :data:`DEADLINE`)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        answer = check()
        if answer:
            return answer
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; killed if still running at its end."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def table(out: str) -> dict[str, str]:
    """The two-column rows of a key/value table."""
    return dict(line.split(None, 1) for line in out.splitlines() if line.strip())


# -- parameters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("10", 10),
        ("2.5", 2.5),
        ("true", True),
        ("null", None),
        ("[1,2]", [1, 2]),
        ('{"a": 1}', {"a": 1}),
        ('"10"', "10"),
        ("hello", "hello"),
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("", ""),
    ],
)
def test_a_parameter_value_is_json_when_it_parses_as_json(text: str, value: Any) -> None:
    assert parameter_value(text) == value
    assert type(parameter_value(text)) is type(value)


# -- run --wait ----------------------------------------------------------------------------


def test_run_wait_executes_with_the_parameters(cli: RunsCLI) -> None:
    source_version = cli.archive("reports/nb.ipynb", PRINTING)
    result = cli("run", "reports/nb.ipynb", "-p", "n", "10", "-r", "label", "10", "--wait")
    assert result.code == 0, result.err
    rows = table(result.out)
    assert rows["state"] == "COMPLETED"
    assert rows["output"] == "workspace/runs/adhoc/reports/nb.ipynb"
    assert rows["cells"] == "4/4"  # the injected parameters cell counts
    run_id, version = rows["run"], rows["version"]
    # Progress as lines (stderr is no terminal), ending with every cell done; no error.
    assert "cell 4/4\n" in result.err
    assert ERROR_PREFIX not in result.err

    run = cli.run_model(run_id)
    assert set(run) == RUN_FIELDS
    assert run["state"] == "COMPLETED"
    assert run["parameters"] == {"n": 10, "label": "10"}
    assert run["source"] == {
        "area": "workspace",
        "path": "reports/nb.ipynb",
        "key": "workspace/reports/nb.ipynb",
        "version_id": source_version,
        "version_policy": "latest",
    }
    assert run["output"] == {
        "path": "runs/adhoc/reports/nb.ipynb",
        "key": "workspace/runs/adhoc/reports/nb.ipynb",
        "version_id": version,
    }
    assert run["error"] is None

    # The output version holds the injected values, the int as an int and the -r value
    # as a string, and what the cells printed.
    output = nbformat.reads(cli.stored(run["output"]["key"], version).decode(), as_version=4)
    injected = [cell for cell in output.cells if "injected-parameters" in cell.metadata.tags]
    assert len(injected) == 1
    assert "n = 10\n" in injected[0].source
    assert 'label = "10"' in injected[0].source
    printed = "".join(
        item.get("text", "") for cell in output.cells for item in cell.get("outputs", [])
    )
    assert "n is 10 int" in printed
    assert "label is '10'" in printed
    assert output.metadata.bookstore.run.id == run_id

    # The captured log; the run in the listing (table and JSON).
    log = cli("runs", "log", run_id).ok().out
    assert "n is 10 int\n" in log
    assert "label is '10'\n" in log
    followed = cli("runs", "log", run_id, "--follow").ok().out
    assert followed == log
    document = cli("runs", "log", run_id, "--json").json()
    assert document["state"] == "COMPLETED"
    assert document["log"] == log
    assert document["next_offset"] == len(log)
    listing = cli("runs").ok().out.splitlines()
    assert listing[0].split() == ["ID", "STATE", "PATH", "TRIGGER", "CREATED", "DURATION", "CELLS"]
    assert listing[1].split()[:4] == [run_id, "COMPLETED", "reports/nb.ipynb", "manual"]
    assert listing[1].split()[-1] == "4/4"
    assert [run["id"] for run in cli.runs("--path", "reports/nb.ipynb")] == [run_id]
    assert cli.runs("--path", "other.ipynb") == []
    shown = table(cli("runs", "show", run_id).ok().out)
    assert shown["state"] == "COMPLETED"
    assert shown["parameters"] == '{"n": 10, "label": "10"}'


def test_a_failing_run_exits_6_with_the_cell(cli: RunsCLI) -> None:
    cli.archive("bad.ipynb", notebook("x = 1", "1 / 0", "print('never')"))
    result = cli("run", "bad.ipynb", "--wait", "--json")
    assert result.code == 6, result.err
    run = json.loads(result.out)
    assert run["state"] == "FAILED"
    error = run["error"]
    assert error["ename"] == "ZeroDivisionError"
    assert error["evalue"] == "division by zero"
    # The output (as far as it ran) is stored all the same.
    assert run["output"]["version_id"]
    last = result.err.splitlines()[-1]
    assert last == (
        f"{ERROR_PREFIX}run {run['id']} FAILED: cell {error['cell_index']}: "
        "ZeroDivisionError: division by zero"
    )
    assert "Traceback" not in result.err
    assert "never" not in cli("runs", "log", run["id"]).ok().out


def test_ctrl_c_while_waiting_cancels_the_run(
    cli: RunsCLI, processes: list[subprocess.Popen[bytes]]
) -> None:
    cli.archive(
        "slow.ipynb", notebook("print('started', flush=True)", "import time\ntime.sleep(120)")
    )
    waiting = cli.process("run", "slow.ipynb", "--wait")
    processes.append(waiting)

    def sleeping() -> dict[str, Any] | None:
        runs = cli.runs("--state", "RUNNING")
        if runs and runs[0]["progress"]["cells_done"] >= 2:
            return runs[0]
        return None

    run = wait_for("the run to reach its sleeping cell", sleeping)
    # A terminal's Ctrl-C goes to the whole process group, Dask's workers included.
    os.killpg(waiting.pid, signal.SIGINT)
    out, err = waiting.communicate(timeout=DEADLINE)
    assert waiting.returncode == 130, err.decode()
    assert err.decode().splitlines()[-1] == (
        f"{ERROR_PREFIX}interrupted: run {run['id']} is CANCELLED"
    )
    assert out == b""
    cancelled = cli.run_model(run["id"])
    assert cancelled["state"] == "CANCELLED"
    assert cancelled["error"]["ename"] == "Cancelled"
    assert "started\n" in cli("runs", "log", run["id"]).ok().out


# -- queued runs -------------------------------------------------------------------------


def test_a_run_without_wait_is_queued_and_can_be_cancelled(cli: RunsCLI) -> None:
    version = cli.archive("nb.ipynb", PRINTING)
    result = cli(
        "run",
        "nb.ipynb",
        *("-p", "n", "10", "-p", "flag", "true", "-p", "xs", "[1,2]", "-p", "word", "hello"),
        *("-r", "label", "10", "-p", "quoted", '"10"', "--version", version),
        *("--output", "out/result.ipynb", "--timeout", "30", "--kernel", "python3"),
    ).ok()
    run_id = result.out.strip()
    assert result.out == f"{run_id}\n"
    [run] = cli.runs()
    assert run["id"] == run_id
    assert run["state"] == "QUEUED"
    assert run["parameters"] == {
        "n": 10,
        "flag": True,
        "xs": [1, 2],
        "word": "hello",
        "label": "10",
        "quoted": "10",
    }
    assert run["source"]["version_id"] == version
    assert run["source"]["version_policy"] == "pinned"
    assert run["output"]["path"] == "out/result.ipynb"
    assert run["execution_timeout"] == 30.0
    assert [item["id"] for item in cli.runs("--state", "QUEUED")] == [run_id]
    assert cli.runs("--state", "COMPLETED,FAILED") == []

    # The same idempotency key answers the same run; another key, a new one.
    first = cli("run", "nb.ipynb", "--idempotency-key", "k-1", "--json").json()
    assert set(first) == RUN_FIELDS
    again = cli("run", "nb.ipynb", "--idempotency-key", "k-1").ok().out.strip()
    assert again == first["id"]
    assert len(cli.runs()) == 2

    assert cli("runs", "cancel", run_id).ok().out == f"Cancelled run {run_id}\n"
    assert cli.run_model(run_id)["state"] == "CANCELLED"
    assert [item["id"] for item in cli.runs("--state", "CANCELLED")] == [run_id]
    cli("runs", "cancel", run_id).failed(4, "CANCELLED")
    cancelled = cli("runs", "cancel", first["id"], "--json").json()
    assert cancelled["state"] == "CANCELLED"
    # Paging: one run a page.
    page = cli("runs", "list", "--limit", "1", "--json").json()
    assert len(page["runs"]) == 1
    assert page["next_token"]
    rest = cli("runs", "--limit", "1", "--page-token", page["next_token"], "--json").json()
    assert [r["id"] for r in page["runs"] + rest["runs"]] == [first["id"], run_id]


def test_run_errors(cli: RunsCLI, tmp_path: Path) -> None:
    cli.archive("nb.ipynb", PRINTING)
    cli("run", "missing.ipynb").failed(3, "missing.ipynb")
    cli("run", "nb.ipynb", "-p", "1bad", "2").failed(2, "1bad")
    cli("run", "nb.ipynb", "--output", "nb.ipynb").failed(2, "output_path")
    cli("run", "nb.ipynb", "--idempotency-key", "has space").failed(2, "Idempotency-Key")
    cli("run", str(tmp_path / "outside.ipynb")).failed(2, "outside the workspace root")
    cli("run", "nb.ipynb", "--published").failed(3)
    cli("runs", "show", "0123456789abcdef01234567").failed(3, "no run")
    cli("runs", "log", "0123456789abcdef01234567").failed(3, "no run")
    cli("runs", "--state", "DONE").failed(2, "DONE")
    # The runs settings on the command line are checked like BookstoreSettings'.
    cli("runs", "--BookstoreRuns.no_such=1").failed(2, "BookstoreRuns has no setting 'no_such'")
    cli("runs", "--BookstoreRuns.poll_interval=0").failed(
        2, "invalid configuration", "poll_interval"
    )
    cli("runs", "--BookstoreRun.workers=2").failed(2, "unrecognized arguments")
    assert cli.runs() == []  # nothing was queued


def test_runs_need_the_extra(cli: RunsCLI) -> None:
    """Without bookstore[runs] the run commands refuse (4); the others work."""
    script = (
        "import sys\n"
        "sys.modules['sqlalchemy'] = None\n"
        "from bookstore.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )

    def start(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-c", script, *args],
            cwd=cli.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    runs, status = start("runs"), start("status", "--json")  # at once: start-ups are slow
    out, err = runs.communicate(timeout=DEADLINE)
    assert runs.returncode == 4
    assert err.decode().startswith(f"{ERROR_PREFIX}{RUNS_MISSING}"), err
    assert err.count(b"\n") == 1
    assert out == b""
    status.communicate(timeout=DEADLINE)
    assert status.returncode == 0


# -- schedules -----------------------------------------------------------------------------


def test_schedule_add(cli: RunsCLI) -> None:
    cli.archive("reports/nb.ipynb", PRINTING)
    schedule = cli(
        "schedule", "add", "reports/nb.ipynb", "--cron", "0 6 * * 1-5",
        "--timezone", "Europe/Paris", "--name", "morning report", "-p", "n", "3",
        "-r", "label", "{{ date }}", "--missed", "latest", "--max-catchup", "3",
        "--overlap", "queue", "--max-retries", "2", "--retry-on", "timeout,lost",
        "--timeout", "60", "--wall-timeout", "600",
        "--notify-email", "ada@example.org", "--notify-webhook", "https://example.org/hook",
        "--BookstoreRuns.smtp_host=mail.example.org", "--json",
    ).json()  # fmt: skip
    assert set(schedule) == SCHEDULE_FIELDS
    assert schedule["name"] == "morning report"
    assert schedule["source"] == {
        "area": "workspace",
        "path": "reports/nb.ipynb",
        "key": "workspace/reports/nb.ipynb",
        "version_id": None,
        "version_policy": "latest",
    }
    assert schedule["parameters"] == {"n": 3, "label": "{{ date }}"}
    assert schedule["cron"] == "0 6 * * 1-5"
    assert schedule["timezone"] == "Europe/Paris"
    assert schedule["missed"] == "latest"
    assert schedule["max_catchup"] == 3
    assert schedule["overlap"] == "queue"
    assert schedule["max_retries"] == 2
    assert schedule["retry_on"] == ["lost", "timeout"]
    assert schedule["execution_timeout"] == 60.0
    assert schedule["wall_timeout"] == 600.0
    assert [target.get("email") or target.get("webhook") for target in schedule["notify"]] == [
        "ada@example.org",
        "https://example.org/hook",
    ]
    assert schedule["output"]["path"] == "runs/morning-report/reports/nb.ipynb"
    assert schedule["paused"] is False
    fire_times = schedule["next_fire_times"]
    assert len(fire_times) == 5
    for moment in fire_times:
        assert set(moment) == {"local", "utc"}
        assert moment["local"][11:19] == "06:00:00"
        assert moment["utc"].endswith("Z")

    # Text: the id, then the next five fire times, local and UTC.
    added = cli("schedule", "add", "reports/nb.ipynb", "--cron", "@daily").ok().out
    lines = added.splitlines()
    assert lines[0].startswith("Created schedule ")
    assert lines[0].endswith(" (nb): 0 0 * * * in UTC")
    assert lines[1].split() == ["NEXT", "FIRE", "(UTC)", "UTC"]
    assert len(lines) == 7
    for line in lines[2:]:
        local, utc = line.split()
        assert local.endswith("T00:00:00+00:00")
        assert utc == local[:10] + "T00:00:00.000Z"


def test_schedule_list_pause_resume_run_rm(cli: RunsCLI) -> None:
    cli.archive("reports/nb.ipynb", PRINTING)
    schedule = cli(
        "schedule", "add", "reports/nb.ipynb", "--cron", "0 6 * * 1-5", "--timezone",
        "Europe/Paris", "--name", "morning report", "-p", "n", "3", "--json",
    ).json()  # fmt: skip
    schedule_id = schedule["id"]
    other_id = cli("schedule", "add", "reports/nb.ipynb", "--cron", "@daily", "--json").json()["id"]

    listed = cli("schedule", "list", "--json").json()
    assert set(listed) == {"schedules"}
    by_id = {item["id"]: item for item in listed["schedules"]}
    assert set(by_id) == {schedule_id, other_id}
    assert set(by_id[schedule_id]) == SCHEDULE_FIELDS | {"last_run"}
    assert by_id[schedule_id]["last_run"] is None
    rows = cli("schedule", "list").ok().out.splitlines()
    assert rows[0].split() == [
        "ID", "NAME", "PATH", "CRON", "TIMEZONE", "PAUSED", "NEXT", "FIRE", "LAST", "RUN",
    ]  # fmt: skip
    assert len(rows) == 3

    paused = cli("schedule", "pause", schedule_id, "--json").json()
    assert paused["paused"] is True
    assert paused["next_fire_times"] == []
    assert paused["revision"] > schedule["revision"]
    row = next(
        line for line in cli("schedule", "list").ok().out.splitlines() if schedule_id in line
    )
    assert "Europe/Paris  yes" in row
    resumed_text = cli("schedule", "resume", schedule_id).ok().out.splitlines()
    assert resumed_text[0] == f"Resumed schedule {schedule_id} (morning report)"
    assert len(resumed_text) == 7  # and its next fire times
    assert cli("schedule", "pause", other_id).ok().out == f"Paused schedule {other_id} (nb)\n"
    resumed = cli("schedule", "list", "--json").json()["schedules"]
    assert {item["id"]: item["paused"] for item in resumed} == {schedule_id: False, other_id: True}

    # Run now: a queued run of the schedule, its last run.
    run_id = cli("schedule", "run", schedule_id).ok().out.strip()
    [run] = cli.runs("--schedule", schedule_id)
    assert run["id"] == run_id
    assert run["state"] == "QUEUED"
    assert run["schedule_id"] == schedule_id
    assert run["trigger"] == "manual"
    assert run["parameters"] == {"n": 3}
    listed = cli("schedule", "list", "--json").json()["schedules"]
    assert next(item for item in listed if item["id"] == schedule_id)["last_run"]["id"] == run_id

    # Deleting a schedule cancels its queued run; the run stays.
    assert cli("schedule", "rm", schedule_id).ok().out == f"Deleted schedule {schedule_id}\n"
    assert cli.run_model(run_id)["state"] == "CANCELLED"
    assert cli("schedule", "rm", other_id, "--json").json() == {"id": other_id, "deleted": True}
    assert cli("schedule", "list").ok().out == "no schedules\n"
    assert cli("schedule", "list", "--json").json() == {"schedules": []}
    cli("schedule", "rm", schedule_id).failed(3, schedule_id)
    cli("schedule", "pause", schedule_id).failed(3, schedule_id)
    cli("schedule", "run", schedule_id).failed(3, schedule_id)


def test_schedule_add_errors(cli: RunsCLI) -> None:
    cli.archive("nb.ipynb", PRINTING)
    cli("schedule", "add", "nb.ipynb", "--cron", "0 6 * * 8").failed(
        2, "cron: '0 6 * * 8' is not a valid five-field cron expression", "day-of-week 8"
    )
    cli("schedule", "add", "nb.ipynb", "--cron", "@daily", "--timezone", "Mars/Olympus").failed(
        2, "Mars/Olympus"
    )
    cli("schedule", "add", "nb.ipynb", "--cron", "@daily", "--retry-on", "sometimes").failed(
        2, "retry_on", "sometimes"
    )
    cli("schedule", "add", "nb.ipynb", "--cron", "@daily", "--notify-webhook", "ftp://x").failed(
        2, "notify[0].webhook"
    )
    cli("schedule", "add", "missing.ipynb", "--cron", "@daily").failed(3)
    usage = cli("schedule", "add", "nb.ipynb", "--overlap", "never")
    assert usage.code == 2
    assert "--overlap" in usage.err
    assert cli("schedule", "list", "--json").json() == {"schedules": []}


# -- the standalone scheduler --------------------------------------------------------------


def test_the_scheduler_executes_and_logs_runs_and_stops_on_sigterm(
    cli: RunsCLI, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    cli.archive("nb.ipynb", PRINTING)
    schedule = cli("schedule", "add", "nb.ipynb", "--cron", "@yearly", "--json").json()
    run_id = cli("schedule", "run", schedule["id"]).ok().out.strip()
    errors = tmp_path / "scheduler.err"
    with errors.open("wb") as stderr:
        scheduler = cli.process("scheduler", stderr=stderr)
    processes.append(scheduler)

    # runs log --follow prints what the run prints, until it ends.
    wait_for("the run to start", lambda: cli.run_model(run_id)["state"] != "QUEUED")
    follower = cli.process("runs", "log", run_id, "--follow")
    processes.append(follower)
    followed, follower_err = follower.communicate(timeout=DEADLINE)
    assert follower.returncode == 0, follower_err
    assert followed.decode() == "[cell 1]\nn is 1 int\n[cell 2]\nlabel is 'x'\n"
    assert cli.run_model(run_id)["state"] == "COMPLETED"

    def logged() -> str | None:
        text = errors.read_text()
        return text if f"run {run_id} COMPLETED" in text else None

    text = wait_for("the scheduler's line of the finished run", logged)
    assert f"run {run_id} queued (" in text
    assert "workspace/runs/nb/nb.ipynb (version " in text
    scheduler.send_signal(signal.SIGTERM)
    out, _ = scheduler.communicate(timeout=DEADLINE)
    assert scheduler.returncode == 0, errors.read_text()
    assert out == b""
    log = errors.read_text()
    assert "bookstore scheduler: stopped" in log
    assert "Traceback" not in log
