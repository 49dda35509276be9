"""The clients (command line, papermill handler, in-notebook client) against the raw calls
they stand for, on SeaweedFS.

Starts one SeaweedFS (``tests/s3rig.py``) with a versioned bucket, points bookstore at it
through ``JPYNB_S3_*`` variables and a ``jupyter_server_config.json`` in a temporary
``JUPYTER_CONFIG_DIR`` (prefixes under a prefix of this run), and starts one real
``jupyter server`` (``tests/jupyter_process.py``) with the same settings.  The notebook is
``tests/notebooks.make_notebook()`` (40 code cells with 5,000-byte outputs, ~207 KB).
Pairs, each latency the wall time of one operation:

* ``cli publish`` -- ``jupyter bookstore publish report.ipynb`` run in this process
  (``bookstore.cli.main``: reads the configuration, opens a store client, reads and
  validates the file, puts it, closes the client), against a raw ``put_object`` of the
  file's bytes from a *new* aiobotocore client of a new session (a command line opens one
  per run too; a new session reads botocore's S3 model files again, as a new process does).
* ``cli show -o`` -- ``jupyter bookstore show report.ipynb <id> -o out.ipynb`` (a version's
  exact bytes into a file, written atomically), against a new client's
  ``get_object(VersionId=…)`` + reading the body + a durable write (temporary file, fsync,
  rename) of the same bytes.
* ``cli versions`` -- ``jupyter bookstore versions report.ipynb --json --limit 20`` (the
  key has 40 versions) against a new client's ``list_object_versions(Prefix=key,
  MaxKeys=20)``.
* ``papermill read`` -- ``BookstoreHandler.read("bookstore://workspace/…?version=…")`` (one
  store client for the process, as during a papermill run) against ``get_object`` on one
  long-lived client.
* ``papermill write`` -- ``BookstoreHandler.write(<executed notebook>, "bookstore://runs/…")``
  (parse, validate, add provenance, serialise, then HEAD + PUT like the archiver) against
  one long-lived client's ``put_object`` of the notebook's bytes.
* ``client versions`` -- ``BookstoreClient(server_url=…, token=…, path=…).versions(limit=20)``
  (``requests``, one keep-alive session) against ``requests`` getting the same History
  API route directly: the client's own cost over the REST API.
* ``cli process`` -- the real ``jupyter bookstore versions … --json`` executable against a
  Python process doing the raw listing with aiobotocore: what a shell user waits for
  (interpreter start and imports included).  Fewer rounds (``--process-rounds``).

After untimed warm-up rounds the two sides of each pair alternate, the one going first
swapping every round.  ``ratio`` = bookstore / raw, of the medians.  The last stdout line
is one JSON object.

Run from the repository root: ``.venv/bin/python benchmarks/clients.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ROUNDS = 30
DEFAULT_PROCESS_ROUNDS = 5
WARMUP_ROUNDS = 3
HISTORY_VERSIONS = 40
LIST_LIMIT = 20

RAW_LIST_SCRIPT = """
import asyncio, os, sys
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

