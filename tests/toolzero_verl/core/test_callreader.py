"""The compiled call reader (toolzero_verl/core/_callreader.c) returns exactly what its Python twins in
core/pycalls.py return (the token walk, and the masked-scalar loop for names that are not Python): the same
calls (same types: 1 is not True, 1.0 is not 1, -0.0 is not 0.0, a tuple is not a list) or the same
decline, on any text, without leaking or crashing."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolzero_verl.core import pycalls
from toolzero_verl.core.calls import ToolCall
from toolzero_verl.testing.budget import examples

IN_CI = os.environ.get("CI", "") == "true"


@pytest.fixture(scope="module")
def compiled():
    if pycalls._compiled_fast_parse is None:
        if IN_CI:  # CI builds it (setup.py); its absence there is a failure, not a skip
            pytest.fail("toolzero_verl.core._callreader was not built")
        pytest.skip("the compiled reader is not built here (no C compiler?); pycalls uses its Python reader")
    return pycalls._compiled_fast_parse


def _same(compiled, body: str, depth: int = 32) -> list | None:
    """Both readers' answers, asserted identical (repr keeps the types that == would equate)."""
    want = pycalls._py_fast_parse(body, depth)
    got = compiled(body, depth)
    assert repr(got) == repr(want), (body, depth)
    assert all(type(c) is ToolCall for c in got or ())
    return got


def test_it_is_the_reader_parse_python_calls_uses(compiled):
    assert pycalls._fast_parse is compiled and pycalls.READER == "compiled"
    calls = pycalls.parse_python_calls("[get_weather(city='Paris', days=3), math.factorial(n=-5)]")
    assert calls == [ToolCall("get_weather", {"city": "Paris", "days": 3}), ToolCall("math.factorial", {"n": -5})]


@pytest.mark.parametrize("body", [
    "[]", "[ ]", "[f()]", "[f(),]", "[f(a=1,)]", "[f(a=1), g.h(b='x')]", "[f(a=1) , g()\n,\t]",
    "[a . b . c(x=1)]", "[f(a=True, b=False, c=None, d=x, e=x.y, f=g(h=1, i=j()))]",
    "[f(a=[1, [2, [3]]], b={'k': (1,), 2: {}}, c=(), d=(1), e=(1, 2), f={1, 'a'}, g={})]",
    "[f(a=-1, b=+2, c=- 3.5, d=1e3, e=1E-3, f=1., g=0, h=0.0, i=-0.0, j=1e999, k=123456789012345678901234567890)]",
    # mostly declined by both, then read by the other readers or the ast path (parse_python_calls refuses
    # the null bytes before any reader)
    "[f(a=1)", "[f(a=1)] x", "[f(a=1) g()]", "[f(a=01)]", "[f(a=1x)]", "[f(a=1.5.)]", "[f(a=1_0)]", "[f(a=0x1)]",
    "[f(a='x\\'')]", "[f(a='x\ny')]", "[f(a=\"unclosed)]", "[f(a=1, a=2)]", "[f(if=1)]", "[if()]", "[a.if()]",
    "[True()]", "[f(a=True.real)]", "[f(a=--1)]", "[f(a=-x)]", "[f(a={[1]: 2})]", "[f(a={(1, [2]): 3})]",
    "[f(a=1 b=2)]", "[f(1)]", "[f(**a)]", "[f(a=1\x0b)]", "[f(a=1)]\x00", "[f(a='\x00')]", "[f(a=é)]", "[é()]",
    "[f(a={1: 2, 3})]", "[f(a={1, 2: 3})]", "[f(a=[1 2])]", "[f(a=(1 2))]", "[f(a=g(1))]", "[f(a=)]", "[f()()]",
    "[f(a=1)],", "[f(a=1)]]", "[[f()]]", "[f(a=1);]", "[f(a=" + "9" * 5000 + ")]",
    # every width of Python's strings: latin-1, UCS-2 and UCS-4 text in values and around the list
    "[f(a='café', b='日本', c='😀', d='\ud800')]", "[f(a='😀')] 😀", "[f(a=1)]\u00a0", "[f(\u00a0a=1)]",
])
def test_cases(compiled, body):
    _same(compiled, body)


