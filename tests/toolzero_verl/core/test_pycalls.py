"""The safe Python-call parser: what it accepts, what it refuses, and that it never executes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolzero_verl.core.calls import ToolCall, strict_equal
from toolzero_verl.core.pycalls import CallSyntaxError, parse_python_calls, render_python_calls


def test_keyword_calls_with_all_literal_kinds():
    calls = parse_python_calls(
        '[f(s="x", i=-3, fl=+2.5, b=True, n=None, l=[1, 2], t=(1, 2), d={"k": [1]}, st={1}, v=some_var)]'
    )
    assert calls == [
        ToolCall("f", {"s": "x", "i": -3, "fl": 2.5, "b": True, "n": None, "l": [1, 2], "t": (1, 2),
                       "d": {"k": [1]}, "st": [1], "v": "some_var"})
    ]


def test_brackets_optional_and_several_calls_and_dotted_names():
    assert [c.name for c in parse_python_calls("math.factorial(n=5), spotify.play(a='x')")] == [
        "math.factorial", "spotify.play"]
    assert parse_python_calls("[]") == []


def test_keyword_call_value_becomes_nested_dict_like_bfcl():
    assert parse_python_calls("f(x=g(a=1))")[0].arguments == {"x": {"g": {"a": 1}}}


def test_positional_arguments_are_dropped_like_bfcl():
    assert parse_python_calls("f(1, a=2)")[0].arguments == {"a": 2}


@pytest.mark.parametrize("name", [
    "Get Manager Placeholder Image", "Search for YouTube Videos (Movies)",
    "Get Games by Platform, Category, and Sorted", "symbols/get-sector-metrics", "/email/valistring",
    "Today Sure VIP Over 2.5 Goals",
])
def test_toolace_names_that_are_not_identifiers(name):
    text = f'[{name}(sport="football", page=2), other(q="a(b")]'
    calls = parse_python_calls(text, known_names=[name, "other"])
    assert calls == [ToolCall(name, {"sport": "football", "page": 2}), ToolCall("other", {"q": "a(b"})]


def test_parameter_names_that_are_keywords_or_not_identifiers():
    assert parse_python_calls('f(from="a", start-date="2020", class=1)')[0].arguments == {
        "from": "a", "start-date": "2020", "class": 1}


@pytest.mark.parametrize("text", [
    "f(a=1+2)", "f(a=lambda: 0)", "f(a=[x for x in y])", 'f(a=f"{x}")', "f(**kw)", "[1, 2]", "hello there",
    "__import__('os').system('touch /tmp/pwned')", "f(a=__import__('os').system('id'))", "f(a=open('x'))",
    "f(a=g(1))", "f(a=not b)", "f(a={(1, [2]): 3})", "f(a={[1]: 2})", "(f(a=1)", "", "   ", "f(a=...)", "f(a=b'x')", "f(a=1j)",
])
def test_refused_inputs_raise_call_syntax_error(text):
    with pytest.raises(CallSyntaxError):
        parse_python_calls(text)


def test_depth_limit_and_huge_literals_are_refused_without_crashing():
    with pytest.raises(CallSyntaxError):
        parse_python_calls("f(a=" + "[" * 40 + "]" * 40 + ")", max_depth=32)
    with pytest.raises(CallSyntaxError):
        parse_python_calls("f(a=" + "[" * 5000 + "]" * 5000 + ")")
    with pytest.raises(CallSyntaxError):
        parse_python_calls("f(a=" + "9" * 10000 + ")")  # beyond Python's int-string limit


def test_nothing_is_executed(tmp_path):
    marker = tmp_path / "pwned"
    for text in [f"f(a=__import__('os').system('touch {marker}'))", f"__import__('os').system('touch {marker}')",
                 f"f(a=exec('open(\"{marker}\", \"w\")'))"]:
        with pytest.raises(CallSyntaxError):
            parse_python_calls(text)
    assert not marker.exists()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(lambda s: s not in {"and", "or", "not", "in", "is", "if", "for", "def", "del", "as"})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(identifiers, st.dictionaries(identifiers, json_values, max_size=4)), max_size=4))
def test_render_then_parse_round_trips(spec):
    calls = [ToolCall(name, args) for name, args in spec]
    parsed = parse_python_calls(render_python_calls(calls))
    assert len(parsed) == len(calls)
    for got, want in zip(parsed, calls):
        assert got.name == want.name and strict_equal(dict(got.arguments), dict(want.arguments))


# --- the fast path must agree with the ast path, or decline ----------------------------------------

_SOUP = ["[", "]", "(", ")", "{", "}", ",", "=", ":", ".", "-", "+", " ", "\n", "\u00a0", "f", "g", "a", "b",
         "True", "None", "lambda", "from", "__debug__", "1", "0", "00", "1.5", "1e3", "1.", "2j", "'x'", '"y"',
         '"a\\"b"', "'''t'''", "#", "*", "**", "é", "x.y", "9" * 30]


@settings(max_examples=4000, deadline=None)
@given(st.lists(st.sampled_from(_SOUP), max_size=16).map(lambda parts: "[" + "".join(parts) + "]"),
       st.integers(1, 6))
def test_fast_path_equals_the_ast_path_or_declines(body, depth):
    from toolzero_verl.core.pycalls import _fast_parse, _parse_masked

    fast = _fast_parse(body, depth)
    if fast is None:
        return
    slow = _parse_masked(body, {}, depth)  # must not raise when the fast path accepted
    assert [c.name for c in fast] == [c.name for c in slow]
    assert all(strict_equal(dict(a.arguments), dict(b.arguments)) for a, b in zip(fast, slow))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(identifiers, st.dictionaries(identifiers, json_values, max_size=4)), max_size=4))
def test_fast_path_takes_rendered_calls(spec):
    from toolzero_verl.core.pycalls import _fast_parse

    calls = [ToolCall(name, args) for name, args in spec]
    text = render_python_calls(calls)
    if "\\" not in text and "\n" not in text and "\r" not in text:  # escapes go to the ast path
        assert _fast_parse(text, 32) is not None, text


def test_prose_with_parentheses_is_not_a_call():
    with pytest.raises(CallSyntaxError):
        parse_python_calls("Please contact customer support()")
    assert parse_python_calls("[Get Image(x=1)]")[0].name == "Get Image"  # inside a list, free names work


@pytest.mark.parametrize("text", ["[a" + " " * 30000 + "]", "[f(a" + " " * 30000 + "b)]", "[" + "a " * 15000 + "]"])
def test_name_masking_is_linear_on_long_whitespace_runs(text):
    import time

    t0 = time.perf_counter()
    with pytest.raises(CallSyntaxError):
        parse_python_calls(text)
    assert time.perf_counter() - t0 < 0.5  # a safety bound: the lazy regex it replaced took ~2 s
