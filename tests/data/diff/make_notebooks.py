"""Write the notebooks of ``tests/core/test_diff_filter.py`` (run once; the files are kept).

``report.ipynb`` is a small parameterised report; ``run-a.ipynb`` and ``run-a2.ipynb`` are
two papermill runs of it with the same parameters (they differ only in what papermill
records: times, the output path, the injected cell's random id), ``run-b.ipynb`` a run with
other parameters (other outputs).  ``rerun.ipynb`` is ``run-a.ipynb`` run again in
JupyterLab (only the execution counts differ) and ``edited.ipynb`` is ``run-a.ipynb`` edited
by hand: one cell's source, a new cell at the end, a notebook metadata field.

Run from the repository root: ``.venv/bin/python tests/data/diff/make_notebooks.py``
(papermill and the ``python3`` kernel are needed).
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat import v4

HERE = Path(__file__).resolve().parent


def report() -> nbformat.NotebookNode:
    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        v4.new_markdown_cell("# Report", id="title"),
        v4.new_code_cell('n = 3\nlabel = "a"', id="params", metadata={"tags": ["parameters"]}),
        v4.new_code_cell(
            "import math\nvalues = [round(math.sqrt(i), 3) for i in range(n)]\n"
            "print(label, values)",
            id="compute",
        ),
        v4.new_code_cell("len(values)", id="count"),
        v4.new_code_cell("total = sum(values)\ntotal", id="total"),
        v4.new_markdown_cell("Done.", id="end"),
    ]
    return nb


def papermill(name: str, **parameters: object) -> None:
    args = [sys.executable, "-m", "papermill", "--no-progress-bar", "report.ipynb", name]
    for key, value in parameters.items():
        args += ["-p", key, str(value)]
    subprocess.run(args, cwd=HERE, check=True, capture_output=True)


def main() -> None:
    nbformat.write(report(), HERE / "report.ipynb")
    papermill("run-a.ipynb", n=3, label="a")
    papermill("run-a2.ipynb", n=3, label="a")
    papermill("run-b.ipynb", n=5, label="b")
    run_a = nbformat.read(HERE / "run-a.ipynb", as_version=4)

    rerun = copy.deepcopy(run_a)
    for cell in rerun.cells:
        if cell.cell_type == "code" and cell.execution_count is not None:
            cell.execution_count += 10
            for output in cell.outputs:
                if "execution_count" in output:
                    output.execution_count += 10
    nbformat.write(rerun, HERE / "rerun.ipynb")

    edited = copy.deepcopy(run_a)
    [total] = [cell for cell in edited.cells if cell.get("id") == "total"]
    total.source = "total = sum(values)\nround(total, 1)"
    edited.cells.append(v4.new_markdown_cell("A note added by hand.", id="note"))
    edited.metadata["authors"] = [{"name": "Ada"}]
    nbformat.write(edited, HERE / "edited.ipynb")


if __name__ == "__main__":
    main()
