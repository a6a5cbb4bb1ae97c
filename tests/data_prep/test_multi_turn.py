"""The four multi-turn augmentations (data_prep.augmentations.multi_turn) on the real corpus samples and the bundled
examples: valid samples with the golden property, and each does what it claims (the clarification
turn really lacks the value, the correction target is exactly what the history got wrong, ...)."""

from __future__ import annotations

import json
import random
import re
from collections import Counter

from data_prep.augmentations import multi_turn as A
from data_prep.augmentations.irrelevance import answers_by_name
from data_prep.corpora.xlam import NO_CALL_ANSWER
from data_prep.sample import Message, Sample
from data_prep.validate import validate
from toolzero_verl.core.calls import ToolCall, call_key

from .conftest import sample_golden_failures


def _ok(sample: Sample) -> None:
    checked = validate(sample)
    assert checked.rejected is None and checked.coerced == 0, checked.rejected
    assert sample_golden_failures(sample) == [], sample.source_id


def _value_in(text: str, value: str) -> bool:
    return value.lower() in text.lower()


def test_clarify_real_samples(real_samples):
    made = Counter()
    for i, s in enumerate(real_samples):
        out = A.clarify(s, random.Random(i))
        if isinstance(out, str):
            continue
        ask, follow = out
        made[s.source] += 1
        # the asking turn: same history, the request without the value, a no-call reference asking for it
        param = re.search(r'parameter "([^"]+)"', ask.answer).group(1)
        value = follow.query
        text = lambda v: v if isinstance(v, str) else json.dumps(v)  # noqa: E731
        call = next(c for c in s.calls if param in c.arguments and text(c.arguments[param]) == value)
        assert param in s.tools[s.tool_names.index(call.name)]["parameters"]["required"]
        assert _value_in(s.query, value) and not any(_value_in(m.content, value) for m in ask.messages)
        assert ask.messages[:-1] == s.messages[:-1] and ask.calls == () and ask.tools == s.tools
        # the follow-up: the user gives the value, the original calls are the target
        assert follow.messages[:-1] == ask.messages + (Message("assistant", ask.answer),)
        assert follow.calls == s.calls and follow.answer is None
        for x in out:
            _ok(x)
    assert sum(made.values()) >= 15 and len(made) >= 3, made


def test_cut_value_only_when_clean():
    assert A.cut_value("What airport has the IATA code NRT?", "NRT") == "What airport has the IATA code?"
    assert A.cut_value("Integrate x**2 from 0 to 3.", "0") == "Integrate x**2 to 3."
    assert A.cut_value("Route from 37.77, -122.41 to 34.05, -118.24?", "34.05") is None  # one number of a list
    assert A.cut_value("Is NRT or nrt better?", "NRT") is None  # not a single occurrence
    assert A.cut_value("Weather in Paris?", "Paris") is None  # nothing left to ask about
    assert A.cut_value("Get the Parisian weather.", "Paris") is None  # not a whole token


def test_concat_related_samples(example_samples, real_samples):
    pool = [s for s in example_samples + real_samples if A.concat_eligible(s) is None]
    by_tool: dict[str, list[int]] = {}
    for i, s in enumerate(pool):
        for name in s.tool_names:
            by_tool.setdefault(name, []).append(i)
    made = 0
    for i, a in enumerate(pool):
        b = A.pick_partner(a, pool, by_tool, random.Random(i))
        if b is None:
            continue
        made += 1
        d = A.concat(a, b)
        assert [m.role for m in d.messages] == ["user", "assistant", "tool", "user"]
        assert d.messages[0] == a.messages[0] and d.messages[1].calls == a.calls and d.messages[3] == b.messages[0]
        assert [e["name"] for e in json.loads(d.messages[2].content)] == [c.name for c in a.calls]
        assert d.calls == b.calls and d.source == a.source == b.source
        # related: a shared tool with the same schema, and the union has one tool per name
        assert set(a.tool_names) & set(b.tool_names)
        assert len(set(d.tool_names)) == len(d.tools) and set(d.tool_names) == set(a.tool_names) | set(b.tool_names)
        _ok(d)
    assert made >= 5


