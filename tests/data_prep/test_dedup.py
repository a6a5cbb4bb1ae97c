"""Deduplication key and conflict detection (data_prep.dedup)."""

from __future__ import annotations

from data_prep.dedup import Deduplicator, dedup_key
from data_prep.sample import Message, Sample
from toolzero_verl.core.calls import ToolCall


def tool(name):
    return {"name": name, "description": "", "parameters": {"type": "object", "properties": {}, "required": []}}


DEFAULT_CALLS = (ToolCall("a", {"x": 1}),)


def s(query, tools=("a", "b"), calls=DEFAULT_CALLS, source="xlam", sid="1", history=()):
    return Sample(source, sid, tuple(history) + (Message("user", query),), tuple(tool(t) for t in tools), calls)


def test_key_normalises_case_whitespace_and_tool_order():
    assert dedup_key(s("Find  a Hotel\n")) == dedup_key(s("find a hotel", tools=("b", "a")))
    assert dedup_key(s("find a hotel")) != dedup_key(s("find a hotel", tools=("a",)))
    assert dedup_key(s("find a hotel")) != dedup_key(s("find a hotel", history=(Message("user", "hi"),)))


def test_first_kept_later_counted_conflicts_flagged():
    d = Deduplicator()
    assert d.check(s("q", sid="1")) is None
    same = d.check(s("Q", source="hammer", sid="9", calls=(ToolCall("a", {"x": 1}),)))
    assert same.kept_source == "xlam" and same.kept_source_id == "1" and not same.conflict
    assert d.check(s("q", sid="3", calls=(ToolCall("a", {"x": 1.0}),))).conflict  # 1 vs 1.0: a different label
    assert d.check(s("q", sid="4", calls=())).conflict
    # call order does not make a different label
    d2 = Deduplicator()
    two = (ToolCall("a", {"x": 1}), ToolCall("b", {}))
    d2.check(s("q", calls=two))
    assert not d2.check(s("q", calls=tuple(reversed(two)))).conflict
