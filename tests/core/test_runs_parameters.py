"""The parameters a notebook declares (papermill's inspection of its ``parameters`` cell)
and the checks of the values a run passes: types, names, JSON values, templates."""

from __future__ import annotations

import math
from typing import Any

import nbformat
import pytest
from nbformat import v4

from bookstore.core.runs.parameters import (
    Parameter,
    check_parameters,
    check_templates,
    declared_parameters,
    render_templates,
)
from bookstore.errors import DocumentTooDeep, InvalidNotebook, InvalidRequest

KNOWN = ("fire_time", "date", "run_id", "schedule")
CONTEXT = {
    "fire_time": "2024-03-31T02:30:00Z",
    "date": "2024-03-31",
    "run_id": "r-1",
    "schedule": "s-9",
}


def notebook(parameters: str | None, *, kernelspec: bool = True) -> bytes:
    nb = v4.new_notebook()
    if kernelspec:
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [v4.new_markdown_cell("# title"), v4.new_code_cell("import os")]
    if parameters is not None:
        cell = v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        nb.cells.append(cell)
    nb.cells.append(v4.new_code_cell("print(limit)"))
    text: str = nbformat.writes(nb)
    return text.encode()


DECLARING = """\
limit: int = 10  # how many rows
ratio: float = 0.5
name: str = "ada"
untyped = -3  # a literal's type
dry_run: bool = False
columns: list[str] = [
    "a",  # first
    "b",
]
options: Dict[str, int] = {}
anything = os.getcwd()
nothing: NoneType = None
stamp = None  # type: datetime
"""


def by_name(parameters: list[Parameter]) -> dict[str, Parameter]:
    return {parameter.name: parameter for parameter in parameters}


# -- declared_parameters ------------------------------------------------------------------


def test_declared_parameters_name_type_default_and_help() -> None:
    declared = declared_parameters(notebook(DECLARING))
    assert [p.name for p in declared] == [
        "limit",
        "ratio",
        "name",
        "untyped",
        "dry_run",
        "columns",
        "options",
        "anything",
        "nothing",
        "stamp",
    ]
    found = by_name(declared)
    assert found["limit"] == Parameter("limit", "int", "10", "how many rows")
    assert found["ratio"].type == "float"
    assert found["name"] == Parameter("name", "str", '"ada"', "")
    assert found["untyped"] == Parameter("untyped", "int", "-3", "a literal's type")
    assert found["dry_run"].type == "bool"
    assert found["columns"].type == "list"
    assert found["columns"].default.replace(" ", "") == '["a","b",]'
    assert found["options"].type == "dict"
    # no annotation, or one papermill's types do not cover: anything goes
    assert found["anything"] == Parameter("anything", "any", "os.getcwd()", "")
    assert found["nothing"].type == "none"
    assert found["stamp"].type == "any"
    assert found["limit"].to_json() == {
        "name": "limit",
        "type": "int",
        "default": "10",
        "help": "how many rows",
    }


@pytest.mark.parametrize(
    ("default", "kind"),
    [
        ("10", "int"),
        ("-1", "int"),
        ("0.5", "float"),
        ("1e3", "float"),
        ("'x'", "str"),
        ('"""multi"""', "str"),
        ("True", "bool"),
        ("None", "none"),
        ("[1, 'a']", "list"),
        ("{'a': 1}", "dict"),
        ("(1, 2)", "any"),
        ("{1, 2}", "any"),
        ("1j", "any"),
        ("os.getcwd()", "any"),
        ("__import__('os').system('echo no')", "any"),
        ("datetime.now()", "any"),
        ("other", "any"),
    ],
)
def test_an_unannotated_parameter_has_its_literal_default_type(default: str, kind: str) -> None:
    (declared,) = declared_parameters(notebook(f"x = {default}"))
    assert (declared.type, declared.default) == (kind, default)


def test_an_annotation_wins_over_the_default() -> None:
    (declared,) = declared_parameters(notebook("x: float = 1"))
    assert declared.type == "float"
    assert check_parameters([declared], {"x": 0.5}) == {"x": 0.5}


def test_a_notebook_without_a_parameters_cell_declares_none() -> None:
    assert declared_parameters(notebook(None)) == []


def test_a_notebook_without_kernel_metadata_is_read_as_python() -> None:
    declared = declared_parameters(notebook("limit: int = 3", kernelspec=False))
    assert declared == [Parameter("limit", "int", "3", "")]


