"""Streaming reader for the corpora's top-level JSON arrays: one record at a time, one bad record at a time.

``xlam_function_calling_60k.json`` is ~96 MB; ``json.load`` would hold the whole text and every
record at once. :func:`iter_json_array` decodes one record at a time from a buffer that grows
geometrically while a record is incomplete (so a huge record costs linear, not quadratic, time).

The policy for records (docs/data.md §5): a record that cannot be decoded - invalid JSON inside it,
nesting too deep for the decoder, more than :data:`~data_prep.limits.MAX_RECORD_CHARS` characters -
is skipped by a structural scan (no decoding, no recursion, bounded memory) and yielded as a
:class:`BadRecord` with its reason code, and reading goes on. Only damage to the array itself (not an
array, cut short, no comma between records, text after the closing bracket) makes the whole file
unusable: :class:`CorpusFormatError`. Bytes that are not UTF-8 are kept as lone surrogates, which the
record's validation then rejects (``invalid_text``) instead of aborting the read.

>>> import io
>>> list(iter_json_array(io.StringIO('[{"a": 1}, {"b": [2, 3]}]')))
[{'a': 1}, {'b': [2, 3]}]
>>> list(iter_json_array(io.StringIO('[{"a": 1}, {"b": tru}, {"c": 2}]')))
[{'a': 1}, BadRecord(reason='malformed_record', detail='invalid JSON: Expecting value'), {'c': 2}]
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import IO, Any, Iterator

from . import reasons as R
from .limits import MAX_RECORD_CHARS

CHUNK_CHARS = 1 << 20  # 1 MiB of text per read; records are a few KB
_NUMBER_CHARS = frozenset("0123456789.eE+-")
_WS_CHARS = " \t\r\n"


class CorpusFormatError(ValueError):
    """The file is not a JSON array of records (the whole input is unusable, not one record)."""


@dataclass(frozen=True)
class BadRecord:
    """A record of the array that could not be decoded: it is rejected with ``reason``."""

    reason: str
    detail: str


def check_json_array(path: str | os.PathLike) -> None:
    """Fail fast (:class:`CorpusFormatError`) if the file does not start a JSON array."""
    with open(path, encoding="utf-8", errors="surrogateescape") as fh:
        head = fh.read(4096).lstrip("\ufeff" + _WS_CHARS)
    if not head.startswith("["):
        raise CorpusFormatError(f"{os.fspath(path)}: expected a JSON array of records")


def iter_json_array(
    source: str | os.PathLike | IO[str], chunk_chars: int = CHUNK_CHARS, max_record_chars: int = MAX_RECORD_CHARS
) -> Iterator[Any]:
    """Yield the items of a top-level JSON array (a :class:`BadRecord` for each item that cannot be decoded)
    without loading the whole file."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="utf-8", errors="surrogateescape") as fh:
            yield from iter_json_array(fh, chunk_chars, max_record_chars)
        return
    yield from _ArrayReader(source, chunk_chars, max_record_chars).items()


class _ArrayReader:
    def __init__(self, source: IO[str], chunk_chars: int, max_record_chars: int) -> None:
        self.source, self.chunk, self.max_record = source, chunk_chars, max_record_chars
        self.buf, self.pos, self.eof = "", 0, False
        self.decoder = json.JSONDecoder()

    def fill(self, at_least: int = 0) -> bool:
        """Read more text (at least ``at_least`` characters, for geometric growth); False at end of file."""
        if self.eof:
            return False
        more = self.source.read(max(self.chunk, at_least))
        if not more:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + more
        self.pos = 0
        return True

    def skip_ws(self) -> None:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WS_CHARS:
                self.pos += 1
            if self.pos < len(self.buf) or not self.fill():
                return

    def items(self) -> Iterator[Any]:
        self.fill()
        if self.buf.startswith("\ufeff"):
            self.pos = 1
        self.skip_ws()
        if self.buf[self.pos : self.pos + 1] != "[":
            raise CorpusFormatError("expected a JSON array of records")
        self.pos += 1
        first = True
        while True:
            self.skip_ws()
            if self.pos >= len(self.buf):
                raise CorpusFormatError("unexpected end of file inside the array")
            if self.buf[self.pos] == "]":
                self.pos += 1
                self.skip_ws()
                if self.pos < len(self.buf):
                    raise CorpusFormatError("text after the top-level JSON array (two files concatenated?); "
                                            "give one JSON array per file")
                return
            if not first:
                if self.buf[self.pos] != ",":
                    raise CorpusFormatError(f"expected ',' between records, found {self.buf[self.pos]!r}")
                self.pos += 1
                self.skip_ws()
            first = False
            yield self.record()

    def record(self) -> Any:
        """Decode the record at ``pos`` (or skip it and return a :class:`BadRecord`); ``pos`` moves past it."""
        while True:
            try:
                item, end = self.decoder.raw_decode(self.buf, self.pos)
            except RecursionError:
                return self.skip(R.TOO_DEEP, "nested too deep for the JSON decoder")
            except ValueError as exc:  # JSONDecodeError, or e.g. an integer with too many digits
                end = _ValueEnd().feed(self.buf, self.pos, final=self.eof)
                if end is not None:  # complete, yet not valid JSON: this record only
                    self.pos = end
                    return BadRecord(R.MALFORMED_RECORD, f"invalid JSON: {getattr(exc, 'msg', exc)}")
                if self.eof:
                    raise CorpusFormatError("unexpected end of file inside a record") from None
                if len(self.buf) - self.pos > self.max_record:
                    return self.skip(R.RECORD_TOO_LARGE, f"longer than {self.max_record} characters")
                self.fill(at_least=len(self.buf) - self.pos)  # cut by the buffer's end: read as much again
                continue
            if not self.eof and isinstance(item, (int, float)) and all(c in _NUMBER_CHARS for c in self.buf[end:]):
                # A bare number that reaches the end of the buffer ("6" of "6.25e3") may continue
                # in the next chunk; objects and strings end unambiguously.
                if self.fill():
                    continue
            self.pos = end
            return item

    def skip(self, reason: str, detail: str) -> BadRecord:
        """Move past the record at ``pos`` by a structural scan, reading on in chunks (bounded memory)."""
        scan = _ValueEnd()
        end = scan.feed(self.buf, self.pos, final=self.eof)
        while end is None:
            self.pos = len(self.buf)  # drop what was scanned
            if not self.fill():
                raise CorpusFormatError("unexpected end of file inside a record")
            end = scan.feed(self.buf, 0, final=self.eof)
        self.pos = end
        return BadRecord(reason, detail)


