"""Check real bookstore responses against the OpenAPI document (``bookstore/openapi.yaml``).

:func:`check_response` finds the path template a request path matches (``{path}``
parameters marked ``x-multi-segment`` may span several segments; the most specific
template wins), the operation for the method and the documented response for the status,
and validates a JSON body with ``jsonschema`` (Draft 2020-12, formats checked), resolving
``#/components/...`` references inside the document with ``referencing``.  Anything that
does not match raises :class:`AssertionError` with a message that says what and where.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from bookstore.server.openapi import load_spec

__all__ = [
    "SPEC_URI",
    "RouteMatch",
    "check_request_body",
    "check_response",
    "find_operation",
    "match_path",
    "spec_paths",
    "validate_at",
]

#: The URI under which the document is registered for ``$ref`` resolution.
SPEC_URI = "urn:bookstore:openapi"

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

_PARAM = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class RouteMatch:
    """A request path matched to a path template of the document."""

    template: str
    params: dict[str, str]


@functools.cache
def _spec() -> dict[str, Any]:
    return load_spec()


@functools.cache
def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry().with_resource(
        SPEC_URI, DRAFT202012.create_resource(_spec())
    )
    return registry


def spec_paths() -> list[str]:
    """The path templates of the document."""
    return list(_spec()["paths"])


def _multi_segment_params(template: str) -> set[str]:
    """Path parameters of ``template`` marked ``x-multi-segment`` (may contain ``/``)."""
    item = _spec()["paths"][template]
    parameters = list(item.get("parameters", []))
    for method in HTTP_METHODS:
        parameters += item.get(method, {}).get("parameters", [])
    names = set()
    for parameter in parameters:
        resolved = _resolve(parameter)
        if resolved.get("in") == "path" and resolved.get("x-multi-segment"):
            names.add(resolved["name"])
    return names


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` (``#/components/...``) of the document."""
    seen = 0
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are supported, not {ref!r}"
        target: Any = _spec()
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
        seen += 1
        assert seen < 20, f"reference loop at {ref!r}"
    return node


@functools.cache
def _template_regex(template: str, *, empty_tail: bool) -> re.Pattern[str]:
    """A regex for ``template``: ``{x}`` matches one segment, a multi-segment parameter
    one or more (or, with ``empty_tail``, also nothing)."""
    multi = _multi_segment_params(template)
    pattern, position = "", 0
    for param in _PARAM.finditer(template):
        pattern += re.escape(template[position : param.start()])
        name = param.group(1)
        if name in multi:
            pattern += f"(?P<{name}>.*)" if empty_tail else f"(?P<{name}>.+)"
        else:
            pattern += f"(?P<{name}>[^/]+)"
        position = param.end()
    pattern += re.escape(template[position:])
    return re.compile(pattern + "/?")


def _specificity(template: str) -> tuple[int, int]:
    """Sort key: more literal characters first, then fewer parameters."""
    literal = _PARAM.sub("", template)
    return (-len(literal), len(_PARAM.findall(template)))


def match_path(request_path: str) -> RouteMatch:
    """The path template ``request_path`` matches (as sent, without the base URL and
    the query; a leading ``/`` is optional).

    The most specific templates (most literal characters) are tried first, so
    ``published/a.ipynb/versions`` is the versions of ``a.ipynb``, not a notebook called
    ``a.ipynb/versions``.  A trailing slash is accepted (most routes take ``/?``; a
    multi-segment parameter keeps it: ``publish/folder/`` has ``path="folder/"``).  An
    empty multi-segment parameter (``publish/``) is matched last: the server routes it
    too (and answers 400).
    """
    path = "/" + request_path.split("?", 1)[0].lstrip("/")
    templates = sorted(spec_paths(), key=_specificity)
    for empty_tail in (False, True):
        for template in templates:
            found = _template_regex(template, empty_tail=empty_tail).fullmatch(path)
            if found:
                return RouteMatch(template, {k: unquote(v) for k, v in found.groupdict().items()})
    raise AssertionError(
        f"No path of the OpenAPI document matches {request_path!r}; documented paths: "
        + ", ".join(sorted(spec_paths()))
    )


