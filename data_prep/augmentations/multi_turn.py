"""Tool Zero's multi-turn augmentations (§4.1 of the paper): four ways to turn single-turn call
samples into dialogues that require keeping context, noticing a missing tool, asking, or checking.

Every function takes a validated sample and returns the derived sample(s) or the reason it does
not apply (a string). Derived ids are ``<parent id>#<kind>`` (``:1``/``:2`` for two-turn outputs).
Tool results in derived dialogues are synthetic and say only what the history implies:
``{"name", "arguments", "results": {"status": "success"}}`` per executed call
(:data:`SYNTHETIC_RESULT`), or ``"error": "missing required parameter"`` for a call that lacks one.

(a) :func:`concat` - two *related* single-turn samples of the same corpus (they offer at least one
    tool of the same name with the same schema, and no same-named tools with different schemas)
    become one dialogue: user A, the gold calls of A, their results, user B; the target is B's
    calls with the union of both tool lists.
(b) :func:`reintroduce` - the gold tools are removed (as in :mod:`data_prep.augmentations.irrelevance`, with the
    same "answers by name" guard): turn 1 is the no-call answer ``[]``; then the user says the
    function is available again, and turn 2 (all tools offered) must make the original calls.
(c) :func:`clarify` - a required parameter's value is cut out of the user turn (only when the
    value occurs there verbatim exactly once, nowhere else in the dialogue, is used by no other
    argument, and the cut leaves a clean sentence): turn 1 is a no-call clarification whose
    reference answer asks for that parameter; turn 2 (the user replies with the value) must make
    the original calls.
(d) :func:`correct` - the history already holds the gold calls with one error (a call deleted, an
    argument deleted, or a value changed) and their results; the target makes exactly the calls
    that are missing or wrong.

>>> from toolzero_verl.core.calls import ToolCall
>>> from data_prep.sample import Message, Sample
>>> tool = {"name": "airport_info", "description": "Airport details.", "parameters": {"type": "object",
...         "properties": {"iata": {"type": "string", "description": "IATA code."}}, "required": ["iata"]}}
>>> s = Sample("xlam", "0", (Message("user", "What airport has the IATA code NRT?"),), (tool,),
...            (ToolCall("airport_info", {"iata": "NRT"}),))
>>> ask, follow = clarify(s, random.Random(0))
>>> ask.query, ask.calls
('What airport has the IATA code?', ())
>>> ask.answer
'Your request does not give the required parameter "iata" (IATA code). Could you please provide it?'
>>> follow.query, follow.calls == s.calls
('NRT', True)
"""

from __future__ import annotations

import json
import random
import re
import string
from collections import Counter
from dataclasses import replace
from typing import Any, Sequence

from toolzero_verl.core.calls import ToolCall, call_key
from toolzero_verl.tools.simulate import SYNTHETIC_RESULT  # the simulate executor reports the same status

from ..corpora.xlam import NO_CALL_ANSWER
from ..sample import Message, Sample
from .irrelevance import relabel

MISSING_REQUIRED_ERROR = "missing required parameter"
REINTRODUCE_TEMPLATE = "The function{s} {names} {verb} available now. Please try my request again."
CLARIFY_TEMPLATE = 'Your request does not give the required parameter "{param}"{desc}. Could you please provide it?'
MAX_DESCRIPTION = 100  # a parameter description longer than this is not quoted in the clarification
MAX_PARTNER_TRIES = 32  # concat: candidate partners examined per sample
PERTURBED_STRING_LENGTH = 5
# Words dropped together with a value cut from the user turn ("... code NRT" -> "... code",
# "flights on 2024-09-03 for two" -> "flights for two").
LEADING_WORDS = ("and", "or", "in", "on", "at", "for", "from", "to", "of", "with", "by", "about", "named", "called",
                 "as", "is")
_WORD = "A-Za-z0-9_"
_PAIRS = {'"': '"', "'": "'", "(": ")", "[": "]", "`": "`", "\u201c": "\u201d"}

# Reasons a sample was not augmented (counted per reason in report.json).
NO_CALLS = "no_calls"
NOT_SINGLE_TURN = "not_single_turn"
NOT_AFTER_USER = "target_not_after_user_turn"
NO_RELATED_SAMPLE = "no_related_sample"
NO_REMOVABLE_VALUE = "no_removable_required_value"
NOTHING_TO_PERTURB = "nothing_to_perturb"


def _derive(sample: Sample, kind: str, **changes: Any) -> Sample:
    return replace(sample, source_id=f"{sample.source_id}#{kind}", group=sample.group_id, **changes)


def results_message(calls: Sequence[ToolCall], tools: Sequence[dict]) -> Message:
    """The synthetic tool turn after ``calls``: each call echoed with a success status, or an error
    if it lacks a required parameter."""
    by_name = {t["name"]: t for t in tools}
    out = []
    for c in calls:
        required = (by_name.get(c.name, {}).get("parameters") or {}).get("required") or ()
        entry: dict[str, Any] = {"name": c.name, "arguments": dict(c.arguments)}
        if any(r not in c.arguments for r in required):
            entry["error"] = MISSING_REQUIRED_ERROR
        else:
            entry["results"] = SYNTHETIC_RESULT
        out.append(entry)
    return Message("tool", json.dumps(out, ensure_ascii=False))


