"""Tool schemas: Python-ish / ToolACE / xLAM type strings -> the normalised schema types of docs/data.md §4.

Every tool leaves ``data_prep`` as ``{"name", "description", "parameters": {"type": "object",
"properties": {...}, "required": [...]}}`` whose property types are one of :data:`SCHEMA_TYPES`
(BFCL's checker vocabulary, so the reward's AST matcher and BFCL read them the same way).

>>> normalise_type("List[int]")
TypeInfo(type='array', items='integer', optional=False, nullable=False)
>>> normalise_type("str, optional").optional
True
>>> normalise_type("Tuple[float, float]")
TypeInfo(type='tuple', items='float', optional=False, nullable=False)
>>> normalise_default("10", "integer")
(10, True)
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping

from .limits import MAX_TYPE_CHARS, MAX_TYPE_NESTING, TooDeep, check_nesting

# BFCL's checker types (simple_function_checker in GitHub ShishirPatil/gorilla,
# berkeley-function-call-leaderboard/bfcl_eval/eval_checker/ast_eval/ast_checker.py): string, integer,
# float, boolean, array, tuple, dict, any. ``float`` is our spelling of JSON Schema's ``number``;
# ``dict`` of ``object``.
SCHEMA_TYPES = ("string", "integer", "float", "boolean", "array", "tuple", "dict", "any")

# Base names seen in ToolACE (`string`, `float`, `int`, `boolean`, `array`, `dict`, `object`) and
# xLAM (`str`, `int`, `float`, `bool`, `List[...]`, `Tuple[...]`, `Dict`, `list`, `set`, `Callable`).
_BASE = {
    "str": "string", "string": "string", "text": "string", "char": "string", "date": "string",
    "datetime": "string", "time": "string", "email": "string", "url": "string", "uri": "string",
    "int": "integer", "integer": "integer", "long": "integer",
    "float": "float", "number": "float", "double": "float", "decimal": "float", "num": "float",
    "bool": "boolean", "boolean": "boolean",
    "list": "array", "array": "array", "set": "array", "sequence": "array", "iterable": "array",
    "frozenset": "array",
    "tuple": "tuple",
    "dict": "dict", "object": "dict", "mapping": "dict", "json": "dict", "map": "dict",
    "any": "any", "callable": "any", "function": "any", "none": "any", "null": "any",
}
_SCALARS = {"string", "integer", "float", "boolean"}
_NONE = ("none", "nonetype", "null")


@dataclass(frozen=True)
class TypeInfo:
    """A normalised parameter type. ``items`` is the element type of an array/tuple, when uniform."""

    type: str
    items: str | None = None
    optional: bool = False  # the type string said so (`str, optional`, `Optional[int]`)
    nullable: bool = False  # `["string", "null"]` or `Optional[...]`


def _split_top(text: str) -> list[str]:
    """Split ``a, b[c, d], e`` on top-level commas."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


_GENERIC = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(?:\[(.*)\])?\s*$", re.DOTALL)


def _parse(text: str) -> TypeInfo:
    m = _GENERIC.match(text)
    if not m:
        return TypeInfo("any")
    head = m.group(1).split(".")[-1].lower()  # typing.List -> list
    args = _split_top(m.group(2)) if m.group(2) is not None else []
    if head == "optional":
        inner = _parse(args[0]) if args else TypeInfo("any")
        return TypeInfo(inner.type, inner.items, True, True)
    if head == "union":
        nullable = any(a.lower() in _NONE for a in args)
        members = [_parse(a) for a in args if a.lower() not in _NONE]
        kinds = {t.type for t in members}
        if kinds == {"integer", "float"}:
            return TypeInfo("float", nullable=nullable)
        if len(kinds) == 1:
            return TypeInfo(members[0].type, members[0].items, nullable, nullable)
        return TypeInfo("any", nullable=nullable)
    if head == "literal":
        values = [a.strip() for a in args]
        if values and all(v[:1] in "'\"" for v in values):
            return TypeInfo("string")
        return TypeInfo("any")
    base = _BASE.get(head, "any")
    if base in ("array", "tuple") and args:
        # A uniform element type is checked one level deep; mixed or union elements are left
        # unchecked, because BFCL's nested check is strict (an int in a float array fails).
        items = [_parse(a) for a in args if a != "..."]
        kinds = {t.type for t in items}
        uniform = len(kinds) == 1 and not any(_GENERIC.match(a) and a.lower().startswith("union") for a in args)
        item = kinds.pop() if uniform else None
        return TypeInfo(base, None if item == "any" else item)
    return TypeInfo(base)


