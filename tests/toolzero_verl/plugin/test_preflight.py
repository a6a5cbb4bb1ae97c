"""Each preflight check: a real problem gives its actionable message (and a non-zero exit), a good
setup gives none. Configs are verl's real composed ``ppo_trainer`` (the 7B recipe's overrides plus
the change under test); data files are real ``data_prep`` output or hand-made broken parquet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from toolzero_verl.plugin import observability, preflight
from toolzero_verl.plugin.preflight import Problem
from toolzero_verl.testing.examples import convert_examples, recipe_overrides, subprocess_env

REPO = Path(__file__).resolve().parents[3]
RECIPE = REPO / "recipes" / "qwen7b_ggrpo.sh"


@pytest.fixture(scope="module")
def base_args(tmp_path_factory) -> list[str]:
    return recipe_overrides(RECIPE, {"DATA_DIR": str(tmp_path_factory.mktemp("nodata")),
                                     "RUN_DIR": str(tmp_path_factory.mktemp("run"))})


@pytest.fixture(scope="module")
def example_data(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("examples")
    convert_examples(out)
    return out


def cfg_with(base_args: list[str], *extra: str):
    return preflight.compose(base_args + list(extra))


def messages(problems: list[Problem]) -> str:
    return "\n".join(map(str, problems))


def data_args(directory: Path, batch: int = 8) -> list[str]:
    return [
        f"data.train_files={directory / 'train.parquet'}",
        f"data.val_files={directory / 'test.parquet'}",
        f"data.train_batch_size={batch}",
        f"actor_rollout_ref.actor.ppo_mini_batch_size={batch}",
    ]


STEPS_FOR_8_ROWS = "trainer.total_training_steps=100"  # 8 rows / batch 8 = 1 step per epoch x 100 epochs


def write_rows(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_parquet(path)


def row(ground_truth: str = '{"calls": []}', output_format: str = "answer") -> dict:
    return {
        "data_source": "toy",
        "prompt": [{"role": "user", "content": "hi"}],
        "reward_model": {"style": "rule", "ground_truth": ground_truth},
        "extra_info": {"split": "train", "index": 0, "output_format": output_format},
    }


# ---- data ---------------------------------------------------------------------------------------


def test_converted_example_data_passes(base_args, example_data):
    assert preflight.check_data(cfg_with(base_args, *data_args(example_data))) == []


def test_missing_data_files_say_how_to_convert(base_args, tmp_path):
    problems = preflight.check_data(cfg_with(base_args, *data_args(tmp_path / "nowhere")))
    text = messages(problems)
    assert len(problems) == 2 and "does not exist" in text and "toolzero-prep" in text


def test_bad_ground_truth_is_reported(base_args, tmp_path):
    write_rows(tmp_path / "train.parquet", [row("the answer is 5")] * 8)
    write_rows(tmp_path / "test.parquet", [row()])
    problems = preflight.check_data(cfg_with(base_args, *data_args(tmp_path), STEPS_FOR_8_ROWS))
    assert len(problems) == 1 and "no usable reward_model.ground_truth" in problems[0].message


def test_missing_columns_are_reported(base_args, tmp_path):
    rows = [{k: v for k, v in row().items() if k != "reward_model"}] * 8
    write_rows(tmp_path / "train.parquet", rows)
    write_rows(tmp_path / "test.parquet", [row()])
    problems = preflight.check_data(cfg_with(base_args, *data_args(tmp_path), STEPS_FOR_8_ROWS))
    assert len(problems) == 1 and "lacks column(s) ['reward_model']" in problems[0].message


def test_output_format_mismatch_names_both_fixes(base_args, tmp_path):
    write_rows(tmp_path / "train.parquet", [row(output_format="toolrl")] * 8)
    write_rows(tmp_path / "test.parquet", [row()])
    problems = preflight.check_data(cfg_with(base_args, *data_args(tmp_path), STEPS_FOR_8_ROWS))
    assert len(problems) == 1
    assert "--output-format answer" in problems[0].message and "OUTPUT_FORMAT=toolrl" in problems[0].message


def test_fewer_rows_than_a_batch_is_reported(base_args, example_data):
    problems = preflight.check_data(cfg_with(base_args, *data_args(example_data, batch=512)))
    assert len(problems) == 1 and "fewer than data.train_batch_size=512" in problems[0].message


def test_too_few_epochs_for_the_step_total_is_reported(base_args, example_data):
    cfg = cfg_with(base_args, *data_args(example_data), "trainer.total_epochs=1", "trainer.total_training_steps=50")
    problems = preflight.check_data(cfg)
    assert len(problems) == 1 and "training would stop after" in problems[0].message


# ---- model --------------------------------------------------------------------------------------


def test_model_path_checks(base_args, tmp_path, monkeypatch):
    assert "not set" in messages(preflight.check_model(cfg_with(base_args, "actor_rollout_ref.model.path=null")))
    missing = cfg_with(base_args, f"actor_rollout_ref.model.path={tmp_path / 'nope'}")
    assert "does not exist" in messages(preflight.check_model(missing))
    (tmp_path / "model").mkdir()
    bare = cfg_with(base_args, f"actor_rollout_ref.model.path={tmp_path / 'model'}")
    assert "no config.json" in messages(preflight.check_model(bare))
    (tmp_path / "model" / "config.json").write_text("{}")
    assert "ships no chat template" in messages(preflight.check_model(bare))  # a base model without one
    custom = cfg_with(base_args, f"actor_rollout_ref.model.path={tmp_path / 'model'}",
                      "actor_rollout_ref.model.custom_chat_template='{{ messages[0].content }}'")
    assert preflight.check_model(custom) == []
    (tmp_path / "model" / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{{ messages }}"}))
    assert preflight.check_model(bare) == []
    hub_id = cfg_with(base_args)  # Qwen/Qwen2.5-7B: downloaded by verl at start-up
    assert preflight.check_model(hub_id) == []
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    assert "not in the Hugging Face cache" in messages(preflight.check_model(hub_id))


# ---- GPUs ---------------------------------------------------------------------------------------


def test_gpu_count_and_parallel_sizes(base_args):
    cfg = cfg_with(base_args)  # 1 node x 8 GPUs, rollout TP 2
    assert "no CUDA GPU visible" in messages(preflight.check_gpus(cfg, gpu_count=0))
    assert "this node sees 4 GPU(s)" in messages(preflight.check_gpus(cfg, gpu_count=4))
    assert preflight.check_gpus(cfg, gpu_count=8) == []
    too_wide = cfg_with(base_args, "actor_rollout_ref.rollout.tensor_model_parallel_size=16")
    assert "exceeds n_gpus_per_node=8" in messages(preflight.check_gpus(too_wide, gpu_count=8))
    uneven = cfg_with(base_args, "trainer.n_gpus_per_node=6", "actor_rollout_ref.rollout.tensor_model_parallel_size=4")
    assert "does not divide the 6 GPUs" in messages(preflight.check_gpus(uneven, gpu_count=6))


def test_cpu_tier_checks_replace_the_gpu_count(tmp_path):
    args = recipe_overrides(REPO / "recipes" / "cpu_tiny.sh", {"RUN_DIR": str(tmp_path)})
    cfg = preflight.compose(args)
    good_env = {"VERL_USE_EXTERNAL_MODULES": preflight.CPU_PLATFORM_MODULE, "VERL_PLATFORM": "cpu"}
    assert preflight.check_cpu(cfg, good_env, vllm_installed=True) == []
    no_shim = messages(preflight.check_cpu(cfg, {}, vllm_installed=True))
    assert f"VERL_USE_EXTERNAL_MODULES={preflight.CPU_PLATFORM_MODULE} VERL_PLATFORM=cpu" in no_shim
    assert "scripts/setup_cpu_e2e.sh" in messages(preflight.check_cpu(cfg, good_env, vllm_installed=False))
    gpu_cfg = preflight.compose(args + ["trainer.device=cuda", "trainer.n_gpus_per_node=8"])
    wrong = messages(preflight.check_cpu(gpu_cfg, good_env, vllm_installed=True))
    assert "trainer.device=cpu" in wrong and "trainer.n_gpus_per_node=1" in wrong


def test_multi_node_needs_a_ray_cluster_with_enough_gpus(base_args, monkeypatch):
    # Ray's "auto" lookup also finds clusters by their processes, so on a shared machine any other
    # job's cluster would answer a real lookup: pin "no cluster reachable" instead.
    monkeypatch.setattr(preflight, "_ray_cluster_gpus", lambda: None)
    cfg = cfg_with(base_args, "trainer.nnodes=4")
    no_cluster = messages(preflight.check_gpus(cfg, gpu_count=8))
    assert "needs a running Ray cluster" in no_cluster and "ray start --head" in no_cluster
    assert "has 16 GPUs" in messages(preflight.check_gpus(cfg, gpu_count=8, ray_gpus=16))
    assert preflight.check_gpus(cfg, gpu_count=8, ray_gpus=32) == []


# ---- plugin, schedule, reward options ------------------------------------------------------------


def test_plugin_is_registered_in_this_python(base_args):
    assert preflight.check_plugin(cfg_with(base_args)) == []


def test_unregistered_plugin_fails_check_with_the_fix(base_args, tmp_path):
    env = {**subprocess_env(), "VERL_USE_EXTERNAL_PLUGINS": "none"}
    args = base_args + data_args(tmp_path)
    out = subprocess.run(
        [sys.executable, "-m", "toolzero_verl.plugin.preflight", "check", "--", *args],
        env=env, capture_output=True, text=True,
    )
    assert out.returncode == 1
    assert "[plugin] reward manager 'toolzero' is not registered" in out.stderr
    assert "VERL_USE_EXTERNAL_PLUGINS=none disables our entry point" in out.stderr
    assert "nothing was launched" in out.stderr


def test_schedule_needs_its_total(base_args):
    no_total = cfg_with(base_args, "trainer.total_training_steps=null")
    assert "cosine LR decay needs a horizon" in messages(preflight.check_total_steps(no_total))
    percent = cfg_with(
        base_args,
        "trainer.total_training_steps=null",
        "actor_rollout_ref.actor.optim.lr_scheduler_type=constant",
        "+reward.custom_reward_function.reward_kwargs.step_unit=percent",
    )
    assert "step_unit=percent needs the total" in messages(preflight.check_total_steps(percent))
    mismatch = cfg_with(base_args, "reward.custom_reward_function.reward_kwargs.total_training_steps=50")
    assert "differs from trainer.total_training_steps=200" in messages(preflight.check_total_steps(mismatch))
    free = cfg_with(
        base_args,
        "trainer.total_training_steps=null",
        "actor_rollout_ref.actor.optim.lr_scheduler_type=constant",
        "reward.custom_reward_function.reward_kwargs.schedule=constant_strict",
    )
    assert preflight.check_total_steps(free) == []


def test_reward_option_typo_is_caught_before_training(base_args):
    cfg = cfg_with(base_args, "+reward.custom_reward_function.reward_kwargs.kapa=0.2")
    problems = preflight.check_reward_options(cfg)
    assert len(problems) == 1 and "unknown option(s) ['kapa']" in problems[0].message
    with pytest.raises(preflight.PreflightError, match="kapa"):
        preflight.dry_run(base_args + ["+reward.custom_reward_function.reward_kwargs.kapa=0.2"])


# ---- observability: the sampler, the file logger, TransferQueue's Ray CPUs ---------------------------


def test_the_recipes_observability_settings_pass(base_args):
    cfg = cfg_with(base_args)
    assert observability.problems(cfg, environ={}, cpus=64) == []
    assert preflight.check_observability(cfg, environ={}, ray_cpus=64) == []


@pytest.mark.parametrize(("override", "needle"), [
    ("+trainer.v1.sampler.sampler_kwargs.stal_timeout=60", "unknown option(s) ['stal_timeout']"),
    ("trainer.v1.sampler.sampler_kwargs.stall_timeout=5", "at least 10 polls of poll_interval=2"),
    ("trainer.v1.sampler.sampler_kwargs.poll_interval=0", "poll_interval"),
    ("trainer.v1.trainer_mode=colocate_async",
     "needs trainer.v1.sampler.custom_sampler.name=ToolZeroReplayBufferAsync"),
])
def test_sampler_settings_fail_before_the_launch(base_args, override, needle):
    """verl builds the sampler only after Ray and the workers started; the preflight parses its options first."""
    found = messages(preflight.check_observability(cfg_with(base_args, override), environ={}, ray_cpus=64))
    assert "[sampler]" in found and needle in found


def test_verls_own_sampler_is_not_checked(base_args):
    cfg = cfg_with(base_args, "trainer.v1.sampler.custom_sampler.path=null",
                   "trainer.v1.sampler.custom_sampler.name=null", "+trainer.v1.sampler.sampler_kwargs.anything=1")
    assert observability.sampler_problems(cfg) == []


def test_too_few_ray_cpus_for_transfer_queue_is_reported_with_both_fixes(base_args):
    """Each storage unit and the controller hold a Ray CPU, verl's placement groups 3 per GPU: with too few,
    TransferQueue's start-up waits forever (the CPU tier's first hang)."""
    cfg = cfg_with(base_args)  # 8 GPUs, verl's 8 storage units: 1 + 8 + 24 + 1 = 34 CPUs
    found = messages(observability.transfer_queue_problems(cfg, cpus=2, where="this machine"))
    assert "needs 34 Ray CPUs" in found and "this machine has 2" in found
    assert "ray_kwargs.ray_init.num_cpus=34" in found and "TQ_STORAGE_UNITS" not in found  # no unit count fits
    assert "set TQ_STORAGE_UNITS=4" in messages(observability.transfer_queue_problems(cfg, cpus=30))
    assert observability.transfer_queue_problems(cfg, cpus=34) == []
    one_gpu = cfg_with(base_args, "trainer.n_gpus_per_node=1", "ray_kwargs.ray_init.num_cpus=8",
                       "actor_rollout_ref.rollout.tensor_model_parallel_size=1")
    assert "set TQ_STORAGE_UNITS=3" in messages(observability.transfer_queue_problems(one_gpu))  # num_cpus=8


def test_file_logger_path_problems(base_args, tmp_path):
    runtime = "+ray_kwargs.ray_init.runtime_env.env_vars.VERL_FILE_LOGGER_PATH"
    good = cfg_with(base_args)
    path, where = observability.file_logger_path(good, environ={})
    assert where == "runtime_env" and path.endswith("/metrics.jsonl") and Path(path).is_absolute()
    relative = cfg_with(base_args, f"{runtime.lstrip('+')}=run/m.jsonl")
    assert "is relative" in messages(preflight.check_observability(relative, environ={}, ray_cpus=64))
    no_file = cfg_with(base_args, "trainer.logger=[console]")
    assert "has no 'file'" in messages(preflight.check_observability(no_file, environ={}, ray_cpus=64))
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    unwritable = cfg_with(base_args, f"{runtime.lstrip('+')}={blocked}/m.jsonl")
    assert "is not a writable folder" in messages(preflight.check_observability(unwritable, environ={}, ray_cpus=64))
    # set only in this shell: fine on one node (a local Ray inherits it), not on a `ray start` cluster
    shell_only = [a for a in base_args if not a.startswith(runtime)]
    env = {"VERL_FILE_LOGGER_PATH": str(tmp_path / "m.jsonl")}
    assert observability.file_logger_problems(preflight.compose(shell_only), env) == []
    multi = preflight.compose(shell_only + ["trainer.nnodes=4"])
    assert f"pass {runtime}={tmp_path}/m.jsonl" in messages(preflight.check_observability(multi, env, ray_cpus=500))


def test_dry_run_says_what_is_logged_and_where(base_args, capsys):
    assert preflight.main(["dry-run", *base_args]) == 0
    out = capsys.readouterr().out
    assert "loggers                  ['console', 'file']" in out
    assert "per-step reward metrics  ToolZeroReplayBuffer {'poll_interval': 2.0, 'stall_timeout': 1800}" in out
    assert "metrics file" in out and "/metrics.jsonl" in out


# ---- command line -------------------------------------------------------------------------------


def test_dry_run_prints_summary_and_config(base_args, capsys):
    assert preflight.main(["dry-run", *base_args]) == 0
    out = capsys.readouterr().out
    assert "dry run OK" in out and "learning rate            5e-07" in out
    assert "toolzero_verl.plugin.reward_manager.ToolZeroRewardManager" in out


def test_dry_run_unknown_key_exits_non_zero_with_hydras_message(base_args, capsys):
    assert preflight.main(["dry-run", *base_args, "trainer.totl_epochs=3"]) == 1
    err = capsys.readouterr().err
    assert "Could not override 'trainer.totl_epochs'" in err and "not in struct" in err


def test_check_lists_every_problem_and_exits_non_zero(base_args, tmp_path, capsys):
    code = preflight.main(["check", *base_args, *data_args(tmp_path / "nowhere")])
    err = capsys.readouterr().err
    assert code == 1
    assert "[data]" in err and "nothing was launched" in err
    # GPU and data problems are both listed; this CPU machine has no GPU.
    assert "[gpus] no CUDA GPU visible" in err


def test_check_passes_when_everything_is_in_place(base_args, example_data, tmp_path, capsys, monkeypatch):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    (model / "chat_template.jinja").write_text("{% for m in messages %}{{ m.content }}{% endfor %}")
    monkeypatch.setattr(preflight, "visible_gpus", lambda: 8)  # what this 2-core CPU machine cannot provide:
    monkeypatch.setattr(observability, "local_cpus", lambda: 64)  # 8 GPUs and the Ray CPUs to go with them
    code = preflight.main(["check", *base_args, *data_args(example_data), f"actor_rollout_ref.model.path={model}"])
    assert code == 0, capsys.readouterr().err
    assert "preflight OK" in capsys.readouterr().out


def test_chat_template_keywords_the_template_never_reads_are_warned_about(base_args, tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "chat_template.jinja").write_text("{% if enable_thinking is false %}<think></think>{% endif %}")
    cfg = cfg_with(base_args, f"actor_rollout_ref.model.path={model}",
                   "+data.apply_chat_template_kwargs.enable_thinking=False")
    assert preflight.template_warnings(cfg) == []
    (model / "chat_template.jinja").write_text("{% for m in messages %}{{ m.content }}{% endfor %}")  # Qwen2.5-like
    assert "enable_thinking is never read" in messages(preflight.template_warnings(cfg))
