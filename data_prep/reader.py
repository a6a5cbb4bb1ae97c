"""Streaming reader for the corpora's top-level JSON arrays.

``xlam_function_calling_60k.json`` is ~96 MB; ``json.load`` would hold the whole text and every
record at once. :func:`iter_json_array` decodes one record at a time from a sliding buffer.

>>> import io
>>> list(iter_json_array(io.StringIO('[{"a": 1}, {"b": [2, 3]}]')))
[{'a': 1}, {'b': [2, 3]}]
"""

from __future__ import annotations

import json
import os
import re
from typing import IO, Any, Iterator

CHUNK_CHARS = 1 << 20  # 1 MiB of text per read; records are a few KB
_NUMBER_CHARS = frozenset("0123456789.eE+-")


class CorpusFormatError(ValueError):
    """The file is not a JSON array of records (the whole input is unusable, not one record)."""


def iter_json_array(source: str | os.PathLike | IO[str], chunk_chars: int = CHUNK_CHARS) -> Iterator[Any]:
    """Yield the items of a top-level JSON array without loading the whole file."""
    if isinstance(source, (str, os.PathLike)):
        with open(source, encoding="utf-8") as fh:
            yield from iter_json_array(fh, chunk_chars)
        return
    decoder = json.JSONDecoder()
    buf, pos, eof = "", 0, False

    def fill() -> bool:
        nonlocal buf, pos, eof
        more = source.read(chunk_chars)
        if not more:
            eof = True
            return False
        buf = buf[pos:] + more
        pos = 0
        return True

    def skip_ws() -> None:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf) or eof or not fill():
                return

    fill()
    if buf.startswith("\ufeff"):
        pos = 1
    skip_ws()
    if pos >= len(buf) or buf[pos] != "[":
        raise CorpusFormatError("expected a JSON array of records")
    pos += 1
    first = True
    while True:
        skip_ws()
        if pos >= len(buf):
            raise CorpusFormatError("unexpected end of file inside the array")
        if buf[pos] == "]":
            return
        if not first:
            if buf[pos] != ",":
                raise CorpusFormatError(f"expected ',' between records, found {buf[pos]!r}")
            pos += 1
            skip_ws()
        while True:
            try:
                item, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                # Either the record is cut by the chunk boundary (read more) or the file is broken.
                if not eof and fill():
                    continue
                raise CorpusFormatError(f"invalid JSON in record: {exc.msg}") from None
            if not eof and isinstance(item, (int, float)) and all(c in _NUMBER_CHARS for c in buf[end:]):
                # A bare number that reaches the end of the buffer ("6" of "6.25e3") may continue
                # in the next chunk; objects and strings end unambiguously.
                if fill():
                    continue
            break
        pos = end
        first = False
        yield item


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
