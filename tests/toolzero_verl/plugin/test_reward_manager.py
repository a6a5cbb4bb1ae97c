"""The ``toolzero`` reward manager driven by verl 0.9.1's real Hydra config and ``RewardLoopWorker``.

Each test builds the worker the trainer builds (``RewardLoopWorker(cfg)``, here without Ray; one
test runs verl's ``RewardLoopManager`` under Ray) and scores ``DataProto`` batches made with a
tiny offline tokenizer and a real chat template. Expected schedule values come from
:func:`toolzero_verl.core.schedules.sigmoid`, expected rewards from the reward's own components.
"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from toolzero_verl import compute_score
from toolzero_verl.core.schedules import sigmoid

from .conftest import WEATHER_GT, answer_response, make_batch

KAPPA, MIDPOINT, TOTAL = 0.1, 25, 100
TIMEOUT_S = 60  # a malformed batch must fail or score well within this, never hang


def score_with_worker(cfg, batch) -> list[dict]:
    """``RewardLoopWorker(cfg).compute_score_batch(batch)``, built inside the running loop (docs/verl.md)."""
    from verl.experimental.reward_loop import RewardLoopWorker

    async def run():
        worker = RewardLoopWorker(cfg)
        return await asyncio.wait_for(worker.compute_score_batch(batch), TIMEOUT_S)

    return asyncio.run(run())


def assert_gg_grpo_consistent(info: dict) -> None:
    """GG-GRPO's definition: score = format + σ·strict + (1 − σ)·general (docs/rewards.md)."""
    expected = info["format"] + info["sigma"] * info["strict"] + (1 - info["sigma"]) * info["general"]
    assert info["score"] == pytest.approx(expected)


def test_recipe_config_resolves_to_our_manager(recipe_config_factory):
    from verl.trainer.ppo.reward import resolve_reward_manager_cls

    import toolzero_verl.plugin  # noqa: F401  (normally loaded by `import verl`)
    from toolzero_verl.plugin.reward_manager import ToolZeroRewardManager

    cfg = recipe_config_factory()
    assert resolve_reward_manager_cls(cfg) is ToolZeroRewardManager
    assert cfg.reward.custom_reward_function.path is None  # the recipes rely on our built-in compute_score


def test_sigma_and_score_follow_the_sigmoid_over_global_steps(recipe_config_factory, tiny_tokenizer):
    cfg = recipe_config_factory()
    # A wrong city: a valid near miss, so strict is 0 (the −0.3 term is for invalid answers), and general
    # (token overlap) is higher, so the score moves with σ.
    steps = (0, 25, 100)
    rows = [{"response": answer_response("London"), "ground_truth": WEATHER_GT, "step": s} for s in steps]
    out = score_with_worker(cfg, make_batch(tiny_tokenizer, rows))
    infos = [o["reward_extra_info"] for o in out]
    for step, o, info in zip(steps, out, infos):
        assert info["sigma"] == pytest.approx(sigmoid(step, KAPPA, MIDPOINT))
        assert info["step"] == step
        assert info["training_progress"] == pytest.approx(step / TOTAL)
        assert o["reward_score"] == pytest.approx(info["score"])
        assert_gg_grpo_consistent(info)
        assert (info["strict"], info["invalid"]) == (0.0, 0.0) and info["general"] > info["strict"]
    scores = [o["reward_score"] for o in out]
    assert scores[0] > scores[1] > scores[2]  # the wrong value's token credit fades as σ grows


def test_worker_matches_direct_compute_score(recipe_config_factory, tiny_tokenizer):
    """The manager's decoding loses nothing: same result as compute_score on the original text."""
    cfg = recipe_config_factory()
    text = answer_response("Paris")
    row = {"response": text, "ground_truth": WEATHER_GT, "step": 25}
    out = score_with_worker(cfg, make_batch(tiny_tokenizer, [row]))
    direct = compute_score(
        "toolzero_test", text, json.dumps(WEATHER_GT), {"split": "train", "global_steps": 25},
        reward="gg_grpo", output_format="answer", kappa=KAPPA, midpoint=MIDPOINT, total_training_steps=TOTAL,
    )
    info = out[0]["reward_extra_info"]
    assert {k: info[k] for k in direct} == pytest.approx(direct)
    assert info["ast"] == 1.0 and info["format"] == 1.0


