"""Ground-truth loading: our JSON schema, ToolRL strings, derived possible answers, clear errors."""

from __future__ import annotations

import json

import pytest

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.ground_truth import derive_possible_answers, load_ground_truth

TOOLS = [{"name": "get_weather", "description": "d", "parameters": {"type": "object", "properties": {
    "city": {"type": "string"}, "unit": {"type": "string", "default": "celsius"}, "days": {"type": "integer"}},
    "required": ["city"]}}]


def test_spec_example_loads_and_derives_possible_answers():
    gt = load_ground_truth(json.dumps({"calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}], "tools": TOOLS}))
    assert gt.calls == (ToolCall("get_weather", {"city": "Paris"}),)
    # unit: optional with a default and omitted -> may be omitted or the default; days: optional, no default -> absent
    assert gt.possible_answers == ({"get_weather": {"city": ["Paris"], "unit": ["", "celsius"]}},)
    assert gt.schema("get_weather")["name"] == "get_weather" and gt.schema("nope") is None


def test_gold_value_equal_to_an_optional_default_may_also_be_omitted():
    # the documented example: unit given as its default -> ["celsius", ""]
    gt = load_ground_truth({"calls": [{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}], "tools": TOOLS})
    assert gt.possible_answers == ({"get_weather": {"city": ["Paris"], "unit": ["celsius", ""]}},)
    other = load_ground_truth({"calls": [{"name": "get_weather", "arguments": {"city": "Paris", "unit": "kelvin"}}], "tools": TOOLS})
    assert other.possible_answers == ({"get_weather": {"city": ["Paris"], "unit": ["kelvin"]}},)


def test_dict_and_list_of_dict_values_use_bfcl_nested_allowed_lists():
    calls = [ToolCall("f", {"d": {"a": 1}, "ld": [{"k": "v"}], "l": [1, 2]})]
    assert derive_possible_answers(calls, []) == [{"f": {"d": [{"a": [1]}], "ld": [[{"k": ["v"]}]], "l": [[1, 2]]}}]


def test_explicit_possible_answers_are_kept():
    pa = [{"f": {"x": [1, 2]}}]
    gt = load_ground_truth({"calls": [{"name": "f", "arguments": {"x": 1}}], "possible_answers": pa})
    assert gt.possible_answers == tuple(pa)


def test_toolrl_reference_strings():
    text = ('<think> reason </think>\n<tool_call>\n{"name": "GetNews", "parameters": {"page": "1"}}\n'
            '{"name": "b", "parameters": {}}\n</tool_call>')
    gt = load_ground_truth(text)
    assert [c.name for c in gt.calls] == ["GetNews", "b"] and gt.toolrl_text == text and gt.tools == ()
    reply = load_ground_truth("<think> t </think>\n<response> Hello there </response>")
    assert reply.calls == () and reply.answer == "Hello there"


def test_real_toolrl_rows_load(shared_dir):
    rows = json.loads((shared_dir / "corpora/toolrl/rlla_rl_test80.json").read_text())
    loaded = [load_ground_truth(r["output"]) for r in rows]
    assert len(loaded) == 80 and sum(bool(g.calls) for g in loaded) > 40


@pytest.mark.parametrize("bad,message", [
    ('{"tools": []}', "needs a 'calls' list"),
    ('{"calls": "f()"}', "must be a list"),
    ('{"calls": [{"arguments": {}}]}', r"calls\[0\] is invalid"),
    ('{"calls": [{"name": "f", "arguments": []}]}', r"calls\[0\] is invalid"),
    ('{"calls": [], "tools": [{"description": "x"}]}', r"tools\[0\]"),
    ('{"calls": [{"name": "f"}], "possible_answers": []}', "1 calls but possible_answers is 0"),
    ('{"calls": [', "not valid JSON"),
    ("42", "neither our JSON schema"),
    ("<think>x</think>\n<tool_call>\nnot json\n</tool_call>", "line 0"),
])
def test_invalid_ground_truth_raises_a_clear_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        load_ground_truth(bad)
    with pytest.raises(ValueError):
        load_ground_truth(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("possible,message", [
    ([["f"]], r"possible_answers\[0\] must be"),
    ([{"g": {"x": [1]}}], r"possible_answers\[0\] must be"),
    ([{"f": {"x": 1}}], "list of allowed values"),
    (5, "one entry per call"),
])
def test_malformed_possible_answers_are_a_clear_value_error(possible, message):
    with pytest.raises(ValueError, match=message):
        load_ground_truth({"calls": [{"name": "f", "arguments": {"x": 1}}], "possible_answers": possible})
