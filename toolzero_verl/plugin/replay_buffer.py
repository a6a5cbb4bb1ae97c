"""Training-time reward metrics (and optional constant-group dropping) for verl 0.9's v1 trainer.

verl 0.9 logs the extra keys a reward returns only during validation; training steps log the
total score and nothing else (``_compute_metrics`` in verl's trainer/ppo/v1/trainer_base.py). The one
supported hook that runs every training step with access to finished trajectories is
``trainer.v1.sampler.custom_sampler``: a subclass of verl's ``ReplayBuffer`` whose ``sample()``
returns ``(batch, metrics)``, and verl merges those metrics into the step's logged metrics
(``_step_once`` in the same file). This module provides:

- :class:`ToolZeroReplayBuffer` (``trainer.v1.trainer_mode=sync``, the default) and
  :class:`ToolZeroReplayBufferAsync` (``colocate_async`` / ``separate_async``). After verl's own
  sampling they read the sampled trajectories' ``reward_extra_info`` from TransferQueue and add

  - ``toolzero/<key>/mean`` for every numeric reward component (GG-GRPO: score, format,
    general, strict, ast, sigma, step, parse_ok, n_pred_calls, n_gt_calls, training_progress),
  - ``toolzero/parse_failure_rate`` (mean of ``1 - parse_ok``),
  - ``toolzero/equal_reward_groups/fraction``: share of sampled GRPO groups whose rewards are all
    equal (zero advantage, no learning signal),
  - reward and sampler time, which verl's v1 trainer does not log (its ``timing_s/gen`` covers
    generation, the streaming reward and sampling together; ``timing_s/reward`` exists only with a
    colocated reward model): ``toolzero/timing_s/compute_score/{mean,max,sum}`` from verl's own
    per-trajectory timer (``AgentLoopMetrics.compute_score`` in
    ``verl/experimental/agent_loop/agent_loop.py``: the agent loop's wait for the reward worker,
    queueing included; trajectories are scored concurrently, so the sum bounds the reward's share
    of a step from above), and ``toolzero/timing_s/reward_metrics``, this sampler's own cost.

- A guard against verl's sampler waiting forever: verl 0.9.1's ``sample()`` polls TransferQueue in an
  unbounded loop until enough prompt groups are finished, so one group that never leaves "running" (a
  lost rollout request, a dead agent-loop worker) stops training silently, with the process alive
  (verl-project/verl#7155; the loop is the same in verl 0.9.1's ``trainer/ppo/v1/replay_buffer.py``).
  When the prompt and trajectory states in TransferQueue have not changed for ``stall_timeout``
  seconds, ``sample()`` raises :class:`SamplerStalled` with the counts instead, so the run fails with
  a message (and ``main_ppo`` exits) rather than idling.

- Optional dropping of those constant groups before they reach the batch
  (``drop_equal_reward_groups: true``). This reuses verl's own group filter in ``ReplayBuffer``
  (evict + refill from the dataloader), which verl only enables for its built-in buffer.

Enable (``sampler_kwargs`` keys are :class:`ReplayBufferOptions`, documented in ``docs/verl.md``)::

    trainer.v1.sampler.custom_sampler.path=pkg://toolzero_verl.plugin.replay_buffer
    trainer.v1.sampler.custom_sampler.name=ToolZeroReplayBuffer
    # optional: drop zero-variance groups (sync mode also needs data.gen_batch_size=1)
    +trainer.v1.sampler.sampler_kwargs.drop_equal_reward_groups=true
    +trainer.v1.sampler.sampler_kwargs.train_batch_size='${data.train_batch_size}'
    data.gen_batch_size=1

Metrics need the reward at sampling time, i.e. verl's streaming reward path (no reward model, or
``reward.reward_model.enable_resource_pool=True``); with a colocated reward model the trajectories
carry no ``reward_extra_info`` yet and only verl's own metrics are logged.

The averaging itself is verl-free: :func:`toolzero_verl.rewards.metrics.reward_metrics`.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import transfer_queue as tq
from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer, ReplayBufferAsync

from toolzero_verl.core.options import ConfigError, Options, option
from toolzero_verl.plugin.config_nodes import plain_config
from toolzero_verl.rewards.metrics import METRIC_PREFIX, finite, reward_metrics

logger = logging.getLogger(__name__)

CANONICAL_REWARD = "reward"  # verl's name for the token-summed rm_scores in its group filter
POLL_INTERVAL_S = 2.0  # verl's ReplayBuffer default
# Every poll is a kv_list round trip to the TransferQueue controller, which lists every key it holds while
# it also serves the agent loop's writes: more than ~20 polls a second buys nothing and loads it.
MIN_POLL_INTERVAL_S = 0.05
# No change at all in TransferQueue's prompt and trajectory states for this long means a hang. The slowest
# legitimate wait is one long generation (2,048 tokens at tens of tokens/s under load: minutes).
STALL_TIMEOUT_S = 1800.0
MIN_POLLS_PER_STALL = 10  # a stall is judged over at least this many polls
TIMER_KEY = "compute_score"  # verl's AgentLoopMetrics field: seconds the agent loop waited for the reward


class SamplerStalled(RuntimeError):
    """verl's ``sample()`` saw no progress in TransferQueue for ``stall_timeout`` seconds."""


