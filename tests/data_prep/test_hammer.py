"""Hammer irrelevance converter (data_prep.corpora.hammer)."""

from __future__ import annotations

import json

from data_prep import reasons as R
from data_prep.corpora.hammer import convert_record
from data_prep.corpora.xlam import NO_CALL_ANSWER
from data_prep.sample import Sample
from data_prep.validate import validate

from .conftest import hammer_sft_to_raw


def test_irrelevance_rows_are_no_call_samples(corpora):
    raw = hammer_sft_to_raw(json.loads((corpora / "hammer" / "masking_sft_data_example.json").read_text()))
    out = [convert_record(r, i) for i, r in enumerate(raw)]
    no_call = [s for s in out if not s.calls]
    assert len(no_call) == 2 and all(s.answer == NO_CALL_ANSWER == "[]" for s in no_call)
    assert all(s.source == "hammer" and s.source_id == str(i) for i, s in enumerate(out))  # no id: position
    # masked names such as "_ErVZ.BD4gF96H" and ".67xDKY" are kept verbatim
    assert any(t["name"] == "_ErVZ.BD4gF96H" for s in out for t in s.tools)


def test_empty_tool_list_rejected():
    s = convert_record({"query": "What is the capital of Peru?", "answers": "[]", "tools": "[]"}, 0)
    assert isinstance(s, Sample)
    assert validate(s).rejected.reason == R.EMPTY_TOOLS


def test_masked_names_round_trip_through_the_answer_format():
    """Hammer-masked names (leading digit, dots in a parameter name) survive render -> parse; this
    needed the dotted-keyword fix in toolzero_verl.core.pycalls."""
    from toolzero_verl.core.calls import ToolCall
    from toolzero_verl.core.formats import get_format

    calls = (
        ToolCall("3xLKdtEnOKe3n", {"Se.iWY": "France", "fJCr": "Paris"}),
        ToolCall("_ErVZ.BD4gF96H", {".67xDKY": 40}),
    )
    fmt = get_format("answer")
    parsed = fmt.parse(fmt.render(calls, think="t"), ["3xLKdtEnOKe3n", "_ErVZ.BD4gF96H"])
    assert parsed.format_ok and parsed.calls == calls
