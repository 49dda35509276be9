"""The archive spool: complete-or-absent entries, replayed in save order."""

from __future__ import annotations

from pathlib import Path

from bookstore.core.archive import Spool


def test_entries_replay_in_order_across_reopen(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    assert spool.open() == []
    source = tmp_path / "a.ipynb"
    written = []
    for n in range(5):
        source.write_text(f"save {n}")
        written.append(spool.add_file("workspace/a.ipynb", "a.ipynb", source))
    written.append(spool.add_bytes("workspace/b.ipynb", "b.ipynb", b"bytes"))

    reopened = Spool(tmp_path / "spool")
    entries = reopened.open()
    assert [entry.seq for entry in entries] == sorted(entry.seq for entry in written)
    assert [Spool.read_body(entry) for entry in entries] == [
        *(f"save {n}".encode() for n in range(5)),
        b"bytes",
    ]
    assert entries[0].key == "workspace/a.ipynb"
    assert entries[0].path == "a.ipynb"
    later = reopened.add_bytes("workspace/a.ipynb", "a.ipynb", b"after reopen")
    assert later.seq > max(entry.seq for entry in entries)


def test_half_written_and_corrupt_entries(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    good = spool.add_bytes("k", "p.ipynb", b"ok")
    (tmp_path / ".00000000000000000001.tmp").write_bytes(b'{"key": "k"')  # killed mid-write
    (tmp_path / "00000000000000000002.entry").write_bytes(b"no header line")
    entries = Spool(tmp_path).open()
    assert entries == [good]
    assert not list(tmp_path.glob(".*.tmp"))
    assert Spool(tmp_path).failed_count() == 1


def test_remove_and_fail(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.open()
    first = spool.add_bytes("k", "p.ipynb", b"1")
    second = spool.add_bytes("k", "p.ipynb", b"2")
    spool.remove(first)
    spool.fail(second)
    assert Spool(tmp_path).open() == []
    assert spool.failed_count() == 1


def test_spool_directory_is_created_on_first_write(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "not" / "yet")
    entry = spool.add_bytes("k", "p.ipynb", b"x")
    assert Spool.read_body(entry) == b"x"
