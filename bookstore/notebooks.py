"""Notebooks and files as bytes: validation, serialisation, and contents models.

Publishing turns a notebook (a JSON object) into the bytes stored; cloning turns stored
bytes back into a model Jupyter's contents manager can save, byte for byte.  Both
refuse what is not a valid nbformat notebook with
:class:`~bookstore.errors.InvalidNotebook`, whose message is nbformat's reason.
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

from .errors import InvalidNotebook
from .keys import is_notebook_path

T = TypeVar("T")

__all__ = [
    "NOTEBOOK_CONTENT_TYPE",
    "file_model",
    "is_notebook_path",
    "load_notebook_json",
    "notebook_bytes",
    "notebook_node",
    "parse_notebook_bytes",
    "read_notebook",
    "run_cpu",
    "validate_notebook",
]

#: The media type notebooks are stored with.
NOTEBOOK_CONTENT_TYPE = "application/x-ipynb+json"

#: Bodies up to this size are parsed and validated on the event loop; bigger ones in a thread.
INLINE_CPU_BYTES = 256 * 1024

#: Longest nbformat reason quoted back to a user.
_MAX_REASON = 500


def _reason(error: Exception) -> str:
    text = str(getattr(error, "message", None) or error).strip().splitlines()
    first = text[0] if text else type(error).__name__
    return first if len(first) <= _MAX_REASON else first[:_MAX_REASON] + "…"


def validate_notebook(content: Any) -> None:
    """Raise :class:`InvalidNotebook` unless ``content`` is a valid nbformat 4 notebook.

    ``content`` is the parsed JSON; it is not modified.
    """
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
    the bytes, hence the ETag, of its save; and it can never arrive trusted."""
    validate_notebook(content)
    text: str = nbjson.writes(nbformat.from_dict(content))
    try:
        return (text + "\n").encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidNotebook(
            "Not a valid notebook: it contains text that is not valid Unicode (a lone surrogate)."
        ) from None


def load_notebook_json(body: bytes) -> Any:
    """Parse notebook bytes as JSON (not validated); raise :class:`InvalidNotebook`."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidNotebook(f"Not a notebook: the object is not valid JSON ({exc}).") from None
    except RecursionError:
        raise InvalidNotebook("Not a notebook: the object's JSON is nested too deeply.") from None


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
