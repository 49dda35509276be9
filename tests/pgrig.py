"""A real PostgreSQL server for the tests, from the machine's (Debian's) packages.

Loaded as a pytest plugin by ``tests/conftest.py``.  It provides

* :class:`PostgresServer`, one throw-away server in its own temporary directory, usable on
  its own (``with PostgresServer() as pg: ...``);
* the session fixture ``postgres``: one started server per test session (so one per
  pytest-xdist worker), listening on 127.0.0.1 only, trust authentication;
* the fixture ``postgres_url``: a fresh empty database of the test's own, as a SQLAlchemy
  URL ``postgresql+psycopg://postgres@127.0.0.1:<port>/t_<hex>``, dropped afterwards.

Without PostgreSQL (``make postgres`` installs it) the tests using it skip, or fail when
``BOOKSTORE_REQUIRE_POSTGRES`` is set.  PostgreSQL refuses to run as root: as root the
server runs as the ``postgres`` system user (else ``nobody``).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING

import pytest

from tests.skips import skip_unless_available

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import TupleRow

__all__ = [
    "PostgresError",
    "PostgresServer",
    "find_postgres_bin",
    "postgres",
    "postgres_url",
]

_HOST = "127.0.0.1"
#: The superuser that ``initdb`` creates (any name works with trust authentication).
SUPERUSER = "postgres"
REQUIRE_ENV = "BOOKSTORE_REQUIRE_POSTGRES"
_PROGRAMS = ("initdb", "pg_ctl", "postgres")
#: Servers whose process is running, stopped at interpreter exit if nobody else did.
_LIVE: set[PostgresServer] = set()


class PostgresError(RuntimeError):
    """PostgreSQL could not be found, started or stopped."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.parent.name))