@pytest.mark.parametrize(
    "source",
    [b"", b"not json", b"[1, 2]", b'{"cells": []}', b"\xff\xfe", b'{"nbformat": 3}'],
)
def test_not_a_notebook_is_refused(source: bytes) -> None:
    with pytest.raises(InvalidNotebook):
        declared_parameters(source)


# -- check_parameters ---------------------------------------------------------------------

DECLARED = [
    Parameter("limit", "int", "10", ""),
    Parameter("ratio", "float", "0.5", ""),
    Parameter("name", "str", '"ada"', ""),
    Parameter("dry_run", "bool", "False", ""),
    Parameter("columns", "list", '["a"]', ""),
    Parameter("options", "dict", "{}", ""),
    Parameter("anything", "any", "os.getcwd()", ""),
    Parameter("nothing", "none", "None", ""),
]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", 3),
        ("limit", -(2**70)),
        ("ratio", 0.25),
        ("ratio", 2),  # an int is a float
        ("name", ""),
        ("name", "1+1"),
        ("dry_run", True),
        ("columns", []),
        ("columns", [1, "x", None, [{"a": 1.5}]]),
        ("options", {"nested": {"list": [True]}}),
        ("anything", None),
        ("anything", {"a": [1]}),
        ("nothing", 7),
        ("undeclared", "passed on"),
    ],
)
def test_values_of_the_declared_type_pass(name: str, value: Any) -> None:
    checked = check_parameters(DECLARED, {name: value})
    assert checked == {name: value}


@pytest.mark.parametrize(
    ("name", "value", "got"),
    [
        ("limit", "10", "str '10'"),
        ("limit", 10.0, "float 10.0"),  # integral, still not an int
        ("limit", True, "bool True"),  # a bool is not an int
        ("limit", None, "None"),
        ("ratio", "0.5", "str '0.5'"),
        ("ratio", False, "bool False"),
        ("name", 1, "int 1"),
        ("name", ["ada"], "list ['ada']"),
        ("dry_run", 0, "int 0"),
        ("dry_run", "false", "str 'false'"),
        ("columns", {"a": 1}, "dict {'a': 1}"),
        ("columns", "a,b", "str 'a,b'"),
        ("options", [], "list []"),
    ],
)
def test_values_of_another_type_are_refused(name: str, value: Any, got: str) -> None:
    declared = next(p for p in DECLARED if p.name == name)
    with pytest.raises(InvalidRequest) as caught:
        check_parameters(DECLARED, {name: value})
    assert str(caught.value) == (
        f"parameters.{name}: expected {declared.type} (the notebook declares "
        f"{name} = {declared.default}), got {got}"
    )


def test_the_message_of_the_brief() -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_parameters([Parameter("limit", "int", "10", "")], {"limit": "10"})
    assert str(caught.value) == (
        "parameters.limit: expected int (the notebook declares limit = 10), got str '10'"
    )


def test_long_values_and_defaults_are_shortened_in_messages() -> None:
    declared = [Parameter("limit", "int", "1" * 200, "")]
    with pytest.raises(InvalidRequest) as caught:
        check_parameters(declared, {"limit": "x" * 500})
    assert len(str(caught.value)) < 250
    assert "…" in str(caught.value)


@pytest.mark.parametrize("given", [None, [], "limit=1", 3, [("limit", 1)], {1: 2}])
def test_parameters_must_be_an_object_of_names(given: Any) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_parameters(DECLARED, given)
    assert str(caught.value) == "parameters must be a JSON object of name: value"