def test_fixed_keys_on_every_row(recipe_config_factory, tiny_tokenizer):
    from toolzero_verl.rewards.gg_grpo import KEYS

    cfg = recipe_config_factory()
    rows = [
        {"response": answer_response("Paris"), "ground_truth": WEATHER_GT, "step": 3},
        {"response": "no tags at all", "ground_truth": WEATHER_GT, "step": 3},
        {"response": "", "ground_truth": WEATHER_GT, "step": 3, "split": "test"},
    ]
    out = score_with_worker(cfg, make_batch(tiny_tokenizer, rows))
    key_sets = {tuple(sorted(o["reward_extra_info"])) for o in out}
    assert key_sets == {tuple(sorted(set(KEYS) | {"training_progress"}))}
    assert all(isinstance(v, float) for o in out for v in o["reward_extra_info"].values())


def test_validation_rows_use_sigma_one(recipe_config_factory, tiny_tokenizer):
    cfg = recipe_config_factory()
    rows = [{"response": answer_response("London"), "ground_truth": WEATHER_GT, "step": 0, "split": "test"}]
    info = score_with_worker(cfg, make_batch(tiny_tokenizer, rows))[0]["reward_extra_info"]
    assert info["sigma"] == 1.0
    assert info["score"] == pytest.approx(info["format"] + info["strict"])


def test_missing_step_fails_naming_the_verl_setting_and_row(recipe_config_factory, tiny_tokenizer):
    from toolzero_verl.rewards.scoring import ConfigError

    cfg = recipe_config_factory()
    rows = [{"response": answer_response("Paris"), "ground_truth": WEATHER_GT, "uid": "prompt-7"}]
    with pytest.raises(ConfigError) as err:
        score_with_worker(cfg, make_batch(tiny_tokenizer, rows, with_step=False))
    message = str(err.value)
    assert "trainer.use_v1" in message and "global_steps" in message and "missing_step=warn" in message
    assert "prompt-7" in message


def test_missing_step_on_validation_rows_is_fine(recipe_config_factory, tiny_tokenizer):
    cfg = recipe_config_factory()
    rows = [{"response": answer_response("Paris"), "ground_truth": WEATHER_GT, "split": "test"}]
    info = score_with_worker(cfg, make_batch(tiny_tokenizer, rows, with_step=False))[0]["reward_extra_info"]
    assert info["sigma"] == 1.0 and info["step"] == -1.0


def test_missing_step_warn_option_scores_at_t0_with_one_warning(
    recipe_config_factory, tiny_tokenizer, caplog, monkeypatch
):
    import toolzero_verl.core.logs as rewards

    monkeypatch.setattr(rewards, "_warned", set())  # the warning is once per process
    cfg = recipe_config_factory(["+reward.custom_reward_function.reward_kwargs.missing_step=warn"])
    rows = [{"response": answer_response("Paris"), "ground_truth": WEATHER_GT}] * 3
    with caplog.at_level(logging.WARNING, logger="toolzero_verl"):
        out = score_with_worker(cfg, make_batch(tiny_tokenizer, rows, with_step=False))
    assert [o["reward_extra_info"]["sigma"] for o in out] == pytest.approx([sigmoid(0, KAPPA, MIDPOINT)] * 3)
    assert all(o["reward_extra_info"]["training_progress"] == -1.0 for o in out)
    warnings = [r for r in caplog.records if "needs the training step" in r.getMessage()]
    assert len(warnings) == 1


