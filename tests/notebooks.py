"""Test notebooks of a chosen size."""

from __future__ import annotations

from typing import Any

import nbformat
from nbformat import v4


def make_notebook(marker: str = "", *, cells: int = 40, output_bytes: int = 5000) -> dict[str, Any]:
    """A valid nbformat v4 notebook of about ``cells * output_bytes`` bytes whose first cell
    says ``marker`` (so each save can differ)."""
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells.append(v4.new_markdown_cell(f"# Notebook {marker}"))
    for n in range(cells):
        cell = v4.new_code_cell(f"print({n})", execution_count=n + 1)
        cell.outputs.append(v4.new_output("stream", name="stdout", text="x" * output_bytes + "\n"))
        nb.cells.append(cell)
    nbformat.validate(nb)
    return dict(nb)


def first_cell(notebook_bytes: bytes) -> str:
    """The source of the first cell of a serialised notebook."""
    return str(nbformat.reads(notebook_bytes.decode(), as_version=4).cells[0].source)
