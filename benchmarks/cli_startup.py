"""How long ``jupyter bookstore`` takes to start, against the imports it cannot do without.

Each case is a fresh ``python`` process, timed from spawn to exit; the cases run in turn
every round (the order shuffled each round), so machine noise hits them alike:

* ``--help``: ``jupyter bookstore --help`` (argument parsing, no store);
* ``status``: ``jupyter bookstore status --json`` on an empty embedded store (config files,
  the store started, probed and closed);
* ``import``: ``import bookstore.cli``;
* the floor, ``needed imports``: ``import nbformat, traitlets.config``, what the command
  needs whatever its layout (notebook validation, Jupyter's configuration);
* ``+ S3 library``: ``import aiobotocore.session``, which the command adds when a bucket is
  configured (the embedded store here needs none);
* ``python``: the interpreter starting and exiting.

All run the way the ``jupyter-bookstore`` executable does (``bookstore/_launcher.py``
keeps ``rfc3987_syntax`` out).  ``--compare PATH`` also runs the three bookstore cases
from another checkout of bookstore (e.g. ``git worktree add /tmp/before <commit>``), in
this same environment, side by side: the before/after of a change.  The table gives the
median and p90 in ms, the ratio to ``needed imports``, and how many tornado and
jupyter_server modules ``import bookstore.cli`` loads.

    .venv/bin/python benchmarks/cli_startup.py [--rounds N] [--compare PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from _report import p90, print_rows

REPO_ROOT = Path(__file__).resolve().parent.parent
#: What the launcher does first (see bookstore/_launcher.py).
LAUNCH = "import sys; sys.modules.setdefault('rfc3987_syntax', None)"


@dataclass
class Case:
    """One command line, timed in a fresh process each round."""

    name: str
    code: str
    tree: Path | None = None
    times_ms: list[float] = field(default_factory=list)

    def run(self, env: dict[str, str]) -> None:
        run_env = dict(env)
        if self.tree is not None:
            run_env["PYTHONPATH"] = str(self.tree)
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", self.code], env=run_env, check=True, stdout=subprocess.DEVNULL
        )
        self.times_ms.append((time.perf_counter() - started) * 1000)


def cli(*args: str) -> str:
    """The code of ``jupyter bookstore ARGS`` as the executable runs it."""
    return f"{LAUNCH}; sys.argv = ['jupyter-bookstore', *{list(args)!r}]; " + (
        "from bookstore._launcher import main; main()"
    )


def bookstore_cases(label: str, tree: Path) -> list[Case]:
    return [
        Case(f"{label} --help", cli("--help"), tree),
        Case(f"{label} status", cli("status", "--json"), tree),
        Case(f"{label} import", f"{LAUNCH}; import bookstore.cli", tree),
    ]


def web_modules(tree: Path, env: dict[str, str]) -> str:
    """``tornado/jupyter_server`` modules that ``import bookstore.cli`` loads from ``tree``."""
    code = (
        f"{LAUNCH}; import bookstore.cli; "
        "names = list(sys.modules); "
        "print(sum(n.split('.')[0] == 'tornado' for n in names), "
        "sum(n.split('.')[0] == 'jupyter_server' for n in names))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "PYTHONPATH": str(tree)},
        check=True,
        capture_output=True,
        text=True,
    )
    tornado, server = result.stdout.split()
    return f"{tornado}/{server}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--compare", type=Path, help="another checkout of bookstore")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("JPYNB_", "AWS_"))
        }
        env.update(
            JUPYTER_CONFIG_DIR=f"{scratch}/config",
            JUPYTER_DATA_DIR=f"{scratch}/data",
            JUPYTER_RUNTIME_DIR=f"{scratch}/runtime",
            PYTHONDONTWRITEBYTECODE="",
        )
        os.chdir(scratch)
        cases = bookstore_cases("this tree", REPO_ROOT)
        if args.compare is not None:
            cases += bookstore_cases("compared", args.compare.resolve())
        floor = Case("needed imports", f"{LAUNCH}; import nbformat, traitlets.config")
        s3 = Case("+ S3 library", f"{LAUNCH}; import aiobotocore.session")
        cases += [floor, s3, Case("python", "pass")]
        for case in cases:  # warm the file system cache and the .pyc files
            case.run(env)
            case.times_ms.clear()
        for _ in range(args.rounds):
            for case in random.sample(cases, len(cases)):
                case.run(env)
        modules: dict[Path | None, str] = {REPO_ROOT: web_modules(REPO_ROOT, env)}
        if args.compare is not None:
            modules[args.compare.resolve()] = web_modules(args.compare.resolve(), env)
    base = statistics.median(floor.times_ms)
    rows = [("case", "median ms", "p90 ms", "vs needed imports", "tornado/jupyter_server")]
    summary = {}
    for case in cases:
        median = statistics.median(case.times_ms)
        loaded = modules.get(case.tree, "") if case.name.endswith("import") else ""
        rows.append(
            (
                case.name,
                f"{median:.0f}",
                f"{p90(case.times_ms):.0f}",
                f"{median / base:.2f}x",
                loaded,
            )
        )
        summary[case.name] = round(median, 1)
    print(f"{args.rounds} rounds, each case a fresh process\n")
    print_rows(rows, left=1)
    print(json.dumps({"cli_startup_median_ms": summary}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
