"""``jupyter bookstore run``, ``schedule``, ``runs`` and ``scheduler``: runs of stored
notebook versions with papermill on Dask, now or on a schedule, from a terminal.

The commands call :class:`~bookstore.core.runs.service.RunService`, which needs the
``bookstore[runs]`` extra (SQLAlchemy, Dask, papermill): it is imported when one of them
runs, so ``import bookstore.cli`` stays light and the other commands work without it.

* ``run`` queues a run (a server, or ``jupyter bookstore scheduler``, executes it); with
  ``--wait`` this process executes it too and waits for its end;
* ``schedule add|list|pause|resume|rm|run`` manages schedules;
* ``runs [list]|show|log|cancel`` looks at runs;
* ``scheduler`` fires everybody's schedules and executes their runs until SIGINT or
  SIGTERM (for JupyterHub, whose single-user servers are culled).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from ..config import BookstoreRuns
from ..core.areas import StoreAreas
from ..errors import BookstoreError, Conflict
from ..keys import notebook_path
from .commands import Command
from .exits import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, EXIT_UNAVAILABLE, EXIT_USAGE, CommandError
from .output import format_time, print_json, print_table

if TYPE_CHECKING:
    from ..core.runs.db import RunDB
    from ..core.runs.service import RunService

__all__ = ["RUNS_MISSING", "RunCommand", "add_run_commands", "parameter_value"]

#: What the run commands say without the ``bookstore[runs]`` extra (exit status 4).
RUNS_MISSING = "runs need bookstore[runs] (pip install 'bookstore[runs]')"
#: The exit status of a command stopped by Ctrl-C (as a shell reports SIGINT).
EXIT_INTERRUPTED = 130
#: Seconds between two looks at a run being waited for, and at a followed log.
WAIT_POLL = 0.2
FOLLOW_POLL = 0.5
#: Seconds a cancelled (Ctrl-C) waited-for run is given to end CANCELLED.
CANCEL_GRACE = 20.0
#: Seconds between two looks of ``scheduler`` at the runs it reports.
WATCH_POLL = 1.0
#: States a run may still leave.
ACTIVE_STATES = ("QUEUED", "RUNNING")
MISSED_POLICIES = ("skip", "latest", "all")
OVERLAP_POLICIES = ("skip", "queue", "allow", "cancel_previous")

log = logging.getLogger("bookstore.scheduler")


# -- the options ---------------------------------------------------------------------------


def parameter_value(text: str) -> Any:
    """``-p NAME VALUE``'s value: the JSON value ``text`` spells (``10``, ``true``,
    ``[1, 2]``, ``"quoted"``), else ``text`` itself as a string (NaN and Infinity are
    strings, not numbers: they are no JSON values)."""

    def no_constant(name: str) -> Any:
        raise ValueError(name)

    try:
        return json.loads(text, parse_constant=no_constant)
    except ValueError:
        return text


class _Parameter(argparse.Action):
    """``-p NAME VALUE`` (the value parsed as JSON when it is JSON) and ``-r NAME VALUE``
    (always a string), collected in order into one list of ``(name, value)``: a later
    one wins, as with papermill."""

    raw = False

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("metavar", ("NAME", "VALUE"))
        super().__init__(option_strings, dest, nargs=2, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        name, text = values
        given = list(getattr(namespace, self.dest, None) or [])
        given.append((name, text if self.raw else parameter_value(text)))
        setattr(namespace, self.dest, given)


class _RawParameter(_Parameter):
    raw = True


def _count(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError("must be a whole number") from None
        if not low <= number <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}")
        return number

    return parse


def _seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds") from None
    if not number >= 0:
        raise argparse.ArgumentTypeError("must be 0 or more seconds")
    return number


def add_run_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``run``, ``schedule``, ``runs`` and ``scheduler`` to ``commands`` (the
    sub-parsers of ``jupyter bookstore``; ``common``: the options every command takes)."""
    _add_run(commands, common)
    _add_schedule(commands, common)
    _add_runs(commands, common)
    scheduler = commands.add_parser(
        "scheduler",
        parents=[common],
        help="fire everybody's schedules and execute their runs until stopped (JupyterHub)",
        description="A long-running process that fires every user's schedules and executes "
        "the queued runs of every user (BookstoreRuns configures it). It logs a line per "
        "fired and finished run and stops cleanly on SIGINT or SIGTERM.",
    )
    scheduler.add_argument(
        "--no-execute",
        action="store_true",
        help="only fire schedules; servers with BookstoreRuns execute the runs",
    )
    scheduler.set_defaults(run=RunCommand.scheduler, command_class=RunCommand)


