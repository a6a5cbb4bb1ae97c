"""Sample -> verl parquet row with its ground-truth JSON (both described in docs/data.md §6).

Columns: ``data_source`` (the corpus: ``toolace``/``xlam``/``hammer``/``toolrl``), ``prompt``
(system prompt, then the conversation; earlier assistant turns are rendered in the chosen output
format with an empty think block, so the history shows the same layout the model must write),
``ability`` (``tool_call``), ``reward_model {style: "rule", ground_truth}``, ``extra_info``
(:data:`EXTRA_FIELDS`, the same keys in every row so the parquet has one schema).

>>> from toolzero_verl.core.calls import ToolCall
>>> from toolzero_verl.core.ground_truth import load_ground_truth
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

from toolzero_verl.core.episode import AGENT_NAME, episode_dict
from toolzero_verl.core.formats import get_format
from toolzero_verl.core.ground_truth import derive_possible_answers
from toolzero_verl.core.prompt import system_prompt

from .episodes import episode_context, episode_from_sample
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
    ("augmentation", "string", ""),  # augmentations applied, e.g. "concat+name_mask" (data_prep.augmentations.apply)
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


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


_TOOLS_MARK = "\x00tools\x00"  # a placeholder value, swapped for the pre-serialised tools
_TOOLS_SLOT = '"tools": "\\u0000tools\\u0000"'


def ground_truth_json(sample: Sample, tool_strs: list[str] | None = None) -> str:
    """``json.dumps(ground_truth(sample))``, reusing already-serialised tools (they dominate the size)."""
    if tool_strs is None:
        tool_strs = [_dumps(t) for t in sample.tools]
    calls = list(sample.calls)
    text = _dumps({
        "calls": [c.to_dict() for c in calls],
        "tools": _TOOLS_MARK,
        "possible_answers": derive_possible_answers(calls, sample.tools),
        "answer": sample.answer,
    })
    if text.count(_TOOLS_SLOT) != 1:  # the data itself holds the placeholder: serialise plainly
        return _dumps(ground_truth(sample))
    return text.replace(_TOOLS_SLOT, '"tools": [' + ", ".join(tool_strs) + "]", 1)


def render_message(msg: Message, output_format: str) -> dict[str, str]:
    if msg.role == "assistant":
        fmt = get_format(output_format)
        if msg.calls:
            return {"role": "assistant", "content": fmt.render(msg.calls, msg.content or None, think="")}
        return {"role": "assistant", "content": fmt.render((), msg.content, think="")}
    return {"role": msg.role, "content": msg.content}


def build_prompt(sample: Sample, output_format: str, tool_strs: list[str] | None = None,
                 agent_loop: bool = False) -> list[dict[str, str]]:
    """The row's chat prompt: the system prompt, then the history (for an episode row: up to the episode's
    start, :func:`data_prep.episodes.episode_context`)."""
    messages = episode_context(sample) if agent_loop else sample.messages
    system = system_prompt(sample.tools, output_format, tool_strs, episode=agent_loop)
    return [{"role": "system", "content": system}] + [render_message(m, output_format) for m in messages]


def _tool_strs(sample: Sample, cache: dict | None) -> list[str]:
    """Each tool's JSON text; ``cache`` (any dict, reused across calls) keeps them, since tool dicts
    are shared between the turns of a dialogue and between records offering the same tool."""
    if cache is None:
        return [_dumps(t) for t in sample.tools]
    out = []
    for t in sample.tools:
        hit = cache.get(id(t))
        if hit is None or hit[0] is not t:  # identity check: ids of dead objects can be reused
            hit = cache[id(t)] = (t, _dumps(t))
        out.append(hit[1])
    return out


def row_parts(
    sample: Sample, output_format: str, split: str, index: int, difficulty: float, toolrl_gt: str, cache: dict | None,
    executor: str | None = None,
) -> tuple[list[dict[str, str]], str, tuple]:
    """``(prompt messages, ground-truth text, extra_info values in EXTRA_FIELDS order)``; ``executor``
    (``auto``, ``replay`` or ``simulate``) makes an episode row (``--agent-loop``)."""
    if executor is not None:
        return episode_row_parts(sample, output_format, split, index, difficulty, cache, executor)
    extra = dict(sample.extra) if sample.extra else {}
    tool_strs = _tool_strs(sample, cache)
    gt_text = ground_truth_json(sample, tool_strs)
    toolrl_output = str(extra.get("toolrl_output", ""))
    if toolrl_gt == "raw" and toolrl_output:
        gt_text = toolrl_output
    values = (split, index, sample.source, sample.source_id, sample.group_id, sample.n_calls, len(sample.tools),
              len(sample.messages), float(difficulty), output_format, toolrl_output, str(extra.get("augmentation", "")))
    return build_prompt(sample, output_format, tool_strs), gt_text, values


def episode_row_parts(
    sample: Sample, output_format: str, split: str, index: int, difficulty: float, cache: dict | None, executor: str
) -> tuple[list[dict[str, str]], str, tuple]:
    """:func:`row_parts` of an episode row: the episode's prompt and its ground truth (docs/multiturn.md)."""
    extra = dict(sample.extra) if sample.extra else {}
    episode = episode_from_sample(sample, executor)
    prompt = build_prompt(sample, output_format, _tool_strs(sample, cache), agent_loop=True)
    values = (split, index, sample.source, sample.source_id, sample.group_id, episode.n_gold_calls, len(sample.tools),
              len(prompt) - 1, float(difficulty), output_format, "", str(extra.get("augmentation", "")))
    return prompt, _dumps(episode_dict(episode)), values


def build_row(
    sample: Sample,
    output_format: str,
    split: str = "train",
    index: int = 0,
    difficulty: float = 0.0,
    toolrl_gt: str = "json",
    cache: dict | None = None,
    executor: str | None = None,
) -> dict[str, Any]:
    """One row as a dict (the pipeline builds Arrow columns directly: :class:`data_prep.output.TableBuilder`);
    ``executor`` makes an episode row with verl's ``agent_name`` column."""
    prompt, gt_text, values = row_parts(sample, output_format, split, index, difficulty, toolrl_gt, cache, executor)
    row = {
        "data_source": sample.source,
        "prompt": prompt,
        "ability": ABILITY,
        "reward_model": {"style": "rule", "ground_truth": gt_text},
        "extra_info": {k: v for (k, _, _), v in zip(EXTRA_FIELDS, values)},
    }
    if executor is not None:
        row["agent_name"] = AGENT_NAME
    return row
