"""Run every benchmark in this folder, one after the other (``make bench``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    """Run each ``benchmarks/*.py`` script but this one and the shared ``_*.py`` modules;
    return the worst exit code."""
    worst = 0
    for script in sorted(HERE.glob("*.py")):
        if script.name == Path(__file__).name or script.name.startswith("_"):
            continue
        print(f"\n=== {script.name} ===", flush=True)
        worst = max(worst, subprocess.call([sys.executable, str(script)], cwd=HERE.parent))
    return worst


if __name__ == "__main__":
    sys.exit(main())
