"""GG-GRPO schedules: the paper's sigmoid and the ablation schedules."""

from __future__ import annotations

import math

import pytest

from toolzero_verl.core.schedules import KAPPA, MIDPOINT, SCHEDULES, get_schedule, sigmoid


def test_paper_sigmoid_values():
    assert sigmoid(0) == pytest.approx(1 / (1 + math.exp(2.5)))   # ≈ 0.0759
    assert sigmoid(25) == pytest.approx(0.5)
    assert sigmoid(50) == pytest.approx(1 / (1 + math.exp(-2.5)))  # ≈ 0.9241
    assert (KAPPA, MIDPOINT) == (0.1, 25.0)


def test_sigmoid_is_monotone_and_never_overflows():
    values = [sigmoid(t) for t in range(-10**6, 10**6, 10**4)]
    assert values == sorted(values) and 0.0 <= values[0] and values[-1] <= 1.0
    assert sigmoid(1e308) == 1.0 and sigmoid(-1e308) == 0.0


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_every_schedule_stays_in_unit_interval(name):
    fn = get_schedule(name)
    assert all(0.0 <= fn(t, KAPPA, MIDPOINT) <= 1.0 for t in range(0, 200))


def test_ablation_schedule_shapes():
    assert SCHEDULES["linear"](25, KAPPA, 25) == 0.5 and SCHEDULES["linear"](80, KAPPA, 25) == 1.0
    assert SCHEDULES["cosine"](0, KAPPA, 25) == 0.0 and SCHEDULES["cosine"](25, KAPPA, 25) == pytest.approx(0.5)
    assert SCHEDULES["step"](24.9, KAPPA, 25) == 0.0 and SCHEDULES["step"](25, KAPPA, 25) == 1.0
    assert SCHEDULES["constant_strict"](0, KAPPA, 25) == 1.0 and SCHEDULES["constant_general"](99, KAPPA, 25) == 0.0
    with pytest.raises(ValueError, match="sigmoid"):
        get_schedule("exp")