async def main():
    async with AioSession().create_client(
        "s3", endpoint_url=os.environ["JPYNB_S3_ENDPOINT_URL"],
        aws_access_key_id=os.environ["JPYNB_S3_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["JPYNB_S3_SECRET_ACCESS_KEY"],
        region_name=os.environ["JPYNB_S3_REGION_NAME"],
        config=AioConfig(s3={"addressing_style": "path"}),
    ) as s3:
        reply = await s3.list_object_versions(
            Bucket=os.environ["JPYNB_S3_BUCKET"], Prefix=sys.argv[1], MaxKeys=int(sys.argv[2]))
        print(len(reply.get("Versions", [])))

asyncio.run(main())
"""


class Bench:
    """The rig, and one timed operation per method."""

    def __init__(self, s3: Any, work_dir: Path, prefix: str) -> None:
        from store_roundtrip import raw_config

        from tests import notebooks

        self.s3 = s3
        self.work_dir = work_dir
        self.prefix = prefix
        self.workspace = work_dir / "workspace"
        self.workspace.mkdir()
        self.outside = work_dir / "outside"
        self.outside.mkdir()
        notebook = notebooks.make_notebook("bench")
        notebook["metadata"]["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        self.notebook = notebook
        self.body = (json.dumps(notebook, indent=1, sort_keys=True) + "\n").encode()
        (self.workspace / "report.ipynb").write_bytes(self.body)
        self.workspace_key = f"{prefix}/workspace/report.ipynb"
        self.raw_config = raw_config
        self.client: Any = None
        self.versions: list[str] = []
        self.executed = self._executed_notebook()
        self.server: Any = None
        self.book_client: Any = None
        self.http: Any = None

    def _executed_notebook(self) -> str:
        """What papermill's final write hands the handler: ``end_time`` set."""
        executed = json.loads(json.dumps(self.notebook))
        executed["metadata"]["papermill"] = {
            "input_path": f"bookstore://workspace/report.ipynb?version={'x' * 32}",
            "output_path": "bookstore://runs/report.ipynb",
            "parameters": {"x": 1},
            "start_time": "2026-11-26T00:00:00.000000+00:00",
            "end_time": "2026-11-26T00:00:01.000000+00:00",
        }
        return json.dumps(executed)

    def environment(self) -> dict[str, str]:
        return {
            **self.s3.s3_env(),
            "JUPYTER_CONFIG_DIR": str(self.work_dir / "config"),
            "JUPYTER_DATA_DIR": str(self.work_dir / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.work_dir / "runtime"),
        }

    async def setup(self) -> None:
        from aiobotocore.session import AioSession

        (self.work_dir / "config").mkdir()
        settings = {
            "workspace_prefix": f"{self.prefix}/workspace",
            "published_prefix": f"{self.prefix}/published",
            "archive_spool_dir": str(self.work_dir / "spool"),
        }
        (self.work_dir / "config" / "jupyter_server_config.json").write_text(
            json.dumps(
                {"BookstoreSettings": settings, "ServerApp": {"root_dir": str(self.workspace)}}
            )
        )
        os.environ.update(self.environment())
        self._session = AioSession()
        self._client_context = self._new_client(self._session)
        self.client = await self._client_context.__aenter__()
        for n in range(HISTORY_VERSIONS):
            reply = await self.client.put_object(
                Bucket=self.s3.bucket, Key=self.workspace_key, Body=self.body + b" " * n
            )
            self.versions.append(reply["VersionId"])

    def _new_client(self, session: Any = None) -> Any:
        """A client of a new botocore session (as a new process has), unless ``session``."""
        from aiobotocore.session import AioSession

        s3 = self.s3
        return (session or AioSession()).create_client(
            "s3",
            endpoint_url=s3.endpoint_url,
            aws_access_key_id=s3.access_key,
            aws_secret_access_key=s3.secret_key,
            region_name=s3.region,
            config=self.raw_config(),
        )

    def start_server(self) -> None:
        import bookstore.client as client_module
        from tests.jupyter_process import TOKEN, JupyterServer

        server_dir = self.work_dir / "server"
        server_dir.mkdir()
        self.server = JupyterServer(
            server_dir,
            self.s3.settings_dict(
                workspace_prefix=f"{self.prefix}/workspace",
                published_prefix=f"{self.prefix}/published",
                archive_spool_dir=str(self.work_dir / "server-spool"),
            ),
        )
        (self.server.root / "report.ipynb").write_bytes(self.body)
        self.server.start()
        # A history for the server's file: the same key the CLI pairs listed.
        url = f"http://127.0.0.1:{self.server.port}/"
        self.book_client = client_module.BookstoreClient(
            server_url=url, token=TOKEN, path="report.ipynb"
        )
        import requests

        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {TOKEN}"
        self.versions_url = f"{url}api/bookstore/workspace/report.ipynb/versions?limit={LIST_LIMIT}"

    async def close(self) -> None:
        if self.client is not None:
            await self._client_context.__aexit__(None, None, None)
        if self.http is not None:
            self.http.close()
        if self.server is not None:
            self.server.stop()

    # -- the command line, in this process -------------------------------------------------

    @staticmethod
    def _cli(*argv: str) -> None:
        from bookstore.cli import main

        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = main(list(argv))
        if code != 0:
            raise RuntimeError(f"jupyter bookstore {' '.join(argv)} exited {code}")

    async def cli_publish(self, n: int) -> None:
        await asyncio.to_thread(self._cli, "publish", str(self.workspace / "report.ipynb"))

    async def raw_put_new_client(self, n: int) -> None:
        async with self._new_client() as client:
            await client.put_object(
                Bucket=self.s3.bucket, Key=f"{self.prefix}/raw/report.ipynb", Body=self.body
            )

    async def cli_show(self, n: int) -> None:
        target = self.outside / f"show-{uuid.uuid4().hex}.ipynb"
        version = self.versions[n % len(self.versions)]
        await asyncio.to_thread(
            self._cli, "show", str(self.workspace / "report.ipynb"), version, "-o", str(target)
        )

    async def raw_get_new_client(self, n: int) -> None:
        from store_roundtrip import write_durably

        version = self.versions[n % len(self.versions)]
        async with self._new_client() as client:
            reply = await client.get_object(
                Bucket=self.s3.bucket, Key=self.workspace_key, VersionId=version
            )
            async with reply["Body"] as stream:
                body = await stream.read()
        await asyncio.to_thread(write_durably, self.outside / f"raw-{uuid.uuid4().hex}.ipynb", body)

    async def cli_versions(self, n: int) -> None:
        await asyncio.to_thread(
            self._cli,
            "versions",
            str(self.workspace / "report.ipynb"),
            "--json",
            "--limit",
            str(LIST_LIMIT),
        )

    async def raw_list_new_client(self, n: int) -> None:
        async with self._new_client() as client:
            reply = await client.list_object_versions(
                Bucket=self.s3.bucket, Prefix=self.workspace_key, MaxKeys=LIST_LIMIT
            )
        if len(reply.get("Versions", [])) != LIST_LIMIT:
            raise RuntimeError("the raw listing did not return the key's versions")

    # -- papermill's handler -------------------------------------------------------------------

    async def papermill_read(self, n: int) -> None:
        from bookstore.papermill_io import BookstoreHandler

        version = self.versions[n % len(self.versions)]
        url = f"bookstore://workspace/report.ipynb?version={version}"
        await asyncio.to_thread(BookstoreHandler.read, url)

    async def raw_get(self, n: int) -> None:
        version = self.versions[n % len(self.versions)]
        reply = await self.client.get_object(
            Bucket=self.s3.bucket, Key=self.workspace_key, VersionId=version
        )
        async with reply["Body"] as stream:
            await stream.read()

    async def papermill_write(self, n: int) -> None:
        from bookstore.papermill_io import BookstoreHandler

        # A different body each time, or the handler stores nothing (identical content).
        body = self.executed.replace('"x": 1', f'"x": {n + 2}', 1)
        stored = await asyncio.to_thread(
            BookstoreHandler.write, body, f"bookstore://{self.prefix}/runs/report.ipynb"
        )
        if stored is None:
            raise RuntimeError("the handler stored nothing")

    async def raw_put(self, n: int) -> None:
        await self.client.put_object(
            Bucket=self.s3.bucket,
            Key=f"{self.prefix}/raw-runs/report.ipynb",
            Body=self.body + str(n).encode(),
        )

    # -- the in-notebook client, over HTTP -------------------------------------------------------

    async def client_versions(self, n: int) -> None:
        versions = await asyncio.to_thread(self.book_client.versions, limit=LIST_LIMIT)
        if not versions:
            raise RuntimeError("the server's file has no versions")

    async def requests_versions(self, n: int) -> None:
        def get() -> None:
            reply = self.http.get(self.versions_url, timeout=30)
            reply.raise_for_status()
            reply.json()

        await asyncio.to_thread(get)

    # -- whole processes ---------------------------------------------------------------------------

    async def cli_process(self, n: int) -> None:
        jupyter = str(Path(sys.executable).parent / "jupyter")
        argv = [jupyter, "bookstore", "versions", "report.ipynb", "--json", "--limit", "20"]
        await self._process(argv)

    async def raw_process(self, n: int) -> None:
        argv = [sys.executable, "-c", RAW_LIST_SCRIPT, self.workspace_key, str(LIST_LIMIT)]
        await self._process(argv)

    async def _process(self, argv: list[str]) -> None:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=self.workspace,
            env={**os.environ, **self.environment()},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"{argv[:3]} failed: {stderr.decode()[-500:]}")


