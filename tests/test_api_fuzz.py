"""A third-party fuzzer on the REST API: schemathesis, driven by the document the server
serves (``GET /api/bookstore/openapi.json``), against a real ``jupyter server`` process on
each backend (the embedded local store and SeaweedFS).

Every operation gets the document's examples, schemathesis's coverage cases (boundaries,
missing and malformed values, methods a route does not take) and a bounded number of
fuzzed ones, positive and negative.  Every response must be no 5xx, have a documented
status, content type, headers and schema, carry ``Allow`` on a 405, and show no traceback
or server path (``tests/schemathesis_hooks.py``).  A schema-valid request must not be
refused with a 4xx the document does not state (``positive_data_acceptance``: for one,
only 2xx, 3xx, 401, 403, 404 and 409 are taken).

The fuzzer is schemathesis's own command (``st run``), in a process of its own: it calls
the server synchronously, and the in-process Jupyter fixtures serve on the test's event
loop (and schemathesis's pytest plugin does not run under pytest 9).  Generation is
seeded, so a failure reproduces from the log; the output names each failing case with a
``curl`` line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.jupyter_process import TOKEN, JupyterServer
from tests.notebooks import make_notebook

pytest.importorskip("schemathesis", reason="schemathesis needs Python 3.11")

# After the skip: the hooks import schemathesis.
from tests.schemathesis_hooks import ROOT_ENV

#: Fuzzed examples per operation and generation mode, on top of the examples and the
#: coverage cases (about 750 requests in all): each backend takes 20-25 s on two cores.
MAX_EXAMPLES = 4

#: A fixed seed: the same cases on every run.
SEED = 20261202

#: The checks run on every response.  Left out: ``negative_data_rejection`` (the document
#: is deliberately stricter than the server in places, e.g. it gives nbformat's 4.5 schema
#: while the server also takes 4.0-4.4 notebooks, and tornado makes control characters in
#: a query spaces), ``ignored_auth`` (tested in ``tests/api/test_auth.py``; landing pages
#: redirect to the login page) and the stateful checks (no stateful phase: time).
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "no_traceback_or_server_path",
)

HOOKS = Path(__file__).with_name("schemathesis_hooks.py")


def config_toml() -> str:
    """The run's ``schemathesis.toml``: seeded and bounded, the token as a header (never
    generated), and page tokens empty: they are opaque (only a listing's own
    ``next_token`` is one, which no generator can make; ``tests/api/test_fuzz.py`` sends
    malformed ones)."""
    checks = "\n".join(f"{name}.enabled = true" for name in CHECKS)
    return f"""\
seed = {SEED}
hooks = {json.dumps(str(HOOKS))}
workers = 1
headers = {{ Authorization = "token {TOKEN}" }}

[generation]
mode = "all"
max-examples = {MAX_EXAMPLES}
with-security-parameters = false
database = "none"

[phases.stateful]
enabled = false

[checks]
enabled = false
{checks}

[parameters]
"query.page_token" = ""

# Publishing has the most coverage cases by far (every keyword of nbformat's schema, each
# broken in turn: 500 requests, each answered by nbformat's validator with 422). PUT gets
# the valid ones; the fuzzing phase sends it broken notebooks too. POST is PUT (one method,
# kept for bookstore 2.2 clients): its coverage cases would only repeat PUT's.
[[operations]]
include-operation-id = "publishNotebook"
phases.coverage.generation.mode = "positive"

[[operations]]
include-operation-id = "publishNotebookPost"
phases.coverage.enabled = false
""" + "".join(
        f"""
