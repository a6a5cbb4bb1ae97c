"""Python-syntax call lists (``[f(a=1), g(b="x")]``): a safe parser and a renderer.

The parser never executes model text: it runs ``ast.parse`` and walks the tree with a whitelist
(constants, lists, tuples, dicts, sets, unary +/- on numbers, bare names as strings, dotted names,
keyword-call values as nested dicts as BFCL does). Everything else raises :class:`CallSyntaxError`.

Tool names that are not Python identifiers (ToolACE has ``Get Manager Placeholder Image`` and
``Search for YouTube Videos (Movies)``) are handled by masking them with placeholders before
``ast.parse``: known names (from the tool list) first, longest first, then any run of text before
``(`` at a call position.

That ``ast`` reading is the definition. Faster readers answer first where they provably give the same
calls (each checked against it with hypothesis in tests/toolzero_verl/core/test_pycalls.py): regexes
for lists of calls with scalar values (with or without masked names), a token walk for other simple
lists, and a regex scan that masks names without the character loop. Parse time is linear in the text.
The token walk and the masked-scalar loop have compiled twins (``_callreader.c``, used when built).

>>> parse_python_calls('[get_weather(city="Paris"), math.factorial(n=5)]')
[ToolCall(name='get_weather', arguments={'city': 'Paris'}), ToolCall(name='math.factorial', arguments={'n': 5})]
>>> parse_python_calls('[Get Manager Placeholder Image(sport="football")]')[0].name
'Get Manager Placeholder Image'
>>> render_python_calls([ToolCall("f", {"a": 1, "b": [True, None]})])
'[f(a=1, b=[True, None])]'
"""

from __future__ import annotations

import ast
import keyword
import math
import operator
import os
import re
from functools import lru_cache, partial
from typing import Any, Iterable, Sequence

from toolzero_verl.core.calls import ToolCall

MAX_DEPTH = 32  # nesting of values inside a call; deeper is rejected, not parsed


class CallSyntaxError(ValueError):
    """The text is not a list of keyword calls we accept."""


_PLACEHOLDER = "__tz_name_{}__"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")


def parse_python_calls(
    text: str, known_names: Iterable[str] = (), max_depth: int = MAX_DEPTH
) -> list[ToolCall]:
    """Parse ``[f(a=1), ...]`` (brackets optional, as BFCL's decoder allows) into calls.

    ``[]`` gives an empty list. Positional arguments are dropped, as BFCL's decoder drops them.
    Raises :class:`CallSyntaxError` for anything else.
    """
    body = text.strip().strip("`").strip()
    if not body:
        raise CallSyntaxError("empty call list")
    if "\x00" in body:  # ast.parse refuses any null byte; the fast readers would take one inside a string
        raise CallSyntaxError("not a Python call list: null byte")
    bracketed = body.startswith("[")
    if not bracketed:
        body = "[" + body
    if not body.endswith("]"):
        body = body + "]"
    fast = _fast_parse(body, max_depth)
    if fast is not None:
        return fast
    if "(" not in body and "#" not in body and "\\" not in body:
        # Without "(" there is no call; Python reads such a body as a call list only if it is an empty
        # list, and the fast path takes every empty list written without comments or continuations.
        raise CallSyntaxError("no call in the answer")
    fast = _scalar_masked_parse(body, known_names, bracketed, max_depth)
    if fast is not None:
        return fast
    masking = _fast_mask(body, known_names, bracketed)
    if masking is None or not masking[2]:
        return _slow_parse(body, known_names, bracketed, max_depth)
    masked, names, _ = masking
    fast = _fast_parse(masked, max_depth)
    if fast is not None:
        return _unmask(fast, names)
    # The slow path would fail on the text as written and mask exactly this: skip to its second step.
    return _parse_masked(masked, names, max_depth)


def _slow_parse(body: str, known_names: Iterable[str], bracketed: bool, max_depth: int) -> list[ToolCall]:
    """The reference path: ``ast.parse`` as written, else with non-Python names masked."""
    try:
        return _parse_masked(body, {}, max_depth)
    except CallSyntaxError:
        if not _could_mask(body, known_names, bracketed):
            raise
        # Names such as "Get Image" or "symbols/get-data" are not Python; mask them and retry.
        # Free-form names only inside an explicit list: "Please call support()" stays prose.
        masked, names = _mask_names(body, known_names, free=bracketed)
        if not names:
            raise
        return _parse_masked(masked, names, max_depth)


