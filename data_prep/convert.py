"""Per-record conversion + validation: raw record -> ``(candidates, [Checked, ...])``.

One entry point for every corpus, so the pipeline's accounting loop does not care which corpus a
record came from. (Worker processes were tried and dropped: on 2 shared cores the pickling of
records and samples cost more than the parallel work saved.)

This is also the one policy for records (docs/data.md §5): whatever a record holds, converting it
either yields samples or rejections with a reason code, never an exception that would sink the run.
A record the reader could not decode arrives as a :class:`~data_prep.reader.BadRecord`; anything a
converter or validation raises on a hostile record is caught here and becomes a rejection of that
record - ``too_deep`` for nesting beyond :mod:`data_prep.limits`, ``malformed_record`` otherwise,
with the exception named in the detail.

>>> from data_prep.sample import Rejected
>>> out = list(convert_stream("xlam", iter([{"id": 1, "query": "q", "answers": "[]", "tools": "[]"}]), Settings()))
>>> n, (outcome,) = out[0]
>>> n, outcome.rejected.reason
(1, 'empty_tools')
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Iterator

from . import reasons as R
from .answerable import answer_key_failure
from .corpora import hammer, toolace, toolrl, xlam
from .episodes import episode_problem, toolace_dialogue
from .limits import TooDeep
from .reader import BadRecord
from .sample import Rejected, Sample
from .validate import Checked, validate


@dataclass(frozen=True)
class Settings:
    required_policy: str = "inferred"
    coerce: bool = True
    toolrl_raw: bool = False  # --toolrl-gt raw: ToolRL rows are kept as released (structural checks only)
    output_format: str = "answer"  # rows must be answerable by their own reference in it (data_prep.answerable)
    agent_loop: bool = False  # --agent-loop: one episode per dialogue (data_prep.episodes)


# corpus name -> (record, index, settings) -> (candidate samples, converted samples or rejections)
CONVERTERS: dict[str, Callable[[Any, int, Settings], tuple[int, list]]] = {
    "toolace": lambda rec, i, s: toolace.convert_record(rec, i),
    "xlam": lambda rec, i, s: (1, [xlam.convert_record(rec, i, "xlam", s.required_policy)]),
    "hammer": lambda rec, i, s: (1, [hammer.convert_record(rec, i, s.required_policy)]),
    "toolrl": lambda rec, i, s: (1, [toolrl.convert_record(rec, i)]),
}


def _toolace_episode(rec: Any, index: int, settings: Settings) -> tuple[int, list]:
    """--agent-loop: a whole ToolACE dialogue is one candidate (data_prep.episodes.toolace_dialogue)."""
    n, turns = toolace.convert_record(rec, index)
    if len(turns) == 1 and isinstance(turns[0], Rejected) and n == 1 and ":" not in turns[0].source_id:
        return 1, turns  # the record itself could not be read
    per_turn = replace(settings, agent_loop=False)  # each turn is checked as a sample; the dialogue as an episode
    dialogue = toolace_dialogue(turns, rec.get("conversations") or [], lambda s: check(s, per_turn))
    return 1, [Checked(rejected=dialogue) if isinstance(dialogue, Rejected) else Checked(sample=dialogue)]


# --agent-loop: converters that differ (the others make one single-request episode per sample)
EPISODE_CONVERTERS: dict[str, Callable[[Any, int, Settings], tuple[int, list]]] = {"toolace": _toolace_episode}


def convert_one(source: str, rec: Any, index: int, settings: Settings) -> tuple[int, list[Checked]]:
    """One raw record -> ``(candidates, [Checked, ...])`` (a rejection is a Checked with ``rejected``).

    A record whose conversion fails counts as one candidate, rejected (as a ToolACE dialogue that cannot
    be read at all does); a sample whose checks fail is rejected alone."""
    try:
        converter = (settings.agent_loop and EPISODE_CONVERTERS.get(source)) or CONVERTERS[source]
    except KeyError:
        raise ValueError(f"unknown source {source!r}; known: {sorted(CONVERTERS)}") from None
    if isinstance(rec, BadRecord):
        return 1, [Checked(rejected=Rejected(source, str(index), rec.reason, rec.detail))]
    try:
        n, items = converter(rec, index, settings)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - the policy: a hostile record is rejected, the run goes on
        return 1, [Checked(rejected=rejection(source, str(index), exc))]
    raw = source == "toolrl" and settings.toolrl_raw
    return n, [it if isinstance(it, Checked) else Checked(rejected=it) if isinstance(it, Rejected)
               else _checked(it, settings, raw) for it in items]


def _checked(sample: Sample, settings: Settings, raw: bool) -> Checked:
    try:
        return check(sample, settings, raw)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - one sample (one turn of a dialogue) is rejected, not the record
        return Checked(rejected=rejection(sample.source, sample.source_id, exc))


def check(sample: Sample, settings: Settings, raw: bool = False) -> Checked:
    """Validate a converted sample, then make sure its own reference answers it in the output format.

    ``raw``: a ToolRL row kept as released (``--toolrl-gt raw``): structural checks only, as documented
    (its reference is ToolRL's text, checked by ToolRL's reward, not by ours)."""
    checked = validate(sample, settings.coerce, check_calls=not raw)
    if checked.sample is not None and not raw:
        why = answer_key_failure(checked.sample, settings.output_format)
        if why is not None:
            return Checked(rejected=Rejected(sample.source, sample.source_id, R.UNANSWERABLE, why))
    if checked.sample is not None and settings.agent_loop:
        why = episode_problem(checked.sample)
        if why is not None:
            return Checked(rejected=Rejected(sample.source, sample.source_id, R.UNSUPPORTED_DIALOGUE, why))
    return checked


def rejection(source: str, source_id: str, exc: BaseException) -> Rejected:
    """The rejection of a record whose processing raised ``exc``."""
    reason = R.TOO_DEEP if isinstance(exc, (RecursionError, TooDeep)) else R.MALFORMED_RECORD
    return Rejected(source, source_id, reason, f"{type(exc).__name__}: {exc}")


def convert_stream(source: str, records: Iterable[Any], settings: Settings) -> Iterator[tuple[int, list[Checked]]]:
    """``(candidates, outcomes)`` per record, in input order."""
    for i, rec in enumerate(records):
        yield convert_one(source, rec, i, settings)