def _source_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "path",
        metavar="PATH",
        help="a workspace notebook (local path); with --published, a published path",
    )
    sub.add_argument(
        "--published", action="store_true", help="PATH is a published notebook (as in the catalog)"
    )
    sub.add_argument(
        "--version", metavar="ID", help="run this version (default: the latest at each start)"
    )
    sub.add_argument(
        "-p",
        "--parameter",
        dest="parameters",
        action=_Parameter,
        help="a parameter; VALUE is JSON when it parses as JSON (10, true, [1,2]), else a string",
    )
    sub.add_argument(
        "-r",
        "--raw-parameter",
        dest="parameters",
        action=_RawParameter,
        help="a parameter whose VALUE is always a string",
    )
    sub.add_argument("--kernel", metavar="NAME", help="the kernel (default BookstoreRuns)")
    sub.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="longest a cell may run (0: no limit)"
    )
    sub.add_argument(
        "--wall-timeout",
        type=_seconds,
        metavar="SECONDS",
        help="longest the whole run may take (0: no limit)",
    )
    sub.add_argument(
        "--output",
        metavar="PATH",
        help="the workspace notebook (local path) the output is the next version of "
        "(default: runs/<adhoc or schedule>/PATH)",
    )


def _add_run(commands: Any, common: argparse.ArgumentParser) -> None:
    run = commands.add_parser(
        "run",
        parents=[common],
        help="run a stored version of a notebook with papermill (queued, or --wait)",
        description="Queue a run of a notebook's stored version and print its id; a "
        "server or `jupyter bookstore scheduler` executes it. With --wait, execute it here "
        "and wait for its end (exit status 6 unless it COMPLETED; Ctrl-C cancels it).",
    )
    _source_options(run)
    run.add_argument(
        "--idempotency-key",
        metavar="KEY",
        help="a repeated request with this key answers the first run instead of a new one",
    )
    run.add_argument(
        "--wait", action="store_true", help="execute the run here and wait until it ends"
    )
    run.set_defaults(run=RunCommand.run_notebook, command_class=RunCommand)


def _add_schedule(commands: Any, common: argparse.ArgumentParser) -> None:
    schedule = commands.add_parser(
        "schedule", help="schedules: runs of a notebook at the times of a cron expression"
    )
    actions = schedule.add_subparsers(dest="schedule_command", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add", parents=[common], help="schedule runs of a notebook (prints the next fire times)"
    )
    _source_options(add)
    add.add_argument(
        "--cron",
        required=True,
        metavar="EXPR",
        help="five cron fields ('0 6 * * 1-5') or a preset (@daily, @hourly, ...)",
    )
    add.add_argument("--timezone", metavar="TZ", help="IANA time zone of EXPR (default UTC)")
    add.add_argument("--name", help="the schedule's name (default: the notebook's)")
    add.add_argument(
        "--missed", choices=MISSED_POLICIES, help="ticks missed while no scheduler ran (skip)"
    )
    add.add_argument(
        "--max-catchup", type=_count(1, 1000), metavar="N", help="most missed ticks run (10)"
    )
    add.add_argument(
        "--overlap", choices=OVERLAP_POLICIES, help="a tick while the last run runs (skip)"
    )
    add.add_argument(
        "--max-retries", type=_count(0, 10), metavar="N", help="retries of a failed run (0)"
    )
    add.add_argument(
        "--retry-on",
        metavar="CAUSES",
        help="comma-separated causes to retry: lost, timeout, error (default lost)",
    )
    add.add_argument(
        "--notify-email", action="append", metavar="ADDR", help="email ADDR when a run ends"
    )
    add.add_argument(
        "--notify-webhook", action="append", metavar="URL", help="POST to URL when a run ends"
    )
    add.set_defaults(run=RunCommand.schedule_add, command_class=RunCommand)

    listing = actions.add_parser("list", parents=[common], help="your schedules")
    listing.set_defaults(run=RunCommand.schedule_list, command_class=RunCommand)
    for name, method, text in (
        ("pause", RunCommand.schedule_pause, "pause a schedule (it fires no more)"),
        ("resume", RunCommand.schedule_resume, "resume a schedule (from now on)"),
        ("rm", RunCommand.schedule_rm, "delete a schedule (its runs stay)"),
        ("run", RunCommand.schedule_run, "queue a run of a schedule now"),
    ):
        sub = actions.add_parser(name, parents=[common], help=text)
        sub.add_argument("schedule_id", metavar="ID")
        sub.set_defaults(run=method, command_class=RunCommand)


