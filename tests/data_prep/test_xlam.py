"""xLAM converter (data_prep.corpora.xlam) on the 16 real records and hand-written quirks."""

from __future__ import annotations

import json

import pytest

from data_prep import reasons as R
from data_prep.corpora.xlam import convert_record
from data_prep.sample import Rejected, Sample


def rec(answers, tools, query="q?", rid=1):
    return {"id": rid, "query": query, "answers": json.dumps(answers), "tools": json.dumps(tools)}


def test_real_records(corpora):
    records = json.loads((corpora / "xlam" / "xlam_sample.json").read_text())
    out = {r["id"]: convert_record(r, i) for i, r in enumerate(records)}
    assert all(isinstance(s, Sample) for s in out.values())  # all 16 parse; validation decides later
    s0 = out[0]
    assert [c.to_dict() for c in s0.calls] == json.loads(records[0]["answers"])
    assert s0.tools[0]["parameters"] == {
        "type": "object",
        "properties": {
            "type": {
                "type": "string",
                "description": "The type of giveaways to retrieve (e.g., game, loot, beta).",
                "default": "game",
            }
        },
        "required": [],
    }
    assert out[17925].calls[2].arguments == {}
    # string-number defaults normalised to the declared int type
    feeds = next(t for t in out[17925].tools if t["name"] == "feeds_list")["parameters"]["properties"]
    assert feeds["start"]["default"] == 0 and feeds["limit"]["default"] == 24 and "default" not in feeds["tag"]
    # a nonsense default (1.2 for an int) is dropped; the parameter becomes required
    pop = next(t for t in out[41496].tools if t["name"] == "project_population")["parameters"]
    assert "default" not in pop["properties"]["current_pop"] and "current_pop" in pop["required"]
    assert out[41496].tools[0]["parameters"]["required"] == ["location", "num_years"]


def test_duplicate_tool_names():
    a = {"name": "search", "description": "web", "parameters": {"q": {"type": "str", "description": ""}}}
    b = {
        "name": "search",
        "description": "images",
        "parameters": {"q": {"type": "str", "description": ""}, "n": {"type": "int", "description": ""}},
    }
    other = {"name": "other", "description": "", "parameters": {}}
    same = convert_record(rec([{"name": "search", "arguments": {"q": "x"}}], [a, a]), 0)
    assert isinstance(same, Sample) and len(same.tools) == 1  # identical copies merged
    clash = convert_record(rec([{"name": "search", "arguments": {"q": "x"}}], [a, b]), 0)
    assert isinstance(clash, Rejected) and clash.reason == R.DUPLICATE_TOOL_NAME
    distractor = convert_record(rec([{"name": "other", "arguments": {}}], [a, b, other]), 0)
    assert isinstance(distractor, Sample) and [t["name"] for t in distractor.tools] == ["search", "other"]


def test_native_lists_accepted():
    s = convert_record(
        {
            "id": 3,
            "query": "q",
            "answers": [{"name": "f", "arguments": {}}],
            "tools": [{"name": "f", "description": "", "parameters": {}}],
        },
        0,
    )
    assert isinstance(s, Sample) and s.source_id == "3"


@pytest.mark.parametrize(
    "record, reason",
    [
        ([1, 2], R.MALFORMED_RECORD),
        ({"id": 1, "query": None, "answers": "[]", "tools": "[]"}, R.MALFORMED_RECORD),
        ({"id": 1, "query": "q", "answers": "[]", "tools": "[{not json"}, R.MALFORMED_RECORD),
        ({"id": 1, "query": "q", "answers": "[]", "tools": '{"name": "f"}'}, R.MALFORMED_RECORD),
        ({"id": 1, "query": "q", "answers": "[{oops", "tools": "[]"}, R.UNPARSEABLE_CALL),
        ({"id": 1, "query": "q", "answers": '[{"arguments": {}}]', "tools": "[]"}, R.UNPARSEABLE_CALL),
        ({"id": 1, "query": "q", "answers": '[{"name": "f", "arguments": [1]}]', "tools": "[]"}, R.UNPARSEABLE_CALL),
    ],
)
def test_malformed(record, reason):
    out = convert_record(record, 0)
    assert isinstance(out, Rejected) and out.reason == reason
