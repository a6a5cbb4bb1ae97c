"""The custom replay buffer against verl 0.9.1's real ``ReplayBuffer`` and a real TransferQueue.

The buffer is built by verl's own ``PPOTrainer._build_replay_buffer`` from a composed
``ppo_trainer`` config, and trajectories are written to TransferQueue the way verl's agent loop
writes them (``AgentLoopOutput.as_dict()`` + ``list_of_dict_to_tensordict``, tags as in
``agent_loop_tq.py``). TransferQueue runs its controller and one storage unit as Ray actors on
CPU, so the TransferQueue tests are marked ``ray``. Not exercised here: the trainer loop itself
(``PPOTrainer.init`` needs GPU workers and vLLM), so the merge of the returned metrics into the
logged step metrics (``trainer_base.py`` ``_step_once``) is verl's code, not tested by us.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from types import SimpleNamespace

import pytest

from toolzero_verl import compute_score
from toolzero_verl.plugin.replay_buffer import parse_options

from .conftest import WEATHER_GT, answer_response, compose_ppo_config

SAMPLER_OVERRIDES = (
    "trainer.v1.sampler.custom_sampler.path=pkg://toolzero_verl.plugin.replay_buffer",
    "trainer.v1.sampler.custom_sampler.name=ToolZeroReplayBuffer",
    "+trainer.v1.sampler.sampler_kwargs.poll_interval=0.05",
)
REWARD_KWARGS = dict(reward="gg_grpo", output_format="answer", total_training_steps=100)
SAMPLE_TIMEOUT_S = 60


# --- options ---------------------------------------------------------------------------------------


def test_sampler_options_reject_typos():
    with pytest.raises(ValueError, match="drop_equal_reward_group"):
        parse_options({"drop_equal_reward_group": True})
    assert parse_options(None).drop_equal_reward_groups is False


# --- verl's builder ----------------------------------------------------------------------------------


def build_buffer(overrides=(), refill_fn=None):
    """Our sampler as verl's v1 trainer builds it (``PPOTrainer._build_replay_buffer``)."""
    from verl.trainer.ppo.v1.trainer_base import PPOTrainer

    cfg = compose_ppo_config([*SAMPLER_OVERRIDES, *overrides])
    trainer = SimpleNamespace(
        config=cfg, trainer_mode=cfg.trainer.v1.trainer_mode, _add_prompts_to_generate=refill_fn or (lambda n: n)
    )
    return PPOTrainer._build_replay_buffer(trainer)


def test_verls_builder_loads_our_classes():
    from verl.trainer.ppo.v1.replay_buffer import ReplayBuffer, ReplayBufferAsync

    from toolzero_verl.plugin.replay_buffer import ToolZeroReplayBuffer, ToolZeroReplayBufferAsync

    sync = build_buffer()
    assert type(sync) is ToolZeroReplayBuffer and isinstance(sync, ReplayBuffer)
    assert sync.filter_groups_metric is None and sync.poll_interval == 0.05
    async_buffer = build_buffer(
        ["trainer.v1.trainer_mode=colocate_async", "trainer.v1.sampler.custom_sampler.name=ToolZeroReplayBufferAsync"]
    )
    assert type(async_buffer) is ToolZeroReplayBufferAsync and isinstance(async_buffer, ReplayBufferAsync)


def test_sync_class_in_async_mode_names_the_async_class():
    with pytest.raises(ValueError, match="ToolZeroReplayBufferAsync"):
        build_buffer(["trainer.v1.trainer_mode=colocate_async"])


def test_dropping_in_sync_mode_needs_the_batch_size():
    with pytest.raises(ValueError, match=r"train_batch_size='\$\{data.train_batch_size\}'"):
        build_buffer(["+trainer.v1.sampler.sampler_kwargs.drop_equal_reward_groups=true"])
    buffer = build_buffer([
        "+trainer.v1.sampler.sampler_kwargs.drop_equal_reward_groups=true",
        "+trainer.v1.sampler.sampler_kwargs.train_batch_size=${data.train_batch_size}",
        "data.train_batch_size=16",
    ])
    assert (buffer.filter_groups_metric, buffer.train_batch_size, buffer.gen_batch_size) == ("reward", 16, 1)


