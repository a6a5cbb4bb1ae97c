"""Ground-truth loading: our JSON schema, ToolRL strings, derived possible answers, clear errors for any input."""

from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolzero_verl import compute_score
from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.ground_truth import derive_possible_answers, load_ground_truth
from toolzero_verl.testing.budget import examples

TOOLS = [{"name": "get_weather", "description": "d", "parameters": {"type": "object", "properties": {
    "city": {"type": "string"}, "unit": {"type": "string", "default": "celsius"}, "days": {"type": "integer"}},
    "required": ["city"]}}]


def test_spec_example_loads_and_derives_possible_answers():
    paris = [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    gt = load_ground_truth(json.dumps({"calls": paris, "tools": TOOLS}))
    assert gt.calls == (ToolCall("get_weather", {"city": "Paris"}),)
    # unit: optional with a default and omitted -> may be omitted or the default; days: optional, no default -> absent
    assert gt.possible_answers == ({"get_weather": {"city": ["Paris"], "unit": ["", "celsius"]}},)
    assert gt.schema("get_weather")["name"] == "get_weather" and gt.schema("nope") is None


def test_gold_value_equal_to_an_optional_default_may_also_be_omitted():
    # the documented example: unit given as its default -> ["celsius", ""]
    def weather(unit):
        return {"calls": [{"name": "get_weather", "arguments": {"city": "Paris", "unit": unit}}], "tools": TOOLS}

    gt = load_ground_truth(weather("celsius"))
    assert gt.possible_answers == ({"get_weather": {"city": ["Paris"], "unit": ["celsius", ""]}},)
    other = load_ground_truth(weather("kelvin"))
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


# --- hostile ground truths: ValueError or a ground truth every reward scores --------------------------


def _deep(depth: int, leaf=1, wrap=lambda x: [x]):
    value = leaf
    for _ in range(depth):
        value = wrap(value)
    return value


VALID = {
    "calls": [{"name": "f", "arguments": {"x": 1, "s": "a"}}],
    "tools": [{"name": "f", "parameters": {"type": "object", "required": ["x"],
                                           "properties": {"x": {"type": "integer"}, "s": {"type": "string"}}}}],
    "possible_answers": [{"f": {"x": [1], "s": ["a", ""]}}],
    "answer": None,
}
# Where a hostile value goes: a path of keys and indexes into VALID (the empty path replaces the whole thing).
PATHS = [(), ("calls",), ("calls", 0), ("calls", 0, "name"), ("calls", 0, "arguments"), ("calls", 0, "arguments", "x"),
         ("tools",), ("tools", 0), ("tools", 0, "name"), ("tools", 0, "parameters"),
         ("tools", 0, "parameters", "properties"), ("tools", 0, "parameters", "properties", "x"),
         ("tools", 0, "parameters", "required"), ("tools", 0, "parameters", "required", 0), ("possible_answers",),
         ("possible_answers", 0), ("possible_answers", 0, "f"), ("possible_answers", 0, "f", "x"), ("answer",)]
# Named so that hypothesis prints the name, not a value too deep to repr.
HOSTILE = {
    "None": None, "0": 0, "-1": -1, "2**70": 2**70, "1.5": 1.5, "nan": float("nan"), "inf": float("inf"), "True": True,
    "empty string": "", "x": "x", "list in a string": "[1, 2]", "object in a string": '{"a": 1}', "[]": [], "{}": {},
    "[None]": [None], "[[]]": [[]], "empty key": {"": None}, "null name": {"name": None}, "int key": {1: 2},
    "{f: 1}": {"f": 1}, "tuple key": {("t",): 1}, "tuple": (1, 2), "set": {1, 2}, "bytes": b"x", "object": object(),
    "list depth 70": _deep(70), "list depth 2000": _deep(2000), "dict depth 70": _deep(70, wrap=lambda x: {"k": x}),
    "dict depth 3000": _deep(3000, wrap=lambda x: {"k": x}), "deep string": "[" * 5000 + "]" * 5000,
}
SMALL_JSON = st.recursive(
    st.none() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)
RESPONSES = ["<think>t</think><answer>[f(x=1, s='a')]</answer>", "<think>t</think><answer>[f(x=</answer>",
             '<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>',
             '<think>t</think>\n<tool_call>\n{"name": "f", "parameters": {"x": 1}}\n</tool_call>', "", "No."]


def _replace(obj, path, value):
    if not path:
        return value
    obj = copy.deepcopy(obj)
    node = obj
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return obj


def assert_loads_or_value_error(gt) -> None:
    try:
        loaded = load_ground_truth(gt)
    except ValueError:
        return
    for reward in ("gg_grpo", "toolrl", "binary"):
        for fmt in ("answer", "hermes", "toolrl"):
            for response in RESPONSES:
                r = compute_score("h", response, loaded, {"split": "train", "global_steps": 7},
                                  reward=reward, output_format=fmt)
                assert all(isinstance(v, float) and math.isfinite(v) for v in r.values()), (gt, reward, fmt, r)


@settings(max_examples=examples(400), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=st.sampled_from(PATHS), name=st.sampled_from([*HOSTILE, "random"]), random_value=SMALL_JSON,
       as_json=st.booleans())
def test_hostile_ground_truths_raise_value_error_or_score_finitely(path, name, random_value, as_json):
    """Never TypeError, AttributeError or RecursionError; and a ground truth that loads never makes a
    reward raise or return NaN, in any format."""
    gt = _replace(VALID, path, HOSTILE.get(name, random_value))
    if as_json:
        try:
            gt = json.dumps(gt)
        except (TypeError, ValueError, RecursionError):  # not JSON-serialisable: only the dict route applies
            return
    assert_loads_or_value_error(gt)


@settings(max_examples=examples(200), deadline=None)
@given(name=st.sampled_from([*HOSTILE, "random", "text"]), random_value=SMALL_JSON, text=st.text(max_size=40))
def test_hostile_toolrl_reference_lines_raise_value_error_or_score_finitely(name, random_value, text):
    if name == "text":
        line = text
    else:
        try:
            line = json.dumps(HOSTILE.get(name, random_value))
        except (TypeError, ValueError, RecursionError):  # not JSON: a deeply nested line instead
            line = '{"name": "f", "parameters": ' + "[" * 3000 + "]" * 3000 + "}"
    assert_loads_or_value_error(f"<think>x</think>\n<tool_call>\n{line}\n</tool_call>")


@pytest.mark.parametrize("text, message", [
    ('{"calls": [{"name": "f", "arguments": {"x": ' + "[" * 100000 + "]" * 100000 + "}}]}", "nested too deeply"),
    ('{"calls": [{"name": "f", "arguments": "' + "[" * 100000 + "]" * 100000 + '"}]}', "nested too deeply"),
    ("<think>x</think>\n<tool_call>\n" + '{"name": "f", "parameters": ' + "[" * 99999 + "]" * 99999 + "}\n</tool_call>",
     "nested too deeply"),
    ('{"calls": [{"name": "f", "arguments": {"x": ' + "9" * 5000 + "}}]}", "not valid JSON"),
    ('{"calls": [], "tools": 5}', "'tools' must be a list"),
    ('{"calls": [], "tools": [{"name": "f", "parameters": "x"}]}', r"tools\[0\].parameters must be an object"),
    ('{"calls": [], "tools": [{"name": "f", "parameters": {"properties": [1]}}]}', "properties must be an object"),
    ('{"calls": [], "tools": [{"name": "f", "parameters": {"required": 5}}]}', "required must be a list"),
    ('{"calls": [], "tools": [{"name": "f", "parameters": {"required": [["x"]]}}]}', "required must be a list"),
])
def test_malformed_ground_truths_name_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        load_ground_truth(text)


@pytest.mark.parametrize("gt, message", [
    ({1: 2, "a": 3}, "non-string object key"),
    ({"calls": [{"name": "f", "arguments": {1: 2}}]}, "non-string object key"),
    ({"calls": [{"name": "f", "arguments": {"x": {1, 2}}}]}, "type set"),
    ({"calls": [{"name": "f", "arguments": {"x": object()}}]}, "type object"),
    ({"calls": [{"name": "f", "arguments": {"x": _deep(3000)}}]}, "nested too deeply"),
])
def test_malformed_ground_truth_dicts_name_what_is_wrong(gt, message):
    with pytest.raises(ValueError, match=message):
        load_ground_truth(gt)
