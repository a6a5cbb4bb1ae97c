"""ToolRL's reward (Qian et al. 2025, "ToolRL: Reward is All Tool Learning Needs", arXiv 2504.13958).

``score = R_format + R_correct`` (docs/rewards.md, "ToolRL"), the reward verl ships in-tree as
``verl.utils.reward_score.rlla``; with the defaults this module returns the same numbers to 1e-9.

- ``R_format ∈ {0, 1}``: the response (stripped) must match the ToolRL layout chosen from what the
  reference contains: ``<think>…</think>\\n<tool_call>\\n…\\n</tool_call>`` (calls),
  ``<think>…</think>\\n<response>…</response>`` (reply), both, or ``<think>…</think>`` (neither),
  with each tag of that layout exactly once. Other output formats use their own shape check.
- ``R_correct ∈ [−3, 3] = (max − min)·S / S_max + min`` where
  ``S = J(gold names, predicted names) + Σ_gold best(J(param names) + #equal values)``,
  ``J`` the multiset Jaccard index (1 for two empty lists), ``best`` taken over the not yet used
  predicted calls with the gold call's name (greedy, in gold order, first best wins, only a
  positive total matches), values compared with Python ``==`` (so ``1 == 1.0 == True`` but
  ``"1" != 1``) and ``S_max = 1 + Σ_gold (1 + |params|)``. An exact match of the call lists gives
  the maximum; a reference without calls gives 0; a response without a call block, an unreadable
  block, or a predicted call without a ``parameters`` object that shares its name with a gold call
  (ToolRL raises there) gives the minimum.

Options (:class:`ToolRLOptions`, each defined in docs/rewards.md, "ToolRL options"):
``matching="optimal"`` replaces the greedy pairing with a maximum-weight bipartite matching (scipy
``linear_sum_assignment``): order-independent and never lower than greedy. The ablations of the
paper's §5 are options too, each defined exactly as the environment-variable switch of the
authors' released ``rlla.py`` (repository qiancheng0/ToolRL): ``think_length_*`` (WITHLENGTH,
SCHEDULELENGTH), ``correctness_max_one`` (CORRECTMAX1), ``bounds_schedule`` (SCHEDULEREWARD,
MAX1STEP30MAX3), ``strict_names`` (REFINEDREWARD), ``per_call`` (INTERMEDIATEREWARD) and
``coarse`` (COARSEREWARD). Validation rows use the bounds of the finished schedule; a schedule that
needs the step on a training row without one follows ``missing_step``
(:func:`toolzero_verl.core.clock.require_step`).

No-call references: rlla gives correctness 0 to every response, so only its layout check (the format
term) tells an abstention from a call — and it accepts a call, or broken call syntax, written inside
the think block or the reply. ``no_call_rule="strict"`` closes that: correctness 0 only for a readable
answer without a call, the minimum for any call or broken call syntax. The default ``auto`` keeps
rlla's rule in the ``toolrl`` format (byte parity) and uses ``strict`` in the other formats, whose
format term cannot tell an abstention from a call at all (docs/rewards.md, "Ranking invariants").

Known differences from ``rlla``: responses longer than the parse limit (32 KiB) score as parse
failures without being read; keys other than ``name``/``parameters`` in a predicted object are
ignored (rlla's exact-match test would see them; with the default options this changes nothing).

>>> from toolzero_verl import compute_score
>>> gt = '<think>x</think>\\n<tool_call>\\n{"name": "f", "parameters": {"a": 1, "b": "x"}}\\n</tool_call>'
>>> ok = '<think>sure</think>\\n<tool_call>\\n{"name": "f", "parameters": {"a": 1, "b": "y"}}\\n</tool_call>'
>>> r = compute_score("rlla", ok, gt, reward="toolrl")
>>> r["format"], r["correctness"], r["score"]
(1.0, 1.5, 2.5)
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Sequence

from toolzero_verl.core.calls import ToolCall
from toolzero_verl.core.clock import require_step
from toolzero_verl.core.formats import MalformedArguments
from toolzero_verl.core.matching import count_missing_required
from toolzero_verl.core.options import ConfigError, option
from toolzero_verl.rewards.registry import RewardOptions, ScoreInput, register_reward

# ToolRL §3.3 / rlla.py: R_format ∈ [0, 1], R_correct ∈ [−3, 3].
FORMAT_BOUNDS = (0.0, 1.0)
CORRECTNESS_BOUNDS = (-3.0, 3.0)
EQUAL_MAX_BOUNDS = (-1.0, 1.0)  # CORRECTMAX1 (§5.2 "equal max")
# SCHEDULEREWARD (§5.2): bounds at step 0, and the released cap on the format minimum.
DYNAMIC_FORMAT_START = (-2.0, 2.0)
DYNAMIC_FORMAT_MIN_CAP = -1.0
DYNAMIC_CORRECTNESS_START = (-2.0, 2.0)
DYNAMIC_STEPS = 150
# MAX1STEP30MAX3 (§5.2 "two stage"): switch step and divisors.
TWO_STAGE_STEP = 30
TWO_STAGE_CORRECTNESS_DIVISOR = 3.0  # before the switch
TWO_STAGE_FORMAT_DIVISOR = 2.0  # from the switch on
# WITHLENGTH / SCHEDULELENGTH (§5.1): target think length in whitespace-separated words.
THINK_LENGTH_TARGET = 512
THINK_LENGTH_DYNAMIC = (384.0, 640.0, 105.0)  # start, end, steps (linear, not clipped, as released)

MATCHINGS = ("greedy", "optimal")
BOUNDS_SCHEDULES = ("fixed", "dynamic", "two_stage")
# How a no-call reference is scored: rlla's rule (correctness 0 for everything), or the strict rule
# (a parse failure or a call is never a correct abstention); "auto" = rlla in the toolrl format only.
NO_CALL_RULES = ("auto", "rlla", "strict")
PARITY_FORMAT = "toolrl"  # the output format in which the defaults are rlla byte for byte
# Reward bounds are limited so that no sum or difference of them overflows to ±inf (and then to NaN).
MAX_MAGNITUDE = 1e6

KEYS = (
    "score", "format", "correctness", "think_length", "exact_match",
    "format_max", "correctness_max", "step", "parse_ok", "n_pred_calls", "n_gt_calls",
    "n_missing_required",
)


@dataclass(frozen=True)
class ToolRLOptions(RewardOptions):
    """ToolRL's options (docs/rewards.md, "ToolRL options"); defaults reproduce verl's ``rlla``."""

    _aliases = {"schedule": "bounds_schedule"}  # renamed: GG-GRPO's ``schedule`` is σ(t)

    matching: str = option("greedy", choices=MATCHINGS,
                           help="greedy = ToolRL exactly; optimal = max-weight bipartite matching")
    format_max: float = option(FORMAT_BOUNDS[1], min=-MAX_MAGNITUDE, max=MAX_MAGNITUDE,
                               help="format reward of a well-formed response")
    format_min: float = option(FORMAT_BOUNDS[0], min=-MAX_MAGNITUDE, max=MAX_MAGNITUDE,
                               help="format reward of a malformed response")
    correctness_max: float = option(CORRECTNESS_BOUNDS[1], min=-MAX_MAGNITUDE, max=MAX_MAGNITUDE,
                                    help="correctness of an exact match")
    correctness_min: float = option(CORRECTNESS_BOUNDS[0], min=-MAX_MAGNITUDE, max=MAX_MAGNITUDE,
                                    help="correctness of a miss")
    no_call_rule: str = option(
        "auto", choices=NO_CALL_RULES,
        help="no-call references: rlla (correctness 0 for any response) | strict (a call or broken call syntax "
             "gets the minimum) | auto (rlla in the toolrl format, strict in the others)",
    )
    bounds_schedule: str = option("fixed", choices=BOUNDS_SCHEDULES,
                                  help="fixed | dynamic (SCHEDULEREWARD) | two_stage (MAX1STEP30MAX3)")
    schedule_steps: int = option(DYNAMIC_STEPS, min=1, help="steps of the dynamic bounds schedule")
    two_stage_step: int = option(TWO_STAGE_STEP, min=0, help="switch step of the two-stage schedule")
    coarse: bool = option(False, help="COARSEREWARD: maximum on an exact match, else minimum")
    strict_names: bool = option(False, help="REFINEDREWARD: name terms 1 only for equal lists")
    per_call: bool = option(False, help="INTERMEDIATEREWARD: per exactly matched call")
    correctness_max_one: bool = option(False, help="CORRECTMAX1: correctness bounds ±1")
    think_length_weight: float = option(0.0, min=-MAX_MAGNITUDE, max=MAX_MAGNITUDE, help="WITHLENGTH uses 1.0")
    think_length_target: float = option(THINK_LENGTH_TARGET, above=0.0, max=MAX_MAGNITUDE,
                                        help="words for the full length reward")
    think_length_dynamic: bool = option(False, help="SCHEDULELENGTH: the target grows with the step")

    def __post_init__(self):
        super().__post_init__()
        if self.coarse and self.per_call:
            raise ConfigError("options 'coarse' and 'per_call' are alternative granularities; choose one")
        object.__setattr__(self, "_final_bounds", bounds_at(self, None))  # the hot path reuses it
        object.__setattr__(self, "_needs_step", self.bounds_schedule != "fixed" or (
            self.think_length_dynamic and self.think_length_weight != 0))

    def bounds(self, step: float | None) -> "Bounds":
        """Bounds at ``step`` (``None``: the finished schedule); fixed schedules are precomputed."""
        if self.bounds_schedule == "fixed" or step is None:
            return self._final_bounds
        return bounds_at(self, step)

    @property
    def needs_step(self) -> bool:
        return self._needs_step


# --- bounds and schedules -----------------------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    format_min: float
    format_max: float
    correctness_min: float
    correctness_max: float


def bounds_at(cfg: ToolRLOptions, step: float | None) -> Bounds:
    """Reward bounds at a training step (``None`` = the finished schedule, used for validation).

    >>> b = bounds_at(ToolRLOptions(bounds_schedule="dynamic"), 75)
    >>> b.format_max, b.format_min, b.correctness_max
    (1.5, -1.0, 2.5)
    """
    cmin, cmax = EQUAL_MAX_BOUNDS if cfg.correctness_max_one else (cfg.correctness_min, cfg.correctness_max)
    fmin, fmax = cfg.format_min, cfg.format_max
    if cfg.bounds_schedule == "dynamic":
        p = 1.0 if step is None else min(1.0, max(0.0, step / cfg.schedule_steps))
        fmin = min(DYNAMIC_FORMAT_START[0] + (fmin - DYNAMIC_FORMAT_START[0]) * p, DYNAMIC_FORMAT_MIN_CAP)
        fmax = DYNAMIC_FORMAT_START[1] + (fmax - DYNAMIC_FORMAT_START[1]) * p
        cmin = DYNAMIC_CORRECTNESS_START[0] + (cmin - DYNAMIC_CORRECTNESS_START[0]) * p
        cmax = DYNAMIC_CORRECTNESS_START[1] + (cmax - DYNAMIC_CORRECTNESS_START[1]) * p
    elif cfg.bounds_schedule == "two_stage":
        if step is None or step >= cfg.two_stage_step:
            fmin, fmax = fmin / TWO_STAGE_FORMAT_DIVISOR, fmax / TWO_STAGE_FORMAT_DIVISOR
        else:
            cmin, cmax = cmin / TWO_STAGE_CORRECTNESS_DIVISOR, cmax / TWO_STAGE_CORRECTNESS_DIVISOR
    return Bounds(fmin, fmax, cmin, cmax)


def _step(inp: ScoreInput, cfg: ToolRLOptions) -> float | None:
    """The row's step; a missing step the options need is an error (or step 0 after one warning)."""
    clock = inp.clock
    if clock.step is not None or not cfg.needs_step:
        return clock.step
    length_needs_step = cfg.think_length_dynamic and cfg.think_length_weight != 0
    if not clock.is_train and not length_needs_step:
        return None  # validation rows use the finished schedule anyway
    what = f"ToolRL options (bounds_schedule={cfg.bounds_schedule!r}, think_length_dynamic={cfg.think_length_dynamic})"
    require_step(cfg.missing_step, what, "toolrl")
    return 0.0


