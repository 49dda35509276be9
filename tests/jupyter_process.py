"""A `jupyter server` subprocess on 127.0.0.1, for tests and benchmarks that need a real
process (crashes, restarts, end-to-end latency)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

TOKEN = "crash-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class JupyterServer:
    """A `jupyter server` subprocess on 127.0.0.1 with bookstore configured by arguments
    (``app``: ``server``, ``lab`` or ``notebook``, the Jupyter command that starts it)."""

    def __init__(
        self,
        tmp_path: Path,
        settings: dict[str, Any],
        extra_args: tuple[str, ...] = (),
        *,
        app: str = "server",
    ) -> None:
        self.port = free_port()
        self.root = tmp_path / "root"
        self.root.mkdir(exist_ok=True)
        self.config_dir = tmp_path / "config"
        self.config_dir.mkdir(exist_ok=True)
        self.args = [
            str(Path(sys.executable).parent / "jupyter"),
            app,
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--no-browser",
            "--allow-root",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={self.root}",
            *(f"--BookstoreSettings.{name}={value}" for name, value in settings.items()),
            *extra_args,
        ]
        self.env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("JPYNB_", "AWS_ACCESS", "AWS_SECRET"))
        }
        self.env.update(
            JUPYTER_DATA_DIR=str(tmp_path / "data"),
            JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
            JUPYTER_CONFIG_DIR=str(self.config_dir),
        )
        #: The server's URL (with its base URL), ending in ``/``.
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = tmp_path / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.args, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.request("GET", "api/status")
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise RuntimeError(f"jupyter server did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def wait_archived(self, timeout: float = 60) -> None:
        """Wait until the server's archiver has nothing pending (or fail after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.request("GET", "api/bookstore/archive")
            if status["state"] == "ok" and status["pending"] == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"saves still pending after {timeout} s: {status}")
            time.sleep(0.05)

    def request_page(self, path: str) -> int:
        """The status of ``GET path`` (a page: the body is not read as JSON)."""
        request = urllib.request.Request(
            f"{self.url}{path}", headers={"Authorization": f"token {TOKEN}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    def request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
