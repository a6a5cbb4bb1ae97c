"""GG-GRPO over a whole episode (``reward="gg_grpo_episode"``; docs/rewards.md, "GG-GRPO over an episode").

The policy's turns of a multi-turn episode (the agent loop's record, ``extra_info["toolzero_episode"]``)
are aligned with the episode's gold points (:func:`toolzero_verl.core.episode.align`: each step's gold
calls, then each request's final answer), and each turn is scored at its point with GG-GRPO's terms:

- ``format``: the output format's shape check, averaged over the policy's turns;
- per unit (a turn at its point, or a point no turn reached): ``strict = exact + 0.3·[exact ∧ ≥ 2 gold
  calls] − 0.3·[not exact ∧ invalid]`` and ``general = −0.5 + token recall of the point's reference``
  (single-turn GG-GRPO's definitions); a missed point scores ``strict = 0``, ``general = −0.5``;
- ``strict`` and ``general`` are the means over units; ``score = format + σ(t)·strict + (1 − σ(t))·general``
  with σ as in single-turn GG-GRPO (validation rows: σ = 1).

Ours, not the paper's (Tool Zero defines single-turn rewards only): the alignment, the averaging over
units, the missed-point floor, and counting every extra attempt at a point as a unit (so an episode
that needs retries scores below one that does not). The parse-failure rules are single-turn GG-GRPO's:
broken call syntax is never an answer, not even where the right move is not to call, and it is invalid
(the −0.3 term); a call is invalid when it breaks its tool's schema (:mod:`toolzero_verl.core.tool_schema`).
On a final-answer point, an answer (text, no call) gets half of ``general`` for not calling and the
other half by token recall of the reference text (all of it when the corpus recorded none), and any
call or broken syntax gets the bottom, so not calling ranks above any call there at every step.

Ranking: the gold trajectory scores the maximum; a near miss, broken syntax, an early answer, an extra
turn or a truncated episode score less at every step (``tests/toolzero_verl/rewards/test_episode.py``).

>>> import json
>>> from toolzero_verl import compute_score
>>> gt = json.dumps({"episode": {"segments": [{"user": None, "steps": [{"calls": [{"name": "f",
...     "arguments": {"x": 1}}], "results": ['{"name": "f", "results": 2}']}], "answer": "It is 2."}]},
...     "tools": [{"name": "f", "parameters": {"properties": {"x": {"type": "integer"}}, "required": ["x"]}}]})
>>> turns = ['<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>', "It is 2."]
>>> r = compute_score("d", "", gt, {"split": "test", "toolzero_episode": {"turns": turns}},
...                   reward="gg_grpo_episode", output_format="hermes")
>>> r["score"], r["ast"], r["turn_ast"], r["n_points"]
(2.0, 1.0, 1.0, 2.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Sequence

from toolzero_verl.core.episode import Episode, align, load_episode
from toolzero_verl.core.formats import OutputFormat, ParsedResponse
from toolzero_verl.core.ground_truth import GroundTruth
from toolzero_verl.core.options import option
from toolzero_verl.core.tool_schema import call_problem
from toolzero_verl.rewards.gg_grpo import GGGRPOOptions, reference_answer, schedule_weight, tokens
from toolzero_verl.rewards.registry import ScoreInput, register_reward

MAX_SCORED_TURNS = 64  # turns parsed per episode; more (a hand-made record) are scored as failed units

KEYS = (
    "score", "format", "general", "strict", "ast", "turn_ast", "sigma", "step", "parse_ok", "invalid",
    "n_turns", "n_points", "n_missed", "n_pred_calls", "n_gt_calls",
    "tool_calls", "tool_errors", "tool_turns", "user_turns", "truncated",
)
# the agent loop's counts copied into the reward's components (record key -> component); −1 without a record
RECORD_COUNTS = (("calls", "tool_calls"), ("errors", "tool_errors"), ("tool_turns", "tool_turns"),
                 ("user_turns", "user_turns"))
TRUNCATED_STOPS = frozenset({"turn_limit", "response_length"})


@dataclass(frozen=True)
class EpisodeOptions(GGGRPOOptions):
    """GG-GRPO's options (docs/rewards.md), plus the bound on the turns scored."""

    max_scored_turns: int = option(MAX_SCORED_TURNS, min=1, help="turns parsed per episode; more count as failed")


class Unit(NamedTuple):
    """One scored unit: a turn at its point, or a missed point (``turn`` False)."""

    strict: float
    general: float
    exact: bool
    invalid: bool
    format: float = 0.0
    turn: bool = True


def invalid_answer(parsed: ParsedResponse, episode: Episode) -> bool:
    """Broken call syntax, or a call that breaks its tool's schema (unknown function, a parameter outside
    the schema, a missing required parameter, a value of the wrong type)."""
    if not parsed.parse_ok:
        return True
    return any(call_problem(c, episode.schema(c.name)) is not None for c in parsed.calls)


