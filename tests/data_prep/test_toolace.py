"""ToolACE converter (data_prep.corpora.toolace) on the exact real record and hand-written variants."""

from __future__ import annotations

import json

import pytest

from data_prep import reasons as R
from data_prep.corpora.toolace import convert_record, extract_tools, looks_like_calls
from data_prep.sample import Rejected, Sample

TOOLS = [
    {
        "name": "Market Trends API",
        "description": "",
        "parameters": {
            "type": "dict",
            "properties": {
                "trend_type": {"type": "string", "description": ""},
                "country": {"type": "string", "description": ""},
            },
            "required": ["trend_type"],
        },
        "required": None,
    },
    {
        "name": "flights/detail",
        "description": "",
        "parameters": {"type": "dict", "properties": {"id": {"type": "int", "description": ""}}, "required": ["id"]},
        "required": None,
    },
    {
        "name": "GameChallenge.startCompletionistRun",
        "description": "",
        "parameters": {"type": "dict", "properties": {}, "required": []},
        "required": None,
    },
]
SYSTEM = (
    "You are an expert in composing functions. ...\nHere is a list of functions in JSON format that you can invoke:\n"
    + json.dumps(TOOLS)
    + ". \nShould you decide to return the function call(s). \n"
    + "Put it in the format of [func1(params_name=params_value)]\n"
)


def record(*turns, system=SYSTEM):
    return {"system": system, "conversations": [{"from": f, "value": v} for f, v in turns]}


def test_exact_real_record(corpora):
    rec = json.loads((corpora / "toolace" / "toolace_sample.json").read_text())[0]
    n, out = convert_record(rec, 2)
    assert n == 5 and all(isinstance(s, Sample) for s in out)
    calls = [(s.source_id, [c.to_dict() for c in s.calls]) for s in out if s.calls]
    assert calls == [
        ("2:1", [{"name": "GetCompetitions", "arguments": {}}]),
        ("2:7", [{"name": "Get Manager Placeholder Image", "arguments": {"sport": "football"}}]),
    ]
    # context: every prior turn, including the tool result, verbatim
    second = out[3]
    assert [m.role for m in second.messages] == ["user", "assistant", "tool", "assistant", "user", "assistant", "user"]
    assert second.messages[2].content == rec["conversations"][2]["value"]
    assert second.messages[1].calls[0].name == "GetCompetitions"
    # text turns are no-call samples answered by the text
    assert out[1].calls == () and out[1].answer == rec["conversations"][3]["value"]
    assert {s.group_id for s in out} == {"toolace:2"}


def test_extract_tools_from_every_derived_system_prompt(corpora):
    derived = json.loads((corpora / "toolace" / "zaego123_sharegpt_func_fixed_DERIVED.json").read_text())
    counts = [len(extract_tools(r["system"])) for r in derived]  # trailing " \n" stripped in this copy
    assert len(counts) == 100 and sum(counts) == 446 and min(counts) >= 3


def test_names_with_spaces_slashes_dots_and_keywords():
    n, out = convert_record(
        record(
            ("user", "Trends in the US, and flight 42?"),
            (
                "assistant",
                '[Market Trends API(trend_type="MARKET_INDEXES", country="us"), flights/detail(id=42), '
                "GameChallenge.startCompletionistRun()]",
            ),
        ),
        0,
    )
    assert [c.to_dict() for c in out[0].calls] == [
        {"name": "Market Trends API", "arguments": {"trend_type": "MARKET_INDEXES", "country": "us"}},
        {"name": "flights/detail", "arguments": {"id": 42}},
        {"name": "GameChallenge.startCompletionistRun", "arguments": {}},
    ]


def test_commas_and_parens_inside_values_are_not_split():
    n, out = convert_record(
        record(("user", "q"), ("assistant", '[Market Trends API(trend_type="a, b (c)", country="x)y")]')), 0
    )
    assert out[0].calls[0].arguments == {"trend_type": "a, b (c)", "country": "x)y"}


@pytest.mark.parametrize(
    "rec, reason",
    [
        ("not a record", R.MALFORMED_RECORD),
        ({"system": SYSTEM}, R.MALFORMED_RECORD),
        ({"system": 3, "conversations": []}, R.MALFORMED_RECORD),
        (record(("user", "q"), ("assistant", "[Market Trends API()]"), system="no tools here"), R.TOOLS_UNPARSEABLE),
        (
            record(("user", "q"), ("assistant", "x"), system='invoke:\n[{"name": "t", "parameters": [1]}]'),
            R.TOOLS_UNPARSEABLE,
        ),
        (record(("user", "q"), ("robot", "x")), R.MALFORMED_RECORD),
        (record(("user", "q"), ("user", "again")), R.MALFORMED_RECORD),  # no assistant turn
        (record(("user", "q"), ("assistant", "[Market Trends API(trend_type=1+2)]")), R.UNPARSEABLE_CALL),
    ],
)
def test_record_level_rejections(rec, reason):
    n, out = convert_record(rec, 7)
    assert n == 1 and isinstance(out[0], Rejected) and out[0].reason == reason


def test_unparseable_turn_rejected_but_dialogue_continues():
    n, out = convert_record(
        record(
            ("user", "q"),
            ("assistant", "[Market Trends API(trend_type=lambda: 1)]"),
            ("user", "ok?"),
            ("assistant", "Sorry, could you repeat?"),
        ),
        0,
    )
    assert n == 2 and isinstance(out[0], Rejected) and out[0].reason == R.UNPARSEABLE_CALL
    assert isinstance(out[1], Sample) and out[1].messages[1].content.startswith("[Market")


def test_looks_like_calls():
    assert looks_like_calls(" [f(a=1)] ") and not looks_like_calls("[1, 2]") and not looks_like_calls("Sure (yes)")
