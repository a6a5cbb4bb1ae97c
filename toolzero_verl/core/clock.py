"""The training clock: the step a scored row belongs to, the progress through training, and what to do
when neither is known. Every reward and the verl reward manager read time through this module only.

Where the step comes from (docs/verl.md, "The training step"):

1. verl 0.9's v1 trainer puts the step at which a prompt was drawn into each row's
   ``non_tensor_batch["global_steps"]``; the ``toolzero`` reward manager copies it into
   ``extra_info["global_steps"]`` together with ``extra_info["training_progress"]``;
2. otherwise the rollout server's weight-version stamp ``max_global_steps`` (verl 0.7.1+): the step
   whose update produced the weights, so the step being generated is version + 1 in sync training;
3. otherwise an explicit ``global_steps`` given by the caller or stored in the row.

A step-dependent schedule on a training row without a step must not silently run at a constant
schedule: :func:`require_step` raises (policy ``"error"``) or warns once (``"warn"``, the row is
then scored at step 0).

>>> clock = clock_from_extra({"split": "train", "global_steps": 30}, total=120)
>>> clock.step, clock.progress, clock.is_train
(30.0, 0.25, True)
>>> clock_from_extra({"max_global_steps": 4}).step     # verl's naive manager: weight version + 1
5.0
"""

from __future__ import annotations

import math
from typing import Any, Mapping, NamedTuple

from toolzero_verl.core.logs import warn_once
from toolzero_verl.core.options import ConfigError, show

STEP_KEY = "global_steps"  # v1 trainer's non_tensor_batch key; also the extra_info key rewards read
PROGRESS_KEY = "training_progress"  # step / total in [0, 1]
WEIGHT_VERSION_KEY = "max_global_steps"  # rollout servers' weight-version stamp (verl 0.7.1+)
# Sync training generates step N with the weights of update N - 1 (verl trainer/ppo/v1/trainer_sync.py).
WEIGHT_VERSION_OFFSET = 1
VERSION_KEYS = ("global_steps", "min_global_steps", "max_global_steps")  # weight-version stamps, not steps
MISSING_STEP_POLICIES = ("error", "warn")
_EXACT_INT = 2**53  # ints below this convert to float exactly


class Clock(NamedTuple):
    """Where in training one scored row is."""

    step: float | None = None  # global training step, when known
    progress: float | None = None  # step / total steps in [0, 1], when known
    is_train: bool = True  # False for validation rows (extra_info.split != "train")


class StepInfo(NamedTuple):
    """The step of one verl row and where it came from."""

    step: int | None
    source: str  # "global_steps" | "weight_version" | "extra_info" | "none"


def clock_from_extra(
    extra_info: Mapping[str, Any] | None,
    step: Any = None,
    progress: Any = None,
    total: int | None = None,
) -> Clock:
    """The clock of a ``compute_score`` call: explicit ``step``/``progress`` win over ``extra_info``.

    Raises :class:`ConfigError` for a step or progress that is not a finite number.
    """
    # `type(...) is dict` first: verl passes plain dicts, and typing's isinstance check is slow on this hot path
    extra = extra_info if type(extra_info) is dict or isinstance(extra_info, Mapping) else {}
    if step is None:
        # _extra_step's rule, its common case inline: no weight-version stamp, the step as given
        step = _extra_step(extra) if WEIGHT_VERSION_KEY in extra else extra.get(STEP_KEY)
    if type(step) is int and -_EXACT_INT < step < _EXACT_INT:  # the common case, without finite_or_none
        step_value: float | None = float(step)
    else:
        step_value = finite_or_none(STEP_KEY, step)
    if progress is None:
        progress = extra.get(PROGRESS_KEY)
    progress_value = progress_at(step_value, total) if progress is None else finite_or_none(PROGRESS_KEY, progress)
    return tuple.__new__(Clock, (step_value, progress_value, extra.get("split", "train") == "train"))  # fast Clock(...)


def _extra_step(extra: Mapping[str, Any]) -> Any:
    """The step in ``extra_info``. verl's ``naive`` manager merges the rollout's weight-version stamps
    there (``global_steps`` = ``max_global_steps`` = step − 1 in sync training): use version + 1."""
    if PROGRESS_KEY not in extra and extra.get(WEIGHT_VERSION_KEY) is not None:
        warn_once("weight_version", "toolzero: no trainer step in extra_info (naive reward manager?); using the "
                  "rollout weight version max_global_steps + 1 as the step. reward.reward_manager.name=toolzero "
                  "passes the exact step.")
        version = finite_or_none(WEIGHT_VERSION_KEY, extra[WEIGHT_VERSION_KEY])
        return None if version is None else version + WEIGHT_VERSION_OFFSET
    return extra.get(STEP_KEY)