def normalise_type(raw: Any) -> TypeInfo:
    """Normalise a type as found in a corpus: a string (`int, optional`, `List[int]`) or a list
    (`["string", "null"]`)."""
    if isinstance(raw, str):
        return _normalise_type_str(raw)  # a few hundred distinct strings: cached
    if isinstance(raw, (list, tuple)):
        names = [str(r).strip().lower() for r in raw]
        nullable = "null" in names or "none" in names
        kinds = {normalise_type(n).type for n in names if n not in ("null", "none")}
        if kinds == {"integer", "float"}:
            kinds = {"float"}
        kind = kinds.pop() if len(kinds) == 1 else "any"
        return TypeInfo(kind, None, False, nullable)
    return TypeInfo("any")


def _check_type_size(raw: str) -> None:
    """Bound the work on a hostile type string: :func:`_parse` recurses per bracket level."""
    depth = deepest = 0
    for ch in raw:
        if ch in "[(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "])":
            depth -= 1
    if deepest > MAX_TYPE_NESTING:
        raise TooDeep(f"type string nests deeper than {MAX_TYPE_NESTING} levels")
    if len(raw) > MAX_TYPE_CHARS:
        raise ValueError(f"type string longer than {MAX_TYPE_CHARS} characters")


@lru_cache(maxsize=4096)
def _normalise_type_str(raw: str) -> TypeInfo:
    if not raw.strip():
        return TypeInfo("any")
    _check_type_size(raw)
    text = raw.strip()
    optional = False
    # `str, optional` / `int, default 5` / `str (optional)`: a trailing qualifier after the type.
    lowered = text.lower()
    if re.search(r"(,|\()\s*optional\s*\)?\s*$", lowered):
        optional = True
        text = re.sub(r"\s*(,|\()\s*optional\s*\)?\s*$", "", text, flags=re.IGNORECASE)
    elif "," in text and not re.search(r"[\[(]", text.split(",")[0]):
        head, _, tail = text.partition(",")
        if "optional" in tail.lower():
            optional = True
        text = head
    info = _parse(text)
    if optional:
        return TypeInfo(info.type, info.items, True, info.nullable)
    return info


# --- defaults -----------------------------------------------------------------------------------

_INT = re.compile(r"^[+-]?\d+$")
_FLOAT = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def normalise_default(value: Any, schema_type: str) -> tuple[Any, bool]:
    """Coerce a loosely typed default to the schema type; ``(value, usable)``.

    xLAM writes `"default": ""` for "no default", string numbers (`"10"` for an int), the strings
    `"true"`/`"false"`, and some nonsense (`1.2` for an int, `10` for a list). A default that cannot
    be converted without loss is unusable (dropped), never guessed.
    """
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return None, False
    coerced, ok = coerce_value(value, schema_type)
    return (coerced, True) if ok and matches_type(coerced, schema_type) else (None, False)


