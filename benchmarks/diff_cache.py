"""A repeated diff through the REST route, with bookstore's diff cache on and off.

Starts two real ``jupyter server`` processes (``tests/jupyter_process.py``) on the embedded
local store that differ only in ``BookstoreSettings.diff_cache_mb`` (64, the default, and
0: off, which is how every diff ran before the cache), and saves the notebook of
``lab_ui.py`` (~196 KB, 40 cells: 35 code cells with text outputs, 7 with a small PNG, 5
markdown) :data:`lab_ui.VERSIONS` times through ``PUT api/contents/bench.ipynb`` on each.

Timed, each the wall time of one ``GET …/diff`` over one keep-alive connection, from
sending it to reading the whole reply:

* ``oldest -> current``: the oldest version against the file now (what the History panel
  asks when a row is selected), and ``oldest -> latest`` (two stored versions);
* ``first``: the first request of a pair (a miss either way), ``repeated``: the same
  request again, :data:`ROUNDS` times (a hit with the cache on);
* ``hide=outputs``: another set of options is another reply (first and repeated).

The servers alternate in every round, so machine noise hits both alike.  Columns: median,
p90, min, max in ms; ``x off`` = cache off / cache on, of the medians.  The last stdout
line is one JSON object.

Run from the repository root: ``.venv/bin/python benchmarks/diff_cache.py [--rounds N]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from _report import p90, print_rows
from lab_ui import VERSIONS, notebook

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.jupyter_process import TOKEN, JupyterServer  # noqa: E402

#: Repetitions of each repeated request.
ROUNDS = 30
NAME = "bench.ipynb"


class Client:
    """One keep-alive HTTP connection to a server."""

    def __init__(self, server: JupyterServer) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        self.headers = {"Authorization": f"token {TOKEN}"}

    def timed_get(self, path: str, **query: str) -> tuple[float, bytes]:
        url = f"/{path}?{urlencode(query)}" if query else f"/{path}"
        started = time.perf_counter()
        self.connection.request("GET", url, headers=self.headers)
        response = self.connection.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status == 200, (response.status, body[:300])
        return elapsed, body

    def put(self, path: str, body: Any) -> None:
        data = json.dumps(body).encode()
        self.connection.request("PUT", f"/{path}", body=data, headers=self.headers)
        response = self.connection.getresponse()
        response.read()
        assert response.status in (200, 201), response.status


def prepare(server: JupyterServer) -> tuple[Client, str]:
    """Save the versions; the oldest version's id."""
    client = Client(server)
    for save in range(VERSIONS):
        model = {"type": "notebook", "format": "json", "content": notebook(save)}
        client.put(f"api/contents/{NAME}", model)
        server.wait_archived()
    _, listing = client.timed_get(f"api/bookstore/workspace/{quote(NAME)}/versions", limit="100")
    versions = json.loads(listing)["versions"]
    assert len(versions) == VERSIONS, len(versions)
    size = versions[0]["size"]
    print(f"{server.url}: {VERSIONS} versions of a {size / 1000:.0f} KB, "
          f"{len(notebook(0).cells)}-cell notebook", file=sys.stderr)  # fmt: skip
    return client, versions[-1]["id"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        servers = {}
        for label, megabytes in (("on", 64), ("off", 0)):
            folder = Path(tmp) / label
            folder.mkdir()
            settings = {"local_store_dir": str(folder / "store"), "diff_cache_mb": megabytes}
            servers[label] = JupyterServer(folder, settings)
        try:
            for server in servers.values():
                server.start()
            prepared = {label: prepare(server) for label, server in servers.items()}
            cases = {
                "oldest -> current": {"remote": "current"},
                "oldest -> latest": {"remote": "latest"},
                "oldest -> current, hide=outputs": {"remote": "current", "hide": "outputs"},
            }
            times: dict[tuple[str, str, str], list[float]] = {}
            replies: dict[tuple[str, str], bytes] = {}
            url = f"api/bookstore/workspace/{quote(NAME)}/diff"
            for case, query in cases.items():
                for label, (client, oldest) in prepared.items():
                    elapsed, reply = client.timed_get(url, base=oldest, **query)
                    times[(case, label, "first")] = [elapsed]
                    replies[(case, label)] = reply
            for round_ in range(args.rounds):
                order = list(prepared.items())
                if round_ % 2:
                    order.reverse()
                for case, query in cases.items():
                    for label, (client, oldest) in order:
                        elapsed, reply = client.timed_get(url, base=oldest, **query)
                        assert reply == replies[(case, label)]
                        times.setdefault((case, label, "repeated"), []).append(elapsed)
            for case in cases:
                on, off = (json.loads(replies[(case, label)]) for label in ("on", "off"))
                # (Cell ids are random per server; the changes are the same.)
                assert on["summary"] == off["summary"], (case, on["summary"], off["summary"])
        finally:
            for server in servers.values():
                server.stop()
    rows, summary = report(times, list(cases))
    print_rows(rows[:-1], left=3)
    print(json.dumps(summary))


def report(
    times: dict[tuple[str, str, str], list[float]], cases: list[str]
) -> tuple[list[list[str]], dict[str, Any]]:
    """The table's rows (a blank row after each case) and the JSON summary."""
    rows = [["case", "request", "cache", "median", "p90", "min", "max", "x off"]]
    summary: dict[str, Any] = {}
    for case in cases:
        for kind in ("first", "repeated"):
            medians = {
                label: statistics.median(times[(case, label, kind)]) for label in ("on", "off")
            }
            for label in ("on", "off"):
                values = times[(case, label, kind)]
                rows.append(
                    [
                        case,
                        kind,
                        label,
                        f"{medians[label]:.1f}",
                        f"{p90(values):.1f}",
                        f"{min(values):.1f}",
                        f"{max(values):.1f}",
                        f"{medians['off'] / medians[label]:.1f}x" if label == "on" else "",
                    ]
                )
                summary[f"{case} {kind} {label} median_ms"] = round(medians[label], 2)
        rows.append([""] * len(rows[0]))
    return rows, summary


if __name__ == "__main__":
    main()
