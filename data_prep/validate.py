"""Validation of a converted sample: the gold calls must be exactly right against the offered tools.

A row is only written when a response that renders its ground truth scores the maximum strict
reward, so the gold must pass the same checks the AST matcher applies (SPEC §4.4): known function,
no argument outside the schema, every required parameter present, BFCL-typed values. Gold values
that are merely spelled loosely are converted first when the conversion is lossless (``"10"`` for
an integer, ``10001`` for a string, ints inside a float array; see :func:`data_prep.types.coerce_value`);
``coerce=False`` rejects them instead.

>>> from toolzero_verl.calls import ToolCall
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

import json
from dataclasses import dataclass, replace
from typing import Any

from toolzero_verl.calls import ToolCall

from . import reasons as R
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


def validate(sample: Sample, coerce: bool = True) -> Checked:
    if not sample.tools:
        return _reject(sample, R.EMPTY_TOOLS, "no tools offered")
    if not sample.query.strip():
        return _reject(sample, R.EMPTY_QUERY, "no user turn before the target")
    if not sample.calls and not (sample.answer or "").strip():
        return _reject(sample, R.EMPTY_ANSWER, "a no-call target without reference text")
    by_name = {t["name"]: t for t in sample.tools}
    new_calls: list[ToolCall] = []
    coerced = 0
    for call in sample.calls:
        tool = by_name.get(call.name)
        if tool is None:
            return _reject(sample, R.UNKNOWN_FUNCTION, f"{call.name!r} is not among the tools")
        params = tool["parameters"]
        props = params.get("properties", {})
        args: dict[str, Any] = {}
        for key, value in call.arguments.items():
            prop = props.get(key)
            if prop is None:
                return _reject(sample, R.UNEXPECTED_ARGUMENT, f"{call.name}: {key!r} is not a parameter")
            ptype = prop.get("type", "any")
            items = (prop.get("items") or {}).get("type")
            nullable = bool(prop.get("nullable"))
            if not matches_type(value, ptype, items, nullable) and coerce:
                new, ok = coerce_value(value, ptype, items)
                if ok and matches_type(new, ptype, items, nullable):
                    value, coerced = new, coerced + 1
            if not matches_type(value, ptype, items, nullable):
                return _reject(sample, R.TYPE_MISMATCH, f"{call.name}: {key}={value!r:.60} is not {ptype}")
            enum = prop.get("enum")
            if enum and value not in enum:
                return _reject(sample, R.VALUE_NOT_IN_ENUM, f"{call.name}: {key}={value!r:.60} not in enum")
            args[key] = value
        missing = [r for r in params.get("required", ()) if r not in args]
        if missing:
            return _reject(sample, R.MISSING_REQUIRED, f"{call.name}: missing {missing[0]!r}")
        new_calls.append(ToolCall(call.name, args))
    try:
        json.dumps([c.arguments for c in new_calls], allow_nan=False)
    except ValueError as exc:
        return _reject(sample, R.UNSERIALISABLE, str(exc))
    out = replace(sample, calls=tuple(new_calls)) if coerced else sample
    return Checked(sample=out, coerced=coerced)