def test_weight_version_fallback_is_version_plus_one(recipe_config_factory, tiny_tokenizer):
    """Without the v1 step (verl 0.7.1-0.8 or use_v1=False) the rollout weight version stands in."""
    cfg = recipe_config_factory()
    stamps = {"global_steps": 24, "min_global_steps": 24, "max_global_steps": 24, "turn_scores": []}
    rows = [{"response": answer_response("Paris"), "ground_truth": WEATHER_GT, "tool_extra_fields": stamps}]
    info = score_with_worker(cfg, make_batch(tiny_tokenizer, rows, with_step=False))[0]["reward_extra_info"]
    assert info["step"] == 25 and info["sigma"] == pytest.approx(0.5)


def test_v1_step_wins_over_weight_version(recipe_config_factory, tiny_tokenizer):
    cfg = recipe_config_factory()
    rows = [{"response": answer_response("Paris"), "ground_truth": WEATHER_GT, "step": 50,
             "tool_extra_fields": {"global_steps": 10, "max_global_steps": 10}}]
    info = score_with_worker(cfg, make_batch(tiny_tokenizer, rows))[0]["reward_extra_info"]
    assert info["step"] == 50 and info["sigma"] == pytest.approx(sigmoid(50, KAPPA, MIDPOINT))


def test_total_falls_back_to_optim_steps_over_parameter_sync_step(recipe_config_factory, tiny_tokenizer):
    # What verl's v1 trainer writes when trainer.total_training_steps is unset: epochs x steps,
    # times parameter_sync_step (4 in separate_async), into the actor's optim config.
    cfg = recipe_config_factory(
        ["actor_rollout_ref.actor.optim.total_training_steps=400", "trainer.v1.trainer_mode=separate_async"],
        total_steps=None,
    )
    assert cfg.trainer.total_training_steps is None
    rows = [{"response": answer_response("Paris"), "ground_truth": WEATHER_GT, "step": 30}]
    info = score_with_worker(cfg, make_batch(tiny_tokenizer, rows))[0]["reward_extra_info"]
    assert info["training_progress"] == pytest.approx(30 / 100)


def test_percent_unit_uses_training_progress(recipe_config_factory, tiny_tokenizer):
    cfg = recipe_config_factory(["+reward.custom_reward_function.reward_kwargs.step_unit=percent"], total_steps=200)
    rows = [{"response": answer_response("Paris"), "ground_truth": WEATHER_GT, "step": 50}]
    info = score_with_worker(cfg, make_batch(tiny_tokenizer, rows))[0]["reward_extra_info"]
    assert info["training_progress"] == pytest.approx(0.25)
    assert info["sigma"] == pytest.approx(sigmoid(25.0, KAPPA, MIDPOINT))  # t = 100 * 50 / 200 percent


def test_percent_unit_without_total_fails_loudly(recipe_config_factory, tiny_tokenizer):
    from toolzero_verl.rewards.scoring import ConfigError

    cfg = recipe_config_factory(["+reward.custom_reward_function.reward_kwargs.step_unit=percent"], total_steps=None)
    rows = [{"response": answer_response("Paris"), "ground_truth": WEATHER_GT, "step": 50}]
    with pytest.raises(ConfigError, match="trainer.total_training_steps"):
        score_with_worker(cfg, make_batch(tiny_tokenizer, rows))


# --- malformed batches: a score or an error naming the row, never a hang -------------------------


def test_empty_and_padding_only_responses_score_as_failures(recipe_config_factory, tiny_tokenizer):
    cfg = recipe_config_factory()
    rows = [
        {"response": "", "ground_truth": WEATHER_GT, "step": 10},  # only the EOS token
        {"response": None, "ground_truth": WEATHER_GT, "step": 10},  # nothing but padding
    ]
    out = score_with_worker(cfg, make_batch(tiny_tokenizer, rows))
    for o in out:
        info = o["reward_extra_info"]
        assert info["format"] == 0.0 and info["ast"] == 0.0 and info["n_pred_calls"] == 0.0
        assert o["reward_score"] == pytest.approx(info["score"])
        assert_gg_grpo_consistent(info)


