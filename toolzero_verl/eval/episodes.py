"""Accuracy of multi-turn episodes from the policy's turns (docs/multiturn.md, "Evaluation").

``toolzero-eval score`` scores an episode row (``toolzero-prep --agent-loop``) from a generations line
that lists the policy's assistant turns in order, as the agent loop records them::

    {"index": 3, "turns": ["<tool_call>…</tool_call>", "It is 21 degrees.", "Sunny."]}

(a ``toolzero_episode`` object with a ``turns`` list, the loop's own record, works too, and its counts of
calls, errors, tool and user turns become the reward's ``tool_calls``, ``tool_errors``, ``tool_turns`` and
``user_turns``, −1 without them; a plain ``response`` counts as a one-turn episode). The turns are aligned
with the episode's gold points by :func:`toolzero_verl.core.episode.align`, the function the episode reward
uses, so:

- **episode-level accuracy** (the row's ``correct``): every gold point (each step's calls, each request's
  final answer) met exactly, with no wrong turn in between: ``gg_grpo_episode``'s ``ast`` at σ = 1;
- **turn-level accuracy** (component ``turn_accuracy``): the share of the episode's gold points met
  exactly by some turn.

The other components are the episode reward's, always ``gg_grpo_episode`` (the only reward that reads
episodes): a single-turn ``--reward`` does not apply to episode rows, and its options are not passed.

>>> from toolzero_verl.core.episode import load_episode
>>> ep = load_episode({"episode": {"segments": [{"user": None, "steps": [{"calls": [{"name": "f",
...     "arguments": {"x": 1}}]}], "answer": "ok"}]},
...     "tools": [{"name": "f", "parameters": {"properties": {"x": {"type": "integer"}}, "required": ["x"]}}]})
>>> right, wrong = ['<tool_call>{"name": "f", "arguments": {"x": %d}}</tool_call>' % x for x in (1, 2)]
>>> turn_accuracy(ep, [right, "ok"], "hermes"), turn_accuracy(ep, [right], "hermes")
(1.0, 0.5)
>>> turn_accuracy(ep, [wrong, right, "ok"], "hermes")  # a retry meets the point (the episode is not exact)
1.0
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from toolzero_verl.core.episode import RECORD_KEY, Episode, align
from toolzero_verl.core.formats import DEFAULT_LIMITS, ParseLimits, get_format
from toolzero_verl.tools.session import ANSWERED, RESPONSE_LENGTH, TURN_LIMIT

CATEGORY = "episode"  # the report category of episode rows (next to BFCL's single-turn ones)
REWARD = "gg_grpo_episode"
TURN_ACCURACY = "turn_accuracy"
MAX_TURNS = 64  # turns read per generation line (the episode reward parses at most as many)


def turns_of(obj: Mapping[str, Any]) -> list[str] | None:
    """The policy's turns in a generations line: ``turns``, else ``toolzero_episode.turns``; None when
    neither is a list of strings."""
    turns = obj.get("turns")
    if turns is None and isinstance(obj.get(RECORD_KEY), Mapping):
        turns = obj[RECORD_KEY].get("turns")
    if isinstance(turns, list) and all(isinstance(t, str) for t in turns):
        return list(turns[:MAX_TURNS])
    return None


def turn_accuracy(episode: Episode, turns: Sequence[str], output_format: str,
                  limits: ParseLimits = DEFAULT_LIMITS) -> float:
    """Share of the episode's gold points that some turn met exactly (see the module docstring)."""
    fmt = get_format(output_format)
    parsed = [fmt.parse(t, episode.known_names, limits) for t in turns[:MAX_TURNS]]
    alignment = align(episode, parsed)
    met = {point for point, ok in zip(alignment.points, alignment.exact) if ok}
    return len(met) / len(episode.points) if episode.points else 0.0


RECORD_COUNTS = ("calls", "errors", "tool_turns", "user_turns")  # the loop's counts the episode reward reports
STOPS = (ANSWERED, TURN_LIMIT, RESPONSE_LENGTH)  # why the loop's session ended an episode
MAX_COUNT = 1_000_000


def record_counts(obj: Mapping[str, Any]) -> dict[str, Any] | None:
    """The agent loop's counts and stop reason in a generations line's ``toolzero_episode`` record (what
    ``toolzero-eval generate`` writes), each kept only when well-formed (a whole number in [0, 10⁶], a known
    stop reason): the file is input, and the reward reports these numbers. None without a record.

    >>> record_counts({"toolzero_episode": {"calls": 2, "errors": float("inf"), "tool_turns": True, "stop": "x"}})
    {'calls': 2}
    """
    record = obj.get(RECORD_KEY)
    if not isinstance(record, Mapping):
        return None
    out: dict[str, Any] = {k: record[k] for k in RECORD_COUNTS if type(record.get(k)) is int
                           and 0 <= record[k] <= MAX_COUNT}
    if record.get("stop") in STOPS:
        out["stop"] = record["stop"]
    return out


def episode_extra_info(extra: Mapping[str, Any], turns: Sequence[str],
                       counts: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The reward's ``extra_info`` for an evaluated episode: validation (σ = 1) and the turns as the loop's
    record, with the loop's counts when the line had them (:func:`record_counts`)."""
    return {**extra, "split": "test", RECORD_KEY: {**(counts or {}), "turns": list(turns)}}
