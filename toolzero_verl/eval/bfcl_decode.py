"""Model text in one of our output formats -> what BFCL's checkers take, through our safe parsers.

BFCL asks a handler for two decodings (bfcl-eval's ``model_handler/base_handler.py``):

- ``decode_ast``: ``[{name: {param: value}}]`` for the AST checker. Python categories take the parsed
  values. Java and JavaScript categories take every value as its *source text* (a string), which
  BFCL's type converters read back (``eval_checker/ast_eval/type_convertor/``): BFCL's prompting
  handlers return the literal text of each argument, and BFCL's prompt asks for every Java/JavaScript
  parameter "in string representation". So a string value is passed as it is and any other value
  as its literal (``true``, ``null``, ``12``, ``[1, 2]``).
- ``decode_execute``: ``["name(arg=literal, ...)"]`` for the multi-turn checker, which executes the
  strings against its simulated APIs. We build the strings ourselves from parsed calls: names must be
  dotted identifiers, argument names identifiers, values Python literals
  (:func:`~toolzero_verl.core.pycalls.render_value`), so model text can never place code in them.

A response whose call syntax is broken raises :class:`DecodeError` (BFCL: ``ast_decoder:decoder_failed``;
a multi-turn step that ends the turn); a response without calls decodes to ``[]`` (no call).

>>> decode_ast("answer", "<think>t</think><answer>[f(a=1, b=True)]</answer>")
[{'f': {'a': 1, 'b': True}}]
>>> decode_ast("hermes", '<tool_call>\\n{"name": "g", "arguments": {"on": true, "n": 2}}\\n</tool_call>', "java")
[{'g': {'on': 'true', 'n': '2'}}]
>>> decode_execute("answer", "<think></think><answer>[cd(folder='temp'), ls()]</answer>")
["cd(folder='temp')", 'ls()']
"""

from __future__ import annotations

import json
import keyword
import re
from typing import Any

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.formats import get_format
from toolzero_verl.core.pycalls import render_value

LANGUAGES = ("python", "java", "javascript")  # BFCL's ReturnFormat values we decode; the others are its
# format-sensitivity variants (JSON/XML call syntax), which our formats do not write.
_DOTTED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


class DecodeError(ValueError):
    """The response's call syntax is broken (or cannot be expressed for the checker asking)."""


def decode_calls(output_format: str, text: Any) -> tuple[ToolCall, ...]:
    """The calls of a response (empty for a no-call answer); :class:`DecodeError` on broken syntax."""
    parsed = get_format(output_format).parse(text if isinstance(text, str) else "")
    if not parsed.parse_ok:
        raise DecodeError(f"{output_format} response does not parse: {parsed.error or 'broken call syntax'}")
    return parsed.calls


def source_text(value: Any) -> str:
    """A value as the literal a Java/JavaScript prompting answer would have written (strings as they are).

    >>> [source_text(v) for v in ("x", True, None, 3, 2.5, [1, "a"], {"k": False})]
    ['x', 'true', 'null', '3', '2.5', '[1, "a"]', '{"k": false}']
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def decode_ast(output_format: str, text: Any, language: str = "python") -> list[dict]:
    """``[{name: {param: value}}]`` for BFCL's AST checker (see the module doc for Java/JavaScript)."""
    if language not in LANGUAGES:
        raise DecodeError(f"BFCL return format {language!r} is not written by our output formats")
    calls = decode_calls(output_format, text)
    if language == "python":
        return [{c.name: dict(c.arguments)} for c in calls]
    return [{c.name: {k: source_text(v) for k, v in c.arguments.items()}} for c in calls]


def decode_execute(output_format: str, text: Any) -> list[str]:
    """``["name(arg=literal, ...)"]`` for BFCL's multi-turn checker; :class:`DecodeError` when a name could
    carry anything but a call of one function with literal arguments."""
    out = []
    for call in decode_calls(output_format, text):
        if not _DOTTED_NAME.match(call.name) or any(keyword.iskeyword(p) for p in call.name.split(".")):
            raise DecodeError(f"function name {call.name[:60]!r} is not a dotted identifier")
        for name in call.arguments:
            if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
                raise DecodeError(f"argument name {str(name)[:60]!r} of {call.name} is not an identifier")
        args = ", ".join(f"{k}={render_value(v)}" for k, v in call.arguments.items())
        out.append(f"{call.name}({args})")
    return out