def _after_user(sample: Sample) -> bool:
    return bool(sample.messages) and sample.messages[-1].role == "user"


# --- (a) concatenation -------------------------------------------------------------------------


def concat_eligible(sample: Sample) -> str | None:
    """``None`` if the sample can be a part of a concatenated dialogue, else the reason."""
    if not sample.calls:
        return NO_CALLS
    if len(sample.messages) != 1 or sample.messages[0].role != "user":
        return NOT_SINGLE_TURN
    return None


def related(a: Sample, b: Sample) -> bool:
    """Same corpus, different requests, a shared tool (same name and schema), no name clash."""
    if a.source != b.source or a.query.strip().lower() == b.query.strip().lower():
        return False
    tools_a = {t["name"]: t for t in a.tools}
    shared = False
    for t in b.tools:
        other = tools_a.get(t["name"])
        if other is None:
            continue
        if other != t:
            return False
        shared = True
    return shared


def concat(a: Sample, b: Sample) -> Sample:
    """One dialogue from two related single-turn samples; the target is ``b``'s calls."""
    names = set(a.tool_names)
    tools = a.tools + tuple(t for t in b.tools if t["name"] not in names)
    messages = (a.messages[0], Message("assistant", "", a.calls), results_message(a.calls, a.tools), b.messages[0])
    return replace(b, source_id=f"{a.source_id}+{b.source_id}#concat", group=a.group_id, messages=messages, tools=tools,
                   calls=b.calls, answer=None)


def pick_partner(a: Sample, pool: Sequence[Sample], by_tool: dict[str, list[int]], rng: random.Random) -> Sample | None:
    """A related partner for ``a`` among ``pool`` (indexed by tool name), chosen with ``rng``."""
    candidates = sorted({i for t in a.tool_names for i in by_tool.get(t, ())})
    rng.shuffle(candidates)
    for i in candidates[:MAX_PARTNER_TRIES]:
        if pool[i] is not a and related(a, pool[i]):
            return pool[i]
    return None


# --- (b) removal and reintroduction ------------------------------------------------------------


def reintroduce(sample: Sample) -> tuple[Sample, Sample] | str:
    """(turn 1: gold tools missing, answer ``[]``; turn 2: they are back, the original calls)."""
    if not _after_user(sample):
        return NOT_AFTER_USER if sample.calls else NO_CALLS
    first = relabel(sample, "reintroduce:1")
    if isinstance(first, str):
        return first
    names = list(dict.fromkeys(c.name for c in sample.calls))
    quoted = " and ".join(f'"{n}"' for n in names)
    plural = len(names) > 1
    note = REINTRODUCE_TEMPLATE.format(s="s" if plural else "", names=quoted, verb="are" if plural else "is")
    messages = sample.messages + (Message("assistant", NO_CALL_ANSWER), Message("user", note))
    second = _derive(sample, "reintroduce:2", messages=messages)
    return first, second


# --- (c) clarification -------------------------------------------------------------------------


def _value_text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text.strip()) >= 1 and text == text.strip() else None


def cut_value(text: str, value: str) -> str | None:
    """``text`` without its single whole-token occurrence of ``value`` (with surrounding quotes or
    brackets and a leading preposition), or ``None`` if that cannot be done cleanly.

    >>> cut_value("Find flights from LIS to OSL on 2024-09-03 for two adults.", "2024-09-03")
    'Find flights from LIS to OSL for two adults.'
    >>> cut_value('Define the word "serendipity".', "serendipity")
    'Define the word.'
    >>> cut_value("Sunrise at (64.1466, -21.9426)?", "64.1466") is None  # would leave "(, -21.9426)"
    True
    """
    hits = list(re.finditer(rf"(?<![{_WORD}]){re.escape(value)}(?![{_WORD}])", text, re.IGNORECASE))
    if len(hits) != 1:
        return None
    i, j = hits[0].span()
    if i > 0 and j < len(text) and _PAIRS.get(text[i - 1]) == text[j]:
        i, j = i - 1, j + 1
    lead = re.search(rf"(?:(?<![{_WORD}])(?:{'|'.join(LEADING_WORDS)})\s+|[:=]\s*)$", text[:i], re.IGNORECASE)
    if lead:
        i = lead.start()
    head, tail = text[:i].rstrip(), text[j:].lstrip()
    out = head + (" " if head and tail[:1].isalnum() else "") + tail
    out = re.sub(r"\s+([?.!,;:])", r"\1", out).strip()
    if value.lower() in out.lower() or len(re.findall(r"[A-Za-z]{2,}", out)) < 2:
        return None
    # Clean = the cut joins two words, or ends a clause/sentence: "code NRT?" -> "code?", never "(, -21.9)".
    before, after = head[-1:], tail[:1]
    if not (before == "" or before.isalnum() or before in ".!?)]\"'\u201d") or not (
            after == "" or after.isalnum() or after in ".!?,;(\"'\u201c"):
        return None
    if before == "" and not after.isalnum():
        return None
    if re.search(r"\d\W*$", head) and re.search(r"^\W*[-+]?\d", tail):  # one number of a list: "1.5, (2.5), 3"
        return None
    return out


