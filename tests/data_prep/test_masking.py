"""Name masking (data_prep.augmentations.masking): Tool Zero's func_k/param_k and Hammer's random masking, on the
real corpus samples: consistent renaming (no original name left in tools, gold calls or history),
descriptions unchanged, valid rows with the golden property, deterministic for a seed."""

from __future__ import annotations

import json
import random
import re

import pytest

from data_prep.augmentations import masking
from data_prep.augmentations.masking import (
    HAMMER_ALPHABET,
    HAMMER_FUNCTION_LENGTH,
    HAMMER_PARAM_LENGTH,
    UnmaskableSample,
    apply_renaming,
    distinctive,
    hammer_renaming,
    tool_zero_renaming,
)
from data_prep.sample import Message, Sample
from data_prep.validate import validate
from toolzero_verl.core.calls import ToolCall

from .conftest import sample_golden_failures


def _maskable(samples):
    out = []
    for s in samples:
        try:
            tool_zero_renaming(s)
        except UnmaskableSample:
            continue
        out.append(s)
    return out


def _json_strings_and_keys(value, out):
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, list):
        for v in value:
            _json_strings_and_keys(v, out)
    elif isinstance(value, dict):
        for k, v in value.items():
            out.add(k)
            _json_strings_and_keys(v, out)
    return out


def _json_calls(value, out):
    """Every ``{"name", "arguments"}`` object inside a JSON tool result."""
    if isinstance(value, list):
        for v in value:
            _json_calls(v, out)
    elif isinstance(value, dict):
        if isinstance(value.get("name"), str) and isinstance(value.get("arguments"), dict):
            out.append(value)
        for v in value.values():
            _json_calls(v, out)
    return out


def leaks(original: Sample, masked: Sample) -> list[str]:
    """Original names left where the masked sample names functions or parameters: tools, gold calls,
    earlier calls, JSON tool results (strings, keys, echoed arguments), and - for names that cannot
    be ordinary words - any text of the conversation. Parameter names must be the masked tool's."""
    renamed = {t["name"] for t in original.tools} - {t["name"] for t in masked.tools}
    props = {t["name"]: set(t["parameters"]["properties"]) for t in masked.tools}
    found = [t["name"] for t in masked.tools if t["name"] in renamed]
    found += [r for t in masked.tools for r in t["parameters"]["required"] if r not in props[t["name"]]]
    history_calls = [c for m in masked.messages for c in m.calls]
    for c in list(masked.calls) + history_calls:
        found += [c.name] if c.name not in props else [k for k in c.arguments if k not in props[c.name]]
    for m in masked.messages:
        if m.role == "tool" and m.content.strip()[:1] in "[{":
            try:
                value = json.loads(m.content)
            except ValueError:
                value = None
            found += sorted(_json_strings_and_keys(value, set()) & renamed)
            for call in _json_calls(value, []):
                found += [k for k in call["arguments"] if k not in props.get(call["name"], ())]
        for name in renamed:
            if distinctive(name) and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", m.content):
                found.append(name)
    return found


def _descriptions(sample: Sample) -> list:
    return [
        (t["description"], [p.get("description") for p in t["parameters"]["properties"].values()]) for t in sample.tools
    ]


def test_tool_zero_masking_on_real_samples(real_samples):
    samples = _maskable(real_samples)
    assert len(samples) > 150
    for s in samples:
        m = apply_renaming(s, tool_zero_renaming(s))
        assert [t["name"] for t in m.tools] == [f"func_{i}" for i in range(1, len(s.tools) + 1)]
        for t in m.tools:
            assert list(t["parameters"]["properties"]) == [
                f"param_{j}" for j in range(1, len(t["parameters"]["properties"]) + 1)
            ]
        assert _descriptions(m) == _descriptions(s)  # descriptions stay
        # the gold calls keep their values and argument order, under the new names
        assert [list(c.arguments.values()) for c in m.calls] == [list(c.arguments.values()) for c in s.calls]
        for c_old, c_new in zip(s.calls, m.calls):
            tool_old = s.tools[s.tool_names.index(c_old.name)]
            tool_new = m.tools[m.tool_names.index(c_new.name)]
            assert tool_new["description"] == tool_old["description"]
            olds = list(tool_old["parameters"]["properties"])
            assert [f"param_{olds.index(k) + 1}" for k in c_old.arguments] == list(c_new.arguments)
        assert leaks(s, m) == [], (s.source, s.source_id)
        checked = validate(m)
        assert checked.rejected is None and checked.coerced == 0
        assert sample_golden_failures(m) == []


