"""Notebooks and files as bytes: validation, serialisation, and contents models.

Publishing turns a notebook (a JSON object) into the bytes stored; cloning turns stored
bytes back into a model Jupyter's contents manager can save, byte for byte.  Both
refuse what is not a valid nbformat notebook with
:class:`~bookstore.errors.InvalidNotebook`, whose message is nbformat's reason, and
anything nested more than :data:`MAX_NESTING` levels deep (:func:`check_nesting`) before
nbformat, which recurses, looks at it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import nbformat
from nbformat.v4 import nbjson
from nbformat.v4.rwbase import rejoin_lines, strip_transient

from .errors import DocumentTooDeep, InvalidNotebook
from .keys import is_notebook_path

T = TypeVar("T")

__all__ = [
    "MAX_NESTING",
    "NOTEBOOK_CONTENT_TYPE",
    "check_nesting",
    "file_model",
    "is_notebook_path",
    "load_notebook_json",
    "nesting_exceeds",
    "notebook_bytes",
    "notebook_node",
    "parse_notebook_bytes",
    "read_notebook",
    "run_cpu",
    "too_deep_message",
    "validate_notebook",
]

#: The media type notebooks are stored with.
NOTEBOOK_CONTENT_TYPE = "application/x-ipynb+json"

#: Bodies up to this size are parsed and validated on the event loop; bigger ones in a thread.
INLINE_CPU_BYTES = 256 * 1024

#: How deeply a notebook's JSON may nest (objects and arrays): far beyond what notebooks
#: hold, well within what nbformat's validation can walk (it recurses, and Python stops at
#: about 1000 frames).
MAX_NESTING = 100

#: Longest nbformat reason quoted back to a user.
_MAX_REASON = 500


def _reason(error: Exception) -> str:
    text = str(getattr(error, "message", None) or error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return first if len(first) <= _MAX_REASON else first[:_MAX_REASON] + "…"


def nesting_exceeds(document: object, limit: int) -> bool:
    """True when ``document`` (parsed JSON) nests objects and arrays more than ``limit``
    levels deep (the document itself is level 1).  Iterative, one level at a time: it never
    recurses and skips lists and objects of scalars at C speed (a 100 MB notebook takes
    a few tenths of a second)."""
    level: list[object] = [document] if isinstance(document, _CONTAINERS) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            return True
        below: list[object] = []
        for node in level:
            children: Any = node.values() if isinstance(node, dict) else node
            # Lists and objects of scalars only (most of a notebook): skipped in C.
            if _SCALARS.issuperset(map(type, children)):
                continue
            below.extend(child for child in children if isinstance(child, _CONTAINERS))
        level = below
    return False


#: JSON's containers, and the types of its scalars (all else ``json.loads`` makes).
_CONTAINERS = (dict, list)
_SCALARS = frozenset({str, int, float, bool, type(None)})


def too_deep_message(limit: int = MAX_NESTING) -> str:
    """What a notebook nested more than ``limit`` levels deep is refused with."""
    return (
        f"The notebook is nested more than {limit} levels deep (in its metadata or "
        f"outputs); bookstore accepts at most {limit}."
    )


def check_nesting(document: object, limit: int = MAX_NESTING) -> None:
    """Raise :class:`~bookstore.errors.DocumentTooDeep` (400) when ``document`` (parsed
    JSON, e.g. a notebook) nests objects and arrays more than ``limit`` levels deep:
    nbformat's validation and conversion recurse, and would fail deeper down."""
    if nesting_exceeds(document, limit):
        raise DocumentTooDeep(too_deep_message(limit))


def validate_notebook(content: Any) -> None:
    """Raise :class:`InvalidNotebook` unless ``content`` is a valid nbformat 4 notebook
    nested at most :data:`MAX_NESTING` levels deep.

    ``content`` is the parsed JSON; it is not modified.
    """
    if nesting_exceeds(content, MAX_NESTING):
        raise InvalidNotebook(
            f"Not a notebook bookstore can read: it is nested more than {MAX_NESTING} levels "
            f"deep (in its metadata or outputs); bookstore accepts at most {MAX_NESTING}."
        )
    _validate_schema(content)


def _validate_schema(content: Any) -> None:
    """Raise :class:`InvalidNotebook` unless ``content`` passes nbformat 4's schema."""
    if not isinstance(content, dict):
        raise InvalidNotebook("Not a valid notebook: it must be a JSON object.")
    major = content.get("nbformat")
    if major != 4:
        raise InvalidNotebook(
            f"Not a valid notebook: only nbformat 4 is accepted, not nbformat {major!r}."
        )
    minor = content.get("nbformat_minor")
    if not isinstance(minor, int) or isinstance(minor, bool):
        raise InvalidNotebook("Not a valid notebook: it has no integer 'nbformat_minor'.")
    validator = nbformat.validator.get_validator(version=4, version_minor=min(minor, 5))
    if validator is None:  # pragma: no cover - nbformat ships the v4 schemas
        raise InvalidNotebook("nbformat has no schema for this notebook version.")
    try:
        validator.validate(content)
    except Exception as exc:  # jsonschema / fastjsonschema errors
        raise InvalidNotebook(f"Not a valid notebook: {_reason(exc)}") from None


