"""Decoding our formats for BFCL's checkers without bfcl-eval: the shapes BFCL's prompting handlers return,
and hostile responses that must never put code into the strings BFCL's multi-turn checker executes."""

from __future__ import annotations

import json

import pytest

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.formats import get_format
from toolzero_verl.eval.bfcl_decode import DecodeError, decode_ast, decode_calls, decode_execute, source_text
from toolzero_verl.eval.cli import EXIT_MISSING_DEPENDENCY, main
from toolzero_verl.eval.official import bfcl_available

CALLS = [ToolCall("math.factorial", {"n": 5}), ToolCall("cd", {"folder": "a b", "deep": {"k": [1, None]}})]


@pytest.mark.parametrize("fmt", ["answer", "hermes", "toolrl"])
def test_each_format_decodes_to_bfcls_shapes(fmt):
    text = get_format(fmt).render(CALLS, think="t")
    assert decode_ast(fmt, text) == [{"math.factorial": {"n": 5}}, {"cd": {"folder": "a b", "deep": {"k": [1, None]}}}]
    assert decode_ast(fmt, text, "javascript") == [{"math.factorial": {"n": "5"}},
                                                    {"cd": {"folder": "a b", "deep": '{"k": [1, null]}'}}]
    assert decode_execute(fmt, text) == ["math.factorial(n=5)", "cd(folder='a b', deep={'k': [1, None]})"]
    prose = get_format(fmt).render([], "No tool fits.", think="t")
    assert decode_ast(fmt, prose) == [] and decode_execute(fmt, prose) == []


@pytest.mark.parametrize("fmt, text", [
    ("answer", "<think></think><answer>[f(a=1), g(</answer>"),
    ("hermes", '<tool_call>\n{"name": "f", "arguments": {"a": 1}\n</tool_call>'),
    ("toolrl", '<think></think>\n<tool_call>\n{"name": "f", "parameters": \n</tool_call>'),
])
def test_broken_call_syntax_is_a_decode_error(fmt, text):
    with pytest.raises(DecodeError):
        decode_ast(fmt, text)
    with pytest.raises(DecodeError):
        decode_execute(fmt, text)


def hermes(name, args) -> str:
    return "<tool_call>\n" + json.dumps({"name": name, "arguments": args}) + "\n</tool_call>"


@pytest.mark.parametrize("text", [
    hermes("f", {"x=__import__('os').system('id'),y": 1}),  # code in an argument name
    hermes("f", {"class": 1}),  # a keyword: not a valid argument name
    hermes("os.system('id') or f", {}),  # code in a function name
    hermes("f(x=1);g", {}),
    hermes("import", {}),
])
def test_execute_strings_never_carry_code_from_the_response(text):
    assert decode_ast("hermes", text)  # the AST checker gets data, which it only compares
    with pytest.raises(DecodeError):
        decode_execute("hermes", text)


def test_values_are_rendered_as_literals_only():
    text = hermes("f", {"s": "'); __import__('os').system('id'); ('", "n": 1e400})
    (call,) = decode_execute("hermes", text)
    assert call == "f(s=\"'); __import__('os').system('id'); ('\", n='inf')"
    import ast

    parsed = ast.parse(call, mode="eval").body
    assert all(isinstance(kw.value, ast.Constant) for kw in parsed.keywords)


def test_hostile_text_is_bounded_and_never_raises_anything_but_decode_error():
    for text in ("<answer>" + "[" * 100000 + "</answer>", "x" * 200000, None, 42, "\udcff<tool_call>"):
        for fmt in ("answer", "hermes", "toolrl"):
            try:
                decode_calls(fmt, text)
            except DecodeError:
                pass


def test_format_sensitivity_return_formats_are_not_ours():
    with pytest.raises(DecodeError, match="json"):
        decode_ast("answer", "<think></think><answer>[f(a=1)]</answer>", "json")


def test_source_text_of_java_and_javascript_values():
    assert [source_text(v) for v in ("new int[]{1}", False, 0.1, (1, 2))] == ["new int[]{1}", "false", "0.1", "[1, 2]"]


def test_bfcl_official_without_bfcl_eval_exits_3_with_how_to_install(tmp_path, capsys):
    from toolzero_verl.testing.import_blocker import blocked

    (tmp_path / "result" / "toolzero_answer").mkdir(parents=True)
    with blocked({"bfcl_eval"}):
        assert not bfcl_available()
        code = main(["bfcl-official", "evaluate", "--output-format", "answer", "--project-root", str(tmp_path)])
    assert code == EXIT_MISSING_DEPENDENCY
    assert "pip install 'toolzero-verl[bfcl]'" in capsys.readouterr().err
