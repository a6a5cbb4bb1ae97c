"""GG-GRPO: Tool Zero's dynamic generalization-guided reward (Zeng et al., EMNLP 2025 Findings).

``R = R_format + σ(t)·r_strict + (1 − σ(t))·r_general``

- ``R_format ∈ {0, 1}``: the output format's own shape check (``answer``: ``<think>`` then ``<answer>``).
- ``r_general = −0.5 + |T(Y) ∩ T(Y*)| / |T(Y*)|``: token overlap of the answer with the reference
  answer rendered in the same format; ``T`` splits on non-alphanumeric characters (case-sensitive).
- ``r_strict = r_ast + 0.3·[r_ast = 1 and ≥ 2 gold calls] − 0.3·[the answer is invalid]``: broken call
  syntax, or a call invalid against the offered tools (:func:`toolzero_verl.core.matching.check_validity`).
  ``r_ast`` is 0 for broken call syntax even on a no-call reference: a parse failure is never a
  correct abstention.
- ``σ(t)``: sigmoid with κ = 0.1, m = 25 over global steps (see :mod:`toolzero_verl.core.schedules`);
  validation rows use σ = 1.

The token delimiters, the trigger of the two 0.3 terms and the unit of t are interpretations of
third-party summaries of the paper; each is an option below (docs/rewards.md). The generic reward's
handling of no-call references is ours, not the paper's (:func:`general_reward`).

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
from typing import Callable

from toolzero_verl.core.clock import require_step
from toolzero_verl.core.formats import ParsedResponse, well_formed
from toolzero_verl.core.ground_truth import GroundTruth
from toolzero_verl.core.matching import VALID, Validity, ast_match, check_validity, keys_match
from toolzero_verl.core.options import ConfigError, option
from toolzero_verl.core.schedules import KAPPA, MIDPOINT, SCHEDULES, STEP_FREE, get_schedule
from toolzero_verl.rewards.registry import RewardOptions, ScoreInput, register_reward

MULTI_CALL_BONUS = 0.3  # Tool Zero: bonus for an exact answer with several calls
# Tool Zero's "parameter-value error penalty" / "invalid-parameter penalty" (the two summaries' words)
VALUE_ERROR_PENALTY = 0.3
GENERAL_OFFSET = -0.5  # Tool Zero: r_general spans [−0.5, 0.5]
TOKEN_DELIMITERS = r"[^0-9A-Za-z]+"  # interpretation: "non-alphanumeric delimiters"
# Reward constants are bounded so that no sum of terms can overflow to ±inf (and then to NaN).
MAX_MAGNITUDE = 1e6

KEYS = ("score", "format", "general", "strict", "ast", "sigma", "step", "parse_ok", "n_pred_calls", "n_gt_calls",
        "invalid", "n_missing_required")


# --- the −0.3 term: when it fires (docs/rewards.md, "The −0.3 term") ----------------------------------

PenaltyTrigger = Callable[[ParsedResponse, GroundTruth, Validity], bool]


def _invalid(parsed: ParsedResponse, gt: GroundTruth, validity: Validity) -> bool:
    """Broken call syntax, or a call invalid against the offered tools (the default)."""
    return validity.error is not None


def _names_and_keys(parsed: ParsedResponse, gt: GroundTruth, validity: Validity) -> bool:
    """The earlier reading: the calls pair one-to-one with the gold calls by name and argument names."""
    return bool(gt.calls) and keys_match(parsed.calls, gt)


def _not_exact(parsed: ParsedResponse, gt: GroundTruth, validity: Validity) -> bool:
    """Any answer that is not AST-exact."""
    return True


# Called only for answers that are not AST-exact (an exact answer is always valid).
PENALTY_TRIGGERS: dict[str, PenaltyTrigger] = {
    "invalid": _invalid,
    "names_and_keys": _names_and_keys,
    "not_exact": _not_exact,
}


STEP_UNITS = ("steps", "percent")


@dataclass(frozen=True)
class GGGRPOOptions(RewardOptions):
    """GG-GRPO's options (docs/rewards.md, "GG-GRPO options")."""

    schedule: str = option("sigmoid", choices=tuple(SCHEDULES), help="σ(t): sigmoid (paper) or an ablation")
    kappa: float = option(KAPPA, above=0.0, help="steepness κ of the sigmoid")
    midpoint: float = option(MIDPOINT, help="midpoint m: σ(m) = 0.5, in units of step_unit")
    step_unit: str = option("steps", choices=STEP_UNITS, help="t = global step, or 100 · step / total steps")
    multi_call_bonus: float = option(MULTI_CALL_BONUS, min=-MAX_MAGNITUDE, max=MAX_MAGNITUDE,
                                     help="added to r_strict for an exact answer with several calls")
    multi_call_min: int = option(2, min=1, help="gold calls needed for the multi-call bonus")
    value_error_penalty: float = option(VALUE_ERROR_PENALTY, min=-MAX_MAGNITUDE, max=MAX_MAGNITUDE,
                                        help="the size of the −0.3 term of r_strict")
    penalty_trigger: str = option(
        "invalid", choices=tuple(PENALTY_TRIGGERS),
        help="when the −0.3 term fires: invalid (default) | names_and_keys (the earlier reading) | not_exact",
    )
    general_offset: float = option(GENERAL_OFFSET, min=-MAX_MAGNITUDE, max=MAX_MAGNITUDE,
                                   help="r_general = offset + token recall")
    token_delimiters: str = option(TOKEN_DELIMITERS, help="regex splitting answers into tokens T(·)")
    case_sensitive: bool = option(True, help="compare tokens case-sensitively")

    def __post_init__(self):
        super().__post_init__()
        try:
            split = _splitter(self.token_delimiters)
        except re.error as exc:
            raise ConfigError(f"option 'token_delimiters' is not a valid regular expression: {exc}") from None
        # Derived once per run and read for every scored response (not options: not fields).
        object.__setattr__(self, "_split", split)
        object.__setattr__(self, "_schedule", get_schedule(self.schedule))
        object.__setattr__(self, "_step_free", self.schedule in STEP_FREE)
        object.__setattr__(self, "_percent", self.step_unit == "percent")
        object.__setattr__(self, "_penalty", PENALTY_TRIGGERS[self.penalty_trigger])
        object.__setattr__(self, "_ref_key", ("general_ref", self.token_delimiters, self.case_sensitive))