def _parse_masked(body: str, names: dict[str, str], max_depth: int) -> list[ToolCall]:
    try:
        node = ast.parse(body, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise CallSyntaxError(f"not a Python call list: {exc.__class__.__name__}") from None
    items = node.elts if isinstance(node, (ast.List, ast.Tuple)) else [node]
    calls = []
    try:
        for item in items:
            if not isinstance(item, ast.Call):
                raise CallSyntaxError("list items must be function calls")
            name = _dotted_name(item.func)
            if name is None:
                raise CallSyntaxError("function name must be a name or attribute chain")
            args = {}
            for kw in item.keywords:
                if kw.arg is None:
                    raise CallSyntaxError("**kwargs are not allowed")
                args[names.get(kw.arg, kw.arg)] = _value(kw.value, max_depth)
            calls.append(ToolCall(names.get(name, name), args))
    except RecursionError:
        raise CallSyntaxError("nesting too deep") from None
    return calls


def _dotted_name(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _value(node: ast.AST, depth: int) -> Any:
    if depth <= 0:
        raise CallSyntaxError("nesting too deep")
    if isinstance(node, ast.Constant):
        if isinstance(node.value, (str, int, float, bool)) or node.value is None:
            return node.value
        raise CallSyntaxError(f"unsupported constant {type(node.value).__name__}")
    if isinstance(node, ast.List):
        return [_value(e, depth - 1) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_value(e, depth - 1) for e in node.elts)
    if isinstance(node, ast.Set):
        return [_value(e, depth - 1) for e in node.elts]
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                raise CallSyntaxError("** unpacking is not allowed")
            key = _value(k, depth - 1)
            try:
                hash(key)  # also catches tuples holding lists, e.g. {(1, [2]): 3}
            except TypeError:
                raise CallSyntaxError("unhashable dict key") from None
            out[key] = _value(v, depth - 1)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _value(node.operand, depth - 1)
        if isinstance(operand, bool) or not isinstance(operand, (int, float)):
            raise CallSyntaxError("unary sign on a non-number")
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, (ast.Name, ast.Attribute)):
        name = _dotted_name(node)  # a bare name is a "variable": BFCL keeps it as its string
        if name is not None:
            return name
    if isinstance(node, ast.Call) and not node.args:
        name = _dotted_name(node.func)
        if name is not None and all(kw.arg is not None for kw in node.keywords):
            return {name: {kw.arg: _value(kw.value, depth - 1) for kw in node.keywords}}
    raise CallSyntaxError(f"unsupported expression {type(node).__name__}")


# --- fast path --------------------------------------------------------------------------------
# Most answers are plain `[f(a="x", b=2)]`. Tokenising them with one regex pass and a small
# recursive descent is several times cheaper than ast.parse. The fast path accepts a strict subset
# of what the ast path accepts (simple quoted strings without escapes, decimal numbers, names,
# brackets) and returns exactly the same calls; on anything else it declines (None) and the ast
# path decides. tests/toolzero_verl/core/test_pycalls.py checks the equivalence with hypothesis.

_FAST_TOKEN = re.compile(
    # Python's own whitespace only: `\s` would also skip Unicode spaces that Python rejects.
    r"""[ \t\n\r\f]*(?:("[^"\\\n\r]*"|'[^'\\\n\r]*')"""  # 1: a string without escapes or newlines
    r"|((?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?(?![0-9A-Za-z_.]))"  # 2: a decimal number
    r"|([A-Za-z_][A-Za-z0-9_]*)"  # 3: a name
    r"|([\[\](){},=:.+-])"  # 4: punctuation
    r"|([^ \t\n\r\f]))"  # 5: anything else: decline
)
_CONSTANTS = {"True": True, "False": False, "None": None}
_KEYWORDS = frozenset(keyword.kwlist)
_new_call = partial(tuple.__new__, ToolCall)  # ToolCall(name, args) without the Python-level __new__
_OTHER = operator.itemgetter(4)  # the "anything else" group of a token: the fast path declines


class _Decline(Exception):
    pass


# The commonest answer of all, a list of calls whose values are strings, numbers, True/False/None, is
# read by two regexes without the token walk: the same grammar as _FastParser restricted to scalars.
# Whitespace is matched in exactly one place between two tokens (never by two adjacent patterns, and
# names hold no trailing space), so a failing match backtracks in linear time on hostile spacing.
_WS = r"[ \t\n\r\f]*"
_NUMBER = r"(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?(?![0-9A-Za-z_.])"
_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"


def _scalar_arg(group: str, key: str = _IDENTIFIER) -> str:
    """``key = value`` then whitespace, with a scalar value; ``group`` is ``"("`` (capturing, for
    findall) or ``"(?:"``; it starts at the key, never at whitespace."""
    return (
        rf"""{group}{key}){_WS}={_WS}"""
        rf"""(?:{group}"[^"\\\n\r]*"|'[^'\\\n\r]*')|{group}[+-]?){_WS}{group}{_NUMBER})|{group}True|False|None)){_WS}"""
    )


def _call_pattern(name: str, arg: str) -> str:
    """``name ( arg, arg, ) ,`` with the argument text captured; whitespace once between tokens."""
    return rf"{_WS}({name}){_WS}\({_WS}((?:{arg}(?:,{_WS}{arg})*(?:,{_WS})?)?)\){_WS}(,|\]){_WS}"


_SCALAR_ARGS = re.compile(_scalar_arg("("))
_SCALAR_CALL = re.compile(_call_pattern(rf"{_IDENTIFIER}(?:\.{_IDENTIFIER})*", _scalar_arg("(?:")))
_LIST_END = re.compile(rf"{_WS}\]{_WS}\Z")


def _scalar_parse(body: str, max_depth: int) -> list[ToolCall] | None:
    """``[f(a="x", b=-2), g()]`` with scalar values only; None for anything else (then the token walk)."""
    if max_depth < 2 or not body.startswith("["):  # a signed number is two levels deep for the ast path
        return None
    calls, pos, n = [], 1, len(body)
    if _LIST_END.match(body, pos):
        return calls
    while True:
        m = _SCALAR_CALL.match(body, pos)
        if m is None:
            return None
        name, args, sep = m.groups()
        if name in _KEYWORDS or ("." in name and not _KEYWORDS.isdisjoint(name.split("."))):
            return None
        kwargs: dict = {}
        for key, string, sign, number, constant in _SCALAR_ARGS.findall(args):
            if key in kwargs or key in _KEYWORDS:
                return None
            if string:
                kwargs[key] = string[1:-1]
            elif number:
                try:
                    value = _number(number)
                except ValueError:  # past Python's int-string limit: the ast path reports it
                    return None
                kwargs[key] = -value if sign == "-" else value
            else:
                kwargs[key] = _CONSTANTS[constant]
        calls.append(_new_call((name, kwargs)))
        pos = m.end()
        if sep == "]":
            return calls if pos == n else None
        if _LIST_END.match(body, pos):  # a trailing comma
            return calls


# What every list the token walk accepts starts with: "[" then "]" or a dotted name and "(". Checked
# first so that long prose is not tokenised to the end before being declined.
_FAST_HEAD = re.compile(
    rf"\[{_WS}(?:\]|[A-Za-z_][A-Za-z0-9_]*(?:{_WS}\.{_WS}[A-Za-z_][A-Za-z0-9_]*)*{_WS}\()"
)


def _py_fast_parse(body: str, max_depth: int) -> list[ToolCall] | None:
    scalar = _scalar_parse(body, max_depth)
    if scalar is not None:
        return scalar
    if _FAST_HEAD.match(body) is None:
        return None
    tokens = _FAST_TOKEN.findall(body)
    if not tokens or any(map(_OTHER, tokens)):
        return None
    try:
        parser = _FastParser(tokens, max_depth)
        calls = parser.calls()
    except (_Decline, IndexError, ValueError, TypeError, RecursionError):
        return None
    return calls if parser.pos == len(tokens) else None


class _FastParser:
    """Recursive descent over (string, number, name, punct, other) tokens."""

    def __init__(self, tokens: list[tuple[str, ...]], max_depth: int):
        self.tokens, self.pos, self.max_depth = tokens, 0, max_depth

    def punct(self) -> str:
        return self.tokens[self.pos][3]

    def expect(self, p: str) -> None:
        if self.tokens[self.pos][3] != p:
            raise _Decline
        self.pos += 1

    def calls(self) -> list[ToolCall]:
        self.expect("[")
        out = []
        while self.punct() != "]":
            name = self.dotted()
            self.expect("(")
            out.append(_new_call((name, self.kwargs(self.max_depth))))
            if self.punct() == ",":
                self.pos += 1
            elif self.punct() != "]":
                raise _Decline
        self.pos += 1
        return out

    def dotted(self) -> str:
        parts = [self.name()]
        while self.punct() == ".":
            self.pos += 1
            parts.append(self.name())
        return ".".join(parts)

    def name(self) -> str:
        name = self.tokens[self.pos][2]
        if not name or keyword.iskeyword(name):
            raise _Decline
        self.pos += 1
        return name

    def kwargs(self, depth: int) -> dict:
        args: dict = {}
        while self.punct() != ")":
            key = self.name()
            if key in args:  # Python rejects a repeated keyword
                raise _Decline
            self.expect("=")
            args[key] = self.value(depth)
            if self.punct() == ",":
                self.pos += 1
            elif self.punct() != ")":
                raise _Decline
        self.pos += 1
        return args

    def value(self, depth: int):
        if depth <= 0:
            raise _Decline  # the ast path reports "nesting too deep"
        string, number, name, punct, _ = self.tokens[self.pos]
        self.pos += 1
        if string:
            return string[1:-1]
        if number:
            return _number(number)
        if name:
            if name in _CONSTANTS:
                if self.punct() == ".":
                    raise _Decline
                return _CONSTANTS[name]
            self.pos -= 1
            dotted = self.dotted()
            if self.punct() == "(":  # a keyword call as a value: {name: {args}}, as BFCL does
                self.pos += 1
                return {dotted: self.kwargs(depth - 1)}
            return dotted  # a bare name is a "variable": its string
        if punct in "+-":
            number = self.tokens[self.pos][1]
            if not number or depth <= 1:  # the ast path walks the operand one level deeper
                raise _Decline
            self.pos += 1
            return -_number(number) if punct == "-" else _number(number)
        if punct == "[":
            return self.sequence("]", depth)
        if punct == "(":
            items, trailing = self.items(")", depth)
            return items[0] if len(items) == 1 and not trailing else tuple(items)
        if punct == "{":
            return self.braces(depth)
        raise _Decline

    def items(self, close: str, depth: int) -> tuple[list, bool]:
        out, trailing = [], False
        while self.punct() != close:
            out.append(self.value(depth - 1))
            trailing = False
            if self.punct() == ",":
                self.pos += 1
                trailing = True
            elif self.punct() != close:
                raise _Decline
        self.pos += 1
        return out, trailing

    def sequence(self, close: str, depth: int) -> list:
        return self.items(close, depth)[0]

    def braces(self, depth: int):
        if self.punct() == "}":
            self.pos += 1
            return {}
        first = self.value(depth - 1)
        if self.punct() != ":":  # a set: the ast path returns its items as a list
            if self.punct() == ",":
                self.pos += 1
            elif self.punct() != "}":
                raise _Decline
            rest, _ = self.items("}", depth)
            return [first, *rest]
        out = {}
        key = first
        while True:
            self.expect(":")
            hash(key)  # TypeError on unhashable keys: let the ast path report it
            out[key] = self.value(depth - 1)
            if self.punct() == ",":
                self.pos += 1
            elif self.punct() != "}":
                raise _Decline
            if self.punct() == "}":
                self.pos += 1
                return out
            key = self.value(depth - 1)


def _number(text: str):
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)  # ValueError past Python's int-string limit: the ast path reports it


