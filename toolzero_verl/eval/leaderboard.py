"""BFCL's summary scores from per-category results: the v3 formulas (2025 papers) and the v4 ones
(today's leaderboard). Category names are BFCL v4's (``simple_python``, ``simple_java``, …); v3's
``simple``/``java``/``javascript`` are accepted as the same categories.

v3 (BFCL v3's ``eval_runner_helper.py``, gorilla 4ed459c0..ea13468e; docs/eval.md, "The v3 summary"):
Simple AST = mean(simple, java, javascript); Non-Live AST = mean(Simple AST, multiple, parallel,
parallel_multiple); Non-Live Overall adds irrelevance (5 groups); Live AST and Live Overall are
count-weighted (Overall with live_irrelevance and live_relevance); Multi-Turn = mean of 4;
Overall = mean(Non-Live Overall, Live Overall, Multi-Turn). Unweighted means count a category not
run as 0.

v4 (BFCL v4's ``eval_runner_helper.generate_leaderboard_csv``, bfcl-eval 2026.3.23): Non-Live = mean of
the four AST groups (no irrelevance); Live = the four live AST categories weighted by their full
entry counts, a category not run counting 0 at its full size; Hallucination = mean(irrelevance,
live_irrelevance); Multi-Turn = mean of 4; Agentic = mean(web search, memory);
Overall = (10·Non-Live + 10·Live + 10·Hallucination + 30·Multi-Turn + 40·Agentic) / 100.

>>> r = {"simple_python": Result(400, 400), "multiple": Result(200, 200)}   # Simple AST = (1 + 0 + 0) / 3
>>> round(v3_summary(r)["official"]["non_live_ast"], 4), round(v4_summary(r)["non_live"], 4)
(0.3333, 0.3333)
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Sequence

# v4 category names; the v3 name of each where it differs.
V3_NAMES = {"simple_python": "simple", "simple_java": "java", "simple_javascript": "javascript"}
V4_NAMES = {v: k for k, v in V3_NAMES.items()}

SIMPLE_AST = ("simple_python", "simple_java", "simple_javascript")
NON_LIVE_AST = ("multiple", "parallel", "parallel_multiple")
NON_LIVE = SIMPLE_AST + NON_LIVE_AST + ("irrelevance",)
LIVE_AST = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
LIVE = LIVE_AST + ("live_irrelevance", "live_relevance")
MULTI_TURN = ("multi_turn_base", "multi_turn_miss_func", "multi_turn_miss_param", "multi_turn_long_context")
WEB_SEARCH = ("web_search_base", "web_search_no_snippet")
MEMORY = ("memory_kv", "memory_vector", "memory_rec_sum")
ORDER = NON_LIVE + LIVE + MULTI_TURN + WEB_SEARCH + MEMORY  # BFCL's display order
V4_WEIGHTS = {"non_live": 10, "live": 10, "hallucination": 10, "multi_turn": 30, "agentic": 40}
# Full entry counts of BFCL v4 (bfcl-eval 2026.3.23's data): BFCL weighs a live category that was not
# run by its full size (at accuracy 0) in the Live score.
V4_COUNTS = {"live_simple": 258, "live_multiple": 1053, "live_parallel": 16, "live_parallel_multiple": 24}


class Result(NamedTuple):
    """One category's result: ``correct`` may be fractional (samples of one entry averaged)."""

    correct: float
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0


def v4_name(category: str) -> str:
    return V4_NAMES.get(category, category)


def normalise(results: Mapping[str, Any]) -> dict[str, Result]:
    """``{v4 category: Result}`` from results keyed by v3 or v4 names (objects with correct/total)."""
    out = {}
    for cat, r in results.items():
        correct = r["correct"] if isinstance(r, Mapping) else r.correct
        total = r["total"] if isinstance(r, Mapping) else r.total
        out[v4_name(cat)] = Result(float(correct), int(total))
    return out


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _weighted(results: Mapping[str, Result], cats: Sequence[str]) -> float | None:
    present = [results[c] for c in cats if c in results]
    total = sum(r.total for r in present)
    return sum(r.correct for r in present) / total if total else None


def v3_summary(results: Mapping[str, Any]) -> dict[str, Any]:
    """The BFCL v3 summary (see the module doc); a group with none of its categories present is None.

    ``python_only`` replaces Simple AST by the python simple category alone, which is what papers that
    report a "Non-Live" number without java/javascript are closest to.
    """
    r = normalise(results)

    def a(cat: str) -> float:
        return r[cat].accuracy if cat in r else 0.0

    has_non_live = any(c in r for c in NON_LIVE)
    simple_ast = _mean([a(c) for c in SIMPLE_AST])
    ast_groups = [simple_ast] + [a(c) for c in NON_LIVE_AST]
    py_groups = [a("simple_python")] + [a(c) for c in NON_LIVE_AST]
    non_live_overall = _mean(ast_groups + [a("irrelevance")]) if has_non_live else None
    live_overall = _weighted(r, LIVE)
    has_multi = any(c in r for c in MULTI_TURN)
    multi_turn = _mean([a(c) for c in MULTI_TURN]) if has_multi else None
    parts = (non_live_overall, live_overall, multi_turn)
    overall = _mean([p for p in parts]) if all(p is not None for p in parts) else None
    irrelevance = [c for c in ("irrelevance", "live_irrelevance") if c in r]
    return {
        "official": {
            "simple_ast": simple_ast if has_non_live else None,
            "non_live_ast": _mean(ast_groups) if has_non_live else None,
            "non_live_overall": non_live_overall,
            "live_ast": _weighted(r, LIVE_AST),
            "live_overall": live_overall,
            "multi_turn_overall": multi_turn,
            "overall": overall,
            "irrelevance_detection": _mean([a("irrelevance"), a("live_irrelevance")]) if irrelevance else None,
            "relevance_detection": r["live_relevance"].accuracy if "live_relevance" in r else None,
        },
        "python_only": {
            "non_live_ast": _mean(py_groups) if has_non_live else None,
            "non_live_overall": _mean(py_groups + [a("irrelevance")]) if has_non_live else None,
        },
        "missing_categories": [V3_NAMES.get(c, c) for c in NON_LIVE + LIVE + MULTI_TURN if c not in r],
    }


def v4_summary(results: Mapping[str, Any]) -> dict[str, float]:
    """The BFCL v4 leaderboard scores (see the module doc), every category not run counting 0."""
    r = normalise(results)

    def a(cat: str) -> float:
        return r[cat].accuracy if cat in r else 0.0

    simple_ast = _mean([a(c) for c in SIMPLE_AST])
    non_live = _mean([simple_ast] + [a(c) for c in NON_LIVE_AST])
    live_total = sum(r[c].total if c in r else V4_COUNTS[c] for c in LIVE_AST)
    live = sum(r[c].correct for c in LIVE_AST if c in r) / live_total
    scores = {
        "non_live": non_live,
        "live": live,
        "hallucination": _mean([a("irrelevance"), a("live_irrelevance")]),
        "multi_turn": _mean([a(c) for c in MULTI_TURN]),
        "agentic": _mean([_mean([a(c) for c in WEB_SEARCH]), _mean([a(c) for c in MEMORY])]),
    }
    overall = sum(V4_WEIGHTS[k] * v for k, v in scores.items()) / sum(V4_WEIGHTS.values())
    return {"overall": overall, "simple_ast": simple_ast, **scores,
            "relevance": a("live_relevance"), "irrelevance": scores["hallucination"]}
