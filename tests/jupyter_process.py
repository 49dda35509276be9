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
    """A `jupyter server` subprocess on 127.0.0.1 with bookstore configured by arguments."""

    def __init__(
        self, tmp_path: Path, settings: dict[str, Any], extra_args: tuple[str, ...] = ()
    ) -> None:
        self.port = free_port()
        self.root = tmp_path / "root"
        self.root.mkdir(exist_ok=True)
        self.args = [
            str(Path(sys.executable).parent / "jupyter"),
            "server",
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
            JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
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