def notebook_bytes(content: Any) -> bytes:
    """Validate ``content`` and serialise it byte for byte as Jupyter saves a notebook
    (``nbformat.write``: multi-line text split into lists of lines, the transient trust
    signature and cells' ``trusted`` flags dropped, UTF-8 JSON with a one-space indent and
    sorted keys, a trailing newline).  So a notebook published from a contents model has
    the bytes, hence the ETag, of its save; and it can never arrive trusted.

    A notebook nested more than :data:`MAX_NESTING` levels deep is refused with
    :class:`~bookstore.errors.DocumentTooDeep` (400) before anything recurses into it."""
    check_nesting(content)
    content = _whole_numbers(content)
    _validate_schema(content)
    text: str = nbjson.writes(nbformat.from_dict(content))
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidNotebook(
            "Not a valid notebook: it contains text that is not valid Unicode (a lone surrogate)."
        ) from None


def _whole(value: Any) -> Any:
    return int(value) if type(value) is float and value.is_integer() else value


def _whole_numbers(content: Any) -> Any:
    """``content`` with nbformat's integer fields (``nbformat``, ``nbformat_minor``,
    ``orig_nbformat``, ``execution_count``) written as whole floats (``5.0``, the same JSON
    number as ``5``) made ints: nbformat's draft-4 schema takes ints only.  Copies only
    what it changes; everything else (metadata values too) stays as sent."""
    if not isinstance(content, dict):
        return content
    notebook = dict(content)
    for field in ("nbformat", "nbformat_minor"):
        if field in notebook:
            notebook[field] = _whole(notebook[field])
    metadata = notebook.get("metadata")
    if isinstance(metadata, dict) and "orig_nbformat" in metadata:
        notebook["metadata"] = {**metadata, "orig_nbformat": _whole(metadata["orig_nbformat"])}
    cells = notebook.get("cells")
    if isinstance(cells, list):
        notebook["cells"] = [_with_whole_count(cell) for cell in cells]
    return notebook


def _with_whole_count(node: Any) -> Any:
    """A cell or output with a whole-float ``execution_count`` made an int (and a cell's
    outputs likewise)."""
    if not isinstance(node, dict):
        return node
    count = node.get("execution_count")
    outputs = node.get("outputs")
    if not isinstance(outputs, list) or not any(
        isinstance(output, dict) and type(output.get("execution_count")) is float
        for output in outputs
    ):
        outputs = None  # nothing to change in them
    if type(count) is not float and outputs is None:
        return node
    node = {**node, "execution_count": _whole(count)} if "execution_count" in node else dict(node)
    if outputs is not None:
        node["outputs"] = [_with_whole_count(output) for output in outputs]
    return node


def load_notebook_json(body: bytes) -> Any:
    """Parse notebook bytes as JSON (not validated); raise :class:`InvalidNotebook`."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidNotebook(f"Not a notebook: the object is not valid JSON ({exc}).") from None
    except RecursionError:
        raise InvalidNotebook(
            f"Not a notebook bookstore can read: its JSON is nested far more than "
            f"{MAX_NESTING} levels deep; bookstore accepts at most {MAX_NESTING}."
        ) from None


def parse_notebook_bytes(body: bytes) -> dict[str, Any]:
    """Parse and validate stored notebook bytes; raise :class:`InvalidNotebook`."""
    content: dict[str, Any] = load_notebook_json(body)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        validate_notebook(content)
    return content


def notebook_node(parsed: dict[str, Any]) -> Any:
    """A validated notebook as ``nbformat.read`` gives it (a ``NotebookNode`` with sources
    as single strings, transient fields dropped), as Jupyter's contents API answers."""
    return strip_transient(rejoin_lines(nbformat.from_dict(parsed)))


def read_notebook(body: bytes) -> Any:
    """Parse and validate stored notebook bytes into :func:`notebook_node`'s form."""
    return notebook_node(parse_notebook_bytes(body))


#: The mimetype Jupyter gives a file it cannot guess one for, by format.
DEFAULT_MIMETYPES = {"text": "text/plain", "base64": "application/octet-stream"}


def file_model(body: bytes, *, notebook: bool) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A contents model that saves ``body`` byte for byte, and the parsed notebook.

    With ``notebook``, ``body`` must be a valid notebook (else :class:`InvalidNotebook`); it is
    still written as the exact bytes (``type: file``), so nothing is re-serialised or
    signed as trusted.  Other bytes are saved as text when they are UTF-8, else base64.
    """
    parsed = parse_notebook_bytes(body) if notebook else None
    try:
        model = {"type": "file", "format": "text", "content": body.decode("utf-8")}
    except UnicodeDecodeError:
        model = {
            "type": "file",
            "format": "base64",
            "content": base64.encodebytes(body).decode("ascii"),
        }
    return model, parsed


async def run_cpu(size: int, func: Callable[..., T], /, *args: Any) -> T:
    """Run CPU-bound ``func`` (parsing, validation, serialisation) for a body of ``size``
    bytes: inline up to :data:`INLINE_CPU_BYTES` (a few milliseconds, as Jupyter's own
    contents handler does), else in a worker thread so the event loop stays responsive."""
    if size <= INLINE_CPU_BYTES:
        return func(*args)
    return await asyncio.to_thread(func, *args)
