"""ToolACE (``data.json``) -> one sample per assistant turn.

Record: ``{"system": str, "conversations": [{"from": "user"|"assistant"|"tool", "value": str}]}``
(docs/data.md §1, ToolACE). The tools are a ``json.dumps`` list embedded in the system
prompt after ``"...that you can invoke:\\n"``; an assistant call turn is a Python-call string
(``[Get Manager Placeholder Image(sport="football")]``, names with spaces) parsed by
:func:`toolzero_verl.core.pycalls.parse_python_calls` with the tool names as known names (never regex
splitting, never eval). Every assistant turn becomes a sample whose context is all prior turns:
call turns give call samples, text turns (answers, chit-chat, clarifications) no-call samples
whose reference answer is the text.

>>> import json
>>> tools = [{"name": "Get Image", "description": "", "parameters": {"type": "dict",
...           "properties": {"sport": {"type": "string", "description": ""}}, "required": ["sport"]}, "required": None}]
>>> rec = {"system": "Here is a list of functions in JSON format that you can invoke:\\n" + json.dumps(tools) + ". \\n",
...        "conversations": [{"from": "user", "value": "A football image?"},
...                          {"from": "assistant", "value": '[Get Image(sport="football")]'}]}
>>> n, out = convert_record(rec, 0)
>>> out[0].calls[0].name, out[0].calls[0].arguments
('Get Image', {'sport': 'football'})
"""

from __future__ import annotations

from typing import Any

from toolzero_verl.core.formats import MAX_RESPONSE_CHARS
from toolzero_verl.core.pycalls import CallSyntaxError, parse_python_calls

from .. import reasons as R
from ..reader import json_list_items
from ..sample import Message, Rejected, Sample
from ..types import tools_from_items

SOURCE = "toolace"
TOOLS_MARKER = "that you can invoke:"  # ToolACE's fixed system-prompt template (docs/data.md §1)
# ``[`` positions tried for the tool list after the marker; the template puts it at the first one, and a
# hostile prompt full of ``[`` must not cost one JSON decode per bracket.
MAX_TOOL_LIST_TRIES = 8
# A call turn longer than this is not parsed: the reward reads no response longer either
# (toolzero_verl.core.formats.MAX_RESPONSE_CHARS), so such a gold call could never be matched.
MAX_CALL_CHARS = MAX_RESPONSE_CHARS
ROLE_MAP = {"user": "user", "assistant": "assistant", "tool": "tool",
            # ShareGPT spellings of the same roles (derived copies of ToolACE use them)
            "human": "user", "gpt": "assistant", "observation": "tool", "function_call": "assistant"}


def extract_tool_items(system: str) -> list[tuple[str, Any]]:
    """``(raw JSON text, value)`` of each tool embedded in a ToolACE system prompt: the first JSON
    list of named objects after the marker (bracket-matched by the JSON decoder, so the trailing
    ``". "`` and any ``]`` inside descriptions are no problem). Raises ``ValueError``."""
    start = system.find(TOOLS_MARKER)
    pos = system.find("[", start + len(TOOLS_MARKER) if start >= 0 else 0)
    for _ in range(MAX_TOOL_LIST_TRIES):
        if pos < 0:
            break
        try:
            items, _ = json_list_items(system, pos)
        except ValueError:
            items = None
        if items and all(isinstance(v, dict) and "name" in v for _, v in items):
            return items
        pos = system.find("[", pos + 1)
    raise ValueError("no JSON tool list in the system prompt")


def extract_tools(system: str) -> list[dict]:
    """The raw tool list embedded in a ToolACE system prompt. Raises ``ValueError``."""
    return [v for _, v in extract_tool_items(system)]


def looks_like_calls(text: str) -> bool:
    """ToolACE writes call turns as a bracketed list and nothing else."""
    t = text.strip()
    return t.startswith("[") and t.endswith("]") and "(" in t


def convert_record(rec: Any, index: int) -> tuple[int, list[Sample | Rejected]]:
    """One dialogue -> ``(candidates, [Sample | Rejected, ...])``, one candidate per assistant turn.

    A record that cannot be read at all yields a single :class:`Rejected`.
    """
    sid = str(index)
    if not isinstance(rec, dict) or not isinstance(rec.get("conversations"), list):
        return 1, [Rejected(SOURCE, sid, R.MALFORMED_RECORD, "needs 'system' and a 'conversations' list")]
    system = rec.get("system")
    if not isinstance(system, str):
        return 1, [Rejected(SOURCE, sid, R.MALFORMED_RECORD, "'system' is not a string")]
    try:
        items = extract_tool_items(system)
    except ValueError as exc:
        return 1, [Rejected(SOURCE, sid, R.TOOLS_UNPARSEABLE, str(exc))]
    try:
        tools = _dedupe(tools_from_items(items, "schema"))
    except (ValueError, TypeError) as exc:
        return 1, [Rejected(SOURCE, sid, R.TOOLS_UNPARSEABLE, str(exc))]
    names = [t["name"] for t in tools]
    turns = []
    for turn in rec["conversations"]:
        speaker = turn.get("from") if isinstance(turn, dict) else None
        role = ROLE_MAP.get(speaker) if isinstance(speaker, str) else None  # a list or dict "from" is no role
        value = turn.get("value") if isinstance(turn, dict) else None
        if role is None or not isinstance(value, str):
            return 1, [Rejected(SOURCE, sid, R.MALFORMED_RECORD, f"bad turn {turn!r:.80}")]
        turns.append((role, value))
    if not any(role == "assistant" for role, _ in turns):
        return 1, [Rejected(SOURCE, sid, R.MALFORMED_RECORD, "no assistant turn")]

    out: list[Sample | Rejected] = []
    history: list[Message] = []
    for t, (role, value) in enumerate(turns):
        if role != "assistant":
            history.append(Message(role, value))
            continue
        turn_id = f"{sid}:{t}"
        if looks_like_calls(value):
            try:
                if len(value) > MAX_CALL_CHARS:
                    raise CallSyntaxError(f"call text longer than {MAX_CALL_CHARS} characters")
                calls = tuple(parse_python_calls(value, names))
            except CallSyntaxError as exc:
                out.append(Rejected(SOURCE, turn_id, R.UNPARSEABLE_CALL, str(exc)))
                history.append(Message("assistant", value))
                continue
            out.append(Sample(SOURCE, turn_id, tuple(history), tuple(tools), calls, None, group=f"{SOURCE}:{sid}"))
            history.append(Message("assistant", "", calls))
        else:
            out.append(Sample(SOURCE, turn_id, tuple(history), tuple(tools), (), value, group=f"{SOURCE}:{sid}"))
            history.append(Message("assistant", value))
    return len(out), out


def _dedupe(tools: list[dict]) -> list[dict]:
    seen, out = set(), []
    for t in tools:
        if t["name"] not in seen:
            seen.add(t["name"])
            out.append(t)
    return out
