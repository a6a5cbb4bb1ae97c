"""BFCL-format data -> our prompts and ground truths; per-category accuracy and the BFCL v3 summary.

Data layout (BFCL's bfcl_eval/data/, docs/eval.md §4): ``BFCL_v3_<category>.json`` question files (JSON Lines:
``{"id", "question": [[messages]], "function": [docs]}``) and ``possible_answer/BFCL_v3_<category>.json``
answer keys (``{"id", "ground_truth": [{name: {param: [allowed...]}}]}``). v4 files (``BFCL_v4_``,
``simple_python``) load the same way. Only the single-turn python categories are scored: java and
javascript use other value converters, multi-turn is checked by execution (both listed as skipped).

Each question becomes one of our ground truths: ``tools`` = the entry's function docs (BFCL types,
which our matcher reads natively), ``possible_answers`` = the answer key unchanged (so the check is
BFCL's), ``calls`` = one representative answer (:func:`answer_key_calls`, used by the generic
reward's reference and for answer-key replays). The prompt is the training system prompt for the
chosen output format, so a model is evaluated in the format it was trained on.

>>> key = [{"f": {"x": [1, 2], "unit": ["", "km"], "opt": ["", None], "d": [{"k": ["v"], "z": ["", 0]}]}}]
>>> answer_key_calls(key, [{"name": "f", "parameters": {"required": ["x", "unit"]}}])
[ToolCall(name='f', arguments={'x': 1, 'unit': 'km', 'd': {'k': 'v'}})]
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from toolzero_verl.core.atomic import atomic_path
from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.matching import PARALLEL_WRONG_COUNT, WRONG_COUNT
from toolzero_verl.eval.score import Report

# Single-turn python categories we score, in BFCL's display order (§2.3).
NON_LIVE = ("simple", "multiple", "parallel", "parallel_multiple", "irrelevance")
LIVE = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance", "live_relevance")
CATEGORIES = NON_LIVE + LIVE
NO_ANSWER_KEY = frozenset({"irrelevance", "live_irrelevance", "live_relevance"})  # §1.5
ALIASES = {"simple_python": "simple"}  # v4 renamed simple -> simple_python (§1.7)
# Entry counts of BFCL v3 after 2025-04-09 (§2.3), for reports on partial directories.
V3_COUNTS = {
    "simple": 400, "java": 100, "javascript": 50, "multiple": 200, "parallel": 200, "parallel_multiple": 200,
    "irrelevance": 240, "live_simple": 258, "live_multiple": 1053, "live_parallel": 16,
    "live_parallel_multiple": 24, "live_irrelevance": 882, "live_relevance": 18,
}
# v3 summary groups (§5.1).
SIMPLE_AST = ("simple", "java", "javascript")  # unweighted; java/javascript are not scored here (0)
NON_LIVE_AST = ("multiple", "parallel", "parallel_multiple")  # + Simple AST, unweighted
LIVE_AST = LIVE[:4]  # count-weighted
LIVE_OVERALL = LIVE  # count-weighted, including live_irrelevance and live_relevance

_FILE = re.compile(r"^BFCL_v(\d+)_(.+)\.json$")


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
    version: str


def _category(stem: str) -> str:
    return ALIASES.get(stem, stem)


def _read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_bfcl(bfcl_dir: str | os.PathLike, categories: Iterable[str] | None = None) -> BfclData:
    """Load the supported categories present in ``bfcl_dir`` (raises if none is).

    A missing answer-key file or id for a category that has one is a data error (ValueError).
    """
    root = Path(bfcl_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"BFCL directory not found: {root}")
    wanted = None if categories is None else {_category(c) for c in categories}
    if wanted is not None and wanted - set(CATEGORIES):
        raise ValueError(f"unknown BFCL categories {sorted(wanted - set(CATEGORIES))}; scored: {list(CATEGORIES)}")
    found: dict[str, Path] = {}
    skipped, versions = [], set()
    for path in sorted(root.iterdir()):
        m = _FILE.match(path.name)
        if not m or not path.is_file():
            continue
        cat = _category(m.group(2))
        if cat not in CATEGORIES:
            skipped.append(path.name)
            continue
        if wanted is None or cat in wanted:
            found[cat] = path
            versions.add(m.group(1))
    if not found:
        raise FileNotFoundError(f"no BFCL_v*_<category>.json question files for {sorted(wanted or CATEGORIES)} in {root}")
    entries: list[BfclEntry] = []
    for cat in CATEGORIES:
        if cat not in found:
            continue
        qpath = found[cat]
        answers: dict[str, Any] = {}
        if cat not in NO_ANSWER_KEY:
            apath = root / "possible_answer" / qpath.name
            if not apath.is_file():
                raise ValueError(f"answer key {apath} missing for {qpath.name}")
            answers = {a["id"]: a["ground_truth"] for a in _read_jsonl(apath)}
        for q in _read_jsonl(qpath):
            turns = q.get("question") or [[]]
            messages = tuple(msg for turn in turns for msg in turn)  # single-turn files hold one turn
            if cat not in NO_ANSWER_KEY and q["id"] not in answers:
                raise ValueError(f"{q['id']} has no answer in {apath}")
            answer = tuple(answers[q["id"]]) if cat not in NO_ANSWER_KEY else None
            entries.append(BfclEntry(q["id"], cat, messages, tuple(q.get("function") or ()), answer))
    return BfclData(entries, skipped, "/".join(f"v{v}" for v in sorted(versions)))


# --- answer key -> ground truth ------------------------------------------------------------------


def _first_allowed(allowed: Any) -> tuple[bool, Any]:
    """(found, value): the first allowed value that is not the may-be-omitted marker ``""``."""
    if not isinstance(allowed, list):
        return True, allowed  # not an allowed-value list: a literal
    for v in allowed:
        if not (type(v) is str and v == ""):
            return True, v
    return False, None


def _unwrap(value: Any) -> Any:
    """An answer-key value as a plain value: dicts hold allowed lists per key, lists of dicts one such
    dict per position (§2.2); keys whose first allowed value is ``""`` are omitted."""
    if isinstance(value, dict):
        out = {}
        for k, allowed in value.items():
            if isinstance(allowed, list) and allowed and type(allowed[0]) is str and allowed[0] == "":
                continue
            found, v = _first_allowed(allowed)
            if found:
                out[k] = _unwrap(v)
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [_unwrap(v) for v in value]
    return value


def answer_key_calls(answer: Sequence[Mapping[str, Mapping[str, list]]], functions: Sequence[Mapping] = ()) -> list[ToolCall]:
    """One passing answer per answer-key call: for each parameter that is required (by the function
    doc) or whose first allowed value is not ``""``, its first allowed value that is not ``""``."""
    required = {}
    for f in functions:
        params = f.get("parameters") if isinstance(f, Mapping) else None
        req = params.get("required") if isinstance(params, Mapping) else None
        required[f.get("name")] = set(req) if isinstance(req, list) else set()
    calls = []
    for item in answer:
        for name, params in item.items():
            args = {}
            for pname, allowed in params.items():
                first_is_blank = isinstance(allowed, list) and bool(allowed) and type(allowed[0]) is str and allowed[0] == ""
                if first_is_blank and pname not in required.get(name, ()):
                    continue
                found, v = _first_allowed(allowed)
                if found:
                    args[pname] = _unwrap(v)
            calls.append(ToolCall(name, args))
    return calls


def ground_truth(entry: BfclEntry) -> dict[str, Any]:
    """Our ground-truth JSON (docs/rewards.md, "Ground truth") for one entry (``possible_answers`` = the answer key, unchanged)."""
    if entry.answer is None:
        return {"calls": [], "tools": list(entry.functions), "possible_answers": [], "answer": None}
    answer = list(entry.answer)
    if _is_simple(entry.category) and len(entry.functions) == 1 and len(answer) == 1:
        # BFCL's simple checker takes the expected name from the function doc and ignores the answer
        # key's (§1.3, §1.4 step 1); simple_363's key says find_closest for restaurant_search.find_closest.
        (params,) = answer[0].values()
        answer = [{entry.functions[0]["name"]: params}]
    calls = answer_key_calls(answer, entry.functions)
    return {
        "calls": [c.to_dict() for c in calls],
        "tools": list(entry.functions),
        "possible_answers": answer,
        "answer": None,
    }


def _is_simple(category: str) -> bool:
    """BFCL dispatches on the category name: 'parallel', then 'multiple', else simple (§1.3)."""
    return "parallel" not in category and "multiple" not in category


# --- prompts ------------------------------------------------------------------------------------------


def prompt_messages(entry: BfclEntry, output_format: str) -> list[dict[str, str]]:
    """The training system prompt (instruction + tools + format) then the entry's turn.

    A system message inside the entry is appended to ours (BFCL prepends its own prompt likewise, §6.1).
    """
    from toolzero_verl.core.prompt import system_prompt  # the training prompt, so eval prompts match training

    system = system_prompt([_display_tool(f) for f in entry.functions], output_format)
    rest = []
    for msg in entry.messages:
        role, content = str(msg.get("role", "user")), str(msg.get("content", ""))
        if role == "system":
            system = f"{system}\n\n{content}"
        else:
            rest.append({"role": role, "content": content})
    return [{"role": "system", "content": system}] + rest


def _display_tool(doc: Mapping[str, Any]) -> dict:
    """The doc as training prompts show tools: top-level ``parameters.type`` is ``object`` there
    (data_prep.types); BFCL writes ``dict``. Parameter types are BFCL's vocabulary in both."""
    params = doc.get("parameters")
    if isinstance(params, Mapping) and params.get("type") == "dict":
        return {**doc, "parameters": {**params, "type": "object"}}
    return dict(doc)


