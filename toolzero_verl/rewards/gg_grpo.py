"""GG-GRPO: Tool Zero's dynamic generalization-guided reward (Zeng et al., EMNLP 2025 Findings).

``R = R_format + σ(t)·r_strict + (1 − σ(t))·r_general``

- ``R_format ∈ {0, 1}``: the output format's own shape check (``answer``: ``<think>`` then ``<answer>``).
- ``r_general = −0.5 + |T(Y) ∩ T(Y*)| / |T(Y*)|``: token overlap of the answer with the reference
  answer rendered in the same format; ``T`` splits on non-alphanumeric characters (case-sensitive).
- ``r_strict = r_ast + 0.3·[r_ast = 1 and ≥ 2 gold calls] − 0.3·[names and keys right, a value wrong]``.
- ``σ(t)``: sigmoid with κ = 0.1, m = 25 over global steps (see :mod:`toolzero_verl.core.schedules`);
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

from toolzero_verl.core.clock import require_step
from toolzero_verl.core.matching import ast_match, keys_match
from toolzero_verl.core.options import ConfigError, option
from toolzero_verl.core.schedules import KAPPA, MIDPOINT, SCHEDULES, STEP_FREE, get_schedule
from toolzero_verl.rewards.registry import RewardOptions, ScoreInput, register_reward

MULTI_CALL_BONUS = 0.3  # Tool Zero: bonus for an exact answer with several calls
VALUE_ERROR_PENALTY = 0.3  # Tool Zero: penalty for right names and keys but a wrong value
GENERAL_OFFSET = -0.5  # Tool Zero: r_general spans [−0.5, 0.5]
TOKEN_DELIMITERS = r"[^0-9A-Za-z]+"  # interpretation: "non-alphanumeric delimiters"

KEYS = ("score", "format", "general", "strict", "ast", "sigma", "step", "parse_ok", "n_pred_calls", "n_gt_calls")


STEP_UNITS = ("steps", "percent")


@dataclass(frozen=True)
class GGGRPOOptions(RewardOptions):
    """GG-GRPO's options (docs/rewards.md, "GG-GRPO options")."""

    schedule: str = option("sigmoid", choices=tuple(SCHEDULES), help="σ(t): sigmoid (paper) or an ablation")
    kappa: float = option(KAPPA, above=0.0, help="steepness κ of the sigmoid")
    midpoint: float = option(MIDPOINT, help="midpoint m: σ(m) = 0.5, in units of step_unit")
    step_unit: str = option("steps", choices=STEP_UNITS, help="t = global step, or 100 · step / total steps")
    multi_call_bonus: float = option(MULTI_CALL_BONUS, help="added to r_strict for an exact answer with several calls")
    multi_call_min: int = option(2, min=1, help="gold calls needed for the multi-call bonus")
    value_error_penalty: float = option(VALUE_ERROR_PENALTY, help="the −0.3 term of r_strict")
    general_offset: float = option(GENERAL_OFFSET, help="r_general = offset + token recall")
    token_delimiters: str = option(TOKEN_DELIMITERS, help="regex splitting answers into tokens T(·)")
    case_sensitive: bool = option(True, help="compare tokens case-sensitively")

    def __post_init__(self):
        super().__post_init__()
        try:
            _splitter(self.token_delimiters)
        except re.error as exc:
            raise ConfigError(f"option 'token_delimiters' is not a valid regular expression: {exc}") from None


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


def general_reward(answer: str | None, ref: frozenset[str], cfg: GGGRPOOptions, *, made_call: bool) -> float:
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


def schedule_weight(inp: ScoreInput, cfg: GGGRPOOptions) -> float:
    """σ for this row: 1 on validation rows, else the schedule at the row's step."""
    clock = inp.clock
    if not clock.is_train:
        return 1.0
    schedule = get_schedule(cfg.schedule)
    if cfg.schedule in STEP_FREE:
        return schedule(0.0, cfg.kappa, cfg.midpoint)
    if cfg.step_unit == "percent":
        t = None if clock.progress is None else 100.0 * clock.progress
    else:
        t = clock.step
    if t is None:
        need = "training_progress (set trainer.total_training_steps)" if cfg.step_unit == "percent" else "global_steps"
        require_step(cfg.missing_step, f"GG-GRPO schedule {cfg.schedule!r} (it reads {need})", "gg_grpo")
        t = 0.0
    return schedule(t, cfg.kappa, cfg.midpoint)


@register_reward("gg_grpo", GGGRPOOptions, KEYS)
def gg_grpo_reward(inp: ScoreInput, cfg: GGGRPOOptions) -> dict[str, float]:
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
        "step": -1.0 if inp.clock.step is None else inp.clock.step,
        "parse_ok": 1.0 if parsed.parse_ok else 0.0,
        "n_pred_calls": float(len(parsed.calls)),
        "n_gt_calls": float(len(gt.calls)),
    }