# --- correctness ----------------------------------------------------------------------------------


_SCAN_LIMIT = 64  # above this many pairs multiset_jaccard counts instead of scanning


def multiset_jaccard(a: Sequence, b: Sequence) -> float:
    """|a ∩ b| / |a ∪ b| over multisets; 1 for two equal (also two empty) lists, 0 if one is empty.

    >>> multiset_jaccard(["f", "f", "g"], ["f", "h"])
    0.25
    """
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    if len(a) * len(b) > _SCAN_LIMIT:  # many calls (hostile output): the linear count
        ca, cb = Counter(a), Counter(b)
        inter = sum(min(n, cb[k]) for k, n in ca.items() if k in cb)
    else:  # an answer's few call names: crossing off equal items costs less than two Counters
        rest, inter = list(b), 0
        for item in a:
            if item in rest:
                rest.remove(item)
                inter += 1
    return inter / (len(a) + len(b) - inter)


def _key_jaccard(gold: dict, pred: dict) -> float:
    """Jaccard of two key sets (dict keys are unique, so this equals the multiset form)."""
    if not gold or not pred:
        return 1.0 if not gold and not pred else 0.0
    inter = len(gold.keys() & pred.keys())
    return inter / (len(gold) + len(pred) - inter)


def _name_term(gold: list, pred: list, cfg: ToolRLOptions) -> float:
    if not cfg.strict_names:
        return multiset_jaccard(gold, pred)
    if cfg.matching == "optimal":
        return 1.0 if Counter(gold) == Counter(pred) else 0.0
    return 1.0 if gold == pred else 0.0


