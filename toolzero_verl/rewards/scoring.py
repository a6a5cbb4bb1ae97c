"""``compute_score``: the one entry point with verl's reward-function signature.

verl calls ``compute_score(data_source=, solution_str=, ground_truth=, extra_info=, **reward_kwargs)``
with the decoded response. ``reward_kwargs`` pick the reward (``gg_grpo`` default, ``toolrl``,
``binary``), the output format, the parse limits and the reward's own options. The training step
comes from ``extra_info["global_steps"]`` / ``extra_info["training_progress"]`` (set by the
``toolzero`` reward manager) or from explicit ``global_steps`` / ``training_progress`` kwargs.

Model output never raises: the worst response gets the reward's lowest score. A bad ground truth
or a bad option is a bug in data or config and raises ``ValueError`` (:class:`ConfigError` for options).

>>> r = compute_score("demo", "no tags at all", '{"calls": [{"name": "f", "arguments": {}}]}',
...                   {"split": "train", "global_steps": 0})
>>> round(r["score"], 3), r["general"], round(r["sigma"], 3)   # (1 − σ(0))·(−0.5)
(-0.462, -0.5, 0.076)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from toolzero_verl.core.clock import Clock, clock_from_extra
from toolzero_verl.core.episode import RECORD_KEY
from toolzero_verl.core.formats import (
    DEFAULT_LIMITS,
    FORMATS,
    OutputFormat,
    ParsedResponse,
    ParseLimits,
    get_format,
)
from toolzero_verl.core.logs import warn_once
from toolzero_verl.core.options import ConfigError, Options, option
from toolzero_verl.rewards.registry import RewardOptions, RewardSpec, ScoreInput, get_reward

DEFAULT_REWARD = "gg_grpo"
DEFAULT_FORMAT = {"toolrl": "toolrl"}  # every other reward defaults to Tool Zero's "answer" format
# Passed by verl's reward managers to every compute_score; not ours to interpret.
VERL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})

__all__ = ["ConfigError", "ScoringOptions", "check_options", "compute_score"]


@dataclass(frozen=True)
class ScoringOptions(Options):
    """The options ``compute_score`` reads itself; every other ``reward_kwargs`` key goes to the reward."""

    reward: str = option(DEFAULT_REWARD, help="gg_grpo (Tool Zero, default) | gg_grpo_episode (GG-GRPO over a "
                         "multi-turn episode) | toolrl (ToolRL) | binary (Tool-N1)")
    output_format: str | None = option(
        None,
        help=f"what the policy writes ({', '.join(sorted(FORMATS))}); default: toolrl for reward=toolrl, else answer",
    )
    max_chars: int = option(DEFAULT_LIMITS.max_chars, min=1, help="longer responses score as parse failures, unparsed")
    max_depth: int = option(DEFAULT_LIMITS.max_depth, min=1, help="deeper nesting of call values is a parse failure")


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **reward_kwargs: Any,
) -> dict[str, float]:
    """Score one decoded response; returns ``{"score": …, <fixed component keys>}`` (all floats)."""
    step = progress = None
    if reward_kwargs:
        step = reward_kwargs.pop("global_steps", None)
        progress = reward_kwargs.pop("training_progress", None)
    setup = _setup(reward_kwargs)
    clock = clock_from_extra(extra_info, step, progress, setup.total_steps)
    gt = setup.spec.load_ground_truth(ground_truth)
    response = solution_str if type(solution_str) is str or isinstance(solution_str, str) else ""
    # the agent loop's record (episode rows only); type checks first: this runs for every response
    record = extra_info.get(RECORD_KEY) if type(extra_info) is dict or isinstance(extra_info, Mapping) else None
    if record is not None and not isinstance(record, Mapping):
        record = None
    try:
        parsed = setup.fmt.parse(response, gt.known_names, setup.limits)
        # tuple.__new__: the NamedTuple constructor is a Python function, and this runs for every response
        return setup.spec.fn(tuple.__new__(ScoreInput, (response, gt, setup.fmt, parsed, clock, record)),
                             setup.options)
    except ConfigError:
        raise
    except Exception as exc:  # a reward bug on hostile text must not kill the trainer
        return _fallback(setup, gt, clock, exc)


@dataclass(frozen=True)
class _Setup:
    """Everything ``compute_score`` derives from ``reward_kwargs`` (the same for every call of a run)."""

    spec: RewardSpec
    fmt: OutputFormat
    limits: ParseLimits
    options: RewardOptions
    total_steps: int | None


_SETUPS: dict[tuple, _Setup] = {}


def _setup(reward_kwargs: dict[str, Any]) -> _Setup:
    try:
        key = tuple(reward_kwargs.items())
        return _SETUPS[key]
    except TypeError:  # an unhashable option value: build it every time
        return _build_setup(reward_kwargs)
    except KeyError:
        setup = _build_setup(reward_kwargs)
        if len(_SETUPS) < 1024:
            _SETUPS[key] = setup
        return setup


def check_options(**reward_kwargs: Any) -> None:
    """Raise :class:`ConfigError` now for reward options ``compute_score`` would reject (e.g. a typo)."""
    _build_setup(reward_kwargs)


def _build_setup(reward_kwargs: Mapping[str, Any]) -> _Setup:
    options = {k: v for k, v in reward_kwargs.items() if k not in VERL_KWARGS}
    own = {name: options.pop(name) for name in ScoringOptions.__dataclass_fields__ if name in options}
    scoring = ScoringOptions(**own)
    spec = get_reward(scoring.reward)
    fmt = get_format(scoring.output_format or DEFAULT_FORMAT.get(scoring.reward, "answer"))
    reward_options = spec.make_options(options)
    return _Setup(spec, fmt, ParseLimits(scoring.max_chars, scoring.max_depth), reward_options,
                  reward_options.total_training_steps)


def _fallback(setup: _Setup, gt, clock: Clock, exc: Exception) -> dict[str, float]:
    name = setup.spec.name
    warn_once(f"{name}:{type(exc).__name__}",
              f"toolzero: {name} reward failed on a response ({exc!r}); scoring it as an unparseable one")
    failed = ParsedResponse(format_ok=False, parse_ok=False, error="reward_error")
    return setup.spec.fn(ScoreInput("", gt, setup.fmt, failed, clock), setup.options)
