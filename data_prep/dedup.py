"""Cross-corpus deduplication on a normalised (conversation, tool-name set) key.

Hammer's irrelevance set is sampled from xLAM and public mixes reuse the same queries, so the same
prompt can arrive twice. The key is the conversation text (lower-cased, whitespace collapsed; the
query alone for single-turn corpora) plus the set of offered tool names. The first occurrence is
kept (sources are processed in the order toolace, xlam, hammer, toolrl); later ones are counted as
``deduplicated``, and those whose gold label differs (a different multiset of calls) are also
counted as ``conflicts`` and listed in the report.

>>> from toolzero_verl.calls import ToolCall
>>> from data_prep.sample import Message, Sample
>>> t = ({"name": "f", "description": "", "parameters": {"type": "object", "properties": {}, "required": []}},)
>>> d = Deduplicator()
>>> d.check(Sample("xlam", "1", (Message("user", "Hi  There"),), t, (ToolCall("f", {}),)))
>>> d.check(Sample("hammer", "5", (Message("user", "hi there"),), t, ())).conflict
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from toolzero_verl.calls import call_key

from .sample import Sample

_WS = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    return _WS.sub(" ", text).strip().lower()


def dedup_key(sample: Sample) -> tuple:
    convo = tuple(
        (m.role, normalise_text(m.content), tuple(sorted(repr(call_key(c)) for c in m.calls))) for m in sample.messages
    )
    return convo, tuple(sorted(set(sample.tool_names)))


def label(sample: Sample) -> tuple:
    return tuple(sorted(repr(call_key(c)) for c in sample.calls))


@dataclass(frozen=True)
class Duplicate:
    source: str
    source_id: str
    kept_source: str
    kept_source_id: str
    conflict: bool


class Deduplicator:
    """Remembers the first sample per key; :meth:`check` returns ``None`` for a new sample."""

    def __init__(self) -> None:
        self._seen: dict[tuple, tuple[str, str, tuple]] = {}

    def check(self, sample: Sample) -> Duplicate | None:
        key = dedup_key(sample)
        first = self._seen.get(key)
        if first is None:
            self._seen[key] = (sample.source, sample.source_id, label(sample))
            return None
        return Duplicate(sample.source, sample.source_id, first[0], first[1], first[2] != label(sample))
