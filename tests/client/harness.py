"""A real `jupyter server` subprocess with bookstore, and real kernels to run the client in.

:class:`ClientServer` wraps :class:`tests.jupyter_process.JupyterServer` (isolated runtime,
data and config directories under a temporary folder; no S3 or AWS settings of the
developer leak in). :class:`InKernel` runs code in a kernel through jupyter_client and
returns what the code computed, as JSON.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager

from tests.jupyter_process import TOKEN, JupyterServer
from tests.notebooks import make_notebook

#: What the kernel prints in front of its JSON result.
_MARK = "@@bookstore-client-test@@"

#: Defined in every kernel: ``_capture(fn)`` -> JSON-able outcome of ``fn()``.
_KERNEL_SETUP = """
import json as _json

from bookstore.client import *  # noqa: F403
from bookstore.client.nb_client import current_kernel_id


def _capture(fn):
    try:
        return {"ok": fn()}
    except Exception as exc:
        return {
            "error": type(exc).__name__,
            "classes": [cls.__name__ for cls in type(exc).__mro__],
            "message": str(exc),
            "status": getattr(exc, "status", None),
            "paths": getattr(exc, "paths", None),
        }
"""


def quoted(path: str) -> str:
    """``path`` URL-encoded per segment."""
    return urllib.parse.quote(path, safe="/")


class ClientServer(JupyterServer):
    """A `jupyter server` subprocess with bookstore, for client tests."""

    def __init__(
        self, tmp_path: Path, settings: dict[str, Any], extra_args: tuple[str, ...] = ()
    ) -> None:
        super().__init__(tmp_path, settings)
        # later arguments may replace the token (e.g. an empty one, with a password)
        replaced = {arg.split("=", 1)[0] for arg in extra_args}
        self.args = [arg for arg in self.args if arg.split("=", 1)[0] not in replaced]
        self.args.extend(extra_args)
        self.env = {
            name: value
            for name, value in self.env.items()
            if not name.startswith(("AWS_", "JPYNB_", "S3_", "JPY_SESSION_NAME"))
        }
        self.env.update(
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
            AWS_EC2_METADATA_DISABLED="true",
            IPYTHONDIR=str(tmp_path / "ipython"),
        )
        self.runtime_dir = Path(self.env["JUPYTER_RUNTIME_DIR"])
        base_url = "/"
        for arg in extra_args:
            if arg.startswith("--ServerApp.base_url="):
                base_url = "/" + arg.split("=", 1)[1].strip("/") + "/"
        #: The server's URL, with its base URL.
        self.url = f"http://127.0.0.1:{self.port}{base_url}"

    def launch(self) -> None:
        """Start the process without waiting (see :meth:`wait_ready`)."""
        import subprocess

        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.args, env=self.env, stdout=log, stderr=log, start_new_session=True
            )

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until the server answers (any HTTP answer: it may need a password)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{self.url}api", timeout=5).close()
                return
            except urllib.error.HTTPError:
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        raise RuntimeError(f"jupyter server did not start:\n{self.log.read_text()[-3000:]}")

    def error_of(self, method: str, path: str) -> tuple[int, Any]:
        """The status and JSON body of a request expected to fail."""
        try:
            self.request(method, path)
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")
        raise AssertionError(f"{method} {path} succeeded")

    # -- workspace helpers ------------------------------------------------------------

    def save(self, path: str, marker: str) -> dict[str, Any]:
        """Save a small notebook (first cell ``# Notebook <marker>``) through the API."""
        notebook = make_notebook(marker, cells=2, output_bytes=20)
        return dict(
            self.request(
                "PUT", f"api/contents/{quoted(path)}", {"type": "notebook", "content": notebook}
            )
        )

    def versions(self, path: str) -> list[dict[str, Any]]:
        """The archived versions of ``path``, newest first (one page)."""
        reply = self.request("GET", f"api/bookstore/workspace/{quoted(path)}/versions")
        return list(reply["versions"])

    def wait_versions(self, path: str, count: int, timeout: float = 30) -> list[dict[str, Any]]:
        """Wait until ``path`` has ``count`` archived versions (none still pending in the
        spool, whose ids change once archived); return them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.versions(path)
            archived = not any(version.get("pending") for version in found)
            if (len(found) >= count and archived) or time.monotonic() > deadline:
                assert len(found) == count, found
                return found
            time.sleep(0.1)

    def first_cell(self, path: str) -> str:
        """The first cell's source of the notebook file on disk."""
        import nbformat

        return str(nbformat.read(self.root / path, as_version=4).cells[0].source)

    def start_session(self, path: str, kernel_id: str | None = None) -> dict[str, Any]:
        """``POST /api/sessions`` for ``path``: a new python3 kernel, or ``kernel_id``."""
        kernel = {"id": kernel_id} if kernel_id else {"name": "python3"}
        body = {"path": path, "type": "notebook", "kernel": kernel}
        return dict(self.request("POST", "api/sessions", body))

    def end_session(self, session_id: str) -> None:
        """``DELETE /api/sessions/<id>`` (which shuts its kernel down); a session already
        gone (its kernel shut down by another session's end) is fine."""
        try:
            self.request("DELETE", f"api/sessions/{session_id}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise

    def connect(self, kernel_id: str) -> InKernel:
        """A client of this server's kernel ``kernel_id``."""
        client = BlockingKernelClient()
        client.load_connection_file(str(self.runtime_dir / f"kernel-{kernel_id}.json"))
        return InKernel(client)

    def start_foreign_kernel(self) -> tuple[KernelManager, InKernel]:
        """A kernel this server did not start, as papermill or nbconvert start theirs: a
        ``KernelManager`` of its own, with the server's environment (runtime directory)."""
        manager = KernelManager(
            kernel_name="python3",
            connection_file=str(self.runtime_dir / f"kernel-{uuid.uuid4()}.json"),
        )
        manager.start_kernel(env=dict(self.env), cwd=str(self.root))
        return manager, InKernel(manager.client())

    def write_stale_runtime_file(self) -> Path:
        """A runtime file of a server that is gone (its pid is alive, nobody answers at
        its URL), as a crashed server's file with its pid reused."""
        from tests.jupyter_process import free_port

        port = free_port()
        info = {
            "base_url": "/",
            "hostname": "127.0.0.1",
            "password": False,
            "pid": os.getpid(),
            "port": port,
            "root_dir": str(self.root),
            "secure": False,
            "sock": "",
            "token": "stale",
            "url": f"http://127.0.0.1:{port}/",
            "version": "2.0.0",
        }
        self.runtime_dir.mkdir(parents=True, exist_ok=True)
        stale = self.runtime_dir / f"jpserver-{os.getpid()}.json"
        stale.write_text(json.dumps(info))
        return stale


def wait_until_ready(client: BlockingKernelClient, timeout: float) -> None:
    """Wait until the kernel answers ``kernel_info`` and its IOPub messages reach ``client``.

    Not jupyter_client's ``wait_for_ready``: for a client that did not start the kernel it
    takes one heartbeat missed for one second as "Kernel died", which a kernel still
    importing on a loaded machine does (reproduced with the CPU busy: 6 of 6 failed).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        client.kernel_info()
        try:
            reply = client.get_shell_msg(timeout=1)
        except queue.Empty:
            continue
        if reply["msg_type"] != "kernel_info_reply":
            continue
        try:
            client.get_iopub_msg(timeout=0.2)
        except queue.Empty:
            continue  # IOPub not subscribed yet: ask again.
        while True:  # Drop the status messages of the answered requests.
            try:
                client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                return
    raise AssertionError(f"the kernel did not answer kernel_info within {timeout:.0f} s")


class InKernel:
    """Runs code in a real kernel; :meth:`call` returns the outcome of an expression."""

    def __init__(self, client: BlockingKernelClient) -> None:
        self.client = client
        client.start_channels()
        wait_until_ready(client, timeout=60)
        self.run(_KERNEL_SETUP)

    def run(self, code: str, timeout: float = 60) -> str:
        """Execute ``code``; its stdout (fails on an exception in the kernel)."""
        out: list[str] = []

        def hook(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])

        reply = self.client.execute_interactive(
            code, output_hook=hook, timeout=timeout, store_history=False
        )
        content = reply["content"]
        if content["status"] != "ok":
            raise AssertionError("\n".join(content.get("traceback", [])) or str(content))
        return "".join(out)

    def call(self, expression: str) -> dict[str, Any]:
        """``{"ok": value}`` of ``expression`` evaluated in the kernel, or
        ``{"error": class name, "classes", "message", "status", "paths"}``."""
        code = f"print({_MARK!r} + _json.dumps(_capture(lambda: {expression}), default=str))"
        for line in self.run(code).splitlines():
            if line.startswith(_MARK):
                return dict(json.loads(line[len(_MARK) :]))
        raise AssertionError(f"no result from {expression!r}")

    def ok(self, expression: str) -> Any:
        """The value of ``expression`` in the kernel (fails if it raised)."""
        outcome = self.call(expression)
        assert "error" not in outcome, outcome
        return outcome["ok"]

    def close(self) -> None:
        self.client.stop_channels()


__all__ = ["TOKEN", "ClientServer", "InKernel", "quoted"]


@contextlib.contextmanager
def running_server(
    tmp: Path,
    settings: dict[str, Any],
    notebook: str,
    *,
    marker: str = "v1",
    stale_runtime_file: bool = False,
) -> Iterator[ClientServer]:
    """A started :class:`ClientServer` whose ``notebook`` (in a folder) has one archived
    version (first cell ``# Notebook {marker}``); stopped on exit.
    ``stale_runtime_file``: a runtime file of a server that does not answer lies next to
    the real one (the client must skip it)."""
    server = ClientServer(tmp, settings)
    if stale_runtime_file:
        server.write_stale_runtime_file()
    server.launch()
    try:
        server.wait_ready()
        (server.root / notebook).parent.mkdir(parents=True, exist_ok=True)
        server.save(notebook, marker)
        server.wait_versions(notebook, 1)
        yield server
    finally:
        server.stop()