@pytest.mark.parametrize("depth", [-(2**70), -1, 0, 1, 2, 3, 31, 32, 33, 2**31, 2**70])
def test_depth_limits_match_including_extreme_settings(compiled, depth):
    for body in ("[f()]", "[f(a=1)]", "[f(a=-1)]", "[f(a=[1])]", "[f(a=g(b=[1]))]", "[f(a=((((1,),),),))]"):
        _same(compiled, body, depth)


@pytest.mark.parametrize("nesting", [50, 99, 100, 101, 500, 100_000])
def test_deep_nesting_declines_or_matches_without_crashing(compiled, nesting):
    body = "[f(a=" + "[" * nesting + "]" * nesting + ")]"
    got = compiled(body, 10**9)
    if nesting <= 100:  # values nested 100 deep at most (MAX_NESTING)
        assert got == pycalls._py_fast_parse(body, 10**9)
    else:  # past the compiled reader's bound (ast.parse itself refuses 200 levels): the Python readers decide
        assert got is None


# --- hypothesis: any text, token soups, and clean call lists with their mutations ----------------------------

_SOUP = ["[", "]", "(", ")", "{", "}", ",", "=", ":", ".", "-", "+", " ", "\n", "\t", "\x0c", "\x0b", "\u00a0",
         "f", "g", "a", "b", "x1", "_", "True", "False", "None", "if", "lambda", "1", "0", "00", "1.5", "1e3", "1.",
         "1e", "1e+", "2j", "'x'", '"y"', "''", "'é😀'", '"a\\"b"', "'", '"', "#", "*", "é", "x.y", "9" * 30, "\x00"]


@settings(max_examples=examples(5000), deadline=None)
@given(st.lists(st.sampled_from(_SOUP), max_size=20).map(lambda parts: "[" + "".join(parts) + "]"),
       st.integers(-1, 6))
def test_equal_on_token_soups(compiled, body, depth):
    _same(compiled, body, depth)


@settings(max_examples=examples(2000), deadline=None)
@given(st.text(max_size=40), st.integers(0, 40))
def test_equal_on_any_text(compiled, text, depth):
    _same(compiled, text, depth)
    _same(compiled, "[" + text + "]", depth)


_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,6}", fullmatch=True)
_scalars = st.one_of(
    st.integers(-(10**30), 10**30).map(repr), st.floats(allow_nan=False).map(repr), st.booleans().map(repr),
    st.just("None"), st.text(st.characters(blacklist_characters="'\\\n\r"), max_size=6).map(lambda s: f"'{s}'"),
    st.text(st.characters(blacklist_characters='"\\\n\r'), max_size=6).map(lambda s: f'"{s}"'),
    st.lists(_names, min_size=1, max_size=3).map(".".join),
)
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
    st.lists(inner, max_size=3).map(lambda xs: "(" + ", ".join(xs) + ("," if len(xs) == 1 else "") + ")"),
    st.lists(inner, min_size=1, max_size=3).map(lambda xs: "{" + ", ".join(xs) + "}"),
    st.lists(st.tuples(_scalars, inner), max_size=3).map(lambda kv: "{" + ", ".join(f"{k}: {v}" for k, v in kv) + "}"),
    st.tuples(_names, st.lists(st.tuples(_names, inner), max_size=2)).map(
        lambda t: t[0] + "(" + ", ".join(f"{k}={v}" for k, v in t[1]) + ")"),
), max_leaves=10)
_gaps = st.sampled_from(["", "", " ", "\n", "\t ", "  "])


