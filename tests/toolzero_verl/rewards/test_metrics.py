"""Per-step reward-component statistics (what the replay buffer logs every training step)."""

from __future__ import annotations

import json

import pytest

from toolzero_verl import compute_score
from toolzero_verl.rewards.metrics import hack_metrics, reward_metrics


def test_reward_metrics_means_and_rates():
    infos = [
        {"score": 2.0, "sigma": 0.5, "parse_ok": 1.0, "note": "text"},
        {"score": 0.0, "sigma": 0.5, "parse_ok": 0.0, "extra": float("nan")},
        {"score": 1.0, "sigma": 0.5, "parse_ok": 1.0},
    ]
    m = reward_metrics(infos, ["g1", "g1", "g2"])
    assert m["toolzero/score/mean"] == pytest.approx(1.0)
    assert m["toolzero/sigma/mean"] == pytest.approx(0.5)
    assert m["toolzero/parse_failure_rate"] == pytest.approx(1 / 3)
    assert m["toolzero/equal_reward_groups/fraction"] == 0.0  # g1 varies; g2 has one member only
    assert not any("note" in k or "extra" in k for k in m)  # strings and NaN are not averaged


def test_reward_metrics_key_filter_and_prefix():
    m = reward_metrics([{"score": 1.0, "ast": 1.0}, {"score": 1.0, "ast": 0.0}], ["u", "u"], keys=["ast"], prefix="tz")
    assert m == {"tz/ast/mean": 0.5, "tz/equal_reward_groups/fraction": 1.0}


# --- hack monitors ----------------------------------------------------------------------------------

NO_CALL_GT = json.dumps({"calls": [], "tools": [{"name": "f", "parameters": {
    "properties": {"a": {"type": "integer"}, "b": {"type": "string"}}, "required": ["a"]}}]})
CALL_GT = json.dumps({"calls": [{"name": "f", "arguments": {"a": 1}}], "tools": json.loads(NO_CALL_GT)["tools"]})
RESPONSES = {  # kind -> (reference, response) in the answer format
    "abstain_on_no_call": (NO_CALL_GT, "<think>t</think><answer>No tool fits.</answer>"),
    "call_on_no_call": (NO_CALL_GT, "<think>t</think><answer>[f(a=1)]</answer>"),
    "broken_on_no_call": (NO_CALL_GT, "<think>t</think><answer>[f(a=1</answer>"),
    "exact": (CALL_GT, "<think>t</think><answer>[f(a=1)]</answer>"),
    "abstain_on_call": (CALL_GT, "<think>t</think><answer>I would rather not.</answer>"),
    "missing_required": (CALL_GT, "<think>t</think><answer>[f(b='x'), f(a=2)]</answer>"),
}


@pytest.mark.parametrize("reward", ["gg_grpo", "toolrl", "binary"])
def test_hack_monitors_from_every_rewards_component_keys(reward):
    """Each monitor counts exactly the responses it names, whichever reward scored them."""
    infos = [compute_score("d", response, gt, {"split": "train", "global_steps": 5}, reward=reward,
                           output_format="answer")
             for gt, response in RESPONSES.values()]
    m = reward_metrics(infos, [str(i) for i in range(len(infos))])
    assert m["toolzero/hack/call_on_no_call_rate"] == pytest.approx(1 / 3)
    assert m["toolzero/hack/parse_failure_on_no_call_rate"] == pytest.approx(1 / 3)
    assert m["toolzero/hack/abstention_on_call_rate"] == pytest.approx(1 / 3)
    # 4 calls were made (f(a=1) on the no-call row, the exact one, and two); only f(b='x') lacks `a`
    assert m["toolzero/hack/missing_required_rate"] == pytest.approx(1 / 4)


def test_hack_monitors_are_left_out_without_their_rows():
    call_rows = [{"n_gt_calls": 1.0, "n_pred_calls": 1.0, "parse_ok": 1.0, "n_missing_required": 0.0}]
    m = hack_metrics(call_rows)
    assert m == {"toolzero/hack/abstention_on_call_rate": 0.0, "toolzero/hack/missing_required_rate": 0.0}
    assert hack_metrics([{"n_gt_calls": 0.0, "n_pred_calls": float("nan"), "parse_ok": 1.0}]) == {}
