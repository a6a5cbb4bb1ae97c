"""Seeded train/test split and training order.

The split is by group (all turns of one ToolACE dialogue share a group), stratified per source, so
no dialogue - and, after deduplication, no duplicate prompt - has samples on both sides.
``--test-size`` below 1 is a fraction, 1 or more a row count; it is spread over sources in
proportion (largest remainder) and filled with whole groups without exceeding each share.

``--order difficulty`` sorts training rows by :func:`difficulty` (easy first; ties in seeded random
order) for a static curriculum with ``data.shuffle=False``; ``random`` shuffles them with the seed.

>>> difficulty(n_calls=2, n_args=3, n_tools=4, n_turns=1)
3.15
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Sequence

from .sample import Sample

ORDERS = ("random", "difficulty")
# Difficulty = weighted sum of what makes a tool-calling turn hard: more calls to get exactly right,
# more arguments to fill, more tools to choose among (distractors), longer context to read.
DIFFICULTY_WEIGHTS = {"calls": 1.0, "args": 0.25, "tools": 0.1, "turns": 0.25}


def difficulty(n_calls: int, n_args: int, n_tools: int, n_turns: int) -> float:
    w = DIFFICULTY_WEIGHTS
    # A no-call turn is still one decision (not calling), so it weighs like one call.
    total = w["calls"] * max(n_calls, 1) + w["args"] * n_args + w["tools"] * n_tools + w["turns"] * max(n_turns - 1, 0)
    return round(total, 6)


def sample_difficulty(s: Sample) -> float:
    return difficulty(s.n_calls, sum(len(c.arguments) for c in s.calls), len(s.tools), len(s.messages))


def _allocate(total: int, sizes: dict[str, int]) -> dict[str, int]:
    """Split ``total`` test rows over sources in proportion to their sizes (largest remainder)."""
    n = sum(sizes.values())
    if not n:
        return {k: 0 for k in sizes}
    exact = {k: total * v / n for k, v in sizes.items()}
    out = {k: int(x) for k, x in exact.items()}
    for k in sorted(exact, key=lambda k: (out[k] - exact[k], k))[: total - sum(out.values())]:
        out[k] += 1
    return out


def split(samples: Sequence[Sample], test_size: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """``(train, test)``, each in input order.

    Whole groups go to test, in seeded random order, while they fit in the source's share, so the
    test split never exceeds the requested size (it can fall short by less than one dialogue).
    """
    if test_size < 0:
        raise ValueError("--test-size must be >= 0")
    total = len(samples)
    wanted = round(test_size * total) if test_size < 1 else min(int(test_size), total)
    by_source: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for i, s in enumerate(samples):
        by_source[s.source].setdefault(s.group_id, []).append(i)
    targets = _allocate(wanted, {k: sum(len(v) for v in g.values()) for k, g in by_source.items()})
    test_idx: set[int] = set()
    for source in sorted(by_source):
        groups = by_source[source]
        order = list(groups)
        random.Random(f"{seed}:split:{source}").shuffle(order)
        taken = 0
        for g in order:
            if taken + len(groups[g]) <= targets[source]:
                test_idx.update(groups[g])
                taken += len(groups[g])
    train = [s for i, s in enumerate(samples) if i not in test_idx]
    test = [s for i, s in enumerate(samples) if i in test_idx]
    return train, test


def order(samples: Sequence[Sample], how: str, seed: int, name: str = "train") -> list[tuple[Sample, float]]:
    """``[(sample, difficulty)]`` in training order."""
    if how not in ORDERS:
        raise ValueError(f"--order must be one of {ORDERS}")
    rng = random.Random(f"{seed}:order:{name}")
    scored = [(s, sample_difficulty(s), rng.random()) for s in samples]
    if how == "difficulty":
        scored.sort(key=lambda x: (x[1], x[2]))
    else:
        scored.sort(key=lambda x: x[2])
    return [(s, d) for s, d, _ in scored]
