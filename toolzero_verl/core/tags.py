"""Tag helpers shared by the output formats and the ground-truth reader.

Model output is hostile input, so tag scanning uses ``str.find``/``str.count`` (linear time) rather
than backtracking regular expressions.

>>> between("<think>a</think><think>b</think>", "<think>", "</think>"), between("x", "<a>", "</a>")
('a', None)
>>> between("<think>a</think><think>b</think>", "<think>", "</think>", last=True)
'b'
>>> each_once("<think>x</think>", ("<think>", "</think>")), each_once("<think><think>", ("<think>",))
(True, False)
"""

from __future__ import annotations

from typing import Iterable


def between(text: str, open_tag: str, close_tag: str, last: bool = False) -> str | None:
    """Text between a tag pair (the first pair, or the last with ``last=True``); None without a pair."""
    if last:
        end = text.rfind(close_tag)
        start = text.rfind(open_tag, 0, end) if end >= 0 else -1
    else:
        start = text.find(open_tag)
        end = text.find(close_tag, start + len(open_tag)) if start >= 0 else -1
    if start < 0 or end < 0:
        return None
    return text[start + len(open_tag) : end]


def each_once(text: str, tags: Iterable[str]) -> bool:
    """Every tag occurs exactly once in ``text``."""
    for tag in tags:  # a loop, not all(<generator>): called for every scored response
        if text.count(tag) != 1:
            return False
    return True
