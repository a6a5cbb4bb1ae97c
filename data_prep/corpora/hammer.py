"""Hammer's irrelevance set (``xlam-7.5k-irrelevancek.json``) -> no-call samples.

No raw record of this file was available to us (docs/data.md §1, Hammer irrelevance); the code that
reads it upstream (``train/data_processing.py`` in GitHub MadeAgents/Hammer) treats it exactly like
xLAM: ``{"query", "tools": "<JSON>", "answers": "[]"}``, maybe without
``id`` (then the record's position is its id), maybe with ``"tools": "[]"`` (rejected as
``empty_tools``). ``answers == "[]"`` becomes a no-call sample whose reference answer is ``[]``;
a record that does carry calls is converted like an xLAM record rather than dropped.

>>> s = convert_record({"query": "Book a taxi", "answers": "[]",
...                     "tools": '[{"name": "weather", "description": "", "parameters": {}}]'}, 3)
>>> s.source, s.source_id, s.calls, s.answer
('hammer', '3', (), '[]')
"""

from __future__ import annotations

from typing import Any

from ..sample import Rejected, Sample
from . import xlam

SOURCE = "hammer"


def convert_record(rec: Any, index: int, required_policy: str = "inferred") -> Sample | Rejected:
    return xlam.convert_record(rec, index, SOURCE, required_policy)
