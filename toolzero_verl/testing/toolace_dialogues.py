"""Real ToolACE dialogues for tests: the 100 dialogues of the shared ShareGPT copy, in ToolACE's raw shape.

The shared corpora hold one exact ToolACE record and a ShareGPT copy of the first 100 records of
``data.json`` (``corpora/toolace/zaego123_sharegpt_func_fixed_DERIVED.json``, see the corpora README).
That copy keeps the system prompts and the user, tool and text turns verbatim, but its converter
kept only the last word of a function name that has spaces (``Market Trends API`` became ``API``).
:func:`restore_record` puts the names back: among the tools offered in the record's system prompt,
the one whose name ends in that word, narrowed by the name the following tool turn reports for that
call (ToolACE's tool turns name the function in full) and by the call's argument names. A name that
stays ambiguous or unknown is left as it is (validation then rejects that turn).

Calls are written back in ToolACE's own syntax (``[Market Trends API(trend_type="MARKET_INDEXES")]``).
Not used by the library: tests and benchmarks only.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Sequence

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.pycalls import render_python_calls

DERIVED = Path("toolace") / "zaego123_sharegpt_func_fixed_DERIVED.json"  # under the shared corpora folder
EXACT = Path("toolace") / "toolace_sample.json"
ROLES = {"human": "user", "gpt": "assistant", "observation": "tool", "function_call": "assistant"}
_WORD = re.compile(r"\w+")


def _tools(system: str) -> list[dict]:
    from data_prep.corpora.toolace import extract_tools  # testing support may import anything

    return extract_tools(system)


def restore_name(short: str, tools: Sequence[dict], reported: str | None, arguments: dict) -> str:
    """The full tool name that ``short`` (the last word kept by the lossy converter) stands for."""
    if any(t.get("name") == short for t in tools):
        return short
    candidates = [t for t in tools if (_WORD.findall(str(t.get("name", ""))) or [""])[-1] == short]
    if reported is not None and any(t["name"] == reported for t in candidates):
        return reported
    fitting = [t for t in candidates
               if set(arguments) <= set(((t.get("parameters") or {}).get("properties") or {}))]
    if len(fitting) == 1:
        return fitting[0]["name"]
    return candidates[0]["name"] if len(candidates) == 1 else short


def restore_record(rec: dict) -> dict:
    """One ShareGPT record -> ToolACE's raw ``{"system", "conversations"}`` with full call names."""
    tools = _tools(rec["system"])
    conv = rec["conversations"]
    out = []
    for k, turn in enumerate(conv):
        value = turn["value"]
        if turn["from"] == "function_call":
            obj = json.loads(value)
            raw_calls = obj if isinstance(obj, list) else [obj]
            reported = _reported_names(conv[k + 1]["value"]) if k + 1 < len(conv) and conv[k + 1]["from"] == \
                "observation" else []
            calls = []
            for i, c in enumerate(raw_calls):
                name = restore_name(c["name"], tools, reported[i] if i < len(reported) else None, c["arguments"])
                calls.append(ToolCall(name, c["arguments"]))
            value = render_python_calls(calls)
        out.append({"from": ROLES[turn["from"]], "value": value})
    return {"system": rec["system"], "conversations": out}


def _reported_names(observation: str) -> list[str | None]:
    try:
        entries = json.loads(observation)
    except ValueError:
        return []
    if not isinstance(entries, list):
        return []
    return [e.get("name") if isinstance(e, dict) else None for e in entries]


def load_dialogues(corpora: str | Path) -> list[dict[str, Any]]:
    """The exact ToolACE record followed by the 100 restored dialogues, in ToolACE's raw shape."""
    corpora = Path(corpora)
    exact = json.loads((corpora / EXACT).read_text(encoding="utf-8"))
    derived = json.loads((corpora / DERIVED).read_text(encoding="utf-8"))
    return exact + [restore_record(r) for r in derived]