@dataclass(frozen=True)
class ReplayBufferOptions(Options):
    """``trainer.v1.sampler.sampler_kwargs`` accepted by both buffers (docs/verl.md); unknown keys raise."""

    metric_prefix: str = option(METRIC_PREFIX, help="metric names: <prefix>/<key>/mean")
    metric_keys: tuple[str, ...] | None = option(
        None, help="reward_extra_info keys to average; None = every numeric key"
    )
    group_key: str = option("score", help="key compared within a GRPO group for the equal-reward-groups fraction")
    drop_equal_reward_groups: bool = option(False, help="evict groups whose drop_metric is equal, refill")
    drop_metric: str = option(CANONICAL_REWARD, help="'reward' (verl's rm_scores) or a reward_extra_info key")
    train_batch_size: int | None = option(None, min=1, help="sync + dropping: prompts per step")
    max_inflight_gen_batches: int = option(1, min=1, help="sync + dropping: bound on speculative refill batches")
    gen_batch_size: int = option(1, min=1, help="sync + dropping: must equal data.gen_batch_size (set it to 1)")
    poll_interval: float = option(POLL_INTERVAL_S, min=MIN_POLL_INTERVAL_S,
                                  help="seconds between polls for finished groups")
    stall_timeout: float = option(
        STALL_TIMEOUT_S, min=0.0,
        help="seconds without any change in TransferQueue's prompt and trajectory states before sample() raises "
             "instead of waiting forever; 0 = wait forever (verl's behaviour)",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if 0 < self.stall_timeout < MIN_POLLS_PER_STALL * self.poll_interval:
            raise ConfigError(
                f"option 'stall_timeout' ({self.stall_timeout:g} s) must cover at least {MIN_POLLS_PER_STALL} polls "
                f"of poll_interval={self.poll_interval:g} s, or be 0 (off)"
            )


class StallWatch:
    """How long a state has stayed the same; ``observe`` returns the seconds since it last changed.

    >>> now = [0.0]
    >>> watch = StallWatch(clock=lambda: now[0])
    >>> watch.observe((1, 2)); now[0] = 5.0; watch.observe((1, 2))
    0.0
    5.0
    >>> now[0] = 7.0; watch.observe((0, 3)); now[0] = 8.0; watch.observe((0, 3))
    0.0
    1.0
    """

    def __init__(self, clock=time.monotonic):
        self.clock = clock
        self.reset()

    def reset(self) -> None:
        self._state: object = None
        self._since = 0.0

    def observe(self, state: object) -> float:
        now = self.clock()
        if state != self._state:
            self._state, self._since = state, now
        return now - self._since


def timing_metrics(per_trajectory: Sequence[Mapping[str, Any]], prefix: str = METRIC_PREFIX) -> dict[str, float]:
    """Mean, max and sum of verl's per-trajectory ``compute_score`` seconds (``AgentLoopMetrics``).

    >>> per_trajectory = [{"compute_score": 0.25}, {"compute_score": 0.75, "generate_sequences": 2.0}]
    >>> for name, value in timing_metrics(per_trajectory).items():
    ...     print(name, value)
    toolzero/timing_s/compute_score/mean 0.5
    toolzero/timing_s/compute_score/max 0.75
    toolzero/timing_s/compute_score/sum 1.0
    """
    seconds = [s for s in (finite(m.get(TIMER_KEY)) for m in per_trajectory) if s is not None]
    if not seconds:
        return {}
    name = f"{prefix}/timing_s/{TIMER_KEY}"
    return {f"{name}/mean": sum(seconds) / len(seconds), f"{name}/max": max(seconds), f"{name}/sum": sum(seconds)}


def parse_options(sampler_kwargs: Mapping[str, Any] | None) -> ReplayBufferOptions:
    """The buffer's options from ``trainer.v1.sampler.sampler_kwargs``; bad or unknown keys raise ``ValueError``."""
    return ReplayBufferOptions.from_mapping(plain_config(sampler_kwargs), where="trainer.v1.sampler.sampler_kwargs")


class _RewardMetricsMixin:
    """Adds reward-component metrics to ``sample()`` and wires the optional group dropping."""

    def __init__(
        self,
        trainer_mode: str,
        trainer_config,
        max_off_policy_threshold,
        max_off_policy_strategy: str,
        sampler_kwargs,
        refill_fn=None,
        **kwargs: Any,
    ):
        self.toolzero_options = options = parse_options(sampler_kwargs)
        self._warned_metrics = False
        self._stall = StallWatch()
        self._stall_batch_size = 0
        if options.stall_timeout and not callable(getattr(super(), "_wait_for_next_poll", None)):
            logger.warning("toolzero sampler: this verl's ReplayBuffer has no _wait_for_next_poll; stall_timeout "
                           "cannot act (written for verl 0.9.1)")
        self._agent_loop_timers = True  # False once TransferQueue had no "metrics" field (older verl)
        if options.drop_equal_reward_groups:
            if refill_fn is None:
                raise ValueError("drop_equal_reward_groups needs verl's refill_fn (passed by the v1 trainer)")
            kwargs["filter_groups_metric"] = options.drop_metric
            if trainer_mode == "sync":
                if not options.train_batch_size:
                    raise ValueError(
                        "drop_equal_reward_groups in sync mode needs "
                        "+trainer.v1.sampler.sampler_kwargs.train_batch_size='${data.train_batch_size}' "
                        "(and data.gen_batch_size=1)"
                    )
                kwargs.update(
                    train_batch_size=options.train_batch_size,
                    gen_batch_size=options.gen_batch_size,
                    max_inflight_gen_batches=options.max_inflight_gen_batches,
                )
        kwargs.setdefault("poll_interval", options.poll_interval)
        super().__init__(
            trainer_mode=trainer_mode,
            trainer_config=trainer_config,
            max_off_policy_threshold=max_off_policy_threshold,
            max_off_policy_strategy=max_off_policy_strategy,
            sampler_kwargs=sampler_kwargs,
            refill_fn=refill_fn,
            **kwargs,
        )

    def sample(self, global_steps: int, partition_id: str, batch_size: int):
        self._stall.reset()
        self._stall_batch_size = batch_size
        batch, metrics = super().sample(global_steps=global_steps, partition_id=partition_id, batch_size=batch_size)
        if partition_id != "val":  # the trainer discards validation sampling metrics
            try:
                start = time.perf_counter()
                ours = self.batch_reward_metrics(batch)
                if ours:
                    ours[f"{self.toolzero_options.metric_prefix}/timing_s/reward_metrics"] = time.perf_counter() - start
                metrics.update(ours)
            except Exception as exc:  # noqa: BLE001 - logging must never stop training
                if not self._warned_metrics:
                    self._warned_metrics = True
                    logger.warning("toolzero sampler: reward metrics skipped: %s: %s", type(exc).__name__, exc)
        return batch, metrics

    def _wait_for_next_poll(self, partition_id: str, last_debug_time: float) -> float:
        """verl's poll wait (called by both buffers' loops after each look at TransferQueue), plus the stall check."""
        self._check_stall(partition_id)
        return super()._wait_for_next_poll(partition_id, last_debug_time)

    def _check_stall(self, partition_id: str) -> None:
        timeout = self.toolzero_options.stall_timeout
        if not timeout:
            return
        counts = {
            "pending": len(self.pending_keys[partition_id]),
            "running": len(self.running_keys[partition_id]),
            "finished": len(self.finished_keys[partition_id]),
            "failed": len(self.failure_keys[partition_id]),
            "trajectories": len(self.partitions[partition_id]),
        }
        stalled = self._stall.observe(tuple(counts.values()))
        if stalled >= timeout:
            state = ", ".join(f"{k} {v}" for k, v in counts.items())
            raise SamplerStalled(
                f"ReplayBuffer.sample() saw no change in TransferQueue for {stalled:.0f} s while waiting for "
                f"{self._stall_batch_size} finished prompt group(s) of partition {partition_id!r} ({state} "
                "prompt groups / trajectories). A group that never leaves 'running' would hang verl's sampler "
                "forever (verl-project/verl#7155): look for a failed rollout server or agent-loop worker in the "
                "Ray logs. If generation is legitimately this slow, raise "
                "+trainer.v1.sampler.sampler_kwargs.stall_timeout (0 turns the check off)."
            )

    def batch_reward_metrics(self, batch) -> dict[str, float]:
        """Read the sampled trajectories' ``reward_extra_info`` from TransferQueue and average it."""
        latest: dict[str, tuple[int, str]] = {}  # "uid_session" -> (output index, key): score the last output
        for key, tag in zip(batch.keys, batch.tags, strict=True):
            if (tag or {}).get("is_padding"):
                continue
            session, _, index = key.rpartition("_")
            position = int(index) if index.isdigit() else 0
            if session not in latest or position > latest[session][0]:
                latest[session] = (position, key)
        keys = [key for _, key in latest.values()]
        if not keys:
            return {}
        data = self._fetch(keys, batch.partition_id)
        timers = list(data["metrics"]) if "metrics" in data.keys() else [None] * len(keys)
        infos, group_ids, per_trajectory = [], [], []
        for key, value, timer in zip(keys, list(data["extra_fields"]), timers, strict=True):
            fields = getattr(value, "data", value)
            info = fields.get("reward_extra_info") if isinstance(fields, Mapping) else None
            if isinstance(info, Mapping):
                infos.append(info)
                group_ids.append(key.split("_")[0])
                timer = getattr(timer, "data", timer)
                per_trajectory.append(timer if isinstance(timer, Mapping) else {})
        options = self.toolzero_options
        metrics = reward_metrics(infos, group_ids, options.metric_keys, options.metric_prefix, options.group_key)
        if metrics:
            metrics.update(timing_metrics(per_trajectory, options.metric_prefix))
        return metrics

    def _fetch(self, keys: list[str], partition_id: str):
        if self._agent_loop_timers:
            try:
                return tq.kv_batch_get(keys=keys, partition_id=partition_id, select_fields=["extra_fields", "metrics"])
            except Exception:  # noqa: BLE001 - no per-trajectory timers stored: reward metrics only
                self._agent_loop_timers = False
        return tq.kv_batch_get(keys=keys, partition_id=partition_id, select_fields=["extra_fields"])


class ToolZeroReplayBuffer(_RewardMetricsMixin, ReplayBuffer):
    """verl's sync ``ReplayBuffer`` plus reward-component metrics (``trainer.v1.trainer_mode=sync``)."""

    def __init__(self, trainer_mode: str, *args, **kwargs):
        if trainer_mode != "sync":
            raise ValueError(
                f"ToolZeroReplayBuffer is for trainer.v1.trainer_mode=sync; with {trainer_mode!r} set "
                "trainer.v1.sampler.custom_sampler.name=ToolZeroReplayBufferAsync"
            )
        super().__init__(trainer_mode, *args, **kwargs)


class ToolZeroReplayBufferAsync(_RewardMetricsMixin, ReplayBufferAsync):
    """verl's ``ReplayBufferAsync`` plus reward-component metrics (``colocate_async``/``separate_async``)."""

