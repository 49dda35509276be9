"""The worker process of big diffs: ``python -m bookstore.core.diff_worker``.

For each diff it reads a JSON header line (``path``, ``content``, the diff ``options``
(:meth:`~bookstore.core.diff_filter.DiffOptions.to_dict`), the ``base`` and ``remote``
references, ``base_size``, ``remote_size``) and then both sides' bytes on stdin;
it writes a status line ``{"status", "size"}`` and then ``size`` bytes: the JSON reply of
the diff routes (status 0), or ``{"error", "message"}`` of the bookstore error that refused
the input (status :data:`~bookstore.core.diff.WORKER_REFUSED`).  It ends when stdin does.
Its own interpreter: parsing and diffing 100 MB notebooks never holds the server's
interpreter lock.
"""

from __future__ import annotations

import json
import sys

from ..errors import BookstoreError
from .diff import WORKER_REFUSED, DiffSide, reply_bytes
from .diff_filter import DiffOptions


def main() -> int:
    """Run diffs from stdin to stdout until stdin ends."""
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while line := stdin.readline():
        header = json.loads(line)
        base = stdin.read(int(header["base_size"]))
        remote = stdin.read(int(header["remote_size"]))
        sides = (
            DiffSide(header["base"], None, len(base), base),
            DiffSide(header["remote"], None, len(remote), remote),
        )
        del base, remote
        try:
            options = DiffOptions.from_dict(header.get("options"))
            status, reply = (
                0,
                reply_bytes(str(header["path"]), bool(header["content"]), *sides, options),
            )
        except BookstoreError as exc:
            refused = {"error": type(exc).__name__, "message": str(exc)}
            status, reply = WORKER_REFUSED, json.dumps(refused).encode()
        del sides
        stdout.write(json.dumps({"status": status, "size": len(reply)}).encode() + b"\n")
        stdout.write(reply)
        stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
