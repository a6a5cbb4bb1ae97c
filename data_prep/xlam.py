"""xLAM function-calling 60k (``xlam_function_calling_60k.json``) -> samples.

Record: ``{"id": int, "query": str, "answers": "<JSON string>", "tools": "<JSON string>"}``
(reference/corpora_formats.md §2). ``answers``/``tools`` are double-encoded JSON; parameters are a
flat map with Python-ish type strings and no ``required`` (inferred, see :func:`data_prep.types.flat_tool`).
Duplicate tool names in one record: identical copies are merged; differing copies keep the first,
and a gold call to such a name is rejected as ``duplicate_tool_name`` (its schema is ambiguous).

>>> rec = {"id": 7, "query": "Weather in Paris?", "answers": '[{"name": "w", "arguments": {"city": "Paris"}}]',
...        "tools": '[{"name": "w", "description": "", "parameters": {"city": {"type": "str", "description": ""}}}]'}
>>> s = convert_record(rec, 0)
>>> s.source_id, s.calls[0].arguments, s.tools[0]["parameters"]["required"]
('7', {'city': 'Paris'}, ['city'])
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

from toolzero_verl.calls import ToolCall

from . import reasons as R
from .sample import Message, Rejected, Sample
from .types import flat_tool

# What a no-call xLAM-schema record (Hammer's irrelevance rows) expects the model to answer:
# the BFCL / Hammer convention of an empty call list.
NO_CALL_ANSWER = "[]"


def _json_field(rec: Mapping[str, Any], key: str) -> Any:
    value = rec.get(key)
    if isinstance(value, str):
        return json.loads(value)
    return value


def normalise_tools(raw_tools: Any, required_policy: str = "inferred") -> tuple[list[dict], set[str]]:
    """Normalise a list of flat tools; returns (tools, names whose duplicates differ)."""
    if not isinstance(raw_tools, list):
        raise ValueError("tools must be a list")
    tools: list[dict] = []
    seen: dict[str, dict] = {}
    ambiguous: set[str] = set()
    for raw in raw_tools:
        if not isinstance(raw, Mapping):
            raise ValueError("each tool must be an object")
        tool = flat_tool(raw, required_policy)
        prior = seen.get(tool["name"])
        if prior is not None:
            if prior != tool:
                ambiguous.add(tool["name"])
            continue
        seen[tool["name"]] = tool
        tools.append(tool)
    return tools, ambiguous


def parse_calls(raw_answers: Any) -> list[ToolCall]:
    if not isinstance(raw_answers, list):
        raise ValueError("answers must be a list")
    return [ToolCall.from_dict(a) for a in raw_answers]


def convert_record(
    rec: Any, index: int, source: str = "xlam", required_policy: str = "inferred"
) -> Sample | Rejected:
    """One xLAM-schema record -> a :class:`Sample` or a :class:`Rejected` with a reason code."""
    if not isinstance(rec, Mapping):
        return Rejected(source, str(index), R.MALFORMED_RECORD, "record is not an object")
    rid = rec.get("id", index)
    sid = str(rid)
    query = rec.get("query")
    if not isinstance(query, str):
        return Rejected(source, sid, R.MALFORMED_RECORD, "query is not a string")
    try:
        raw_tools = _json_field(rec, "tools")
        tools, ambiguous = normalise_tools(raw_tools if raw_tools is not None else [], required_policy)
    except (ValueError, TypeError) as exc:
        return Rejected(source, sid, R.MALFORMED_RECORD, f"tools: {exc}")
    try:
        calls = parse_calls(_json_field(rec, "answers"))
    except (ValueError, TypeError) as exc:
        return Rejected(source, sid, R.UNPARSEABLE_CALL, f"answers: {exc}")
    clash = sorted({c.name for c in calls} & ambiguous)
    if clash:
        return Rejected(source, sid, R.DUPLICATE_TOOL_NAME, f"differing tools named {clash[0]!r}")
    return Sample(
        source=source,
        source_id=sid,
        messages=(Message("user", query),),
        tools=tuple(tools),
        calls=tuple(calls),
        answer=None if calls else NO_CALL_ANSWER,
    )


def iter_samples(records: Iterator[Any], source: str = "xlam", required_policy: str = "inferred") -> Iterator[tuple[int, list]]:
    """Yield ``(1, [Sample | Rejected])`` per record (one candidate sample per record)."""
    for i, rec in enumerate(records):
        yield 1, [convert_record(rec, i, source, required_policy)]