def clarify_answer(param: str, prop: dict) -> str:
    desc = (prop.get("description") or "").strip().rstrip(".")
    desc = f" ({desc})" if desc and len(desc) <= MAX_DESCRIPTION and "\n" not in desc else ""
    return CLARIFY_TEMPLATE.format(param=param, desc=desc)


def clarify(sample: Sample, rng: random.Random) -> tuple[Sample, Sample] | str:
    """(turn 1: the value is missing, ask for it; turn 2: the user gives it, the original calls)."""
    if not sample.calls:
        return NO_CALLS
    if not _after_user(sample):
        return NOT_AFTER_USER
    by_name = {t["name"]: t for t in sample.tools}
    query = sample.messages[-1].content
    earlier = " ".join(m.content for m in sample.messages[:-1]).lower()
    args = [(k, str(v).lower()) for c in sample.calls for k, v in c.arguments.items()]
    options = []
    for c in sample.calls:
        for p in by_name[c.name]["parameters"].get("required") or ():
            text = _value_text(c.arguments.get(p))
            if text is None or text.lower() in earlier:
                continue
            # No other argument may hold (part of) this value: cutting it would starve that one too.
            if any(k != p and text.lower() in v for k, v in args):
                continue
            cut = cut_value(query, text)
            if cut is not None:
                options.append((c.name, p, text, cut))
    if not options:
        return NO_REMOVABLE_VALUE
    options = sorted(set(options))
    fname, param, text, cut = options[rng.randrange(len(options))]
    answer = clarify_answer(param, by_name[fname]["parameters"]["properties"][param])
    asked = sample.messages[:-1] + (Message("user", cut),)
    first = _derive(sample, "clarify:1", messages=asked, calls=(), answer=answer)
    second = _derive(sample, "clarify:2", messages=asked + (Message("assistant", answer), Message("user", text)),
                     answer=None)
    return first, second


# --- (d) check and correct ---------------------------------------------------------------------


def _perturb_value(value: Any, prop: dict, rng: random.Random) -> Any:
    """A clearly different value of the same type, or ``None``."""
    enum = [e for e in prop.get("enum") or () if e != value and type(e) is type(value)]
    if enum:
        return enum[rng.randrange(len(enum))]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.randint(1, 4)
    if isinstance(value, float):
        return round(value + rng.uniform(1.0, 5.0), 2)
    if isinstance(value, str) and value.strip():
        norm = re.sub(r"[\s,./\-_*^]", "", value.lower())
        while True:
            new = "".join(rng.choice(string.ascii_lowercase) for _ in range(PERTURBED_STRING_LENGTH))
            if new != norm:
                return new
    if isinstance(value, (list, tuple)) and len(value) >= 2:
        return type(value)(value[:-1])
    return None


def correct(sample: Sample, rng: random.Random) -> Sample | str:
    """History: the gold calls with one error and their results; target: the calls that fix it."""
    if not sample.calls:
        return NO_CALLS
    if not _after_user(sample):
        return NOT_AFTER_USER
    by_name = {t["name"]: t for t in sample.tools}
    calls = list(sample.calls)
    options: list[tuple] = []
    if len(calls) >= 2:
        options += [("call", i, None) for i in range(len(calls))]
    for i, c in enumerate(calls):
        props = by_name[c.name]["parameters"]["properties"]
        for k, v in c.arguments.items():
            prop = props.get(k, {})
            if "default" not in prop or prop["default"] != v:  # omitting a default value is no error
                options.append(("parameter", i, k))
            if _perturb_value(v, prop, random.Random(0)) is not None:
                options.append(("value", i, k))
    if not options:
        return NOTHING_TO_PERTURB
    kinds = sorted({o[0] for o in options})
    kind = kinds[rng.randrange(len(kinds))]
    picks = [o for o in options if o[0] == kind]
    _, i, key = picks[rng.randrange(len(picks))]
    made = list(calls)
    if kind == "call":
        del made[i]
    elif kind == "parameter":
        made[i] = ToolCall(calls[i].name, {k: v for k, v in calls[i].arguments.items() if k != key})
    else:
        prop = by_name[calls[i].name]["parameters"]["properties"].get(key, {})
        changed = _perturb_value(calls[i].arguments[key], prop, rng)
        made[i] = ToolCall(calls[i].name, {**calls[i].arguments, key: changed})
    missing = Counter(call_key(c) for c in calls) - Counter(call_key(c) for c in made)
    target = []
    for c in calls:
        if missing[call_key(c)] > 0:
            missing[call_key(c)] -= 1
            target.append(c)
    messages = sample.messages + (Message("assistant", "", tuple(made)), results_message(made, sample.tools))
    return _derive(sample, f"correct:{kind}", messages=messages, calls=tuple(target))
