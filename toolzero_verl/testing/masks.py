"""Reading an agent loop's ``response_mask``: which token spans the policy wrote (1) and which the loop
added as context (0: tool results, simulated user turns)."""

from __future__ import annotations

from typing import Sequence


def mask_runs(mask: Sequence[int]) -> list[tuple[int, int, int]]:
    """Runs of equal mask values as ``(value, start, end)``.

    >>> mask_runs([1, 1, 0, 0, 0, 1])
    [(1, 0, 2), (0, 2, 5), (1, 5, 6)]
    """
    runs, start = [], 0
    for i in range(1, len(mask) + 1):
        if i == len(mask) or mask[i] != mask[start]:
            runs.append((mask[start], start, i))
            start = i
    return runs
