"""Generations JSONL: reading it (malformed lines reported and skipped) and joining it to parquet rows.

The schema (one JSON object per line, UTF-8):

- a key saying which row the text answers, one of
  - ``"index"``: an integer equal to the row's ``extra_info.index`` (what ``toolzero-prep`` writes), or
  - ``"id"``: a string equal to the row's ``extra_info.id`` (what ``bfcl-prompts`` writes: the BFCL
    id such as ``"simple_12"``) or, failing that, to a top-level ``id`` column;
- the decoded model text (special tokens skipped, as verl decodes it) under ``"response"``. BFCL's own
  result files use ``"result"``; ``"output"``, ``"completion"`` and ``"text"`` are accepted too.
  ``"responses"``: a list of strings holds several samples of one prompt at once.
- any other key (``"prompt"``, ``"model"``, ...) is ignored.

Several lines with the same key are several samples of one prompt: every metric is then the mean
over samples (accuracy = mean per-sample accuracy, i.e. pass@1 estimated from ``n`` samples).

A line that is not JSON, longer than :data:`~toolzero_verl.eval.jsonl.MAX_LINE_CHARS`, not an object,
has no usable key or no response string is *malformed*: it is skipped and reported with its line
number and reason, never raised. A string ``index`` must be ASCII digits (``"1_0"`` is ``bad_key``).

>>> import io
>>> gens = read_generations(io.StringIO('{"index": 0, "response": "hi"}\\nnot json\\n{"id": "x"}\\n'))
>>> [(g.key, g.response) for g in gens.items], [(m.line, m.reason) for m in gens.malformed]
([(('index', 0), 'hi')], [(2, 'not_json'), (3, 'no_response')])
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Mapping, Sequence

from toolzero_verl.eval.episodes import record_counts, turns_of
from toolzero_verl.eval.jsonl import BadLine, json_lines

__all__ = ["BadLine", "Generation", "Generations", "Joined", "join", "parse_lines", "read_generations", "row_keys"]

RESPONSE_KEYS = ("response", "result", "output", "completion", "text")  # first one present wins
MAX_REPORTED_LINES = 20  # malformed / unmatched lines listed by line number in reports; all are counted
# An integer index written as a string: ASCII digits only. int() would also take "1_0" (= 10), " 7 "
# and non-ASCII digits, joining a line to a row it never named.
_INDEX_TEXT = re.compile(r"-?[0-9]+")

Key = tuple[str, Any]  # ("index", 3) or ("id", "simple_12")


@dataclass(frozen=True)
class Generation:
    key: Key
    response: str
    line: int  # 1-based line number in the file
    turns: tuple[str, ...] | None = None  # an episode's assistant turns (toolzero_verl/eval/episodes.py)
    counts: Mapping[str, Any] | None = None  # the agent loop's counts of an episode (episodes.record_counts)


@dataclass
class Generations:
    items: list[Generation] = field(default_factory=list)
    malformed: list[BadLine] = field(default_factory=list)
    blank_lines: int = 0


def _key(obj: Mapping[str, Any]) -> Key | str:
    """The line's key, or the reason it has none.

    >>> [_key(o) for o in ({"index": 3}, {"index": "3"}, {"index": 3.0}, {"index": "1_0"}, {"index": 2.5}, {"id": 7})]
    [('index', 3), ('index', 3), ('index', 3), 'bad_key', 'bad_key', ('id', '7')]
    """
    if "index" in obj:
        idx = obj["index"]
        if isinstance(idx, bool):
            return "bad_key"
        if isinstance(idx, int):
            return ("index", idx)
        if isinstance(idx, float) and math.isfinite(idx) and idx.is_integer():
            return ("index", int(idx))  # some writers emit 3.0
        if isinstance(idx, str) and _INDEX_TEXT.fullmatch(idx):
            return ("index", int(idx))  # some writers stringify
        return "bad_key"
    if "id" in obj:
        ident = obj["id"]
        if isinstance(ident, bool) or not isinstance(ident, (str, int)):
            return "bad_key"
        return ("id", str(ident))
    return "no_key"


def _responses(obj: Mapping[str, Any]) -> list[str] | None:
    if "responses" in obj:
        many = obj["responses"]
        if isinstance(many, list) and many and all(isinstance(r, str) for r in many):
            return list(many)
        return None
    for name in RESPONSE_KEYS:
        if name in obj:
            return [obj[name]] if isinstance(obj[name], str) else None
    return None


def parse_lines(lines: IO[str] | Iterable[str]) -> Generations:
    """Parse JSONL lines (a stream is read with a bound on line length); never raises on content."""
    out = Generations()
    for rec in json_lines(lines):
        if rec.reason == "blank":
            out.blank_lines += 1
            continue
        if rec.reason:
            out.malformed.append(BadLine(rec.line, rec.reason, rec.detail))
            continue
        obj = rec.value
        if not isinstance(obj, dict):
            out.malformed.append(BadLine(rec.line, "not_object", type(obj).__name__))
            continue
        key = _key(obj)
        if isinstance(key, str):
            out.malformed.append(BadLine(rec.line, key))
            continue
        turns = turns_of(obj)
        if turns is not None:  # an episode: the policy's turns, its last one as the response
            out.items.append(Generation(key, turns[-1] if turns else "", rec.line, tuple(turns), record_counts(obj)))
            continue
        responses = _responses(obj)
        if responses is None:
            out.malformed.append(
                BadLine(rec.line, "no_response", f"needs a string under one of {RESPONSE_KEYS} or a 'responses' list")
            )
            continue
        out.items.extend(Generation(key, r, rec.line) for r in responses)
    return out


def read_generations(source: str | os.PathLike | IO[str]) -> Generations:
    """Read a generations JSONL file (path or open text stream). Undecodable bytes are replaced."""
    if hasattr(source, "read"):
        return parse_lines(source)  # type: ignore[arg-type]
    with open(source, encoding="utf-8", errors="replace") as fh:
        return parse_lines(fh)


# --- joining ----------------------------------------------------------------------------------------


@dataclass
class Joined:
    """Generations per row position, plus what could not be joined."""

    by_row: dict[int, list[Generation]]
    unmatched: list[BadLine]
    missing_rows: list[int]  # row positions without any generation


def row_keys(row: Mapping[str, Any]) -> list[Key]:
    """The keys a row answers to: ``("index", extra_info.index)`` and ``("id", extra_info.id or id)``."""
    extra = row.get("extra_info")
    extra = extra if isinstance(extra, Mapping) else {}
    keys: list[Key] = []
    idx = extra.get("index")
    if isinstance(idx, int) and not isinstance(idx, bool):
        keys.append(("index", idx))
    ident = extra.get("id", row.get("id"))
    if ident is not None and ident != "":
        keys.append(("id", str(ident)))
    return keys


def join(rows: Sequence[Mapping[str, Any]], gens: Generations) -> Joined:
    """Attach generations to rows by key. A key shared by several rows is ambiguous: its lines are
    reported (reason ``ambiguous_key``) instead of being attached to an arbitrary row."""
    owners: dict[Key, list[int]] = defaultdict(list)
    for pos, row in enumerate(rows):
        for key in row_keys(row):
            owners[key].append(pos)
    by_row: dict[int, list[Generation]] = defaultdict(list)
    unmatched: list[BadLine] = []
    for g in gens.items:
        found = owners.get(g.key)
        if not found:
            unmatched.append(BadLine(g.line, "unknown_key", f"{g.key[0]}={g.key[1]!r} matches no row"))
        elif len(found) > 1:
            unmatched.append(BadLine(g.line, "ambiguous_key", f"{g.key[0]}={g.key[1]!r} matches {len(found)} rows"))
        else:
            by_row[found[0]].append(g)
    missing = [pos for pos in range(len(rows)) if pos not in by_row]
    return Joined(dict(by_row), unmatched, missing)
