"""GG-GRPO: Tool Zero's dynamic generalization-guided reward (Zeng et al., EMNLP 2025 Findings).

``R = R_format + σ(t)·r_strict + (1 − σ(t))·r_general``

- ``R_format ∈ {0, 1}``: the output format's own shape check (``answer``: ``<think>`` then ``<answer>``).
- ``r_general = −0.5 + |T(Y) ∩ T(Y*)| / |T(Y*)|``: token overlap of the answer with the reference
  answer rendered in the same format; ``T`` splits on non-alphanumeric characters (case-sensitive).
- ``r_strict = r_ast + 0.3·[r_ast = 1 and ≥ 2 gold calls] − 0.3·[names and keys right, a value wrong]``.
- ``σ(t)``: sigmoid with κ = 0.1, m = 25 over global steps (see :mod:`toolzero_verl.schedules`);
  validation rows use σ = 1.

The token delimiters, the trigger of the two 0.3 terms and the unit of t are interpretations of
third-party summaries of the paper; each is an option below (docs/rewards.md).

>>> from toolzero_verl import compute_score
>>> gt = '{"calls": [{"name": "f", "arguments": {"x": 1}}, {"name": "g", "arguments": {}}]}'
>>> r = compute_score("d", "<think>.</think><answer>[f(x=1), g()]</answer>", gt, {"global_steps": 1000})
>>> r["score"], r["ast"], r["sigma"]
(2.3, 1.0, 1.0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..matching import ast_match, keys_match
from ..schedules import KAPPA, MIDPOINT, STEP_FREE, get_schedule
from . import ScoreInput, missing_step, register_reward

MULTI_CALL_BONUS = 0.3  # Tool Zero: bonus for an exact answer with several calls
VALUE_ERROR_PENALTY = 0.3  # Tool Zero: penalty for right names and keys but a wrong value
GENERAL_OFFSET = -0.5  # Tool Zero: r_general spans [−0.5, 0.5]
TOKEN_DELIMITERS = r"[^0-9A-Za-z]+"  # interpretation: "non-alphanumeric delimiters"

KEYS = ("score", "format", "general", "strict", "ast", "sigma", "step", "parse_ok", "n_pred_calls", "n_gt_calls")


@dataclass(frozen=True)
class GGGRPOConfig:
    schedule: str = "sigmoid"  # sigmoid | linear | cosine | step | constant_strict | constant_general
    kappa: float = KAPPA
    midpoint: float = MIDPOINT
    step_unit: str = "steps"  # "steps": t = global step; "percent": t = 100 · step / total steps
    total_training_steps: int | None = None
    missing_step: str = "error"  # "error" | "warn" (σ at t = 0, warned once) when a train row has no step
    multi_call_bonus: float = MULTI_CALL_BONUS
    multi_call_min: int = 2
    value_error_penalty: float = VALUE_ERROR_PENALTY
    general_offset: float = GENERAL_OFFSET
    token_delimiters: str = TOKEN_DELIMITERS
    case_sensitive: bool = True

    def __post_init__(self):
        get_schedule(self.schedule)
        if self.step_unit not in ("steps", "percent"):
            raise ValueError(f"step_unit must be 'steps' or 'percent', got {self.step_unit!r}")
        if self.missing_step not in ("error", "warn"):
            raise ValueError(f"missing_step must be 'error' or 'warn', got {self.missing_step!r}")


@lru_cache(maxsize=64)
def _splitter(pattern: str):
    return re.compile(pattern).split


def tokens(text: str, delimiters: str = TOKEN_DELIMITERS, case_sensitive: bool = True) -> frozenset[str]:
    """T(Y): the set of alphanumeric tokens.

    >>> sorted(tokens('[f(city="New York")]'))
    ['New', 'York', 'city', 'f']
    """
    if not case_sensitive:
        text = text.lower()
    return frozenset(t for t in _splitter(delimiters)(text) if t)


def reference_answer(fmt, gt) -> str:
    """Y*: the reference rendered in the output format and read back exactly as Y is read from a
    response (tags stripped), so a perfect answer reaches the top of r_general in every format."""
    return fmt.parse(fmt.render(gt.calls, gt.answer), gt.known_names).text or ""


def general_reward(answer: str | None, ref: frozenset[str], cfg: GGGRPOConfig, *, made_call: bool) -> float:
    """−0.5 + recall of the reference tokens ``ref`` = T(Y*); −0.5 with no answer.

    A reference without tokens (a no-call turn with no reference text) is matched by making no call.
    """
    if answer is None:
        return cfg.general_offset
    if not ref:
        return cfg.general_offset + (0.0 if made_call else 1.0)
    # |T(Y) ∩ T(Y*)| without building T(Y): intersect the reference set with the raw split (its
    # empty pieces are never in the reference)
    pieces = _splitter(cfg.token_delimiters)(answer if cfg.case_sensitive else answer.lower())
    return cfg.general_offset + len(ref.intersection(pieces)) / len(ref)


def schedule_weight(inp: ScoreInput, cfg: GGGRPOConfig) -> float:
    """σ for this row: 1 on validation rows, else the schedule at the row's step."""
    if not inp.is_train:
        return 1.0
    schedule = get_schedule(cfg.schedule)
    if cfg.schedule in STEP_FREE:
        return schedule(0.0, cfg.kappa, cfg.midpoint)
    if cfg.step_unit == "percent":
        t = None if inp.progress is None else 100.0 * inp.progress
    else:
        t = inp.step
    if t is None:
        need = "training_progress (set trainer.total_training_steps)" if cfg.step_unit == "percent" else "global_steps"
        missing_step(cfg.missing_step, f"GG-GRPO schedule {cfg.schedule!r} (it reads {need})", "gg_grpo")
        t = 0.0
    return schedule(t, cfg.kappa, cfg.midpoint)


@register_reward("gg_grpo", GGGRPOConfig, KEYS)
def gg_grpo_reward(inp: ScoreInput, cfg: GGGRPOConfig) -> dict[str, float]:
    parsed, gt = inp.parsed, inp.gt
    sigma = schedule_weight(inp, cfg)
    match = ast_match(parsed.calls, gt)
    r_ast = 1.0 if match.ok else 0.0  # a parse failure has no calls: right only for a no-call reference
    strict = r_ast
    if r_ast and len(gt.calls) >= cfg.multi_call_min:
        strict += cfg.multi_call_bonus
    if not r_ast and gt.calls and keys_match(parsed.calls, gt):
        strict -= cfg.value_error_penalty
    general = 0.0
    if sigma < 1.0:
        fmt, delimiters, case = inp.fmt, cfg.token_delimiters, cfg.case_sensitive
        ref = gt.memo(
            ("general_ref", fmt.name, delimiters, case),
            lambda: tokens(reference_answer(fmt, gt), delimiters, case),
        )
        general = general_reward(parsed.text, ref, cfg, made_call=bool(parsed.calls))
    fmt_score = 1.0 if inp.fmt.format_ok(parsed, gt) else 0.0
    return {
        "score": fmt_score + sigma * strict + (1.0 - sigma) * general,
        "format": fmt_score,
        "general": general,
        "strict": strict,
        "ast": r_ast,
        "sigma": sigma,
        "step": -1.0 if inp.step is None else inp.step,
        "parse_ok": 1.0 if parsed.parse_ok else 0.0,
        "n_pred_calls": float(len(parsed.calls)),
        "n_gt_calls": float(len(gt.calls)),
    }
