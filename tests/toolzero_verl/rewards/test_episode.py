"""The episode reward (``gg_grpo_episode``): its definition, its ranking invariants as hypothesis
properties over generated episodes and trajectories, and the real ToolACE dialogues."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolzero_verl import compute_score
from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.episode import RECORD_KEY, episode_dict, gold_turn, load_episode
from toolzero_verl.core.formats import FORMATS, get_format
from toolzero_verl.core.schedules import sigmoid
from toolzero_verl.rewards import get_reward
from toolzero_verl.rewards.episode import KEYS
from toolzero_verl.testing.budget import examples

STEPS = (0, 25, 1000)  # early (σ ≈ 0.08), the midpoint, late (σ ≈ 1)
BROKEN = {"answer": "<think>t</think><answer>[f(x=</answer>",
          "hermes": '<think>\nt\n</think>\n<tool_call>\n{"name": "f", "arguments": </tool_call>',
          "toolrl": '<think>t</think>\n<tool_call>\n{"name": \n</tool_call>'}


def score(episode, turns, fmt="hermes", step=25, split="train", record=None, **kw):
    record = {"turns": list(turns), **(record or {})}
    extra = {"split": split, "global_steps": step, RECORD_KEY: record}
    return compute_score("test", "", json.dumps(episode_dict(episode)), extra, reward="gg_grpo_episode",
                         output_format=fmt, **kw)


def render(fmt_name, calls=(), answer=None):
    return get_format(fmt_name).render(tuple(calls), answer, think="t")


def gold_turns(ep, fmt_name):
    return [gold_turn(ep, p, get_format(fmt_name), think="t") for p in ep.points]


# --- generated episodes -----------------------------------------------------------------------------

TYPES = {"string": st.text(alphabet="abcdefghij", min_size=1, max_size=6), "integer": st.integers(-50, 50),
         "boolean": st.booleans()}


@st.composite
def tools(draw):
    n = draw(st.integers(2, 3))
    out = []
    for i in range(n):
        params = {f"p{j}": {"type": draw(st.sampled_from(sorted(TYPES)))} for j in range(draw(st.integers(1, 3)))}
        out.append({"name": f"tool_{i}", "parameters": {"type": "object", "properties": params,
                                                          "required": sorted(params)}})
    return out


@st.composite
def call_for(draw, tool):
    props = tool["parameters"]["properties"]
    return ToolCall(tool["name"], {k: draw(TYPES[v["type"]]) for k, v in props.items()})


@st.composite
def episodes(draw):
    offered = draw(tools())
    segments = []
    for s in range(draw(st.integers(1, 2))):
        steps = []
        for _ in range(draw(st.integers(0, 2))):
            calls = [draw(call_for(draw(st.sampled_from(offered)))) for _ in range(draw(st.integers(1, 2)))]
            steps.append({"calls": [c.to_dict() for c in calls], "results": ['{"ok": 1}'] * len(calls)})
        answer = draw(st.one_of(st.none(), st.sampled_from(["It is done.", "The weather is fine today."])))
        segments.append({"user": None if s == 0 else f"request {s}", "steps": steps, "answer": answer})
    return load_episode({"episode": {"segments": segments}, "tools": offered})


def call_turn_indices(ep):
    return [i for i, p in enumerate(ep.points) if ep.reference(p).calls]


def final_turn_indices(ep):
    return [i for i, p in enumerate(ep.points) if not ep.reference(p).calls]


def valid_call(tool: dict) -> ToolCall:
    """A call that fits the tool's schema."""
    sample = {"integer": 1, "boolean": True, "string": "a"}
    return ToolCall(tool["name"], {k: sample[v["type"]] for k, v in tool["parameters"]["properties"].items()})


def near_miss(call: ToolCall) -> ToolCall:
    """One value changed, same type."""
    key = sorted(call.arguments)[0]
    value = call.arguments[key]
    if isinstance(value, bool):
        new = not value
    elif isinstance(value, int):
        new = value + 1
    else:
        new = value + "x"
    return ToolCall(call.name, {**call.arguments, key: new})