@pytest.mark.parametrize("name", ["", "1st", "a-b", "a b", "x; import os", "é=1"])
def test_names_must_be_identifiers(name: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_parameters(DECLARED, {name: 1})
    assert "not a valid parameter name (a Python identifier)" in str(caught.value)
    assert repr(name)[:20] in str(caught.value)


@pytest.mark.parametrize("name", ["class", "None", "lambda"])
def test_names_must_not_be_keywords(name: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_parameters(DECLARED, {name: 1})
    assert str(caught.value) == (
        f"parameters: {name!r} is a Python keyword, not a valid parameter name."
    )


def test_unicode_identifiers_are_names() -> None:
    assert check_parameters([], {"größe": 1}) == {"größe": 1}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "parameters.x: NaN and infinity are not JSON values."),
        (math.inf, "parameters.x: NaN and infinity are not JSON values."),
        ([1, [2, -math.inf]], "parameters.x[1][1]: NaN and infinity are not JSON values."),
        ({"a": {"b": math.nan}}, "parameters.x.a.b: NaN and infinity are not JSON values."),
        ({1: "a"}, "parameters.x: object keys must be strings, not 1."),
        ((1, 2), "parameters.x: not a JSON value (tuple)."),
        ({"s": {1, 2}}, "parameters.x.s: not a JSON value (set)."),
        (b"bytes", "parameters.x: not a JSON value (bytes)."),
    ],
)
def test_values_must_be_json(value: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        check_parameters([Parameter("x", "any", "0", "")], {"x": value})
    assert str(caught.value) == message


def test_values_nested_too_deeply_are_refused() -> None:
    value: Any = 1
    for _ in range(200):
        value = [value]
    with pytest.raises(DocumentTooDeep):
        check_parameters([], {"deep": value})


def test_strict_refuses_undeclared_names_listing_the_declared() -> None:
    declared = DECLARED[:2]
    with pytest.raises(InvalidRequest) as caught:
        check_parameters(declared, {"limit": 1, "lmit": 2}, strict=True)
    assert str(caught.value) == (
        "parameters.lmit: the notebook declares no parameter 'lmit'; it declares limit, ratio."
    )
    with pytest.raises(InvalidRequest) as caught:
        check_parameters([], {"x": 1}, strict=True)
    assert str(caught.value).endswith("it declares none.")
    assert check_parameters(declared, {"limit": 1}, strict=True) == {"limit": 1}


def test_the_result_is_a_copy() -> None:
    given: dict[str, Any] = {"columns": ["a"], "options": {"k": [1]}}
    checked = check_parameters(DECLARED, given)
    assert checked == given
    checked["columns"].append("b")
    checked["options"]["k"].append(2)
    assert given == {"columns": ["a"], "options": {"k": [1]}}
    assert check_parameters(DECLARED, {}) == {}


# -- templates ----------------------------------------------------------------------------


def test_templates_are_rendered_in_strings_lists_and_objects() -> None:
    given: dict[str, Any] = {
        "day": "{{ date }}",
        "tight": "{{date}}/{{run_id}}",
        "spaced": "{{   fire_time\t}}",
        "report": "reports/{{ schedule }}/{{ date }}.csv",
        "nested": {"paths": ["{{ run_id }}", 3, {"deep": "at {{ fire_time }}"}]},
        "plain": "no template {here} or {{ here",
        "number": 5,
        "none": None,
    }
    rendered = render_templates(given, CONTEXT)
    assert rendered == {
        "day": "2024-03-31",
        "tight": "2024-03-31/r-1",
        "spaced": "2024-03-31T02:30:00Z",
        "report": "reports/s-9/2024-03-31.csv",
        "nested": {"paths": ["r-1", 3, {"deep": "at 2024-03-31T02:30:00Z"}]},
        "plain": "no template {here} or {{ here",
        "number": 5,
        "none": None,
    }
    assert given["day"] == "{{ date }}"  # not modified


def test_rendering_is_a_single_pass_and_evaluates_nothing() -> None:
    context = {**CONTEXT, "run_id": "{{ date }}"}
    assert render_templates({"x": "{{ run_id }}"}, context) == {"x": "{{ date }}"}
    with pytest.raises(InvalidRequest):
        render_templates({"x": "{{ 1 + 1 }}"}, CONTEXT)


def test_keys_are_not_templates() -> None:
    assert render_templates({"x": {"{{ date }}": 1}}, CONTEXT) == {"x": {"{{ date }}": 1}}


@pytest.mark.parametrize(
    ("value", "where", "name"),
    [
        ("{{ tomorrow }}", "parameters.x", "tomorrow"),
        (["ok", "{{ Date }}"], "parameters.x[1]", "Date"),
        ({"a": {"b": "{{ os.getcwd() }}"}}, "parameters.x.a.b", "os.getcwd()"),
        ("{{}}", "parameters.x", ""),
    ],
)
def test_unknown_templates_are_refused_listing_the_known(value: Any, where: str, name: str) -> None:
    expected = (
        f"{where}: unknown template {{{{ {name} }}}}; the known ones are "
        "{{ date }}, {{ fire_time }}, {{ run_id }}, {{ schedule }}."
    )
    with pytest.raises(InvalidRequest) as caught:
        check_templates({"x": value}, KNOWN)
    assert str(caught.value) == expected
    with pytest.raises(InvalidRequest) as caught:
        render_templates({"x": value}, CONTEXT)
    assert str(caught.value) == expected


def test_check_templates_accepts_the_known() -> None:
    check_templates({"a": "{{ date }}-{{run_id}}", "b": ["{{ schedule }}"], "c": 1}, KNOWN)
    check_templates({}, KNOWN)