# --- fast path for names that are not Python ------------------------------------------------------
# ToolACE names ("Search Shows") and Hammer's masked parameter names ("18sRkVgz", ".Jo00B.BW3") send
# an answer down the slow path: ast.parse fails, the names are masked by a character loop, ast.parse
# runs again. On the simple texts models write, _fast_masked_parse masks with a regex scan (the same
# name rules, :func:`_known_call_name` and :func:`_free_name`, at the same positions) and reads the
# masked text with the fast parser. It declines (None) unless the result provably equals the slow
# path's: no backslash or comment (Python's tokens then agree with the bracket scan), strings closed on
# their line, masked names of printable ASCII without quotes, and masked parameter names that cannot
# be the left side of a Python comparison or walrus (those are positional arguments when the text
# parses as it is). tests/toolzero_verl/core/test_pycalls.py checks the equality with hypothesis.

_MASK_TOKEN = re.compile(
    r"""[ \t\n\r\f]*(?:("[^"\\\n\r]*"|'[^'\\\n\r]*')"""  # 1: a string closed on its line, no escapes
    r"|([\[\](){},])"  # 2: what moves the bracket scan
    r"""|([^ \t\n\r\f"'\[\](){},\\][^"'\[\](){},\\\n]*))"""  # 3: any other run (names, values, "=")
)
_MASKABLE_CALL = re.compile(r"[\x20-\x21\x23-\x26\x28-\x7e]+\Z")  # printable ASCII, no quotes
_ODD_SPACE = re.compile(r"[^\S \t\n\r\f]")  # whitespace _mask_names skips but the regex scan does not
_MASKABLE_KEY = re.compile(r"[A-Za-z0-9_.\- ]+\Z")  # never "a <" (a <= b) or "x :" (x := 1)