def _param_term(gold: dict, pred: dict, cfg: ToolRLOptions) -> float:
    if not cfg.strict_names:
        return _key_jaccard(gold, pred)
    if cfg.matching == "optimal":
        return 1.0 if gold.keys() == pred.keys() else 0.0
    return 1.0 if list(gold) == list(pred) else 0.0


def _calls_equal(gold: ToolCall, pred: ToolCall) -> bool:
    """ToolRL's ``gt_tool == pd_tool``: equal names and parameters under Python ``==``."""
    return (
        gold.name == pred.name
        and not isinstance(pred.arguments, MalformedArguments)
        and gold.arguments == pred.arguments
    )


def _exact(gold: Sequence[ToolCall], pred: Sequence[ToolCall], ordered: bool) -> bool:
    if len(gold) != len(pred):
        return False
    if ordered:
        return all(_calls_equal(g, p) for g, p in zip(gold, pred))
    unused = list(pred)
    for g in gold:  # == is an equivalence on these values, so first-fit decides multiset equality
        for i, p in enumerate(unused):
            if _calls_equal(g, p):
                del unused[i]
                break
        else:
            return False
    return True


def _pair_score(gold: ToolCall, pred: ToolCall, cfg: ToolRLOptions) -> float:
    """Parameter-name term + number of gold values the predicted call repeats (ToolRL's total)."""
    g, p = gold.arguments, pred.arguments
    equal = 0
    for k, v in g.items():
        if k in p and p[k] == v:
            equal += 1
    return _param_term(g, p, cfg) + equal


