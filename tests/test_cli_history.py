"""``jupyter bookstore`` and a notebook's history: ``diff --hide/--only``, ``versions
--search``, and the workspace root found from a subfolder (in-process, sharing the fixtures
of ``tests/test_cli.py``), against SeaweedFS and the embedded store."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bookstore.core.archive import Spool, default_spool_dir
from tests.server_fixtures import both_backends
from tests.test_cli import (
    CLI,
    cli,  # the fixture
    nb_bytes,
)

__all__ = ["cli"]

DATA = Path(__file__).resolve().parent / "data" / "diff"


def run_bytes(name: str) -> bytes:
    return (DATA / f"{name}.ipynb").read_bytes()


# -- diff options ---------------------------------------------------------------------------


@both_backends
def test_diff_hide_and_only(cli: CLI) -> None:
    a, a2, b = cli.archive("rep.ipynb", run_bytes("run-a"), run_bytes("run-a2"), run_bytes("run-b"))

    whole = cli("diff", "rep.ipynb", a, a2).ok()
    assert whole.out.endswith("\n7 cells changed, metadata changed\n")
    assert cli("diff", "rep.ipynb", a, a2, "--hide", "papermill").ok().out == (
        f"rep.ipynb: no changes (papermill hidden) between {a} and {a2}\n"
    )
    assert cli("diff", "rep.ipynb", a, a2, "--hide", "papermill", "--exit-code").code == 0
    assert cli("diff", "rep.ipynb", a, a2, "--exit-code").code == 1

    hidden = cli("diff", "rep.ipynb", a, b, "--hide", "papermill,outputs").ok()
    assert hidden.out.endswith("\n1 cell changed (outputs, papermill hidden)\n")
    assert '+  label = "b"' in hidden.out
    assert "1.414" not in hidden.out  # an output
    again = cli("diff", "rep.ipynb", a, b, "--hide", "papermill", "--hide", "outputs").ok()
    assert again.out == hidden.out

    outputs = cli("diff", "rep.ipynb", a, b, "--only", "outputs").ok()
    assert outputs.out.endswith("\n3 cells changed (outputs only)\n")
    assert 'label = "b"' not in outputs.out
    document = cli("diff", "rep.ipynb", a, b, "--only", "outputs", "--json").json()
    assert document["options"] == {"hide": [], "only": "outputs"}
    assert document["summary"]["cells_changed"] == 3
    assert cli("diff", "rep.ipynb", a, b, "--json").json()["options"] == {
        "hide": [],
        "only": None,
    }

    # Against the file now (the default remote), too.
    assert cli("diff", "rep.ipynb", a, "--hide", "papermill", "--exit-code").code == 1
    cli("diff", "rep.ipynb", a, b, "--hide", "sources").failed(2, "'sources'", "papermill")
    # --only outputs wins over --hide outputs (what the options say)
    both = cli(
        "diff", "rep.ipynb", a, b, "--only", "outputs", "--hide", "outputs,metadata", "--json"
    ).json()
    assert both["options"] == {"hide": ["metadata"], "only": "outputs"}
    assert both["summary"]["cells_changed"] == 3
    cli("diff", "rep.ipynb", a, b, "--only", "source").failed(2, "--only")


# -- versions --search ----------------------------------------------------------------------


@both_backends
def test_versions_search(cli: CLI) -> None:
    v1, _, v3 = cli.archive(
        "s.ipynb", nb_bytes("alpha needle"), nb_bytes("beta"), nb_bytes("gamma NEEDLE")
    )
    run = cli("versions", "s.ipynb", "--search", "needle").ok()
    lines = run.out.splitlines()
    assert lines[0].split() == ["VERSION", "SAVED", "SIZE", "CELL", "MATCH"]
    assert [line.split()[0] for line in lines[1:3]] == [v3, v1]
    assert lines[1].endswith("0 markdown  # Notebook gamma NEEDLE")
    assert lines[-1] == "(2 of all 3 versions contain 'needle')"

    document = cli("versions", "s.ipynb", "--search", "Needle", "--json").json()
    assert [item["id"] for item in document["versions"]] == [v3, v1]
    assert document["versions"][0]["matches"] == [
        {"cell": 0, "cell_type": "markdown", "snippet": "# Notebook gamma NEEDLE"}
    ]
    assert document["search"] == {
        "q": "Needle",
        "scanned": 3,
        "scan_limit": 200,
        "exhausted": True,
        "skipped": 0,
    }
    assert document["next_token"] is None

    # Pages: --limit is the most matches per page; --all scans on.
    page = cli("versions", "s.ipynb", "--search", "needle", "--limit", "1").ok()
    assert page.out.splitlines()[1].split()[0] == v3
    token_line = page.out.splitlines()[-1]
    assert token_line.startswith("(search on: --page-token ")
    token = token_line.removeprefix("(search on: --page-token ").removesuffix(", or --all)")
    rest = cli("versions", "s.ipynb", "--search", "needle", "--page-token", token, "--json").json()
    assert [item["id"] for item in rest["versions"]] == [v1]
    everything = cli("versions", "s.ipynb", "--search", "needle", "--limit", "1", "--all", "--json")
    assert [item["id"] for item in everything.json()["versions"]] == [v3, v1]

    assert cli("versions", "s.ipynb", "--search", "nowhere").ok().out == (
        "s.ipynb: 'nowhere' is in none of all 3 versions\n"
    )
    cli("versions", "s.ipynb", "--search", "").failed(2, "'q'")
    cli("versions", "s.ipynb", "--search", "x" * 201).failed(2, "at most 200")
    cli("versions", "never.ipynb", "--search", "needle").failed(3, "'never.ipynb' has no versions")


# -- the workspace root, from a subfolder ---------------------------------------------------


def without_configured_root(cli: CLI) -> None:
    """The config as a server started without ``ServerApp.root_dir`` has it."""
    path = cli.config_dir / "jupyter_server_config.json"
    config = json.loads(path.read_text())
    config.pop("ServerApp")
    path.write_text(json.dumps(config))


@both_backends
def test_the_root_from_a_subfolder(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    v1, v2 = cli.archive("sub/nb.ipynb", nb_bytes("one"), nb_bytes("two"))
    deeper = cli.root / "sub" / "deeper"
    deeper.mkdir()
    # Configured: paths relative to the current folder, inside ServerApp.root_dir.
    monkeypatch.chdir(deeper)
    assert cli.versions("../nb.ipynb") == [v2, v1]

    # Not configured, and no server ran here: the current folder is the root (and the
    # message says which file was looked for, and why there).
    without_configured_root(cli)
    monkeypatch.chdir(cli.root / "sub")
    monkeypatch.delenv("PWD", raising=False)
    cli("versions", "nb.ipynb").failed(
        3,
        "'nb.ipynb' has no versions",
        repr(str(cli.root / "sub" / "nb.ipynb")),
        "from the current directory",
        "--root-dir",
    )
    assert cli("status", "--json").json()["root_dir"] == str(cli.root / "sub")

    # A server on the root left its archive spool (it opens one when it starts): that
    # folder is the root, from any folder below it.
    Spool(default_spool_dir(str(cli.root))).open()
    listing = cli("versions", "nb.ipynb", "--json").json()
    assert listing["path"] == "sub/nb.ipynb"
    assert [item["id"] for item in listing["versions"]] == [v2, v1]
    monkeypatch.chdir(deeper)
    assert cli.versions("../nb.ipynb") == [v2, v1]
    assert cli("status", "--json").json()["root_dir"] == str(cli.root)
    cli("versions", "nope.ipynb").failed(
        3, repr(str(deeper / "nope.ipynb")), "the archive spool of a server started there"
    )
    # The nearest such folder wins; --root-dir wins over everything.
    Spool(default_spool_dir(str(cli.root / "sub"))).open()
    assert cli("status", "--json").json()["root_dir"] == str(cli.root / "sub")
    assert cli.versions("../nb.ipynb") == []
    assert cli.versions("../nb.ipynb", "--root-dir", str(cli.root)) == [v2, v1]


def test_a_root_reached_through_a_symlink(
    cli: CLI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server started in a symlinked folder keys its spool by the link (as the shell
    names the folder in ``PWD``); the CLI run below the link finds it."""
    (v1,) = cli.archive("sub/nb.ipynb", nb_bytes("one"))
    without_configured_root(cli)
    link = tmp_path / "link"
    link.symlink_to(cli.root)
    Spool(default_spool_dir(str(link))).open()
    monkeypatch.chdir(link / "sub")
    monkeypatch.setenv("PWD", str(link / "sub"))
    assert os.getcwd() == str(cli.root / "sub")  # the resolved folder
    assert cli("status", "--json").json()["root_dir"] == str(link)
    assert cli.versions("nb.ipynb") == [v1]
    # A PWD that is not the current folder is not believed.
    monkeypatch.setenv("PWD", str(tmp_path))
    assert cli("status", "--json").json()["root_dir"] == str(cli.root / "sub")
