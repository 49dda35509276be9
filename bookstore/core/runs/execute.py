"""One execution of a notebook with papermill, in the thread that calls it (a Dask worker's).

:func:`execute_notebook` parameterizes the notebook with papermill's translator (values
injected as literals after the ``parameters`` cell) and executes it with papermill's
notebook client and execution manager (cell metadata, timings and error cells as
``papermill`` writes them), subclassed to report progress: they run in a thread of
their own, with their own event loop, so no signal handler of the main thread is ever
touched; the calling thread watches them.

The watcher polls ``hooks.cancelled`` and the clocks every ``poll_interval`` seconds and
reports :class:`Progress` at most every ``progress_interval`` seconds.  A cancel, the
``wall_timeout`` (the whole run, kernel start included) or the ``execution_timeout`` (one
cell) stops the run the same way:

1. no further cell starts, and if a cell is running the kernel's process group gets
   SIGINT (the cell raises ``KeyboardInterrupt``: ``time.sleep`` and most Python code
   stop at once);
2. if the execution has not ended ``kill_after`` seconds later (the cell ignores SIGINT,
   or is stuck in C code), the process group gets SIGKILL; the client notices the dead
   kernel within about a second and the execution ends.

The run then ends CANCELLED or TIMED_OUT with the notebook as executed so far.  A cell
raising ends it FAILED (papermill's error cells added); a kernel that dies by itself ends
it FAILED with ``DeadKernelError``.  Kernels whose interrupt mode is ``message`` get no
SIGINT: they are killed after ``kill_after``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidNotebook
from ...notebooks import read_notebook
from .parameters import check_json_value, check_name
from .states import RunState

__all__ = ["Outcome", "Progress", "RunHooks", "execute_notebook"]

log = logging.getLogger(__name__)
#: nbclient's logger: it logs each cell's source and every kernel message (outputs
#: included) at DEBUG, which never reaches the worker's logs.
_client_log = logging.getLogger(f"{__name__}.nbclient")
_client_log.addFilter(lambda record: record.levelno >= logging.INFO)

#: Seconds the watcher still waits for the execution after killing the kernel.
KILL_GRACE = 15.0
#: Seconds papermill waits for a kernel to start.
START_TIMEOUT = 60

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass
class Progress:
    """How far a run is, as the watcher reports it."""

    #: Code cells finished without error, of ``cells_total`` (the injected one included).
    cells_done: int
    cells_total: int
    #: Index in ``nb.cells`` of the code cell executing now, or None.
    current_cell: int | None
    #: The kernel's stdout and stderr so far, each cell's preceded by ``[cell N]``.
    log: str
    #: The notebook as executed so far (nbformat JSON), or None when unchanged since the
    #: last report.
    partial: dict[str, Any] | None


@dataclass
class RunHooks:
    """What the caller hears and says while a run executes (both called from the
    watcher, i.e. the thread that called :func:`execute_notebook`)."""

    #: Called when something changed, at most every ``progress_interval`` s, and at the end.
    on_progress: Callable[[Progress], None] | None = None
    #: Polled every ``poll_interval`` s; True cancels the run.
    cancelled: Callable[[], bool] | None = None


@dataclass
class Outcome:
    """How a run ended."""

    #: COMPLETED, FAILED, TIMED_OUT or CANCELLED.
    state: RunState
    #: The output notebook (``nbformat.writes``), partial when the run did not complete.
    output: bytes
    #: None when COMPLETED; else ``ename``, ``evalue`` and ``cell_index`` (its index in the
    #: output's cells, or None), and for a cell that raised its ``traceback`` (plain text).
    error: dict[str, Any] | None
    cells_done: int
    cells_total: int
    log: str
    #: Epoch seconds.
    started_at: float
    finished_at: float


class _Log:
    """The kernel's stream output, keeping the last ``limit`` characters."""

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self.text = ""
        self.dropped = 0
        self.cell: int | None = None
        self.version = 0

    def add(self, cell: int, text: str) -> None:
        if not text:
            return
        if cell != self.cell:
            self.cell = cell
            head = f"[cell {cell}]\n"
            if self.text and not self.text.endswith("\n"):
                head = "\n" + head
            text = head + text
        self.text += text
        self.version += 1
        if len(self.text) > 2 * self.limit + 4096:
            cut = len(self.text) - self.limit
            self.dropped += cut
            self.text = self.text[cut:]

    def render(self) -> str:
        total = self.dropped + len(self.text)
        if total <= self.limit:
            return self.text
        head = "[log truncated: the first {} characters were dropped]\n"
        keep = max(0, self.limit - len(head.format(total)))
        return (head.format(total - keep) + self.text[len(self.text) - keep :])[: self.limit]