@st.composite
def _call_lists(draw) -> str:
    calls = []
    for _ in range(draw(st.integers(0, 3))):
        args = [f"{draw(_names)}{draw(_gaps)}={draw(_gaps)}{draw(_values)}" for _ in range(draw(st.integers(0, 3)))]
        name = draw(st.lists(_names, min_size=1, max_size=3).map(".".join))
        calls.append(f"{draw(_gaps)}{name}({(',' + draw(_gaps)).join(args)}){draw(_gaps)}")
    return "[" + ",".join(calls) + draw(st.sampled_from(["", ",", " "])) + "]"


@settings(max_examples=examples(1000), deadline=None)
@given(_call_lists(), st.integers(1, 8))
def test_equal_on_call_lists(compiled, body, depth):
    _same(compiled, body, depth)


@settings(max_examples=examples(1000), deadline=None)
@given(_call_lists(), st.data())
def test_equal_on_broken_call_lists(compiled, body, data):
    """One character deleted, inserted or replaced anywhere: what a sampled response looks like."""
    i = data.draw(st.integers(0, len(body)))
    piece = data.draw(st.sampled_from(_SOUP))
    edit = data.draw(st.sampled_from(["delete", "insert", "replace"]))
    broken = (body[:i] + body[i + 1:] if edit == "delete" else body[:i] + piece + body[i:] if edit == "insert"
              else body[:i] + piece + body[i + 1:])
    _same(compiled, broken, 32)


# --- names that are not Python (ToolACE, Hammer): read_masked_scalars = _py_masked_scalars -------------------

@pytest.fixture(scope="module")
def masked(compiled):
    return pycalls._compiled_masked_scalars


def _same_masked(masked, body: str, known: tuple, free: bool) -> list | None:
    want = pycalls._py_masked_scalars(body, known, free)
    got = masked(body, known, free)
    assert repr(got) == repr(want), (body, known, free)
    return got


_WORDS = ["Search", "Shows", "get", "x.y", "18sRkVgz", ".Jo00B.BW3", "start-date", "symbols/get", "a<b", "$x"]
_KEY_WORDS = ["get", "x.y", "18sRkVgz", ".Jo00B.BW3", "start-date", "Shows", "a_1"]  # no a<b, $x, symbols/get
_ODD_WORDS = ["if", "class", "a.if", "é", "1", "_", "-", "True", "a(b", "a=b", "a'b", "a<b"]
_MASKED_SCALARS = ["1", "-2", "+ 3", "- 0.5", "1e3", "'x'", '"y z"', "''", "True", "None"]
_ODD_SCALARS = ["00", "1x", "Falsey", "True.x", "x", "[1]", "'a", "--1", "9" * 5000]


def _mostly(common: list, odd: list):
    """29 draws in 30 from ``common``, else from ``odd`` (what should decline, or read differently): a list
    holds some 20 pieces, and about half the lists should be read."""
    return st.integers(0, 29).flatmap(lambda i: st.sampled_from(odd if i == 0 else common))


@st.composite
def _masked_lists(draw) -> str:
    def words(limit: int, common: list = _WORDS) -> str:  # words with the gaps a model might leave between them
        ws = draw(st.lists(_mostly(common, _ODD_WORDS), min_size=1, max_size=limit))
        return "".join(w + draw(_mostly([" "], ["  ", "", "\t"])) for w in ws).rstrip(" ")

    gap = lambda: draw(_mostly(["", " "], ["  ", "\n", "\t", "\x0b", "\u00a0"]))  # noqa: E731
    calls = []
    for _ in range(draw(st.integers(0, 3))):
        args = [f"{words(3, _KEY_WORDS)}{gap()}{draw(_mostly(['='], ['==', ':']))}{gap()}"
                f"{draw(_mostly(_MASKED_SCALARS, _ODD_SCALARS))}{gap()}" for _ in range(draw(st.integers(0, 3)))]
        trailing = draw(_mostly(["", ","] if args else [""], [", ", ",,", ","]))
        calls.append(f"{gap()}{words(4)}{gap()}({gap()}{','.join(args)}{trailing}){gap()}")
    return "[" + gap() + ",".join(calls) + draw(_mostly(["", ","], [", ", ")", "]"])) + gap() + "]"