PROPERTY = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(episodes(), st.sampled_from(sorted(FORMATS)), st.sampled_from(STEPS))
def test_the_gold_trajectory_is_exact_and_beats_every_edit(ep, fmt, step):
    gold = gold_turns(ep, fmt)
    best = score(ep, gold, fmt, step)
    assert best["ast"] == 1.0 and best["turn_ast"] == 1.0 and best["n_missed"] == 0 and best["format"] == 1.0
    edits = {"truncated": gold[:-1], "extra turn": gold + [gold[-1]], "silent end": gold[:-1] + [""]}
    for i in call_turn_indices(ep):
        calls = ep.reference(ep.points[i]).calls
        edits[f"near miss at {i}"] = gold[:i] + [render(fmt, [near_miss(calls[0]), *calls[1:]])] + gold[i + 1:]
        edits[f"broken at {i}"] = gold[:i] + [BROKEN[fmt]] + gold[i + 1:]
        edits[f"answered early at {i}"] = gold[:i] + [render(fmt, (), "I cannot tell.")] + gold[i + 1:]
        edits[f"repeated call at {i}"] = gold[: i + 1] + [gold[i]] + gold[i + 1:]
    for i in final_turn_indices(ep):
        some = valid_call(ep.tools[0])
        edits[f"call at final {i}"] = gold[:i] + [render(fmt, [some])] + gold[i + 1:]
        edits[f"broken at final {i}"] = gold[:i] + [BROKEN[fmt]] + gold[i + 1:]
    for name, turns in edits.items():
        if turns == gold:
            continue
        got = score(ep, turns, fmt, step)
        assert got["score"] < best["score"], (name, got, best)
        assert got["ast"] == 0.0, name


@PROPERTY
@given(episodes(), st.sampled_from(sorted(FORMATS)), st.sampled_from(STEPS))
def test_more_of_the_episode_done_right_scores_higher(ep, fmt, step):
    """Prefixes of the gold trajectory (the policy stopped early, e.g. out of tokens) rank by length."""
    gold = gold_turns(ep, fmt)
    scores = [score(ep, gold[:k], fmt, step)["score"] for k in range(1, len(gold) + 1)]
    assert all(a < b for a, b in zip(scores, scores[1:])), scores


@PROPERTY
@given(episodes(), st.sampled_from(sorted(FORMATS)))
def test_where_strict_decides_near_miss_ge_wrong_function_ge_broken(ep, fmt):
    """Late in training (and on validation rows), one turn changed: a near miss ≥ a valid call of the wrong
    function ≥ broken syntax; and at a final answer, answering > any call > broken syntax."""
    gold = gold_turns(ep, fmt)
    for i in call_turn_indices(ep):
        calls = ep.reference(ep.points[i]).calls
        wrong = valid_call(next(t for t in ep.tools if t["name"] != calls[0].name))
        variants = [render(fmt, [near_miss(calls[0]), *calls[1:]]), render(fmt, [wrong, *calls[1:]]), BROKEN[fmt]]
        s = [score(ep, gold[:i] + [v] + gold[i + 1:], fmt, split="test")["score"] for v in variants]
        assert s[0] >= s[1] > s[2], (i, s)
    for i in final_turn_indices(ep):
        variants = [render(fmt, (), "Here you go."), render(fmt, [valid_call(ep.tools[0])]), BROKEN[fmt]]
        for step in STEPS:
            s = [score(ep, gold[:i] + [v] + gold[i + 1:], fmt, step)["score"] for v in variants]
            assert s[0] > s[1] > s[2], (i, step, s)


# --- definition ---------------------------------------------------------------------------------------

