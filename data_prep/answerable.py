"""Only rows their own answer key can answer: the row's ground truth, rendered in the chosen output
format as a perfect response, must read back as well-formed and an exact AST match (the reward's strict
part scores 1); otherwise the sample is rejected as ``unanswerable_in_format`` (docs/data.md §5).

Schema validation (:mod:`data_prep.validate`) cannot see this: it depends on the format. Function names
holding ``=``, ``(``, ``[``, quotes or leading spaces, names Python's parser rewrites (it NFKC-normalises
identifiers), and references longer than the reward's parse limit
(:data:`toolzero_verl.core.formats.MAX_RESPONSE_CHARS`) read back wrong or not at all in some formats. A
row no response can get right only adds noise to training.

>>> from toolzero_verl.core.calls import ToolCall
>>> from data_prep.sample import Message, Sample
>>> def sample(function, param):
...     tool = {"name": function, "description": "", "parameters": {"type": "object",
...             "properties": {param: {"type": "integer"}}, "required": []}}
...     return Sample("xlam", "1", (Message("user", "q"),), (tool,), (ToolCall(function, {param: 1}),))
>>> answer_key_failure(sample("get_weather", "days"), "answer") is None
True
>>> answer_key_failure(sample(" get_weather", "days"), "answer")
'the reference, written in the answer format, reads back as other calls (simple_function_checker:wrong_func_name)'
>>> answer_key_failure(sample("get_weather", "a=b"), "answer")
'the reference, written in the answer format, does not parse back (not a Python call list: SyntaxError)'
>>> answer_key_failure(sample("get_weather", "a=b"), "hermes") is None  # JSON keys can hold any text
True
"""

from __future__ import annotations

import json
import math

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.formats import get_format
from toolzero_verl.core.ground_truth import GroundTruth, derive_possible_answers, load_ground_truth
from toolzero_verl.core.matching import ast_match

from .sample import Sample

REFERENCE_THINK = "Let me check the tools."  # what the perfect response thinks; every format takes any text


def stored_reference(sample: Sample) -> GroundTruth:
    """The ground truth as the reward will read it back from the row (:func:`data_prep.rows.ground_truth`).

    Only the calls and possible answers can change on the way through JSON (tuples become lists, keys
    become strings); the tools are JSON values already, and they make up most of the text. Values that are
    JSON already (the common case) come back unchanged, so they skip the round trip.
    """
    calls = list(sample.calls)
    possible = derive_possible_answers(calls, sample.tools)
    if _json_stable([[dict(c.arguments) for c in calls], possible]):
        # What load_ground_truth builds from these very values, without re-checking our own output.
        return GroundTruth(tuple(ToolCall(c.name, dict(c.arguments)) for c in calls), tuple(sample.tools),
                           tuple(possible), sample.answer)
    small = {"calls": [c.to_dict() for c in calls], "possible_answers": possible, "answer": sample.answer}
    stored = json.loads(json.dumps(small, ensure_ascii=False))
    stored["tools"] = list(sample.tools)
    return load_ground_truth(stored)


_SCALARS = (str, bool, type(None))
# Python refuses to print ints over 4,300 digits (sys.get_int_max_str_digits), so json.dumps fails on them.
_PRINTABLE_INT = 10**4000


def _json_stable(value: object) -> bool:
    """Does ``json.loads(json.dumps(value))`` give ``value`` back, with the same types? (Only lists, dicts with
    string keys, and scalars; floats finite; ints printable.)"""
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            if not all(type(k) is str for k in item):
                return False
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif kind is int:
            if not -_PRINTABLE_INT < item < _PRINTABLE_INT:
                return False
        elif kind not in _SCALARS:
            return False
    return True


def answer_key_failure(sample: Sample, output_format: str) -> str | None:
    """None if a response that writes ``sample``'s reference in ``output_format`` is well-formed and an exact
    match of it; otherwise why not, in one line."""
    gt = stored_reference(sample)
    fmt = get_format(output_format)
    parsed = fmt.parse(fmt.render(gt.calls, gt.answer, think=REFERENCE_THINK), gt.known_names)
    where = f"the reference, written in the {output_format} format,"
    if not fmt.format_ok(parsed, gt):
        return f"{where} is not well-formed when read back ({parsed.error or 'layout'})"
    if not parsed.parse_ok:
        return f"{where} does not parse back ({parsed.error})"
    result = ast_match(parsed.calls, gt)
    return None if result.ok else f"{where} reads back as other calls ({result.error})"