def build_rows(entries: Sequence[BfclEntry], output_format: str, with_prompt: bool = True) -> list[dict[str, Any]]:
    """verl parquet rows (the columns ``toolzero-prep`` writes); ``extra_info.id`` is the BFCL id."""
    rows = []
    for i, e in enumerate(entries):
        rows.append({
            "data_source": f"bfcl_{e.category}",
            "prompt": prompt_messages(e, output_format) if with_prompt else [],
            "ability": "tool_call",
            "reward_model": {"style": "rule", "ground_truth": json.dumps(ground_truth(e), ensure_ascii=False)},
            "extra_info": {"split": "test", "index": i, "id": e.id, "category": e.category, "output_format": output_format},
        })
    return rows


def write_rows(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike) -> None:
    """Write rows as parquet atomically (temporary file, then rename), in the training row schema
    with BFCL's ``extra_info`` (id and category instead of the training fields)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from toolzero_verl.core.parquet import row_schema

    schema = row_schema(pa.struct([("split", pa.string()), ("index", pa.int64()), ("id", pa.string()),
                                   ("category", pa.string()), ("output_format", pa.string())]))
    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pylist(list(rows), schema=schema), tmp)


# --- scoring ----------------------------------------------------------------------------------------


def bfcl_error(error: str | None, category: str) -> str | None:
    """Our error string under the name BFCL's checker for ``category`` gives it (§1.3)."""
    if error in (WRONG_COUNT, PARALLEL_WRONG_COUNT):
        if "parallel" in category:
            return PARALLEL_WRONG_COUNT
        if "multiple" in category:
            return "multiple_function_checker:wrong_count"
        return WRONG_COUNT
    return error


