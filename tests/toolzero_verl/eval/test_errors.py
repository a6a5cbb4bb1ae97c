"""Error taxonomy: every BFCL error string the matcher can return maps to a report kind."""

from __future__ import annotations

from toolzero_verl.core import matching
from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.ground_truth import load_ground_truth
from toolzero_verl.eval import errors


def test_every_matcher_error_has_a_specific_kind():
    constants = [v for k, v in vars(matching).items() if k.isupper() and isinstance(v, str) and ":" in v]
    assert len(constants) >= 18
    unmapped = {c for c in constants if errors.classify(c) == "other"}
    # cannot_find_match is refined by parallel_detail; uncheckable values are genuinely "other"
    assert unmapped == {matching.CANNOT_FIND_MATCH, matching.UNCHECKABLE}
    assert set(errors._BY_ERROR.values()) <= set(errors.KINDS)


def test_classify():
    assert errors.classify(None) is None
    assert errors.classify(matching.WRONG_COUNT, n_pred=0) == "no_call"
    assert errors.classify(matching.PARALLEL_WRONG_COUNT, n_pred=3) == "wrong_count"
    assert errors.classify(matching.CANNOT_FIND_MATCH, matching.TYPE_NESTED) == "type_error"
    assert errors.classify(errors.DECODER_FAILED) == "parse_failure"


TOOLS = [{"name": n, "parameters": {"type": "dict", "required": ["x"], "properties": {"x": {"type": "integer"}}}}
         for n in ("f", "g")]


def gt(*calls):
    return load_ground_truth({"calls": [{"name": n, "arguments": a} for n, a in calls], "tools": TOOLS})


def test_parallel_detail_names_the_first_unmatched_gold_call():
    ref = gt(("f", {"x": 1}), ("g", {"x": 2}))
    assert errors.parallel_detail([ToolCall("f", {"x": 1}), ToolCall("g", {"x": 3})], ref) == matching.VALUE_OTHERS
    assert errors.parallel_detail([ToolCall("f", {"x": 1}), ToolCall("h", {"x": 2})], ref) == matching.WRONG_FUNC_NAME
    assert errors.parallel_detail([ToolCall("g", {}), ToolCall("f", {"x": 1})], ref) == matching.MISSING_REQUIRED
    assert errors.parallel_detail([ToolCall("g", {"x": 2.0}), ToolCall("f", {"x": 1})], ref) == matching.TYPE_SIMPLE
    assert errors.parallel_detail([ToolCall("g", {"x": 2}), ToolCall("f", {"x": 1})], ref) is None
