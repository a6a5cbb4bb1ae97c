"""Checking the command line's paths before any work: inputs exist, outputs can be written and never
overwrite an input. A problem is an :class:`InputError`: one line naming the path, exit status 2.

>>> import tempfile, os
>>> d = tempfile.mkdtemp(); src = os.path.join(d, "gen.jsonl"); _ = open(src, "w").write("")
>>> output_file(src, "--json-out", inputs=[src])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
toolzero_verl.eval.paths.InputError: --json-out ... is an input of this command; choose another path
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable


class InputError(Exception):
    """A user-facing input problem: printed as one line without a traceback, exit status 2."""


def input_file(path: str | os.PathLike, what: str, hint: str = "") -> Path:
    """``path`` as an existing regular file, else :class:`InputError`."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{what} {p} is a directory, not a file")
    if not p.is_file():
        raise InputError(f"{what} not found: {p}" + (f" ({hint})" if hint else ""))
    if not os.access(p, os.R_OK):
        raise InputError(f"{what} {p} is not readable")
    return p


def input_dir(path: str | os.PathLike, what: str) -> Path:
    p = Path(path)
    if not p.is_dir():
        raise InputError(f"{what} not found or not a directory: {p}")
    return p


def output_file(path: str | os.PathLike, what: str, inputs: Iterable[str | os.PathLike | None] = ()) -> Path:
    """``path`` as a file this command may (over)write: its folder exists and is writable, it is not a
    directory, and it is none of ``inputs`` (an output written over its own input loses the input)."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{what} {p} is a directory; give a file path")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{what} {p}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{what} {p}: folder {parent} is not writable")
    if p.exists() and not os.access(p, os.W_OK):
        raise InputError(f"{what} {p} exists and is not writable")
    for src in inputs:
        if src is not None and _same(p, Path(src)):
            raise InputError(f"{what} {p} is an input of this command; choose another path")
    return p


def _same(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()