@dataclass
class CategoryResult:
    category: str
    total: int
    correct: float
    errors: Counter  # BFCL error strings of the failures
    kinds: Counter  # report kinds (errors.KINDS)
    credited_parse_failures: int = 0  # responses right only because BFCL counts a parse failure as no call
    parse_failure_credit: float = 0.0  # their weight in ``correct``

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def accuracy_without_parse_failure_credit(self) -> float:
        """Accuracy if a parse failure were not an abstention (the training rewards' rule); not BFCL's number."""
        return (self.correct - self.parse_failure_credit) / self.total if self.total else 0.0


def category_results(report: Report) -> dict[str, CategoryResult]:
    """Per-BFCL-category accuracy (samples of one entry averaged) from a scored report."""
    out: dict[str, CategoryResult] = {}
    per_row = Counter(s.row.pos for s in report.scores)
    rows_seen: set[int] = set()
    for s in report.scores:
        cat = str(s.row.extra.get("category") or s.row.data_source.removeprefix("bfcl_"))
        r = out.setdefault(cat, CategoryResult(cat, 0, 0.0, Counter(), Counter()))
        if s.row.pos not in rows_seen:
            rows_seen.add(s.row.pos)
            r.total += 1
        r.correct += s.correct / per_row[s.row.pos]
        if s.parse_failure_credit:
            r.credited_parse_failures += 1
            r.parse_failure_credit += 1 / per_row[s.row.pos]
        if not s.correct:
            r.errors[bfcl_error(s.error, cat)] += 1
            r.kinds[s.kind] += 1
    return {c: out[c] for c in CATEGORIES if c in out}


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def v3_summary(results: Mapping[str, CategoryResult]) -> dict[str, Any]:
    """BFCL v3 summary scores (docs/eval.md §4), from per-category results.

    Unweighted means count a category that was not run as 0, as BFCL does; count-weighted means pool
    the categories present. ``python_only`` replaces Simple AST by the python simple category alone
    (java/javascript are never scored here, so the official Simple AST is at most 1/3 of it).
    A group with none of its categories present is ``None``.
    """
    acc = {c: r.accuracy for c, r in results.items()}

    def a(cat: str) -> float:
        return acc.get(cat, 0.0)

    def weighted(cats: Sequence[str]) -> float | None:
        present = [results[c] for c in cats if c in results]
        total = sum(r.total for r in present)
        return sum(r.correct for r in present) / total if total else None

    has_non_live = any(c in results for c in NON_LIVE)
    simple_ast = _mean([a(c) for c in SIMPLE_AST])
    non_live_ast = _mean([simple_ast] + [a(c) for c in NON_LIVE_AST]) if has_non_live else None
    non_live_overall = _mean([simple_ast] + [a(c) for c in NON_LIVE_AST] + [a("irrelevance")]) if has_non_live else None
    py_ast = _mean([a("simple")] + [a(c) for c in NON_LIVE_AST]) if has_non_live else None
    py_overall = _mean([a("simple")] + [a(c) for c in NON_LIVE_AST] + [a("irrelevance")]) if has_non_live else None
    irrelevance = [c for c in ("irrelevance", "live_irrelevance") if c in results]
    return {
        "official": {
            "simple_ast": simple_ast if has_non_live else None,
            "non_live_ast": non_live_ast,
            "non_live_overall": non_live_overall,
            "live_ast": weighted(LIVE_AST),
            "live_overall": weighted(LIVE_OVERALL),
            "irrelevance_detection": _mean([a("irrelevance"), a("live_irrelevance")]) if irrelevance else None,
            "relevance_detection": acc.get("live_relevance"),
        },
        "python_only": {"non_live_ast": py_ast, "non_live_overall": py_overall},
        "missing_categories": [c for c in CATEGORIES if c not in results],
        "not_scored_here": ["java", "javascript", "multi_turn (4 categories)"],
    }


