"""Output formats: strict shape checks, parsing, and render → parse round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.formats import (
    FORMATS,
    TOOLRL_SHAPES,
    ParseLimits,
    get_format,
    toolrl_expected_shape,
    toolrl_shapes,
)
from toolzero_verl.testing.budget import examples

CALLS = (ToolCall("get_weather", {"city": "Paris", "days": 3}), ToolCall("math.sqrt", {"x": 2.0}))


@pytest.mark.parametrize("name", sorted(FORMATS))
@pytest.mark.parametrize("calls,answer", [(CALLS, None), (CALLS[:1], None), ((), "I need the city first.")])
def test_render_parse_round_trip(name, calls, answer):
    fmt = get_format(name)
    parsed = fmt.parse(fmt.render(calls, answer, think="Let me see."))
    assert parsed.format_ok and parsed.parse_ok
    assert parsed.calls == calls
    if not calls:
        assert answer in parsed.text


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_surrounding_whitespace_is_tolerated(name):
    fmt = get_format(name)
    assert fmt.parse("\n  " + fmt.render(CALLS, think="t") + "\n\n").format_ok


@pytest.mark.parametrize("text", [
    "Sure! <think>x</think><answer>[f(a=1)]</answer>",          # prose before
    "<think>x</think><answer>[f(a=1)]</answer> done",            # prose after
    "<answer>[f(a=1)]</answer>",                                 # no think
    "<answer>[f(a=1)]</answer><think>x</think>",                 # wrong order
    "<think>x</think><think>y</think><answer>[f(a=1)]</answer>", # twice
    "<think>x</think><answer>[f(a=1)]</answer><answer>[]</answer>",
])
def test_answer_format_rejects_bad_shapes_but_still_reads_the_answer(text):
    parsed = get_format("answer").parse(text)
    assert not parsed.format_ok
    assert parsed.text is not None


def test_answer_format_prose_is_a_no_call_and_broken_list_is_a_parse_failure():
    fmt = get_format("answer")
    prose = fmt.parse("<think>t</think><answer>The tool cannot do this (sorry).</answer>")
    assert prose.calls == () and prose.parse_ok and prose.format_ok
    broken = fmt.parse("<think>t</think><answer>[f(a=1</answer>")
    assert broken.calls == () and not broken.parse_ok
    missing = fmt.parse("just text")
    assert missing.text is None and not missing.format_ok


def test_answer_format_uses_known_names():
    fmt = get_format("answer")
    parsed = fmt.parse('<think>t</think><answer>[Get Image(sport="x")]</answer>', known_names=["Get Image"])
    assert parsed.calls == (ToolCall("Get Image", {"sport": "x"}),)


def test_hermes_shapes():
    fmt = get_format("hermes")
    block = '<tool_call>\n{"name": "f", "arguments": {"a": 1}}\n</tool_call>'
    assert fmt.parse(block).format_ok  # think is optional
    assert fmt.parse("<think>x</think>\n" + block + "\n" + block).calls == (ToolCall("f", {"a": 1}),) * 2
    assert not fmt.parse("<think>x</think>\n" + block + "\ntrailing prose").format_ok
    bad = fmt.parse("<think>x</think>\n<tool_call>\n{not json}\n</tool_call>")
    assert not bad.parse_ok and bad.calls == ()
    openai_style = '<tool_call>\n{"name": "f", "arguments": "{\\"a\\": 1}"}\n</tool_call>'
    assert fmt.parse(openai_style).calls[0].arguments == {"a": 1}
    text = fmt.parse("<think>x</think>\nPlease tell me the city.")
    assert text.format_ok and text.calls == () and text.text == "Please tell me the city."


def test_toolrl_shapes_follow_toolrl_regexes():
    call = '<think>t</think>\n<tool_call>\n{"name": "f", "parameters": {}}\n</tool_call>'
    assert toolrl_shapes(call) == {"call"}
    assert toolrl_shapes("<think>t</think>\n<response>hi</response>") == {"response"}
    assert toolrl_shapes(call + "\n<response>hi</response>") == {"call_response"}
    assert toolrl_shapes("<think>t</think>") == {"think"}
    assert toolrl_shapes(call + call[16:]) == frozenset()  # two <tool_call> tags
    assert toolrl_expected_shape(True, False) == "call" and toolrl_expected_shape(False, False) == "think"


def test_toolrl_reads_first_block_line_by_line_like_toolrl():
    fmt = get_format("toolrl")
    parsed = fmt.parse('<think>t</think>\n<tool_call>\n{"name": "f", "parameters": {"a": 1}}\n'
                       '{"name": "g", "parameters": {}}\n</tool_call>')
    assert parsed.calls == (ToolCall("f", {"a": 1}), ToolCall("g", {}))
    broken = fmt.parse('<think>t</think>\n<tool_call>\n{"name": "f"\n</tool_call>')
    assert not broken.parse_ok


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_size_limit_refuses_without_parsing(name):
    fmt = get_format(name)
    text = fmt.render(CALLS, think="x" * 100)
    assert fmt.parse(text, limits=ParseLimits(max_chars=50)).error == "too_long"
    assert fmt.parse(text).parse_ok


def test_unknown_format_names_the_choices():
    with pytest.raises(ValueError, match="answer"):
        get_format("xml")


_TOOLRL_PIECES = ["<think>", "</think>", "<tool_call>", "</tool_call>", "<response>", "</response>", "\n", "x", " ",
                  "{}"]


@settings(max_examples=examples(3000), deadline=None)
@given(st.lists(st.sampled_from(_TOOLRL_PIECES), max_size=14).map("".join))
def test_toolrl_shapes_equal_the_toolrl_regexes(text):
    """The string-search implementation must give exactly ToolRL's regex-and-count verdicts."""
    for candidate in (text, text.strip()):
        expected = {
            name for name, (pattern, once) in TOOLRL_SHAPES.items()
            if pattern.search(candidate) and all(candidate.count(t) == 1 for t in once)
        }
        assert toolrl_shapes(candidate) == expected