def _list_options(sub: argparse.ArgumentParser, *, suppress: bool) -> None:
    """``runs``'s and ``runs list``'s filters (the latter's defaults suppressed, so that
    ``runs --state X list`` keeps X)."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    sub.add_argument(
        "--path",
        default=default(None),
        help="only runs of this notebook (local path; with --published, a published path)",
    )
    sub.add_argument(
        "--published", action="store_true", default=default(False), help="--path is published"
    )
    sub.add_argument(
        "--schedule", metavar="ID", default=default(None), help="only runs of this schedule"
    )
    sub.add_argument(
        "--state",
        action="append",
        default=default(None),
        help="only runs in this state (QUEUED, RUNNING, COMPLETED, FAILED, ...; repeatable)",
    )
    sub.add_argument(
        "--limit", type=_count(1, 1000), default=default(20), help="runs per page (20)"
    )
    sub.add_argument(
        "--page-token", default=default(None), help="continue a listing (printed after a page)"
    )


def _add_runs(commands: Any, common: argparse.ArgumentParser) -> None:
    runs = commands.add_parser(
        "runs", parents=[common], help="your runs: list (default), show, log, cancel"
    )
    _list_options(runs, suppress=False)
    runs.set_defaults(run=RunCommand.runs_list, command_class=RunCommand)
    actions = runs.add_subparsers(dest="runs_command", metavar="ACTION")
    listing = actions.add_parser("list", parents=[common], help="your runs, newest first")
    _list_options(listing, suppress=True)
    show = actions.add_parser("show", parents=[common], help="one run")
    show.add_argument("run_id", metavar="ID")
    show.set_defaults(run=RunCommand.runs_show, command_class=RunCommand)
    log_parser = actions.add_parser(
        "log", parents=[common], help="a run's captured output (stdout and stderr)"
    )
    log_parser.add_argument("run_id", metavar="ID")
    log_parser.add_argument(
        "-f", "--follow", action="store_true", help="keep printing new output until the run ends"
    )
    log_parser.set_defaults(run=RunCommand.runs_log, command_class=RunCommand)
    cancel = actions.add_parser("cancel", parents=[common], help="cancel a queued or running run")
    cancel.add_argument("run_id", metavar="ID")
    cancel.set_defaults(run=RunCommand.runs_cancel, command_class=RunCommand)


# -- the commands --------------------------------------------------------------------------


def _service_class() -> type[RunService]:
    """:class:`RunService`, imported now; :class:`CommandError` (4) without the extra."""
    try:
        from ..core.runs.service import RunService, runs_available
    except ImportError as exc:
        if (exc.name or "bookstore").partition(".")[0] == "bookstore":
            raise  # a bug of bookstore's, not a missing extra
        raise CommandError(f"{RUNS_MISSING}: {exc}", EXIT_REFUSED) from None
    missing = runs_available()
    if missing is not None:
        raise CommandError(missing, EXIT_REFUSED)
    return RunService


async def _start_engine(service: RunService) -> None:
    """Start the run engine now, with SIGINT ignored while it starts its processes.

    A Ctrl-C in a terminal goes to the whole foreground process group, so also to the
    worker processes of the embedded Dask cluster: they would die (the run LOST) instead
    of this process cancelling the run.  Processes started while SIGINT is ignored
    inherit that (and Python keeps it); the kernels are in sessions of their own.  A
    Ctrl-C while the engine starts (seconds) is ignored.
    """
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.getsignal(signal.SIGINT)
    if previous is not None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        await service.engine.client()
    except (BookstoreError, asyncio.CancelledError):
        raise
    except Exception as exc:
        raise CommandError(
            f"cannot start the run engine ({service.engine.description}): {_one_line(exc)}",
            EXIT_UNAVAILABLE,
        ) from None
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _shown_url(url: str) -> str:
    """A database URL without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.partition("://")[0] + "://..."


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def _error_text(run: dict[str, Any]) -> str:
    """A run's error in one line: ``cell 3: ZeroDivisionError: division by zero``."""
    error = run.get("error") or {}
    parts = []
    if error.get("cell_index") is not None:
        parts.append(f"cell {error['cell_index']}")
    parts.append(": ".join(str(error[name]) for name in ("ename", "evalue") if error.get(name)))
    text = ": ".join(part for part in parts if part)
    return _one_line(text or run.get("reason") or "no error recorded")


