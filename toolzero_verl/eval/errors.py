"""Error taxonomy: BFCL error-type strings (from :mod:`toolzero_verl.core.matching`) -> report columns.

The matcher returns BFCL's own error strings (BFCL's bfcl_eval/eval_checker/ast_eval/ast_checker.py). Reports group them
into a few kinds a reader can act on. A parallel response that fails as a whole
(``cannot_find_match``) is explained by the first gold call left unmatched: the error of the
closest same-name predicted call, so a wrong value in call 3 of 4 counts as a value error.

>>> classify("value_error:string"), classify("simple_function_checker:wrong_count", n_pred=0)
('value_error', 'no_call')
>>> classify("irrelevance_error:decoder_success")
'call_on_no_call'
"""

from __future__ import annotations

from typing import Sequence

from toolzero_verl.core import matching as m
from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.ground_truth import GroundTruth

# Not produced by the matcher; added by the evaluator.
DECODER_FAILED = "ast_decoder:decoder_failed"  # BFCL's name for an unparseable response on a call turn
RELEVANCE_FAILED = "relevance_error:decoder_failed"  # live_relevance: no call was made (BFCL §1.5)
NO_GENERATION = "eval:no_generation"  # the row has no line in the generations file
EPISODE_FAILED = "episode:not_exact"  # an episode row: some gold point missed or some turn wrong (eval/episodes.py)

# Report columns, in display order, with their short table headers.
KINDS: dict[str, str] = {
    "parse_failure": "parse",  # call syntax present but broken (or response too long)
    "no_call": "nocall",  # expected call(s), model made none (prose, refusal, empty answer)
    "wrong_count": "count",  # made calls, but not as many as the reference
    "wrong_name": "name",
    "missing_required": "miss_req",
    "missing_optional": "miss_opt",  # omitted a parameter the answer key does not let be omitted
    "unexpected_param": "unexp",
    "type_error": "type",
    "value_error": "value",
    "call_on_no_call": "call_nc",  # called a function where the reference makes no call
    "no_relevant_call": "no_rel",  # live_relevance: expected some call, made none
    "no_generation": "nogen",
    "episode_failed": "episode",  # an episode with a missed point or a wrong turn
    "other": "other",
}

_BY_ERROR = {
    DECODER_FAILED: "parse_failure",
    m.BROKEN_SYNTAX: "parse_failure",  # the validity check's name for it (the rewards' −0.3 term)
    m.UNKNOWN_FUNCTION: "wrong_name",  # likewise: a function that was not offered
    m.WRONG_FUNC_NAME: "wrong_name",
    m.MISSING_REQUIRED: "missing_required",
    m.MISSING_OPTIONAL: "missing_optional",
    m.UNEXPECTED_PARAM: "unexpected_param",
    m.TYPE_SIMPLE: "type_error",
    m.TYPE_NESTED: "type_error",
    m.VALUE_STRING: "value_error",
    m.VALUE_LIST: "value_error",
    m.VALUE_DICT_KEY: "value_error",
    m.VALUE_DICT_VALUE: "value_error",
    m.VALUE_LIST_DICT_COUNT: "value_error",
    m.VALUE_OTHERS: "value_error",
    m.DICT_UNCLEAR: "value_error",
    m.LIST_DICT_UNCLEAR: "value_error",
    m.WRONG_COUNT: "wrong_count",
    m.PARALLEL_WRONG_COUNT: "wrong_count",
    "multiple_function_checker:wrong_count": "wrong_count",
    m.IRRELEVANCE: "call_on_no_call",
    RELEVANCE_FAILED: "no_relevant_call",
    NO_GENERATION: "no_generation",
    EPISODE_FAILED: "episode_failed",
}


def classify(error: str | None, detail: str | None = None, n_pred: int | None = None) -> str | None:
    """The report kind of a failure (None for a pass). ``detail`` refines ``cannot_find_match``."""
    if error is None:
        return None
    if error == m.CANNOT_FIND_MATCH and detail is not None:
        error = detail
    kind = _BY_ERROR.get(error, "other")
    if kind == "wrong_count" and n_pred == 0:
        return "no_call"
    return kind


def parallel_detail(pred: Sequence[ToolCall], gt: GroundTruth) -> str | None:
    """Why a same-size parallel response has no one-to-one match (BFCL says only ``cannot_find_match``).

    Gold calls are taken in order; each takes the first unused prediction that passes. The first
    gold call left without one is explained by the first unused prediction with its name
    (``wrong_func_name`` when there is none).

    >>> from toolzero_verl.core.ground_truth import load_ground_truth
    >>> gt = load_ground_truth({"calls": [{"name": "f", "arguments": {"x": 1}}, {"name": "f", "arguments": {"x": 2}}]})
    >>> parallel_detail([ToolCall("f", {"x": 1}), ToolCall("f", {"x": 3})], gt)
    'value_error:others'
    """
    possible = [next(iter(p.values())) if p else {} for p in gt.possible_answers]
    if len(possible) != len(gt.calls):
        return None
    used = [False] * len(pred)
    try:
        for gold, allowed in zip(gt.calls, possible):
            schema = gt.schema(gold.name)
            j = next(
                (j for j, c in enumerate(pred) if not used[j] and m.check_call(c, gold.name, allowed, schema) is None),
                None,
            )
            if j is not None:
                used[j] = True
                continue
            same = next((j for j, c in enumerate(pred) if not used[j] and c.name == gold.name), None)
            if same is None:
                return m.WRONG_FUNC_NAME
            return m.check_call(pred[same], gold.name, allowed, schema)
    except (RecursionError, OverflowError, TypeError, ValueError):  # hostile values
        return m.UNCHECKABLE
    return None  # the greedy pass matched everything (the matcher's optimal one would too)