def _known_call_name(body: str, i: int, known: Sequence[str]) -> str | None:
    """The longest known name starting at ``i`` and followed (after whitespace) by ``(``."""
    return next((k for k in known if body.startswith(k, i) and body[i + len(k) :].lstrip().startswith("(")), None)


def _masking_names(known_names: Iterable[str]) -> tuple[str, ...]:
    """The known names that need masking, longest first (computed once per reference's tuple of names)."""
    try:
        return _masking_names_of(known_names)  # type: ignore[arg-type]
    except TypeError:  # not hashable (a list): compute it
        return _masking_names_of.__wrapped__(known_names)


@lru_cache(maxsize=4096)
def _masking_names_of(known_names: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({n for n in known_names if n and _needs_mask(n)}, key=len, reverse=True))


def _could_mask(body: str, known_names: Iterable[str], free: bool) -> bool:
    """Whether :func:`_mask_names` could find a name: a free call name needs ``free``, a parameter name
    an ``=``, a known name its own text. False lets prose skip the character scan (long answers)."""
    return free or "=" in body or any(k in body for k in _masking_names(known_names))


def _fast_masked_parse(body: str, known_names: Iterable[str], free: bool, max_depth: int) -> list[ToolCall] | None:
    masking = _fast_mask(body, known_names, free)
    if masking is None or not masking[2]:
        return None
    calls = _fast_parse(masking[0], max_depth)
    return None if calls is None else _unmask(calls, masking[1])


