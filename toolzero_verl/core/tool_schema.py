"""Checking one call against its tool schema, with the reason as a sentence the policy can read.

The executors (``toolzero_verl/tools/executors.py``) run this before executing a call, so a call to a
function that was not offered, a missing required parameter, a parameter outside the schema or a
value of the wrong type comes back to the policy as an error text instead of being executed; the
episode reward's −0.3 term fires on the same calls.

Types follow the schema types our converters write (docs/data.md, "Tool schemas") with BFCL's rules
(docs/rewards.md, "AST-exact matching"): an integer is accepted where a number is declared, a
boolean is not an integer, an array's items are checked one level deep, ``any`` (or an unknown type)
accepts anything.

>>> tool = {"name": "f", "parameters": {"type": "object", "required": ["city"],
...         "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}
>>> call_problem(ToolCall("f", {"city": "Paris", "days": 2}), tool) is None
True
>>> call_problem(ToolCall("f", {"days": 2.5}), tool)
"missing required parameter 'city'"
>>> call_problem(ToolCall("f", {"city": "Paris", "days": True}), tool)
"parameter 'days' must be integer, got boolean"
"""

from __future__ import annotations

from typing import Any, Mapping

from toolzero_verl.core.calls import ToolCall

# schema type -> the Python types that satisfy it
ACCEPTED: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "float": (float, int),
    "number": (float, int),
    "boolean": (bool,),
    "array": (list, tuple),
    "tuple": (list, tuple),
    "dict": (dict,),
    "object": (dict,),
}
JSON_NAMES = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", tuple: "array",
              dict: "object", type(None): "null"}


def type_name(value: Any) -> str:
    return JSON_NAMES.get(type(value), type(value).__name__)


def value_fits(value: Any, declared: Any) -> bool:
    """Does ``value`` have the declared schema type (``any``, lists of types and unknown names accept it)?"""
    if not isinstance(declared, str):
        return True
    accepted = ACCEPTED.get(declared)
    if accepted is None:
        return True
    if type(value) is bool:
        return declared == "boolean"
    return isinstance(value, accepted)


def call_problem(call: ToolCall, tool: Mapping[str, Any] | None) -> str | None:
    """Why ``call`` breaks its tool's schema (None when it does not). ``tool`` None: not offered."""
    if tool is None:
        return f"unknown function {call.name!r}"
    params = tool.get("parameters") if isinstance(tool.get("parameters"), Mapping) else {}
    props = params.get("properties") if isinstance(params.get("properties"), Mapping) else {}
    required = params.get("required") if isinstance(params.get("required"), (list, tuple)) else ()
    args = call.arguments
    for name in required:
        if name not in args:
            return f"missing required parameter {name!r}"
    for name, value in args.items():
        prop = props.get(name)
        if not isinstance(prop, Mapping):
            return f"unexpected parameter {name!r}; the parameters are {sorted(map(str, props))}"
        declared = prop.get("type")
        if not value_fits(value, declared):
            return f"parameter {name!r} must be {declared}, got {type_name(value)}"
        items = prop.get("items")
        if declared in ("array", "tuple") and isinstance(items, Mapping):
            bad = next((v for v in value if not value_fits(v, items.get("type"))), _NONE)
            if bad is not _NONE:
                return f"items of parameter {name!r} must be {items.get('type')}, got {type_name(bad)}"
        enum = prop.get("enum")
        if isinstance(enum, (list, tuple)) and enum and value not in enum:
            return f"parameter {name!r} must be one of {list(enum)[:10]}"
    return None


_NONE = object()