def test_history_and_tool_results_are_renamed(real_samples):
    """The exact ToolACE record: earlier calls and the JSON tool results name the new functions."""
    s = next(
        x
        for x in real_samples
        if x.source == "toolace" and x.source_id.startswith("0:") and any(m.role == "tool" for m in x.messages)
    )
    m = apply_renaming(s, tool_zero_renaming(s))
    history = [c.name for msg in m.messages for c in msg.calls]
    assert history and all(re.fullmatch(r"func_\d+", n) for n in history)
    results = [json.loads(msg.content) for msg in m.messages if msg.role == "tool"]
    assert results and all(r[0]["name"].startswith("func_") for r in results)
    assert "GetCompetitions" not in json.dumps([msg.content for msg in m.messages])
    # the user turns are untouched (no function name in them)
    assert [x.content for x in m.messages if x.role == "user"] == [x.content for x in s.messages if x.role == "user"]


def test_free_text_rules():
    tools = (
        {
            "name": "search",
            "description": "Search the web.",
            "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]},
        },
        {
            "name": "get_job_status",
            "description": "Status of a job.",
            "parameters": {"type": "object", "properties": {"job_id": {"type": "string"}}, "required": ["job_id"]},
        },
    )
    s = Sample(
        "toolace",
        "0:3",
        (
            Message("user", "Please search for the status of my job via get_job_status."),
            Message("assistant", 'Your request lacks the required "job_id" parameter; "search" cannot help either.'),
            Message("user", "It is J-77."),
        ),
        tools,
        (ToolCall("get_job_status", {"job_id": "J-77"}),),
    )
    m = apply_renaming(s, tool_zero_renaming(s))
    # a plain word is never rewritten; a distinctive name is; quoted names are
    assert m.messages[0].content == "Please search for the status of my job via func_2."
    assert m.messages[1].content == 'Your request lacks the required "param_1" parameter; "func_1" cannot help either.'
    assert m.calls == (ToolCall("func_2", {"param_1": "J-77"}),)


def test_renaming_is_one_pass():
    """Names that look like the new ones cannot be renamed twice (func_2 -> func_1 -> ...)."""
    tool = lambda n: {"name": n, "description": n, "parameters": {"type": "object", "properties": {}, "required": []}}  # noqa: E731
    s = Sample(
        "xlam",
        "1",
        (Message("user", "Call func_1 then func_2."),),
        (tool("func_2"), tool("func_1")),
        (ToolCall("func_1", {}), ToolCall("func_2", {})),
    )
    m = apply_renaming(s, tool_zero_renaming(s))
    assert m.messages[0].content == "Call func_2 then func_1."
    assert m.calls == (ToolCall("func_2", {}), ToolCall("func_1", {}))


def test_unknown_history_function_is_not_masked():
    tool = {"name": "f_one", "description": "", "parameters": {"type": "object", "properties": {}, "required": []}}
    s = Sample(
        "toolace",
        "0:2",
        (Message("user", "q"), Message("assistant", "", (ToolCall("other_tool", {}),)), Message("user", "again")),
        (tool,),
        (ToolCall("f_one", {}),),
    )
    with pytest.raises(UnmaskableSample, match=masking.HISTORY_UNKNOWN_FUNCTION):
        tool_zero_renaming(s)