def _plain(value: Any) -> Any:
    """A deep copy of a notebook node as plain dicts and lists (a snapshot: ``list()`` of
    a dict's items or a list is atomic under the GIL, so another thread's appends can at
    worst be missed)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in list(value.items())}
    if isinstance(value, list):
        return [_plain(item) for item in list(value)]
    return value


class _Stopped(Exception):
    """Raised in the execution thread instead of starting a cell after a stop."""


class _Run:
    """What the execution thread and the watcher share (under ``lock``)."""

    def __init__(self, nb: Any, max_log_chars: int) -> None:
        self.lock = threading.RLock()
        self.nb = nb
        self.code_cells = {i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"}
        self.cells_done = 0
        self.current_cell: int | None = None
        self.cell_since: float | None = None
        self.version = 0
        self.log = _Log(max_log_chars)
        self.any_started = False
        self.all_cells_ran = False
        # the stop: why ("cancel", "wall", "cell") and which cell was running
        self.stop: str | None = None
        self.stop_cell: int | None = None
        # the kernel
        self.pid: int | None = None
        self.pgid: int | None = None
        self.signal_interrupt = True
        self.exit_status: int | None = None

    def changed(self) -> None:
        self.version += 1

    def cell_started(self, index: int | None) -> None:
        if index in self.code_cells:
            self.current_cell = index
            self.cell_since = time.monotonic()
            self.any_started = True
        self.changed()

    def cell_finished(self, index: int | None, failed: bool) -> None:
        if index in self.code_cells:
            if not failed:
                self.cells_done += 1
            if self.current_cell == index:
                self.current_cell = None
                self.cell_since = None
        self.changed()

    def check_stop(self) -> None:
        with self.lock:
            if self.stop is not None:
                raise _Stopped(self.stop)

    def request_stop(self, reason: str) -> None:
        """Note the stop and interrupt the running cell (a kernel still starting, or
        between cells, is not signalled: no further cell starts)."""
        with self.lock:
            if self.stop is not None:
                return
            self.stop = reason
            self.stop_cell = self.current_cell
            if self.signal_interrupt and self.current_cell is not None:
                self._signal(signal.SIGINT)

    def kill(self) -> bool:
        """SIGKILL the kernel; whether it had started (so could be signalled)."""
        with self.lock:
            return self._signal(signal.SIGKILL)

    def _signal(self, signum: int) -> bool:
        if self.pid is None:
            return False
        try:
            # the kernel's own process group (jupyter_client starts it in a new session);
            # never ours, should it have none
            if self.pgid is not None and self.pgid != os.getpgid(0):
                os.killpg(self.pgid, signum)
            else:
                os.kill(self.pid, signum)
        except OSError:  # already gone
            pass
        return True


@functools.cache
def _classes() -> tuple[type[Any], type[Any]]:
    """papermill's execution manager and notebook client, reporting to a :class:`_Run`
    (defined on first use: importing papermill takes a while)."""
    from nbclient.exceptions import CellExecutionError
    from nbclient.util import run_sync
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NotebookExecutionManager

    class Manager(NotebookExecutionManager):  # type: ignore[misc]
        run: _Run

        def notebook_start(self, **kwargs: Any) -> None:
            with self.run.lock:
                super().notebook_start(**kwargs)
                self.run.changed()

        def cell_start(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
            with self.run.lock:
                super().cell_start(cell, cell_index, **kwargs)
                self.run.cell_started(cell_index)

        def cell_exception(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
            with self.run.lock:
                super().cell_exception(cell, cell_index, **kwargs)
                self.run.changed()

        def cell_complete(self, cell: Any, cell_index: int | None = None, **kwargs: Any) -> None:
            with self.run.lock:
                super().cell_complete(cell, cell_index, **kwargs)
                failed = cell.metadata.papermill.get("status") == self.FAILED
                self.run.cell_finished(cell_index, failed)

        def notebook_complete(self, **kwargs: Any) -> None:
            # papermill's, less marking the cells never started "completed": here every
            # cell that ran went through cell_start and cell_complete
            with self.run.lock:
                self.end_time = self.now()
                meta = self.nb.metadata.papermill
                meta["end_time"] = self.end_time.isoformat()
                if self.start_time is not None:
                    meta["duration"] = (self.end_time - self.start_time).total_seconds()
                self.run.changed()

    class Client(PapermillNotebookClient):  # type: ignore[misc]
        run: _Run

        def execute(self, **kwargs: Any) -> Any:
            self.reset_execution_trackers()
            with self.setup_kernel(**kwargs):
                try:
                    self.papermill_execute_cells()
                    if self.run.stop is None:
                        info = self.wait_for_reply(self.kc.kernel_info())
                        with self.run.lock:
                            self.nb.metadata["language_info"] = info["content"]["language_info"]
                    with self.run.lock:
                        self.set_widgets_metadata()
                finally:
                    if self.run.stop is not None:
                        self.shutdown_kernel = "immediate"
            return self.nb

        def papermill_execute_cells(self) -> None:
            # papermill's loop, with the stop checked before each cell and a cell cut
            # short by anything but its own error (a dead kernel) marked failed too
            for index, cell in enumerate(self.nb.cells):
                self.run.check_stop()
                try:
                    self.nb_man.cell_start(cell, index)
                    self.execute_cell(cell, index)
                except CellExecutionError as exc:
                    self.nb_man.cell_exception(
                        self.nb.cells[index], cell_index=index, exception=exc
                    )
                    break
                except BaseException:
                    self.nb_man.cell_exception(self.nb.cells[index], cell_index=index)
                    raise
                finally:
                    self.nb_man.cell_complete(self.nb.cells[index], cell_index=index)
            else:
                self.run.all_cells_ran = True

        def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
            with self.run.lock:
                try:
                    return super().process_message(msg, cell, cell_index)
                finally:
                    self.run.changed()
                    if msg.get("msg_type") == "stream":
                        self.run.log.add(cell_index, str(msg["content"].get("text", "")))

        async def async_start_new_kernel(self, **kwargs: Any) -> None:
            await super().async_start_new_kernel(**kwargs)
            provisioner = getattr(self.km, "provisioner", None)
            spec = getattr(self.km, "kernel_spec", None)
            with self.run.lock:
                self.run.pid = getattr(provisioner, "pid", None)
                self.run.pgid = getattr(provisioner, "pgid", None)
                self.run.signal_interrupt = getattr(spec, "interrupt_mode", "signal") == "signal"

        async def _async_cleanup_kernel(self) -> None:
            process = getattr(getattr(self.km, "provisioner", None), "process", None)
            with self.run.lock:
                if process is not None:
                    self.run.exit_status = process.poll()
                self.run.pid = self.run.pgid = None
            await super()._async_cleanup_kernel()

        # nbclient's synchronous versions wrap its own coroutines: wrap these
        start_new_kernel = run_sync(async_start_new_kernel)
        _cleanup_kernel = run_sync(_async_cleanup_kernel)

    return Manager, Client


def _language(nb: Any, kernel_name: str) -> str:
    """The language of ``kernel_name`` (its kernelspec), else the notebook's, else Python."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        language = KernelSpecManager().get_kernel_spec(kernel_name).language
        if language:
            return str(language)
    except Exception:  # no such kernel: the execution will say so
        pass
    metadata = nb.metadata
    found = (metadata.get("language_info") or {}).get("name") or (
        metadata.get("kernelspec") or {}
    ).get("language")
    return str(found or "python")


