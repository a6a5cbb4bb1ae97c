"""BFCL-format data -> our prompts and ground truths; per-category accuracy and the BFCL v3 summary.

The data folder is read by :mod:`toolzero_verl.eval.bfcl_data` (layout, record checks). Only the
single-turn python categories are scored here: java and javascript use other value converters and
multi-turn is checked by execution; BFCL's own evaluator scores those (:mod:`toolzero_verl.eval.official`).

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
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from toolzero_verl.core.atomic import atomic_path
from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.matching import PARALLEL_WRONG_COUNT, WRONG_COUNT
from toolzero_verl.eval import leaderboard
from toolzero_verl.eval.bfcl_data import (  # noqa: F401 - re-exported: the BFCL data API lives here too
    CATEGORIES,
    LIVE,
    MAX_REPORTED_RECORDS,
    NO_ANSWER_KEY,
    NON_LIVE,
    BfclData,
    BfclDataError,
    BfclEntry,
    load_bfcl,
)
from toolzero_verl.eval.score import Report

# Entry counts of BFCL v3 after 2025-04-09 (BFCL's data at gorilla ea13468e), for reports on partial directories.
V3_COUNTS = {
    "simple": 400, "java": 100, "javascript": 50, "multiple": 200, "parallel": 200, "parallel_multiple": 200,
    "irrelevance": 240, "live_simple": 258, "live_multiple": 1053, "live_parallel": 16,
    "live_parallel_multiple": 24, "live_irrelevance": 882, "live_relevance": 18,
}


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


def answer_key_calls(
    answer: Sequence[Mapping[str, Mapping[str, list]]], functions: Sequence[Mapping] = ()
) -> list[ToolCall]:
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
                first_is_blank = (isinstance(allowed, list) and bool(allowed) and type(allowed[0]) is str
                                  and allowed[0] == "")
                if first_is_blank and pname not in required.get(name, ()):
                    continue
                found, v = _first_allowed(allowed)
                if found:
                    args[pname] = _unwrap(v)
            calls.append(ToolCall(name, args))
    return calls


def ground_truth(entry: BfclEntry) -> dict[str, Any]:
    """Our ground-truth JSON (docs/rewards.md, "Ground truth") for one entry (``possible_answers`` = the answer
    key, unchanged)."""
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
    """The training system prompt (instruction + tools + format) then the entry's turn."""
    return training_messages(entry.functions, entry.messages, output_format)


def training_messages(functions: Sequence[Mapping[str, Any]], messages: Sequence[Mapping[str, Any]],
                      output_format: str) -> list[dict[str, str]]:
    """Our training system prompt for ``functions`` followed by ``messages``; a system message among
    them is appended to ours (BFCL prepends its own prompt to an entry's system message likewise,
    bfcl-eval's ``model_handler/utils.system_prompt_pre_processing_chat_model``). Other keys of a
    message (a tool message's ``name``) are kept."""
    from toolzero_verl.core.prompt import system_prompt  # the training prompt, so eval prompts match training

    system = system_prompt([_display_tool(f) for f in functions], output_format)
    rest = []
    for msg in messages:
        role, content = str(msg.get("role", "user")), str(msg.get("content", ""))
        if role == "system":
            system = f"{system}\n\n{content}"
        else:
            rest.append({**msg, "role": role, "content": content})
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
            "extra_info": {"split": "test", "index": i, "id": e.id, "category": e.category,
                           "output_format": output_format},
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


def v3_summary(results: Mapping[str, CategoryResult]) -> dict[str, Any]:
    """BFCL v3 summary scores (:func:`toolzero_verl.eval.leaderboard.v3_summary`) of the categories
    scored here; java, javascript and multi-turn are not, so they count 0 where BFCL's formula needs them
    (the official Simple AST is at most 1/3 of simple) and the v3 Overall is not computed."""
    summary = leaderboard.v3_summary(results)
    summary["missing_categories"] = [c for c in CATEGORIES if c not in results]
    summary["not_scored_here"] = ["java", "javascript", "multi_turn (4 categories)"]
    return summary


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
        "skipped_bfcl_records": [vars(b) for b in data.skipped_records],
        "malformed_lines": base["malformed_lines"],
        "unmatched_lines": base["unmatched_lines"],
        "failures": failures,
    }


def format_skipped_records(data: BfclData) -> list[str]:
    """The BFCL records that were not loaded, with file, line and reason (the first few)."""
    if not data.skipped_records:
        return []
    shown = data.skipped_records[:MAX_REPORTED_RECORDS]
    return [f"skipped {len(data.skipped_records)} BFCL record(s) (their entries are not scored):"] + [
        f"  {b.describe()}" for b in shown
    ]


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
        f"  Irrelevance detection (mean of irrelevance, live_irrelevance)  {_fmt(o['irrelevance_detection'])}",
        f"  Relevance detection (live_relevance)                                     {_fmt(o['relevance_detection'])}",
    ]
    if s["missing_categories"]:
        lines.append(f"  missing categories: {', '.join(s['missing_categories'])}")
    if data.skipped_files:
        lines.append(f"  files not scored (not single-turn python): {', '.join(data.skipped_files)}")
    lines += format_skipped_records(data)
    problems = format_problems(report, max_failures,
                               lambda err, row: bfcl_error(err, str(row.extra.get("category", ""))))
    return "\n".join(lines) + ("\n\n" + problems if problems else "")