def _unmask(calls: list[ToolCall], names: dict[str, str]) -> list[ToolCall]:
    return [ToolCall(names.get(c.name, c.name), {names.get(k, k): v for k, v in c.arguments.items()}) for c in calls]


def _fast_mask(body: str, known_names: Iterable[str], free: bool) -> tuple[str, dict[str, str], bool] | None:
    """``(*_mask_names(body, known_names, free), unreadable)`` by a regex scan when at least one name is
    masked; else None. ``unreadable``: a masked name is one Python cannot read (a parameter name, or a
    call name that is no dotted name even without the spaces around its dots), so the text as written
    is no call list and the slow path would mask it too."""
    if "\\" in body or "#" in body or not _could_mask(body, known_names, free) or _ODD_SPACE.search(body):
        return None
    known = _masking_names(known_names)
    out: list[str] = []
    names: dict[str, str] = {}
    expect, pos, n, unreadable = "", 0, len(body), False
    stack: list[str] = []
    while pos < n:
        m = _MASK_TOKEN.match(body, pos)
        if m is None:
            if body[pos:].strip(" \t\n\r\f"):
                return None  # an unclosed string, or characters the scan does not know
            out.append(body[pos:])
            break
        string, punct, run = m.groups()
        i = m.start(1) if string else m.start(2) if punct else m.start(3)
        if expect and string is None:  # as in _mask_names: strings are copied, never read as names
            name = _name_at(body, i, expect, known, free)
            if name is not None and (_needs_mask(name) or (expect == "kw" and "." in name)):
                if not (_MASKABLE_CALL if expect == "call" else _MASKABLE_KEY).match(name):
                    return None
                placeholder = _PLACEHOLDER.format(len(names))
                names[placeholder] = name
                unreadable = unreadable or expect == "kw" or _needs_mask(_without_spaced_dots(name))
                out.append(body[pos:i])
                out.append(placeholder)
                pos, expect = i + len(name), ""
                continue
        expect = ""
        out.append(m.group())
        pos = m.end()
        if punct is None:
            continue
        if punct in "[({":
            stack.append(punct)
        elif punct in "])}":
            if stack:
                stack.pop()
            continue
        expect = "call" if stack == ["["] else "kw" if stack == ["[", "("] else ""
    if not names:
        return None
    return "".join(out), names, unreadable


