"""The ``simulate`` executor: a deterministic synthetic result for every call that passes the schema check.

For corpora that record no tool results (xLAM, Hammer, and the dialogues Tool Zero's augmentations
build), there is nothing to replay. A call that fits its tool's schema (checked by the session
before it gets here) gets ``{"name", "arguments", "results": {"status": "success"}}``: the call echoed
with a success status, the same shape as the tool turns of the augmented dialogues
(``data_prep/augmentations/multi_turn.py``), so the policy can check what it called. The result is a
pure function of the call (same call, same text), so rollouts are reproducible.

>>> from toolzero_verl.core.episode import load_episode
>>> ep = load_episode({"episode": {"executor": "simulate", "segments": [{"user": None, "steps": []}]},
...                    "tools": [{"name": "f", "parameters": {"properties": {"x": {"type": "integer"}}}}]})
>>> Simulate(ep).execute(ToolCall("f", {"x": 1}))
'{"name": "f", "arguments": {"x": 1}, "results": {"status": "success"}}'
"""

from __future__ import annotations

import json
from typing import Any

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.tools.executors import Executor, register_executor

SYNTHETIC_RESULT = {"status": "success"}  # what a simulated call reports


def _jsonable(value: Any) -> Any:
    """JSON for the values a Python-syntax call may hold that json cannot write (sets)."""
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return repr(value)


def simulated_result(call: ToolCall) -> str:
    """The synthetic result text of one call (deterministic)."""
    entry = {"name": call.name, "arguments": dict(call.arguments), "results": SYNTHETIC_RESULT}
    return json.dumps(entry, ensure_ascii=False, default=_jsonable)


@register_executor("simulate")
class Simulate(Executor):
    """Every schema-valid call succeeds with :func:`simulated_result`."""

    inline = True

    def execute(self, call: ToolCall) -> str:
        return simulated_result(call)
