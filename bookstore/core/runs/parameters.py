"""The parameters a notebook declares, and the values a run passes it.

A notebook declares its parameters in the cell tagged ``parameters`` (papermill's
convention); :func:`declared_parameters` reads them with papermill's inspection, which
parses that cell's source without a kernel; a parameter's type is its annotation, else
the type of its default when that is a literal (``limit = 10`` is an ``int``).
:func:`check_parameters` validates the values a run or schedule passes: a JSON object of
Python identifiers, JSON values only, each value of a declared parameter of the declared
type.  papermill injects them as literals (a string stays a string, never code).

String values may hold the templates ``{{ fire_time }}``, ``{{ date }}``, ``{{ run_id }}``
and ``{{ schedule }}``, filled in when a run starts (:func:`render_templates`), checked
when it is created (:func:`check_templates`).  They are plain substitutions: nothing is
evaluated.
"""

from __future__ import annotations

import ast
import copy
import keyword
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidNotebook, InvalidRequest
from ...notebooks import check_nesting, read_notebook

__all__ = [
    "TYPES",
    "Parameter",
    "check_json_value",
    "check_name",
    "check_parameters",
    "check_templates",
    "declared_parameters",
    "render_templates",
]

#: The types a declared parameter may have.
TYPES = ("int", "float", "str", "bool", "list", "dict", "none", "any")

#: papermill's ``inferred_type_name`` (an annotation or a ``# type:`` comment, lowercased,
#: without its ``[...]``) -> :data:`TYPES`; anything else is ``any``.  An unannotated
#: parameter has the type of its default when that is a literal.
_TYPE_NAMES = {
    "int": "int",
    "float": "float",
    "str": "str",
    "bool": "bool",
    "list": "list",
    "dict": "dict",
    "nonetype": "none",
}

#: Longest default or value quoted in a message.
_MAX_QUOTE = 60

_TEMPLATE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


@dataclass(frozen=True)
class Parameter:
    """One parameter of a notebook's ``parameters`` cell."""

    name: str
    #: One of :data:`TYPES`: the annotation, else the literal default's type, else ``any``.
    type: str
    #: The default as written in the cell (source text, not evaluated).
    default: str
    #: The comment after the assignment.
    help: str

    def to_json(self) -> dict[str, Any]:
        """The parameter as the REST API answers it."""
        return {"name": self.name, "type": self.type, "default": self.default, "help": self.help}


def _type_of(inferred: object, default: str = "") -> str:
    """The annotation's type, else the type of a literal default (read with
    :func:`ast.literal_eval`, which evaluates nothing), else ``any``."""
    if isinstance(inferred, str) and inferred not in ("", "None"):
        base = inferred.split("[", 1)[0].strip().lower()
        return _TYPE_NAMES.get(base, "any")
    try:
        value = ast.literal_eval(default)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return "any"
    if value is None:
        return "none" if "none" in TYPES else "any"
    for name, kind in (("bool", bool), ("int", int), ("float", float), ("str", str)):
        if isinstance(value, kind):
            return name
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return "any"


def declared_parameters(source: bytes) -> list[Parameter]:
    """The parameters the notebook ``source`` declares, in their order; ``[]`` when it
    has no cell tagged ``parameters`` (or its language has no papermill inspection).

    Raises :class:`~bookstore.errors.InvalidNotebook` when ``source`` is not a notebook.
    """
    notebook = read_notebook(source)
    metadata = notebook.metadata
    # papermill finds the translator by kernel name or language; a notebook that says
    # neither is taken for Python.
    kernelspec = metadata.get("kernelspec")
    if not isinstance(kernelspec, dict) or not kernelspec.get("name"):
        metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        metadata.setdefault("language_info", {"name": "python"})
    elif not (metadata.get("language_info") or {}).get("name") and not kernelspec.get("language"):
        metadata["language_info"] = {"name": "python"}

    import papermill
    from papermill.exceptions import PapermillException

    try:
        found: dict[str, dict[str, Any]] = papermill.inspect_notebook(notebook)
    except PapermillException:  # no translator for this kernel's language
        return []
    except (ValueError, TypeError, KeyError) as exc:  # pragma: no cover - validated above
        raise InvalidNotebook(f"Not a notebook papermill can read: {exc}") from None
    return [
        Parameter(
            name=str(item["name"]),
            type=_type_of(item.get("inferred_type_name"), str(item.get("default") or "")),
            default=str(item.get("default") or ""),
            help=str(item.get("help") or ""),
        )
        for item in found.values()
    ]


def _quote(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 1] + "…"