@settings(max_examples=examples(2000), deadline=None)
@given(_masked_lists(), st.lists(st.sampled_from(["Search Shows", "get", "a<b Search", "x.y", "18sRkVgz"]),
                                 max_size=2).map(tuple), st.booleans())
def test_masked_scalars_equal_on_generated_lists(masked, body, known, free):
    _same_masked(masked, body, known, free)


@settings(max_examples=examples(1000), deadline=None)
@given(_masked_lists(), st.data())
def test_masked_scalars_equal_on_broken_lists(masked, body, data):
    i = data.draw(st.integers(0, len(body)))
    piece = data.draw(st.sampled_from(_SOUP + ["Search Shows", "=", " = "]))
    _same_masked(masked, body[:i] + piece + body[i:], (), data.draw(st.booleans()))


@settings(max_examples=examples(1000), deadline=None)
@given(st.text(max_size=30))
def test_masked_scalars_equal_on_any_text(masked, text):
    _same_masked(masked, text, (), True)
    _same_masked(masked, "[" + text + "]", ("Search Shows",), False)


@pytest.mark.parametrize("body, known, free, read", [
    ("[Search Shows(services='Netflix,Amazon Prime', country='US')]", ("Search Shows",), False, True),
    ("[Search Shows(services='Netflix')]", (), False, False),  # outside an explicit list: known names only
    ("[I9umJJtr(PvImMt=5000, .Jo00B.BW3=0.05, fKVxV5QD3=20)]", (), True, True),
    ("[symbols/get-sector-metrics(ticker_slug='Tesla', start-date='2020')]", (), True, True),
    ("[f(a=1)]", (), True, False),  # nothing to mask: the plain reader's list
    ("[Get Data(a=1), Get Data(b=2),]", (), True, True), ("[Get Data(a=1, a=2)]", (), True, False),
    ("[Get Data(a=[1])]", (), True, False), ("[Get Data(a=1)] x", (), True, False), ("[ ]", (), True, False),
    ("xGet Data(a=1)]", (), True, True), ("", (), True, False), ("[", (), True, False),  # both start at index 1
])
def test_masked_scalars_cases(masked, body, known, free, read):
    assert (_same_masked(masked, body, known, free) is not None) == read


def test_no_memory_is_kept_across_reads(compiled):
    bodies = ["[f(a=1, b='x', c=[1, {2: (3,)}], d=g(h=-1.5), e=x.y), k.l()]", "[Search Shows(a b=1, .c=-2.5)]",
              "[f(a={[1]: 2})]", "[f(a=1, a=2)]",
              "[f(a=" + "[" * 150 + "]" * 150 + ")]", "[f(a=1)] tail", "[f(a=" + "9" * 5000 + ")]", "[f(b={1, 2})]"]
    for body in bodies * 50:  # warm every cache first
        compiled(body, 32)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(2000):
            for body in bodies:
                compiled(body, 32)
                pycalls._compiled_masked_scalars(body, ("Search Shows",), True)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 10_000, f"{grown} bytes kept after 28,000 reads"  # one leaked object per read would be ~1 MB


def test_bad_arguments_raise_type_errors(compiled):
    with pytest.raises(TypeError):
        compiled(b"[f()]", 32)
    with pytest.raises(TypeError):
        compiled("[f()]", "32")


def test_pure_python_switch():
    out = subprocess.run([sys.executable, "-c", "from toolzero_verl.core import pycalls; print(pycalls.READER)"],
                         env={**os.environ, "TOOLZERO_PURE_PYTHON": "1"}, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "python"
    assert pycalls._fast_parse is (pycalls._compiled_fast_parse or pycalls._py_fast_parse)