def test_hammer_masking_on_real_samples(real_samples):
    samples = _maskable(real_samples)
    name_chars = set(HAMMER_ALPHABET)
    for i, s in enumerate(samples):
        r = hammer_renaming(s, random.Random(i))
        m = apply_renaming(s, r)
        for new in r.functions.values():
            assert set(new) <= name_chars and HAMMER_FUNCTION_LENGTH[0] <= len(new) <= HAMMER_FUNCTION_LENGTH[1]
        for mapping in r.params.values():
            assert all(HAMMER_PARAM_LENGTH[0] <= len(n) <= HAMMER_PARAM_LENGTH[1] for n in mapping.values())
        assert len(set(m.tool_names)) == len(m.tools)
        assert leaks(s, m) == [], (s.source, s.source_id)
        if not r.values:  # no default perturbed: descriptions stay
            assert _descriptions(m) == _descriptions(s)
        checked = validate(m)
        assert checked.rejected is None and checked.coerced == 0
        assert sample_golden_failures(m) == []


def test_hammer_masking_is_deterministic_and_partial(real_samples):
    s = next(x for x in _maskable(real_samples) if len(x.tools) >= 3)
    a = apply_renaming(s, hammer_renaming(s, random.Random(7)))
    b = apply_renaming(s, hammer_renaming(s, random.Random(7)))
    c = apply_renaming(s, hammer_renaming(s, random.Random(8)))
    assert a == b and a.tool_names != c.tool_names
    partial = [hammer_renaming(s, random.Random(k), fraction=0.5) for k in range(20)]
    kept = [sum(o == n for o, n in r.functions.items()) for r in partial]
    assert 0 < sum(kept) < 20 * len(s.tools)  # some names kept, some renamed


def test_hammer_default_perturbation():
    """A gold value equal to its default is replaced consistently (schema default, descriptions, gold,
    query), as Hammer does; a boolean default is left alone (Hammer's bool->float quirk is a type error)."""
    tool = {
        "name": "find_hotels",
        "description": "Hotels in a city (default Paris).",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City, default Paris.", "default": "Paris"},
                "rooms": {"type": "integer", "description": "Rooms.", "default": 1},
                "pets": {"type": "boolean", "description": "Pets allowed.", "default": False},
            },
            "required": [],
        },
    }
    s = Sample(
        "xlam",
        "5",
        (Message("user", "Find 1 room in paris without pets."),),
        (tool,),
        (ToolCall("find_hotels", {"city": "Paris", "rooms": 1, "pets": False}),),
    )
    r = hammer_renaming(s, random.Random(3))
    m = apply_renaming(s, r)
    new_city, new_rooms = r.values[("find_hotels", "city")][1], r.values[("find_hotels", "rooms")][1]
    assert ("find_hotels", "pets") not in r.values
    assert isinstance(new_rooms, int) and 2 <= new_rooms <= 5 and isinstance(new_city, str) and len(new_city) == 5
    props = m.tools[0]["parameters"]["properties"]
    by_old = {old: props[new] for old, new in r.params["find_hotels"].items()}
    assert by_old["city"]["default"] == new_city and by_old["rooms"]["default"] == new_rooms
    assert by_old["pets"]["default"] is False
    assert by_old["city"]["description"] == f"City, default {new_city}."
    assert m.tools[0]["description"] == f"Hotels in a city (default {new_city})."
    assert m.query == f"Find {new_rooms} room in {new_city.lower()} without pets."
    gold = {old: m.calls[0].arguments[new] for old, new in r.params["find_hotels"].items()}
    assert gold == {"city": new_city, "rooms": new_rooms, "pets": False}
    assert validate(m).rejected is None and sample_golden_failures(m) == []


def test_ambiguous_default_is_not_perturbed():
    """A default value that occurs twice in the query could not be rewritten consistently."""
    tool = {
        "name": "f_x",
        "description": "",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer", "default": 2}, "b": {"type": "integer"}},
            "required": ["b"],
        },
    }
    s = Sample(
        "xlam", "6", (Message("user", "Use 2 and then 2 again."),), (tool,), (ToolCall("f_x", {"a": 2, "b": 2}),)
    )
    assert hammer_renaming(s, random.Random(0)).values == {}