def _duration(run: dict[str, Any]) -> str:
    seconds = run.get("duration_s")
    return "-" if seconds is None else f"{seconds:.1f} s"


def _cells(run: dict[str, Any]) -> str:
    progress = run["progress"]
    total = progress["cells_total"]
    return f"{progress['cells_done']}/{total}" if total else "-"


def _source(run: dict[str, Any]) -> str:
    source = run["source"]
    return source["path"] if source["area"] == "workspace" else f"{source['path']} (published)"


class _CellProgress:
    """The cells of a run being waited for: a tqdm bar on a terminal, else a
    ``cell 3/7`` line on stderr whenever the count changes."""

    def __init__(self, run_id: str, *, enabled: bool) -> None:
        self.run_id = run_id
        self.enabled = enabled
        self.terminal = sys.stderr.isatty()
        self.shown: tuple[int, int] = (-1, -1)
        self.bar: Any = None

    def update(self, run: dict[str, Any]) -> None:
        progress = run["progress"]
        done, total = int(progress["cells_done"]), int(progress["cells_total"])
        if not self.enabled or total <= 0 or (done, total) == self.shown:
            return
        self.shown = (done, total)
        if not self.terminal:
            sys.stderr.write(f"cell {done}/{total}\n")
            sys.stderr.flush()
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(
                desc=f"run {self.run_id}",
                total=total,
                leave=False,
                file=sys.stderr,
                bar_format="{l_bar}{bar}| cell {n_fmt}/{total_fmt} [{elapsed}]",
            )
        if self.bar.total != total:
            self.bar.reset(total=total)
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class RunCommand(Command):
    """The run commands of ``jupyter bookstore`` (a :class:`Command` with a run service)."""

    @contextlib.asynccontextmanager
    async def service(
        self,
        *,
        execute: bool = False,
        fire: bool = False,
        everybody: bool = False,
        own_runs_only: bool = False,
    ) -> AsyncIterator[RunService]:
        """The started run service (closed at the end): its runner when ``execute``, its
        scheduler loop when ``fire``; ``everybody``: it executes and fires every user's
        runs and schedules (``scheduler``), else only this user's; ``own_runs_only``: it
        executes only the runs added to ``runner.options.only_runs``."""
        service_class = _service_class()
        bookstore = self.bookstore
        own = bookstore.areas

        def areas_for(user: str) -> StoreAreas:
            if user == own.username:
                return own
            return StoreAreas(bookstore.settings, bookstore.ready_store, username=user)

        settings = BookstoreRuns(config=bookstore.config)
        service = service_class(
            settings,
            bookstore.settings,
            bookstore.ready_store,
            areas_for,
            claim_owner=None if everybody else own.username,
        )
        try:
            try:
                await service.start(
                    execute=execute, fire=fire, only_runs=set() if own_runs_only else None
                )
            except (BookstoreError, asyncio.CancelledError):
                raise
            except Exception as exc:
                code = EXIT_USAGE if type(exc).__name__ == "ArgumentError" else EXIT_UNAVAILABLE
                raise CommandError(
                    f"cannot open the runs database {_shown_url(settings.database_url)} "
                    f"(BookstoreRuns.database_url): {_one_line(exc)}",
                    code,
                ) from None
            yield service
        finally:
            await service.close()

    def workspace_or_given(self, given: str, published: bool) -> str:
        """A published path as given; a workspace path from a local path."""
        if published:
            return notebook_path(given, what="published path")
        return notebook_path(self.bookstore.workspace_path(given))

    def _request(self) -> dict[str, Any]:
        """The fields of a run or schedule request the source options give."""
        args = self.args
        path = self.workspace_or_given(args.path, args.published)
        body: dict[str, Any] = {
            "published_path" if args.published else "path": path,
            "version_id": args.version,
            "parameters": dict(args.parameters) if args.parameters else None,
            "kernel_name": args.kernel,
            "execution_timeout": args.timeout,
            "wall_timeout": args.wall_timeout,
            "output_path": (
                notebook_path(self.bookstore.workspace_path(args.output), what="--output")
                if args.output
                else None
            ),
        }
        return body

    # -- run ------------------------------------------------------------------------

    async def run_notebook(self) -> int:
        args = self.args
        body = {name: value for name, value in self._request().items() if value is not None}
        actor = self.bookstore.actor
        async with self.service(execute=args.wait, own_runs_only=True) as service:
            if args.wait:
                await _start_engine(service)
            run, _ = await service.submit(actor, body, idempotency_key=args.idempotency_key)
            if service.runner is not None:
                # This process executes its own run only (not the user's other queued runs).
                own = service.runner.options.only_runs
                if own is not None:
                    own.add(run["id"])
                    service.runner.wake()
            if not args.wait:
                if self.as_json:
                    print_json(run, self.out)
                else:
                    self.out.write(f"{run['id']}\n")
                return EXIT_OK
            run = await self._wait(service, run)
        return self._final(run)

    async def _wait(self, service: RunService, run: dict[str, Any]) -> dict[str, Any]:
        """Wait until ``run`` is final, showing its cells; Ctrl-C cancels it."""
        actor = self.bookstore.actor
        shown = _CellProgress(run["id"], enabled=not self.as_json)
        try:
            while run["state"] in ACTIVE_STATES:
                shown.update(run)
                await asyncio.sleep(WAIT_POLL)
                run = await service.get_run(actor, run["id"])
            shown.update(run)
        except asyncio.CancelledError:  # Ctrl-C (asyncio.run cancels the main task)
            shown.close()
            task = asyncio.current_task()
            uncancel = getattr(task, "uncancel", None)
            if uncancel is not None:
                uncancel()
            await self._cancel_interrupted(service, run["id"])
        finally:
            shown.close()
        return run

    async def _cancel_interrupted(self, service: RunService, run_id: str) -> None:
        """Cancel the run waited for, give it a moment to end CANCELLED, and stop."""
        actor = self.bookstore.actor
        with contextlib.suppress(Conflict):
            await service.cancel(actor, run_id)
        deadline = time.monotonic() + CANCEL_GRACE
        run = await service.get_run(actor, run_id)
        while run["state"] in ACTIVE_STATES and time.monotonic() < deadline:
            await asyncio.sleep(WAIT_POLL)
            run = await service.get_run(actor, run_id)
        raise CommandError(f"interrupted: run {run_id} is {run['state']}", EXIT_INTERRUPTED)

    def _final(self, run: dict[str, Any]) -> int:
        """Print how ``run`` ended; its exit status (0 when it COMPLETED, else 6)."""
        if self.as_json:
            print_json(run, self.out)
        else:
            output = run["output"]
            rows = [
                ["run", run["id"]],
                ["state", run["state"]],
                ["duration", _duration(run)],
                ["cells", _cells(run)],
                ["output", output["key"]],
                ["version", output["version_id"] or "-"],
            ]
            print_table(rows, self.out)
        if run["state"] == "COMPLETED":
            return EXIT_OK
        self.out.flush()
        sys.stderr.write(
            f"jupyter bookstore: error: run {run['id']} {run['state']}: {_error_text(run)}\n"
        )
        return EXIT_FAILED

    # -- schedule ---------------------------------------------------------------------

    async def schedule_add(self) -> int:
        args = self.args
        body = self._request()
        notify = [{"email": address} for address in args.notify_email or []]
        notify += [{"webhook": url} for url in args.notify_webhook or []]
        retry_on = None
        if args.retry_on is not None:
            retry_on = [cause.strip() for cause in args.retry_on.split(",") if cause.strip()]
        body.update(
            cron=args.cron,
            timezone=args.timezone,
            name=args.name,
            missed=args.missed,
            max_catchup=args.max_catchup,
            overlap=args.overlap,
            max_retries=args.max_retries,
            retry_on=retry_on,
            notify=notify or None,
        )
        body = {name: value for name, value in body.items() if value is not None}
        async with self.service() as service:
            schedule = await service.create_schedule(self.bookstore.actor, body)
        if self.as_json:
            print_json(schedule, self.out)
            return EXIT_OK
        self.out.write(
            f"Created schedule {schedule['id']} ({schedule['name']}): {schedule['cron']} "
            f"in {schedule['timezone']}\n"
        )
        self._fire_times(schedule)
        return EXIT_OK

    def _fire_times(self, schedule: dict[str, Any]) -> None:
        times = schedule["next_fire_times"]
        if not times:
            self.out.write("next fire times: none (paused)\n")
            return
        rows = [[f"NEXT FIRE ({schedule['timezone']})", "UTC"]]
        rows += [[moment["local"], moment["utc"]] for moment in times]
        print_table(rows, self.out)

    async def schedule_list(self) -> int:
        async with self.service() as service:
            schedules = await service.list_schedules(self.bookstore.actor)
        if self.as_json:
            print_json({"schedules": schedules}, self.out)
            return EXIT_OK
        if not schedules:
            self.out.write("no schedules\n")
            return EXIT_OK
        rows = [["ID", "NAME", "PATH", "CRON", "TIMEZONE", "PAUSED", "NEXT FIRE", "LAST RUN"]]
        for schedule in schedules:
            upcoming = schedule["next_fire_times"]
            last = schedule.get("last_run")
            rows.append(
                [
                    schedule["id"],
                    schedule["name"],
                    _source(schedule),
                    schedule["cron"],
                    schedule["timezone"],
                    "yes" if schedule["paused"] else "no",
                    upcoming[0]["local"] if upcoming else "-",
                    last["state"] if last else "-",
                ]
            )
        print_table(rows, self.out)
        return EXIT_OK

    async def _set_paused(self, paused: bool) -> int:
        async with self.service() as service:
            schedule = await service.set_paused(self.bookstore.actor, self.args.schedule_id, paused)
        if self.as_json:
            print_json(schedule, self.out)
        elif paused:
            self.out.write(f"Paused schedule {schedule['id']} ({schedule['name']})\n")
        else:
            self.out.write(f"Resumed schedule {schedule['id']} ({schedule['name']})\n")
            self._fire_times(schedule)
        return EXIT_OK

    async def schedule_pause(self) -> int:
        return await self._set_paused(True)

    async def schedule_resume(self) -> int:
        return await self._set_paused(False)

    async def schedule_rm(self) -> int:
        schedule_id = self.args.schedule_id
        async with self.service() as service:
            await service.delete_schedule(self.bookstore.actor, schedule_id)
        if self.as_json:
            print_json({"id": schedule_id, "deleted": True}, self.out)
        else:
            self.out.write(f"Deleted schedule {schedule_id}\n")
        return EXIT_OK

    async def schedule_run(self) -> int:
        async with self.service() as service:
            run = await service.run_schedule_now(self.bookstore.actor, self.args.schedule_id)
        if self.as_json:
            print_json(run, self.out)
        else:
            self.out.write(f"{run['id']}\n")
        return EXIT_OK

    # -- runs ---------------------------------------------------------------------------

    async def runs_list(self) -> int:
        args = self.args
        path = self.workspace_or_given(args.path, args.published) if args.path else None
        states = None
        if args.state:
            states = [s.strip().upper() for item in args.state for s in item.split(",")]
        async with self.service() as service:
            page = await service.list_runs(
                self.bookstore.actor,
                path=path,
                schedule_id=args.schedule,
                states=[state for state in states if state] if states else None,
                limit=args.limit,
                page_token=args.page_token,
            )
        if self.as_json:
            print_json({"runs": page.runs, "next_token": page.next_token}, self.out)
            return EXIT_OK
        if not page.runs:
            self.out.write("no runs\n")
            return EXIT_OK
        rows = [["ID", "STATE", "PATH", "TRIGGER", "CREATED", "DURATION", "CELLS"]]
        for run in page.runs:
            rows.append(
                [
                    run["id"],
                    run["state"],
                    _source(run),
                    run["trigger"],
                    format_time(run["created_at"]),
                    _duration(run),
                    _cells(run),
                ]
            )
        print_table(rows, self.out)
        if page.next_token is not None:
            self.out.write(f"(more: --page-token {page.next_token})\n")
        return EXIT_OK

    async def runs_show(self) -> int:
        async with self.service() as service:
            run = await service.get_run(self.bookstore.actor, self.args.run_id)
        if self.as_json:
            print_json(run, self.out)
            return EXIT_OK
        source, output = run["source"], run["output"]
        rows = [
            ["id", run["id"]],
            ["state", run["state"] + (" (cancel asked)" if run["cancel_requested"] else "")],
            ["notebook", _source(run)],
            ["version", f"{source['version_id'] or 'latest'} ({source['version_policy']})"],
            ["parameters", json.dumps(run["parameters"])],
            ["kernel", run["kernel_name"] or "-"],
            ["trigger", run["trigger"]],
            ["schedule", run["schedule_id"] or "-"],
            ["attempt", f"{run['attempt']} of {run['max_retries'] + 1}"],
            ["created", format_time(run["created_at"])],
            ["started", format_time(run["started_at"])],
            ["finished", format_time(run["finished_at"])],
            ["duration", _duration(run)],
            ["cells", _cells(run)],
            ["output", f"{output['key']} (version {output['version_id'] or '-'})"],
        ]
        if run["error"] or run["reason"]:
            rows.append(["error", _error_text(run)])
        print_table(rows, self.out)
        return EXIT_OK

    async def runs_log(self) -> int:
        args = self.args
        actor = self.bookstore.actor
        async with self.service() as service:
            part = await service.run_log(actor, args.run_id, 0)
            text = [part["log"]]
            if not self.as_json:
                self.out.write(part["log"])
                self.out.flush()
            while args.follow and part["state"] in ACTIVE_STATES:
                await asyncio.sleep(FOLLOW_POLL)
                part = await service.run_log(actor, args.run_id, part["next_offset"])
                text.append(part["log"])
                if not self.as_json and part["log"]:
                    self.out.write(part["log"])
                    self.out.flush()
        if self.as_json:
            document = {**part, "offset": 0, "log": "".join(text)}
            print_json(document, self.out)
        return EXIT_OK

    async def runs_cancel(self) -> int:
        async with self.service() as service:
            run = await service.cancel(self.bookstore.actor, self.args.run_id)
        if self.as_json:
            print_json(run, self.out)
        elif run["state"] == "CANCELLED":
            self.out.write(f"Cancelled run {run['id']}\n")
        else:
            self.out.write(
                f"Asked run {run['id']} to stop: it is {run['state']}, and ends CANCELLED "
                "within about a second on the server running it\n"
            )
        return EXIT_OK

    # -- scheduler ---------------------------------------------------------------------

    async def scheduler(self) -> int:
        execute = not self.args.no_execute
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        handled = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, stop.set)
                handled.append(signum)
        with _logging_to_stderr():
            try:
                async with self.service(execute=execute, fire=True, everybody=True) as service:
                    if execute:  # now (a broken engine fails here), its workers deaf to ^C
                        await _start_engine(service)
                    log.info(
                        "bookstore scheduler: runs database %s; firing every user's "
                        "schedules%s; stop with SIGINT or SIGTERM",
                        _shown_url(service.settings.database_url),
                        f" and executing their runs on {service.engine.description}"
                        if execute
                        else " (not executing runs: --no-execute)",
                    )
                    watcher = _RunWatcher(service.db, time.time())
                    while not stop.is_set():
                        for line in await asyncio.to_thread(watcher.poll):
                            log.info("%s", line)
                        with contextlib.suppress(asyncio.TimeoutError, TimeoutError):
                            await asyncio.wait_for(stop.wait(), WATCH_POLL)
                    log.info("bookstore scheduler: stopping")
            finally:
                for signum in handled:
                    loop.remove_signal_handler(signum)
            log.info("bookstore scheduler: stopped")
        return EXIT_OK