_STRUCTURE = re.compile(r'["\[\]{}]')
_STRING_BODY = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)  # up to the closing quote or a final backslash
_SCALAR_END = re.compile(r"[\s,\]}]")


class _ValueEnd:
    """Where one JSON value ends, found without decoding it: brackets counted outside strings. Works
    across chunks (:meth:`feed` keeps its state), never recurses, and never checks the JSON's validity."""

    def __init__(self) -> None:
        self.depth = 0
        self.in_string = False
        self.escaped = False  # the previous chunk ended with the backslash of an escape
        self.scalar = False
        self.started = False

    def feed(self, text: str, i: int, final: bool = False) -> int | None:
        """The index in ``text`` just past the value, or None if ``text`` ends first (``final``: no more text)."""
        n = len(text)
        if not self.started:
            self.started = True
            self.scalar = i < n and text[i] not in '"[{'
        if self.scalar:  # a number or a literal: ends at a delimiter
            m = _SCALAR_END.search(text, i)
            return m.start() if m else (n if final else None)
        while i < n:
            if self.in_string:
                if self.escaped:
                    i, self.escaped = i + 1, False
                    continue
                i = _STRING_BODY.match(text, i).end()
                if i >= n:
                    return None
                if text[i] == "\\":  # a backslash as the last character: its escape continues in the next chunk
                    self.escaped = True
                    i += 1
                    continue
                self.in_string = False  # the closing quote
                i += 1
                if self.depth == 0:
                    return i
                continue
            m = _STRUCTURE.search(text, i)
            if m is None:
                return None
            i = m.end()
            c = m.group()
            if c == '"':
                self.in_string = True
            elif c in "[{":
                self.depth += 1
            else:
                self.depth -= 1
                if self.depth <= 0:
                    return i
        return None


_DECODER = json.JSONDecoder()
_WS = re.compile(r"[ \t\n\r]*")


def json_list_items(text: str, start: int = 0) -> tuple[list[tuple[str, Any]], int]:
    """``([(raw item text, value), ...], end)`` for the JSON list starting at ``text[start]``.

    Keeping each item's raw text lets callers memoise work per item (tools repeat across records).
    Raises ``ValueError`` (``json.JSONDecodeError`` included) when there is no well-formed list.

    >>> json_list_items('x [ {"a": 1}, 2 ] y', 2)
    ([('{"a": 1}', {'a': 1}), ('2', 2)], 17)
    """
    pos = _WS.match(text, start).end()
    if text[pos : pos + 1] != "[":
        raise ValueError("not a JSON list")
    pos = _WS.match(text, pos + 1).end()
    items: list[tuple[str, Any]] = []
    if text[pos : pos + 1] == "]":
        return items, pos + 1
    while True:
        value, end = _DECODER.raw_decode(text, pos)
        items.append((text[pos:end], value))
        if text.startswith(", ", end) and not text[end + 2 : end + 3].isspace():  # json.dumps' separator
            pos = end + 2
            continue
        pos = _WS.match(text, end).end()
        ch = text[pos : pos + 1]
        if ch == ",":
            pos = _WS.match(text, pos + 1).end()
        elif ch == "]":
            return items, pos + 1
        else:
            raise ValueError("expected ',' or ']' in a JSON list")
