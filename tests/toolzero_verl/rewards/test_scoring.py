"""compute_score on hostile model output: always a score, never an exception, nothing executed."""

from __future__ import annotations

import json
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolzero_verl import compute_score
from toolzero_verl.core.formats import FORMATS
from toolzero_verl.core.options import ConfigError
from toolzero_verl.rewards import get_reward
from toolzero_verl.testing.budget import examples

GT = json.dumps({"calls": [{"name": "run", "arguments": {"cmd": "ls", "n": 2}},
                           {"name": "Get Image", "arguments": {"sport": "x"}}],
                 "tools": [{"name": "run", "parameters": {"type": "object", "required": ["cmd"], "properties": {
                               "cmd": {"type": "string"}, "n": {"type": "integer"}}}},
                           {"name": "Get Image", "parameters": {"type": "object", "required": ["sport"],
                                                                "properties": {"sport": {"type": "string"}}}}]})
REWARDS = ["gg_grpo", "toolrl", "binary"]
BOUND_S = 2.0  # a safety bound against pathological backtracking, far above normal cost (µs)


def score_all(text: str):
    for reward in REWARDS:
        for fmt in FORMATS:
            t0 = time.perf_counter()
            r = compute_score("hostile", text, GT, {"split": "train", "global_steps": 10}, reward=reward,
                              output_format=fmt)
            assert time.perf_counter() - t0 < BOUND_S
            assert tuple(r) == get_reward(reward).keys
            assert all(isinstance(v, float) and v == v for v in r.values())  # floats, no NaN
            yield r


TAGS = ["<think>", "</think>", "<answer>", "</answer>", "<tool_call>", "</tool_call>", "<response>", "</response>",
        "\n", "[", "]", "(", ")", "{", "}", '"', "'", ",", "=", ":", "run", "cmd", "Get Image", "n=", "1e999",
        "__import__('os')", "{\"name\": ", "\"parameters\": ", "\"arguments\": ", "\\", "\x00", "é", "😀"]


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TAGS) | st.text(max_size=12), max_size=60).map("".join))
def test_random_tag_soup_always_scores(text):
    assert len(list(score_all(text))) == len(REWARDS) * len(FORMATS)


@settings(max_examples=examples(100), deadline=None)
@given(st.text(max_size=2000))
def test_random_text_always_scores(text):
    for r in score_all(text):
        assert r["score"] <= 5.0


