"""xLAM function-calling 60k (``xlam_function_calling_60k.json``) -> samples.

Record: ``{"id": int, "query": str, "answers": "<JSON string>", "tools": "<JSON string>"}``
(docs/data.md §1, xLAM). ``answers``/``tools`` are double-encoded JSON; parameters are a
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
from typing import Any, Mapping

from toolzero_verl.core.calls import ToolCall

from .. import reasons as R
from ..reader import json_list_items
from ..sample import Message, Rejected, Sample
from ..types import flat_tool, tools_from_items

# What a no-call xLAM-schema record (Hammer's irrelevance rows) expects the model to answer:
# the BFCL / Hammer convention of an empty call list.
NO_CALL_ANSWER = "[]"


def _json_field(rec: Mapping[str, Any], key: str) -> Any:
    value = rec.get(key)
    if isinstance(value, str):
        return json.loads(value)
    return value


def normalise_tools(raw_tools: Any, required_policy: str = "inferred") -> tuple[list[dict], set[str]]:
    """Normalise the tools (a JSON string or a list) of one record; returns (tools, names whose
    duplicates differ). Raises ``ValueError``."""
    if raw_tools is None:
        raw_tools = []
    if isinstance(raw_tools, str):
        items, end = json_list_items(raw_tools)
        if raw_tools[end:].strip():
            raise ValueError("text after the tool list")
        normalised = tools_from_items(items, "flat", required_policy)
    elif isinstance(raw_tools, list):
        normalised = []
        for raw in raw_tools:
            if not isinstance(raw, dict):
                raise ValueError("each tool must be an object")
            normalised.append(flat_tool(raw, required_policy))
    else:
        raise ValueError("tools must be a list")
    tools: list[dict] = []
    seen: dict[str, dict] = {}
    ambiguous: set[str] = set()
    for tool in normalised:
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
    calls = []
    for a in raw_answers:
        args = a.get("arguments") if isinstance(a, dict) else None
        name = a.get("name") if isinstance(a, dict) else None
        if type(args) is dict and type(name) is str and name:
            calls.append(ToolCall(name, args))  # the common case, without from_dict's generic checks
        else:
            calls.append(ToolCall.from_dict(a))
    return calls


def convert_record(
    rec: Any, index: int, source: str = "xlam", required_policy: str = "inferred"
) -> Sample | Rejected:
    """One xLAM-schema record -> a :class:`Sample` or a :class:`Rejected` with a reason code."""
    if not isinstance(rec, dict):
        return Rejected(source, str(index), R.MALFORMED_RECORD, "record is not an object")
    rid = rec.get("id", index)
    sid = str(rid)
    query = rec.get("query")
    if not isinstance(query, str):
        return Rejected(source, sid, R.MALFORMED_RECORD, "query is not a string")
    try:
        tools, ambiguous = normalise_tools(rec.get("tools"), required_policy)
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
