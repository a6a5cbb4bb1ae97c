"""Name masking: Tool Zero's ``func_1``/``param_1`` renaming and Hammer's random function masking.

Both augmentations rename function and parameter names *consistently* across everything a sample holds,
so the model must read the descriptions instead of recalling memorised API names:

- the tool list (names, ``properties`` keys, ``required``; descriptions stay as they are),
- the gold calls (and so ``possible_answers``, which rows derive from calls and tools),
- earlier assistant calls in the history,
- tool results: a JSON result has every string equal to a function name renamed, and the keys of
  ``arguments``/``parameters`` objects next to a ``"name"`` renamed by that function's mapping;
- free text (user and assistant turns, non-JSON tool results, the reference answer): a function
  name is renamed where it stands as a whole token if it is *distinctive* (:func:`distinctive`:
  ``get_weather``, ``GetCompetitions``, ``Tide Table Lookup``), or anywhere it is quoted
  (``"search"``); a parameter name only where it is quoted, or distinctive, and maps to one new
  name in this sample. Plain words (``search``, ``city``) are left alone in free text so that
  ordinary language is never rewritten.

:func:`tool_zero_renaming` numbers functions ``func_1…`` in tool-list order and each function's
parameters ``param_1…`` in schema order. :func:`hammer_renaming` follows Hammer's published
procedure (``train/data_processing.py`` in GitHub MadeAgents/Hammer; docs/data.md §11): random
function names of 5–15 and parameter names of 4–10 characters from ``[A-Za-z0-9_.]``, and, for a
gold argument equal to its parameter's default, a perturbed default rewritten in the schema, the
descriptions, the calls and the user turns.
Hammer's bool-to-float quirk is not reproduced (a float for a boolean parameter is a type error);
boolean defaults are left unchanged.

>>> from toolzero_verl.core.calls import ToolCall
>>> from data_prep.sample import Message, Sample
>>> tool = {"name": "get_weather", "description": "Weather for a city.", "parameters": {"type": "object",
...         "properties": {"city": {"type": "string"}}, "required": ["city"]}}
>>> s = Sample("xlam", "1", (Message("user", "Weather in Paris?"),), (tool,),
...            (ToolCall("get_weather", {"city": "Paris"}),))
>>> m = apply_renaming(s, tool_zero_renaming(s))
>>> m.calls[0], m.tools[0]["parameters"]["required"], m.tools[0]["description"]
(ToolCall(name='func_1', arguments={'param_1': 'Paris'}), ['param_1'], 'Weather for a city.')
"""

from __future__ import annotations

import json
import random
import re
import string
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, Mapping

from toolzero_verl.core.calls import ToolCall

from ..sample import Message, Sample

# Hammer's masking alphabet and name lengths (train/data_processing.py in GitHub MadeAgents/Hammer:
# replace_function_names_new, replace_param_names_new, replace_param_default_values_news).
HAMMER_ALPHABET = string.ascii_letters + string.digits + "_."
HAMMER_FUNCTION_LENGTH = (5, 15)
HAMMER_PARAM_LENGTH = (4, 10)
HAMMER_STRING_DEFAULT_LENGTH = 5  # a string default becomes 5 random characters
HAMMER_INT_DEFAULT_STEP = (1, 4)  # an int default becomes default + randint(1, 4)
# Tool Zero's placeholder names (the paper's example: func_1, param_1).
FUNCTION_PREFIX = "func_"
PARAM_PREFIX = "param_"

# A name is rewritten in free text only if it cannot be an ordinary word: it holds ``_ . / -``, a
# digit, a space, or a lower-to-upper case change, and is at least 3 characters long.
_DISTINCTIVE = re.compile(r"[_./\-\d\s]|[a-z][A-Z]")
_WORD = "A-Za-z0-9_"
_QUOTE_CHARS = "\"'`\u201c\u201d"
# Any quoted stretch (without line breaks); its inside is looked up among the names to rename.
_QUOTED = re.compile(r"(?<=[\"'`\u201c])[^\"'`\u201c\u201d\n]{1,200}(?=[\"'`\u201d])")


