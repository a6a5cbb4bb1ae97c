"""The system prompt: plain instructions for a base model, the tools as JSON, the output format.

No few-shot examples (Tool Zero trains from base models with instructions only); the format's own
instruction (:attr:`toolzero_verl.core.formats.OutputFormat.instruction`) says how to write calls.

>>> tool = {"name": "w", "description": "Weather", "parameters": {"type": "object", "properties": {}, "required": []}}
>>> text = system_prompt([tool], "answer")
>>> '{"name": "w", "description": "Weather"' in text, "<answer>" in text
(True, True)
"""

from __future__ import annotations

import json
from typing import Sequence

from toolzero_verl.core.formats import get_format

SYSTEM_TEMPLATE = (
    "You are an assistant that can call functions to help the user.\n"
    "You are given a conversation and a list of functions. Decide whether calling one or more of the "
    "functions fulfils the user's latest request. Use only the functions listed below, with the "
    "parameter names and value types of their schemas, and give every required parameter. "
    "If none of the functions fits the request, say so instead of calling one. If the request lacks "
    "a value that a required parameter needs, ask the user for it instead of guessing.\n\n"
    "Available functions (one JSON object per line):\n"
    "{tools}\n\n"
    "{instruction}"
)


# Appended for episode rows (toolzero-prep --agent-loop): the policy works through a dialogue in verl's
# agent loop, where its calls are executed and their results come back (docs/multiturn.md).
EPISODE_NOTE = (
    "\n\nYour function calls are executed: their results come back in the next turn (role tool) as a JSON "
    "list with one {\"name\", \"results\"} or {\"name\", \"error\"} object per call. Keep calling until you "
    "have what the request needs (a call that needs an earlier result waits for it), then answer the user "
    "without a call."
)


def tools_json(tools: Sequence[dict]) -> str:
    return "\n".join(json.dumps(t, ensure_ascii=False) for t in tools)


def system_prompt(tools: Sequence[dict], output_format: str, tool_strs: Sequence[str] | None = None,
                  episode: bool = False) -> str:
    """``tool_strs``: the tools already serialised with ``json.dumps(..., ensure_ascii=False)``;
    ``episode``: a multi-turn episode row (adds :data:`EPISODE_NOTE`)."""
    listed = "\n".join(tool_strs) if tool_strs is not None else tools_json(tools)
    text = SYSTEM_TEMPLATE.format(tools=listed, instruction=get_format(output_format).instruction)
    return text + EPISODE_NOTE if episode else text
