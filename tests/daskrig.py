"""A real Dask cluster for the tests: a scheduler and two workers, each its own OS process.

Loaded as a pytest plugin by ``tests/conftest.py``.  It provides

* :class:`DaskCluster`, ``dask scheduler`` plus N ``dask worker`` processes on 127.0.0.1
  (no dashboards), usable on its own (``with DaskCluster(env={...}) as cluster: ...``);
* the module fixture ``dask_cluster`` (two workers) and ``dask_scheduler_address``, its
  ``tcp://127.0.0.1:<port>``;
* :func:`worker_pids`: the process ids of a cluster's workers (to SIGKILL one).

Each ``dask worker`` runs a nanny that starts the worker process proper: a killed worker
process is started again by its nanny.  The workers get ``os.environ`` as it is when the
cluster starts (plus the repository root on ``PYTHONPATH``, so functions defined in test
modules unpickle there).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO

import pytest

from tests.skips import skip_unless_available

__all__ = [
    "DaskCluster",
    "DaskClusterError",
    "dask_cluster",
    "dask_executable",
    "dask_scheduler_address",
    "worker_pids",
]

_HOST = "127.0.0.1"
REQUIRE_ENV = "BOOKSTORE_REQUIRE_DASK"
#: The directory that holds the ``tests`` package: on the workers' ``PYTHONPATH``.
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Clusters whose processes are running, stopped at interpreter exit if nobody else did.
_LIVE: set[DaskCluster] = set()


class DaskClusterError(RuntimeError):
    """The cluster could not be started."""


def dask_executable() -> Path:
    """The ``dask`` command of this interpreter's environment."""
    return Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