# --- real TransferQueue ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def transfer_queue():
    import ray
    import transfer_queue as tq
    from omegaconf import OmegaConf

    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        # one storage unit: the controller and the unit each reserve a CPU (two in total here)
        tq.init(OmegaConf.create({"backend": {"SimpleStorage": {"num_data_storage_units": 1}}}))
        yield tq
    finally:
        try:
            tq.close()
        finally:
            ray.shutdown()


@pytest.fixture()
def tq_store(transfer_queue):
    yield transfer_queue
    for partition, items in (transfer_queue.kv_list() or {}).items():
        if items:
            transfer_queue.kv_clear(keys=list(items), partition_id=partition)


def put_group(tq, cities, step=10, partition="train", outputs_per_session=1, with_reward=True, score_seconds=None):
    """One finished GRPO group: a prompt tag plus one trajectory per city, scored by our reward."""
    from verl.experimental.agent_loop.agent_loop import AgentLoopOutput
    from verl.utils.tensordict_utils import list_of_dict_to_tensordict

    uid = str(uuid.uuid4())
    keys, fields, tags, infos = [], [], [], []
    for session, city in enumerate(cities):
        info = compute_score(
            "toolzero_test", answer_response(city), json.dumps(WEATHER_GT),
            {"split": partition if partition == "train" else "test", "global_steps": step}, **REWARD_KWARGS,
        )
        info["training_progress"] = step / 100
        infos.append(info)
        per_session = outputs_per_session if isinstance(outputs_per_session, int) else outputs_per_session[session]
        for index in range(per_session):
            output = AgentLoopOutput(
                prompt_ids=[1, 2, 3], response_ids=[4, 5], response_mask=[1, 1], num_turns=2,
                metrics={} if score_seconds is None else {"compute_score": score_seconds[session]},
                reward_score=info["score"] if with_reward else None,
                extra_fields={"reward_extra_info": dict(info)} if with_reward else {},
            )
            field = output.as_dict()
            field.update(uid=uid, session_id=session, global_steps=step)
            keys.append(f"{uid}_{session}_{index}")
            fields.append(field)
            tags.append({"status": "success", "global_steps": step, "prompt_len": 3, "response_len": 2})
    tq.kv_batch_put(keys=keys, fields=list_of_dict_to_tensordict(fields), tags=tags, partition_id=partition)
    tq.kv_put(key=uid, partition_id=partition, tag={"is_prompt": True, "status": "finished", "global_steps": step})
    return uid, infos


def sample(buffer, **kwargs):
    """``buffer.sample`` with a deadline: a wrong setup makes verl poll forever."""
    result = {}

    def run():
        try:
            result["value"] = buffer.sample(**kwargs)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test thread
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(SAMPLE_TIMEOUT_S)
    assert not thread.is_alive(), "ReplayBuffer.sample did not return"
    if "error" in result:
        raise result["error"]
    return result["value"]


def uids_of(batch) -> set[str]:
    return {key.split("_")[0] for key in batch.keys}


@pytest.mark.ray
def test_sample_adds_reward_component_means(tq_store):
    u1, infos1 = put_group(tq_store, ["Paris", "London", "Paris"], step=10)
    u2, infos2 = put_group(tq_store, ["Rome", "Paris", "Oslo"], step=10)
    batch, metrics = sample(build_buffer(), global_steps=10, partition_id="train", batch_size=2)
    assert uids_of(batch) == {u1, u2} and len(batch.keys) == 6
    every = infos1 + infos2
    for key in ("score", "format", "general", "strict", "ast", "sigma", "training_progress"):
        assert metrics[f"toolzero/{key}/mean"] == pytest.approx(sum(i[key] for i in every) / len(every))
    assert metrics["toolzero/parse_failure_rate"] == pytest.approx(1 - sum(i["parse_ok"] for i in every) / 6)
    assert metrics["toolzero/equal_reward_groups/fraction"] == 0.0
    assert metrics["toolzero/sigma/mean"] == pytest.approx(infos1[0]["sigma"]) and 0 < infos1[0]["sigma"] < 1
    # hack monitors (rewards/metrics.py): every row has a call, so only the call-row rates are logged
    assert metrics["toolzero/hack/abstention_on_call_rate"] == 0.0
    assert metrics["toolzero/hack/missing_required_rate"] == 0.0
    assert "toolzero/hack/call_on_no_call_rate" not in metrics


