"""``compute_score``: the one entry point with verl's reward-function signature.

verl calls ``compute_score(data_source=, solution_str=, ground_truth=, extra_info=, **reward_kwargs)``
with the decoded response. ``reward_kwargs`` pick the reward (``gg_grpo`` default, ``toolrl``,
``binary``), the output format, the parse limits and the reward's own options. The training step
comes from ``extra_info["global_steps"]`` / ``extra_info["training_progress"]`` (set by the
``toolzero`` reward manager) or from explicit ``global_steps`` / ``training_progress`` kwargs.

Model output never raises: the worst response gets the reward's lowest score. A bad ground truth
or a bad option is a bug in data or config and raises ``ValueError``.

>>> r = compute_score("demo", "no tags at all", '{"calls": [{"name": "f", "arguments": {}}]}',
...                   {"split": "train", "global_steps": 0})
>>> round(r["score"], 3), r["general"], round(r["sigma"], 3)   # (1 − σ(0))·(−0.5)
(-0.462, -0.5, 0.076)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .formats import DEFAULT_LIMITS, OutputFormat, ParsedResponse, ParseLimits, get_format
from .ground_truth import load_ground_truth
from .rewards import ConfigError, RewardSpec, ScoreInput, get_reward, warn_once  # noqa: F401 (ConfigError is public here)


DEFAULT_REWARD = "gg_grpo"
DEFAULT_FORMAT = {"toolrl": "toolrl"}  # every other reward defaults to Tool Zero's "answer" format
# Passed by verl's reward managers to every compute_score; not ours to interpret.
VERL_KWARGS = frozenset({"reward_router_address", "reward_model_tokenizer"})


def compute_score(
    data_source: str,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **reward_kwargs: Any,
) -> dict[str, float]:
    """Score one decoded response; returns ``{"score": …, <fixed component keys>}`` (all floats)."""
    extra = extra_info if type(extra_info) is dict or isinstance(extra_info, Mapping) else {}
    step = _number(reward_kwargs.pop("global_steps", None), _extra_step(extra))
    progress = _number(reward_kwargs.pop("training_progress", None), extra.get("training_progress"))
    setup = _setup(reward_kwargs)
    spec, fmt, config = setup.spec, setup.fmt, setup.config
    if progress is None and step is not None and setup.total_steps:
        progress = min(1.0, step / setup.total_steps)
    gt = load_ground_truth(ground_truth)
    is_train = extra.get("split", "train") == "train"

    response = solution_str if isinstance(solution_str, str) else ""
    try:
        parsed = fmt.parse(response, gt.known_names, setup.limits)
        result = spec.fn(ScoreInput(response, gt, fmt, parsed, step, progress, is_train), config)
    except ConfigError:
        raise
    except Exception as exc:  # a reward bug on hostile text must not kill the trainer
        result = _fallback(spec, gt, fmt, step, progress, is_train, config, exc)
    return result  # each reward returns exactly its keys, as floats (tests/toolzero_verl/test_scoring.py)


@dataclass(frozen=True)
class _Setup:
    """Everything ``compute_score`` derives from ``reward_kwargs`` (the same for every call of a run)."""

    spec: RewardSpec
    fmt: OutputFormat
    limits: ParseLimits
    config: Any
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
    """Raise ``ValueError`` now for reward options ``compute_score`` would reject (e.g. a typo)."""
    _build_setup(reward_kwargs)


def _build_setup(reward_kwargs: Mapping[str, Any]) -> _Setup:
    options = {k: v for k, v in reward_kwargs.items() if k not in VERL_KWARGS}
    reward_name = options.pop("reward", DEFAULT_REWARD)
    spec = get_reward(reward_name)
    fmt = get_format(options.pop("output_format", DEFAULT_FORMAT.get(reward_name, "answer")))
    limits = ParseLimits(
        int(options.pop("max_chars", DEFAULT_LIMITS.max_chars)), int(options.pop("max_depth", DEFAULT_LIMITS.max_depth))
    )
    config = spec.make_config(options)
    total = getattr(config, "total_training_steps", None)
    return _Setup(spec, fmt, limits, config, int(total) if total else None)


def _fallback(spec, gt, fmt, step, progress, is_train, config, exc):
    warn_once(f"{spec.name}:{type(exc).__name__}",
              f"toolzero: {spec.name} reward failed on a response ({exc!r}); scoring it as an unparseable one")
    failed = ParsedResponse(format_ok=False, parse_ok=False, error="reward_error")
    return spec.fn(ScoreInput("", gt, fmt, failed, step, progress, is_train), config)


def _extra_step(extra: Mapping[str, Any]) -> Any:
    """The step in ``extra_info``. The ``toolzero`` manager writes the trainer step together with
    ``training_progress``. verl's ``naive`` manager instead merges the rollout's weight-version
    stamps (``global_steps`` = ``max_global_steps`` = step − 1 in sync training): use version + 1."""
    if "training_progress" not in extra and extra.get("max_global_steps") is not None:
        warn_once("weight_version", "toolzero: no trainer step in extra_info (naive reward manager?); using the rollout "
                  "weight version max_global_steps + 1 as the step. reward.reward_manager.name=toolzero passes the exact step.")
        try:
            return float(extra["max_global_steps"]) + 1
        except (TypeError, ValueError):
            return None
    return extra.get("global_steps")


def _number(explicit: Any, from_extra: Any) -> float | None:
    """The explicit kwarg if given, else the extra_info value; None if neither."""
    value = from_extra if explicit is None else explicit
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"training step/progress must be a number, got {value!r}") from None