class DaskCluster:
    """A scheduler and ``n_workers`` workers (one process, one thread, 1 GiB each), all on
    ``127.0.0.1`` and in a fresh temporary directory; ``env`` is added to ``os.environ``
    for every process."""

    def __init__(
        self,
        n_workers: int = 2,
        *,
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 60.0,
    ) -> None:
        self.n_workers = n_workers
        self.env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.port = 0
        self.root = Path(tempfile.mkdtemp(prefix="bookstore-daskrig-"))
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.workers: list[subprocess.Popen[bytes]] = []
        self._logs: list[IO[bytes]] = []

    @property
    def address(self) -> str:
        """The scheduler's address, ``tcp://127.0.0.1:<port>``."""
        if not self.port:
            raise DaskClusterError("the cluster has not been started")
        return f"tcp://{_HOST}:{self.port}"

    def processes(self) -> list[subprocess.Popen[bytes]]:
        """The scheduler and ``dask worker`` (nanny) processes."""
        return [p for p in (self.scheduler, *self.workers) if p is not None]

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Start the scheduler and the workers; return once all workers have registered.
        Call it from the main thread (``setpriv --pdeathsig`` ties the processes to it)."""
        if self.scheduler is not None:
            return
        dask = dask_executable()
        if not dask.is_file():
            raise DaskClusterError(f"no `dask` command next to {sys.executable}")
        last: DaskClusterError | None = None
        for _ in range(3):  # the port may be taken between probing and binding
            try:
                self._launch(dask)
                self._wait_for_workers()
            except DaskClusterError as exc:
                self.stop()
                last = exc
                continue
            except BaseException:
                self.stop()
                raise
            return
        assert last is not None
        raise last

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM every process group, SIGKILL what is left after ``timeout`` seconds."""
        processes = self.processes()
        self.scheduler, self.workers = None, []
        _LIVE.discard(self)
        # workers first, so they do not try to reconnect to a vanished scheduler
        for process in processes[1:] + processes[:1]:
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.0, deadline - time.monotonic()))
        for process in processes:
            _signal_group(process, signal.SIGKILL)  # also children left in the group
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout)
        for log in self._logs:
            log.close()
        self._logs = []

    def cleanup(self) -> None:
        """Stop the cluster and delete its directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> DaskCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    # -- internals -----------------------------------------------------------------

    def _environment(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        path = env.get("PYTHONPATH")
        env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *([path] if path else [])])
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        setpriv = shutil.which("setpriv")
        guard = [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115
        self._logs.append(log)
        process = subprocess.Popen(
            [*guard, *args],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            env=self._environment(),
            start_new_session=True,
        )
        _LIVE.add(self)
        return process

    def _launch(self, dask: Path) -> None:
        self.port = _free_port()
        scheduler_file = self.root / "scheduler.json"
        scheduler_file.unlink(missing_ok=True)
        self.scheduler = self._spawn(
            "scheduler",
            [
                str(dask),
                "scheduler",
                "--host",
                _HOST,
                "--port",
                str(self.port),
                "--no-dashboard",
                "--scheduler-file",
                str(scheduler_file),
            ],
        )
        # the workers start importing while the scheduler does (they retry connecting)
        for index in range(self.n_workers):
            local = self.root / f"worker-{index}"
            local.mkdir(exist_ok=True)
            worker = self._spawn(
                f"worker-{index}",
                [
                    str(dask),
                    "worker",
                    self.address,
                    "--host",
                    _HOST,
                    "--nworkers",
                    "1",
                    "--nthreads",
                    "1",
                    "--no-dashboard",
                    "--memory-limit",
                    "1GiB",
                    "--name",
                    f"worker-{index}",
                    "--local-directory",
                    str(local),
                    "--death-timeout",
                    str(int(self.startup_timeout)),
                ],
            )
            self.workers.append(worker)
        # the scheduler writes its file once it listens
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self.scheduler.poll() is not None:
                raise DaskClusterError(
                    f"dask scheduler exited with code {self.scheduler.returncode}:\n"
                    + self.log_tail()
                )
            with contextlib.suppress(OSError, ValueError):
                if json.loads(scheduler_file.read_text())["address"] == self.address:
                    return
            if time.monotonic() > deadline:
                raise DaskClusterError(
                    f"dask scheduler did not start within {self.startup_timeout:.0f} s:\n"
                    + self.log_tail()
                )
            time.sleep(0.05)

    def _wait_for_workers(self) -> None:
        from distributed import Client

        try:
            with Client(self.address, timeout=self.startup_timeout) as client:
                client.wait_for_workers(self.n_workers, timeout=self.startup_timeout)
        except (OSError, TimeoutError) as exc:
            raise DaskClusterError(
                f"{self.n_workers} dask workers did not register with {self.address} "
                f"({exc!r}):\n" + self.log_tail()
            ) from exc

    def log_tail(self, lines: int = 30) -> str:
        """The last ``lines`` lines of each process's output."""
        parts: list[str] = []
        for path in sorted(self.root.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {path.name} ---\n" + "\n".join(text))
        return "\n".join(parts) or f"(no logs in {self.root})"

    def __repr__(self) -> str:
        where = self.address if self.port else "not started"
        return f"<DaskCluster {len(self.workers)} workers {where}>"


def worker_pids(address: str) -> list[int]:
    """The process ids of the worker processes (not their nannies) of the scheduler at
    ``address``, in the order of the workers' addresses."""
    from distributed import Client

    with Client(address, timeout=30) as client:
        pids: dict[str, int] = client.run(os.getpid)
    return [pids[worker] for worker in sorted(pids)]


@atexit.register
def _stop_all() -> None:
    """Never let a cluster outlive the interpreter."""
    for cluster in list(_LIVE):
        with contextlib.suppress(Exception):
            cluster.cleanup()


def _unavailable() -> str | None:
    """Why a Dask cluster cannot run here, or None."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return "dask's `distributed` is not installed (pip install -e '.[runs]')"
    if not dask_executable().is_file():
        return f"no `dask` command next to {sys.executable}"
    return None


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[DaskCluster]:
    """A started cluster of a scheduler and two workers for this test module; skips (or
    fails with ``BOOKSTORE_REQUIRE_DASK`` set) without ``distributed``."""
    skip_unless_available(_unavailable(), REQUIRE_ENV)
    cluster = DaskCluster(n_workers=2)
    try:
        try:
            cluster.start()
        except DaskClusterError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture(scope="module")
def dask_scheduler_address(dask_cluster: DaskCluster) -> str:
    """The address ``tcp://127.0.0.1:<port>`` of this module's two-worker cluster."""
    return dask_cluster.address
