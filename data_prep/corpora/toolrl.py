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
...        '1. Name: GetNews\\nDescription: News\\n'
...        'Parameters: {"page": {"description": "", "type": "int", "default": ""}}\\n'
...        "\\n**Steps for Each Turn**\\n", "input": "**Dialogue Records History**\\n<user> News please </user>",
...        "output": '<think> x </think>\\n<tool_call>\\n{"name": "GetNews", "parameters": {"page": "1"}}'
...                  '\\n</tool_call>'}
>>> s = convert_record(rec, 0)
>>> s.query, s.calls[0].arguments, s.tools[0]["parameters"]["properties"]["page"]["type"]
('News please', {'page': '1'}, 'integer')
"""

from __future__ import annotations

import json
import re
from typing import Any

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.tags import between

from .. import reasons as R
from ..sample import Message, Rejected, Sample
from ..types import flat_tool

SOURCE = "toolrl"
TOOLS_HEADER = "**Available Tools**"
TOOLS_END = "**Steps for Each Turn**"
HISTORY_HEADER = "**Dialogue Records History**"
_TOOL_START = re.compile(r"^(\d+)\. Name: ", re.MULTILINE)
_BLOCK_OPEN = re.compile(r"<(user|obs|tool_call|response)>")
# Tags are paired with str.find, not lazy ``<a>.*?</a>`` regexes: on hostile text with many unclosed
# tags those rescan to the end once per tag (quadratic); these scans are linear.


def drop_pairs(text: str, open_tag: str, close_tag: str, count: int | None = None) -> str:
    """``text`` without its first ``count`` (all) ``open…close`` spans, as ``re.sub(open.*?close, "")``.

    >>> drop_pairs("<think>a</think>x<think>b</think>y<think>", "<think>", "</think>")
    'xy<think>'
    """
    out, pos, done = [], 0, 0
    while count is None or done < count:
        start = text.find(open_tag, pos)
        end = text.find(close_tag, start + len(open_tag)) if start >= 0 else -1
        if end < 0:  # no closing tag after this opening one, so none after any later one either
            break
        out.append(text[pos:start])
        pos, done = end + len(close_tag), done + 1
    out.append(text[pos:])
    return "".join(out)


def tag_blocks(text: str) -> list[tuple[str, str]]:
    """``[(tag, inner text)]`` of the ``<user>``/``<obs>``/``<tool_call>``/``<response>`` blocks, in order,
    as ``re.finditer(r"<(user|obs|tool_call|response)>(.*?)</\1>", DOTALL)`` finds them.

    >>> tag_blocks("<user> hi </user><obs>x<user>y</user>")
    [('user', ' hi '), ('user', 'y')]
    """
    blocks, pos, unclosed = [], 0, {}  # tag -> a position after which it is never closed
    while True:
        m = _BLOCK_OPEN.search(text, pos)
        if m is None:
            return blocks
        tag = m.group(1)
        end = -1 if m.end() >= unclosed.get(tag, len(text) + 1) else text.find(f"</{tag}>", m.end())
        if end < 0:
            unclosed[tag] = min(unclosed.get(tag, m.end()), m.end())
            pos = m.start() + 1
            continue
        blocks.append((tag, text[m.end() : end]))
        pos = end + len(tag) + 3


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
    body = drop_pairs(text.replace(HISTORY_HEADER, "", 1), "<think>", "</think>")
    messages: list[Message] = []
    for tag, inner in tag_blocks(body):
        content = inner.strip()
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
    body = drop_pairs(output, "<think>", "</think>", count=1)
    calls: tuple[ToolCall, ...] = ()
    if "<tool_call>" in body:
        calls = parse_call_block(body.split("<tool_call>", 1)[1].split("</tool_call>", 1)[0])
    response = between(body, "<response>", "</response>")
    return calls, (response.strip() if response is not None else None)


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