# {reason}
[[operations]]
include-operation-id = "{operation}"
checks.positive_data_acceptance.enabled = false
{POSITIVE_COVERAGE if operation in BIG_BODIES else ""}"""
        for operation, reason in ACCEPTANCE_EXCEPTIONS.items()
    )


#: Run and schedule bodies have a dozen optional fields each: the coverage phase would
#: send hundreds of variants, each answered by the same field parsers (which the
#: examples, the fuzzing phase and tests/api/test_runs_api.py already check).
BIG_BODIES = {"submitRun", "createSchedule", "updateSchedule"}
POSITIVE_COVERAGE = "phases.coverage.enabled = false\n"


#: Operations whose schema-valid requests may rightly answer 400: rules OpenAPI cannot
#: state (one parameter or another, not both; an IANA time zone or a cron expression
#: that exists; a parameter's type declared by the notebook itself).
ACCEPTANCE_EXCEPTIONS = {
    "getRunParameters": "either path or published_path, not both",
    "submitRun": "parameter values of the types the notebook's parameters cell declares",
    "createSchedule": "a cron expression and an IANA time zone that exist",
    "updateSchedule": "a cron expression and an IANA time zone that exist",
    "previewSchedule": "a cron expression and an IANA time zone that exist",
}


def seed(server: JupyterServer) -> None:
    """What the document's examples name: a published ``team/report.ipynb`` and an
    archived ``reports/summary.ipynb`` (saved twice)."""
    server.request("PUT", "api/contents/reports", {"type": "directory"})
    model: dict[str, Any] = {}
    for n in range(2):
        model = {"type": "notebook", "content": make_notebook(f"fuzz {n}", cells=2)}
        server.request("PUT", "api/contents/reports/summary.ipynb", model)
    server.request("PUT", "api/bookstore/publish/team/report.ipynb", model)
    server.wait_archived()


@pytest.fixture(params=["local", "s3"])
def fuzz_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JupyterServer]:
    """A ``jupyter server`` with bookstore on ``local`` or ``s3`` (SeaweedFS), file-system
    cloning on, and the examples' files in place."""
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "nb.ipynb").write_text(json.dumps(make_notebook("shared", cells=1)))
    (shared / "data.txt").write_text("text\n")
    prefix = f"fuzz-{uuid.uuid4().hex[:8]}"
    settings: dict[str, Any] = {
        "workspace_prefix": f"{prefix}/workspace",
        "published_prefix": f"{prefix}/published",
        "audit_prefix": f"{prefix}/audit",
        "archive_spool_dir": str(tmp_path / "spool"),
        "fs_cloning_basedir": str(shared),
    }
    if request.param == "s3":
        settings.update(request.getfixturevalue("seaweedfs").settings_dict())
    else:
        settings["local_store_dir"] = str(tmp_path / "store")
    # Runs are queued, not executed (tests/api/test_runs_api.py executes them), no schedule
    # fires (the fuzzer creates many), and a mail server is named so email targets are
    # taken (their sends would fail, logged).
    runs = {
        "execute_runs": False,
        "fire_schedules": False,
        "smtp_host": "127.0.0.1",
        "smtp_port": 9,
    }
    server = JupyterServer(
        tmp_path, settings, tuple(f"--BookstoreRuns.{k}={v}" for k, v in runs.items())
    )
    server.start()
    try:
        seed(server)
        yield server
    finally:
        server.stop()


def st_command() -> str:
    """The ``st`` command of this environment."""
    found = Path(sys.executable).with_name("st")
    return str(found) if found.exists() else (shutil.which("st") or "st")


def test_the_served_spec_holds(fuzz_server: JupyterServer, tmp_path: Path) -> None:
    # The document served gives this server's path limits (from its prefixes).
    spec = fuzz_server.request("GET", "api/bookstore/openapi.json")
    workspace = fuzz_server.request("GET", "api/bookstore/archive")["workspace_prefix"]
    limit = spec["components"]["schemas"]["WorkspaceFilePath"]["maxLength"]
    assert limit == (1024 - len(workspace.encode()) - 1) // 4

    config = tmp_path / "schemathesis.toml"
    config.write_text(config_toml())
    env = {**os.environ, ROOT_ENV: str(fuzz_server.root.resolve())}
    run = subprocess.run(
        [
            st_command(),
            "--no-color",
            f"--config-file={config}",
            "run",
            f"{fuzz_server.url}api/bookstore/openapi.json",
            "--phases=examples,coverage,fuzzing",
            "--output-truncate=false",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    summary = output[output.find("=== SUMMARY") :]
    # Every operation schemathesis loaded was tested, and it loaded the spec's operations
    # (but one: schemathesis 4 counts one operation fewer when it loads a spec from a URL
    # than from the same document in a file).
    methods = {"get", "put", "post", "patch", "delete"}
    operations = sum(len(methods.intersection(item)) for item in spec["paths"].values())
    selected = re.search(r"Selected: (\d+)/(\d+)", summary)
    assert selected is not None, summary
    loaded = int(selected.group(2))
    assert loaded >= operations - 1, (loaded, operations)
    assert f"Tested: {loaded}\n" in summary, summary
