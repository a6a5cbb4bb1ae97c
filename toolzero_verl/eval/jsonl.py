"""Bounded JSON Lines reading for hostile files (generations, BFCL question and answer files).

A line is read with a size bound, so one enormous line costs a skip, not the machine's memory;
each line is parsed on its own, so one bad line is reported with its number and reason while the
others are read. Nothing here raises on content: the caller decides what a record must look like.

>>> import io
>>> [(r.line, r.value, r.reason) for r in json_lines(io.StringIO('{"a": 1}\\n\\n[\\n' + "x" * 50 + "\\n"), 40)]
[(1, {'a': 1}, None), (2, None, 'blank'), (3, None, 'not_json'), (4, None, 'too_long')]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import IO, Any, Iterable, Iterator, NamedTuple

# The longest line read (characters). A response is scored only up to the parse limit (32 KiB by
# default, toolzero_verl.core.formats), so even a line holding many samples stays far below this.
MAX_LINE_CHARS = 16 * 1024 * 1024
_DRAIN_CHUNK = 1024 * 1024


class TooLong(str):
    """Marks a line longer than the bound (its text is not kept)."""


@dataclass(frozen=True)
class BadLine:
    """A skipped line and why; ``file`` is set where several files are read."""

    line: int
    reason: str  # not_json | too_long | not_object | no_key | bad_key | no_response | unknown_key | ...
    detail: str = ""
    file: str = ""

    def describe(self) -> str:
        where = f"{self.file}:{self.line}" if self.file else f"line {self.line}"
        return f"{where}: {self.reason} {self.detail}".rstrip()


class JsonLine(NamedTuple):
    line: int  # 1-based
    value: Any  # the parsed JSON (None when ``reason`` is set)
    reason: str | None  # None, "blank", "not_json" or "too_long"
    detail: str = ""


def bounded_lines(fh: IO[str], max_chars: int = MAX_LINE_CHARS) -> Iterator[str]:
    """The lines of ``fh``; a line longer than ``max_chars`` is consumed in chunks and yielded as
    an empty :class:`TooLong`, so memory stays bounded whatever the file holds."""
    while True:
        chunk = fh.readline(max_chars + 1)
        if not chunk:
            return
        if len(chunk.rstrip("\r\n")) <= max_chars:
            yield chunk
            continue
        while chunk and not chunk.endswith("\n"):
            chunk = fh.readline(_DRAIN_CHUNK)
        yield TooLong()


def json_lines(lines: IO[str] | Iterable[str], max_chars: int = MAX_LINE_CHARS) -> Iterator[JsonLine]:
    """Parse each line (blank ones are yielded with reason ``blank``); a stream is read with
    :func:`bounded_lines`. Never raises on content."""
    source = bounded_lines(lines, max_chars) if hasattr(lines, "readline") else lines
    for n, raw in enumerate(source, start=1):
        if isinstance(raw, TooLong) or len(raw) > max_chars + 2:
            yield JsonLine(n, None, "too_long", f"longer than {max_chars} characters")
            continue
        text = raw.strip()
        if not text:
            yield JsonLine(n, None, "blank")
            continue
        try:
            yield JsonLine(n, json.loads(text), None)
        except (ValueError, RecursionError) as exc:
            yield JsonLine(n, None, "not_json", str(exc)[:120])