def test_padding_tokens_inside_the_mask_are_not_decoded_as_text(recipe_config_factory, tiny_tokenizer):
    """A response whose every token is the pad/EOS special token decodes to '' (skip_special_tokens)."""
    import torch

    cfg = recipe_config_factory()
    batch = make_batch(tiny_tokenizer, [{"response": None, "ground_truth": WEATHER_GT, "step": 10}])
    batch.batch["attention_mask"][:, -batch.batch["responses"].shape[-1]:] = 1  # pads counted as response
    assert torch.all(batch.batch["responses"] == tiny_tokenizer.pad_token_id)
    info = score_with_worker(cfg, batch)[0]["reward_extra_info"]
    empty = compute_score(
        "toolzero_test", "", json.dumps(WEATHER_GT), {"split": "train", "global_steps": 10},
        reward="gg_grpo", output_format="answer", kappa=KAPPA, midpoint=MIDPOINT,
    )
    assert {k: info[k] for k in empty} == pytest.approx(empty)


def test_missing_ground_truth_names_the_row(recipe_config_factory, tiny_tokenizer):
    cfg = recipe_config_factory()
    rows = [
        {"response": answer_response("Paris"), "ground_truth": WEATHER_GT, "step": 1, "uid": "good"},
        {"response": answer_response("Paris"), "ground_truth": None, "step": 1, "uid": "bad-row"},
    ]
    with pytest.raises(ValueError, match=r"bad-row.*ground_truth"):
        score_with_worker(cfg, make_batch(tiny_tokenizer, rows))


def test_missing_reward_model_column_names_the_row(recipe_config_factory, tiny_tokenizer):
    cfg = recipe_config_factory()
    rows = [{"response": answer_response("Paris"), "step": 1, "uid": "no-reward-model"}]
    with pytest.raises(ValueError, match=r"no-reward-model.*ground_truth"):
        score_with_worker(cfg, make_batch(tiny_tokenizer, rows))


def test_unparseable_ground_truth_names_the_row(recipe_config_factory, tiny_tokenizer):
    cfg = recipe_config_factory()
    rows = [{"response": answer_response("Paris"), "ground_truth": "{not json", "step": 1, "uid": "broken-gt"}]
    with pytest.raises(ValueError, match="broken-gt"):
        score_with_worker(cfg, make_batch(tiny_tokenizer, rows))


# --- custom reward functions -----------------------------------------------------------------------


def test_custom_path_replaces_our_compute_score(recipe_config_factory, tiny_tokenizer, tmp_path):
    """With reward.custom_reward_function.path set, the manager calls that function with our step info."""
    module = tmp_path / "progress_reward.py"
    module.write_text(
        "def compute_score(data_source, solution_str, ground_truth, extra_info=None, scale=1.0, **kw):\n"
        "    return {'score': scale * extra_info['training_progress'],\n"
        "            'seen_step': float(extra_info['global_steps'])}\n"
    )
    cfg = recipe_config_factory(
        [f"reward.custom_reward_function.path={module}", "+reward.custom_reward_function.reward_kwargs.scale=2.0"]
    )
    rows = [{"response": "anything", "ground_truth": WEATHER_GT, "step": 40}]
    out = score_with_worker(cfg, make_batch(tiny_tokenizer, rows))[0]
    assert out["reward_score"] == pytest.approx(2.0 * 40 / TOTAL)
    assert out["reward_extra_info"] == {"score": pytest.approx(0.8), "seen_step": 40.0, "training_progress": 0.4}


def test_pkg_path_to_our_compute_score_with_our_manager(recipe_config_factory, tiny_tokenizer):
    cfg = recipe_config_factory(["reward.custom_reward_function.path=pkg://toolzero_verl.rewards.scoring"])
    rows = [{"response": answer_response("London"), "ground_truth": WEATHER_GT, "step": 25}]
    info = score_with_worker(cfg, make_batch(tiny_tokenizer, rows))[0]["reward_extra_info"]
    assert info["sigma"] == pytest.approx(0.5) and info["training_progress"] == pytest.approx(0.25)


