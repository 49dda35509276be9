"""One notebook execution with papermill on a real ipykernel: parameters injected as
literals, progress and the live log, cell errors, both timeouts, cancel (SIGINT, and a
kill for a cell that ignores it), a kernel that dies, concurrent runs in threads.

Nothing waits for a time to pass: the tests wait for what the progress reports show (a
cell that waits for a file the test creates once it sees the log), and every run has a
``wall_timeout`` so that a broken execution fails the test instead of hanging it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat import v4

from bookstore.core.runs.execute import (
    Outcome,
    Progress,
    RunHooks,
    _Log,
    execute_notebook,
)
from bookstore.core.runs.states import RunState
from bookstore.errors import InvalidNotebook, InvalidRequest

#: Every run's guard against hanging the test session.
GUARD = 60.0

PARAMETERS = """\
name = "default"
expr = "default"
tricky = "default"
count = 0
ratio = 0.0
flag = False
items = []
options = {}
nothing = 1
"""

TRICKY = 'quote " apostrophe \' backslash \\ newline \n tab \t unicode é€ \\" + str(1) + "'


def notebook(*cells: str, parameters: str | None = None, kernelspec: bool = True) -> bytes:
    """A notebook of code cells, after a cell tagged ``parameters`` if given."""
    nb = v4.new_notebook()
    if kernelspec:
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
    if parameters is not None:
        cell = v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.extend(v4.new_code_cell(source) for source in cells)
    text: str = nbformat.writes(nb)
    return text.encode()


def output_notebook(outcome: Outcome) -> Any:
    """The output, checked to be a valid notebook."""
    nb = nbformat.reads(outcome.output.decode("utf-8"), as_version=4)
    nbformat.validate(nb)
    return nb


def text_of(cell: Any) -> str:
    """The stream text of a cell (a node or a plain dict)."""
    outputs = cell.get("outputs", [])
    return "".join(
        output.get("text", "") for output in outputs if output["output_type"] == "stream"
    )


def error_names(cell: Any) -> list[str]:
    return [output["ename"] for output in cell["outputs"] if output["output_type"] == "error"]


class Recorder:
    """``RunHooks`` that record every report and cancel when ``cancel_when`` says so;
    remembers when it first answered True."""

    def __init__(self, cancel_when: Callable[[Progress], bool] | None = None) -> None:
        self.reports: list[Progress] = []
        self.threads: set[int] = set()
        self.cancel_when = cancel_when
        self.flip = False
        self.flipped_at: float | None = None

    def on_progress(self, progress: Progress) -> None:
        self.reports.append(progress)
        self.threads.add(threading.get_ident())
        if self.cancel_when is not None and self.cancel_when(progress):
            self.flip = True

    def cancelled(self) -> bool:
        if self.flip and self.flipped_at is None:
            self.flipped_at = time.monotonic()
        return self.flip

    def hooks(self) -> RunHooks:
        return RunHooks(on_progress=self.on_progress, cancelled=self.cancelled)


def cell_index(source: bytes, text: str) -> int:
    """The index the cell whose source holds ``text`` will have once papermill has
    injected its parameters cell after the ``parameters`` one."""
    nb = nbformat.reads(source.decode("utf-8"), as_version=4)
    index = next(i for i, cell in enumerate(nb.cells) if text in cell.source)
    tagged = [i for i, cell in enumerate(nb.cells) if "parameters" in cell.metadata.get("tags", [])]
    return index + 1 if tagged and tagged[0] < index else index


# -- completed runs -----------------------------------------------------------------------


def test_parameters_arrive_as_literals_of_their_types(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    source = notebook(
        "assert isinstance(name, str) and name == 'os.getcwd()', repr(name)\n"
        "assert expr == '1+1', repr(expr)\n"
        f"assert tricky == {TRICKY!r}, repr(tricky)\n"
        "assert type(count) is int and count == 3\n"
        "assert type(ratio) is float and ratio == 2.5\n"
        "assert flag is True\n"
        "assert items == [1, 'two', None, [3.5]]\n"
        "assert options == {'a': {'b': [True, False]}, 'quote\"key': 'v'}\n"
        "assert nothing is None\n"
        "print('marker-of-the-output', name)",
        "import os\nprint('cwd', os.getcwd())",
        parameters=PARAMETERS,
    )
    parameters = {
        "name": "os.getcwd()",
        "expr": "1+1",
        "tricky": TRICKY,
        "count": 3,
        "ratio": 2.5,
        "flag": True,
        "items": [1, "two", None, [3.5]],
        "options": {"a": {"b": [True, False]}, 'quote"key': "v"},
        "nothing": None,
    }
    outcome = execute_notebook(source, parameters, wall_timeout=GUARD)
    assert outcome.state is RunState.COMPLETED, outcome.error
    assert outcome.error is None
    assert (outcome.cells_done, outcome.cells_total) == (4, 4)
    assert outcome.started_at <= outcome.finished_at <= time.time()
    nb = output_notebook(outcome)
    # papermill's injected cell after the parameters cell, and its metadata
    assert nb.cells[1].metadata["tags"] == ["injected-parameters"]
    assert nb.metadata["papermill"]["parameters"] == parameters
    assert nb.metadata["papermill"]["duration"] is not None
    assert all(cell.metadata["papermill"]["status"] == "completed" for cell in nb.cells)
    assert nb.metadata["language_info"]["name"] == "python"
    assert text_of(nb.cells[2]) == "marker-of-the-output os.getcwd()\n"
    assert "[cell 2]\nmarker-of-the-output os.getcwd()\n" in outcome.log
    # the default working directory: a temporary one, removed after
    cwd = text_of(nb.cells[3]).split(" ", 1)[1].strip()
    assert "bookstore-run-" in cwd
    assert not os.path.exists(cwd)
    # neither papermill's progress bar nor the cells' output in the worker's logs
    captured = capfd.readouterr()
    assert "Executing" not in captured.err + captured.out
    assert "marker-of-the-output" not in captured.err + captured.out
    assert not [r for r in caplog.records if "marker-of-the-output" in r.getMessage()]


def test_progress_counts_cells_and_the_log_arrives_while_a_cell_runs(tmp_path: Path) -> None:
    source = notebook(
        "print('first line')\nprint('second line')",
        "import os, time\nwhile not os.path.exists('go'):\n    time.sleep(0.02)",
        "print('after', flush=True)",
        parameters="marker = ''",
    )
    waiting = cell_index(source, "exists('go')")

    def seen_log(progress: Progress) -> bool:
        if progress.current_cell == waiting and "second line" in progress.log:
            (tmp_path / "go").touch()  # the cell waits for it in its working directory
        return False

    recorder = Recorder(seen_log)
    outcome = execute_notebook(
        source,
        {"marker": "m"},
        cwd=str(tmp_path),
        hooks=recorder.hooks(),
        wall_timeout=GUARD,
        progress_interval=0.05,
    )
    assert outcome.state is RunState.COMPLETED, outcome.error
    reports = recorder.reports
    assert recorder.threads == {threading.get_ident()}  # reported from the calling thread
    assert {report.cells_total for report in reports} == {5}
    done = [report.cells_done for report in reports]
    assert done == sorted(done)
    assert done[-1] == 5 == outcome.cells_done
    assert reports[-1].current_cell is None
    # the log of cell 2 arrived while cell 3 was still waiting, with its partial output
    while_waiting = [r for r in reports if r.current_cell == waiting and "second" in r.log]
    assert while_waiting
    assert while_waiting[0].cells_done == waiting
    partials = [r.partial for r in reports if r.current_cell == waiting and r.partial is not None]
    assert partials
    assert "first line" in text_of(partials[-1]["cells"][waiting - 1])
    assert partials[-1]["cells"][waiting + 1]["outputs"] == []
    assert outcome.log == (
        f"[cell {waiting - 1}]\nfirst line\nsecond line\n[cell {waiting + 1}]\nafter\n"
    )
    # the last partial is the notebook as it ended
    last = [report.partial for report in reports if report.partial is not None][-1]
    assert last["metadata"]["papermill"]["end_time"] is not None
    assert nbformat.writes(nbformat.from_dict(last)) == outcome.output.decode("utf-8")


def test_runs_in_threads_at_once_keep_their_own_kernels() -> None:
    source = notebook("print('value', value)", parameters="value = 0", kernelspec=False)
    outcomes: dict[int, Outcome] = {}

    def run(value: int) -> None:
        outcomes[value] = execute_notebook(source, {"value": value}, wall_timeout=GUARD)

    threads = [threading.Thread(target=run, args=(value,)) for value in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(GUARD + 10)
    for value in (1, 2):
        assert outcomes[value].state is RunState.COMPLETED, outcomes[value].error
        assert outcomes[value].log == f"[cell 2]\nvalue {value}\n"


# -- failed runs --------------------------------------------------------------------------


def test_a_cell_error_fails_the_run_with_papermill_error_cells() -> None:
    source = notebook(
        "print('before')",
        "raise ValueError('boom \\x1b[31mred\\x1b[0m')",
        "print('never')",
    )
    outcome = execute_notebook(source, {}, wall_timeout=GUARD)
    assert outcome.state is RunState.FAILED
    assert outcome.error is not None
    nb = output_notebook(outcome)
    index = outcome.error["cell_index"]
    assert "raise ValueError" in nb.cells[index].source
    assert error_names(nb.cells[index]) == ["ValueError"]
    assert outcome.error["ename"] == "ValueError"
    assert outcome.error["evalue"] == "boom red"
    assert "\x1b[" not in outcome.error["traceback"]
    assert "ValueError" in outcome.error["traceback"]
    assert "boom" in outcome.error["traceback"]
    # papermill's marker cells, the cell never reached left without outputs
    assert "papermill-error-cell-tag" in nb.cells[0].metadata["tags"]
    assert "papermill-error-cell-tag" in nb.cells[index - 1].metadata["tags"]
    assert nb.cells[index].metadata["papermill"]["status"] == "failed"
    assert nb.cells[index + 1].outputs == []
    assert nb.cells[index + 1].metadata["papermill"]["status"] == "pending"
    assert (outcome.cells_done, outcome.cells_total) == (1, 3)
    assert outcome.log == "[cell 0]\nbefore\n"


def test_a_kernel_that_dies_fails_the_run() -> None:
    source = notebook(
        "print('before')",
        "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)",
        "print('never')",
    )
    outcome = execute_notebook(source, {}, wall_timeout=GUARD)
    assert outcome.state is RunState.FAILED
    assert outcome.error == {
        "ename": "DeadKernelError",
        "evalue": "the kernel died (killed by SIGKILL) while cell 1 was running",
        "cell_index": 1,
    }
    nb = output_notebook(outcome)
    assert text_of(nb.cells[0]) == "before\n"
    assert nb.cells[1].metadata["papermill"]["status"] == "failed"
    assert nb.cells[2].outputs == []
    assert nb.cells[2].metadata["papermill"]["status"] == "pending"
    assert (outcome.cells_done, outcome.cells_total) == (1, 3)


def test_a_kernel_that_does_not_exist_fails_the_run() -> None:
    outcome = execute_notebook(notebook("1"), {}, kernel_name="no-such-kernel")
    assert outcome.state is RunState.FAILED
    assert outcome.error is not None
    assert outcome.error["ename"] == "NoSuchKernel"
    assert outcome.error["cell_index"] is None
    output_notebook(outcome)


@pytest.mark.parametrize(
    ("source", "parameters", "error"),
    [
        (b"not a notebook", {}, InvalidNotebook),
        (b'{"nbformat": 4}', {}, InvalidNotebook),
        (notebook("1"), {"not a name": 1}, InvalidRequest),
        (notebook("1"), {"x = 1; import os; y": 1}, InvalidRequest),
        (notebook("1"), {"x": float("nan")}, InvalidRequest),
        (notebook("1"), {"x": object()}, InvalidRequest),
    ],
)
def test_what_cannot_run_is_refused(source: bytes, parameters: dict[str, Any], error: type) -> None:
    with pytest.raises(error):
        execute_notebook(source, parameters)


# -- timeouts and cancel ------------------------------------------------------------------


def test_a_cell_longer_than_execution_timeout_times_out() -> None:
    source = notebook("print('started')", "import time\ntime.sleep(60)", "print('never')")
    began = time.monotonic()
    outcome = execute_notebook(source, {}, execution_timeout=1, wall_timeout=GUARD)
    assert time.monotonic() - began < 15
    assert outcome.state is RunState.TIMED_OUT
    assert outcome.error == {
        "ename": "TimeoutError",
        "evalue": "cell 1 ran longer than execution_timeout=1s",
        "cell_index": 1,
    }
    nb = output_notebook(outcome)
    assert text_of(nb.cells[0]) == "started\n"
    assert error_names(nb.cells[1]) == ["KeyboardInterrupt"]  # interrupted, not killed
    assert nb.cells[2].outputs == []
    assert outcome.cells_done == 1


def test_a_run_longer_than_wall_timeout_times_out() -> None:
    source = notebook("import time\ntime.sleep(60)")
    began = time.monotonic()
    outcome = execute_notebook(source, {}, wall_timeout=2.5)
    assert time.monotonic() - began < 15
    assert outcome.state is RunState.TIMED_OUT
    assert outcome.error is not None
    assert outcome.error["ename"] == "TimeoutError"
    assert outcome.error["evalue"] == "the run took longer than wall_timeout=2.5s"
    output_notebook(outcome)


def test_cancel_interrupts_a_sleeping_cell_at_once() -> None:
    source = notebook(
        "print('before')",
        "import time\nprint('sleeping', flush=True)\ntime.sleep(60)",
        "print('never')",
    )
    recorder = Recorder(lambda progress: "sleeping" in progress.log)
    outcome = execute_notebook(source, {}, hooks=recorder.hooks(), wall_timeout=GUARD)
    ended = time.monotonic()
    assert outcome.state is RunState.CANCELLED
    assert recorder.flipped_at is not None
    assert ended - recorder.flipped_at < 1.0
    assert outcome.error == {
        "ename": "Cancelled",
        "evalue": "cancelled while cell 1 was running",
        "cell_index": 1,
    }
    nb = output_notebook(outcome)
    assert error_names(nb.cells[1]) == ["KeyboardInterrupt"]
    assert text_of(nb.cells[1]) == "sleeping\n"
    assert nb.cells[2].outputs == []
    assert "sleeping" in outcome.log
    assert recorder.reports[-1].cells_done == outcome.cells_done == 1


def test_cancel_kills_a_cell_that_ignores_sigint() -> None:
    source = notebook(
        "import signal, time\n"
        "signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "print('ignoring', flush=True)\n"
        "time.sleep(60)",
        "print('never')",
    )
    recorder = Recorder(lambda progress: "ignoring" in progress.log)
    outcome = execute_notebook(
        source, {}, hooks=recorder.hooks(), kill_after=0.5, wall_timeout=GUARD
    )
    ended = time.monotonic()
    assert outcome.state is RunState.CANCELLED
    assert recorder.flipped_at is not None
    assert 0.5 <= ended - recorder.flipped_at < 5.0
    assert outcome.error == {
        "ename": "Cancelled",
        "evalue": "cancelled while cell 0 was running",
        "cell_index": 0,
    }
    nb = output_notebook(outcome)
    assert text_of(nb.cells[0]) == "ignoring\n"
    assert nb.cells[0].metadata["papermill"]["status"] == "failed"
    assert nb.cells[1].outputs == []
    assert outcome.cells_done == 0


def test_cancel_before_the_kernel_started_runs_no_cell() -> None:
    outcome = execute_notebook(
        notebook("print('never')"), {}, hooks=RunHooks(cancelled=lambda: True), wall_timeout=GUARD
    )
    assert outcome.state is RunState.CANCELLED
    assert outcome.error == {
        "ename": "Cancelled",
        "evalue": "cancelled before any cell ran",
        "cell_index": None,
    }
    nb = output_notebook(outcome)
    assert nb.cells[0].outputs == []
    assert nb.cells[0].metadata["papermill"]["status"] == "pending"
    assert (outcome.cells_done, outcome.cells_total, outcome.log) == (0, 1, "")


def test_failing_hooks_do_not_stop_the_run() -> None:
    def broken_progress(progress: Progress) -> None:
        raise RuntimeError("progress")

    def broken_cancel() -> bool:
        raise RuntimeError("cancel")

    outcome = execute_notebook(
        notebook("print(1)"),
        {},
        hooks=RunHooks(on_progress=broken_progress, cancelled=broken_cancel),
        wall_timeout=GUARD,
    )
    assert outcome.state is RunState.COMPLETED, outcome.error


# -- the log ------------------------------------------------------------------------------


def test_the_log_heads_each_cell_and_keeps_the_tail() -> None:
    log = _Log(100)
    log.add(2, "no newline")
    log.add(3, "x\n")
    log.add(3, "y\n")
    log.add(3, "")
    assert log.render() == "[cell 2]\nno newline\n[cell 3]\nx\ny\n"
    for index in range(1000):
        log.add(4, f"line {index}\n")
    rendered = log.render()
    assert len(rendered) == 100
    first, rest = rendered.split("\n", 1)
    assert first.startswith("[log truncated: the first ")
    assert first.endswith(" characters were dropped]")
    dropped = int(first.split()[4])
    total = len("[cell 2]\nno newline\n[cell 3]\nx\ny\n[cell 4]\n") + sum(
        len(f"line {index}\n") for index in range(1000)
    )
    assert dropped + len(rest) == total
    assert rendered.endswith("line 998\nline 999\n")
