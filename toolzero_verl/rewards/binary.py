"""Nemotron Tool-N1's binary reward (Zhang et al. 2025, arXiv 2505.00024).

1 iff the response has a ``<think>…</think>`` block, parses, and its multiset of (name, arguments)
pairs equals the gold multiset exactly: order-free, type-sensitive (``1 != 1.0 != True``).

>>> from toolzero_verl import compute_score
>>> gt = '{"calls": [{"name": "f", "arguments": {"x": 1}}]}'
>>> compute_score("d", "<think>.</think><answer>[f(x=1)]</answer>", gt, reward="binary")["score"]
1.0
>>> compute_score("d", "<think>.</think><answer>[f(x=1.0)]</answer>", gt, reward="binary")["score"]
0.0
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from toolzero_verl.core.calls import ToolCall, call_key, strict_equal
from toolzero_verl.core.formats import well_formed
from toolzero_verl.core.ground_truth import GroundTruth
from toolzero_verl.core.matching import count_missing_required
from toolzero_verl.core.options import option
from toolzero_verl.core.tags import between
from toolzero_verl.rewards.registry import RewardOptions, ScoreInput, register_reward

KEYS = ("score", "format", "exact", "parse_ok", "n_pred_calls", "n_gt_calls", "n_missing_required")


@dataclass(frozen=True)
class BinaryOptions(RewardOptions):
    """Tool-N1's options (docs/rewards.md, "Tool-N1 options")."""

    require_think: bool = option(True, help="Tool-N1 requires the <think> reasoning block")


def same_calls(pred: Sequence[ToolCall], gt: GroundTruth) -> bool:
    """The multisets of (name, arguments) are equal, with strict types."""
    gold = gt.calls
    if len(pred) != len(gold):
        return False
    if len(gold) == 1:  # the common case, without building hashable images of the arguments
        return pred[0].name == gold[0].name and strict_equal(pred[0].arguments, gold[0].arguments)
    return Counter(map(call_key, pred)) == gt.memo("binary_call_keys", lambda: Counter(map(call_key, gold)))


@register_reward("binary", BinaryOptions, KEYS)
def binary_reward(inp: ScoreInput, cfg: BinaryOptions) -> dict[str, float]:
    parsed = inp.parsed
    has_think = between(inp.response, "<think>", "</think>") is not None or not cfg.require_think
    # A parse failure is never an exact no-call answer (docs/rewards.md, "Ranking invariants").
    exact = well_formed(parsed) and same_calls(parsed.calls, inp.gt)
    missing = 0 if exact else count_missing_required(parsed.calls, inp.gt)  # a hack monitor (docs/verl.md)
    return {
        "score": 1.0 if (has_think and exact) else 0.0,
        "format": 1.0 if has_think else 0.0,
        "exact": 1.0 if exact else 0.0,
        "parse_ok": 1.0 if parsed.parse_ok else 0.0,
        "n_pred_calls": float(len(parsed.calls)),
        "n_gt_calls": float(len(inp.gt.calls)),
        "n_missing_required": float(missing),
    }