def _kind(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "bool"
    for kind in (int, float, str, list, dict):
        if isinstance(value, kind):
            return kind.__name__
    return type(value).__name__


def _described(value: Any) -> str:
    return "None" if value is None else f"{_kind(value)} {_quote(value)}"


def _fits(kind: str, value: Any) -> bool:
    if kind in ("any", "none"):
        return True
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    expected = {"str": str, "list": list, "dict": dict}.get(kind)
    return expected is None or isinstance(value, expected)


def check_name(name: Any) -> str:
    """``name`` if it can be a parameter (a Python identifier, not a keyword), else
    :class:`~bookstore.errors.InvalidRequest`."""
    if not isinstance(name, str):
        raise InvalidRequest("parameters must be a JSON object of name: value")
    if not name.isidentifier():
        raise InvalidRequest(
            f"parameters: {_quote(name)} is not a valid parameter name (a Python identifier)."
        )
    if keyword.iskeyword(name):
        raise InvalidRequest(
            f"parameters: {name!r} is a Python keyword, not a valid parameter name."
        )
    return name


def check_json_value(value: Any, where: str) -> None:
    """Raise :class:`~bookstore.errors.InvalidRequest` unless ``value`` is a JSON value
    (None, bool, int, finite float, str, lists and objects with string keys of these);
    ``where`` names it in the message (``parameters.limit``)."""
    check_nesting(value)
    pending: list[tuple[str, Any]] = [(where, value)]
    while pending:
        path, item = pending.pop()
        if item is None or isinstance(item, (bool, int, str)):
            continue
        if isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidRequest(f"{path}: NaN and infinity are not JSON values.")
        elif isinstance(item, list):
            pending.extend((f"{path}[{index}]", child) for index, child in enumerate(item))
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidRequest(f"{path}: object keys must be strings, not {_quote(key)}.")
                pending.append((f"{path}.{key}", child))
        else:
            raise InvalidRequest(f"{path}: not a JSON value ({type(item).__name__}).")


def check_parameters(
    declared: Sequence[Parameter], given: Any, *, strict: bool = False
) -> dict[str, Any]:
    """Validate the parameters ``given`` for a notebook declaring ``declared``; a copy.

    ``given`` must be a JSON object whose names are Python identifiers and whose values
    are JSON values; a declared parameter's value must be of its type (an ``int`` is a
    ``float`` too, but neither a bool nor ``10.0`` is an ``int``).  Names the notebook does
    not declare are passed on (papermill injects them anyway) unless ``strict``.  Every
    refusal is an :class:`~bookstore.errors.InvalidRequest` naming the parameter.
    """
    if not isinstance(given, Mapping):
        raise InvalidRequest("parameters must be a JSON object of name: value")
    by_name = {parameter.name: parameter for parameter in declared}
    checked: dict[str, Any] = {}
    for name, value in given.items():
        check_name(name)
        check_json_value(value, f"parameters.{name}")
        parameter = by_name.get(name)
        if parameter is None:
            if strict:
                names = ", ".join(by_name) if by_name else "none"
                raise InvalidRequest(
                    f"parameters.{name}: the notebook declares no parameter {name!r}; "
                    f"it declares {names}."
                )
        elif not _fits(parameter.type, value):
            default = parameter.default
            if len(default) > _MAX_QUOTE:
                default = default[: _MAX_QUOTE - 1] + "…"
            raise InvalidRequest(
                f"parameters.{name}: expected {parameter.type} (the notebook declares "
                f"{name} = {default}), got {_described(value)}"
            )
        checked[name] = copy.deepcopy(value)
    return checked


def _templates_message(path: str, name: str, known: Iterable[str]) -> str:
    listed = ", ".join(f"{{{{ {item} }}}}" for item in sorted(known))
    return f"{path}: unknown template {{{{ {name} }}}}; the known ones are {listed or 'none'}."


def _substitute(value: Any, path: str, context: Mapping[str, str], render: bool) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in context:
                raise InvalidRequest(_templates_message(path, name, context))
            return str(context[name])

        rendered = _TEMPLATE.sub(replace, value)
        return rendered if render else value
    if isinstance(value, list):
        return [
            _substitute(item, f"{path}[{index}]", context, render)
            for index, item in enumerate(value)
        ]
    if isinstance(value, dict):
        return {
            key: _substitute(item, f"{path}.{key}", context, render) for key, item in value.items()
        }
    return value


def render_templates(parameters: Mapping[str, Any], context: Mapping[str, str]) -> dict[str, Any]:
    """``parameters`` with ``{{ name }}`` in string values (in lists and objects too)
    replaced by ``context[name]``; an unknown name is an
    :class:`~bookstore.errors.InvalidRequest` listing the known ones."""
    check_nesting(dict(parameters))
    return {
        name: _substitute(value, f"parameters.{name}", context, True)
        for name, value in parameters.items()
    }


def check_templates(parameters: Mapping[str, Any], known: Iterable[str]) -> None:
    """Refuse (:class:`~bookstore.errors.InvalidRequest`) a template in ``parameters``
    whose name is not one of ``known``."""
    check_nesting(dict(parameters))
    context = dict.fromkeys(known, "")
    for name, value in parameters.items():
        _substitute(value, f"parameters.{name}", context, False)