@pytest.mark.ray
def test_sample_adds_verls_per_trajectory_reward_time(tq_store):
    put_group(tq_store, ["Paris", "London"], score_seconds=[0.5, 1.5])
    batch, metrics = sample(build_buffer(), global_steps=10, partition_id="train", batch_size=1)
    assert metrics["toolzero/timing_s/compute_score/mean"] == pytest.approx(1.0)
    assert metrics["toolzero/timing_s/compute_score/max"] == pytest.approx(1.5)
    assert metrics["toolzero/timing_s/compute_score/sum"] == pytest.approx(2.0)
    assert 0 < metrics["toolzero/timing_s/reward_metrics"] < 10


@pytest.mark.ray
def test_each_trajectory_counts_once_however_many_outputs(tq_store):
    # verl copies the final output's reward_extra_info onto earlier outputs of a trajectory
    u, infos = put_group(tq_store, ["Paris", "London"], outputs_per_session=[3, 1])
    batch, metrics = sample(build_buffer(), global_steps=10, partition_id="train", batch_size=1)
    assert len(batch.keys) == 4
    assert [i["ast"] for i in infos] == [1.0, 0.0]
    assert metrics["toolzero/ast/mean"] == pytest.approx(0.5)  # per trajectory, not 3:1 per output


@pytest.mark.ray
def test_validation_sampling_adds_no_metrics(tq_store):
    put_group(tq_store, ["Paris", "London"], partition="val")
    batch, metrics = sample(build_buffer(), global_steps=10, partition_id="val", batch_size=1)
    assert len(batch.keys) == 2 and not any(k.startswith("toolzero/") for k in metrics)


@pytest.mark.ray
def test_trajectories_without_reward_info_sample_normally(tq_store):
    """Colocated reward model: rewards come after sampling, so there is nothing to average yet."""
    u, _ = put_group(tq_store, ["Paris", "London"], with_reward=False)
    batch, metrics = sample(build_buffer(), global_steps=10, partition_id="train", batch_size=1)
    assert uids_of(batch) == {u} and not any(k.startswith("toolzero/") for k in metrics)


@pytest.mark.ray
def test_equal_reward_groups_are_kept_and_counted_by_default(tq_store):
    put_group(tq_store, ["Paris", "Paris"])  # identical rewards: zero GRPO advantage
    put_group(tq_store, ["Paris", "London"])
    batch, metrics = sample(build_buffer(), global_steps=10, partition_id="train", batch_size=2)
    assert len(uids_of(batch)) == 2
    assert metrics["toolzero/equal_reward_groups/fraction"] == 0.5


@pytest.mark.ray
def test_drop_equal_reward_groups_evicts_and_refills(tq_store):
    equal, _ = put_group(tq_store, ["Paris", "Paris"])
    varied, _ = put_group(tq_store, ["Paris", "London"])
    refills, refill_uids = [], set()

    def refill(n):  # the trainer would fetch n prompts from the dataloader and roll them out
        refills.append(n)
        refill_uids.update(put_group(tq_store, ["London", "Paris"])[0] for _ in range(n))
        return n

    buffer = build_buffer(
        [
            "+trainer.v1.sampler.sampler_kwargs.drop_equal_reward_groups=true",
            "+trainer.v1.sampler.sampler_kwargs.drop_metric=score",
            "+trainer.v1.sampler.sampler_kwargs.train_batch_size=${data.train_batch_size}",
            "data.train_batch_size=2",
        ],
        refill_fn=refill,
    )
    batch, metrics = sample(buffer, global_steps=10, partition_id="train", batch_size=2)
    # which varied groups fill the batch is verl's choice (it may prefer the refills); only
    # groups with varied rewards may be in it, and the equal one must be gone
    assert equal not in uids_of(batch) and len(uids_of(batch)) == 2
    assert uids_of(batch) <= {varied} | refill_uids
    assert refills and metrics["training/filter_groups/evicted_samples"] == 1
    assert metrics["toolzero/equal_reward_groups/fraction"] == 0.0
    assert equal not in (tq_store.kv_list("train") or {}).get("train", {})  # evicted from the store too