def test_concat_refuses_name_clash():
    t1 = {"name": "f", "description": "one", "parameters": {"type": "object", "properties": {}, "required": []}}
    t2 = dict(t1, description="another f")
    g = {"name": "g", "description": "", "parameters": {"type": "object", "properties": {}, "required": []}}
    a = Sample("xlam", "1", (Message("user", "first"),), (t1, g), (ToolCall("g", {}),))
    b = Sample("xlam", "2", (Message("user", "second"),), (t2, g), (ToolCall("g", {}),))
    assert not A.related(a, b) and A.related(a, Sample("xlam", "3", (Message("user", "third"),), (t1,), ()))
    assert not A.related(a, Sample("toolace", "3", (Message("user", "third"),), (t1,), ()))  # other corpus


def test_reintroduce_real_samples(real_samples):
    made = 0
    for s in real_samples:
        out = A.reintroduce(s)
        if isinstance(out, str):
            continue
        made += 1
        first, second = out
        gold = {c.name for c in s.calls}
        assert first.calls == () and first.answer == NO_CALL_ANSWER and first.messages == s.messages
        assert not gold & set(first.tool_names) and not any(answers_by_name(t, gold) for t in first.tool_names)
        assert second.tools == s.tools and second.calls == s.calls
        assert second.messages[: len(s.messages)] == s.messages
        assert second.messages[len(s.messages)] == Message("assistant", NO_CALL_ANSWER)
        note = second.messages[-1]
        assert note.role == "user" and all(f'"{n}"' in note.content for n in gold)
        _ok(first)
        _ok(second)
    assert made >= 30


def test_correct_real_samples(real_samples):
    kinds = Counter()
    for i, s in enumerate(real_samples):
        out = A.correct(s, random.Random(i))
        if isinstance(out, str):
            assert out in (A.NO_CALLS, A.NOT_AFTER_USER, A.NOTHING_TO_PERTURB)
            continue
        kind = out.source_id.rsplit(":", 1)[1]
        kinds[kind] += 1
        made = out.messages[-2].calls
        results = json.loads(out.messages[-1].content)
        assert out.messages[:-2] == s.messages and out.messages[-1].role == "tool"
        assert [(r["name"], r["arguments"]) for r in results] == [
            (c.name, json.loads(json.dumps(c.arguments))) for c in made
        ]
        # the target is exactly the gold calls the history lacks or got wrong
        assert Counter(call_key(c) for c in s.calls) - Counter(call_key(c) for c in made) == Counter(
            call_key(c) for c in out.calls
        )
        assert len(out.calls) == 1
        if kind == "call":
            assert len(made) == len(s.calls) - 1
        else:
            (wrong,) = [c for c in made if call_key(c) not in {call_key(g) for g in s.calls}]
            right = out.calls[0]
            assert wrong.name == right.name
            if kind == "parameter":
                assert len(right.arguments) - len(wrong.arguments) == 1 and set(wrong.arguments) < set(right.arguments)
                missing = (set(right.arguments) - set(wrong.arguments)).pop()
                required = s.tools[s.tool_names.index(right.name)]["parameters"]["required"]
                assert ("error" in results[made.index(wrong)]) == (missing in required)
            else:
                assert set(wrong.arguments) == set(right.arguments)
                assert sum(wrong.arguments[k] != right.arguments[k] for k in right.arguments) == 1
        _ok(out)
    assert set(kinds) == {"call", "parameter", "value"}, kinds


def test_augmentations_are_deterministic(real_samples):
    for i, s in enumerate(real_samples[:120]):
        assert A.clarify(s, random.Random(i)) == A.clarify(s, random.Random(i))
        assert A.correct(s, random.Random(i)) == A.correct(s, random.Random(i))
