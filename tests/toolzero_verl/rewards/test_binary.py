"""Tool-N1's binary reward: exact, order-free, type-sensitive, think block required."""

from __future__ import annotations

import json

import pytest

from toolzero_verl import compute_score

GT = json.dumps({"calls": [{"name": "f", "arguments": {"x": 1, "s": "a"}}, {"name": "g", "arguments": {}}]})


@pytest.mark.parametrize("response,expected", [
    ('<think>t</think><answer>[f(x=1, s="a"), g()]</answer>', 1.0),
    ('<think>t</think><answer>[g(), f(s="a", x=1)]</answer>', 1.0),   # order-free
    ('<answer>[f(x=1, s="a"), g()]</answer>', 0.0),                   # no think
    ('<think>t</think><answer>[f(x=1.0, s="a"), g()]</answer>', 0.0), # 1.0 is not 1
    ('<think>t</think><answer>[f(x=True, s="a"), g()]</answer>', 0.0),
    ('<think>t</think><answer>[f(x=1, s="A"), g()]</answer>', 0.0),   # no string normalisation
    ('<think>t</think><answer>[f(x=1, s="a"), g(), g()]</answer>', 0.0),
    ('<think>t</think><answer>[f(x=1, s="a")]</answer>', 0.0),
])
def test_binary_reward(response, expected):
    assert compute_score("d", response, GT, reward="binary")["score"] == expected


def test_binary_no_call_and_toolrl_format():
    none = json.dumps({"calls": []})
    assert compute_score("d", "<think>t</think><answer>No tool fits.</answer>", none, reward="binary")["score"] == 1.0
    gt = '<think>x</think>\n<tool_call>\n{"name": "f", "parameters": {"x": 1}}\n</tool_call>'
    ok = '<think>y</think>\n<tool_call>\n{"name": "f", "parameters": {"x": 1}}\n</tool_call>'
    assert compute_score("d", ok, gt, reward="binary", output_format="toolrl")["score"] == 1.0
    bad = '<think>y</think>\n<tool_call>\n{"name": "f", "arguments": {"x": 1}}\n</tool_call>'
    assert compute_score("d", bad, gt, reward="binary", output_format="toolrl")["score"] == 0.0


def test_dict_key_types_count_for_one_call_and_for_several():
    gt1 = json.dumps({"calls": [{"name": "f", "arguments": {"m": {"1": "a"}}}]})
    gt2 = json.dumps({"calls": [{"name": "f", "arguments": {"m": {"1": "a"}}}, {"name": "g", "arguments": {}}]})
    one = "<think>t</think><answer>[f(m={1: 'a'})]</answer>"
    two = "<think>t</think><answer>[f(m={1: 'a'}), g()]</answer>"
    assert compute_score("d", one, gt1, reward="binary")["score"] == 0.0
    assert compute_score("d", two, gt2, reward="binary")["score"] == 0.0
    assert compute_score("d", two.replace("{1:", "{'1':"), gt2, reward="binary")["score"] == 1.0
