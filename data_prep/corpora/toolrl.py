"""ToolRL's ``rlla_rl.json`` (``{"instruction", "input", "output"}`` records) -> samples.

ToolRL released its converted 4k mix, not its converter (docs/data.md §1, ToolRL rlla). We read
it back into our samples: tools from the instruction's ``**Available Tools**`` list (``N. Name: …
Description: … Parameters: <flat JSON map>``), the dialogue from ``input`` (``<user>``, earlier
``<tool_call>``/``<response>`` blocks, ``<obs>`` tool results), and the target from ``output``
(``<tool_call>`` JSON lines with ``parameters`` and/or ``<response>``). ToolRL dropped the
``required`` lists, so nothing is required (``required_policy="none"``). The raw ``output`` is kept
in ``extra_info.toolrl_output`` (and is the ground truth itself with ``--toolrl-gt raw``, which
also skips the gold-vs-schema checks for these rows), so ``reward=toolrl`` can train on ToolRL's
data exactly as released.

>>> rec = {"instruction": "**Available Tools**\\nIn your response, you can use the following tools:\\n"
...        '1. Name: GetNews\\nDescription: News\\nParameters: {"page": {"description": "", "type": "int", "default": ""}}\\n'
...        "\\n**Steps for Each Turn**\\n", "input": "**Dialogue Records History**\\n<user> News please </user>",
...        "output": '<think> x </think>\\n<tool_call>\\n{"name": "GetNews", "parameters": {"page": "1"}}\\n</tool_call>'}
>>> s = convert_record(rec, 0)
>>> s.query, s.calls[0].arguments, s.tools[0]["parameters"]["properties"]["page"]["type"]
('News please', {'page': '1'}, 'integer')
"""

from __future__ import annotations

import json
import re
from typing import Any

from toolzero_verl.core.calls import ToolCall

from .. import reasons as R
from ..sample import Message, Rejected, Sample
from ..types import flat_tool

SOURCE = "toolrl"
TOOLS_HEADER = "**Available Tools**"
TOOLS_END = "**Steps for Each Turn**"
HISTORY_HEADER = "**Dialogue Records History**"
_TOOL_START = re.compile(r"^(\d+)\. Name: ", re.MULTILINE)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)
_BLOCK = re.compile(r"<(user|obs|tool_call|response)>(.*?)</\1>", re.DOTALL)


def extract_tools(instruction: str) -> list[dict]:
    """The instruction's numbered tool list, as raw flat tools. Raises ``ValueError``."""
    start = instruction.find(TOOLS_HEADER)
    if start < 0:
        raise ValueError("no **Available Tools** section")
    end = instruction.find(TOOLS_END, start)
    section = instruction[start : end if end >= 0 else len(instruction)]
    starts = list(_TOOL_START.finditer(section))
    decoder = json.JSONDecoder()
    tools = []
    for k, m in enumerate(starts):
        block = section[m.end() : starts[k + 1].start() if k + 1 < len(starts) else len(section)]
        name, sep, rest = block.partition("\nDescription: ")
        desc, sep2, params = rest.partition("\nParameters: ")
        if not sep or not sep2:
            raise ValueError(f"tool {k + 1} lacks Description/Parameters lines")
        value, _ = decoder.raw_decode(params.strip())
        if not isinstance(value, dict):
            raise ValueError(f"tool {k + 1} parameters are not an object")
        # names are kept verbatim: a gold call may carry the tool name's trailing space
        tools.append({"name": name, "description": desc.strip(), "parameters": value})
    return tools


def parse_call_block(block: str) -> tuple[ToolCall, ...]:
    """``{"name", "parameters"}`` JSON objects, one per line (ToolRL's layout)."""
    calls = []
    for line in block.strip().split("\n"):
        if line.strip():
            calls.append(ToolCall.from_dict(json.loads(line)))
    return tuple(calls)


def parse_dialogue(text: str) -> list[Message]:
    """``input`` -> messages. A ``<response>`` right after a ``<tool_call>`` joins that assistant turn."""
    body = _THINK.sub("", text.replace(HISTORY_HEADER, "", 1))
    messages: list[Message] = []
    for m in _BLOCK.finditer(body):
        tag, content = m.group(1), m.group(2).strip()
        if tag == "user":
            messages.append(Message("user", content))
        elif tag == "obs":
            messages.append(Message("tool", content))
        elif tag == "tool_call":
            messages.append(Message("assistant", "", parse_call_block(content)))
        else:
            last = messages[-1] if messages else None
            if last is not None and last.role == "assistant" and last.calls and not last.content:
                messages[-1] = Message("assistant", content, last.calls)
            else:
                messages.append(Message("assistant", content))
    return messages


def parse_output(output: str) -> tuple[tuple[ToolCall, ...], str | None]:
    body = _THINK.sub("", output, count=1)
    calls: tuple[ToolCall, ...] = ()
    if "<tool_call>" in body:
        calls = parse_call_block(body.split("<tool_call>", 1)[1].split("</tool_call>", 1)[0])
    m = re.search(r"<response>(.*?)</response>", body, re.DOTALL)
    return calls, (m.group(1).strip() if m else None)


def convert_record(rec: Any, index: int) -> Sample | Rejected:
    sid = str(index)
    if not isinstance(rec, dict) or not all(isinstance(rec.get(k), str) for k in ("instruction", "input", "output")):
        return Rejected(SOURCE, sid, R.MALFORMED_RECORD, "needs string instruction/input/output")
    try:
        tools = [flat_tool(t, "none") for t in extract_tools(rec["instruction"])]
    except (ValueError, TypeError) as exc:
        return Rejected(SOURCE, sid, R.TOOLS_UNPARSEABLE, str(exc))
    try:
        messages = parse_dialogue(rec["input"])
    except (ValueError, TypeError) as exc:
        return Rejected(SOURCE, sid, R.MALFORMED_RECORD, f"input: {exc}")
    try:
        calls, response = parse_output(rec["output"])
    except (ValueError, TypeError) as exc:
        return Rejected(SOURCE, sid, R.UNPARSEABLE_CALL, f"output: {exc}")
    seen, unique = set(), []
    for t in tools:
        if t["name"] not in seen:
            seen.add(t["name"])
            unique.append(t)
    return Sample(SOURCE, sid, tuple(messages), tuple(unique), calls, response,
                  extra=(("toolrl_output", rec["output"]),))