def _prepare(source: bytes, parameters: Mapping[str, Any], kernel_name: str | None) -> Any:
    """The notebook to execute: parsed, papermill's metadata added, parameters injected."""
    import nbformat
    import papermill
    from papermill.execute import prepare_notebook_metadata, remove_error_markers
    from papermill.parameterize import parameterize_notebook

    nb = read_notebook(source)
    nb = nbformat.v4.upgrade(nb) or nb
    if not isinstance(nb.metadata.get("papermill"), dict):
        nb.metadata["papermill"] = {
            "default_parameters": {},
            "parameters": {},
            "environment_variables": {},
            "version": papermill.__version__,
        }
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
        cell.metadata.setdefault("papermill", {})
    kernel = kernel_name or (nb.metadata.get("kernelspec") or {}).get("name") or "python3"
    if parameters:
        nb = parameterize_notebook(
            nb, dict(parameters), kernel_name=kernel, language=_language(nb, kernel)
        )
    nb = prepare_notebook_metadata(nb, None, None)
    nb = remove_error_markers(nb)
    return nb, kernel


def _mark_cell_error(nb: Any) -> dict[str, Any] | None:
    """papermill's error cells added to ``nb`` (in place) for a cell that raised, and that
    error; None when no cell did (or only ``sys.exit(0)``)."""
    from papermill.exceptions import PapermillExecutionError
    from papermill.execute import raise_for_execution_errors

    try:
        raise_for_execution_errors(nb, None)
    except PapermillExecutionError as exc:
        return {
            # papermill inserts a cell before the error cell and one at the top
            "cell_index": exc.cell_index + 2,
            "ename": _ANSI.sub("", str(exc.ename)),
            "evalue": _ANSI.sub("", str(exc.evalue)),
            "traceback": _ANSI.sub("", "\n".join(exc.traceback or [])),
        }
    return None


