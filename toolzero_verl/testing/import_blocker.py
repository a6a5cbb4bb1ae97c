"""Make chosen packages unimportable, to prove code runs without them (the fast test tier, the layer test).

>>> with blocked({"json_not_here"}):
...     try:
...         import json_not_here
...     except ModuleNotFoundError as exc:
...         print(exc)
json_not_here is blocked: this code must run without it
"""

from __future__ import annotations

import importlib.abc
import sys
from contextlib import contextmanager
from typing import Iterable, Iterator

# The heavy stack the core, the rewards, data_prep and eval must not need.
HEAVY = frozenset({"verl", "torch", "ray", "transformers", "vllm", "tokenizers", "transfer_queue"})


class ImportBlocker(importlib.abc.MetaPathFinder):
    """A ``sys.meta_path`` finder that refuses the given top-level packages."""

    def __init__(self, names: Iterable[str]):
        self.names = frozenset(names)

    def find_spec(self, fullname, path, target=None):
        if fullname.partition(".")[0] in self.names:
            raise ModuleNotFoundError(f"{fullname} is blocked: this code must run without it", name=fullname)
        return None


def install(names: Iterable[str] = HEAVY) -> ImportBlocker:
    """Block ``names`` for the rest of the process; returns the finder (remove it from sys.meta_path to undo)."""
    blocker = ImportBlocker(names)
    sys.meta_path.insert(0, blocker)
    return blocker


@contextmanager
def blocked(names: Iterable[str] = HEAVY) -> Iterator[ImportBlocker]:
    blocker = install(names)
    try:
        yield blocker
    finally:
        sys.meta_path.remove(blocker)
