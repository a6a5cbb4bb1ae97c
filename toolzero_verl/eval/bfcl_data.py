"""Reading a BFCL data folder: question files and answer keys, with every record checked.

Layout (BFCL's ``bfcl_eval/data/``; docs/eval.md, "BFCL data"): ``BFCL_v<N>_<category>.json`` question
files in JSON Lines (``{"id", "question": [[messages]], "function": [docs]}``) and
``possible_answer/BFCL_v<N>_<category>.json`` answer keys (``{"id", "ground_truth": [{name: {param:
[allowed, ...]}}]}``). v4 renamed ``simple`` to ``simple_python``; both load as ``simple``.

The policy, as for generations (docs/eval.md, "What fails and what is skipped"):

- a **record** that cannot be used (not JSON, not an object, no string ``id``, wrong-typed fields, an id
  seen before, a question without an answer) is skipped and reported with its file, line and reason;
  the other records are read;
- a **folder or file** that cannot be used (missing, unreadable, not UTF-8, an answer-key file missing,
  one category present in two BFCL versions) raises :class:`BfclDataError`, one line naming the path.

>>> _check_answer([{"f": {"x": [1, ""]}}]) is None, _check_answer([{"f": {"x": 1}}])
(True, "ground_truth[0]['f']['x'] must be a list of allowed values")
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from toolzero_verl.eval.jsonl import BadLine, json_lines
from toolzero_verl.eval.manifest import sha256_file

# Single-turn python categories we score, in BFCL's display order (BFCL's constants/category_mapping.py).
NON_LIVE = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance")
LIVE = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance", "live_relevance")
CATEGORIES = NON_LIVE + LIVE
NO_ANSWER_KEY = frozenset({"irrelevance", "live_irrelevance", "live_relevance"})  # judged by "a call or not"
ALIASES = {"simple_python": "simple"}  # v4 renamed simple -> simple_python
MAX_REPORTED_RECORDS = 20  # skipped records listed in printed reports; the JSON has all of them

_FILE = re.compile(r"^BFCL_v(\d+)_(.+)\.json$")


class BfclDataError(ValueError):
    """A BFCL folder or file that cannot be used; the message names it (exit status 2 in the CLI)."""


@dataclass(frozen=True)
class BfclEntry:
    id: str
    category: str
    messages: tuple[dict, ...]  # the single turn's chat messages (system/user/assistant)
    functions: tuple[dict, ...]
    answer: tuple[dict, ...] | None  # the answer key's ground_truth; None for the no-answer categories


@dataclass(frozen=True)
class BfclData:
    entries: list[BfclEntry]
    skipped_files: list[str]  # question files of categories we do not score
    version: str  # "v3", "v4", or "v3/v4" when categories come from different versions
    skipped_records: list[BadLine] = field(default_factory=list)  # file, line and reason of each
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256 of every file read


def category_of(stem: str) -> str:
    """Our name of a BFCL file's category (``simple_python`` -> ``simple``)."""
    return ALIASES.get(stem, stem)


def load_bfcl(bfcl_dir: str | os.PathLike, categories: Iterable[str] | None = None,
              version: int | None = None) -> BfclData:
    """Load the scored categories present in ``bfcl_dir`` (``version``: only ``BFCL_v<version>_`` files).

    Raises :class:`BfclDataError` for an unusable folder or file; bad records are skipped and listed
    in :attr:`BfclData.skipped_records`.
    """
    root = Path(bfcl_dir)
    if not root.is_dir():
        raise BfclDataError(f"BFCL directory not found: {root}")
    wanted = None if categories is None else {category_of(c) for c in categories}
    if wanted is not None and wanted - set(CATEGORIES):
        raise BfclDataError(f"unknown BFCL categories {sorted(wanted - set(CATEGORIES))}; scored: {list(CATEGORIES)}")
    found: dict[str, list[tuple[str, Path]]] = {}
    skipped: list[str] = []
    try:
        listing = sorted(root.iterdir())
    except OSError as exc:
        raise BfclDataError(f"{root}: cannot list the folder ({exc.strerror or exc})") from None
    for path in listing:
        m = _FILE.match(path.name)
        if not m or not path.is_file() or (version is not None and int(m.group(1)) != version):
            continue
        cat = category_of(m.group(2))
        if cat not in CATEGORIES:
            skipped.append(path.name)
        elif wanted is None or cat in wanted:
            found.setdefault(cat, []).append((m.group(1), path))
    for cat, paths in found.items():
        if len(paths) > 1:
            names = " and ".join(p.name for _, p in paths)
            raise BfclDataError(f"{root}: category {cat} is there twice ({names}); keep one BFCL version in the folder "
                                "or choose one with --bfcl-version")
    if not found:
        raise BfclDataError(f"no BFCL_v*_<category>.json question files for {sorted(wanted or CATEGORIES)} in {root}")
    reader = _Reader(root)
    entries: list[BfclEntry] = []
    for cat in CATEGORIES:
        if cat in found:
            (_, qpath), = found[cat]
            entries += reader.category(cat, qpath)
    versions = sorted({v for paths in found.values() for v, _ in paths}, key=int)
    file_order = {name: i for i, name in enumerate(dict.fromkeys(b.file for b in reader.skipped))}
    records = sorted(reader.skipped, key=lambda b: (file_order[b.file], b.line))
    return BfclData(entries, skipped, "/".join(f"v{v}" for v in versions), records, reader.hashes)


