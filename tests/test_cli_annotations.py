"""``jupyter bookstore name``, ``pin``, ``unpin`` and ``versions --named`` against SeaweedFS
and the embedded store (in-process, like most of ``tests/test_cli.py``, whose fixtures
these tests share)."""

from __future__ import annotations

import asyncio
import os

from bookstore.core.archive import Spool
from tests.server_fixtures import both_backends
from tests.test_cli import (
    CLI,
    cli,  # the fixture
    nb_bytes,
)

__all__ = ["cli"]


@both_backends
def test_name_pin_unpin_and_list(cli: CLI) -> None:
    v1, v2, v3 = cli.archive("sub/nb.ipynb", *(nb_bytes(f"v{n}") for n in range(1, 4)))

    run = cli("name", "sub/nb.ipynb", v1, "sent to review", "--description", "for Kim").ok()
    assert run.out.startswith(f"Version {v1} of sub/nb.ipynb (")
    assert "is now named 'sent to review', described, not pinned" in run.out
    pinned = cli("pin", "sub/nb.ipynb", v2, "--json").json()
    assert (pinned["id"], pinned["pinned"], pinned["name"]) == (v2, True, None)
    assert pinned["named_by"]

    # The table: a NAME column once a version is named, "pinned" among the labels.
    lines = cli("versions", "sub/nb.ipynb").ok().out.splitlines()
    assert lines[0].split() == ["VERSION", "SAVED", "SIZE", "AS", "NAME"]
    assert [line.split()[0] for line in lines[1:]] == [v3, v2, v1]
    assert lines[1].split()[-1] == "latest"
    assert lines[2].split()[-1] == "pinned"
    assert lines[3].endswith("sent to review")
    listing = cli("versions", "sub/nb.ipynb", "--json").json()
    assert [
        (item["name"], item["description"], item["pinned"]) for item in listing["versions"]
    ] == [
        (None, None, False),
        (None, None, True),
        ("sent to review", "for Kim", False),
    ]
    assert cli.versions("sub/nb.ipynb", "--named") == [v2, v1]
    assert cli.versions("sub/nb.ipynb", "--named", "--limit", "1") == [v2, v1]
    named = cli("versions", "sub/nb.ipynb", "--named", "--limit", "1", "--json").json()
    assert [item["id"] for item in named["versions"]] == [v2]
    assert named["next_token"]

    # Unpin, clear, describe only; the audit trail has each.
    cli("unpin", "sub/nb.ipynb", v2).ok()
    cleared = cli("name", "sub/nb.ipynb", v1, "--clear", "--json").json()
    assert (cleared["name"], cleared["description"]) == (None, "for Kim")
    described = cli("name", "sub/nb.ipynb", v3, "--description", "latest", "--json").json()
    assert (described["name"], described["description"]) == (None, "latest")
    assert cli.versions("sub/nb.ipynb", "--named") == []
    lines = cli("versions", "sub/nb.ipynb").ok().out.splitlines()
    assert lines[0].split() == ["VERSION", "SAVED", "SIZE", "AS"]
    events = cli("audit", "--action", "annotate", "--json").json()["events"]
    assert [event["version_id"] for event in events] == [v3, v1, v2, v2, v1]
    assert {event["origin"]["via"] for event in events} == {"cli"}
    assert events[-1]["result"] == {
        "name": "sent to review",
        "description": "for Kim",
        "pinned": False,
    }

    # Run from a subfolder, the path is relative to it.
    os.chdir(cli.root / "sub")
    assert cli("name", "nb.ipynb", v2, "from below", "--json").json()["name"] == "from below"
    os.chdir(cli.root)


@both_backends
def test_names_are_refused_clearly(cli: CLI) -> None:
    (v1,) = cli.archive("nb.ipynb", nb_bytes("one"))
    cli("name", "nb.ipynb", v1).failed(2, "Give the name")
    cli("name", "nb.ipynb", v1, "x", "--clear").failed(2, "not both")
    cli("name", "nb.ipynb", v1, "x" * 121).failed(2, "at most 120")
    cli("name", "nb.ipynb", v1, "two\nlines").failed(2, "control character")
    cli("name", "nb.ipynb", "no-such-version", "x").failed(3, "no-such-version")
    cli("pin", "never.ipynb", v1).failed(3)
    cli("pin", "nb.ipynb", "with space").failed(2, "printable ASCII")
    cli("pin", "../outside.ipynb", v1).failed(2, "outside the workspace root")
    cli("pin", "nb.ipynb").failed(2, "VERSION")
    assert cli("versions", "nb.ipynb", "--json").json()["versions"][0]["name"] is None
    assert cli("audit", "--action", "annotate", "--json").json()["events"] == []


@both_backends
def test_a_pending_save_cannot_be_named_yet(cli: CLI) -> None:
    """Without a server, nothing archives a save waiting in its spool: try again later."""
    cli.archive("p.ipynb", nb_bytes("archived"))
    spool_dir = cli.with_bookstore(lambda bookstore: asyncio.sleep(0, bookstore.spool_dir()))
    entry = Spool(spool_dir).add_bytes(
        f"{cli.key_root}/workspace/p.ipynb", "p.ipynb", nb_bytes("pending")
    )
    cli("name", "p.ipynb", f"pending-{entry.seq}", "x").failed(4, "not archived yet")
    cli("name", "p.ipynb", f"pending-{entry.seq + 1}", "x").failed(3, "no pending save")


@both_backends
def test_names_off_when_the_prefix_overlaps_an_area(cli: CLI) -> None:
    (v1,) = cli.archive("nb.ipynb", nb_bytes("one"))
    overlap = f"--BookstoreSettings.annotations_prefix={cli.key_root}/workspace/notes"
    cli("pin", "nb.ipynb", v1, overlap).failed(4, "annotations_prefix")
    listing = cli("versions", "nb.ipynb", "--json", overlap).json()
    assert [item["name"] for item in listing["versions"]] == [None]
