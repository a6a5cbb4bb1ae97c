"""The ``toolzero`` reward manager: verl's reward loop scoring with the training step attached.

verl 0.9 scores each finished trajectory in a ``RewardLoopWorker`` actor that calls
``manager.run_single(data)`` (verl experimental/reward_loop/reward_loop.py). verl's built-in ``naive``
manager never passes the training step to ``compute_score``, so a step-dependent reward such as
GG-GRPO's σ(t) would stay at its start value. This manager:

1. decodes the last response of the trajectory as verl does (response tokens under the attention
   mask, ``skip_special_tokens=True``);
2. finds the step and the total with the training clock (:func:`~toolzero_verl.core.clock.resolve_step`,
   :func:`~toolzero_verl.core.clock.resolve_total_steps`): ``non_tensor_batch["global_steps"]`` from
   verl 0.9's v1 trainer, else the rollout weight version + 1, else ``extra_info["global_steps"]``;
3. puts ``global_steps`` and ``training_progress`` into ``extra_info``;
4. scores off the event loop with :func:`toolzero_verl.compute_score` and the options in
   ``reward.custom_reward_function.reward_kwargs`` — unless the user set
   ``reward.custom_reward_function.path``, in which case verl's loaded function (already bound to
   those kwargs) is used instead;
5. returns ``{"reward_score", "reward_extra_info"}`` with the reward's fixed numeric keys plus
   ``training_progress`` (−1 when the total is unknown).

When a step-dependent schedule gets a training row without a step, the reward raises
:class:`~toolzero_verl.core.options.ConfigError`; this manager re-raises it naming the row and the
verl setting that delivers the step (``missing_step="warn"`` downgrades it to one warning).

This module imports verl; the reward library does not. It uses no dataclasses, so verl can also
load it by file path (which runs it outside ``sys.modules``). It is registered by
:mod:`toolzero_verl.plugin`. A runnable example (tiny tokenizer, verl's real worker) is in
``tests/toolzero_verl/plugin/test_reward_manager.py`` and ``docs/verl.md``.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any, Callable, Mapping

from omegaconf import OmegaConf
from verl import DataProto
from verl.experimental.reward_loop.reward_manager.base import RewardManagerBase

from toolzero_verl.core.clock import (
    PROGRESS_KEY,
    STEP_KEY,
    VERSION_KEYS,
    StepInfo,
    progress_at,
    resolve_step,
    resolve_total_steps,
    select,
)
from toolzero_verl.core.options import ConfigError
from toolzero_verl.rewards.scoring import compute_score as toolzero_compute_score

logger = logging.getLogger(__name__)

UNKNOWN_PROGRESS = -1.0  # training_progress in reward_extra_info when the total is unknown


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
        reward_fn_cfg = select(config, "reward.custom_reward_function") or {}
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
                "reward_model={'style': 'rule', 'ground_truth': <ground-truth JSON, docs/rewards.md>} "
                "(toolzero-prep writes it)"
            )
        info = resolve_step(nt)
        if info.source == "weight_version" and not self._logged_weight_version:
            self._logged_weight_version = True
            logger.warning(
                "toolzero: no non_tensor_batch['global_steps'] (verl 0.9 v1 trainer); using the rollout weight "
                "version + 1 as the training step (exact in sync mode, may lag in async modes)"
            )
        progress = progress_at(info.step, self.total_steps)
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
        extra.update((k, v) for k, v in tool_fields.items() if k not in VERSION_KEYS)
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


def _to_dict(node: Any) -> dict:
    if node is None:
        return {}
    if OmegaConf.is_config(node):
        return dict(OmegaConf.to_container(node, resolve=True))
    return dict(node)


def _register() -> None:
    # Imported for its side effect by toolzero_verl.plugin; also registers when this module is
    # imported directly (or re-executed by file path: the plugin keeps the first class).
    from toolzero_verl.plugin import register_class

    register_class(ToolZeroRewardManager)


_register()
