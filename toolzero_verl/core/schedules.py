"""Schedules σ(t) ∈ [0, 1] that move GG-GRPO from the generic reward (σ=0) to the strict one (σ=1).

The paper's schedule is a sigmoid with κ = 0.1 and midpoint m = 25 over global training steps
(Tool Zero, Zeng et al. 2025, §3). The others are the ablations (docs/rewards.md, "GG-GRPO").

>>> round(sigmoid(25, kappa=0.1, midpoint=25), 3), round(sigmoid(0, 0.1, 25), 4)
(0.5, 0.0759)
>>> SCHEDULES["step"](30, 0.1, 25), SCHEDULES["linear"](25, 0.1, 25)
(1.0, 0.5)
"""

from __future__ import annotations

import math
from typing import Callable

KAPPA = 0.1  # Tool Zero: steepness of the sigmoid
MIDPOINT = 25.0  # Tool Zero: step at which σ = 0.5

Schedule = Callable[[float, float, float], float]


def sigmoid(t: float, kappa: float = KAPPA, midpoint: float = MIDPOINT) -> float:
    """σ(t) = 1 / (1 + exp(−κ (t − m))), computed without overflow for any t."""
    z = -kappa * (t - midpoint)
    if z >= 0:
        return math.exp(-z) / (1.0 + math.exp(-z))
    return 1.0 / (1.0 + math.exp(z))


def linear(t: float, kappa: float, midpoint: float) -> float:
    """0 at t = 0, 1 at t = 2m (same midpoint as the sigmoid)."""
    return min(1.0, max(0.0, t / (2.0 * midpoint))) if midpoint > 0 else 1.0


def cosine(t: float, kappa: float, midpoint: float) -> float:
    """Half-cosine ramp from 0 at t = 0 to 1 at t = 2m."""
    return 0.5 * (1.0 - math.cos(math.pi * linear(t, kappa, midpoint)))


def step(t: float, kappa: float, midpoint: float) -> float:
    """Generic before m, strict from m on."""
    return 1.0 if t >= midpoint else 0.0


SCHEDULES: dict[str, Schedule] = {
    "sigmoid": sigmoid,
    "linear": linear,
    "cosine": cosine,
    "step": step,
    "constant_strict": lambda t, k, m: 1.0,
    "constant_general": lambda t, k, m: 0.0,
}

STEP_FREE = frozenset({"constant_strict", "constant_general"})  # schedules that do not need t


def get_schedule(name: str) -> Schedule:
    try:
        return SCHEDULES[name]
    except KeyError:
        raise ValueError(f"unknown schedule {name!r}; choose one of {sorted(SCHEDULES)}") from None
