"""Output formats: what the policy writes, how we parse it, and how we render a reference answer.

Three formats (docs/rewards.md, "Output formats"), each an :class:`OutputFormat` in the :data:`FORMATS` registry:

- ``answer`` (Tool Zero): ``<think>…</think><answer>[f(a=1)]</answer>``, Python-syntax calls;
- ``hermes`` (Qwen2.5 native): ``<tool_call>{"name", "arguments"}</tool_call>`` blocks;
- ``toolrl`` (ToolRL, byte-compatible): one ``<tool_call>`` block of JSON lines and/or ``<response>``.

``parse`` never raises: model output is hostile input. Size is bounded before any parsing.

>>> fmt = get_format("answer")
>>> r = fmt.parse('<think>easy</think><answer>[add(a=1, b=2)]</answer>')
>>> r.format_ok, r.calls[0].arguments
(True, {'a': 1, 'b': 2})
>>> get_format("hermes").render([ToolCall("add", {"a": 1})])
'<think>\\n\\n</think>\\n<tool_call>\\n{"name": "add", "arguments": {"a": 1}}\\n</tool_call>'
"""

from __future__ import annotations

import json
import json.scanner
import re
from dataclasses import dataclass
from typing import Iterable, NamedTuple, Sequence

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.ground_truth import GroundTruth
from toolzero_verl.core.options import ConfigError
from toolzero_verl.core.pycalls import MAX_DEPTH, CallSyntaxError, parse_python_calls, render_python_calls
from toolzero_verl.core.tags import between

MAX_RESPONSE_CHARS = 32 * 1024  # longer responses score as parse failures, unparsed


@dataclass(frozen=True)
class ParseLimits:
    """Bounds on the work spent on one response: model output is hostile input."""

    max_chars: int = MAX_RESPONSE_CHARS
    max_depth: int = MAX_DEPTH


DEFAULT_LIMITS = ParseLimits()


class ParsedResponse(NamedTuple):
    """What a response says, format-independently (a NamedTuple: built once per scored response).

    ``calls`` is empty for a no-call turn and for a parse failure (which counts as no call);
    ``text`` is the answer text Y the generic reward compares (None when there is no answer);
    ``parse_ok`` is False when call syntax was present but broken, or the response was too big;
    ``shapes`` names the ToolRL layouts the response matches (only filled by the toolrl format).
    """

    calls: tuple[ToolCall, ...] = ()
    text: str | None = None
    format_ok: bool = False
    parse_ok: bool = True
    error: str | None = None
    shapes: frozenset[str] = frozenset()


TOO_LONG = ParsedResponse(format_ok=False, parse_ok=False, error="too_long")
_NO_SHAPES: frozenset[str] = frozenset()


def _readable(calls: tuple, text: str | None, format_ok: bool, shapes: frozenset = _NO_SHAPES) -> ParsedResponse:
    """``ParsedResponse(calls, text, format_ok, True, None, shapes)`` built by ``tuple.__new__`` (the
    NamedTuple constructor is a Python function; this is built for most scored responses)."""
    return _new_tuple(ParsedResponse, (calls, text, format_ok, True, None, shapes))


_new_tuple = tuple.__new__


class MalformedArguments(dict):
    """Empty arguments of a toolrl-format call whose ``parameters`` is missing or not an object.

    ToolRL's reward only fails on such a call when its name matches a gold call, so the parser
    keeps it and marks it instead of rejecting the whole block.
    """


def well_formed(parsed: ParsedResponse) -> bool:
    """The response's call syntax is readable: it parsed, and no toolrl-format call lacks its
    ``parameters`` object (:class:`MalformedArguments`)."""
    if not parsed.parse_ok:
        return False
    for call in parsed.calls:  # a loop, not any(<generator>): called for most scored responses
        if type(call.arguments) is MalformedArguments:
            return False
    return True


class OutputFormat:
    """Base class: subclasses define parse / render / the system-prompt instruction."""

    name: str = ""
    instruction: str = ""

    def parse(
        self, response: str, known_names: Iterable[str] = (), limits: ParseLimits = DEFAULT_LIMITS
    ) -> ParsedResponse:
        raise NotImplementedError

    def render_answer(self, calls: Sequence[ToolCall], answer: str | None = None) -> str:
        """The answer part (Y*) for these calls, or the no-call answer text."""
        raise NotImplementedError

    def render(self, calls: Sequence[ToolCall], answer: str | None = None, think: str = "") -> str:
        """A complete, well-formed response."""
        raise NotImplementedError

    def format_ok(self, parsed: ParsedResponse, gt: GroundTruth) -> bool:
        """The format term's verdict for this reference (most formats ignore the reference)."""
        return parsed.format_ok


FORMATS: dict[str, OutputFormat] = {}