async def run_pairs(bench: Bench, rounds: int, process_rounds: int) -> list[Any]:
    from store_roundtrip import Pair

    pairs = [
        Pair("cli publish", "main(publish)", "new client + put", bench.cli_publish,
             bench.raw_put_new_client),
        Pair("cli show -o", "main(show -o)", "new client + get + write", bench.cli_show,
             bench.raw_get_new_client),
        Pair("cli versions", "main(versions)", "new client + list", bench.cli_versions,
             bench.raw_list_new_client),
        Pair("papermill read", "handler.read@v", "get@v", bench.papermill_read, bench.raw_get),
        Pair("papermill write", "handler.write", "put", bench.papermill_write, bench.raw_put),
        Pair("client versions", "BookstoreClient", "requests GET", bench.client_versions,
             bench.requests_versions),
    ]  # fmt: skip
    for n in range(WARMUP_ROUNDS):
        for pair in pairs:
            await pair.round(n, record=False)
    for n in range(rounds):
        for pair in pairs:
            await pair.round(n)
    process = Pair(
        "cli process", "jupyter bookstore", "python + aiobotocore", bench.cli_process,
        bench.raw_process,
    )  # fmt: skip
    await process.round(0, record=False)
    for n in range(process_rounds):
        await process.round(n)
    return [*pairs, process]


