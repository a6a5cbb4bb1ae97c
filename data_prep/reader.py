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
from typing import IO, Any, Iterator

CHUNK_CHARS = 1 << 20  # 1 MiB of text per read; records are a few KB


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
            if end == len(buf) and not eof:
                # A number at the very end of the buffer may continue in the next chunk.
                if fill():
                    continue
            break
        pos = end
        first = False
        yield item