class _Reader:
    """Reads question and answer files of one folder, remembering skipped records, ids and file hashes."""

    def __init__(self, root: Path):
        self.root = root
        self.skipped: list[BadLine] = []
        self.hashes: dict[str, str] = {}
        self.seen_ids: dict[str, str] = {}  # id -> file it was first read from

    def category(self, cat: str, qpath: Path) -> list[BfclEntry]:
        answers = None
        if cat not in NO_ANSWER_KEY:
            apath = self.root / "possible_answer" / qpath.name
            if not apath.is_file():
                raise BfclDataError(f"answer key {apath} missing for {qpath}")
            answers = self._answers(apath)
        entries = []
        for line, obj in self._records(qpath):
            try:
                ident, messages, functions = _question(obj)
            except _Bad as bad:
                self._skip(qpath, line, bad.reason, bad.detail)
                continue
            if ident in self.seen_ids:
                self._skip(qpath, line, "duplicate_id", f"{ident!r} was read before from {self.seen_ids[ident]}")
                continue
            answer = None
            if answers is not None:
                if ident not in answers:
                    self._skip(qpath, line, "no_answer",
                               f"{ident!r} has no usable answer in possible_answer/{qpath.name}")
                    continue
                answer = answers[ident]
            self.seen_ids[ident] = qpath.name
            entries.append(BfclEntry(ident, cat, messages, functions, answer))
        return entries

    def _answers(self, apath: Path) -> dict[str, tuple[dict, ...]]:
        answers: dict[str, tuple[dict, ...]] = {}
        for line, obj in self._records(apath):
            ident = obj.get("id") if isinstance(obj, dict) else None
            if not isinstance(obj, dict):
                self._skip(apath, line, "not_object", type(obj).__name__)
            elif not isinstance(ident, str) or not ident:
                self._skip(apath, line, "no_id", "needs a non-empty string 'id'")
            elif ident in answers:
                self._skip(apath, line, "duplicate_id", f"{ident!r} appears earlier in this file; the first is used")
            elif (problem := _check_answer(obj.get("ground_truth"))) is not None:
                self._skip(apath, line, "bad_answer", problem)
            else:
                answers[ident] = tuple(obj["ground_truth"])
        return answers

    def _records(self, path: Path) -> list[tuple[int, Any]]:
        """The parsed lines of one file (bad lines recorded); file problems raise :class:`BfclDataError`."""
        try:
            self.hashes[str(path.relative_to(self.root))] = sha256_file(path)
            with open(path, encoding="utf-8") as fh:
                parsed = list(json_lines(fh))
        except UnicodeDecodeError as exc:
            raise BfclDataError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except OSError as exc:
            raise BfclDataError(f"{path}: cannot read ({exc.strerror or exc})") from None
        out = []
        for rec in parsed:
            if rec.reason == "blank":
                continue
            if rec.reason:
                self._skip(path, rec.line, rec.reason, rec.detail)
            else:
                out.append((rec.line, rec.value))
        return out

    def _skip(self, path: Path, line: int, reason: str, detail: str = "") -> None:
        self.skipped.append(BadLine(line, reason, detail, str(path.relative_to(self.root))))


class _Bad(Exception):
    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason, self.detail = reason, detail


def _question(obj: Any) -> tuple[str, tuple[dict, ...], tuple[dict, ...]]:
    """``(id, messages, function docs)`` of a single-turn question record, or :class:`_Bad`."""
    if not isinstance(obj, dict):
        raise _Bad("not_object", type(obj).__name__)
    ident = obj.get("id")
    if not isinstance(ident, str) or not ident:
        raise _Bad("no_id", "needs a non-empty string 'id'")
    turns = obj.get("question")
    if not isinstance(turns, list) or len(turns) != 1 or not isinstance(turns[0], list):
        raise _Bad("bad_question", f"{ident}: 'question' must be a list holding one turn (a list of messages)")
    for msg in turns[0]:
        if not isinstance(msg, dict) or not isinstance(msg.get("role"), str) or not isinstance(msg.get("content"), str):
            raise _Bad("bad_question", f"{ident}: every message needs string 'role' and 'content'")
    functions = obj.get("function")
    if functions is None:
        functions = []
    if not isinstance(functions, list):
        raise _Bad("bad_function", f"{ident}: 'function' must be a list of function docs")
    for i, doc in enumerate(functions):
        problem = _check_doc(doc)
        if problem:
            raise _Bad("bad_function", f"{ident}: function[{i}] {problem}")
    return ident, tuple(turns[0]), tuple(functions)


def _check_doc(doc: Any) -> str | None:
    """What is wrong with a function doc, or None."""
    if not isinstance(doc, dict) or not isinstance(doc.get("name"), str) or not doc["name"]:
        return "needs a non-empty string 'name'"
    params = doc.get("parameters")
    if params is None:
        return None
    if not isinstance(params, Mapping):
        return "'parameters' must be an object"
    props = params.get("properties")
    if props is not None and (not isinstance(props, Mapping)
                              or not all(isinstance(p, Mapping) for p in props.values())):
        return "'parameters.properties' must map names to objects"
    req = params.get("required")
    if req is not None and (not isinstance(req, list) or not all(isinstance(r, str) for r in req)):
        return "'parameters.required' must be a list of names"
    return None


def _check_answer(ground_truth: Any) -> str | None:
    """What is wrong with an answer key's ``ground_truth`` (``[{name: {param: [allowed, ...]}}]``), or None."""
    if not isinstance(ground_truth, list):
        return "'ground_truth' must be a list of calls"
    for i, call in enumerate(ground_truth):
        if not isinstance(call, dict) or len(call) != 1:
            return f"ground_truth[{i}] must be {{function name: {{param: [allowed, ...]}}}}"
        (name, params), = call.items()
        if not isinstance(params, dict):
            return f"ground_truth[{i}][{name!r}] must map parameters to allowed values"
        for p, allowed in params.items():
            if not isinstance(allowed, list):
                return f"ground_truth[{i}][{name!r}][{p!r}] must be a list of allowed values"
    return None