async def run(rounds: int, process_rounds: int, work_dir: Path) -> dict[str, Any]:
    from store_roundtrip import print_table

    from tests.s3rig import SeaweedFS

    started = time.perf_counter()
    s3 = SeaweedFS()
    bench: Bench | None = None
    try:
        s3.start()
        s3.create_buckets()
        bench = Bench(s3, work_dir, f"bench-{uuid.uuid4().hex[:12]}")
        await bench.setup()
        bench.start_server()
        print(f"SeaweedFS at {s3.endpoint_url}, bucket {s3.bucket}; keys under {bench.prefix}/")
        pairs = await run_pairs(bench, rounds, process_rounds)
    finally:
        from bookstore.papermill_io import close_bookstore

        close_bookstore()
        if bench is not None:
            await bench.close()
        s3.cleanup()
    print(
        f"\n{rounds} rounds ({process_rounds} for whole processes) after {WARMUP_ROUNDS} "
        "warm-up rounds, sides alternating; ratio = median(bookstore) / median(raw)\n"
    )
    print_table(pairs)
    return {
        "benchmark": "clients",
        "rounds": rounds,
        "process_rounds": process_rounds,
        "notebook_bytes": len(bench.body) if bench else None,
        "pairs": {pair.name: pair.summary() for pair in pairs},
        "elapsed_s": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table and a JSON summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--process-rounds", type=int, default=DEFAULT_PROCESS_ROUNDS)
    args = parser.parse_args(argv)
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))
    for name in [name for name in os.environ if name.startswith(("JPYNB_", "AWS_"))]:
        del os.environ[name]
    work_dir = Path(tempfile.mkdtemp(prefix="bookstore-bench-clients-"))
    try:
        summary = asyncio.run(run(args.rounds, args.process_rounds, work_dir))
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    print("\n" + json.dumps(summary, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
