"""Irrelevance relabelling: remove the gold tools, and the right move becomes not to call.

This is how Hammer built ``xlam-irrelevance-7.5k`` from xLAM ("removed the ground truth function
from the provided tool list, and relabel them as irrelevant", the dataset card of
MadeAgents/xlam-irrelevance-7.5k on Hugging Face; docs/data.md §1),
available here for any corpus at a chosen rate. The derived sample keeps the conversation, offers
the tools minus every function the gold calls use, has no gold call, and its reference answer is
``[]`` - the same no-call convention as Hammer's own rows (:data:`data_prep.corpora.xlam.NO_CALL_ANSWER`).

It is never produced when the request could still be answered *by name* (:func:`answers_by_name`):
a remaining tool whose normalised name (lower-cased, only letters and digits kept) equals a gold
function's, or contains it / is contained in it when the shorter of the two has at least
:data:`MIN_CONTAINED` characters (``get_weather`` vs ``getWeather``, ``Get Weather``,
``get_weather_v2``; ``airlines`` vs ``v1_airlines``). Nor when no tool would be left (an empty
list is ``empty_tools``, Tool-N1 skips those too), nor when an earlier turn already calls a gold
tool (the dialogue would contradict the tool list).

>>> from toolzero_verl.core.calls import ToolCall
>>> from data_prep.sample import Message, Sample
>>> t = lambda n: {"name": n, "description": "", "parameters": {"type": "object", "properties": {}, "required": []}}
>>> s = Sample("xlam", "4", (Message("user", "Weather in Paris?"),), (t("get_weather"), t("news")),
...            (ToolCall("get_weather", {}),))
>>> r = relabel(s)
>>> r.tool_names, r.calls, r.answer, r.source_id
(('news',), (), '[]', '4#irrelevance')
>>> relabel(Sample("xlam", "5", s.messages, (t("get_weather"), t("GetWeather")), s.calls))
'tool_answers_by_name'
"""

from __future__ import annotations

import re
from dataclasses import replace

from ..corpora.xlam import NO_CALL_ANSWER
from ..sample import Sample

MIN_CONTAINED = 5  # shortest normalised name that counts when contained in another name
AUGMENTATION = "irrelevance"

# Why a sample was not relabelled (counted per reason in report.json).
NO_CALLS = "no_calls"  # already a no-call sample
HISTORY_CALLS_GOLD = "history_calls_gold_tool"
NO_TOOL_LEFT = "no_tool_left"
TOOL_ANSWERS_BY_NAME = "tool_answers_by_name"


def normalise_name(name: str) -> str:
    """Lower-cased, letters and digits only.

    >>> normalise_name("Get Weather-v2")
    'getweatherv2'
    """
    return re.sub(r"[^0-9a-z]", "", name.lower())


def answers_by_name(tool_name: str, gold_names: set[str] | frozenset[str]) -> bool:
    """Could a tool called ``tool_name`` answer a request for one of ``gold_names``, judging by name?"""
    a = normalise_name(tool_name)
    for g in gold_names:
        b = normalise_name(g)
        if a == b:
            return True
        short, long_ = (a, b) if len(a) <= len(b) else (b, a)
        if len(short) >= MIN_CONTAINED and short in long_:
            return True
    return False


def relabel(sample: Sample, suffix: str = AUGMENTATION) -> Sample | str:
    """The no-call sample without the gold tools, or the reason it cannot be made."""
    if not sample.calls:
        return NO_CALLS
    gold = {c.name for c in sample.calls}
    if any(c.name in gold for m in sample.messages for c in m.calls):
        return HISTORY_CALLS_GOLD
    remaining = tuple(t for t in sample.tools if t["name"] not in gold)
    if not remaining:
        return NO_TOOL_LEFT
    if any(answers_by_name(t["name"], gold) for t in remaining):
        return TOOL_ANSWERS_BY_NAME
    return replace(sample, source_id=f"{sample.source_id}#{suffix}", tools=remaining, calls=(), answer=NO_CALL_ANSWER,
                   group=sample.group_id)