def _seconds(value: float) -> str:
    return f"{value:g}s"


def execute_notebook(
    source: bytes,
    parameters: Mapping[str, Any],
    *,
    kernel_name: str | None = None,
    execution_timeout: float | None = None,
    wall_timeout: float | None = None,
    cwd: str | None = None,
    hooks: RunHooks | None = None,
    kill_after: float = 2.0,
    poll_interval: float = 0.1,
    progress_interval: float = 0.25,
    max_log_chars: int = 1_000_000,
) -> Outcome:
    """Execute the notebook ``source`` with ``parameters`` and return how it ended.

    ``kernel_name`` defaults to the notebook's kernel, else ``python3``;
    ``execution_timeout`` limits each cell, ``wall_timeout`` the whole run (seconds,
    None for none); ``cwd`` is the kernel's working directory (default: a fresh temporary
    directory, removed after).  See the module's documentation for cancel and timeouts.

    Raises :class:`~bookstore.errors.InvalidNotebook` for a ``source`` that is not a
    notebook and :class:`~bookstore.errors.InvalidRequest` for parameters that are not
    identifiers with JSON values; everything else that goes wrong, even a kernel that
    cannot start, is a FAILED :class:`Outcome`.
    """
    started_at = time.time()
    for name, value in parameters.items():
        check_json_value(value, f"parameters.{check_name(name)}")
    try:
        nb, kernel = _prepare(source, parameters, kernel_name)
    except InvalidNotebook:
        raise
    except Exception as exc:  # papermill could not parameterize it
        raise InvalidNotebook(f"Not a notebook papermill can run: {exc}") from None
    watcher = _Watcher(
        _Run(nb, max_log_chars),
        hooks or RunHooks(),
        execution_timeout=execution_timeout,
        wall_timeout=wall_timeout,
        kill_after=kill_after,
        poll_interval=poll_interval,
        progress_interval=progress_interval,
    )
    workdir = tempfile.mkdtemp(prefix="bookstore-run-") if cwd is None else cwd
    thread = threading.Thread(
        target=_execute, args=(watcher.run, kernel, workdir, watcher.failure), daemon=True
    )
    thread.name = f"bookstore-run-{thread.name}"
    try:
        thread.start()
        watcher.watch(thread)
    except BaseException:  # the calling thread interrupted: leave no kernel behind
        watcher.run.request_stop("cancel")
        watcher.run.kill()
        thread.join(KILL_GRACE)
        raise
    finally:
        if cwd is None:
            if thread.is_alive():
                log.warning("bookstore: leaving %s (the execution did not end)", workdir)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
    return watcher.outcome(started_at)