def resolve_step(non_tensor: Mapping[str, Any]) -> StepInfo:
    """The training step of one verl row: ``global_steps``, else weight version + 1, else ``extra_info``."""
    step = _whole(non_tensor.get(STEP_KEY))
    if step is not None:
        return StepInfo(step, "global_steps")
    tool_fields = non_tensor.get("tool_extra_fields")
    if isinstance(tool_fields, Mapping):
        version = _whole(tool_fields.get(WEIGHT_VERSION_KEY))
        if version is not None:
            return StepInfo(version + WEIGHT_VERSION_OFFSET, "weight_version")
    extra = non_tensor.get("extra_info")
    if isinstance(extra, Mapping):
        step = _whole(extra.get(STEP_KEY))
        if step is not None:
            return StepInfo(step, "extra_info")
    return StepInfo(None, "none")


def resolve_total_steps(config: Any, reward_kwargs: Mapping[str, Any] | None = None) -> int | None:
    """Total training steps from a verl config (any nested mapping), or None when nothing positive is set.

    Order: ``trainer.total_training_steps``, ``reward_kwargs["total_training_steps"]``, then the horizon
    verl computes into ``actor_rollout_ref.actor.optim.total_training_steps`` divided by the v1
    trainer's ``parameter_sync_step`` (verl trainer/ppo/v1/trainer_base.py).

    >>> cfg = {"trainer": {"total_training_steps": None, "use_v1": True,
    ...     "v1": {"trainer_mode": "separate_async", "separate_async": {"parameter_sync_step": 4}}},
    ...     "actor_rollout_ref": {"actor": {"optim": {"total_training_steps": 400}}}}
    >>> resolve_total_steps(cfg)
    100
    """
    total = _positive(select(config, "trainer.total_training_steps"))
    if total is None and reward_kwargs:
        total = _positive(reward_kwargs.get("total_training_steps"))
    if total is not None:
        return total
    optim_total = _positive(select(config, "actor_rollout_ref.actor.optim.total_training_steps"))
    if optim_total is None:  # verl's default is -1 until the trainer computes it
        return None
    sync_step = 1
    if select(config, "trainer.use_v1", True):
        mode = select(config, "trainer.v1.trainer_mode", "sync")
        sync_step = _positive(select(config, f"trainer.v1.{mode}.parameter_sync_step")) or 1
    return max(1, optim_total // sync_step)


def progress_at(step: float | None, total: int | None) -> float | None:
    """``step / total`` clipped to [0, 1]; None when either is unknown."""
    if step is None or not total:
        return None
    return min(1.0, max(0.0, step / total))


def require_step(policy: str, what: str, key: str) -> None:
    """A training row lacks the step its schedule needs: raise (``"error"``) or warn once (``"warn"``)."""
    message = (
        f"{what} needs the training step but the row carries none. Use the 'toolzero' reward manager "
        "(reward.reward_manager.name=toolzero), which reads the step verl 0.9's v1 trainer puts in "
        "non_tensor_batch['global_steps'], or pass global_steps explicitly; missing_step='warn' scores "
        "at step 0 instead."
    )
    if policy == "error":
        raise ConfigError(message)
    warn_once(f"missing_step:{key}", message)


def finite_or_none(name: str, value: Any) -> float | None:
    """``value`` as a finite float (None stays None); :class:`ConfigError` otherwise."""
    if value is None:
        return None
    if type(value) is float and value - value == 0.0:  # the common case: a finite float (inf - inf is nan)
        return value
    try:
        number = float(value)
    except OverflowError:  # an integer beyond the float range
        raise ConfigError(f"{name} must be a finite number, got {show(value)}") from None
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {show(value)}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{name} must be a finite number, got {show(value)}")
    return number


def select(config: Any, key: str, default: Any = None) -> Any:
    """``config[a][b]…`` for ``key="a.b…"`` on nested mappings (plain dicts or OmegaConf configs)."""
    node = config
    for part in key.split("."):
        try:
            if node is None or part not in node:
                return default
            node = node[part]
        except (TypeError, KeyError, AttributeError):
            return default
        except Exception:  # noqa: BLE001 - an OmegaConf interpolation that does not resolve
            return default
    return node


def _whole(value: Any) -> int | None:
    """A row's step as an int; None for anything that is not a finite number."""
    if value is None:
        return None
    if type(value) is float and value - value == 0.0:  # the common case: a finite float (inf - inf is nan)
        return value
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return int(number) if math.isfinite(number) else None


def _positive(value: Any) -> int | None:
    number = _whole(value)
    return number if number is not None and number > 0 else None