def _without_spaced_dots(name: str) -> str:
    """``math . f`` as Python reads it, ``math.f`` (split and strip: linear, unlike a regex on spaces)."""
    return ".".join(part.strip() for part in name.split("."))


# The scalar regexes again, with names that are not Python at the call and parameter positions (the
# masked names of ToolACE and Hammer): where _fast_masked_parse would mask and then read scalars, this
# reads them in one pass per call. Names keep to the characters _fast_masked_parse accepts, minus a few
# more, so the two agree wherever this one accepts (tests/toolzero_verl/core/test_pycalls.py).
_NAME_CHARS = r"A-Za-z0-9_./\-@&+*%$!?~|^<>;"
_FREE_CALL_NAME = rf"[{_NAME_CHARS}]+(?: +[{_NAME_CHARS}]+)*"  # words with single spaces between: no trailing space
_FREE_KEY = r"[A-Za-z0-9_.\-]+(?: +[A-Za-z0-9_.\-]+)*"  # _MASKABLE_KEY's characters, likewise
_MASKED_ARGS = re.compile(_scalar_arg("(", _FREE_KEY))
_MASKED_CALL = re.compile(_call_pattern(_FREE_CALL_NAME, _scalar_arg("(?:", _FREE_KEY)))


@lru_cache(maxsize=4096)
def _tricky_known(known: tuple[str, ...]) -> tuple[str, ...]:
    """Known names a regex cannot place: with brackets, commas, quotes, ``=``/``:`` or outer whitespace."""
    return tuple(k for k in known if k != k.strip() or any(c in k for c in "[](){},=:\"'#\\"))


def _scalar_masked_parse(body: str, known_names: Iterable[str], free: bool, max_depth: int) -> list[ToolCall] | None:
    """:func:`_scalar_parse` where some names need masking; None unless it equals the masked reading."""
    if max_depth < 2 or not body.startswith("[") or "#" in body or "\\" in body:
        return None
    known = _masking_names(known_names)
    if any(k in body for k in _tricky_known(known)):
        return None
    return _masked_scalars(body, known, free)


def _py_masked_scalars(body: str, known: tuple[str, ...], free: bool) -> list[ToolCall] | None:
    """The call-by-call loop of :func:`_scalar_masked_parse` (``known``: :func:`_masking_names`)."""
    calls, pos, n, masked = [], 1, len(body), False
    if _LIST_END.match(body, pos):
        return None
    while True:
        m = _MASKED_CALL.match(body, pos)
        if m is None:
            return None
        name, args, sep = m.groups()
        if _needs_mask(name):
            if not free and name not in known:
                return None  # masking reads only known names outside an explicit list
            masked = True
        kwargs: dict = {}
        for key, string, sign, number, constant in _MASKED_ARGS.findall(args):
            if key in kwargs:
                return None
            if _needs_mask(key) or "." in key:
                masked = True
            if string:
                kwargs[key] = string[1:-1]
            elif number:
                try:
                    value = _number(number)
                except ValueError:
                    return None
                kwargs[key] = -value if sign == "-" else value
            else:
                kwargs[key] = _CONSTANTS[constant]
        calls.append(_new_call((name, kwargs)))
        pos = m.end()
        if sep == "]":
            return calls if pos == n and masked else None
        if _LIST_END.match(body, pos):
            return calls if masked else None


