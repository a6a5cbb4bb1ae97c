"""Every recipe composes against the installed verl (0.9.1) on CPU and carries the papers' values.

The override lists come from the recipes themselves (``PRINT_ARGS=1``, recipes/common.sh), so the
config checked here is the one ``main_ppo`` would get. Composition goes through
``toolzero_verl.plugin.preflight.compose``: verl's ``ppo_trainer`` Hydra config, interpolations resolved,
verl's own ``validate_config``. One test runs ``DRY_RUN=1 bash recipes/qwen7b_ggrpo.sh`` end to end,
and one shows that a failed preflight never reaches ``main_ppo``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from toolzero_verl.plugin import observability, preflight
from toolzero_verl.testing.examples import EXAMPLES, convert_examples, recipe_overrides, subprocess_env

REPO = Path(__file__).resolve().parents[2]
RECIPES = REPO / "recipes"

# What each recipe must compose to: (config key, value). Sources: Tool Zero (GG-GRPO recipes),
# ToolRL (toolrl recipe); see docs/recipes.md.
GG_GRPO = {
    "algorithm.adv_estimator": "grpo",
    "algorithm.use_kl_in_reward": False,
    "actor_rollout_ref.actor.use_kl_loss": False,
    "actor_rollout_ref.rollout.name": "vllm",
    "actor_rollout_ref.rollout.n": 8,
    "actor_rollout_ref.rollout.temperature": 0.8,
    "data.train_batch_size": 128,
    "actor_rollout_ref.actor.optim.lr": 5e-7,
    "actor_rollout_ref.actor.optim.lr_scheduler_type": "cosine",
    "actor_rollout_ref.actor.clip_ratio": 0.2,
    "data.max_prompt_length": 2048,
    "data.max_response_length": 2048,
    "actor_rollout_ref.rollout.prompt_length": 2048,  # interpolated from data.max_prompt_length
    "actor_rollout_ref.rollout.response_length": 2048,
    "reward.reward_manager.name": "toolzero",
    "reward.custom_reward_function.reward_kwargs.reward": "gg_grpo",
    "reward.custom_reward_function.reward_kwargs.output_format": "answer",
    "reward.custom_reward_function.reward_kwargs.schedule": "sigmoid",
    "reward.custom_reward_function.reward_kwargs.kappa": 0.1,
    "reward.custom_reward_function.reward_kwargs.midpoint": 25,
    "trainer.total_training_steps": 200,
    "reward.custom_reward_function.reward_kwargs.total_training_steps": 200,  # resolved interpolation
    "data.seed": 42,  # verl's default is None: an unseeded shuffle
}
EXPECTED = {
    "qwen7b_ggrpo": {
        **GG_GRPO,
        "actor_rollout_ref.model.path": "Qwen/Qwen2.5-7B",
        "trainer.nnodes": 1,
        "trainer.n_gpus_per_node": 8,
    },
    "qwen32b_ggrpo": {
        **GG_GRPO,
        "actor_rollout_ref.model.path": "Qwen/Qwen2.5-32B",
        "actor_rollout_ref.rollout.tensor_model_parallel_size": 4,
        "trainer.nnodes": 4,
        "trainer.n_gpus_per_node": 8,
    },
    "toolrl_qwen_grpo": {
        "algorithm.adv_estimator": "grpo",
        "actor_rollout_ref.rollout.name": "vllm",
        "data.train_batch_size": 512,
        "actor_rollout_ref.rollout.n": 4,
        "actor_rollout_ref.actor.optim.lr": 1e-6,
        "data.max_prompt_length": 2048,
        "data.max_response_length": 1024,
        "actor_rollout_ref.rollout.temperature": 1.0,
        "reward.reward_manager.name": "toolzero",
        "reward.custom_reward_function.reward_kwargs.reward": "toolrl",
        "reward.custom_reward_function.reward_kwargs.output_format": "toolrl",
        "reward.custom_reward_function.reward_kwargs.matching": "greedy",
        "trainer.total_training_steps": 105,
        "trainer.total_epochs": 15,
        # ToolRL's script (qiancheng0/ToolRL run_grpo.sh on verl 0.3): no KL loss, a fixed 0.001 KL in the reward
        "actor_rollout_ref.actor.use_kl_loss": False,
        "algorithm.use_kl_in_reward": True,
        "algorithm.kl_penalty": "kl",
        "algorithm.kl_ctrl.type": "fixed",
        "algorithm.kl_ctrl.kl_coef": 0.001,
        "actor_rollout_ref.actor.entropy_coeff": 0.001,
        "trainer.save_freq": 15,
        "trainer.test_freq": 5,
        "data.seed": 42,
    },
    "tooln1_qwen_grpo": {  # NVlabs/Tool-N1 qwen_rl.sh and the paper's Table 6
        "algorithm.adv_estimator": "grpo",
        "algorithm.use_kl_in_reward": False,
        "actor_rollout_ref.actor.use_kl_loss": True,
        "actor_rollout_ref.actor.kl_loss_coef": 0.001,
        "actor_rollout_ref.actor.kl_loss_type": "low_var_kl",
        "actor_rollout_ref.actor.entropy_coeff": 0,
        "actor_rollout_ref.model.path": "Qwen/Qwen2.5-7B-Instruct",
        "data.train_batch_size": 1024,
        "actor_rollout_ref.rollout.n": 5,
        "actor_rollout_ref.rollout.temperature": 0.7,
        "actor_rollout_ref.actor.optim.lr": 1e-6,
        "actor_rollout_ref.actor.optim.lr_scheduler_type": "constant",
        "data.max_prompt_length": 4096,
        "data.max_response_length": 8192,
        "actor_rollout_ref.actor.ppo_mini_batch_size": 256,
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": 30720,
        "trainer.total_epochs": 7,
        "trainer.total_training_steps": None,
        "trainer.nnodes": 4,
        "trainer.n_gpus_per_node": 8,
        "reward.reward_manager.name": "toolzero",
        "reward.custom_reward_function.reward_kwargs.reward": "binary",
        "reward.custom_reward_function.reward_kwargs.output_format": "hermes",
        "data.seed": 42,
    },
    "qwen1.5b_ggrpo_1gpu": {
        **GG_GRPO,
        "actor_rollout_ref.model.path": "Qwen/Qwen2.5-1.5B",
        "trainer.nnodes": 1,
        "trainer.n_gpus_per_node": 1,
        "actor_rollout_ref.actor.strategy": "fsdp2",
        "actor_rollout_ref.actor.fsdp_config.offload_policy": True,  # GPU_GB=24, the default
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": 8192,
        "actor_rollout_ref.rollout.gpu_memory_utilization": 0.5,
    },
    "qwen3b_ggrpo_1gpu": {
        **GG_GRPO,
        "actor_rollout_ref.model.path": "Qwen/Qwen2.5-3B",
        "trainer.n_gpus_per_node": 1,
        "actor_rollout_ref.actor.fsdp_config.offload_policy": True,
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": 4096,
    },
    "qwen7b_ggrpo_multiturn": {
        **GG_GRPO,
        "actor_rollout_ref.model.path": "Qwen/Qwen2.5-7B",
        "trainer.n_gpus_per_node": 8,
        "data.max_response_length": 4096,  # the whole episode
        "actor_rollout_ref.rollout.response_length": 4096,
        "actor_rollout_ref.actor.ppo_max_token_len_per_gpu": 24576,
        "reward.custom_reward_function.reward_kwargs.reward": "gg_grpo_episode",
        "reward.custom_reward_function.reward_kwargs.output_format": "hermes",
        "actor_rollout_ref.rollout.multi_turn.enable": True,
        "actor_rollout_ref.rollout.multi_turn.max_assistant_turns": 8,
        "actor_rollout_ref.rollout.multi_turn.max_user_turns": 4,
        "actor_rollout_ref.rollout.multi_turn.max_parallel_calls": 4,
        "actor_rollout_ref.rollout.multi_turn.max_tool_response_length": 2048,
        "trainer.experiment_name": "qwen2.5-7b-ggrpo-multiturn",
    },
    "smoke": {
        "algorithm.adv_estimator": "grpo",
        "actor_rollout_ref.actor.use_kl_loss": False,
        "actor_rollout_ref.rollout.name": "vllm",
        "actor_rollout_ref.model.path": "Qwen/Qwen2.5-0.5B",
        "data.train_batch_size": 8,
        "actor_rollout_ref.rollout.n": 4,
        "trainer.total_training_steps": 4,
        "trainer.n_gpus_per_node": 1,
        "reward.reward_manager.name": "toolzero",
        "reward.custom_reward_function.reward_kwargs.reward": "gg_grpo",
        "reward.custom_reward_function.reward_kwargs.midpoint": 2,
        "reward.custom_reward_function.reward_kwargs.total_training_steps": 4,
    },
    "cpu_tiny": {
        "algorithm.adv_estimator": "grpo",
        "actor_rollout_ref.rollout.name": "vllm",
        "actor_rollout_ref.rollout.temperature": 0.8,
        "actor_rollout_ref.actor.strategy": "fsdp2",
        "actor_rollout_ref.actor.entropy_coeff": 0,
        "data.max_prompt_length": 1024,
        "data.max_response_length": 128,
        "trainer.device": "cpu",
        "trainer.n_gpus_per_node": 1,
        "trainer.total_training_steps": 3,
        "trainer.save_freq": 3,
        "trainer.test_freq": 1,
        "trainer.val_before_train": True,
        "trainer.logger": ["console", "file"],
        "trainer.v1.sampler.custom_sampler.path": "pkg://toolzero_verl.plugin.replay_buffer",
        "trainer.v1.sampler.custom_sampler.name": "ToolZeroReplayBuffer",
        "transfer_queue.backend.SimpleStorage.num_data_storage_units": 1,
        "reward.reward_manager.name": "toolzero",
        "reward.custom_reward_function.reward_kwargs.reward": "gg_grpo",
        "reward.custom_reward_function.reward_kwargs.kappa": 1.0,
        "reward.custom_reward_function.reward_kwargs.midpoint": 2,
        "reward.custom_reward_function.reward_kwargs.total_training_steps": 3,
    },
}


@pytest.fixture(scope="module")
def example_data(tmp_path_factory) -> Path:
    """The bundled examples through toolzero-prep: real parquet files for the run card to hash."""
    out = tmp_path_factory.mktemp("example_data")
    convert_examples(out)
    return out


def args_of(recipe: str, tmp_path: Path, **env: str) -> list[str]:
    return recipe_overrides(RECIPES / f"{recipe}.sh", {"DATA_DIR": str(tmp_path / "data"), **env})


def composed(recipe: str, tmp_path: Path, *extra: str, **env: str):
    return preflight.compose(args_of(recipe, tmp_path, **env) + list(extra))


@pytest.mark.parametrize("recipe", sorted(EXPECTED))
def test_recipe_composes_with_the_papers_values(recipe, tmp_path):
    cfg = composed(recipe, tmp_path)
    for key, want in EXPECTED[recipe].items():
        assert preflight.get(cfg, key) == want, key
    assert preflight.reward_manager_class(cfg).__name__ == "ToolZeroRewardManager"
    assert preflight.check_reward_options(cfg) == []
    assert preflight.check_total_steps(cfg) == []


@pytest.mark.parametrize("recipe", sorted(EXPECTED))
def test_recipe_uses_only_verl_09_reward_keys(recipe, tmp_path):
    args = args_of(recipe, tmp_path)
    reward_parts = ("custom_reward_function", "reward_manager", "reward_model", "reward_kwargs")
    reward_args = [a for a in args if any(p in a.split("=", 1)[0] for p in reward_parts)]
    assert reward_args and all(a.lstrip("+").startswith("reward.") for a in reward_args), reward_args
    cfg = preflight.compose(args)
    # The legacy keys 0.9 silently ignores stay at their null defaults.
    assert cfg.custom_reward_function.path is None
    assert cfg.reward_model.reward_manager is None


def test_environment_variables_and_extra_arguments_override_defaults(tmp_path):
    cfg = composed(
        "qwen7b_ggrpo", tmp_path, "trainer.save_freq=7", LR="1e-6", KAPPA="0.2", MIDPOINT="40", TOTAL_STEPS="300"
    )
    assert cfg.actor_rollout_ref.actor.optim.lr == 1e-6
    kwargs = preflight.reward_options(cfg)
    assert (kwargs["kappa"], kwargs["midpoint"], kwargs["total_training_steps"]) == (0.2, 40, 300)
    assert cfg.trainer.save_freq == 7


@pytest.mark.parametrize(
    ("env", "want"),
    [
        ({"REWARD": "binary"}, {"reward": "binary", "output_format": "answer"}),
        ({"REWARD": "toolrl", "OUTPUT_FORMAT": "toolrl"}, {"reward": "toolrl", "output_format": "toolrl"}),
        ({"SCHEDULE": "constant_general"}, {"schedule": "constant_general"}),
        ({"SCHEDULE": "constant_strict"}, {"schedule": "constant_strict"}),
        ({"SCHEDULE": "linear"}, {"schedule": "linear"}),
    ],
)
def test_reward_switches_and_schedule_ablations_compose_with_valid_options(env, want, tmp_path):
    cfg = composed("qwen7b_ggrpo", tmp_path, **env)
    kwargs = preflight.reward_options(cfg)
    assert {k: kwargs[k] for k in want} == want
    assert preflight.check_reward_options(cfg) == []
    if env.get("REWARD") == "binary":  # GG-GRPO-only options are not passed to other rewards
        assert "kappa" not in kwargs and "midpoint" not in kwargs


@pytest.mark.parametrize("recipe", ["qwen7b_ggrpo", "qwen32b_ggrpo", "qwen3b_ggrpo_1gpu", "qwen1.5b_ggrpo_1gpu"])
def test_every_ggrpo_recipe_hands_the_schedule_to_the_episode_reward_too(recipe, tmp_path):
    # the σ(t) options are GG-GRPO's, single-turn or episode (recipes/common.sh, schedule_reward_args)
    cfg = composed(recipe, tmp_path, KAPPA="0.3", MIDPOINT="7", REWARD="gg_grpo_episode")
    kwargs = preflight.reward_options(cfg)
    assert (kwargs["reward"], kwargs["kappa"], kwargs["midpoint"]) == ("gg_grpo_episode", 0.3, 7)
    assert preflight.check_reward_options(cfg) == []


def test_smoke_recipe_converts_the_bundled_examples_on_first_use(tmp_path):
    args_of("smoke", tmp_path)
    assert (tmp_path / "data" / "train.parquet").is_file()
    cfg = composed("smoke", tmp_path)
    assert preflight.check_data(cfg) == []


def test_dry_run_of_the_7b_recipe_prints_the_effective_config(tmp_path):
    env = {**subprocess_env(), "DRY_RUN": "1", "DATA_DIR": str(tmp_path)}
    out = subprocess.run(["bash", str(RECIPES / "qwen7b_ggrpo.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "dry run OK" in out.stdout
    assert "toolzero_verl.plugin.reward_manager.ToolZeroRewardManager" in out.stdout
    for line in ("adv_estimator: grpo", "lr_scheduler_type: cosine", "temperature: 0.8", "train_batch_size: 128"):
        assert line in out.stdout, line


def test_misspelled_key_fails_the_dry_run_with_hydras_error(tmp_path):
    env = {**subprocess_env(), "DRY_RUN": "1", "DATA_DIR": str(tmp_path)}
    out = subprocess.run(
        ["bash", str(RECIPES / "qwen7b_ggrpo.sh"), "actor_rollout_ref.rollout.temprature=0.5"],
        env=env, capture_output=True, text=True,
    )
    assert out.returncode != 0
    assert "Could not override 'actor_rollout_ref.rollout.temprature'" in out.stderr
    assert "dry run OK" not in out.stdout


def test_failed_preflight_never_starts_main_ppo(tmp_path):
    """A `python3` shim records every invocation: only the preflight may run, never verl.trainer.main_ppo."""
    shim_dir, log = tmp_path / "bin", tmp_path / "python3.log"
    shim_dir.mkdir()
    shim = shim_dir / "python3"
    shim.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    env = {**subprocess_env(), "DATA_DIR": str(tmp_path / "missing"), "CUDA_VISIBLE_DEVICES": ""}
    env["PATH"] = f"{shim_dir}{os.pathsep}{env['PATH']}"
    out = subprocess.run(["bash", str(RECIPES / "qwen7b_ggrpo.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 1
    assert "[data] data.train_files:" in out.stderr and "does not exist" in out.stderr
    assert "[gpus] no CUDA GPU visible" in out.stderr
    assert "not launching" in out.stderr
    calls = log.read_text().splitlines()
    assert len(calls) == 1
    assert calls[0].startswith("-m toolzero_verl.plugin.preflight --device gpu --run-card auto --recipe ")
    assert f"{RECIPES / 'qwen7b_ggrpo.sh'} check -- " in calls[0]
    assert "verl.trainer.main_ppo" not in log.read_text()


def test_dry_run_of_the_cpu_recipe_composes_without_building_anything(tmp_path):
    """DRY_RUN works in any venv (no vLLM needed) and neither converts data nor builds the model."""
    env = {**subprocess_env(), "DRY_RUN": "1", "RUN_DIR": str(tmp_path / "run")}
    out = subprocess.run(["bash", str(RECIPES / "cpu_tiny.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "dry run OK" in out.stdout and "device: cpu" in out.stdout
    assert not (tmp_path / "run").exists()


def test_a_finished_launch_prints_the_merge_command(tmp_path):
    """A `python3` shim passes the preflight and plays a training run that saves step 7; the recipe then
    prints the exact `toolzero-eval merge` command for that checkpoint."""
    shim_dir, ckpt = tmp_path / "bin", tmp_path / "ckpt"
    shim_dir.mkdir()
    shim = shim_dir / "python3"
    shim.write_text(
        f"#!{sys.executable}\n"
        "import sys, pathlib\n"
        "args = sys.argv[1:]\n"
        "if args[:2] == ['-m', 'verl.trainer.main_ppo']:\n"
        "    d = pathlib.Path([a.split('=', 1)[1] for a in args if a.startswith('trainer.default_local_dir=')][-1])\n"
        "    if (d / 'latest_checkpointed_iteration.txt').exists(): sys.exit('second run fails')\n"
        "    (d / 'latest_checkpointed_iteration.txt').write_text('7')\n"
    )
    shim.chmod(0o755)
    env = {**subprocess_env(), "PATH": f"{shim_dir}{os.pathsep}{os.environ['PATH']}"}
    out = subprocess.run(["bash", str(RECIPES / "smoke.sh"), f"trainer.default_local_dir={ckpt}"],
                         env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"toolzero-eval merge --checkpoint {ckpt}/global_step_7 --out {ckpt}/global_step_7/hf" in out.stderr
    failed = subprocess.run(["bash", str(RECIPES / "smoke.sh"), f"trainer.default_local_dir={ckpt}"],
                            env=env, capture_output=True, text=True)  # the shim fails the second run
    assert failed.returncode != 0 and "toolzero-eval merge" not in failed.stderr


# ---- observability by default (recipes/common.sh observability_args) ------------------------------------

SAMPLER_PATH = "trainer.v1.sampler.custom_sampler.path"
FILE_PATH_KEY = "ray_kwargs.ray_init.runtime_env.env_vars.VERL_FILE_LOGGER_PATH"


@pytest.mark.parametrize("recipe", sorted(EXPECTED))
def test_every_recipe_logs_reward_metrics_and_a_metrics_file_by_default(recipe, tmp_path):
    run_dir = tmp_path / "run"
    cfg = composed(recipe, tmp_path, RUN_DIR=str(run_dir))
    assert preflight.get(cfg, SAMPLER_PATH) == "pkg://toolzero_verl.plugin.replay_buffer"
    assert preflight.get(cfg, "trainer.v1.sampler.custom_sampler.name") == "ToolZeroReplayBuffer"
    assert preflight.get(cfg, "trainer.v1.sampler.sampler_kwargs.stall_timeout") > 0  # never waits forever
    assert "file" in list(preflight.get(cfg, "trainer.logger"))
    assert preflight.get(cfg, FILE_PATH_KEY) == str(run_dir / "metrics.jsonl")
    assert preflight.get(cfg, "trainer.default_local_dir") == str(run_dir)
    assert preflight.get(cfg, "transfer_queue.backend.SimpleStorage.num_data_storage_units") >= 1
    assert observability.sampler_problems(cfg) == [] and observability.file_logger_problems(cfg, {}) == []


@pytest.mark.parametrize("recipe", sorted(EXPECTED))
def test_observability_0_turns_both_off_in_every_recipe(recipe, tmp_path):
    cfg = composed(recipe, tmp_path, OBSERVABILITY="0")
    assert preflight.get(cfg, SAMPLER_PATH) is None  # verl's own ReplayBuffer
    assert "file" not in list(preflight.get(cfg, "trainer.logger"))
    assert preflight.get(cfg, FILE_PATH_KEY) is None


def test_each_switch_turns_off_one_part_and_logger_keeps_wandb(tmp_path):
    no_metrics = composed("qwen7b_ggrpo", tmp_path, REWARD_METRICS="0")
    assert preflight.get(no_metrics, SAMPLER_PATH) is None and "file" in list(no_metrics.trainer.logger)
    no_file = composed("qwen7b_ggrpo", tmp_path, FILE_LOGGER="0", LOGGER='["console","wandb"]')
    assert preflight.get(no_file, SAMPLER_PATH) is not None and list(no_file.trainer.logger) == ["console", "wandb"]
    both = composed("qwen7b_ggrpo", tmp_path, LOGGER='["console","wandb"]')
    assert list(both.trainer.logger) == ["console", "wandb", "file"]


def test_async_trainer_mode_gets_the_async_sampler_and_run_dir_follows_the_checkpoint_dir(tmp_path):
    """observability_args reads the extra arguments the recipe is called with, as main_ppo will get them."""
    extra = ("trainer.v1.trainer_mode=colocate_async", f"trainer.default_local_dir={tmp_path}/ckpt")
    args = args_with_extra("qwen7b_ggrpo", tmp_path, *extra)
    assert "trainer.v1.sampler.custom_sampler.name=ToolZeroReplayBufferAsync" in args
    assert f"+{FILE_PATH_KEY}={tmp_path}/ckpt/metrics.jsonl" in args
    cfg = preflight.compose(args + list(extra))
    assert cfg.trainer.default_local_dir == f"{tmp_path}/ckpt"
    assert observability.sampler_problems(cfg) == []


def args_with_extra(recipe: str, tmp_path: Path, *extra: str) -> list[str]:
    """The override list a recipe builds when called with extra arguments (PRINT_ARGS=1 prints them too)."""
    env = subprocess_env({"DATA_DIR": str(tmp_path / "data"), "PRINT_ARGS": "1"})
    out = subprocess.run(["bash", str(RECIPES / f"{recipe}.sh"), *extra], check=True, env=env, capture_output=True,
                         text=True)
    return [line for line in out.stdout.splitlines() if line]


@pytest.mark.parametrize(("env", "on"), [({}, True), ({"OBSERVABILITY": "0"}, False)])
def test_dry_run_of_the_7b_recipe_says_whether_the_sampler_and_file_logger_are_on(env, on, tmp_path):
    """The issue's acceptance: a fresh DRY_RUN=1 of the 7B recipe composes against verl's Hydra schema with
    both on (and with both off under OBSERVABILITY=0)."""
    run_env = {**subprocess_env(), "DRY_RUN": "1", "DATA_DIR": str(tmp_path), "RUN_DIR": str(tmp_path / "run"),
               **env}
    out = subprocess.run(["bash", str(RECIPES / "qwen7b_ggrpo.sh")], env=run_env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "dry run OK" in out.stdout
    assert ("ToolZeroReplayBuffer {'poll_interval': 2.0, 'stall_timeout': 1800}" in out.stdout) is on
    assert (f"{tmp_path}/run/metrics.jsonl" in out.stdout) is on
    assert ("['console', 'file']" in out.stdout) is on
    if not on:
        assert "per-step reward metrics  off" in out.stdout and "metrics file             off" in out.stdout


def test_default_data_dirs_are_never_nested(tmp_path):
    """toolzero-prep replaces --out as a whole (docs/data.md §6): preparing one recipe's default data dir must
    never delete another's, so no default dir may lie inside another (equal dirs share one data set)."""
    dirs = {}
    for recipe in ("qwen7b_ggrpo", "qwen32b_ggrpo", "toolrl_qwen_grpo"):
        args = recipe_overrides(RECIPES / f"{recipe}.sh", {"HOME": str(tmp_path)})
        train = next(a.split("=", 1)[1] for a in args if a.startswith("data.train_files="))
        dirs[recipe] = Path(train).parent
    assert all(d.is_relative_to(tmp_path) for d in dirs.values()), dirs  # defaults live under $HOME/data
    for a, da in dirs.items():
        for b, db in dirs.items():
            if da != db:
                assert not da.is_relative_to(db), f"{a}'s default {da} lies inside {b}'s {db}"


