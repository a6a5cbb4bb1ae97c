"""The safe Python-call parser: what it accepts, what it refuses, and that it never executes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolzero_verl.core.calls import ToolCall, call_key, strict_equal
from toolzero_verl.core.pycalls import CallSyntaxError, parse_python_calls, render_python_calls
from toolzero_verl.testing.budget import examples


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
    "f(a=g(1))", "f(a=not b)", "f(a={(1, [2]): 3})", "f(a={[1]: 2})", "(f(a=1)", "", "   ", "f(a=...)", "f(a=b'x')",
    "f(a=1j)",
])
def test_refused_inputs_raise_call_syntax_error(text):
    with pytest.raises(CallSyntaxError):
        parse_python_calls(text)


@pytest.mark.parametrize("text", ["[f(a='x\x00y')]", "[Get Data(a='\x00')]", "[f(a={'k': '\x00'}), g()]",
                                  "f(a=1)\x00", "[f(a=1)]\x00"])
def test_null_bytes_are_refused_as_python_refuses_them(text):
    from toolzero_verl.core.pycalls import _parse_masked

    with pytest.raises(CallSyntaxError):
        _parse_masked(text, {}, 32)  # the definition: ast.parse refuses null bytes
    with pytest.raises(CallSyntaxError):
        parse_python_calls(text, ["Get Data"])


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
identifiers = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda s: s not in {"and", "or", "not", "in", "is", "if", "for", "def", "del", "as"})


@settings(max_examples=examples(200), deadline=None)
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


@settings(max_examples=examples(4000), deadline=None)
@given(st.lists(st.sampled_from(_SOUP), max_size=16).map(lambda parts: "[" + "".join(parts) + "]"),
       st.integers(1, 6))
def test_fast_path_equals_the_ast_path_or_declines(body, depth):
    # the Python token walk; the compiled reader equals it (test_callreader.py)
    from toolzero_verl.core.pycalls import _parse_masked, _py_fast_parse

    fast = _py_fast_parse(body, depth)
    if fast is None:
        return
    slow = _parse_masked(body, {}, depth)  # must not raise when the fast path accepted
    assert [c.name for c in fast] == [c.name for c in slow]
    assert all(strict_equal(dict(a.arguments), dict(b.arguments)) for a, b in zip(fast, slow))


@pytest.mark.parametrize("reader", ["_py_fast_parse", "_fast_parse"])  # the Python walk, and the one in use
@settings(max_examples=examples(300), deadline=None)
@given(st.lists(st.tuples(identifiers, st.dictionaries(identifiers, json_values, max_size=4)), max_size=4))
def test_fast_path_takes_rendered_calls(reader, spec):
    from toolzero_verl.core import pycalls

    calls = [ToolCall(name, args) for name, args in spec]
    text = render_python_calls(calls)
    if "\\" not in text and "\n" not in text and "\r" not in text:  # escapes go to the ast path
        assert getattr(pycalls, reader)(text, 32) is not None, text


def test_prose_with_parentheses_is_not_a_call():
    with pytest.raises(CallSyntaxError):
        parse_python_calls("Please contact customer support()")
    assert parse_python_calls("[Get Image(x=1)]")[0].name == "Get Image"  # inside a list, free names work


@pytest.mark.parametrize("text", [
    "[a" + " " * 30000 + "]", "[f(a" + " " * 30000 + "b)]", "[" + "a " * 15000 + "]",
    # the scalar regexes: whitespace runs where a match fails late
    "[f(a=1" + " " * 30000 + "x)]", "[f" + " " * 30000 + "x(a=1]", "[Get X(a" + " " * 30000 + "b)]",
    "[Get X(a=1" + " " * 30000 + "b)]", "[f(a=-" + " " * 30000 + "x)]", "[f(a=1)" + " " * 30000 + "x]",
])
def test_name_masking_is_linear_on_long_whitespace_runs(text):
    import time

    t0 = time.perf_counter()
    with pytest.raises(CallSyntaxError):
        parse_python_calls(text)
    assert time.perf_counter() - t0 < 0.5  # a safety bound: the lazy regex it replaced took ~2 s


# --- the fast path for names that are not Python must agree with the slow path, or decline ------------

_NAME_SOUP = ["Search Shows", "Get Team Stats", "Videos (Movies)", "a, b", "18sRkVgz", ".Jo00B.BW3", "start-date",
              "symbols/get", "from", "class", "True", "not f", "lambda a", "x :", "a <", "b >", "c !", "Bob's", "é",
              "f", "g.h", "math . f", "await f", "1", "_", " ", "\t", "\n", "\x0b", "\u00a0"]
_VALUE_SOUP = ["1", "-2", "2.5", "'x'", '"y z"', "[1, 'a']", "{'k': 1}", "(1,)", "None", "True", "var", "g(a=1)",
               "'a\\'b'", "'''t'''", "1 + 2", "'open", "#c", "\\\n"]
_PUNCT = ["[", "]", "(", ")", ", ", "=", "==", ":=", "<=", ":", " ", "{", "}"]


_COMMON_NAMES = ["Search Shows", "Get Team Stats", "18sRkVgz", ".Jo00B.BW3", "start-date", "symbols/get", "f", "g.h"]


@st.composite
def _masked_soups(draw):
    """Call lists whose names and keys are often not Python, with some noise between the parts."""
    parts = ["["] if draw(st.booleans()) else []
    for i in range(draw(st.integers(1, 3))):
        if i:
            parts.append(draw(st.sampled_from([", ", ",", " , "])))
        parts.append(draw(st.sampled_from(_COMMON_NAMES) | st.sampled_from(_NAME_SOUP)))
        parts.append(draw(st.sampled_from(["(", " (", "("])))
        for j in range(draw(st.integers(0, 3))):
            if j:
                parts.append(", ")
            odd = draw(st.integers(0, 4)) == 0  # mostly plain "=" and plain values, so the fast path often accepts
            parts += [draw(st.sampled_from(_NAME_SOUP) if odd else st.sampled_from(_COMMON_NAMES)),
                      draw(st.sampled_from([":=", "<=", " == "] if odd else ["=", " = "])),
                      draw(st.sampled_from(_VALUE_SOUP if odd else _VALUE_SOUP[:12]))]
        parts.append(")")
        if draw(st.integers(0, 19)) == 0:
            parts.append(draw(st.sampled_from(_PUNCT + _NAME_SOUP)))
    if parts[0] == "[":
        parts.append("]")
    return "".join(parts)


@settings(max_examples=examples(3000), deadline=None)
@given(_masked_soups(), st.lists(st.sampled_from(_NAME_SOUP), max_size=3), st.integers(2, 6))
def test_fast_masked_path_equals_the_slow_path_or_declines(text, known, depth):
    from toolzero_verl.core.pycalls import _fast_masked_parse, _fast_parse, _scalar_masked_parse, _slow_parse

    body = text.strip().strip("`").strip()
    bracketed = body.startswith("[")
    if not bracketed:
        body = "[" + body
    if not body.endswith("]"):
        body = body + "]"
    if _fast_parse(body, depth) is not None:
        return  # the plain fast path answers first
    for fast_path in (_scalar_masked_parse, _fast_masked_parse):
        fast = fast_path(body, known, bracketed, depth)
        if fast is None:
            continue
        slow = _slow_parse(body, known, bracketed, depth)  # must not raise when a fast path accepted
        assert [c.name for c in fast] == [c.name for c in slow], (fast_path.__name__, body)
        assert all(strict_equal(dict(a.arguments), dict(b.arguments)) for a, b in zip(fast, slow)), body


@pytest.mark.parametrize("text, known", [
    ("[Search Shows(services='Netflix,Amazon Prime', country='US')]", ["Search Shows"]),
    ("[I9umJJtr(PvImMt=5000, .Jo00B.BW3=0.05, fKVxV5QD3=20)]", []),
    ("[Search for YouTube Videos (Movies)(q='x'), Get Games by Platform, Category, and Sorted(p=1)]",
     ["Search for YouTube Videos (Movies)", "Get Games by Platform, Category, and Sorted"]),
    ("[symbols/get-sector-metrics(ticker_slug='Tesla', start-date='2020')]", []),
])
def test_fast_masked_path_takes_toolace_and_hammer_names(text, known):
    from toolzero_verl.core.pycalls import _fast_masked_parse, _scalar_masked_parse, _slow_parse

    fast = _fast_masked_parse(text, known, True, 32)
    assert fast is not None and fast == _slow_parse(text, known, True, 32)
    scalar = _scalar_masked_parse(text, known, True, 32)  # declines the names with brackets and commas
    assert scalar is None or scalar == fast


@pytest.mark.parametrize("text", ["x(a=1, b <= 2)", "x(a=1, y := 2)", "x(lambda a=1: a)", "x(a='it\\'s')",
                                  "x(a=1) # c"])
def test_fast_masked_path_declines_what_python_might_read_as_written(text):
    from toolzero_verl.core.pycalls import _fast_masked_parse

    assert _fast_masked_parse("[Get Data" + text[1:] + "]", [], True, 32) is None


def _reference_parse(text: str, known=(), depth: int = 32):
    """parse_python_calls as it was before its shortcuts: the plain fast path, else the slow path."""
    from toolzero_verl.core.pycalls import _fast_parse, _slow_parse

    body = text.strip().strip("`").strip()
    if not body:
        raise CallSyntaxError("empty call list")
    bracketed = body.startswith("[")
    body = body if bracketed else "[" + body
    body = body if body.endswith("]") else body + "]"
    fast = _fast_parse(body, depth)
    return fast if fast is not None else _slow_parse(body, known, bracketed, depth)


def _outcome(parse, *args):
    try:
        return [(c.name, call_key(c)) for c in parse(*args)]
    except CallSyntaxError:
        return None


@settings(max_examples=examples(1000), deadline=None)
@given(st.text(alphabet=st.sampled_from(list("[] \t\n,.=:'\"abc1{}é#\\`")), max_size=20)
       | _masked_soups(), st.lists(st.sampled_from(_NAME_SOUP), max_size=2))
def test_parse_python_calls_equals_the_reference_pipeline(text, known):
    """The shortcuts (no "(" means no call; the fast masked path) change no result."""
    assert _outcome(parse_python_calls, text, known) == _outcome(_reference_parse, text, known), text


_SCALARS = ["1", "-2", "+ 3", "0", "00", "1.", "1.5e3", "-0.0", "1e", "'x'", '"y z"', "'a\"b'", "''", "True", "None",
            "False.real", "Truex", "'it", "9" * 5000, "[1]", "v"]
_GAPS = ["", " ", "\n", "\t", "\x0c", "\x0b", "  "]


def _mostly(common: list, rare: list):
    """Draw from ``common`` nine times in ten, else from ``rare`` (edge cases that should decline or differ)."""
    return st.integers(0, 9).flatmap(lambda i: st.sampled_from(rare if i == 0 else common))


@st.composite
def _scalar_lists(draw):
    gap = lambda: draw(_mostly(["", " ", "\n"], _GAPS))  # noqa: E731
    calls = []
    for _ in range(draw(st.integers(0, 3))):
        args = [f"{gap()}{draw(_mostly(['a', 'b', 'c', 'a1'], ['class', 'a']))}{gap()}={gap()}"
                f"{draw(_mostly(_SCALARS[:8] + _SCALARS[9:14], _SCALARS))}{gap()}"
                for _ in range(draw(st.integers(0, 3)))]
        trailing = "," if args and draw(st.booleans()) else ""
        name = draw(_mostly(["f", "math.fact", "g_2"], ["if", "a.if", "x . y"]))
        calls.append(f"{gap()}{name}{gap()}({','.join(args)}{trailing}{gap()}){gap()}")
    trailing = "," if calls and draw(st.booleans()) else ""
    return "[" + gap() + ",".join(calls) + trailing + gap() + "]"


@settings(max_examples=examples(3000), deadline=None)
@given(_scalar_lists(), st.integers(1, 4))
def test_scalar_path_equals_the_ast_path_or_declines(body, depth):
    from toolzero_verl.core.pycalls import _parse_masked, _scalar_parse

    fast = _scalar_parse(body, depth)
    if fast is None:
        return
    slow = _parse_masked(body, {}, depth)  # must not raise when the scalar path accepted
    assert [c.name for c in fast] == [c.name for c in slow], body
    assert all(strict_equal(dict(a.arguments), dict(b.arguments)) for a, b in zip(fast, slow)), body


@settings(max_examples=examples(2000), deadline=None)
@given(_masked_soups(), st.lists(st.sampled_from(_NAME_SOUP), max_size=3))
def test_regex_masking_equals_the_character_scan_where_it_answers(text, known):
    """_fast_mask gives _mask_names's text and names; when it says a name is unreadable, Python cannot
    read the text as written as a call list (so parse_python_calls may skip that attempt)."""
    from toolzero_verl.core.pycalls import _fast_mask, _mask_names, _parse_masked

    body = text.strip().strip("`").strip()
    bracketed = body.startswith("[")
    body = body if bracketed else "[" + body
    body = body if body.endswith("]") else body + "]"
    masking = _fast_mask(body, known, bracketed)
    if masking is None:
        return
    assert masking[:2] == _mask_names(body, known, free=bracketed), body
    if masking[2]:  # "unreadable": the text as written must be no call list
        with pytest.raises(CallSyntaxError):
            _parse_masked(body, {}, 32)


_NAME_PARTS = st.one_of(st.sampled_from(["a", "b1", "_x", "1a", "", " ", "None", "class", "class_", "é"]),
                        st.text(alphabet="ab1_ -.", max_size=4))


@settings(max_examples=examples(3000), deadline=None)
@given(st.lists(_NAME_PARTS, max_size=4).map(".".join))
def test_a_name_needs_masking_unless_every_dotted_part_is_an_ascii_identifier_and_no_keyword(name):
    import keyword
    import re

    from toolzero_verl.core.pycalls import _needs_mask

    python = all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part) and not keyword.iskeyword(part)
                 for part in name.split("."))
    assert _needs_mask(name) is (not python)
