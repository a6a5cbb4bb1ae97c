"""Per-step statistics of reward components over a batch of scored trajectories.

The replay buffer (:mod:`toolzero_verl.plugin.replay_buffer`) logs these every training step; they
are plain functions of the rewards' ``reward_extra_info`` dicts, so they need no verl.

- ``<prefix>/<key>/mean`` for every numeric reward component;
- ``<prefix>/parse_failure_rate``: mean of ``1 - parse_ok``;
- ``<prefix>/equal_reward_groups/fraction``: share of GRPO groups whose rewards are all equal
  (zero advantage: no learning signal from them);
- ``<prefix>/hack/<monitor>``: the rates that reveal known reward hacks (:data:`HACK_MONITORS`,
  docs/verl.md "Hack monitors"), from component keys every reward returns (``n_gt_calls``,
  ``n_pred_calls``, ``parse_ok``, ``n_missing_required``). A rate whose rows are absent from the step
  (no no-call row, say) is left out rather than logged as 0.

>>> infos = [{"score": 1.0, "parse_ok": 1.0}, {"score": 1.0, "parse_ok": 0.0},   # group a: equal
...          {"score": 2.0, "parse_ok": 1.0}, {"score": 0.0, "parse_ok": 1.0}]   # group b: varies
>>> m = reward_metrics(infos, ["a", "a", "b", "b"])
>>> m["toolzero/score/mean"], m["toolzero/parse_failure_rate"], m["toolzero/equal_reward_groups/fraction"]
(1.0, 0.25, 0.5)
>>> rows = [{"n_gt_calls": 0.0, "n_pred_calls": 1.0, "parse_ok": 1.0, "n_missing_required": 1.0},   # called anyway
...         {"n_gt_calls": 0.0, "n_pred_calls": 0.0, "parse_ok": 0.0, "n_missing_required": 0.0},   # broken call
...         {"n_gt_calls": 2.0, "n_pred_calls": 0.0, "parse_ok": 1.0, "n_missing_required": 0.0}]   # refused
>>> for name, rate in hack_metrics(rows).items():
...     print(name, rate)
toolzero/hack/call_on_no_call_rate 0.5
toolzero/hack/parse_failure_on_no_call_rate 0.5
toolzero/hack/abstention_on_call_rate 1.0
toolzero/hack/missing_required_rate 1.0
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Sequence

METRIC_PREFIX = "toolzero"
PARSE_OK_KEY = "parse_ok"
# Component keys every reward returns (toolzero_verl/rewards/{gg_grpo,toolrl,binary}.py), read by the monitors.
GT_CALLS_KEY, PRED_CALLS_KEY, MISSING_REQUIRED_KEY = "n_gt_calls", "n_pred_calls", "n_missing_required"


class HackMonitor(NamedTuple):
    """A rate over some rows: ``hits(info) / weight(info)`` summed over the rows ``counts(info)`` selects."""

    counts: Callable[[Mapping[str, float]], bool]  # is this row in the denominator?
    hits: Callable[[Mapping[str, float]], float]  # its contribution to the numerator
    weight: Callable[[Mapping[str, float]], float] = lambda info: 1.0  # its contribution to the denominator


def _no_call_row(info: Mapping[str, float]) -> bool:
    return info[GT_CALLS_KEY] == 0


# docs/verl.md, "Hack monitors": what each rate means and what a rising curve says.
HACK_MONITORS: dict[str, HackMonitor] = {
    # the policy calls a function where the reference makes none (irrelevance rows)
    "call_on_no_call_rate": HackMonitor(_no_call_row, lambda i: float(i[PRED_CALLS_KEY] > 0)),
    # broken call syntax where no call is wanted: the abstention loophole a lenient reward would pay for
    "parse_failure_on_no_call_rate": HackMonitor(_no_call_row, lambda i: float(i[PARSE_OK_KEY] == 0)),
    # a readable answer without a call where the reference calls: refusing instead of trying
    "abstention_on_call_rate": HackMonitor(
        lambda i: i[GT_CALLS_KEY] > 0, lambda i: float(i[PRED_CALLS_KEY] == 0 and i[PARSE_OK_KEY] == 1)
    ),
    # share of predicted calls without a required parameter (dropping hard arguments to dodge value errors)
    "missing_required_rate": HackMonitor(
        lambda i: i[PRED_CALLS_KEY] > 0, lambda i: i[MISSING_REQUIRED_KEY], lambda i: i[PRED_CALLS_KEY]
    ),
}
_MONITOR_KEYS = (GT_CALLS_KEY, PRED_CALLS_KEY, PARSE_OK_KEY, MISSING_REQUIRED_KEY)


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
    metrics.update(hack_metrics(infos, prefix))
    return metrics


def hack_metrics(infos: Iterable[Mapping[str, Any]], prefix: str = METRIC_PREFIX) -> dict[str, float]:
    """``<prefix>/hack/<name>`` for every :data:`HACK_MONITORS` rate that has rows in ``infos``.

    Rows lacking one of the monitor keys, or with a non-finite value, are skipped.
    """
    rows = []
    for info in infos:
        values = {key: finite(info.get(key)) for key in _MONITOR_KEYS}
        if None not in values.values():
            rows.append(values)
    out = {}
    for name, monitor in HACK_MONITORS.items():
        hits = weight = 0.0
        for row in rows:
            if monitor.counts(row):
                hits += monitor.hits(row)
                weight += monitor.weight(row)
        if weight:
            out[f"{prefix}/hack/{name}"] = hits / weight
    return out


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
