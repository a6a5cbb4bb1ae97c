"""The episode ground truth: loading (strict: a bad one is a data bug), points, and the alignment of turns
with points that the agent loop and the episode reward share; on the real ToolACE dialogues."""

from __future__ import annotations

import json

import pytest

from toolzero_verl.core.episode import (
    FINAL,
    Point,
    align,
    ends_segment,
    episode_dict,
    gold_turn,
    is_episode,
    load_episode,
)
from toolzero_verl.core.formats import FORMATS, get_format

TOOL = {"name": "w", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


def episode(*segments, tools=(TOOL,)):
    return {"episode": {"segments": list(segments)}, "tools": list(tools)}


def step(*cities):
    return {"calls": [{"name": "w", "arguments": {"city": c}} for c in cities],
            "results": [f'{{"t": "{c}"}}' for c in cities]}


TWO_REQUESTS = episode({"user": None, "steps": [step("Paris"), step("Rome")], "answer": "21 and 25"},
                       {"user": "And Oslo?", "steps": [step("Oslo")], "answer": None})


def gold_turns(ep, fmt, think="t"):
    """The gold trajectory: each point's reference rendered in the format."""
    return [gold_turn(ep, p, fmt, think=think) for p in ep.points]


def test_points_and_references():
    ep = load_episode(TWO_REQUESTS)
    assert ep.points == (Point(0, 0), Point(0, 1), Point(0, FINAL), Point(1, 0), Point(1, FINAL))
    assert [str(p) for p in ep.points] == ["1.1", "1.2", "1.final", "2.1", "2.final"]
    assert ep.reference(Point(0, 1)).calls[0].arguments == {"city": "Rome"}
    assert ep.reference(Point(0, 1)).possible_answers == ({"w": {"city": ["Rome"]}},)
    assert ep.reference(Point(0, FINAL)).calls == () and ep.reference(Point(0, FINAL)).answer == "21 and 25"
    assert ep.n_gold_calls == 3 and ep.executor == "replay"
    assert [r for _, r in ep.recorded] == ['{"t": "Paris"}', '{"t": "Rome"}', '{"t": "Oslo"}']


def test_json_round_trip_and_detection():
    ep = load_episode(TWO_REQUESTS)
    text = json.dumps(episode_dict(ep))
    assert load_episode(text) == ep and is_episode(text) and is_episode(TWO_REQUESTS)
    assert not is_episode('{"calls": []}') and not is_episode({"calls": []})
    assert load_episode(text) is load_episode(text)  # cached: GRPO scores each row n times


@pytest.mark.parametrize("bad, message", [
    ({"calls": []}, "needs an 'episode' object"),
    (episode(), "non-empty list"),
    (episode({"user": "hi", "steps": []}), "'user' must be null"),
    (episode({"user": None, "steps": []}, {"user": None, "steps": []}), "text of the replayed user turn"),
    (episode({"user": None, "steps": [{"calls": []}]}), "non-empty 'calls'"),
    (episode({"user": None, "steps": [{"calls": [{"name": "w", "arguments": {}}], "results": []}]}), "one string"),
    (episode({"user": None, "steps": [{"calls": [{"arguments": {}}]}]}), "a call is invalid"),
    (episode({"user": None, "steps": [], "answer": 3}), "'answer' must be a string"),
    ({"episode": {"segments": [{"user": None}]}, "tools": [{"no": "name"}]}, "string 'name'"),
    ("[1, 2]", "must be a JSON object"),
    ("{not json", "not valid JSON"),
])
def test_malformed_episodes_raise_value_error_naming_the_problem(bad, message):
    with pytest.raises(ValueError, match=message):
        load_episode(bad if isinstance(bad, str) else json.dumps(bad))


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
def test_the_gold_trajectory_is_exact_at_every_point(fmt_name):
    fmt = get_format(fmt_name)
    ep = load_episode(TWO_REQUESTS)
    a = align(ep, [fmt.parse(t) for t in gold_turns(ep, fmt)])
    assert a.points == ep.points and all(a.exact) and a.missed == ()


def test_a_wrong_call_stays_at_its_point_and_a_retry_moves_on():
    fmt = get_format("hermes")
    ep = load_episode(TWO_REQUESTS)
    gold = gold_turns(ep, fmt)
    wrong = fmt.render([load_episode(episode({"user": None, "steps": [step("Lyon")]})).recorded[0][0]])
    a = align(ep, [fmt.parse(t) for t in [wrong] + gold])
    assert a.points[:2] == (Point(0, 0), Point(0, 0)) and a.exact[:2] == (False, True)
    assert a.missed == () and all(a.exact[1:])


def test_an_early_answer_ends_the_request_and_misses_its_steps():
    fmt = get_format("answer")
    ep = load_episode(TWO_REQUESTS)
    turns = [fmt.render((), "I do not know.")] + gold_turns(ep, fmt)[3:]
    a = align(ep, [fmt.parse(t) for t in turns])
    assert a.points == (Point(0, 0), Point(1, 0), Point(1, FINAL))
    assert a.exact == (False, True, True)
    assert a.missed == (Point(0, 1), Point(0, FINAL))


def test_broken_syntax_is_never_an_answer_and_does_not_end_the_request():
    fmt = get_format("hermes")
    ep = load_episode(episode({"user": None, "steps": [], "answer": None}))
    broken = fmt.parse('<tool_call>{"name": "w", "arguments": </tool_call>')
    assert not broken.parse_ok and not ends_segment(broken)
    a = align(ep, [broken])
    assert a.exact == (False,) and a.points == (Point(0, FINAL),)
    silent = fmt.parse("")  # no text at all: no call, but no answer either
    assert ends_segment(silent) and align(ep, [silent]).exact == (False,)


def test_turns_after_the_end_are_wrong():
    fmt = get_format("hermes")
    ep = load_episode(episode({"user": None, "steps": [], "answer": None}))
    a = align(ep, [fmt.parse("Done."), fmt.parse("Done again.")])
    assert a.exact == (True, False) and a.points == (Point(0, FINAL), Point(0, FINAL))


def test_real_toolace_episodes_gold_trajectories_align_exactly(toolace_episode_rows):
    rows = toolace_episode_rows("hermes")
    assert len(rows) >= 90
    fmt = get_format("hermes")
    multi = 0
    for row in rows:
        ep = load_episode(row["reward_model"]["ground_truth"])
        multi += len(ep.segments) > 1
        a = align(ep, [fmt.parse(t) for t in gold_turns(ep, fmt)])
        assert all(a.exact) and a.missed == (), row["extra_info"]["source_id"]
    assert multi == len(rows)  # every shared dialogue has several user requests