def _greedy(gold: Sequence[ToolCall], pred: Sequence[ToolCall], cfg: ToolRLOptions) -> list[float]:
    """Per gold call, in order, the best still unused same-name predicted call (first best wins)."""
    used: set[int] = set()
    out = []
    for g in gold:
        best, best_i = 0.0, -1
        for i, p in enumerate(pred):
            if i in used or p.name != g.name:
                continue
            if cfg.per_call:
                if _calls_equal(g, p):
                    best, best_i = 1.0, i
                    break
                continue
            s = _pair_score(g, p, cfg)
            if s > best:
                best, best_i = s, i
        if best_i >= 0:
            used.add(best_i)
            out.append(best)
        else:
            out.append(0.0)
    return out


def _optimal(gold: Sequence[ToolCall], pred: Sequence[ToolCall], cfg: ToolRLOptions) -> list[float]:
    """Per gold call, its pair score under a maximum-weight matching (pairs only share a name)."""
    out = [0.0] * len(gold)
    by_name: dict[str, tuple[list[int], list[int]]] = {}
    for i, g in enumerate(gold):
        by_name.setdefault(g.name, ([], []))[0].append(i)
    for j, p in enumerate(pred):
        if p.name in by_name:
            by_name[p.name][1].append(j)
    for gi, pj in by_name.values():
        if not pj:
            continue
        weights = [
            [(1.0 if _calls_equal(gold[i], pred[j]) else 0.0) if cfg.per_call else _pair_score(gold[i], pred[j], cfg)
             for j in pj]
            for i in gi
        ]
        if len(gi) == 1:  # one gold call of this name: its best partner is the optimum
            out[gi[0]] = max(weights[0])
            continue
        from scipy.optimize import linear_sum_assignment  # lazy: scipy import is slow

        rows, cols = linear_sum_assignment(weights, maximize=True)
        for r, c in zip(rows, cols):
            out[gi[r]] = weights[r][c]
    return out


