"""The ``toolzero`` reward manager: verl's reward loop scoring with the training step attached.

verl 0.9 scores each finished trajectory in a ``RewardLoopWorker`` actor that calls
``manager.run_single(data)`` (reference §2.1). verl's built-in ``naive`` manager never passes
the training step to ``compute_score`` (reference §0.1, finding 4), so a step-dependent reward
such as GG-GRPO's σ(t) would stay at its start value. This manager:

1. decodes the last response of the trajectory as verl does (response tokens under the attention
   mask, ``skip_special_tokens=True``);
2. finds the step: ``non_tensor_batch["global_steps"]`` (verl 0.9's v1 trainer, the default),
   else the rollout weight version ``tool_extra_fields["max_global_steps"] + 1`` (verl 0.7.1+;
   exact in sync mode), else an explicit ``extra_info["global_steps"]`` in the row;
3. finds the total: ``trainer.total_training_steps``, else ``reward_kwargs.total_training_steps``,
   else ``actor_rollout_ref.actor.optim.total_training_steps // parameter_sync_step`` (verl writes
   the computed horizon there, multiplied by the v1 trainer's ``parameter_sync_step``);
4. scores off the event loop with :func:`toolzero_verl.compute_score` and the options in
   ``reward.custom_reward_function.reward_kwargs`` — unless the user set
   ``reward.custom_reward_function.path``, in which case verl's loaded function (already bound to
   those kwargs) is used instead;
5. returns ``{"reward_score", "reward_extra_info"}`` with the reward's fixed numeric keys plus
   ``training_progress`` (−1 when the total is unknown).

When a step-dependent schedule gets a training row without a step, the reward raises
:class:`~toolzero_verl.scoring.ConfigError`; this manager re-raises it naming the row and the
verl setting that delivers the step (``missing_step="warn"`` downgrades it to one warning).

This module imports verl; the reward library does not. It uses no dataclasses, so verl can also
load it by file path (which runs it outside ``sys.modules``). It is registered by
:mod:`toolzero_verl.plugin`. A runnable example (tiny tokenizer, verl's real worker) is in
``tests/toolzero_verl/test_reward_manager.py`` and ``docs/verl.md``.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Callable, Mapping, NamedTuple

from omegaconf import OmegaConf
from verl import DataProto
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase

from toolzero_verl.scoring import ConfigError
from toolzero_verl.scoring import compute_score as toolzero_compute_score

logger = logging.getLogger(__name__)

STEP_KEY = "global_steps"  # v1 trainer: non_tensor_batch key; also what compute_score reads from extra_info
PROGRESS_KEY = "training_progress"  # step / total in [0, 1]; -1 in reward_extra_info when unknown
WEIGHT_VERSION_KEY = "max_global_steps"  # rollout servers' weight-version stamp (verl 0.7.1+)
# The weight version is the step whose update produced the weights: step N is generated with
# version N - 1 in sync mode (reference §3.1(c)).
WEIGHT_VERSION_OFFSET = 1
UNKNOWN_PROGRESS = -1.0
_VERSION_KEYS = ("global_steps", "min_global_steps", "max_global_steps")  # weight-version stamps, not steps


class StepInfo(NamedTuple):
    """Where the training step of one row came from."""

    step: int | None
    source: str  # "global_steps" | "weight_version" | "extra_info" | "none"


def resolve_total_steps(config: Any, reward_kwargs: Mapping[str, Any] | None = None) -> int | None:
    """Total training steps from the verl config, or ``None`` when nothing positive is set.

    >>> from omegaconf import OmegaConf
    >>> cfg = OmegaConf.create({"trainer": {"total_training_steps": None, "use_v1": True,
    ...     "v1": {"trainer_mode": "separate_async", "separate_async": {"parameter_sync_step": 4}}},
    ...     "actor_rollout_ref": {"actor": {"optim": {"total_training_steps": 400}}}})
    >>> resolve_total_steps(cfg)
    100
    """
    total = _positive_int(_select(config, "trainer.total_training_steps"))
    if total is None and reward_kwargs:
        total = _positive_int(reward_kwargs.get("total_training_steps"))
    if total is not None:
        return total
    optim_total = _positive_int(_select(config, "actor_rollout_ref.actor.optim.total_training_steps"))
    if optim_total is None:  # verl's default is -1 until the trainer computes it
        return None
    sync_step = 1
    if _select(config, "trainer.use_v1", True):
        mode = _select(config, "trainer.v1.trainer_mode", "sync")
        sync_step = _positive_int(_select(config, f"trainer.v1.{mode}.parameter_sync_step")) or 1
    return max(1, optim_total // sync_step)


def resolve_step(non_tensor: Mapping[str, Any]) -> StepInfo:
    """The training step of one row (see the module docstring for the order)."""
    step = _int_or_none(non_tensor.get(STEP_KEY))
    if step is not None:
        return StepInfo(step, "global_steps")
    tool_fields = non_tensor.get("tool_extra_fields")
    if isinstance(tool_fields, Mapping):
        version = _int_or_none(tool_fields.get(WEIGHT_VERSION_KEY))
        if version is not None:
            return StepInfo(version + WEIGHT_VERSION_OFFSET, "weight_version")
    extra = non_tensor.get("extra_info")
    if isinstance(extra, Mapping):
        step = _int_or_none(extra.get(STEP_KEY))
        if step is not None:
            return StepInfo(step, "extra_info")
    return StepInfo(None, "none")


class ToolZeroRewardManager(RewardManagerBase):
    """Reward-loop manager ``toolzero`` (``reward.reward_manager.name=toolzero``)."""

    _toolzero_manager = True  # marker: toolzero_verl.plugin treats any class with it as ours (idempotent)

    def __init__(
        self,
        config,
        tokenizer,
        compute_score: Callable[..., Any] | None = None,
        reward_router_address: str | None = None,
        reward_model_tokenizer=None,
        **kwargs: Any,
    ):
        super().__init__(config, tokenizer, compute_score)
        reward_fn_cfg = _select(config, "reward.custom_reward_function") or {}
        self.custom_path = reward_fn_cfg.get("path") if hasattr(reward_fn_cfg, "get") else None
        self.reward_kwargs = _to_dict(reward_fn_cfg.get("reward_kwargs") if hasattr(reward_fn_cfg, "get") else None)
        if self.custom_path:
            # verl loaded the user's function and bound reward_kwargs to it (trainer/ppo/reward.py).
            if compute_score is None:
                raise ValueError(f"reward.custom_reward_function.path={self.custom_path!r} but verl passed no function")
            self.score_fn, self.score_kwargs = compute_score, {}
        else:
            # Without a custom path verl hands us its own data_source dispatcher; ours replaces it.
            self.score_fn, self.score_kwargs = toolzero_compute_score, dict(self.reward_kwargs)
        self.is_async_score = inspect.iscoroutinefunction(self.score_fn) or inspect.iscoroutinefunction(
            getattr(self.score_fn, "func", None)
        )
        self.total_steps = resolve_total_steps(config, self.reward_kwargs)
        self.router_kwargs = (
            {"reward_router_address": reward_router_address, "reward_model_tokenizer": reward_model_tokenizer}
            if reward_router_address is not None
            else {}
        )
        self._logged_weight_version = False

    async def run_single(self, data: DataProto) -> dict:
        item = data[len(data) - 1]  # multi-output trajectories: score the last one, as verl's managers do
        row = _row_label(item)
        ids = _response_ids(item, row)
        nt = item.non_tensor_batch
        reward_model = nt.get("reward_model")
        if not isinstance(reward_model, Mapping) or reward_model.get("ground_truth") is None:
            raise ValueError(
                f"toolzero reward manager: {row} has no reward_model.ground_truth; every parquet row needs "
                "reward_model={'style': 'rule', 'ground_truth': <SPEC §3 JSON>} (toolzero-prep writes it)"
            )
        info = resolve_step(nt)
        if info.source == "weight_version" and not self._logged_weight_version:
            self._logged_weight_version = True
            logger.warning(
                "toolzero: no non_tensor_batch['global_steps'] (verl 0.9 v1 trainer); using the rollout weight "
                "version + 1 as the training step (exact in sync mode, may lag in async modes)"
            )
        progress = None
        if info.step is not None and self.total_steps:
            progress = min(1.0, max(0.0, info.step / self.total_steps))
        extra = _extra_info(nt, info.step, progress)
        kwargs = dict(
            data_source=nt.get("data_source", ""),
            ground_truth=reward_model["ground_truth"],
            extra_info=extra,
            **self.router_kwargs,
            **self.score_kwargs,
        )
        try:
            if self.is_async_score:
                text = await self.loop.run_in_executor(None, self._decode, ids)
                result = await self.score_fn(solution_str=text, **kwargs)
            else:
                result = await self.loop.run_in_executor(None, self._decode_and_score, ids, kwargs)
        except ConfigError as exc:
            raise ConfigError(f"{exc}\n  {self._missing_step_hint(row, info)}") from exc
        except ValueError as exc:  # a bad ground truth or option: a data/config bug, name the row
            raise ValueError(f"toolzero reward manager: {row}: {exc}") from exc
        return _pack(result, progress)

    def _decode(self, ids) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def _decode_and_score(self, ids, kwargs: dict) -> Any:
        return self.score_fn(solution_str=self._decode(ids), **kwargs)

    def _missing_step_hint(self, row: str, info: StepInfo) -> str:
        return (
            f"[toolzero reward manager] {row}: step source={info.source}, total_training_steps={self.total_steps}. "
            "The step reaches the reward as non_tensor_batch['global_steps'] only from verl 0.9's v1 trainer "
            "(trainer.use_v1=True, the default); otherwise from the rollout weight version "
            "(tool_extra_fields['max_global_steps']). A progress-based schedule (step_unit=percent) also needs "
            "trainer.total_training_steps. To score at t=0 with one warning instead, set "
            "+reward.custom_reward_function.reward_kwargs.missing_step=warn."
        )


def _response_ids(item, row: str):
    batch = item.batch
    if batch is None or "responses" not in batch.keys() or "attention_mask" not in batch.keys():
        raise ValueError(f"toolzero reward manager: {row} lacks 'responses' or 'attention_mask' tensors")
    responses = batch["responses"]
    length = responses.shape[-1]
    valid = int(batch["attention_mask"][-length:].sum()) if length else 0
    return responses[:valid]


def _extra_info(nt: Mapping[str, Any], step: int | None, progress: float | None) -> dict:
    """The row's extra_info plus the agent loop's fields, with our step (never the weight version)."""
    row_extra = nt.get("extra_info")
    extra = dict(row_extra) if isinstance(row_extra, Mapping) else {}
    tool_fields = nt.get("tool_extra_fields")
    if isinstance(tool_fields, Mapping):
        extra.update((k, v) for k, v in tool_fields.items() if k not in _VERSION_KEYS)
    if "__num_turns__" in nt:
        extra["num_turns"] = nt["__num_turns__"]
    extra[STEP_KEY] = step
    extra[PROGRESS_KEY] = progress
    return extra


def _pack(result: Any, progress: float | None) -> dict:
    if isinstance(result, Mapping):
        if "score" not in result:
            raise ValueError(f"compute_score returned a dict without 'score': keys {sorted(result)}")
        info = {k: v for k, v in result.items()}
        score = result["score"]
    else:
        score = result
        info = {"score": score, "acc": score}  # verl's naive manager convention for a float result
    info[PROGRESS_KEY] = UNKNOWN_PROGRESS if progress is None else float(progress)
    return {"reward_score": float(score), "reward_extra_info": info}


def _row_label(item) -> str:
    nt = item.non_tensor_batch
    extra = nt.get("extra_info")
    index = extra.get("index") if isinstance(extra, Mapping) else None
    return f"row (uid={nt.get('uid')!r}, extra_info.index={index!r}, data_source={nt.get('data_source')!r})"


def _select(config: Any, key: str, default: Any = None) -> Any:
    if config is None:
        return default
    if OmegaConf.is_config(config):
        return OmegaConf.select(config, key, default=default)
    node = config
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return default
        node = node[part]
    return node


def _to_dict(node: Any) -> dict:
    if node is None:
        return {}
    if OmegaConf.is_config(node):
        return dict(OmegaConf.to_container(node, resolve=True))
    return dict(node)


def _int_or_none(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _positive_int(value: Any) -> int | None:
    number = _int_or_none(value)
    return number if number is not None and number > 0 else None


def _register() -> None:
    # Imported for its side effect by toolzero_verl.plugin; also registers when this module is
    # imported directly (or re-executed by file path: the plugin keeps the first class).
    from toolzero_verl.plugin import register_class

    register_class(ToolZeroRewardManager)


_register()
