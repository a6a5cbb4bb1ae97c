"""Type-string normalisation, defaults and tool normalisation (data_prep.types)."""

from __future__ import annotations

import pytest

from data_prep.types import coerce_value, flat_tool, matches_type, normalise_default, normalise_type, schema_tool


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("str", ("string", None, False)),
        ("str, optional", ("string", None, True)),
        ("int, optional", ("integer", None, True)),
        ("float, optional", ("float", None, True)),
        ("bool", ("boolean", None, False)),
        ("List[int]", ("array", "integer", False)),
        ("List[float]", ("array", "float", False)),
        ("List[str], optional", ("array", "string", True)),
        ("List[List[int]]", ("array", "array", False)),
        ("List[Union[int, float]]", ("array", None, False)),  # mixed items stay unchecked
        ("Tuple[float, float]", ("tuple", "float", False)),
        ("Tuple[int, str]", ("tuple", None, False)),
        ("Dict", ("dict", None, False)),
        ("Dict[str, Any]", ("dict", None, False)),
        ("List", ("array", None, False)),
        ("list", ("array", None, False)),
        ("set", ("array", None, False)),
        ("Callable[[float], float]", ("any", None, False)),
        ("Optional[int]", ("integer", None, True)),
        ("Union[int, float]", ("float", None, False)),
        ("dict", ("dict", None, False)),  # ToolACE
        ("object", ("dict", None, False)),
        ("number", ("float", None, False)),
        (["string", "null"], ("string", None, False)),  # ToolACE's list-valued type
        ("", ("any", None, False)),
        (None, ("any", None, False)),
        ("gibberish[", ("any", None, False)),
    ],
)
def test_normalise_type(raw, expected):
    t = normalise_type(raw)
    assert (t.type, t.items, t.optional) == expected


def test_nullable():
    assert normalise_type(["string", "null"]).nullable
    assert normalise_type("Optional[str]").nullable
    assert not normalise_type("str").nullable


@pytest.mark.parametrize(
    "value, stype, expected",
    [
        ("10", "integer", (10, True)),  # xLAM: string numbers
        (3633, "integer", (3633, True)),
        (1.2, "integer", (None, False)),  # xLAM id 41496: nonsense default is dropped
        ("49.2803703", "integer", (None, False)),
        ("false", "boolean", (False, True)),  # string booleans
        (True, "boolean", (True, True)),
        (10, "array", (None, False)),  # xLAM id 32273
        ("", "string", (None, False)),  # "" means "no default"
        ("game", "string", ("game", True)),
        ("1.5", "float", (1.5, True)),
    ],
)
def test_normalise_default(value, stype, expected):
    assert normalise_default(value, stype) == expected


@pytest.mark.parametrize(
    "value, stype, items, expected",
    [
        (10001, "string", None, ("10001", True)),  # ToolACE: bare numbers for string params
        ("7", "integer", None, (7, True)),
        (7.0, "integer", None, (7, True)),
        (7.5, "integer", None, (7.5, False)),
        (True, "integer", None, (True, False)),  # bools are never numbers
        ("True", "boolean", None, (True, True)),
        ([1, 2.5], "array", "float", ([1.0, 2.5], True)),  # BFCL checks float items strictly
        ((1, 2), "array", None, ([1, 2], True)),  # BFCL rejects a tuple for an array
        ('{"a": 1}', "dict", None, ({"a": 1}, True)),  # ToolRL's stringified JSON
        ('{"a": 1', "dict", None, ('{"a": 1', False)),
        ("x", "any", None, ("x", True)),
    ],
)
def test_coerce_value(value, stype, items, expected):
    assert coerce_value(value, stype, items) == expected


def test_matches_type_follows_bfcl():
    assert matches_type(3, "float")  # int accepted for a scalar float
    assert not matches_type(3.0, "integer")  # float never for integer
    assert not matches_type(True, "integer")
    assert not matches_type([1, 2], "array", "float")  # ints inside a float array fail
    assert matches_type((1.0, 2.0), "tuple", "float")
    assert not matches_type((1, 2), "array")
    assert matches_type(None, "string", nullable=True) and not matches_type(None, "string")
    assert matches_type({"x": object()}, "any")


def test_flat_tool_required_policies():
    raw = {
        "name": "t",
        "description": "d",
        "parameters": {
            "a": {"type": "str", "description": "", "default": ""},  # no usable default -> required
            "b": {"type": "int", "description": "", "default": "5"},  # usable default -> optional
            "c": {"type": "bool, optional", "description": "", "default": "false"},
            "d": {"type": "float", "description": ""},  # no default key -> required
        },
    }
    t = flat_tool(raw)
    props = t["parameters"]["properties"]
    assert t["parameters"]["required"] == ["a", "d"]
    assert props["b"]["default"] == 5 and props["c"]["default"] is False and "default" not in props["a"]
    assert flat_tool(raw, "strict")["parameters"]["required"] == ["a", "b", "d"]
    assert flat_tool(raw, "none")["parameters"]["required"] == []
    assert t["parameters"]["type"] == "object"


def test_parameter_named_type_is_a_parameter():
    # xLAM id 0: a parameter literally named "type" must not be read as a schema keyword
    t = flat_tool(
        {
            "name": "g",
            "description": "",
            "parameters": {"type": {"type": "str", "description": "kind", "default": "game"}},
        }
    )
    assert t["parameters"]["properties"] == {"type": {"type": "string", "description": "kind", "default": "game"}}


def test_schema_tool_toolace():
    raw = {
        "name": "Get Image",
        "description": "d",
        "required": None,
        "parameters": {
            "type": "dict",
            "properties": {
                "sport": {"type": "string", "description": "s", "enum": ["football", "rugby"]},
                "size": {"type": "int", "description": "", "default": "64"},
                "tags": {"type": "array", "description": "", "items": {"type": "string"}},
                "note": {"type": ["string", "null"], "description": ""},
            },
            "required": ["sport", "ghost"],
        },
    }
    t = schema_tool(raw)
    p = t["parameters"]
    assert p["required"] == ["sport"]  # a required name without a property is dropped
    assert p["properties"]["size"] == {"type": "integer", "default": 64}
    assert p["properties"]["tags"]["items"] == {"type": "string"}
    assert p["properties"]["note"]["nullable"] is True
    assert p["properties"]["sport"]["enum"] == ["football", "rugby"]


def test_bad_tools_raise():
    with pytest.raises(ValueError):
        flat_tool({"name": "", "parameters": {}})
    with pytest.raises(ValueError):
        flat_tool({"name": "x", "parameters": {"a": "str"}})
    with pytest.raises(ValueError):
        schema_tool({"name": "x", "parameters": ["a"]})