def register_format(cls: type[OutputFormat]) -> type[OutputFormat]:
    FORMATS[cls.name] = cls()
    return cls


def get_format(name: str) -> OutputFormat:
    try:
        return FORMATS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown output_format {name!r}; choose one of {sorted(FORMATS)}") from None


# --- answer -------------------------------------------------------------------------------------

_CALL_START = re.compile(r"[A-Za-z_][\w.]*\(")  # `name(` (no space: "THC (…" is prose) at the start: meant as a call
_ANSWER_TAGS = ("<think>", "</think>", "<answer>", "</answer>")
_ANSWER_SHAPE = re.compile(r"\s*<think>(.*?)</think>\s*<answer>(.*?)</answer>\s*", re.DOTALL)  # the definition


def answer_shape_body(response: str) -> str | None:
    """The ``<answer>`` body if ``response`` is exactly ``<think>X</think>`` then ``<answer>Y</answer>``,
    each tag once and only whitespace around them; else None.

    Same verdict as counting the tags and ``_ANSWER_SHAPE.fullmatch`` (the definition), with string
    searches: with each tag present once, the shape is four tags in order with whitespace between.

    >>> answer_shape_body(" <think>a</think>\\n<answer>[f()]</answer> "), answer_shape_body("<answer>x</answer>")
    ('[f()]', None)
    """
    # Whitespace holds no tag, so each tag occurs once iff the think text and the body hold none of
    # the tags that partition did not already rule out.
    head, sep, rest = response.partition("<think>")
    if not sep or head.strip():
        return None
    think, sep, rest = rest.partition("</think>")
    if not sep:
        return None
    gap, sep, rest = rest.partition("<answer>")
    if not sep or gap.strip():
        return None
    body, sep, tail = rest.partition("</answer>")
    if not sep or tail.strip():
        return None
    if "<think>" in think or "<answer>" in think or "</answer>" in think:
        return None
    if "<think>" in body or "</think>" in body or "<answer>" in body:
        return None
    return body


@register_format
class AnswerFormat(OutputFormat):
    name = "answer"
    instruction = (
        "First think step by step inside <think> </think>. Then give your final answer inside "
        "<answer> </answer>. To call functions, the answer must be a Python list of calls with "
        "keyword arguments, for example <answer>[func_a(param=1), func_b(name=\"x\")]</answer>. "
        "If no function fits or information is missing, answer in plain text inside <answer> </answer> "
        "and make no call."
    )

    def parse(self, response, known_names=(), limits=DEFAULT_LIMITS):
        if len(response) > limits.max_chars:
            return TOO_LONG
        body = answer_shape_body(response)
        format_ok = body is not None
        if body is None:
            body = between(response, "<answer>", "</answer>", last=True)
            if body is None:
                return ParsedResponse(format_ok=False, parse_ok=True, error="no_answer")
        stripped = body.strip()
        if stripped in ("", "[]"):
            return _readable((), body, format_ok)
        try:
            calls = parse_python_calls(stripped, known_names, limits.max_depth)
        except CallSyntaxError as exc:
            # Prose is a legitimate no-call answer; a broken list or call is a parse failure.
            looks_like_calls = stripped.startswith("[") or _CALL_START.match(stripped) is not None
            return ParsedResponse((), body, format_ok, not looks_like_calls, str(exc) if looks_like_calls else None)
        return _readable(tuple(calls), body, format_ok)

    def render_answer(self, calls, answer=None):
        return render_python_calls(calls) if calls else (answer or "")

    def render(self, calls, answer=None, think=""):
        return f"<think>{think}</think>\n<answer>{self.render_answer(calls, answer)}</answer>"


# --- hermes -------------------------------------------------------------------------------------

_THINK_PREFIX = re.compile(r"\s*<think>(.*?)</think>", re.DOTALL)
_HERMES_BLOCK = re.compile(r"\s*<tool_call>(.*?)</tool_call>", re.DOTALL)
_TAGS = ("<think>", "</think>", "<tool_call>", "</tool_call>")


def _json_call(text: str) -> ToolCall:
    obj = json.loads(text)
    if not isinstance(obj, dict):
        raise ValueError("not a call object")
    return ToolCall.from_dict(obj)  # accepts OpenAI-style JSON-string arguments