LORA = {
    "actor_rollout_ref.model.lora_rank": 16,
    "actor_rollout_ref.model.lora_alpha": 32,
    "actor_rollout_ref.model.target_modules": "all-linear",
    "actor_rollout_ref.rollout.load_format": "safetensors",
    "actor_rollout_ref.rollout.layered_summon": True,
}


@pytest.mark.parametrize("recipe", sorted(EXPECTED))
def test_lora_switch_composes_on_every_recipe(recipe, tmp_path):
    """LORA_RANK turns on verl's LoRA (and vLLM's adapter loading) in every recipe, with 10x the learning rate;
    it composes and passes verl's validation here, where vLLM is not installed (preflight checks the rank)."""
    full = composed(recipe, tmp_path)
    cfg = composed(recipe, tmp_path, LORA_RANK="16")
    for key, want in LORA.items():
        assert preflight.get(cfg, key) == want, key
    assert preflight.get(full, "actor_rollout_ref.model.lora_rank") == 0
    lr, full_lr = (preflight.get(c, "actor_rollout_ref.actor.optim.lr") for c in (cfg, full))
    assert lr == pytest.approx(10 * full_lr)
    assert composed(recipe, tmp_path, LORA_RANK="16", LR="3e-6").actor_rollout_ref.actor.optim.lr == 3e-6