def _is_word(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


def distinctive(name: str) -> bool:
    """Can ``name`` be renamed inside free text without touching ordinary words?

    >>> [distinctive(n) for n in ("get_weather", "GetCompetitions", "Tide Table Lookup", "search", "Search", "API")]
    [True, True, True, False, False, False]
    """
    return len(name) >= 3 and bool(_DISTINCTIVE.search(name.strip()))


@dataclass(frozen=True)
class Renaming:
    """Old -> new names for one sample. ``params`` is keyed by the *original* function name;
    ``values`` (Hammer only) maps ``(function, parameter)`` to ``(old default, new default)``."""

    functions: Mapping[str, str]
    params: Mapping[str, Mapping[str, str]]
    values: Mapping[tuple[str, str], tuple[Any, Any]] = field(default_factory=dict)

    def function(self, name: str) -> str:
        return self.functions.get(name, name)

    def param(self, function: str, name: str) -> str:
        return self.params.get(function, {}).get(name, name)

    @property
    def changes(self) -> int:
        return (sum(o != n for o, n in self.functions.items())
                + sum(o != n for m in self.params.values() for o, n in m.items()) + len(self.values))


class UnmaskableSample(ValueError):
    """The sample cannot be masked consistently (the reason is the message)."""


HISTORY_UNKNOWN_FUNCTION = "history_unknown_function"  # an earlier call names a tool not offered
RAW_GROUND_TRUTH = "raw_ground_truth"  # --toolrl-gt raw: the reference is ToolRL's text, not renamable
NOTHING_TO_RENAME = "nothing_to_rename"


def _check_maskable(sample: Sample) -> None:
    names = set(sample.tool_names)
    for m in sample.messages:
        for c in m.calls:
            if c.name not in names:
                raise UnmaskableSample(HISTORY_UNKNOWN_FUNCTION)


def tool_zero_renaming(sample: Sample) -> Renaming:
    """Tool Zero's masking: ``func_1…`` in tool order, ``param_1…`` per function in schema order."""
    _check_maskable(sample)
    functions = {t["name"]: f"{FUNCTION_PREFIX}{i}" for i, t in enumerate(sample.tools, 1)}
    params = {t["name"]: {p: f"{PARAM_PREFIX}{j}" for j, p in enumerate(_properties(t), 1)} for t in sample.tools}
    return Renaming(functions, params)


def _random_name(rng: random.Random, lengths: tuple[int, int], taken: set[str]) -> str:
    while True:
        name = "".join(rng.choice(HAMMER_ALPHABET) for _ in range(rng.randint(*lengths)))
        if name not in taken:
            taken.add(name)
            return name


def hammer_renaming(sample: Sample, rng: random.Random, fraction: float = 1.0) -> Renaming:
    """Hammer's masking: each function and each parameter is renamed with probability
    ``fraction`` (1.0 = all, as in Hammer) to a random identifier; gold arguments equal to their
    parameter's default get a perturbed default (see the module docstring)."""
    _check_maskable(sample)
    taken_functions = set(sample.tool_names)
    functions: dict[str, str] = {}
    params: dict[str, dict[str, str]] = {}
    for tool in sample.tools:
        name = tool["name"]
        renamed = rng.random() < fraction
        functions[name] = _random_name(rng, HAMMER_FUNCTION_LENGTH, taken_functions) if renamed else name
        props = _properties(tool)
        taken = set(props)
        params[name] = {p: (_random_name(rng, HAMMER_PARAM_LENGTH, taken) if rng.random() < fraction else p)
                        for p in props}
    return Renaming(functions, params, _perturbed_defaults(sample, rng))


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _count_token(text: str, needle: str, ignore_case: bool = False) -> int:
    return len(_token_pattern(needle, ignore_case).findall(text))


@lru_cache(maxsize=4096)
def _token_pattern(needle: str, ignore_case: bool = False) -> re.Pattern:
    return re.compile(rf"(?<![{_WORD}]){re.escape(needle)}(?![{_WORD}])", re.IGNORECASE if ignore_case else 0)


def _perturbed_defaults(sample: Sample, rng: random.Random) -> dict[tuple[str, str], tuple[Any, Any]]:
    """Hammer's default-value perturbation, limited to changes that stay consistent: the value is a
    string, int or float (not bool), is no enum member, equals the parameter's default (compared as
    text, as Hammer does), is not the value of another gold argument, and occurs at most once in
    the user turns (so rewriting it there cannot change another number or word)."""
    by_name = {t["name"]: t for t in sample.tools}
    user_text = "\n".join(m.content for m in sample.messages if m.role == "user")
    values: dict[tuple[str, str], tuple[Any, Any]] = {}
    all_args = [(c.name, k, v) for c in sample.calls for k, v in c.arguments.items()]
    for fname, pname, value in all_args:
        if (fname, pname) in values or isinstance(value, bool) or not isinstance(value, (str, int, float)):
            continue
        prop = _properties(by_name[fname]).get(pname, {})
        default = prop.get("default")
        if "default" not in prop or isinstance(default, bool) or prop.get("enum") or str(default) != str(value):
            continue
        text = _value_text(value)
        if not text.strip() or any(str(v) == str(value) and (f, k) != (fname, pname) for f, k, v in all_args):
            continue
        if _count_token(user_text, text, ignore_case=True) > 1:
            continue
        if isinstance(value, str):
            new: Any = "".join(rng.choice(string.ascii_letters) for _ in range(HAMMER_STRING_DEFAULT_LENGTH))
        elif isinstance(value, int):
            new = value + rng.randint(*HAMMER_INT_DEFAULT_STEP)
        else:
            new = round(value + rng.uniform(0.01, 1.0), 2)
        if str(new).lower() == str(value).lower():
            continue
        values[(fname, pname)] = (value, new)
    return values


def _properties(tool: Mapping[str, Any]) -> dict[str, Any]:
    return (tool.get("parameters") or {}).get("properties") or {}


# --- applying a renaming ---------------------------------------------------------------------------


class _Rewriter:
    """Applies one :class:`Renaming` to tools, calls and text."""

    def __init__(self, renaming: Renaming) -> None:
        self.r = renaming
        fn = {o: n for o, n in renaming.functions.items() if o != n}
        # Parameter names are renamed in free text only when they map to one new name in the sample.
        targets: dict[str, set[str]] = {}
        for mapping in renaming.params.values():
            for o, n in mapping.items():
                targets.setdefault(o, set()).add(n)
        pm = {}
        for o, ns in targets.items():
            n = next(iter(ns))
            if len(ns) == 1 and n != o:
                pm[o] = n
        self.quoted = {**pm, **fn}
        # Longest first, so "Tide Table Lookup" wins over a name inside it.
        self.bare = sorted(((o, n) for o, n in self.quoted.items() if distinctive(o)), key=lambda x: -len(x[0]))

    def text(self, text: str) -> str:
        """Rename in one pass over ``text`` (a new name is never renamed again: func_2 -> func_1 -> ...)."""
        if not text or not self.quoted:
            return text
        spans: list[tuple[int, int, str]] = []
        if any(q in text for q in _QUOTE_CHARS):
            for m in _QUOTED.finditer(text):
                new = self.quoted.get(m.group(0))
                if new is not None:
                    spans.append((m.start(), m.end(), new))
        for old, new in self.bare:
            start = text.find(old)
            while start >= 0:
                end = start + len(old)
                if (not _is_word(text, start - 1) and not _is_word(text, end)
                        and not any(s < end and start < e for s, e, _ in spans)):
                    spans.append((start, end, new))
                start = text.find(old, end)
        if not spans:
            return text
        out, pos = [], 0
        for s, e, new in sorted(spans):
            out += [text[pos:s], new]
            pos = e
        return "".join(out) + text[pos:]

    def call(self, call: ToolCall) -> ToolCall:
        args = {}
        for k, v in call.arguments.items():
            change = self.r.values.get((call.name, k))
            if change is not None and str(v) == str(change[0]) and type(v) is type(change[0]):
                v = change[1]
            args[self.r.param(call.name, k)] = v
        return ToolCall(self.r.function(call.name), args)

    def tool(self, tool: dict) -> dict:
        name = tool["name"]
        params = tool.get("parameters") or {}
        props = {}
        for p, prop in _properties(tool).items():
            change = self.r.values.get((name, p))
            if change is not None:
                prop = dict(prop, default=change[1])
                if prop.get("description"):
                    prop["description"] = _swap_value(prop["description"], change)
            props[self.r.param(name, p)] = prop
        desc = tool.get("description", "")
        for (f, _), change in self.r.values.items():
            if f == name and desc:
                desc = _swap_value(desc, change)
        out = dict(tool, name=self.r.function(name), description=desc)
        out["parameters"] = dict(params, properties=props,
                                 required=[self.r.param(name, p) for p in params.get("required") or ()])
        return out

    def json_value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.r.functions.get(value) or self.text(value)
        if isinstance(value, list):
            return [self.json_value(v) for v in value]
        if isinstance(value, dict):
            fname = value.get("name") if isinstance(value.get("name"), str) else None
            out = {}
            for k, v in value.items():
                if k in ("arguments", "parameters") and fname in self.r.params and isinstance(v, dict):
                    v = {self.r.param(fname, a): self.json_value(x) for a, x in v.items()}
                else:
                    v = self.json_value(v)
                out[self.r.functions.get(k, k)] = v
            return out
        return value

    def tool_result(self, text: str) -> str:
        stripped = text.strip()
        if stripped[:1] in ("[", "{"):
            try:
                value = json.loads(stripped)
            except ValueError:
                return self.text(text)
            return json.dumps(self.json_value(value), ensure_ascii=False)
        return self.text(text)

    def user_text(self, text: str) -> str:
        for change in self.r.values.values():
            text = _swap_value(text, change, variants=True)
        return self.text(text)

    def message(self, m: Message) -> Message:
        if m.role == "tool":
            return Message(m.role, self.tool_result(m.content), m.calls)
        content = self.user_text(m.content) if m.role == "user" else self.text(m.content)
        return Message(m.role, content, tuple(self.call(c) for c in m.calls))


def _swap_value(text: str, change: tuple[Any, Any], variants: bool = False) -> str:
    """Replace whole-token occurrences of an old default by the new one (Hammer also rewrites the
    capitalised, lower- and upper-case spellings in the query)."""
    old, new = _value_text(change[0]), _value_text(change[1])
    pairs = [(old, new)]
    if variants and isinstance(change[0], str):
        pairs += [(old.capitalize(), new.capitalize()), (old.lower(), new.lower()), (old.upper(), new.upper())]
    for o, n in dict(pairs).items():
        text = _token_pattern(o).sub(lambda _m, n=n: n, text)
    return text


def apply_renaming(sample: Sample, renaming: Renaming) -> Sample:
    """The sample with every name (and Hammer's perturbed defaults) rewritten; ToolRL's raw target
    text, which still holds the old names, is dropped from ``extra``."""
    rw = _Rewriter(renaming)
    extra = tuple((k, v) for k, v in sample.extra if k != "toolrl_output")
    return replace(
        sample,
        messages=tuple(rw.message(m) for m in sample.messages),
        tools=tuple(rw.tool(t) for t in sample.tools),
        calls=tuple(rw.call(c) for c in sample.calls),
        answer=rw.text(sample.answer) if sample.answer else sample.answer,
        extra=extra,
    )