@pytest.mark.ray
def test_async_variant_adds_the_same_metrics(tq_store):
    u1, infos1 = put_group(tq_store, ["Paris", "London"], step=3)
    u2, infos2 = put_group(tq_store, ["Paris", "Paris"], step=3)
    buffer = build_buffer(
        ["trainer.v1.trainer_mode=colocate_async", "trainer.v1.sampler.custom_sampler.name=ToolZeroReplayBufferAsync"]
    )
    batch, metrics = sample(buffer, global_steps=3, partition_id="train", batch_size=2)
    every = infos1 + infos2
    assert uids_of(batch) == {u1, u2}
    assert metrics["toolzero/score/mean"] == pytest.approx(sum(i["score"] for i in every) / 4)
    assert metrics["toolzero/equal_reward_groups/fraction"] == 0.5


# --- the stall guard ---------------------------------------------------------------------------------


def test_stall_timeout_must_cover_several_polls_or_be_off():
    from toolzero_verl.core.options import ConfigError

    assert parse_options({}).stall_timeout == 1800.0
    assert parse_options({"stall_timeout": 0}).stall_timeout == 0.0  # verl's behaviour: wait forever
    with pytest.raises(ConfigError, match="at least 10 polls of poll_interval=2"):
        parse_options({"stall_timeout": 5})
    with pytest.raises(ConfigError, match="poll_interval"):
        parse_options({"poll_interval": 0.001})


def put_prompt(tq, status, step=10, partition="train", uid=None):
    """A prompt group's tag as verl's agent loop keeps it (``agent_loop_tq.py``): pending, running, finished."""
    uid = uid or str(uuid.uuid4())
    tq.kv_put(key=uid, partition_id=partition, tag={"is_prompt": True, "status": status, "global_steps": step})
    return uid


@pytest.mark.ray
def test_a_group_stuck_in_running_fails_the_sample_instead_of_hanging(tq_store):
    """verl-project/verl#7155: verl's loop would poll forever; the guard raises with what it saw."""
    from toolzero_verl.plugin.replay_buffer import SamplerStalled

    put_group(tq_store, ["Paris", "London"])
    put_prompt(tq_store, "running")
    buffer = build_buffer(["+trainer.v1.sampler.sampler_kwargs.stall_timeout=1"])
    with pytest.raises(SamplerStalled) as info:
        sample(buffer, global_steps=10, partition_id="train", batch_size=2)
    message = str(info.value)
    assert "waiting for 2 finished prompt group(s) of partition 'train'" in message
    assert "running 1, finished 1" in message and "verl-project/verl#7155" in message
    assert "stall_timeout" in message


@pytest.mark.ray
def test_a_slow_but_moving_rollout_is_not_a_stall(tq_store):
    """Each change in TransferQueue restarts the clock: 4 s of waiting with a change every second passes a
    3 s stall timeout."""
    uid = put_prompt(tq_store, "pending")
    buffer = build_buffer(["+trainer.v1.sampler.sampler_kwargs.stall_timeout=3"])

    def roll_out():
        for status in ("running", "running"):
            time.sleep(1.0)
            put_prompt(tq_store, status, uid=uid)
            put_prompt(tq_store, "running")  # another group starts: the state changes
        time.sleep(1.0)
        put_group(tq_store, ["Paris", "London"])
        time.sleep(1.0)
        put_group(tq_store, ["Rome", "Paris"])

    feeder = threading.Thread(target=roll_out, daemon=True)
    feeder.start()
    start = time.monotonic()
    batch, metrics = sample(buffer, global_steps=10, partition_id="train", batch_size=2)
    feeder.join()
    assert time.monotonic() - start > 3 and len(uids_of(batch)) == 2 and "toolzero/score/mean" in metrics