TOOL = {"name": "w", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
EP = load_episode({"episode": {"segments": [
    {"user": None, "steps": [{"calls": [{"name": "w", "arguments": {"city": "Paris"}}], "results": ['{"t": 21}']}],
     "answer": "It is 21 degrees in Paris."}]}, "tools": [TOOL]})
CALL = render("hermes", [ToolCall("w", {"city": "Paris"})])


def test_components_follow_the_definition():
    r = score(EP, [CALL, render("hermes", (), "It is 21 degrees in Paris.")], step=25)
    sigma = sigmoid(25, 0.1, 25)
    assert set(r) == set(KEYS) and get_reward("gg_grpo_episode").keys == KEYS
    assert r["sigma"] == pytest.approx(sigma) and r["step"] == 25
    assert r["strict"] == 1.0 and r["general"] == pytest.approx(0.5) and r["format"] == 1.0
    assert r["score"] == pytest.approx(1 + sigma + (1 - sigma) * 0.5)
    assert (r["n_turns"], r["n_points"], r["n_missed"], r["n_pred_calls"], r["n_gt_calls"]) == (2, 2, 0, 1, 1)
    # an early answer: the call point gets the early text (strict 0, general −0.5 + recall), the final is missed
    early = score(EP, [render("hermes", (), "Paris")], step=25)
    assert early["n_missed"] == 1 and early["turn_ast"] == 0 and early["strict"] == 0.0
    # T(Y*) of the hermes reference body {"name": "w", "arguments": {"city": "Paris"}}: 5 tokens, "Paris" is 1
    assert early["general"] == pytest.approx(((-0.5 + 1 / 5) + -0.5) / 2)


def test_validation_rows_use_sigma_one_and_skip_the_generic_term():
    r = score(EP, [CALL, "It is 21 degrees."], split="test")
    assert r["sigma"] == 1.0 and r["general"] == 0.0 and r["score"] == pytest.approx(2.0)


def test_a_missing_record_scores_the_whole_response_as_one_turn():
    text = render("hermes", (), "No.")
    r = compute_score("t", text, json.dumps(episode_dict(EP)), {"split": "test"}, reward="gg_grpo_episode",
                      output_format="hermes")
    assert r["n_turns"] == 1 and r["n_missed"] == 1 and r["tool_calls"] == -1.0 and r["truncated"] == 0.0


def test_the_loop_record_counts_are_components():
    r = score(EP, [CALL, "It is 21."], record={"calls": 3, "errors": 1, "tool_turns": 2, "user_turns": 0,
                                                "stop": "turn_limit"})
    assert (r["tool_calls"], r["tool_errors"], r["tool_turns"], r["user_turns"], r["truncated"]) == (3, 1, 2, 0, 1)


def test_invalid_calls_pay_the_penalty_valid_wrong_values_do_not():
    wrong_value = score(EP, [render("hermes", [ToolCall("w", {"city": "Rome"})])], split="test")
    unknown = score(EP, [render("hermes", [ToolCall("v", {"city": "Rome"})])], split="test")
    missing = score(EP, [render("hermes", [ToolCall("w", {})])], split="test")
    assert wrong_value["invalid"] == 0.0 and unknown["invalid"] > 0 and missing["invalid"] > 0
    assert wrong_value["score"] > unknown["score"] == pytest.approx(missing["score"])


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.text(max_size=200),
                          st.sampled_from([CALL, BROKEN["hermes"], "<tool_call>", "", "</think>"])), max_size=10),
       st.sampled_from(sorted(FORMATS)), st.sampled_from(STEPS))
def test_hostile_trajectories_get_finite_scores_with_the_fixed_keys(turns, fmt, step):
    r = score(EP, turns, fmt, step)
    assert set(r) == set(KEYS) and all(isinstance(v, float) and math.isfinite(v) for v in r.values())
    best = score(EP, gold_turns(EP, fmt), fmt, step)["score"]
    assert r["score"] <= best + 1e-9


@given(st.one_of(st.none(), st.integers(), st.text(), st.lists(st.integers(), max_size=3),
                 st.dictionaries(st.text(max_size=5), st.integers(), max_size=3)))
def test_a_malformed_record_never_raises(record):
    extra = {"split": "test", RECORD_KEY: record}
    r = compute_score("t", "x", json.dumps(episode_dict(EP)), extra, reward="gg_grpo_episode", output_format="hermes")
    assert set(r) == set(KEYS)


def test_too_many_turns_are_failed_units_without_parsing():
    r = score(EP, [CALL] * 10, split="test", max_scored_turns=4)
    assert r["n_turns"] == 10 and r["invalid"] >= 0.5 and r["ast"] == 0.0


def test_a_single_turn_ground_truth_is_refused_loudly():
    with pytest.raises(ValueError, match="'episode' object"):
        compute_score("t", "x", '{"calls": []}', {"split": "test"}, reward="gg_grpo_episode")


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_real_toolace_episodes_gold_scores_the_maximum(toolace_episode_rows, fmt):
    """On every real dialogue: the gold trajectory is exact, and dropping its last turn or breaking its
    first call costs score at every step."""
    for row in toolace_episode_rows(fmt):
        ep = load_episode(row["reward_model"]["ground_truth"])
        gold = gold_turns(ep, fmt)
        for step in STEPS:
            best = score(ep, gold, fmt, step)
            assert best["ast"] == 1.0 and best["n_missed"] == 0, row["extra_info"]["source_id"]
            assert score(ep, gold[:-1], fmt, step)["score"] < best["score"]
            first_call = call_turn_indices(ep)[0] if call_turn_indices(ep) else 0
            broken = gold[:first_call] + [BROKEN[fmt]] + gold[first_call + 1:]
            assert score(ep, broken, fmt, step)["score"] < best["score"]
