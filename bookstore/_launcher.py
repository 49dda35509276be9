"""The ``jupyter-bookstore`` executable: start quickly, then run :func:`bookstore.cli.main`."""

from __future__ import annotations

import sys


def main() -> None:
    """Run ``jupyter bookstore`` with the arguments of this process and exit with its status.

    jsonschema, which nbformat imports, also imports ``rfc3987_syntax`` when it is
    installed (jupyter_events asks for it): that package builds a grammar at every
    import, only to check the ``iri`` string formats, which no schema bookstore validates
    uses; without it the command starts several times faster (benchmarks/README.md).
    Only this executable does so; a server or a notebook that imports bookstore keeps
    every format.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from .cli import main as run

    sys.exit(run())