@pytest.mark.parametrize("text", [
    "A" * (1 << 20),                                                             # 1 MiB
    "<think>x</think><answer>[run(cmd=" + "[" * 100000 + "]" * 100000 + ")]</answer>",
    "<think>x</think><answer>[run(cmd=" + "9" * 5000 + ")]</answer>",             # huge number
    "<think>x</think><answer>[run(cmd=1e999999, n=-" + "9" * 4000 + ")]</answer>",
    '<think>x</think>\n<tool_call>\n{"name": "run", "parameters": {"n": ' + "[" * 50000 + "]" * 50000
    + "}}\n</tool_call>",
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


# --- options: each case of the hardening issue, one regression each -----------------------------------

PAIR = json.dumps({"calls": [{"name": "f", "arguments": {"x": 1}}, {"name": "g", "arguments": {}}]})
PAIR_OK = "<think>t</think><answer>[f(x=1), g()]</answer>"
NEAR = "<think>t</think><answer>[f(x=2), g()]</answer>"
TRAIN = {"split": "train", "global_steps": 3}


def test_coarse_false_as_a_string_is_false():
    partial = compute_score("d", NEAR, PAIR, TRAIN, reward="toolrl", output_format="answer", coarse="False")
    assert partial["correctness"] == compute_score("d", NEAR, PAIR, TRAIN, reward="toolrl", output_format="answer",
                                                   coarse=False)["correctness"] > -3.0  # coarse would give −3


def test_require_think_no_as_a_string_is_false():
    bare = "<answer>[f(x=1), g()]</answer>"
    assert compute_score("d", bare, PAIR, reward="binary", require_think="no")["score"] == 1.0
    assert compute_score("d", bare, PAIR, reward="binary", require_think="yes")["score"] == 0.0


def test_multi_call_min_as_a_string_is_the_number():
    r = compute_score("d", PAIR_OK, PAIR, {"split": "test"}, multi_call_min="2")
    assert (r["ast"], r["strict"]) == (1.0, pytest.approx(1.3))  # "2" is 2: the perfect answer keeps its bonus
    with pytest.raises(ConfigError, match="'multi_call_min' must be a whole number"):
        compute_score("d", PAIR_OK, PAIR, TRAIN, multi_call_min="two")


@pytest.mark.parametrize("options, message", [
    ({"max_chars": -1}, "'max_chars' must be at least 1"),
    ({"max_depth": 0}, "'max_depth' must be at least 1"),
    ({"kappa": "abc"}, "'kappa' must be a number"),
    ({"kappa": float("nan")}, "'kappa' must be a finite number"),
    ({"kappa": float("inf")}, "'kappa' must be a finite number"),
    ({"midpoint": float("nan")}, "'midpoint' must be a finite number"),
    ({"midpoint": float("-inf")}, "'midpoint' must be a finite number"),
    ({"token_delimiters": "[a-"}, "'token_delimiters' is not a valid regular expression"),
    ({"value_error_penalty": 1e300}, "'value_error_penalty' must be at most"),  # sums of such terms overflow
    ({"reward": "toolrl", "correctness_max": 1e308}, "'correctness_max' must be at most"),
    ({"global_steps": float("nan")}, "global_steps must be a finite number"),
    ({"global_steps": 10**400}, "global_steps must be a finite number"),  # too big for a float: no OverflowError
    ({"global_steps": 10**5000}, "global_steps must be a finite number, got <an int too large to show>"),
    ({"training_progress": float("inf"), "step_unit": "percent"}, "training_progress must be a finite number"),
])
def test_bad_option_values_fail_with_one_line_naming_the_option(options, message):
    with pytest.raises(ConfigError) as info:
        compute_score("d", PAIR_OK, PAIR, TRAIN, **options)
    assert message in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("extra", [{"global_steps": float("nan")}, {"global_steps": float("inf")},
                                   {"global_steps": "soon"}, {"training_progress": float("nan")}])
def test_non_finite_steps_in_extra_info_are_config_errors(extra):
    with pytest.raises(ConfigError, match="must be a"):
        compute_score("d", PAIR_OK, PAIR, {"split": "train", **extra}, step_unit="percent")


@pytest.mark.parametrize("step", [1e308, -1e308, 10**300, 2**1023])
def test_huge_steps_score_without_overflow(step):
    for reward, options in [("gg_grpo", {}), ("gg_grpo", {"step_unit": "percent", "total_training_steps": 7}),
                            ("gg_grpo", {"schedule": "cosine"}),
                            ("toolrl", {"bounds_schedule": "dynamic", "think_length_weight": 1,
                                        "think_length_dynamic": True})]:
        r = compute_score("d", PAIR_OK, PAIR, {"split": "train", "global_steps": step}, reward=reward,
                          output_format="answer", **options)
        assert all(math.isfinite(v) for v in r.values()), (reward, options, r)


def _bounded(low: float, high: float):
    return st.sampled_from([low, high, 0.0]) | st.floats(low, high)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kappa=st.sampled_from([5e-324, 1e-300, 1e300]) | st.floats(1e-9, 1e9),
    midpoint=_bounded(-1e308, 1e308),
    schedule=st.sampled_from(["sigmoid", "linear", "cosine", "step"]),
    terms=st.tuples(_bounded(-1e6, 1e6), _bounded(-1e6, 1e6), _bounded(-1e6, 1e6)),
    bounds=st.tuples(_bounded(-1e6, 1e6), _bounded(-1e6, 1e6), _bounded(-1e6, 1e6), _bounded(-1e6, 1e6)),
    step=_bounded(-1e308, 1e308),
    response=st.sampled_from([PAIR_OK, NEAR, "<think>t</think><answer>[f(</answer>", "", "No."]),
)
def test_no_option_values_within_their_ranges_give_a_nan_or_infinite_score(
        kappa, midpoint, schedule, terms, bounds, step, response):
    extra = {"split": "train", "global_steps": step}
    bonus, penalty, offset = terms
    r = compute_score("d", response, PAIR, extra, kappa=kappa, midpoint=midpoint, schedule=schedule,
                      multi_call_bonus=bonus, value_error_penalty=penalty, general_offset=offset)
    assert all(math.isfinite(v) for v in r.values()), r
    fmin, fmax, cmin, cmax = bounds
    r = compute_score("d", response, PAIR, extra, reward="toolrl", output_format="answer", format_min=fmin,
                      format_max=fmax, correctness_min=cmin, correctness_max=cmax, bounds_schedule="dynamic",
                      think_length_weight=offset)
    assert all(math.isfinite(v) for v in r.values()), r