def correctness(gold: Sequence[ToolCall], pred: Sequence[ToolCall], parse_ok: bool,
                cmin: float, cmax: float, cfg: ToolRLOptions, strict_no_call: bool = False) -> tuple[float, bool]:
    """``(R_correct, exact match)`` for already parsed calls; ``strict_no_call``: the strict no-call rule."""
    if not gold:
        abstained = parse_ok and not pred
        return (0.0 if abstained or not strict_no_call else cmin), abstained
    if not parse_ok or not pred:
        return cmin, False
    if _exact(gold, pred, ordered=cfg.matching == "greedy"):
        return cmax, True
    if cfg.coarse:
        return cmin, False
    if not cfg.per_call:
        # ToolRL reads ``parameters`` of every same-name candidate; a missing or non-object one raises.
        names = {g.name for g in gold}
        if any(isinstance(p.arguments, MalformedArguments) and p.name in names for p in pred):
            return cmin, False
    score = _name_term([g.name for g in gold], [p.name for p in pred], cfg)
    s_max = 1.0
    pairs = (_optimal if cfg.matching == "optimal" else _greedy)(gold, pred, cfg)
    for g, s in zip(gold, pairs):
        s_max += 1.0 if cfg.per_call else 1.0 + len(g.arguments)
        score += s
    return (cmax - cmin) * score / s_max + cmin, False


# --- think length ---------------------------------------------------------------------------------


def think_length(text: str, target: float) -> float:
    """ToolRL's length reward in [0, 1]: words of the last ``<think>`` block / target, rounded to 0.01.

    >>> think_length("<think>a b c d</think>", 8)
    0.5
    """
    if "<think>" not in text or "</think>" not in text:
        return 0.0
    body = text[text.rfind("<think>") + 7:]
    end = body.find("</think>")
    if end >= 0:
        body = body[:end]
    return min(1.0, round(len(body.split()) / target, 2))


def _think_target(cfg: ToolRLOptions, step: float | None) -> float:
    if not cfg.think_length_dynamic:
        return cfg.think_length_target
    start, end, steps = THINK_LENGTH_DYNAMIC
    return (end - start) * (step or 0.0) / steps + start


# --- the reward -----------------------------------------------------------------------------------


@register_reward("toolrl", ToolRLOptions, KEYS)
def toolrl_reward(inp: ScoreInput, cfg: ToolRLOptions) -> dict[str, float]:
    clock = inp.clock
    step = clock.step if clock.step is not None or not cfg._needs_step else _step(inp, cfg)
    b = cfg._final_bounds if cfg.bounds_schedule == "fixed" else cfg.bounds(step if clock.is_train else None)
    parsed, gold = inp.parsed, inp.gt.calls
    fmt = b.format_max if inp.fmt.format_ok(parsed, inp.gt) else b.format_min
    strict_no_call = False
    if not gold:
        rule = cfg.no_call_rule
        strict_no_call = rule == "strict" or (rule == "auto" and inp.fmt.name != PARITY_FORMAT)
    corr, exact = correctness(gold, parsed.calls, parsed.parse_ok, b.correctness_min, b.correctness_max, cfg,
                              strict_no_call)
    missing = 0 if exact else count_missing_required(parsed.calls, inp.gt)  # a hack monitor (docs/verl.md)
    length = 0.0
    if cfg.think_length_weight and parsed.error != "too_long":
        length = think_length(inp.response.strip(), _think_target(cfg, step))
    return {
        "score": fmt + corr + cfg.think_length_weight * length,
        "format": fmt,
        "correctness": corr,
        "think_length": length,
        "exact_match": 1.0 if exact else 0.0,
        "format_max": b.format_max,
        "correctness_max": b.correctness_max,
        "step": -1.0 if clock.step is None else float(clock.step),
        "parse_ok": 1.0 if parsed.parse_ok else 0.0,
        "n_pred_calls": float(len(parsed.calls)),
        "n_gt_calls": float(len(gold)),
        "n_missing_required": float(missing),
    }
