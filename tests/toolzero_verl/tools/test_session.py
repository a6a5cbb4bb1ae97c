"""The episode session (the agent loop's state machine, verl-free): transitions, limits, hostile turns,
and full episodes of the real ToolACE dialogues driven by their gold turns in every output format."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.episode import gold_turn, load_episode
from toolzero_verl.core.formats import FORMATS, get_format
from toolzero_verl.testing.budget import examples
from toolzero_verl.tools import Executor
from toolzero_verl.tools.session import (
    ANSWERED,
    TURN_LIMIT,
    AgentLoopOptions,
    EpisodeSession,
    SessionLimits,
    truncate,
)

TOOL = {"name": "w", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
EPISODE = load_episode({"episode": {"segments": [
    {"user": None, "steps": [{"calls": [{"name": "w", "arguments": {"city": "Paris"}}],
                              "results": ['{"name": "w", "results": {"temp": 21}}']}], "answer": "21 degrees."},
    {"user": "And tomorrow?", "steps": [], "answer": "Sunny."}]}, "tools": [TOOL]})
H = get_format("hermes")
CALL_PARIS = H.render([ToolCall("w", {"city": "Paris"})], think="")


def roles(messages):
    return [m["role"] for m in messages]


def test_transitions_call_answer_next_request_end():
    s = EpisodeSession(EPISODE, "hermes")
    tool = s.respond(CALL_PARIS)
    assert roles(tool) == ["tool"] and json.loads(tool[0]["content"]) == [{"name": "w", "results": {"temp": 21}}]
    assert s.respond("It is 21 degrees.") == [{"role": "user", "content": "And tomorrow?"}]
    assert not s.done and s.segment == 1
    assert s.respond("Sunny.") == [] and s.done and s.stop == ANSWERED
    assert s.respond("more?") == [] and len(s.turns) == 3  # nothing after the end
    assert s.record() == {"turns": [CALL_PARIS, "It is 21 degrees.", "Sunny."], "calls": 1, "errors": 0,
                          "tool_turns": 1, "user_turns": 1, "stop": ANSWERED}


@pytest.mark.parametrize("turn, error", [
    ('<tool_call>{"name": "w", "arguments": {"city": </tool_call>', "bad_tool_call_json"),  # bad JSON
    ('<tool_call>["not", "a call"]</tool_call>', "bad_tool_call_json"),
    ("<tool_call>" + "x" * 40000, "too long"),
])
def test_unreadable_calls_get_an_error_turn_and_the_episode_goes_on(turn, error):
    s = EpisodeSession(EPISODE, "hermes")
    out = s.respond(turn)
    (entry,) = json.loads(out[0]["content"])
    assert roles(out) == ["tool"] and entry["error"].startswith("bad_call_syntax") and error in entry["error"]
    assert not s.done and s.errors == 1 and s.calls == 0
    assert roles(s.respond(CALL_PARIS)) == ["tool"] and s.errors == 1  # the retry runs


def test_errors_per_call_in_one_turn():
    s = EpisodeSession(EPISODE, "hermes", SessionLimits(max_calls_per_turn=2, max_argument_chars=40))
    calls = [ToolCall("w", {"city": "Paris"}), ToolCall("w", {"city": "Paris", "town": "x"}),
             ToolCall("w", {"city": "x" * 50})]
    entries = json.loads(s.respond(H.render(calls))[0]["content"])
    assert entries[0] == {"name": "w", "results": {"temp": 21}}
    assert "unexpected parameter 'town'" in entries[1]["error"]
    assert "only 2 call(s) per turn" in entries[2]["error"]
    assert (s.calls, s.errors, s.tool_turns) == (3, 2, 1)
    s2 = EpisodeSession(EPISODE, "hermes", SessionLimits(max_argument_chars=40))
    (big,) = json.loads(s2.respond(H.render(calls[2:]))[0]["content"])
    assert "longer than 40 characters" in big["error"]


def test_turn_limit_ends_the_episode():
    s = EpisodeSession(EPISODE, "hermes", SessionLimits(max_turns=2))
    assert s.respond('<tool_call>{"name": "w", "arguments": {"city": "Rome"}}</tool_call>')
    assert s.respond(CALL_PARIS) == [] and s.stop == TURN_LIMIT and len(s.turns) == 2
    # the last allowed turn's call is not run: no turn could read its result
    assert (s.calls, s.tool_turns) == (1, 1)


def test_a_last_allowed_turn_that_answers_the_last_request_ends_answered():
    s = EpisodeSession(EPISODE, "hermes", SessionLimits(max_turns=3))
    assert s.respond(CALL_PARIS) and s.respond("21 degrees.")
    assert s.respond("Sunny.") == [] and s.stop == ANSWERED
    s = EpisodeSession(EPISODE, "hermes", SessionLimits(max_turns=2))
    assert s.respond(CALL_PARIS)
    assert s.respond("21 degrees.") == [] and s.stop == TURN_LIMIT and s.user_turns == 0  # a request was left


def test_results_are_cut_to_the_limit():
    ep = load_episode({"episode": {"segments": [{"user": None, "steps": [{"calls": [{"name": "w", "arguments": {
        "city": "Paris"}}], "results": ['{"name": "w", "results": "' + "x" * 500 + '"}']}]}]}, "tools": [TOOL]})
    content = EpisodeSession(ep, "hermes", SessionLimits(max_result_chars=100)).respond(CALL_PARIS)[0]["content"]
    assert len(content) < 140 and "...(truncated)..." in content
    assert truncate("abcdef", 4, "left") == "...(truncated)...cdef"
    assert truncate("abcdef", 4, "right") == "abcd...(truncated)..."


class _Plain(Executor):
    def execute(self, call):
        return "plain text result"


def test_a_non_json_result_is_wrapped_as_a_result_entry():
    s = EpisodeSession(EPISODE, "hermes", executor=_Plain(EPISODE))
    assert json.loads(s.respond(CALL_PARIS)[0]["content"]) == [{"name": "w", "results": "plain text result"}]


def test_agent_loop_options_are_checked():
    assert AgentLoopOptions.from_mapping({"call_timeout_s": "2.5"}).call_timeout_s == 2.5
    with pytest.raises(ValueError, match="unknown option"):
        AgentLoopOptions.from_mapping({"timeout": 3})
    with pytest.raises(ValueError, match="above 0"):
        AgentLoopOptions(call_timeout_s=0)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(max_size=300), st.sampled_from([
    CALL_PARIS, "<tool_call>", "</tool_call>", '<tool_call>{"name": "w", "arguments": []}</tool_call>',
    '<tool_call>{"name": 1}</tool_call>', "<think>", "[w(city='Paris')]", "<answer>[w(city=)]</answer>"])),
    min_size=1, max_size=8), st.sampled_from(sorted(FORMATS)))
def test_hostile_turns_never_raise_and_keep_the_state_consistent(turns, fmt):
    s = EpisodeSession(EPISODE, fmt, SessionLimits(max_turns=6))
    for text in turns:
        out = s.respond(text)
        assert all(m["role"] in ("tool", "user") and isinstance(m["content"], str) for m in out)
        assert (out == []) == s.done
        if s.done:
            break
    rec = s.record()
    # every turn but the last (which may end the episode) was answered by a tool or a user turn
    assert rec["tool_turns"] + rec["user_turns"] >= len(rec["turns"]) - 1 and len(rec["turns"]) <= 6
    assert rec["errors"] <= rec["calls"] + rec["tool_turns"]
    json.dumps(rec)


@pytest.mark.parametrize("fmt_name", sorted(FORMATS))
def test_real_toolace_episodes_run_to_the_end_on_their_gold_turns(toolace_episode_rows, fmt_name):
    """Driven by the gold turns, every real dialogue runs: one tool turn per call step holding exactly the
    recorded results, each later request replayed, and the episode ends answered, without errors."""
    fmt = get_format(fmt_name)
    for row in toolace_episode_rows(fmt_name):
        ep = load_episode(row["reward_model"]["ground_truth"])
        s = EpisodeSession(ep, row["extra_info"]["output_format"])
        for point in ep.points:
            ref = ep.reference(point)
            out = s.respond(gold_turn(ep, point, fmt, think="t"))
            seg = ep.segments[point.segment]
            if ref.calls:
                results = seg.steps[point.step].results
                expected = [json.loads(r) if r is not None else {"name": c.name, "arguments": c.arguments,
                                                                 "results": {"status": "success"}}
                            for c, r in zip(ref.calls, results)]
                assert roles(out) == ["tool"] and json.loads(out[0]["content"]) == expected
            elif point.segment + 1 < len(ep.segments):
                assert out == [{"role": "user", "content": ep.segments[point.segment + 1].user}]
            else:
                assert out == [] and s.stop == ANSWERED
        rec = s.record()
        assert rec["errors"] == 0 and rec["calls"] == ep.n_gold_calls and rec["user_turns"] == len(ep.segments) - 1