def test_lora_settings_are_environment_variables(tmp_path):
    cfg = composed("qwen7b_ggrpo", tmp_path, LORA_RANK="64", LORA_ALPHA="128", LORA_LR_SCALE="4",
                   LORA_TARGET_MODULES="[q_proj,v_proj]")
    assert (cfg.actor_rollout_ref.model.lora_rank, cfg.actor_rollout_ref.model.lora_alpha) == (64, 128)
    assert list(cfg.actor_rollout_ref.model.target_modules) == ["q_proj", "v_proj"]
    assert cfg.actor_rollout_ref.actor.optim.lr == pytest.approx(4 * 5e-7)


def test_a_lora_rank_vllm_cannot_serve_fails_the_dry_run(tmp_path):
    env = {**subprocess_env(), "DRY_RUN": "1", "DATA_DIR": str(tmp_path), "LORA_RANK": "1024"}
    out = subprocess.run(["bash", str(RECIPES / "qwen7b_ggrpo.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 1 and "lora_rank must be less than or equal to 512" in out.stderr


@pytest.mark.parametrize("recipe", ["qwen7b_ggrpo", "toolrl_qwen_grpo", "tooln1_qwen_grpo", "qwen1.5b_ggrpo_1gpu"])
def test_a_dry_run_writes_the_run_card_it_is_asked_for(recipe, tmp_path, example_data):
    """``RUN_CARD=path DRY_RUN=1``: the card holds the recipe, its exact overrides (env vars and trailing
    ones included), the resolved config verl composed, the seeds, the data files' hashes and the versions."""
    import hashlib
    import json
    from importlib import metadata

    card_path = tmp_path / "card" / "run_card.json"
    env = {**subprocess_env(), "DRY_RUN": "1", "RUN_CARD": str(card_path), "DATA_DIR": str(example_data),
           "SEED": "7", "TOTAL_STEPS": "150"}
    out = subprocess.run(["bash", str(RECIPES / f"{recipe}.sh"), "trainer.save_freq=3"], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert f"run card: {card_path}" in out.stdout
    card = json.loads(card_path.read_text())
    assert card["schema"] == "toolzero-run-card/1" and card["mode"] == "dry-run"
    assert card["recipe"].endswith(f"recipes/{recipe}.sh")
    assert card["overrides"] == args_of(recipe, tmp_path, DATA_DIR=str(example_data), SEED="7",
                                        TOTAL_STEPS="150") + ["trainer.save_freq=3"]
    config = card["config"]
    assert config["trainer"]["save_freq"] == 3 and config["trainer"]["total_training_steps"] == 150
    assert config["reward"]["custom_reward_function"]["reward_kwargs"]["total_training_steps"] == 150  # resolved
    assert card["seeds"]["data.seed"] == 7 and card["seeds"]["actor_rollout_ref.rollout.seed"] == 42
    assert card["determinism"]["actor_rollout_ref.rollout.full_determinism"] is False
    train = card["data"]["train_files"][0]
    assert train["sha256"] == hashlib.sha256((example_data / "train.parquet").read_bytes()).hexdigest()
    assert [r["path"] for r in card["data"]["prep_reports"]] == [str((example_data / "report.json").resolve())]
    assert card["versions"]["verl"] == metadata.version("verl")
    assert card["versions"]["toolzero-verl"] == metadata.version("toolzero-verl")
    assert card["source"] is None or len(card["source"]["commit"]) == 40


def test_without_run_card_a_dry_run_writes_none(tmp_path):
    env = {**subprocess_env(), "DRY_RUN": "1", "DATA_DIR": str(tmp_path / "data")}
    out = subprocess.run(["bash", str(RECIPES / "smoke.sh"), f"trainer.default_local_dir={tmp_path / 'ckpt'}"],
                         env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "run card" not in out.stdout and not (tmp_path / "ckpt").exists()


def test_the_multiturn_recipes_limits_reach_the_agent_loop(tmp_path):
    """The loop reads verl's multi_turn settings: the recipe's limits become the session's."""
    from toolzero_verl.plugin.agent_loop import loop_settings

    cfg = composed("qwen7b_ggrpo_multiturn", tmp_path, MAX_ASSISTANT_TURNS="6")
    options, limits, max_user_turns = loop_settings(cfg)
    assert (limits.max_turns, limits.max_calls_per_turn, limits.max_result_chars, max_user_turns) == (6, 4, 2048, 4)
    assert limits.truncate_side == "middle" and options.output_format is None  # the rows' own format


def test_dry_run_of_the_multiturn_recipe(tmp_path):
    env = {**subprocess_env(), "DRY_RUN": "1", "DATA_DIR": str(tmp_path)}
    out = subprocess.run(["bash", str(RECIPES / "qwen7b_ggrpo_multiturn.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "dry run OK" in out.stdout
    for line in ("max_assistant_turns: 8", "max_tool_response_length: 2048", "reward: gg_grpo_episode",
                 "output_format: hermes", "response_length: 4096"):
        assert line in out.stdout, line


def test_episode_rows_need_the_episode_reward(tmp_path):
    """Preflight loads the first row with the configured reward's own ground-truth loader: episode rows with a
    single-turn reward fail before launch, with the fix; with gg_grpo_episode they pass."""
    from toolzero_verl.testing.examples import convert_examples

    convert_examples(tmp_path / "data", EXAMPLES, "--agent-loop", "--output-format", "hermes")
    small = {"TRAIN_BATCH_SIZE": "4", "TOTAL_STEPS": "5"}  # the examples hold ~28 episodes
    assert preflight.check_data(composed("qwen7b_ggrpo_multiturn", tmp_path, **small)) == []
    problems = preflight.check_data(composed("qwen7b_ggrpo_multiturn", tmp_path, REWARD="gg_grpo", **small))
    assert problems and all("REWARD=gg_grpo_episode" in p.message for p in problems)


def test_cpu_tier_multiturn_switch_composes(tmp_path):
    args = recipe_overrides(RECIPES / "cpu_tiny.sh", {"MULTITURN": "1", "RUN_DIR": str(tmp_path)})
    cfg = preflight.compose(args)
    assert preflight.get(cfg, "data.train_files") == str(tmp_path / "data" / "episodes" / "train.parquet")
    assert preflight.get(cfg, "actor_rollout_ref.rollout.multi_turn.enable") is True
    assert preflight.get(cfg, "trainer.rollout_data_dir") == str(tmp_path / "rollouts")
    assert preflight.reward_options(cfg)["reward"] == "gg_grpo_episode"
    assert preflight.check_reward_options(cfg) == []
    single = preflight.compose(recipe_overrides(RECIPES / "cpu_tiny.sh", {"RUN_DIR": str(tmp_path)}))
    assert preflight.get(single, "actor_rollout_ref.rollout.multi_turn.enable") is False  # the default is unchanged