def bfcl_json(report: Report, results: Mapping[str, CategoryResult], data: BfclData) -> dict[str, Any]:
    base = report.to_dict()
    failures = []
    for f in base["failures"]:
        cat = f["data_source"].removeprefix("bfcl_")
        failures.append({**f, "error": bfcl_error(f["error"], cat), "category": cat})
    return {
        "bfcl_version": data.version,
        "settings": base["settings"],
        "counts": base["counts"],
        "categories": {
            c: {"accuracy": r.accuracy, "correct": r.correct, "total": r.total,
                "credited_parse_failures": r.credited_parse_failures,
                "accuracy_without_parse_failure_credit": r.accuracy_without_parse_failure_credit,
                "bfcl_errors": dict(r.errors.most_common()), "errors": dict(r.kinds.most_common())}
            for c, r in results.items()
        },
        "summary_v3": v3_summary(results),
        "skipped_files": data.skipped_files,
        "malformed_lines": base["malformed_lines"],
        "unmatched_lines": base["unmatched_lines"],
        "failures": failures,
    }


def _fmt(x: float | None) -> str:
    return "  n/a" if x is None else f"{100 * x:6.2f}"


def format_bfcl(report: Report, results: Mapping[str, CategoryResult], data: BfclData, max_failures: int = 50) -> str:
    from . import errors as E
    from .score import format_problems

    kinds = [k for k in E.KINDS if any(r.kinds.get(k) for r in results.values())]
    # pf_cred: responses right only because BFCL counts a parse failure as no call; acc-pf%: accuracy without them
    head = f"{'category':<24}  {'total':>6}  {'acc%':>6}  {'pf_cred':>7}  {'acc-pf%':>7}"
    head += "".join(f"  {E.KINDS[k]:>8}" for k in kinds)
    lines = [f"BFCL {data.version}  output_format={report.options.output_format or 'per row'}", head, "-" * len(head)]
    for c, r in results.items():
        line = f"{c:<24}  {r.total:>6}  {_fmt(r.accuracy)}  {r.credited_parse_failures:>7}  "
        line += f"{_fmt(r.accuracy_without_parse_failure_credit):>7}"
        lines.append(line + "".join(f"  {r.kinds.get(k, 0):>8}" for k in kinds))
    lines.append("acc% is BFCL's; pf_cred = responses right only because BFCL counts a parse failure as an abstention "
                 "(never credited in training); acc-pf% = the accuracy without them")
    s = v3_summary(results)
    o, p = s["official"], s["python_only"]
    lines += [
        "",
        "BFCL v3 summary (docs/eval.md §4; unweighted means count missing categories as 0):",
        f"  Non-Live AST  (official: Simple AST = mean(simple, java, javascript))  {_fmt(o['non_live_ast'])}",
        f"  Non-Live AST  (python only: Simple AST = simple)                        {_fmt(p['non_live_ast'])}",
        f"  Non-Live Overall (official, with irrelevance)                            {_fmt(o['non_live_overall'])}",
        f"  Non-Live Overall (python only, with irrelevance)                         {_fmt(p['non_live_overall'])}",
        f"  Live AST      (count-weighted over live categories present)              {_fmt(o['live_ast'])}",
        f"  Live Overall  (count-weighted, with live irrelevance/relevance)           {_fmt(o['live_overall'])}",
        f"  Irrelevance detection (mean of irrelevance, live_irrelevance)            {_fmt(o['irrelevance_detection'])}",
        f"  Relevance detection (live_relevance)                                     {_fmt(o['relevance_detection'])}",
    ]
    if s["missing_categories"]:
        lines.append(f"  missing categories: {', '.join(s['missing_categories'])}")
    if data.skipped_files:
        lines.append(f"  files not scored (not single-turn python): {', '.join(data.skipped_files)}")
    problems = format_problems(report, max_failures, lambda err, row: bfcl_error(err, str(row.extra.get("category", ""))))
    return "\n".join(lines) + ("\n\n" + problems if problems else "")
