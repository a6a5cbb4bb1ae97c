"""Per-step reward-component statistics (what the replay buffer logs every training step)."""

from __future__ import annotations

import pytest

from toolzero_verl.rewards.metrics import reward_metrics


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