def _recall(text: str, ref: frozenset[str], cfg: EpisodeOptions) -> float:
    return len(tokens(text, cfg.token_delimiters, cfg.case_sensitive) & ref) / len(ref)


def general_at(parsed: ParsedResponse, ref_gt: GroundTruth, fmt: OutputFormat, cfg: EpisodeOptions) -> float:
    """GG-GRPO's generic term at one point (see the module docstring for final-answer points)."""
    offset = cfg.general_offset
    key = ("episode_general_ref", fmt.name, cfg.token_delimiters, cfg.case_sensitive)
    ref = ref_gt.memo(key, lambda: tokens(reference_answer(fmt, ref_gt), cfg.token_delimiters, cfg.case_sensitive))
    text = parsed.text
    if ref_gt.calls:
        return offset if text is None or not ref else offset + _recall(text, ref, cfg)
    if not parsed.parse_ok or parsed.calls or text is None:
        return offset
    return offset + 1.0 if not ref else offset + 0.5 + 0.5 * _recall(text, ref, cfg)


def score_turn(parsed: ParsedResponse, ref_gt: GroundTruth, exact: bool, inp: ScoreInput, cfg: EpisodeOptions,
               with_general: bool) -> Unit:
    invalid = not exact and invalid_answer(parsed, inp.gt)
    strict = 1.0 if exact else 0.0
    if exact and len(ref_gt.calls) >= cfg.multi_call_min:
        strict += cfg.multi_call_bonus
    elif invalid:
        strict -= cfg.value_error_penalty
    general = general_at(parsed, ref_gt, inp.fmt, cfg) if with_general else 0.0
    fmt_score = 1.0 if inp.fmt.format_ok(parsed, ref_gt) else 0.0
    return Unit(strict, general, exact, invalid, fmt_score)


def turn_texts(inp: ScoreInput) -> list[str]:
    """The policy's turns: the agent loop's record, else the whole response as one turn."""
    record = inp.trajectory
    if isinstance(record, Mapping) and isinstance(record.get("turns"), Sequence) and not isinstance(
            record.get("turns"), str):
        return [t if isinstance(t, str) else "" for t in record["turns"]]
    if inp.parsed.error == "reward_error":  # compute_score's fallback after a reward bug: nothing to score
        return []
    return [inp.response]


def _count(record: Any, key: str) -> float:
    value = record.get(key) if isinstance(record, Mapping) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return -1.0
    return float(value)


@register_reward("gg_grpo_episode", EpisodeOptions, KEYS, ground_truth=load_episode)
def gg_grpo_episode_reward(inp: ScoreInput, cfg: EpisodeOptions) -> dict[str, float]:
    episode: Episode = inp.gt
    sigma = schedule_weight(inp, cfg)
    texts = turn_texts(inp)
    extra = max(0, len(texts) - cfg.max_scored_turns)
    parsed = [inp.fmt.parse(t, episode.known_names) for t in texts[: cfg.max_scored_turns]]
    alignment = align(episode, parsed)
    with_general = sigma < 1.0
    units = [score_turn(p, episode.reference(point), ok, inp, cfg, with_general)
             for p, point, ok in zip(parsed, alignment.points, alignment.exact)]
    floor = Unit(0.0, cfg.general_offset, False, False, turn=False)
    units += [floor] * len(alignment.missed)
    units += [Unit(-cfg.value_error_penalty, cfg.general_offset, False, True)] * extra  # unparsed turns: failed
    turns = [u for u in units if u.turn]
    n_units = max(1, len(units))
    fmt_score = sum(u.format for u in turns) / len(turns) if turns else 0.0
    strict = sum(u.strict for u in units) / n_units
    general = sum(u.general for u in units) / n_units if with_general else 0.0
    record = inp.trajectory
    out = {
        "score": fmt_score + sigma * strict + (1.0 - sigma) * general,
        "format": fmt_score,
        "general": general,
        "strict": strict,
        "ast": 1.0 if units and all(u.exact for u in units) else 0.0,
        "turn_ast": sum(u.exact for u in units) / n_units,
        "sigma": sigma,
        "step": -1.0 if inp.clock.step is None else inp.clock.step,
        "parse_ok": sum(p.parse_ok for p in parsed) / len(parsed) if parsed else 0.0,
        "invalid": sum(u.invalid for u in units) / n_units,
        "n_turns": float(len(texts)),
        "n_points": float(len(episode.points)),
        "n_missed": float(len(alignment.missed)),
        "n_pred_calls": float(sum(len(p.calls) for p in parsed)),
        "n_gt_calls": float(episode.n_gold_calls),
        "truncated": 1.0 if isinstance(record, Mapping) and record.get("stop") in TRUNCATED_STOPS else 0.0,
    }
    for key, name in RECORD_COUNTS:
        out[name] = _count(record, key)
    return out
