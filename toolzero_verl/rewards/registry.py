"""The reward registry: each reward is a pure function of a :class:`ScoreInput` and its options.

A reward module registers itself with :func:`register_reward`, giving its name, its options class
(an :class:`RewardOptions` dataclass built from ``reward_kwargs``; unknown or badly typed options
fail loudly, docs/rewards.md lists them) and the fixed tuple of numeric keys it returns (verl logs
every key and needs the same set for every sample). Importing :mod:`toolzero_verl.rewards`
registers the built-in rewards; this module is the leaf they import.

To add a reward: write ``toolzero_verl/rewards/<name>.py`` with an options class and a
``@register_reward`` function, and import it in ``toolzero_verl/rewards/__init__.py``
(docs/architecture.md, "Add a reward").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping, NamedTuple

from toolzero_verl.core.clock import MISSING_STEP_POLICIES, Clock
from toolzero_verl.core.formats import OutputFormat, ParsedResponse
from toolzero_verl.core.ground_truth import GroundTruth, load_ground_truth
from toolzero_verl.core.options import ConfigError, Options, option


class ScoreInput(NamedTuple):
    """Everything a reward may look at for one response (a NamedTuple: built once per response)."""

    response: str
    gt: GroundTruth | Any  # what the reward's ground-truth loader returns (an Episode for episode rewards)
    fmt: OutputFormat
    parsed: ParsedResponse
    clock: Clock = Clock()
    # the agent loop's record of a multi-turn episode (its turns' texts and counts, from
    # extra_info[core.episode.RECORD_KEY]); None for single-turn rows
    trajectory: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class RewardOptions(Options):
    """The options every reward accepts, so one recipe line serves all of them."""

    total_training_steps: int | None = option(
        None, min=1, help="the run's total steps (recipes pass '${trainer.total_training_steps}'); sets progress"
    )
    missing_step: str = option(
        "error", choices=MISSING_STEP_POLICIES,
        help="a training row without the step its schedule needs: 'error' raises, 'warn' warns once and uses step 0",
    )


@dataclass(frozen=True)
class RewardSpec:
    name: str
    options_cls: type[RewardOptions]
    keys: tuple[str, ...]
    fn: Callable[[ScoreInput, Any], dict[str, float]]
    load_ground_truth: Callable[[Any], Any] = load_ground_truth

    def make_options(self, options: Mapping[str, Any]) -> RewardOptions:
        """The reward's options from ``reward_kwargs``; :class:`ConfigError` naming a bad option."""
        return self.options_cls.from_mapping(options, where=f"reward {self.name!r}")


REWARDS: dict[str, RewardSpec] = {}


def register_reward(name: str, options_cls: type[RewardOptions], keys: tuple[str, ...],
                    ground_truth: Callable[[Any], Any] = load_ground_truth):
    """Decorator: ``@register_reward("binary", BinaryOptions, ("score", ...))``.

    ``ground_truth`` loads a row's ``reward_model.ground_truth`` for this reward (the single-turn
    :class:`GroundTruth` by default; the episode reward reads an episode).
    """
    if "score" not in keys:
        raise ValueError("a reward must return 'score'")
    if not issubclass(options_cls, RewardOptions):
        raise TypeError(f"the options of reward {name!r} must derive from RewardOptions")

    def wrap(fn):
        REWARDS[name] = RewardSpec(name, options_cls, keys, fn, ground_truth)
        return fn

    return wrap


def get_reward(name: str) -> RewardSpec:
    try:
        return REWARDS[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown reward {name!r}; choose one of {', '.join(sorted(REWARDS))}") from None