@register_format
class HermesFormat(OutputFormat):
    name = "hermes"
    instruction = (
        "You may think step by step inside <think> </think> first. To call functions, write one "
        "<tool_call> </tool_call> block per call, each holding a JSON object "
        '{"name": <function name>, "arguments": <object of arguments>}. '
        "If no function fits or information is missing, reply in plain text without any <tool_call>."
    )

    def parse(self, response, known_names=(), limits=DEFAULT_LIMITS):
        if len(response) > limits.max_chars:
            return TOO_LONG
        pos, think_ok = 0, response.count("<think>") <= 1 and response.count("</think>") <= 1
        m = _THINK_PREFIX.match(response)
        if m:
            pos = m.end()
        if "<tool_call>" not in response:
            text = response[pos:].strip()
            ok = think_ok and bool(text) and not any(t in text for t in _TAGS)
            return ParsedResponse((), text or None, ok, True)
        calls, bodies, ok, error = [], [], think_ok, None
        while True:
            b = _HERMES_BLOCK.match(response, pos)
            if not b:
                break
            bodies.append(b.group(1).strip())
            pos = b.end()
        if response[pos:].strip():
            ok = False  # text after or between blocks
        if not bodies:
            bodies = [s.split("</tool_call>")[0].strip() for s in response.split("<tool_call>")[1:]]
            ok = False
        for body in bodies:
            try:
                calls.append(_json_call(body))
            except (ValueError, RecursionError):
                error = "bad_tool_call_json"
        if error:
            return ParsedResponse((), "\n".join(bodies), False, False, error)
        return ParsedResponse(tuple(calls), "\n".join(bodies), ok)

    def render_answer(self, calls, answer=None):
        if not calls:
            return answer or ""
        return "\n".join(
            "<tool_call>\n"
            + json.dumps({"name": c.name, "arguments": dict(c.arguments)}, ensure_ascii=False)
            + "\n</tool_call>"
            for c in calls
        )

    def render(self, calls, answer=None, think=""):
        return f"<think>\n{think}\n</think>\n{self.render_answer(calls, answer)}"


# --- toolrl -------------------------------------------------------------------------------------

# ToolRL's three layouts (its format reward), plus the think-only layout for empty references.
TOOLRL_SHAPES = {
    "call": (
        re.compile(r"^<think>.*?</think>\n<tool_call>\n.*?\n</tool_call>$", re.DOTALL), ("<tool_call>", "</tool_call>")
    ),
    "response": (
        re.compile(r"^<think>.*?</think>\n<response>.*?</response>$", re.DOTALL), ("<response>", "</response>")
    ),
    "call_response": (
        re.compile(r"^<think>.*?</think>\n<tool_call>\n.*?\n</tool_call>\n<response>.*?</response>$", re.DOTALL),
        ("<tool_call>", "</tool_call>", "<response>", "</response>"),
    ),
    "think": (re.compile(r"^<think>.*?</think>$", re.DOTALL), ()),
}


_SHAPE_SETS = {name: frozenset((name,)) for name in TOOLRL_SHAPES}
_NO_SHAPE: frozenset[str] = frozenset()
_THINK_ONLY = frozenset({"think"})


def toolrl_shapes(text: str) -> frozenset[str]:
    """Which ToolRL layouts ``text`` (already stripped) matches, each tag counted once as ToolRL does.

    Same verdict as ToolRL's ``re.search(layout, text, DOTALL) and tag counts`` (the regexes are
    kept in :data:`TOOLRL_SHAPES` as the definition), computed with string searches: with each tag
    of a layout present once, every separator it needs occurs at most once, so checking that the
    separators appear in order is exact — and linear, and several times faster than the lazy regex.
    The layouts exclude one another, so at most one name is returned.
    """
    if not text.startswith("<think>"):
        return _NO_SHAPE
    tail = text[:-1] if text.endswith("\n") else text  # ToolRL's `$` also matches before a final newline
    if tail.endswith("</think>"):
        return _SHAPE_SETS["think"] if len(tail) >= _THINK_MIN else _NO_SHAPE
    if tail.endswith("\n</tool_call>"):
        if text.count("<tool_call>") == 1 and text.count("</tool_call>") == 1:
            start = text.find(_CALL_OPEN, _THINK_LEN)
            if start >= 0 and start + len(_CALL_OPEN) <= len(tail) - len("\n</tool_call>"):
                return _SHAPE_SETS["call"]
        return _NO_SHAPE
    if tail.endswith("</response>") and text.count("<response>") == 1 and text.count("</response>") == 1:
        end = len(tail) - len("</response>")
        # "response" does not constrain <tool_call> tags (they may sit in the think or reply text)
        start = text.find(_REPLY_OPEN, _THINK_LEN)
        if start >= 0 and start + len(_REPLY_OPEN) <= end:
            return _SHAPE_SETS["response"]
        if text.count("<tool_call>") == 1 and text.count("</tool_call>") == 1:
            start = text.find(_CALL_OPEN, _THINK_LEN)
            mid = text.find(_CALL_CLOSE_REPLY, start + len(_CALL_OPEN)) if start >= 0 else -1
            if mid >= 0 and mid + len(_CALL_CLOSE_REPLY) <= end:
                return _SHAPE_SETS["call_response"]
    return _NO_SHAPE


