"""Per-step statistics of reward components over a batch of scored trajectories.

The replay buffer (:mod:`toolzero_verl.plugin.replay_buffer`) logs these every training step; they
are plain functions of the rewards' ``reward_extra_info`` dicts, so they need no verl.

- ``<prefix>/<key>/mean`` for every numeric reward component;
- ``<prefix>/parse_failure_rate``: mean of ``1 - parse_ok``;
- ``<prefix>/equal_reward_groups/fraction``: share of GRPO groups whose rewards are all equal
  (zero advantage: no learning signal from them).

>>> infos = [{"score": 1.0, "parse_ok": 1.0}, {"score": 1.0, "parse_ok": 0.0},   # group a: equal
...          {"score": 2.0, "parse_ok": 1.0}, {"score": 0.0, "parse_ok": 1.0}]   # group b: varies
>>> m = reward_metrics(infos, ["a", "a", "b", "b"])
>>> m["toolzero/score/mean"], m["toolzero/parse_failure_rate"], m["toolzero/equal_reward_groups/fraction"]
(1.0, 0.25, 0.5)
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Iterable, Mapping, Sequence

METRIC_PREFIX = "toolzero"
PARSE_OK_KEY = "parse_ok"


def reward_metrics(
    infos: Sequence[Mapping[str, Any]],
    group_ids: Sequence[str],
    keys: Iterable[str] | None = None,
    prefix: str = METRIC_PREFIX,
    group_key: str = "score",
) -> dict[str, float]:
    """Per-step means of reward components over trajectories (one ``reward_extra_info`` each).

    ``group_ids`` gives each trajectory's GRPO group (verl's prompt uid). Non-numeric and
    non-finite values are ignored, so a key is averaged over the trajectories that have it.
    """
    wanted = None if keys is None else set(keys)
    sums: dict[str, float] = defaultdict(float)
    counts: dict[str, int] = defaultdict(int)
    groups: dict[str, list[float]] = defaultdict(list)
    for info, gid in zip(infos, group_ids, strict=True):
        for key, value in info.items():
            number = finite(value)
            if number is None or (wanted is not None and key not in wanted):
                continue
            sums[key] += number
            counts[key] += 1
        score = finite(info.get(group_key))
        if score is not None:
            groups[gid].append(score)
    metrics = {f"{prefix}/{key}/mean": sums[key] / counts[key] for key in sorted(sums)}
    if counts.get(PARSE_OK_KEY):
        metrics[f"{prefix}/parse_failure_rate"] = 1.0 - sums[PARSE_OK_KEY] / counts[PARSE_OK_KEY]
    multi = [values for values in groups.values() if len(values) > 1]
    if multi:
        metrics[f"{prefix}/equal_reward_groups/fraction"] = sum(max(v) == min(v) for v in multi) / len(multi)
    return metrics


def finite(value: Any) -> float | None:
    """``value`` as a finite float; None for non-numbers, strings, NaN and infinities."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) or hasattr(value, "__float__") and not isinstance(value, str):
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            return None
        return number if math.isfinite(number) else None
    return None