@contextlib.contextmanager
def _logging_to_stderr() -> Any:
    """bookstore's log lines (INFO and up) on stderr, with their time, for a while."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("bookstore")
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


class _RunWatcher:
    """What ``scheduler`` reports: a line per run that appears (fired, queued or skipped)
    and per run that ends, of every user, read from the database."""

    def __init__(self, db: RunDB, since: float) -> None:
        self.db = db
        #: Runs that ended before this are history, not news.
        self.since = since
        self.appeared: set[str] = set()
        self.ended: set[str] = set()

    def poll(self) -> list[str]:
        """The lines of what happened since the last call."""
        rows = {row["id"]: row for row in self.db.list_runs(limit=50)}
        for row in self.db.list_runs(states=ACTIVE_STATES, limit=1000):
            rows[row["id"]] = row
        for run_id in self.appeared - self.ended - rows.keys():
            found = self.db.get_run(run_id)
            if found is not None:
                rows[run_id] = found
        lines = []
        for row in sorted(rows.values(), key=lambda row: (row["created_at"], row["id"])):
            run_id, final = row["id"], row["state"] not in ACTIVE_STATES
            if run_id not in self.appeared:
                if final and row["created_at"] < self.since:
                    continue
                self.appeared.add(run_id)
                lines.append(_appeared(row))
            if final and run_id not in self.ended:
                self.ended.add(run_id)
                if row["state"] != "SKIPPED":
                    lines.append(_ended(row))
        gone = self.ended - rows.keys()  # no longer listed: never reported again
        self.appeared -= gone
        self.ended -= gone
        return lines


def _appeared(row: dict[str, Any]) -> str:
    what = f"{row['owner']}'s {row['source_path']}"
    if row["state"] == "SKIPPED":
        return f"run {row['id']} SKIPPED ({what}): {_one_line(row.get('reason') or '')}"
    if row["trigger"] == "schedule":
        return f"run {row['id']} fired by schedule {row['schedule_id']} ({what})"
    return f"run {row['id']} queued ({what}, {row['trigger']})"


def _ended(row: dict[str, Any]) -> str:
    started, finished = row.get("started_at"), row.get("finished_at")
    took = f" in {finished - started:.1f} s" if started and finished else ""
    if row["state"] == "COMPLETED":
        return (
            f"run {row['id']} COMPLETED{took}: {row['output_key']} "
            f"(version {row.get('output_version_id') or '-'})"
        )
    error = row.get("error") or {}
    text = _error_text({"error": error, "reason": row.get("reason")})
    return f"run {row['id']} {row['state']}{took}: {text}"