def coerce_value(value: Any, schema_type: str, items: str | None = None) -> tuple[Any, bool]:
    """Lossless conversion of ``value`` to ``schema_type``; ``(value, True)`` when it now matches.

    Only conversions that cannot change meaning: number <-> numeric string, integral float -> int,
    `"true"`/`"false"` -> bool, int -> float inside float arrays (BFCL checks array items strictly),
    JSON text -> list/dict for array/tuple/dict parameters.
    """
    if schema_type == "string":
        if isinstance(value, bool):
            return value, False
        if isinstance(value, int):
            return str(value), True
        if isinstance(value, float) and math.isfinite(value):
            return repr(value), True
        return value, isinstance(value, str)
    if schema_type == "integer":
        if isinstance(value, bool):
            return value, False
        if isinstance(value, int):
            return value, True
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value), True
        if isinstance(value, str) and _INT.match(value.strip()):
            return int(value.strip()), True
        return value, False
    if schema_type == "float":
        if isinstance(value, bool):
            return value, False
        if isinstance(value, (int, float)):
            return value, math.isfinite(value)
        if isinstance(value, str) and _FLOAT.match(value.strip()):
            f = float(value.strip())
            return (f, True) if math.isfinite(f) else (value, False)
        return value, False
    if schema_type == "boolean":
        if isinstance(value, bool):
            return value, True
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true", True
        return value, False
    if schema_type in ("array", "tuple", "dict") and isinstance(value, str) and value[:1] in "[{":
        # ToolRL stringified ToolACE's structured values as JSON text ('{"start_date": ...}').
        try:
            decoded = json.loads(value)
        except ValueError:
            return value, False
        if not isinstance(decoded, dict if schema_type == "dict" else list):
            return value, False
        value = decoded
    if schema_type in ("array", "tuple"):
        if isinstance(value, tuple):
            value = list(value)
        if not isinstance(value, list):
            return value, False
        if items in _SCALARS:
            out = []
            for v in value:
                if items == "float" and isinstance(v, int) and not isinstance(v, bool):
                    out.append(float(v))
                    continue
                c, ok = coerce_value(v, items)
                if not ok:
                    return value, False
                out.append(c)
            return out, True
        return value, True
    if schema_type == "dict":
        return value, isinstance(value, dict)
    return value, True


def matches_type(value: Any, schema_type: str, items: str | None = None, nullable: bool = False) -> bool:
    """BFCL's python type check (its ``ast_checker.py``, see :data:`SCHEMA_TYPES`), one level deep for items."""
    if value is None:
        return nullable or schema_type == "any"
    if schema_type == "string":
        return isinstance(value, str)
    if schema_type == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if schema_type == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)  # int accepted for scalar float
    if schema_type == "boolean":
        return isinstance(value, bool)
    if schema_type == "array":
        ok = isinstance(value, list)  # BFCL rejects a tuple for an array parameter
    elif schema_type == "tuple":
        ok = isinstance(value, (list, tuple))
    elif schema_type == "dict":
        return isinstance(value, dict)
    else:
        return True
    if not ok or items is None or items == "any":
        return ok
    return all(_item_ok(v, items) for v in value)


def _item_ok(v: Any, items: str) -> bool:
    # Nested items are strict: an int inside a float array fails (BFCL `type_error:nested`).
    if items == "float":
        return isinstance(v, float)
    return matches_type(v, items)


# --- tools --------------------------------------------------------------------------------------


def _property(raw: Mapping[str, Any], info: TypeInfo) -> tuple[dict, bool]:
    """One normalised property; returns ``(schema, has_default)``."""
    prop: dict[str, Any] = {"type": info.type}
    desc = raw.get("description")
    if isinstance(desc, str) and desc:
        prop["description"] = desc
    items = info.items
    raw_items = raw.get("items")
    if items is None and isinstance(raw_items, dict) and "type" in raw_items:
        items = normalise_type(raw_items["type"]).type
        items = None if items == "any" else items
    if info.type in ("array", "tuple") and items:
        prop["items"] = {"type": items}
    if info.nullable:
        prop["nullable"] = True
    enum = raw.get("enum")
    if isinstance(enum, list) and enum:
        prop["enum"] = list(enum)
    has_default = False
    if "default" in raw:
        default, has_default = normalise_default(raw["default"], info.type)
        if info.type in ("array", "tuple") and has_default:
            default, has_default = coerce_value(default, info.type, items)
        if has_default:
            prop["default"] = default
    return prop, has_default


