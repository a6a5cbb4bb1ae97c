"""Validation reason codes (data_prep.validate): one hand-written bad sample per code."""

from __future__ import annotations

import math

import pytest

from data_prep import reasons as R
from data_prep.sample import Message, Sample
from data_prep.validate import validate
from toolzero_verl.core.calls import ToolCall

TOOL = {"name": "book", "description": "", "parameters": {"type": "object", "properties": {
    "city": {"type": "string"}, "nights": {"type": "integer"}, "rate": {"type": "float"},
    "breakfast": {"type": "boolean", "default": False}, "room": {"type": "string", "enum": ["single", "double"]},
    "dates": {"type": "array", "items": {"type": "string"}}, "where": {"type": "tuple", "items": {"type": "float"}},
    "extra": {"type": "any"}, "note": {"type": "string", "nullable": True}}, "required": ["city", "nights"]}}
USER = (Message("user", "Book Rome for 2 nights"),)


def sample(args=None, name="book", tools=(TOOL,), messages=USER, answer=None, calls=None):
    if calls is None:
        calls = (ToolCall(name, {"city": "Rome", "nights": 2, **(args or {})}),)
    return Sample("demo", "1", messages, tools, calls, answer)


@pytest.mark.parametrize(
    "bad, reason",
    [
        (sample(tools=()), R.EMPTY_TOOLS),
        (sample(messages=(Message("user", "  \n"),)), R.EMPTY_QUERY),
        (sample(messages=()), R.EMPTY_QUERY),
        (sample(calls=(), answer=" "), R.EMPTY_ANSWER),
        (sample(name="cancel"), R.UNKNOWN_FUNCTION),
        (sample(calls=(ToolCall("book", {"city": "Rome"}),)), R.MISSING_REQUIRED),
        (sample({"pets": True}), R.UNEXPECTED_ARGUMENT),
        (sample({"nights": "two"}), R.TYPE_MISMATCH),
        (sample({"nights": 2.5}), R.TYPE_MISMATCH),
        (sample({"breakfast": "yes"}), R.TYPE_MISMATCH),
        (sample({"dates": "2024-01-01"}), R.TYPE_MISMATCH),
        (sample({"dates": [1, "x", None]}), R.TYPE_MISMATCH),
        (sample({"city": None}), R.TYPE_MISMATCH),
        (sample({"room": "suite"}), R.VALUE_NOT_IN_ENUM),
        (sample({"rate": math.nan}), R.UNSERIALISABLE),
    ],
)
def test_reason_codes(bad, reason):
    out = validate(bad)
    assert out.sample is None and out.rejected.reason == reason and out.rejected.detail


def test_valid_values_pass_and_coerce():
    out = validate(sample({"nights": "3", "rate": 99, "breakfast": "true", "dates": ["2024-05-01"], "where": [41, 12.5],
                           "extra": {"any": ["thing"]}, "note": None, "room": "double"}))
    assert out.rejected is None
    args = out.sample.calls[0].arguments
    assert args["nights"] == 3 and args["breakfast"] is True and args["where"] == [41.0, 12.5] and args["rate"] == 99
    assert out.coerced == 3


def test_no_coerce_rejects_loose_values():
    assert validate(sample({"nights": "3"}), coerce=False).rejected.reason == R.TYPE_MISMATCH
    assert validate(sample({"nights": 3}), coerce=False).rejected is None


def test_no_call_sample_with_text_passes():
    assert validate(sample(calls=(), answer="Which dates?")).sample is not None


def test_nan_nested_in_containers_is_unserialisable():
    tool = {"name": "f", "description": "", "parameters": {"type": "object", "properties": {
        "d": {"type": "dict"}, "l": {"type": "array"}}, "required": []}}
    for args in ({"d": {"x": [math.inf]}}, {"l": [1.0, math.nan]}):
        s = Sample("demo", "1", USER, (tool,), (ToolCall("f", args),))
        assert validate(s).rejected.reason == R.UNSERIALISABLE