def _execute(run: _Run, kernel: str, workdir: str, failure: list[BaseException]) -> None:
    """The execution thread: papermill's execution of ``run.nb``."""
    manager_class, client_class = _classes()
    try:
        nb_man = manager_class(
            run.nb, output_path=None, progress_bar=False, log_output=False, autosave_cell_every=0
        )
        nb_man.run = run
        nb_man.notebook_start()
        try:
            client = client_class(
                nb_man,
                kernel_name=kernel,
                log=_client_log,
                log_output=False,
                startup_timeout=START_TIMEOUT,
                shell_timeout_interval=1,
                resources={"metadata": {"path": workdir}},
            )
            client.run = run
            client.execute()
        finally:
            nb_man.notebook_complete()
    except BaseException as exc:
        failure.append(exc)
    finally:
        _close_thread_loop()


class _Watcher:
    """The calling thread's side: cancel, timeouts, kill, progress reports."""

    def __init__(
        self,
        run: _Run,
        hooks: RunHooks,
        *,
        execution_timeout: float | None,
        wall_timeout: float | None,
        kill_after: float,
        poll_interval: float,
        progress_interval: float,
    ) -> None:
        self.run = run
        self.hooks = hooks
        self.execution_timeout = execution_timeout
        self.wall_timeout = wall_timeout
        self.kill_after = kill_after
        self.poll_interval = poll_interval
        self.progress_interval = progress_interval
        self.failure: list[BaseException] = []
        self.started = time.monotonic()
        self.kill_at: float | None = None
        self.give_up_at: float | None = None
        self.killed = False
        self.cancel_failed = False
        self.reported_version = -1
        self.reported_log = -1
        self.reported_at = -float("inf")

    def watch(self, thread: threading.Thread) -> None:
        """Wait for ``thread`` to end, stopping the run when it must."""
        while True:
            thread.join(self.poll_interval)
            if not thread.is_alive() or not self.step(time.monotonic()):
                return
            self.report()

    def step(self, now: float) -> bool:
        """One look at the run; False when waiting longer is pointless."""
        run = self.run
        if run.stop is None:
            reason = self.stop_reason(now)
            if reason is not None:
                run.request_stop(reason)
                self.kill_at = now + self.kill_after
            return True
        if self.kill_at is None or now < self.kill_at:
            return True
        if self.give_up_at is None:
            self.give_up_at = now + KILL_GRACE
        if not self.killed:
            # tried again until the kernel has a process (it may still be starting)
            self.killed = run.kill()
            if self.killed:
                log.info("bookstore: killed a run's kernel (it did not stop on SIGINT)")
                self.give_up_at = now + KILL_GRACE
        if now >= self.give_up_at:
            log.warning("bookstore: a run's execution did not end after its kernel was killed")
            return False
        return True

    def stop_reason(self, now: float) -> str | None:
        """Why the run must stop now, if it must."""
        if self.cancelled():
            return "cancel"
        if self.wall_timeout is not None and now - self.started > self.wall_timeout:
            return "wall"
        since = self.run.cell_since
        if self.execution_timeout and since is not None and now - since > self.execution_timeout:
            return "cell"
        return None

    def cancelled(self) -> bool:
        """The cancel hook's answer (False when it fails)."""
        if self.hooks.cancelled is None:
            return False
        try:
            return bool(self.hooks.cancelled())
        except Exception:
            if not self.cancel_failed:  # once: it is polled ten times a second
                log.warning("bookstore: a run's cancel hook failed", exc_info=True)
            self.cancel_failed = True
            return False

    def report(self, final: bool = False, output: dict[str, Any] | None = None) -> None:
        """Call ``on_progress`` if something changed and it is time (or ``final``)."""
        if self.hooks.on_progress is None:
            return
        run = self.run
        now = time.monotonic()
        with run.lock:
            nb_changed = run.version != self.reported_version
            changed = nb_changed or run.log.version != self.reported_log
            if not final and (not changed or now - self.reported_at < self.progress_interval):
                return
            partial = None
            if nb_changed:
                partial = output if output is not None else _plain(run.nb)
            progress = Progress(
                cells_done=run.cells_done,
                cells_total=len(run.code_cells),
                current_cell=run.current_cell,
                log=run.log.render(),
                partial=partial,
            )
            self.reported_version, self.reported_log = run.version, run.log.version
            self.reported_at = now
        try:
            self.hooks.on_progress(progress)
        except Exception:  # a progress report going wrong must not stop the run
            log.warning("bookstore: a run's progress hook failed", exc_info=True)

    def outcome(self, started_at: float) -> Outcome:
        """How the run ended (after a last progress report)."""
        import nbformat

        run = self.run
        with run.lock:
            state, error = _ending(run, self.failure, self.execution_timeout, self.wall_timeout)
            if state is RunState.FAILED and error is None:
                error = _mark_cell_error(run.nb)
                run.changed()
                if error is None:  # only sys.exit(0): papermill counts it a success
                    state = RunState.COMPLETED
            text = nbformat.writes(run.nb)
            output = _plain(run.nb)
        self.report(final=True, output=output)
        return Outcome(
            state=state,
            output=text.encode("utf-8"),
            error=error,
            cells_done=run.cells_done,
            cells_total=len(run.code_cells),
            log=run.log.render(),
            started_at=started_at,
            finished_at=time.time(),
        )