def test_pkg_compute_score_with_verls_naive_manager(recipe_config_factory, tiny_tokenizer):
    """Item 3: users who want only the reward use verl's ``naive`` manager and our function."""
    cfg = recipe_config_factory(
        [
            "reward.reward_manager.name=naive",
            "reward.custom_reward_function.path=pkg://toolzero_verl.rewards.scoring",
            "reward.custom_reward_function.name=compute_score",
            "+reward.custom_reward_function.reward_kwargs.reward=gg_grpo",
            "+reward.custom_reward_function.reward_kwargs.output_format=answer",
            "+reward.custom_reward_function.reward_kwargs.schedule=constant_strict",
        ],
        reward=False,
    )
    invalid = answer_response("Paris").replace("city=", "town=")  # a parameter the schema does not have
    rows = [
        {"response": answer_response("Paris"), "ground_truth": WEATHER_GT, "step": 5},
        {"response": answer_response("London"), "ground_truth": WEATHER_GT, "step": 5, "split": "test"},
        {"response": invalid, "ground_truth": WEATHER_GT, "step": 5},
    ]
    out = score_with_worker(cfg, make_batch(tiny_tokenizer, rows))
    assert [o["reward_extra_info"]["ast"] for o in out] == [1.0, 0.0, 0.0]
    # a near miss is valid (no −0.3); the unknown parameter makes the answer invalid
    assert [o["reward_score"] for o in out] == pytest.approx([2.0, 1.0, 1.0 - 0.3])
    assert all(o["reward_extra_info"]["sigma"] == 1.0 for o in out)


def test_naive_manager_with_a_step_schedule_does_not_train_silently(recipe_config_factory, tiny_tokenizer):
    """naive never forwards the v1 step; the sigmoid schedule then refuses instead of freezing σ."""
    from toolzero_verl.rewards.scoring import ConfigError

    cfg = recipe_config_factory(
        ["reward.reward_manager.name=naive", "reward.custom_reward_function.path=pkg://toolzero_verl.rewards.scoring"],
        reward=False,
    )
    rows = [{"response": answer_response("Paris"), "ground_truth": WEATHER_GT, "step": 5}]
    with pytest.raises(ConfigError, match="reward_manager.name=toolzero"):
        score_with_worker(cfg, make_batch(tiny_tokenizer, rows))


# --- the real distributed path ---------------------------------------------------------------------


@pytest.mark.ray
def test_reward_loop_manager_under_ray(recipe_config_factory, tiny_tokenizer):
    """verl's RewardLoopManager starts a RewardLoopWorker actor that finds ``toolzero`` through the
    entry point alone (the actor is a fresh process; nothing here registers it for the actor)."""
    import os

    import ray
    from verl.experimental.reward_loop.reward_loop import RewardLoopManager

    assert "VERL_USE_EXTERNAL_MODULES" not in os.environ
    cfg = recipe_config_factory()
    rows = [
        {"response": answer_response("Paris"), "ground_truth": WEATHER_GT, "step": 25},
        {"response": answer_response("London"), "ground_truth": WEATHER_GT, "step": 25},
    ]
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        out = RewardLoopManager(config=cfg).compute_rm_score(make_batch(tiny_tokenizer, rows))
    finally:
        ray.shutdown()
    assert out.meta_info["reward_extra_keys"][:1] == ["score"]
    assert list(out.non_tensor_batch["sigma"]) == pytest.approx([0.5, 0.5])
    assert list(out.non_tensor_batch["ast"]) == [1.0, 0.0]
    assert out.batch["rm_scores"].sum(-1).tolist() == pytest.approx(list(out.non_tensor_batch["score"]))
