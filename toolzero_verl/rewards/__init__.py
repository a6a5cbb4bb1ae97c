"""Reward registry: each reward is a pure function of a :class:`ScoreInput` and its config.

A reward module registers itself with :func:`register_reward`, giving its name, its config
dataclass (built from ``reward_kwargs``; unknown keys are an error so recipe typos fail loudly) and
the fixed tuple of numeric keys it returns (verl logs every key and needs the same set each time).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any, Callable, Mapping, NamedTuple

from ..formats import OutputFormat, ParsedResponse
from ..ground_truth import GroundTruth


class ScoreInput(NamedTuple):
    """Everything a reward may look at for one response (a NamedTuple: built once per response)."""

    response: str
    gt: GroundTruth
    fmt: OutputFormat
    parsed: ParsedResponse
    step: float | None = None  # global training step, when known
    progress: float | None = None  # step / total steps in [0, 1], when known
    is_train: bool = True  # False for validation rows (extra_info.split != "train")


@dataclass(frozen=True)
class RewardSpec:
    name: str
    config_cls: type
    keys: tuple[str, ...]
    fn: Callable[[ScoreInput, Any], dict[str, float]]

    def make_config(self, options: Mapping[str, Any]) -> Any:
        fields = {f.name for f in dataclasses.fields(self.config_cls)}
        unknown = sorted(set(options) - fields)
        if unknown:
            raise ValueError(f"unknown option(s) {unknown} for reward {self.name!r}; valid: {sorted(fields)}")
        return self.config_cls(**options)


REWARDS: dict[str, RewardSpec] = {}

logger = logging.getLogger("toolzero_verl")
_warned: set[str] = set()


class ConfigError(ValueError):
    """A reward option or the training-step wiring is wrong (raised, never swallowed)."""


def warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning(message)


def missing_step(policy: str, what: str, key: str) -> None:
    """A train row lacks the step its schedule needs: raise ``ConfigError`` (``policy="error"``)
    or warn once (``"warn"``); the caller then scores at step 0. Never silent (SPEC §5)."""
    message = (
        f"{what} needs the training step but the row carries none. Use the 'toolzero' reward manager "
        "(reward.reward_manager.name=toolzero), which reads the step verl 0.9's v1 trainer puts in "
        "non_tensor_batch['global_steps'], or pass global_steps explicitly; missing_step='warn' scores "
        "at step 0 instead."
    )
    if policy == "error":
        raise ConfigError(message)
    warn_once(key, message)


def register_reward(name: str, config_cls: type, keys: tuple[str, ...]):
    """Decorator: ``@register_reward("binary", BinaryConfig, ("score", ...))``."""

    def wrap(fn):
        if "score" not in keys:
            raise ValueError("a reward must return 'score'")
        REWARDS[name] = RewardSpec(name, config_cls, keys, fn)
        return fn

    return wrap


def get_reward(name: str) -> RewardSpec:
    _load_builtin()
    try:
        return REWARDS[name]
    except KeyError:
        raise ValueError(f"unknown reward {name!r}; choose one of {sorted(REWARDS)}") from None


def _load_builtin() -> None:
    # Imported here, not at module top, so the registry module has no import cycle.
    from . import binary, gg_grpo, toolrl  # noqa: F401