def _ending(
    run: _Run,
    failure: list[BaseException],
    execution_timeout: float | None,
    wall_timeout: float | None,
) -> tuple[RunState, dict[str, Any] | None]:
    """The state the run ended in and its error (None for a cell's error, which
    :func:`_mark_cell_error` finds)."""
    from nbclient.exceptions import DeadKernelError

    exc = failure[0] if failure else None
    cell = run.stop_cell
    if run.stop is not None and not (exc is None and run.all_cells_ran):
        if run.stop == "cancel":
            if cell is not None:
                where = f"while cell {cell} was running"
            else:
                where = "between two cells" if run.any_started else "before any cell ran"
            return RunState.CANCELLED, {
                "ename": "Cancelled",
                "evalue": f"cancelled {where}",
                "cell_index": cell,
            }
        if run.stop == "cell":
            evalue = (
                f"cell {cell} ran longer than execution_timeout={_seconds(execution_timeout or 0)}"
            )
        else:
            evalue = f"the run took longer than wall_timeout={_seconds(wall_timeout or 0)}"
        return RunState.TIMED_OUT, {"ename": "TimeoutError", "evalue": evalue, "cell_index": cell}
    if exc is None:
        if run.all_cells_ran:
            return RunState.COMPLETED, None
        return RunState.FAILED, None
    cell = run.current_cell if run.current_cell is not None else _last_started(run)
    if isinstance(exc, DeadKernelError):
        where = f" while cell {cell} was running" if cell is not None else ""
        return RunState.FAILED, {
            "ename": "DeadKernelError",
            "evalue": f"the kernel died ({_exit(run.exit_status)}){where}",
            "cell_index": cell,
        }
    return RunState.FAILED, {
        "ename": type(exc).__name__,
        "evalue": _ANSI.sub("", str(exc)),
        "cell_index": cell,
    }


def _exit(status: int | None) -> str:
    """How a kernel process ended, from its exit status."""
    if status is None:
        return "no exit status"
    if status >= 0:
        return f"exit status {status}"
    try:
        return f"killed by {signal.Signals(-status).name}"
    except ValueError:
        return f"killed by signal {-status}"


def _last_started(run: _Run) -> int | None:
    """The last code cell papermill marked failed (the one a dead kernel cut short)."""
    for index in sorted(run.code_cells, reverse=True):
        meta = run.nb.cells[index].metadata.get("papermill") or {}
        if meta.get("status") == "failed":
            return index
    return None


def _close_thread_loop() -> None:
    """Close the event loop nbclient's synchronous calls made for this thread."""
    with contextlib.suppress(Exception):
        loop = asyncio.get_event_loop_policy().get_event_loop()
        if not loop.is_running() and not loop.is_closed():
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
        asyncio.set_event_loop(None)
