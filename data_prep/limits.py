"""Bounds that keep one hostile record from costing the run: size, nesting depth, and text that is not
valid Unicode. A record beyond them is rejected with a reason code (docs/data.md §5); the run goes on.

Every check here is iterative (no recursion) and linear in the size of what it looks at.

>>> nesting_ok({"a": [1, [2, {"b": 3}]]}), nesting_ok([[[[0]]]], limit=3)
(True, False)
>>> text_ok({"city": "Zürich"}), text_ok(["ok", "\\ud800"])
(True, False)
"""

from __future__ import annotations

from typing import Any

# A raw record (one item of a corpus's top-level array) longer than this is skipped without being
# decoded. Real records are a few KB; the longest ToolACE dialogues stay well under 1 MB.
MAX_RECORD_CHARS = 1 << 24
# Deepest list/dict nesting kept anywhere in a tool schema or a gold value. Real schemas nest about 6
# deep; Python's JSON encoder and our matchers recurse, so far deeper values would fail later, mid-run.
MAX_NESTING = 64
# Longest / deepest type string (``List[Dict[str, int]]``) parsed; real ones are under 100 characters.
MAX_TYPE_CHARS = 1000
MAX_TYPE_NESTING = 16


class TooDeep(Exception):
    """A value or type string nests deeper than the bounds above (reason code ``too_deep``).

    Not a ``ValueError`` on purpose: converters turn ``ValueError`` into their own reason codes, and a
    record that is too deep should be reported as such wherever it happens.
    """


def nesting_ok(value: Any, limit: int = MAX_NESTING) -> bool:
    """Does ``value`` nest lists / tuples / dicts at most ``limit`` deep?"""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth >= limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def check_nesting(value: Any, what: str, limit: int = MAX_NESTING) -> None:
    """Raise :class:`TooDeep` unless :func:`nesting_ok`."""
    if not nesting_ok(value, limit):
        raise TooDeep(f"{what} nests deeper than {limit} levels")


def text_ok(value: Any) -> bool:
    """Is every string in ``value`` (dict keys included) encodable as UTF-8? A lone surrogate - from a
    ``\\ud800`` escape or from bytes that were not UTF-8 - is not, and would abort the parquet write."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if not item.isascii():
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError:
                    return False
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return True