def find_postgres_bin() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``: from ``PATH`` first,
    else the newest ``/usr/lib/postgresql/<version>/bin`` (Debian's layout); None when
    PostgreSQL is not installed."""
    initdb = shutil.which("initdb")
    if initdb:
        # /usr/local/bin/initdb may be a link into /usr/lib/postgresql/15/bin
        for candidate in (Path(initdb).parent, Path(initdb).resolve().parent):
            if all((candidate / name).is_file() for name in _PROGRAMS):
                return candidate
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for candidate in versions:
        if all(os.access(candidate / name, os.X_OK) for name in _PROGRAMS):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        return int(sock.getsockname()[1])


def _unprivileged_user() -> pwd.struct_passwd:
    """Whom the server runs as when we are root: ``postgres`` if it exists, else ``nobody``."""
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise PostgresError("running as root and neither a `postgres` nor a `nobody` user exists")


class PostgresServer:
    """One PostgreSQL server on ``127.0.0.1`` (a free port, nowhere else), its data and
    unix socket in a fresh temporary directory, trust authentication, no fsync.

    :meth:`start` runs ``initdb`` and starts the server, waiting until it accepts a
    connection; :meth:`cleanup` stops it (``pg_ctl stop -m immediate``) and removes the
    directory.
    """

    def __init__(self, bin_dir: Path | None = None, *, startup_timeout: float = 60.0) -> None:
        found = bin_dir or find_postgres_bin()
        if found is None:
            raise PostgresError(
                "PostgreSQL is not installed (no initdb on PATH nor in "
                "/usr/lib/postgresql/*/bin); `make postgres` installs it"
            )
        self.bin_dir = found
        self.startup_timeout = startup_timeout
        self.host = _HOST
        self.port = 0
        self.user = SUPERUSER
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        # as root, everything runs as an unprivileged user owning the directory
        self._run_as = _unprivileged_user() if os.geteuid() == 0 else None

    # -- paths and addresses -------------------------------------------------------

    @property
    def root(self) -> Path:
        """The temporary directory: ``data/``, the unix socket and ``postgres.log``."""
        if self._root is None:
            root = Path(tempfile.mkdtemp(prefix="bookstore-pgrig-"))
            if self._run_as is not None:
                os.chown(root, self._run_as.pw_uid, self._run_as.pw_gid)
            self._root = root
        return self._root

    @property
    def data_dir(self) -> Path:
        """The cluster's data directory (``initdb -D``)."""
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        """The server's stdout and stderr."""
        return self.root / "postgres.log"

    def url(self, dbname: str = "postgres") -> str:
        """A SQLAlchemy URL for database ``dbname`` over TCP with psycopg 3."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def conninfo(self, dbname: str = "postgres", *, connect_timeout: int = 5) -> str:
        """A libpq connection string for database ``dbname`` over TCP."""
        return (
            f"host={self.host} port={self.port} user={self.user} dbname={dbname} "
            f"connect_timeout={connect_timeout}"
        )

    def connect(
        self, dbname: str = "postgres", *, autocommit: bool = True
    ) -> psycopg.Connection[TupleRow]:
        """A psycopg connection to database ``dbname`` (autocommit unless told otherwise)."""
        import psycopg

        return psycopg.connect(self.conninfo(dbname), autocommit=autocommit)

    def is_running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """``initdb`` (first time only), then start the server and wait until it accepts
        a connection.  Call it from the main thread (the server gets SIGQUIT when the
        starting thread ends: ``setpriv --pdeathsig``)."""
        if self.is_running():
            return
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        # a port may be taken between probing and binding: retry with another one
        last: PostgresError | None = None
        for _ in range(3):
            self.port = _free_port()
            try:
                self._launch()
            except PostgresError as exc:
                last = exc
                continue
            return
        assert last is not None
        raise last

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server: ``pg_ctl stop -m immediate``, SIGKILL if it is still there."""
        process, self._process = self._process, None
        _LIVE.discard(self)
        if process is not None and process.poll() is None:
            with contextlib.suppress(PostgresError, subprocess.SubprocessError, OSError):
                self._run(
                    "pg_ctl",
                    "stop",
                    "-D",
                    str(self.data_dir),
                    "-m",
                    "immediate",
                    "-w",
                    timeout=timeout,
                )
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def cleanup(self) -> None:
        """Stop the server and delete its directory."""
        self.stop()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    # -- databases -----------------------------------------------------------------

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (``t_<hex>`` unless named); return its name."""
        from psycopg import sql

        name = name or f"t_{uuid.uuid4().hex[:16]}"
        with self.connect() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database, closing its remaining connections."""
        from psycopg import sql

        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    # -- internals -----------------------------------------------------------------

    def _prefix(self, *, pdeathsig: bool = False) -> list[str]:
        """What runs a program as the server's user (and, for the server, ties it to us)."""
        setpriv = shutil.which("setpriv")
        guard = ["--pdeathsig", "QUIT"] if pdeathsig else []
        if self._run_as is None:
            return [setpriv, *guard, "--"] if setpriv and guard else []
        if setpriv:
            return [
                setpriv,
                f"--reuid={self._run_as.pw_uid}",
                f"--regid={self._run_as.pw_gid}",
                "--clear-groups",
                *guard,
                "--",
            ]
        runuser = shutil.which("runuser")
        if runuser:
            return [runuser, "-u", self._run_as.pw_name, "--"]
        raise PostgresError("running as root and neither setpriv nor runuser is available")

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        if self._run_as is not None:
            env["HOME"] = str(self.root)
            env["USER"] = env["LOGNAME"] = self._run_as.pw_name
        return env

    def _run(self, program: str, *args: str, timeout: float) -> None:
        command = [*self._prefix(), str(self.bin_dir / program), *args]
        result = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            cwd=self.root,
            env=self._environment(),
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            output = (result.stdout + result.stderr).decode(errors="replace")
            raise PostgresError(f"{program} failed ({result.returncode}):\n{output}")

    def _initdb(self) -> None:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            self.user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
            "--no-instructions",
            timeout=self.startup_timeout,
        )

    def _command(self) -> list[str]:
        settings = {
            "listen_addresses": _HOST,
            "port": str(self.port),
            "unix_socket_directories": str(self.root),
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "16MB",
            "max_connections": "50",
            "max_wal_senders": "0",
            "wal_level": "minimal",
            "logging_collector": "off",
        }
        options = [arg for key, value in settings.items() for arg in ("-c", f"{key}={value}")]
        postgres = str(self.bin_dir / "postgres")
        return [*self._prefix(pdeathsig=True), postgres, "-D", str(self.data_dir), *options]

    def _launch(self) -> None:
        self._log_file = open(self.log_path, "ab")  # noqa: SIM115
        self._process = subprocess.Popen(
            self._command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self.root,
            env=self._environment(),
            start_new_session=True,
        )
        _LIVE.add(self)
        try:
            self._wait_until_accepting()
        except BaseException:
            self.stop()
            raise

    def _wait_until_accepting(self) -> None:
        import psycopg

        deadline = time.monotonic() + self.startup_timeout
        while True:
            assert self._process is not None
            if self._process.poll() is not None:
                raise PostgresError(
                    f"postgres exited with code {self._process.returncode} while starting:\n"
                    + self.log_tail()
                )
            try:
                with psycopg.connect(self.conninfo(connect_timeout=2)) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PostgresError(
                        f"postgres did not accept connections on {self.host}:{self.port} "
                        f"within {self.startup_timeout:.0f} s ({exc}):\n" + self.log_tail()
                    ) from exc
            time.sleep(0.05)

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's log."""
        if not self.log_path.exists():
            return f"(no log at {self.log_path})"
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {self.log_path} ---\n" + "\n".join(text)

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"<PostgresServer {state} {self.host}:{self.port}>"


@atexit.register
def _stop_all() -> None:
    """Never let a server outlive the interpreter."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.cleanup()


def _unavailable() -> str | None:
    """Why PostgreSQL cannot run here, or None."""
    if find_postgres_bin() is None:
        return (
            "PostgreSQL is not installed (no initdb on PATH nor in /usr/lib/postgresql/*/bin); "
            "`make postgres` installs it"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[runs]')"
    return None


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server (one per pytest-xdist worker), started on first use;
    skips (or fails with ``BOOKSTORE_REQUIRE_POSTGRES`` set) without PostgreSQL."""
    skip_unless_available(_unavailable(), REQUIRE_ENV)
    try:
        server = PostgresServer()
    except PostgresError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        try:
            server.start()
        except PostgresError as exc:
            pytest.fail(str(exc), pytrace=False)
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """A fresh empty database of this test's own, as a SQLAlchemy URL
    (``postgresql+psycopg://postgres@127.0.0.1:<port>/t_<hex>``); dropped afterwards."""
    if not postgres.is_running():  # an earlier test stopped it
        postgres.start()
    name = postgres.create_database()
    try:
        yield postgres.url(name)
    finally:
        postgres.drop_database(name)