# --- the compiled readers ---------------------------------------------------------------------------
# toolzero_verl/core/_callreader.c (built by setup.py where a C compiler is available) holds twins of
# _py_fast_parse and _py_masked_scalars: the same calls or the same declines, several times faster
# (docs/rewards.md, "Speed"), checked equal with hypothesis in tests/toolzero_verl/core/test_callreader.py.
# TOOLZERO_PURE_PYTHON=1 turns them off.
def _load_compiled_reader():
    if os.environ.get("TOOLZERO_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from toolzero_verl.core import _callreader
    except ImportError:
        return None
    _callreader.configure(_KEYWORDS, ToolCall)
    return _callreader


_compiled = _load_compiled_reader()
_compiled_fast_parse = _compiled.read_calls if _compiled else None
_compiled_masked_scalars = _compiled.read_masked_scalars if _compiled else None
_fast_parse = _compiled_fast_parse or _py_fast_parse
_masked_scalars = _compiled_masked_scalars or _py_masked_scalars
READER = "compiled" if _compiled else "python"  # which readers parse_python_calls uses


def _string_spans(text: str) -> list[tuple[int, int]]:
    """Spans of quoted string literals (single or double, backslash escapes), for masking."""
    spans, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'":
            j = i + 1
            while j < n and text[j] != ch:
                j += 2 if text[j] == "\\" else 1
            spans.append((i, min(j, n - 1)))
            i = j + 1
        else:
            i += 1
    return spans


def _needs_mask(name: str) -> bool:
    """``name`` is not a dotted Python name (a part is not an identifier, or is a keyword)."""
    if _IDENT.match(name) is None:
        return True
    # called for every name and key the masked scan reads: no generator, and no split without a dot
    return name in _KEYWORDS if "." not in name else not _KEYWORDS.isdisjoint(name.split("."))


# A run of name characters (greedy, so linear on hostile text); the caller checks what follows.
_FREE_RUN = re.compile(r"[^\s(\[\]=,\"'{}][^(\[\]=,\"'{}]*")


def _name_at(body: str, i: int, expect: str, known: Sequence[str], free: bool) -> str | None:
    """The name starting at ``body[i]`` where the scans expect a call name (``"call"``: a known name, else a
    free one if ``free``) or a keyword (``"kw"``); None if there is none."""
    if expect == "call":
        name = _known_call_name(body, i, known)
        return _free_name(body, i, "call") if name is None and free else name
    return _free_name(body, i, "kw")


def _free_name(body: str, i: int, kind: str) -> str | None:
    """The text at ``i`` up to a call's ``(`` (kind "call") or a keyword's ``=`` (kind "kw")."""
    m = _FREE_RUN.match(body, i)
    if m is None:
        return None
    end = m.end()
    nxt = body[end : end + 2]
    if (kind == "call" and nxt[:1] == "(") or (kind == "kw" and nxt[:1] == "=" and nxt[1:2] != "="):
        return m.group().rstrip()
    return None


def _mask_names(body: str, known_names: Iterable[str], free: bool = True) -> tuple[str, dict[str, str]]:
    """Replace tool and parameter names that are not identifiers with placeholders.

    Known names (the tools offered) are always recognised; with ``free`` also any other run of
    text before ``(`` or ``=`` at a call position.
    """
    known = _masking_names(known_names)
    spans = _string_spans(body)
    out: list[str] = []
    names: dict[str, str] = {}
    stack: list[str] = []
    i, span_idx, expect = 0, 0, ""  # expect: "call" at list level, "kw" inside a call's parens
    n = len(body)
    while i < n:
        if span_idx < len(spans) and spans[span_idx][0] == i:
            start, end = spans[span_idx]
            out.append(body[start : end + 1])
            i, span_idx, expect = end + 1, span_idx + 1, ""
            continue
        ch = body[i]
        if expect and not ch.isspace():
            name = _name_at(body, i, expect, known, free)
            # a keyword must be a plain identifier: dotted names (Hammer's masked `Se.iWY`) are masked too
            if name is not None and (_needs_mask(name) or (expect == "kw" and "." in name)):
                placeholder = _PLACEHOLDER.format(len(names))
                names[placeholder] = name
                out.append(placeholder)
                i += len(name)
                expect = ""
                continue
            expect = ""
        if ch in "[({":
            stack.append(ch)
            expect = "call" if stack == ["["] else "kw" if stack == ["[", "("] else ""
        elif ch in "])}":
            if stack:
                stack.pop()
        elif ch == ",":
            expect = "call" if stack == ["["] else "kw" if stack == ["[", "("] else ""
        out.append(ch)
        i += 1
    return "".join(out), names


# --- rendering ---------------------------------------------------------------------------------


def render_value(value: Any) -> str:
    """Python literal for a JSON-like value; parses back to the same value with :func:`parse_python_calls`."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(str(value))  # no literal for inf/nan; JSON has none either
    if isinstance(value, (int, float, str)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(render_value(v) for v in value)
        return "(" + inner + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{render_value(k)}: {render_value(v)}" for k, v in value.items()) + "}"
    return repr(str(value))


def render_python_calls(calls: Sequence[ToolCall]) -> str:
    """``[f(a=1), g(b='x')]``: BFCL's prompting syntax."""
    parts = (
        f"{c.name}(" + ", ".join(f"{k}={render_value(v)}" for k, v in c.arguments.items()) + ")"
        for c in calls
    )
    return "[" + ", ".join(parts) + "]"