_THINK_LEN = len("<think>")
_THINK_MIN = len("<think></think>")
_CALL_OPEN = "</think>\n<tool_call>\n"
_REPLY_OPEN = "</think>\n<response>"
_CALL_CLOSE_REPLY = "\n</tool_call>\n<response>"


def toolrl_reference_shape(gt: GroundTruth) -> str:
    """The ToolRL layout a reference asks for.

    A raw ToolRL reference decides by substring, exactly as ToolRL does; our JSON reference decides
    from its calls and answer text (a no-call turn answers in ``<response>``).
    """
    if gt.toolrl_text is not None:
        return toolrl_expected_shape("<tool_call>" in gt.toolrl_text, "<response>" in gt.toolrl_text)
    return toolrl_expected_shape(bool(gt.calls), bool(gt.answer) or not gt.calls)


def toolrl_expected_shape(has_calls: bool, has_response: bool) -> str:
    """The layout ToolRL requires, chosen from what the reference contains."""
    return {(True, False): "call", (False, True): "response", (True, True): "call_response"}.get(
        (has_calls, has_response), "think"
    )


_scan_json = json.scanner.make_scanner(json.JSONDecoder())  # json's C scanner, what json.loads runs
_JSON_SPACE = " \t\n\r"


def _json_line(line: str):
    """``json.loads(line)`` without its Python wrapper (the hot path of the toolrl format)."""
    start = 0 if line[:1] not in _JSON_SPACE else len(line) - len(line.lstrip(_JSON_SPACE))  # "" is in any str
    try:
        obj, end = _scan_json(line, start)
    except StopIteration:
        raise ValueError("not JSON") from None
    if end != len(line) and line[end:].strip(_JSON_SPACE):
        raise ValueError("extra data after JSON")
    return obj


def _toolrl_call(line: str) -> ToolCall:
    obj = _json_line(line)
    name = obj["name"]  # TypeError / KeyError on non-objects: a failed block, as in ToolRL
    if type(name) is not str:
        try:
            hash(name)
        except TypeError:
            raise ValueError("unhashable tool name") from None
        name = "\x00" + repr(name)  # never equal to a gold name, as in ToolRL
    params = obj.get("parameters")
    return _new_tuple(ToolCall, (name, params if isinstance(params, dict) else MalformedArguments()))


@register_format
class ToolRLFormat(OutputFormat):
    name = "toolrl"
    instruction = (
        "Always think first inside <think> </think>. Then, to call tools, write one <tool_call> block "
        "holding one JSON object per line, each {\"name\": <tool name>, \"parameters\": <object>}, and/or a "
        "reply to the user inside <response> </response>. Layout:\n<think> ... </think>\n<tool_call>\n"
        "{\"name\": ..., \"parameters\": {...}}\n</tool_call>\n<response> ... </response>"
    )

    def parse(self, response, known_names=(), limits=DEFAULT_LIMITS):
        if len(response) > limits.max_chars:
            return TOO_LONG
        text = response.strip()  # ToolRL strips what follows the chat wrapper
        shapes = toolrl_shapes(text)
        reply = between(text, "<response>", "</response>")
        reply = reply.strip() if reply is not None else None
        if "<tool_call>" not in text or "</tool_call>" not in text:
            return ParsedResponse((), reply, bool(shapes - _THINK_ONLY), True, None, shapes)
        # ToolRL reads the first block only, split on newlines, one JSON object per line.
        block = text.split("<tool_call>")[1].split("</tool_call>")[0].strip()
        answer_text = block if reply is None else block + "\n" + reply
        try:
            calls = tuple([_toolrl_call(line) for line in block.split("\n")])  # a list: faster than a generator
        except (ValueError, TypeError, KeyError, RecursionError):
            return ParsedResponse((), answer_text, bool(shapes - _THINK_ONLY), False, "bad_tool_call_json", shapes)
        return _readable(calls, answer_text, bool(shapes - _THINK_ONLY), shapes)

    def format_ok(self, parsed, gt):
        # ToolRL's format reward: the one layout the reference calls for (think-only is right
        # only for a reference with neither calls nor a reply).
        return gt.memo("toolrl_shape", toolrl_reference_shape, gt) in parsed.shapes

    def render_answer(self, calls, answer=None):
        parts = []
        if calls:
            lines = "\n".join(json.dumps({"name": c.name, "parameters": dict(c.arguments)}) for c in calls)
            parts.append(f"<tool_call>\n{lines}\n</tool_call>")
        if answer or not calls:
            parts.append(f"<response>{answer or ''}</response>")
        return "\n".join(parts)

    def render(self, calls, answer=None, think=""):
        return f"<think>{think}</think>\n{self.render_answer(calls, answer)}"
