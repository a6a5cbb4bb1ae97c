"""compute_score on hostile model output: always a score, never an exception, nothing executed."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolzero_verl import compute_score
from toolzero_verl.core.formats import FORMATS
from toolzero_verl.rewards import get_reward

GT = json.dumps({"calls": [{"name": "run", "arguments": {"cmd": "ls", "n": 2}},
                           {"name": "Get Image", "arguments": {"sport": "x"}}],
                 "tools": [{"name": "run", "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}, "n": {"type": "integer"}}, "required": ["cmd"]}},
                           {"name": "Get Image", "parameters": {"type": "object", "properties": {"sport": {"type": "string"}}, "required": ["sport"]}}]})
REWARDS = ["gg_grpo", "toolrl", "binary"]
BOUND_S = 2.0  # a safety bound against pathological backtracking, far above normal cost (µs)


def score_all(text: str):
    for reward in REWARDS:
        for fmt in FORMATS:
            t0 = time.perf_counter()
            r = compute_score("hostile", text, GT, {"split": "train", "global_steps": 10}, reward=reward, output_format=fmt)
            assert time.perf_counter() - t0 < BOUND_S
            assert tuple(r) == get_reward(reward).keys
            assert all(isinstance(v, float) and v == v for v in r.values())  # floats, no NaN
            yield r


TAGS = ["<think>", "</think>", "<answer>", "</answer>", "<tool_call>", "</tool_call>", "<response>", "</response>",
        "\n", "[", "]", "(", ")", "{", "}", '"', "'", ",", "=", ":", "run", "cmd", "Get Image", "n=", "1e999",
        "__import__('os')", "{\"name\": ", "\"parameters\": ", "\"arguments\": ", "\\", "\x00", "é", "😀"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TAGS) | st.text(max_size=12), max_size=60).map("".join))
def test_random_tag_soup_always_scores(text):
    assert len(list(score_all(text))) == len(REWARDS) * len(FORMATS)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=2000))
def test_random_text_always_scores(text):
    for r in score_all(text):
        assert r["score"] <= 5.0


@pytest.mark.parametrize("text", [
    "A" * (1 << 20),                                                             # 1 MiB
    "<think>x</think><answer>[run(cmd=" + "[" * 100000 + "]" * 100000 + ")]</answer>",
    "<think>x</think><answer>[run(cmd=" + "9" * 5000 + ")]</answer>",             # huge number
    "<think>x</think><answer>[run(cmd=1e999999, n=-" + "9" * 4000 + ")]</answer>",
    '<think>x</think>\n<tool_call>\n{"name": "run", "parameters": {"n": ' + "[" * 50000 + "]" * 50000 + "}}\n</tool_call>",
    '<tool_call>\n{"name": "run", "arguments": {"n": ' + "9" * 100000 + "}}\n</tool_call>",
    "<think>" * 10000 + "</answer>" * 10000,
    "\x00\udcff" * 1000,
])
def test_huge_and_deep_outputs_score_without_raising(text):
    for r in score_all(text):
        assert r["parse_ok"] in (0.0, 1.0)


def test_code_in_arguments_is_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    payloads = [
        f"<think>x</think><answer>[run(cmd=__import__('os').system('touch {marker}'))]</answer>",
        f"<think>x</think><answer>[__import__('os').system('touch {marker}')]</answer>",
        f"<think>x</think><answer>[run(cmd=exec(\"open('{marker}','w')\"), n=2)]</answer>",
        f"<think>x</think><answer>[run(cmd=(lambda: __import__('os').system('touch {marker}'))())]</answer>",
    ]
    for text in payloads:
        for r in score_all(text):
            assert r["score"] <= 1.0 or r.get("ast", 0.0) == 0.0
    assert not marker.exists()


def test_non_string_solution_scores_as_empty():
    r = compute_score("d", None, GT, {"split": "test"})  # type: ignore[arg-type]
    assert r["score"] == 0.0 and r["ast"] == 0.0


def test_bad_ground_truth_is_a_clear_error_not_a_score():
    with pytest.raises(ValueError, match="calls"):
        compute_score("d", "<think>x</think><answer>[]</answer>", '{"tool": 1}', {"split": "test"})


def test_unknown_reward_and_format_are_errors():
    with pytest.raises(ValueError, match="unknown reward"):
        compute_score("d", "x", GT, reward="dense")
    with pytest.raises(ValueError, match="unknown output_format"):
        compute_score("d", "x", GT, output_format="xml")


def test_verl_manager_kwargs_are_accepted():
    r = compute_score("d", "x", GT, {"split": "test"}, reward_router_address=None, reward_model_tokenizer=None)
    assert "score" in r


def test_naive_manager_weight_version_stands_in_for_the_step():
    """verl's naive manager merges the rollout weight version (step - 1), not the trainer step."""
    ok = "<think>x</think><answer>[run(cmd='ls', n=2), Get Image(sport='x')]</answer>"
    naive_extra = {"split": "train", "global_steps": 24, "min_global_steps": 24, "max_global_steps": 24}
    r = compute_score("d", ok, GT, naive_extra)
    assert r["step"] == 25.0 and abs(r["sigma"] - 0.5) < 1e-12
    ours = {"split": "train", "global_steps": 25, "training_progress": 0.25, "max_global_steps": 24}
    assert compute_score("d", ok, GT, ours)["step"] == 25.0
