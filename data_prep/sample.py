"""The canonical sample every converter produces, and the rejection it produces instead.

Data flows one way: raw corpus record -> :class:`Sample` (this module) -> validation
(:mod:`data_prep.validate`) -> dedup / mix / split / order -> parquet row (:mod:`data_prep.rows`).

>>> from toolzero_verl.core.calls import ToolCall
>>> s = Sample("xlam", "0", (Message("user", "Weather in Paris?"),),
...            ({"name": "w", "description": "", "parameters": {"type": "object", "properties": {}, "required": []}},),
...            (ToolCall("w", {}),))
>>> s.query, s.n_calls, s.tool_names
('Weather in Paris?', 1, ('w',))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from toolzero_verl.core.calls import ToolCall


@dataclass(frozen=True)
class Message:
    """One prior turn. An assistant turn carries its ``calls`` (rendered in the chosen output format
    when the row is built) and/or free ``content``; a tool turn carries the raw tool-result text."""

    role: str
    content: str = ""
    calls: tuple[ToolCall, ...] = ()


@dataclass(frozen=True)
class Sample:
    """One training prompt with its gold behaviour.

    ``messages``: the conversation before the target assistant turn (user, assistant, tool turns);
    ``tools``: normalised schemas (:mod:`data_prep.types`); ``calls``: the gold calls (empty =
    the right move is not to call); ``answer``: the reference text of a no-call turn (or the
    ``<response>`` of a ToolRL target); ``group``: samples sharing it (turns of one dialogue) stay in
    one split; ``extra``: source-specific values copied into ``extra_info`` (e.g. ToolRL's raw output).
    """

    source: str
    source_id: str
    messages: tuple[Message, ...]
    tools: tuple[dict, ...]
    calls: tuple[ToolCall, ...] = ()
    answer: str | None = None
    group: str = ""
    extra: tuple[tuple[str, Any], ...] = field(default=())

    @property
    def query(self) -> str:
        """The last user turn (what the model must act on)."""
        for m in reversed(self.messages):
            if m.role == "user":
                return m.content
        return ""

    @property
    def n_calls(self) -> int:
        return len(self.calls)

    @property
    def tool_names(self) -> tuple[str, ...]:
        return tuple(t["name"] for t in self.tools)

    @property
    def group_id(self) -> str:
        return self.group or f"{self.source}:{self.source_id}"


@dataclass(frozen=True)
class Rejected:
    """A record (or one turn of it) that could not be converted, with its reason code."""

    source: str
    source_id: str
    reason: str
    detail: str = ""