def find_operation(method: str, request_path: str) -> tuple[RouteMatch, dict[str, Any]]:
    """The matched template and the operation for ``method`` (AssertionError if none)."""
    route = match_path(request_path)
    item = _spec()["paths"][route.template]
    operation = item.get(method.lower())
    if operation is None:
        documented = [m.upper() for m in HTTP_METHODS if m in item]
        raise AssertionError(
            f"{method.upper()} {request_path!r} matches {route.template!r}, which documents "
            f"only {documented}"
        )
    return route, operation


def _pointer(*parts: str) -> str:
    """A URI fragment (JSON pointer, percent-encoded) for the document's ``parts``."""
    return "/".join(quote(part.replace("~", "~0").replace("/", "~1"), safe="~") for part in parts)


def validate_at(value: Any, location: tuple[str, ...], what: str = "value") -> None:
    """Assert that ``value`` matches the schema at ``location`` (the keys leading to it
    from the document's root, e.g. ``("components", "schemas", "Error")``)."""
    schema = {"$ref": f"{SPEC_URI}#/{_pointer(*location)}"}
    validator = Draft202012Validator(
        schema, registry=_registry(), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for error in errors[:10]:
            where = "/".join(str(p) for p in error.absolute_path) or "(root)"
            lines.append(f"  at {where}: {error.message[:300]}")
        shown = json.dumps(value, default=str)
        shown = shown if len(shown) <= 1500 else shown[:1500] + "…"
        raise AssertionError(
            f"{what} does not match the OpenAPI schema at #/{'/'.join(location)}:\n"
            + "\n".join(lines)
            + f"\n  body: {shown}"
        )


def _media_type(content_type: str | None) -> str | None:
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def check_response(
    method: str,
    request_path: str,
    status: int,
    body: Any,
    *,
    content_type: str | None = None,
) -> RouteMatch:
    """Assert that a response is documented and its JSON ``body`` matches its schema.

    ``request_path`` is the path as sent, without the base URL (e.g.
    ``api/bookstore/publish/a/b.ipynb``); ``body`` the parsed JSON, or None for an empty
    body; ``content_type`` the response's header, when known (then the media type must be
    documented too; a non-JSON body is not validated).  Returns the matched route.
    """
    route, operation = find_operation(method, request_path)
    what = f"{method.upper()} {request_path!r} -> {status}"
    responses = operation.get("responses", {})
    key = str(status)
    if key not in responses:
        raise AssertionError(
            f"{what}: status {status} is not documented for {method.upper()} "
            f"{route.template} (documented: {', '.join(sorted(responses))}); body: "
            f"{json.dumps(body, default=str)[:500]}"
        )
    location: tuple[str, ...] = ("paths", route.template, method.lower(), "responses", key)
    response: Any = operation["responses"][key]
    if "$ref" in response:
        ref = response["$ref"]
        location = tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/"))
        response = _resolve(response)
    content = response.get("content") or {}
    media = _media_type(content_type)
    if body is None and not content:
        return route
    if not content:
        raise AssertionError(f"{what}: the document says no body, but got {body!r:.300}")
    if media is not None and media not in content:
        raise AssertionError(
            f"{what}: Content-Type {content_type!r} is not documented "
            f"(documented: {', '.join(content)})"
        )
    if media is not None and media != "application/json":
        return route
    if "application/json" not in content:
        raise AssertionError(f"{what}: a JSON body is not documented (only {', '.join(content)})")
    if body is None:
        raise AssertionError(f"{what}: the document says a JSON body, but the body is empty")
    validate_at(body, (*location, "content", "application/json", "schema"), what)
    return route


def check_request_body(method: str, request_path: str, body: Any) -> None:
    """Assert that a JSON request ``body`` matches the documented request body schema."""
    route, operation = find_operation(method, request_path)
    request_body: Any = operation.get("requestBody")
    what = f"{method.upper()} {request_path!r} request body"
    if request_body is None:
        raise AssertionError(f"{what}: the operation documents no request body")
    location: tuple[str, ...] = ("paths", route.template, method.lower(), "requestBody")
    if "$ref" in request_body:
        ref = request_body["$ref"]
        location = tuple(p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/"))
        request_body = _resolve(request_body)
    assert "application/json" in request_body.get("content", {}), f"{what}: not JSON"
    validate_at(body, (*location, "content", "application/json", "schema"), what)