def flat_tool(raw: Mapping[str, Any], required_policy: str = "inferred") -> dict:
    """An xLAM-style tool (flat ``{param: {"type", "description", "default"}}`` map) normalised.

    ``required_policy``: ``inferred`` (default) = not marked optional and no usable default;
    ``strict`` = not marked optional; ``none`` = nothing required (ToolRL's rows dropped ``required``).
    """
    props, required = {}, []
    params = raw.get("parameters") or {}
    if not isinstance(params, dict):
        raise ValueError("parameters must be an object")
    if params.get("type") in ("object", "dict") and isinstance(params.get("properties"), dict):
        return schema_tool(raw)  # already JSON-Schema-like
    for pname, praw in params.items():
        if not isinstance(praw, dict):
            raise ValueError(f"parameter {pname!r} must be an object")
        info = normalise_type(praw.get("type"))
        prop, has_default = _property(praw, info)
        props[str(pname)] = prop
        if required_policy == "none" or info.optional:
            continue
        if required_policy == "strict" or not has_default:
            required.append(str(pname))
    return _tool(raw, props, required)


def schema_tool(raw: Mapping[str, Any]) -> dict:
    """A ToolACE/BFCL-style tool (``parameters: {"type": "dict", "properties", "required"}``) normalised."""
    params = raw.get("parameters") or {}
    if not isinstance(params, dict):
        raise ValueError("parameters must be an object")
    props_raw = params.get("properties") or {}
    if not isinstance(props_raw, dict):
        raise ValueError("properties must be an object")
    props = {}
    for pname, praw in props_raw.items():
        if not isinstance(praw, dict):
            raise ValueError(f"property {pname!r} must be an object")
        props[str(pname)], _ = _property(praw, normalise_type(praw.get("type")))
    req = params.get("required") or []
    if not isinstance(req, list):
        req = []
    required = [r for r in req if isinstance(r, str) and r in props]
    return _tool(raw, props, required)


def _tool(raw: Mapping[str, Any], props: dict, required: list[str]) -> dict:
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a tool needs a non-empty string name")
    desc = raw.get("description")
    tool = {
        "name": name,
        "description": desc if isinstance(desc, str) else "",
        "parameters": {"type": "object", "properties": props, "required": required},
    }
    check_nesting(tool, f"tool {name!r}")  # enum and default values are kept as given
    return tool


# --- memoised normalisation ---------------------------------------------------------------------

TOOL_CACHE_SIZE = 1 << 16  # distinct raw tools kept; xLAM has ~3.7k APIs, ToolACE ~26.5k
_TOOL_CACHE: dict[tuple[str, str, str], dict] = {}


def tools_from_items(items: list[tuple[str, Any]], kind: str, required_policy: str = "inferred") -> list[dict]:
    """Normalise ``(raw JSON text, value)`` tool items (:func:`data_prep.reader.json_list_items`),
    memoised by the raw text. ``kind`` is ``flat`` (xLAM) or ``schema`` (ToolACE). The returned
    dicts may be shared between samples and must not be mutated. Raises ``ValueError``."""
    out = []
    for text, value in items:
        key = (kind, required_policy, text)
        tool = _TOOL_CACHE.get(key)
        if tool is None:
            if not isinstance(value, dict):
                raise ValueError("each tool must be an object")
            tool = flat_tool(value, required_policy) if kind == "flat" else schema_tool(value)
            if len(_TOOL_CACHE) >= TOOL_CACHE_SIZE:
                _TOOL_CACHE.clear()
            _TOOL_CACHE[key] = tool
        out.append(tool)
    return out