@lru_cache(maxsize=64)
def _splitter(pattern: str):
    return _default_split if pattern == TOKEN_DELIMITERS else re.compile(pattern).split


# T(·) with the default delimiters, read for every scored response: on ASCII text (nearly every answer),
# mapping each delimiter to a space and splitting on whitespace gives the same pieces as the regex split,
# minus its empty ones (never in a reference set), in about half the time.
_DELIMITERS_TO_SPACE = str.maketrans({chr(i): " " for i in range(128) if not chr(i).isalnum()})
_regex_split = re.compile(TOKEN_DELIMITERS).split


def _default_split(text: str) -> list[str]:
    return text.translate(_DELIMITERS_TO_SPACE).split() if text.isascii() else _regex_split(text)


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


def _reference_tokens(fmt, gt, cfg: GGGRPOOptions) -> frozenset[str]:
    return tokens(reference_answer(fmt, gt), cfg.token_delimiters, cfg.case_sensitive)


def general_reward(answer: str | None, ref: frozenset[str], cfg: GGGRPOOptions, *,
                   no_call_ref: bool = False, abstained: bool = True) -> float:
    """−0.5 + recall of the reference tokens ``ref`` = T(Y*); −0.5 with no answer.

    On a no-call reference (ours, not the paper's: its summaries do not say how T(·) treats a turn
    without a call) the reward must rank an abstention above any call at every step, so a call or
    broken call syntax gets the bottom (−0.5), and an abstention (``abstained``: readable, no call)
    gets half the range for abstaining and the other half by token recall of the reference text
    (all of it when the reference has no text).

    >>> cfg = GGGRPOOptions()
    >>> ref = tokens("Which city do you mean?")
    >>> general_reward("[]", ref, cfg, no_call_ref=True), general_reward("Which city?", ref, cfg, no_call_ref=True)
    (0.0, 0.2)
    >>> general_reward("[f(city='x')]", ref, cfg, no_call_ref=True, abstained=False)
    -0.5
    """
    offset = cfg.general_offset
    if answer is None:
        return offset
    if no_call_ref:
        if not abstained:
            return offset
        if not ref:
            return offset + 1.0
        return offset + 0.5 + 0.5 * _recall(answer, ref, cfg)
    if not ref:
        return offset
    return offset + _recall(answer, ref, cfg)


def _recall(answer: str, ref: frozenset[str], cfg: GGGRPOOptions) -> float:
    """|T(Y) ∩ T(Y*)| / |T(Y*)|, without building T(Y): the reference set intersected with the raw
    split (its empty pieces are never in the reference)."""
    pieces = cfg._split(answer if cfg.case_sensitive else answer.lower())
    return len(ref.intersection(pieces)) / len(ref)


def schedule_weight(inp: ScoreInput, cfg: GGGRPOOptions) -> float:
    """σ for this row: 1 on validation rows, else the schedule at the row's step."""
    clock = inp.clock
    if not clock.is_train:
        return 1.0
    schedule = cfg._schedule
    if cfg._step_free:
        return schedule(0.0, cfg.kappa, cfg.midpoint)
    if cfg._percent:
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
    # A parse failure has no calls, so on a call reference it fails the match anyway; on a no-call
    # reference it must not pass as an abstention.
    exact = parsed.parse_ok and ast_match(parsed.calls, gt).ok
    validity = VALID if exact else check_validity(parsed.calls, gt, well_formed(parsed))
    strict = 1.0 if exact else 0.0
    if exact:
        if len(gt.calls) >= cfg.multi_call_min:
            strict += cfg.multi_call_bonus
    elif cfg._penalty(parsed, gt, validity):
        strict -= cfg.value_error_penalty
    general = 0.0
    if sigma < 1.0:
        fmt = inp.fmt
        ref = gt.memo((fmt.name, cfg._ref_key), _reference_tokens, fmt, gt, cfg)  # T(Y*), once per reference
        text = parsed.text
        if text is not None and ref and gt.calls:  # general_reward's common case, without its branches
            general = cfg.general_offset + _recall(text, ref, cfg)
        else:
            general = general_reward(text, ref, cfg, no_call_ref=not gt.calls,
                                     abstained=parsed.parse_ok and not parsed.calls)
    fmt_score = 1.0 if inp.fmt.format_ok(parsed, gt) else 0.0
    return {
        "score": fmt_score + sigma * strict + (1.0 - sigma) * general,
        "format": fmt_score,
        "general": general,
        "strict": strict,
        "ast": 1.0 if exact else 0.0,
        "sigma": sigma,
        "step": -1.0 if inp.clock.step is None else inp.clock.step,
        "parse_ok": 1.0 if parsed.parse_ok else 0.0,
        "n_pred_calls": float(len(parsed.calls)),
        "n_gt_calls": float(len(gt.calls)),
        "invalid": 0.0 if validity.error is None else 1.0,
        "n_missing_required": float(validity.missing_required),
    }
