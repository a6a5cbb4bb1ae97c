"""Validation of a converted sample: the gold calls must be exactly right against the offered tools.

A row is only written when a response that renders its ground truth scores the maximum strict
reward, so the gold must pass the same checks the AST matcher applies (docs/rewards.md, "AST-exact
matching"): known function,
no argument outside the schema, every required parameter present, BFCL-typed values. Gold values
that are merely spelled loosely are converted first when the conversion is lossless (``"10"`` for
an integer, ``10001`` for a string, ints inside a float array; see :func:`data_prep.types.coerce_value`);
``coerce=False`` rejects them instead.

>>> from toolzero_verl.core.calls import ToolCall
>>> from data_prep.sample import Message, Sample
>>> tool = {"name": "f", "description": "", "parameters": {"type": "object",
...         "properties": {"n": {"type": "integer"}}, "required": ["n"]}}
>>> s = Sample("demo", "1", (Message("user", "q"),), (tool,), (ToolCall("f", {"n": "3"}),))
>>> out = validate(s)
>>> out.sample.calls[0].arguments, out.coerced
({'n': 3}, 1)
>>> validate(Sample("demo", "2", (Message("user", "q"),), (tool,), (ToolCall("g", {}),))).rejected.reason
'unknown_function'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from toolzero_verl.core.calls import ToolCall

from . import reasons as R
from .limits import MAX_NESTING, nesting_ok, text_ok
from .sample import Rejected, Sample
from .types import coerce_value, matches_type


@dataclass(frozen=True)
class Checked:
    """The outcome of :func:`validate`: a (possibly coerced) sample, or a rejection."""

    sample: Sample | None = None
    rejected: Rejected | None = None
    coerced: int = 0  # gold values converted losslessly to their schema type


def _reject(sample: Sample, reason: str, detail: str) -> Checked:
    return Checked(rejected=Rejected(sample.source, sample.source_id, reason, detail))


def _finite(value: Any) -> bool:
    """No NaN/infinity anywhere (JSON has no literal for them)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


# Value types that pass a scalar schema type as they are (BFCL: int is fine for a scalar float).
_EXACT = {"string": frozenset({str}), "integer": frozenset({int}), "float": frozenset({float, int}),
          "boolean": frozenset({bool})}  # containers take the general path (items, NaN inside)
_SPECS: dict[int, tuple] = {}  # id(tool) -> (tool, per-parameter checks, required); tools are shared
SPEC_CACHE_SIZE = 1 << 16
_TOOL_TEXT: dict[int, tuple[dict, bool]] = {}  # id(tool) -> (tool, its strings are valid Unicode)


def _specs(tool: dict) -> tuple[dict, tuple]:
    """Per-parameter ``(type, item type, nullable, enum, exact value types)`` of a tool, memoised."""
    hit = _SPECS.get(id(tool))
    if hit is not None and hit[0] is tool:
        return hit[1], hit[2]
    params = tool["parameters"]
    specs = {}
    for name, prop in (params.get("properties") or {}).items():
        ptype = prop.get("type", "any")
        items = (prop.get("items") or {}).get("type")
        exact = _EXACT.get(ptype, frozenset())
        specs[name] = (ptype, items, bool(prop.get("nullable")), prop.get("enum") or None, exact)
    if len(_SPECS) >= SPEC_CACHE_SIZE:
        _SPECS.clear()
    _SPECS[id(tool)] = (tool, specs, tuple(params.get("required") or ()))
    return specs, _SPECS[id(tool)][2]


def _tool_text_ok(tool: dict) -> bool:
    hit = _TOOL_TEXT.get(id(tool))
    if hit is None or hit[0] is not tool:
        if len(_TOOL_TEXT) >= SPEC_CACHE_SIZE:
            _TOOL_TEXT.clear()
        hit = _TOOL_TEXT[id(tool)] = (tool, text_ok(tool))
    return hit[1]


def _sample_text_ok(sample: Sample) -> bool:
    """Every string the row will hold is valid Unicode (no lone surrogate): parquet could not store it."""
    own = (sample.source_id, sample.answer, sample.extra,
           [(m.content, [(c.name, c.arguments) for c in m.calls]) for m in sample.messages],
           [(c.name, c.arguments) for c in sample.calls])
    return text_ok(own) and all(_tool_text_ok(t) for t in sample.tools)


def validate(sample: Sample, coerce: bool = True, check_calls: bool = True) -> Checked:
    """Check a sample; ``check_calls=False`` keeps only the structural checks (tools, query, answer, text),
    for ToolRL rows whose ground truth is ToolRL's own reference text (``--toolrl-gt raw``)."""
    if not sample.tools:
        return _reject(sample, R.EMPTY_TOOLS, "no tools offered")
    if not sample.query.strip():
        return _reject(sample, R.EMPTY_QUERY, "no user turn before the target")
    if not sample.calls and not (sample.answer or "").strip():
        return _reject(sample, R.EMPTY_ANSWER, "a no-call target without reference text")
    if not _sample_text_ok(sample):
        return _reject(sample, R.INVALID_TEXT,
                       "a string holds a lone surrogate (an escape, or bytes that are not UTF-8)")
    if not check_calls:
        return Checked(sample=sample)
    by_name = {t["name"]: t for t in sample.tools} if sample.calls else {}
    new_calls: list[ToolCall] = []
    coerced = 0
    for call in sample.calls:
        tool = by_name.get(call.name)
        if tool is None:
            return _reject(sample, R.UNKNOWN_FUNCTION, f"{call.name!r} is not among the tools")
        specs, required = _specs(tool)
        args: dict[str, Any] = {}
        for key, value in call.arguments.items():
            spec = specs.get(key)
            if spec is None:
                return _reject(sample, R.UNEXPECTED_ARGUMENT, f"{call.name}: {key!r} is not a parameter")
            ptype, items, nullable, enum, fast = spec
            vtype = type(value)
            if vtype not in fast:  # the common exact-type case skips the general check
                if not matches_type(value, ptype, items, nullable):  # one level deep: safe on any value
                    new, ok = coerce_value(value, ptype, items) if coerce else (value, False)
                    if not (ok and matches_type(new, ptype, items, nullable)):
                        return _reject(sample, R.TYPE_MISMATCH, f"{call.name}: {key}={value!r:.60} is not {ptype}")
                    value, coerced = new, coerced + 1
                if not nesting_ok(value):  # before anything that recurses into the value
                    return _reject(sample, R.TOO_DEEP, f"{call.name}: {key} nests deeper than {MAX_NESTING} levels")
                if not _finite(value):
                    return _reject(sample, R.UNSERIALISABLE, f"{call.name}: {key} holds NaN or infinity")
            elif vtype is float and not math.isfinite(value):
                return _reject(sample, R.UNSERIALISABLE, f"{call.name}: {key} holds NaN or infinity")
            if enum and value not in enum:
                return _reject(sample, R.VALUE_NOT_IN_ENUM, f"{call.name}: {key}={value!r:.60} not in enum")
            args[key] = value
        for r in required:
            if r not in args:
                return _reject(sample, R.MISSING_REQUIRED, f"{call.name}: missing {r!r}")
        new_calls.append(ToolCall(call.name, args))
    out = replace(sample, calls=tuple(new_calls)) if coerced else sample
    return Checked(sample=out, coerced=coerced)