_JSON_PIECES = ['{', '}', '[', ']', '"name"', ':', ',', '"x"', '1', '1.5e3', 'NaN', '-Infinity', 'true', 'null',
                ' ', '\t', '\n', '\r', '\\u00e9', '"', '\x01', '\u00a0']


@settings(max_examples=examples(3000), deadline=None)
@given(st.lists(st.sampled_from(_JSON_PIECES), max_size=12).map("".join))
def test_json_line_decoding_equals_json_loads(line):
    import json

    from toolzero_verl.core.formats import _json_line

    try:
        expected = json.loads(line)
    except ValueError:
        with pytest.raises(ValueError):
            _json_line(line)
    else:
        got = _json_line(line)
        assert got == expected or (got != got and expected != expected)  # NaN


@pytest.mark.parametrize("body,parse_ok", [
    ("THC (tetrahydrocannabinol) is the main component.", True),   # prose with parentheses
    ("Please contact customer support()", True),
    ("get_weather(city='Paris'", False),                            # a broken call
    ("[get_weather(city='Paris'", False),                           # (a missing final ] is added, as BFCL does)
])
def test_answer_prose_versus_broken_calls(body, parse_ok):
    parsed = get_format("answer").parse(f"<think>t</think><answer>{body}</answer>")
    assert parsed.calls == () and parsed.parse_ok is parse_ok


_ANSWER_PIECES = ["<think>", "</think>", "<answer>", "</answer>", "\n", " ", "x", "[f()]", "\u00a0", "\x0b", "<", ">"]


@settings(max_examples=examples(3000), deadline=None)
@given(st.lists(st.sampled_from(_ANSWER_PIECES), max_size=12).map("".join))
def test_answer_shape_equals_the_regex_definition(text):
    """The string-search shape check gives exactly the verdict and body of counting the tags and the regex."""
    from toolzero_verl.core.formats import _ANSWER_SHAPE, _ANSWER_TAGS, answer_shape_body

    m = _ANSWER_SHAPE.fullmatch(text) if all(text.count(t) == 1 for t in _ANSWER_TAGS) else None
    assert answer_shape_body(text) == (m.group(2) if m else None)
