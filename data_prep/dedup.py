"""Cross-corpus deduplication on a normalised (conversation, tool-name set) key.

Hammer's irrelevance set is sampled from xLAM and public mixes reuse the same queries, so the same
prompt can arrive twice. The key is the conversation text (lower-cased, whitespace collapsed; the
query alone for single-turn corpora) plus the set of offered tool names. The first occurrence is
kept (sources are processed in the order toolace, xlam, hammer, toolrl); later ones are counted as
``deduplicated``, and those whose gold label differs (a different multiset of calls) are also
counted as ``conflicts`` and listed in the report.

>>> from toolzero_verl.core.calls import ToolCall
>>> from data_prep.sample import Message, Sample
>>> t = ({"name": "f", "description": "", "parameters": {"type": "object", "properties": {}, "required": []}},)
>>> d = Deduplicator()
>>> d.check(Sample("xlam", "1", (Message("user", "Hi  There"),), t, (ToolCall("f", {}),)))
>>> d.check(Sample("hammer", "5", (Message("user", "hi there"),), t, ())).conflict
True
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from .sample import Sample


def normalise_text(text: str) -> str:
    return " ".join(text.split()).lower()


def _calls_id(calls) -> tuple:
    # An order-free multiset identity of calls. Canonical JSON keeps 1, 1.0 and true apart.
    if not calls:
        return ()
    return tuple(sorted(_canonical([c.name, c.arguments]) for c in calls))


def _canonical(value) -> str:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=repr)
    except TypeError:  # keys that cannot be sorted together (1 and "a" from a Python-call dict): repr is still exact
        return repr(value)


def dedup_key(sample: Sample) -> tuple:
    convo = tuple((m.role, normalise_text(m.content), _calls_id(m.calls)) for m in sample.messages)
    return convo, tuple(sorted(set(sample.tool_names)))


def label(sample: Sample) -> tuple:
    return _calls_id(sample.calls)


@dataclass(frozen=True)
class Duplicate:
    source: str
    source_id: str
    kept_source: str
    kept_source_id: str
    conflict: bool


class Deduplicator:
    """Remembers the first sample per key; :meth:`check` returns ``None`` for a new sample.

    Turns of one dialogue share their history's :class:`Message` objects, so each message's part
    of the key is computed once; labels are only compared when a duplicate turns up.
    """

    def __init__(self) -> None:
        self._seen: dict[tuple, Sample] = {}
        self._parts: dict[int, tuple] = {}  # id(message) -> (message, key part)

    def _part(self, m) -> tuple:
        hit = self._parts.get(id(m))
        if hit is None or hit[0] is not m:
            hit = self._parts[id(m)] = (m, (m.role, normalise_text(m.content), _calls_id(m.calls)))
        return hit[1]

    def key(self, sample: Sample) -> tuple:
        return tuple(self._part(m) for m in sample.messages), tuple(sorted(set(sample.tool_names)))

    def check(self, sample: Sample) -> Duplicate | None:
        key = self.key(sample)
        first = self._seen.get(key)
        if first is None:
            self._seen[key] = sample
            return None
        return Duplicate(sample.source, sample.source_id, first.source, first.source_id, label(first) != label(sample))
