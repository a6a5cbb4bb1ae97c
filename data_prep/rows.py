"""Sample -> verl parquet row (SPEC §6) with the SPEC §3 ground-truth JSON.

Columns: ``data_source`` (the corpus: ``toolace``/``xlam``/``hammer``/``toolrl``), ``prompt``
(system prompt, then the conversation; earlier assistant turns are rendered in the chosen output
format with an empty think block, so the history shows the same layout the model must write),
``ability`` (``tool_call``), ``reward_model {style: "rule", ground_truth}``, ``extra_info``
(:data:`EXTRA_FIELDS`, the same keys in every row so the parquet has one schema).

>>> from toolzero_verl.calls import ToolCall
>>> from toolzero_verl.ground_truth import load_ground_truth
>>> from data_prep.sample import Message, Sample
>>> tool = {"name": "f", "description": "", "parameters": {"type": "object",
...         "properties": {"x": {"type": "integer"}, "u": {"type": "string", "default": "c"}}, "required": ["x"]}}
>>> row = build_row(Sample("xlam", "9", (Message("user", "q"),), (tool,), (ToolCall("f", {"x": 1}),)), "answer")
>>> [m["role"] for m in row["prompt"]], row["ability"]
(['system', 'user'], 'tool_call')
>>> load_ground_truth(row["reward_model"]["ground_truth"]).possible_answers
({'f': {'x': [1], 'u': ['', 'c']}},)
"""

from __future__ import annotations

import json
from typing import Any

from toolzero_verl.formats import get_format
from toolzero_verl.ground_truth import derive_possible_answers

from .prompt import system_prompt
from .sample import Message, Sample

ABILITY = "tool_call"
# (key, arrow type name, empty value): fixed so every row - and an empty split - has one schema.
EXTRA_FIELDS = (
    ("split", "string", ""),
    ("index", "int64", 0),
    ("source", "string", ""),
    ("source_id", "string", ""),
    ("group_id", "string", ""),
    ("n_calls", "int64", 0),
    ("n_tools", "int64", 0),
    ("n_turns", "int64", 0),
    ("difficulty", "float64", 0.0),
    ("output_format", "string", ""),
    ("toolrl_output", "string", ""),  # ToolRL's raw target (toolrl source only)
)
GT_MODES = ("json", "raw")  # raw: the ToolRL source's ground truth is ToolRL's own output string


def ground_truth(sample: Sample) -> dict[str, Any]:
    calls = list(sample.calls)
    return {
        "calls": [c.to_dict() for c in calls],
        "tools": list(sample.tools),
        "possible_answers": derive_possible_answers(calls, sample.tools),
        "answer": sample.answer,
    }


def render_message(msg: Message, output_format: str) -> dict[str, str]:
    if msg.role == "assistant":
        fmt = get_format(output_format)
        if msg.calls:
            return {"role": "assistant", "content": fmt.render(msg.calls, msg.content or None, think="")}
        return {"role": "assistant", "content": fmt.render((), msg.content, think="")}
    return {"role": msg.role, "content": msg.content}


def build_prompt(sample: Sample, output_format: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system_prompt(sample.tools, output_format)}] + [
        render_message(m, output_format) for m in sample.messages
    ]


def build_row(
    sample: Sample,
    output_format: str,
    split: str = "train",
    index: int = 0,
    difficulty: float = 0.0,
    toolrl_gt: str = "json",
) -> dict[str, Any]:
    extra = dict(sample.extra)
    gt_text = json.dumps(ground_truth(sample), ensure_ascii=False)
    if toolrl_gt == "raw" and extra.get("toolrl_output"):
        gt_text = extra["toolrl_output"]
    return {
        "data_source": sample.source,
        "prompt": build_prompt(sample, output_format),
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": gt_text},
        "extra_info": {
            "split": split,
            "index": index,
            "source": sample.source,
            "source_id": sample.source_id,
            "group_id": sample.group_id,
            "n_calls": sample.n_calls,
            "n_tools": len(sample.tools),
            "n_turns": len(sample.messages),
            "difficulty": float(difficulty),
            "output_format": output_format,
            "toolrl_output": str(extra.get("toolrl_output", "")),
        },
    }
