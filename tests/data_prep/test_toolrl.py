"""ToolRL rlla converter (data_prep.corpora.toolrl) on ToolRL's 80 released test rows."""

from __future__ import annotations

import json

from data_prep import reasons as R
from data_prep.corpora.toolrl import convert_record, parse_dialogue
from data_prep.sample import Rejected, Sample


def test_all_80_rows_convert(corpora):
    rows = json.loads((corpora / "toolrl" / "rlla_rl_test80.json").read_text())
    out = [convert_record(r, i) for i, r in enumerate(rows)]
    assert all(isinstance(s, Sample) for s in out)
    for s, r in zip(out, rows):
        assert dict(s.extra)["toolrl_output"] == r["output"]
        assert bool(s.calls) == ("<tool_call>" in r["output"])
        assert (s.answer is not None) == ("<response>" in r["output"])
        n_tools = r["instruction"].split("**Steps for Each Turn**")[0].count("\nDescription: ")
        assert len(s.tools) <= n_tools and s.tools
        assert s.messages[-1].role in ("user", "tool")  # the target follows a user turn or a tool result
        assert len([m for m in s.messages if m.role == "user"]) == r["input"].count("<user>")
    multi = next(s for s in out if any(m.role == "tool" for m in s.messages))
    roles = [m.role for m in multi.messages]
    assert roles[:4] == ["user", "assistant", "tool", "assistant"]


def test_dialogue_merges_call_and_response():
    msgs = parse_dialogue(
        "**Dialogue Records History**\n<user> hi </user>\n\n<think> t </think>\n<tool_call>\n"
        '{"name": "f", "parameters": {"a": 1}}\n</tool_call>\n<response> done </response>\n\n<user> ok </user>'
    )
    assert [(m.role, m.content, len(m.calls)) for m in msgs] == [
        ("user", "hi", 0),
        ("assistant", "done", 1),
        ("user", "ok", 0),
    ]


def test_malformed():
    assert convert_record({"instruction": 1, "input": "", "output": ""}, 0).reason == R.MALFORMED_RECORD
    assert convert_record({"instruction": "no tools", "input": "", "output": ""}, 0).reason == R.TOOLS_UNPARSEABLE
    instr = "**Available Tools**\n1. Name: f\nDescription: d\nParameters: {}\n\n**Steps for Each Turn**"
    bad = convert_record(
        {"instruction": instr, "input": "<user> q </user>", "output": "<tool_call>\n{nope}\n</tool_call>"}, 0
    )
    assert isinstance(bad, Rejected) and bad.reason == R.UNPARSEABLE_CALL
