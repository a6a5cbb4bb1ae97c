"""Per-record conversion + validation: raw record -> ``(candidates, [Checked, ...])``.

One entry point for every corpus, so the pipeline's accounting loop does not care which corpus a
record came from. (Worker processes were tried and dropped: on 2 shared cores the pickling of
records and samples cost more than the parallel work saved.)

>>> from data_prep.sample import Rejected
>>> out = list(convert_stream("xlam", iter([{"id": 1, "query": "q", "answers": "[]", "tools": "[]"}]), Settings()))
>>> n, (outcome,) = out[0]
>>> n, outcome.rejected.reason
(1, 'empty_tools')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator

from .corpora import hammer, toolace, toolrl, xlam
from .sample import Rejected
from .validate import Checked, validate


@dataclass(frozen=True)
class Settings:
    required_policy: str = "inferred"
    coerce: bool = True
    toolrl_raw: bool = False  # --toolrl-gt raw: ToolRL rows are kept as released (structural checks only)


# corpus name -> (record, index, settings) -> (candidate samples, converted samples or rejections)
CONVERTERS: dict[str, Callable[[Any, int, Settings], tuple[int, list]]] = {
    "toolace": lambda rec, i, s: toolace.convert_record(rec, i),
    "xlam": lambda rec, i, s: (1, [xlam.convert_record(rec, i, "xlam", s.required_policy)]),
    "hammer": lambda rec, i, s: (1, [hammer.convert_record(rec, i, s.required_policy)]),
    "toolrl": lambda rec, i, s: (1, [toolrl.convert_record(rec, i)]),
}


def convert_one(source: str, rec: Any, index: int, settings: Settings) -> tuple[int, list[Checked]]:
    """One raw record -> ``(candidates, [Checked, ...])`` (a rejection is a Checked with ``rejected``)."""
    try:
        converter = CONVERTERS[source]
    except KeyError:
        raise ValueError(f"unknown source {source!r}; known: {sorted(CONVERTERS)}") from None
    n, items = converter(rec, index, settings)
    check_calls = not (source == "toolrl" and settings.toolrl_raw)
    return n, [Checked(rejected=it) if isinstance(it, Rejected) else validate(it, settings.coerce, check_calls)
               for it in items]


def convert_stream(source: str, records: Iterable[Any], settings: Settings) -> Iterator[tuple[int, list[Checked]]]:
    """``(candidates, outcomes)`` per record, in input order."""
    for i, rec in enumerate(records):
        yield convert_one(source, rec, i, settings)
