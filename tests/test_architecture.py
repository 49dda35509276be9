"""The layout holds: no import cycle, imports only go down the layers, and the web stack
stays in ``bookstore/server``.

Every ``import`` statement of every module counts (at module level, inside functions and
under ``if TYPE_CHECKING:``), so a cycle cannot hide behind a lazy or a typing import.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import bookstore

PACKAGE_DIR = Path(bookstore.__file__).resolve().parent

#: The layers, and the layers each may import (besides its own).
ALLOWED: dict[str, set[str]] = {
    "leaf": set(),
    "stores": {"leaf"},
    "config": {"leaf", "stores"},
    "core": {"leaf", "stores", "config"},
    "standalone": {"leaf", "stores", "config", "core"},
    "server": {"leaf", "stores", "config", "core"},
    "cli": {"leaf", "stores", "config", "core", "standalone"},
    "papermill": {"leaf", "stores", "config", "core", "standalone"},
    "client": set(),
    "compat": {"leaf", "stores", "config", "core", "standalone", "server", "cli"},
}

#: bookstore 2.x's import paths (and the package itself): re-exports of the new homes.
COMPAT = {
    "bookstore",
    "bookstore.archive",
    "bookstore.bookstore_config",
    "bookstore.clone",
    "bookstore.handlers",
    "bookstore.publish",
    "bookstore.s3_paths",
    "bookstore.tests",
}
LEAVES = {
    "bookstore._version",
    "bookstore.errors",
    "bookstore.keys",
    "bookstore.notebooks",
    "bookstore.timestamps",
    "bookstore.tokens",
}
#: Third-party packages only the server layer (and the 2.x paths above it) may import.
WEB_PACKAGES = ("tornado", "jupyter_server", "jinja2")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {
    module_name(path): path
    for path in sorted(PACKAGE_DIR.rglob("*.py"))
    if "labextension" not in path.parts
}


def layer(module: str) -> str:
    if module in COMPAT:
        return "compat"
    if module in LEAVES:
        return "leaf"
    if module == "bookstore.config":
        return "config"
    if module == "bookstore.standalone":
        return "standalone"
    if module == "bookstore.papermill_io":
        return "papermill"
    if module == "bookstore._launcher":
        return "cli"
    second = module.split(".")[1]
    if second in {"stores", "core", "server", "cli", "client"}:
        return second
    raise AssertionError(f"{module} belongs to no layer: add it to tests/test_architecture.py")


def imports(module: str) -> Iterator[tuple[str, int]]:
    """Every module ``module`` imports (``(name, line)``), bookstore's or not."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                yield (submodule if submodule in MODULES else target), node.lineno


def internal_graph() -> dict[str, set[str]]:
    return {
        module: {name for name, _ in imports(module) if name in MODULES and name != module}
        for module in MODULES
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of ``graph`` (its modules in import order), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (cycle := visit(target)) is not None:
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)) is not None:
            return cycle
    return None


def test_every_module_has_a_layer() -> None:
    assert {layer(module) for module in MODULES} <= set(ALLOWED)
    assert len(MODULES) > 40  # the walk found the package


def test_no_import_cycle() -> None:
    cycle = find_cycle(internal_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_imports_go_down_the_layers() -> None:
    wrong = [
        f"{module} ({layer(module)}) imports {target} ({layer(target)})"
        for module, targets in internal_graph().items()
        for target in targets
        if layer(target) != layer(module) and layer(target) not in ALLOWED[layer(module)]
    ]
    assert wrong == []


def test_the_web_stack_stays_in_the_server_layer() -> None:
    wrong = [
        f"{module}:{line} imports {name}"
        for module in MODULES
        if layer(module) not in {"server", "compat"}
        for name, line in imports(module)
        if name.split(".")[0] in WEB_PACKAGES
    ]
    assert wrong == []


def test_the_client_imports_nothing_else_of_bookstore() -> None:
    wrong = [
        f"{module} imports {name}"
        for module in MODULES
        if layer(module) == "client"
        for name, _ in imports(module)
        if name.startswith("bookstore") and layer(name) != "client"
    ]
    assert wrong == []


def loaded_after(statement: str) -> set[str]:
    """The top-level packages loaded by running ``statement`` in a fresh interpreter."""
    listing = "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    script = f"import sys\n{statement}\n{listing}"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return set(result.stdout.split())


@pytest.mark.parametrize(
    "statement",
    [
        "import bookstore.cli",
        "import bookstore.papermill_io",
        "import bookstore.standalone",
        "import bookstore.core.areas, bookstore.core.diff, bookstore.core.restore, "
        "bookstore.core.catalog, bookstore.core.archive",
    ],
)
def test_tools_without_a_server_load_no_web_stack(statement: str) -> None:
    assert not loaded_after(statement) & set(WEB_PACKAGES)


def test_importing_bookstore_is_cheap() -> None:
    loaded = loaded_after("import bookstore")
    assert not loaded & {*WEB_PACKAGES, "traitlets", "nbformat", "botocore", "aiobotocore"}
