"""``jupyter bookstore prune``: dry run and prune against SeaweedFS and the embedded store,
with the command line's own configuration (no server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bookstore.cli.exits import EXIT_REFUSED, EXIT_USAGE
from tests import test_cli
from tests.server_fixtures import both_backends
from tests.test_cli import CLI, nb_bytes

pytestmark = both_backends


@pytest.fixture
def cli(
    request: pytest.FixtureRequest,
    backend: str,
    key_root: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsysbinary: Any,
) -> CLI:
    """``jupyter bookstore`` set up for each test, as tests/test_cli.py's fixture does."""
    make = test_cli.cli.__wrapped__  # type: ignore[attr-defined]
    setup: CLI = make(request, backend, key_root, tmp_path, monkeypatch, capsysbinary)
    return setup


#: Keep only what is protected: every other version is old at once.
KEEP_NOTHING = {"keep_all_days": 0, "hourly_days": 0, "daily_days": 0}


def configure(cli: CLI, retention: dict[str, Any]) -> None:
    """Add ``retention`` to the test's ``jupyter_server_config.json``."""
    path = cli.config_dir / "jupyter_server_config.json"
    config = json.loads(path.read_text())
    config["BookstoreSettings"]["retention"] = retention
    path.write_text(json.dumps(config))


def test_prune_without_a_policy_says_so(cli: CLI) -> None:
    cli.archive("a.ipynb", nb_bytes("1"), nb_bytes("2"))
    run = cli("prune", "--dry-run")
    run.failed(EXIT_REFUSED, "No retention policy is configured", "BookstoreSettings.retention")
    assert len(cli.versions("a.ipynb")) == 2


def test_prune_dry_run_then_prune(cli: CLI) -> None:
    ids = cli.archive("a.ipynb", *(nb_bytes(str(n)) for n in range(5)))  # oldest first
    cli.archive("sub/b.ipynb", nb_bytes("b1"), nb_bytes("b2"))
    cli("pin", "a.ipynb", ids[1]).ok()
    configure(cli, {"": KEEP_NOTHING})
    listed = cli("versions", "a.ipynb", "--json", "--all").json()["versions"]
    sizes = {item["id"]: item["size"] for item in listed}
    doomed = [ids[3], ids[2], ids[0]]  # newest first

    dry = cli("prune", "--dry-run").ok()
    lines = dry.out.splitlines()
    assert lines[0].split() == ["PATH", "VERSION", "SAVED", "SIZE", "WHY"]
    rows = [line.split()[:2] for line in lines[1:-1]]
    assert rows == [["a.ipynb", v] for v in doomed] + [
        ["sub/b.ipynb", cli.versions("sub/b.ipynb")[1]]
    ]
    total = (
        sum(sizes[v] for v in doomed)
        + cli("versions", "sub/b.ipynb", "--json").json()["versions"][1]["size"]
    )
    assert lines[-1].startswith(f"Would delete 4 versions ({total:,} bytes")
    assert "of 2 files; 3 versions stay (dry run: nothing was deleted)." in lines[-1]
    assert len(cli.versions("a.ipynb")) == 5

    document = cli("prune", "a.ipynb", "--dry-run", "--json").json()
    assert document["dry_run"] is True
    assert document["totals"]["dropped_versions"] == 3
    assert document["totals"]["dropped_bytes"] == sum(sizes[v] for v in doomed)
    assert [item["version_id"] for item in document["dropped"]] == doomed
    assert set(document["dropped"][0]) == {"path", "version_id", "last_modified", "size", "reason"}
    assert document["kept_by_reason"] == {"latest": 1, "pinned": 1}

    pruned = cli("prune", "a.ipynb").ok()
    assert pruned.out.splitlines()[-1].startswith("Deleted 3 versions")
    assert {line.split()[1] for line in pruned.out.splitlines()[1:-1]} == set(doomed)
    assert cli.versions("a.ipynb") == [ids[4], ids[1]]
    assert len(cli.versions("sub/b.ipynb")) == 2  # outside the prefix

    events = cli("audit", "--action", "prune", "--json").json()["events"]
    assert len(events) == 1
    assert events[0]["path"] == "a.ipynb"
    assert events[0]["origin"]["via"] == "cli"
    assert {version for _, version in events[0]["result"]["deleted"]} == set(doomed)

    again = cli("prune").ok()  # from the root, the whole workspace: b's older version
    assert again.out.splitlines()[-1].startswith("Deleted 1 version (")
    assert len(cli.versions("sub/b.ipynb")) == 1
    assert cli.versions("a.ipynb") == [ids[4], ids[1]]
    assert len(cli("audit", "--action", "prune", "--json").json()["events"]) == 2


def test_prune_a_folder_from_inside_it(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    cli.archive("sub/b.ipynb", nb_bytes("b1"), nb_bytes("b2"))
    cli.archive("c.ipynb", nb_bytes("c1"), nb_bytes("c2"))
    configure(cli, {"": KEEP_NOTHING})
    monkeypatch.chdir(cli.root / "sub")
    cli("prune", ".").ok()
    assert len(cli.versions("b.ipynb")) == 1
    monkeypatch.chdir(cli.root)
    assert len(cli.versions("c.ipynb")) == 2
    outside = cli("prune", "..")
    outside.failed(EXIT_USAGE, "outside the workspace root")
