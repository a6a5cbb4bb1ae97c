"""The GPU memory estimate and the preflight's fit warning, on CPU with a given GPU count and memory.

Model shapes are checked against the parameter counts the Qwen model cards state; the estimate's terms
against their definitions (offload moves state to the host, LoRA drops gradients and Adam, ...); and
every single-GPU profile of recipes/qwen{1.5b,3b}_ggrpo_1gpu.sh against the card it is meant for,
through the recipes' real override lists and verl's composed config.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from toolzero_verl.plugin import gpu_memory as gm
from toolzero_verl.plugin import preflight
from toolzero_verl.testing.examples import recipe_overrides, subprocess_env

REPO = Path(__file__).resolve().parents[3]
RECIPES = REPO / "recipes"

# "Number of Parameters" on the Hugging Face model cards of Qwen/Qwen2.5-* and Qwen/Qwen3-*.
CARD_PARAMS_B = {
    "Qwen/Qwen2.5-0.5B": 0.49, "Qwen/Qwen2.5-1.5B": 1.54, "Qwen/Qwen2.5-3B": 3.09, "Qwen/Qwen2.5-7B": 7.61,
    "Qwen/Qwen2.5-14B": 14.7, "Qwen/Qwen2.5-32B": 32.5,
    "Qwen/Qwen3-0.6B": 0.6, "Qwen/Qwen3-1.7B": 1.7, "Qwen/Qwen3-4B": 4.0, "Qwen/Qwen3-8B": 8.2,
    "Qwen/Qwen3-14B": 14.8, "Qwen/Qwen3-32B": 32.8,
}
# Qwen2.5-1.5B's config.json (the fields the estimate reads).
QWEN25_15B_CONFIG = {
    "model_type": "qwen2", "num_hidden_layers": 28, "hidden_size": 1536, "intermediate_size": 8960,
    "num_attention_heads": 12, "num_key_value_heads": 2, "vocab_size": 151936, "tie_word_embeddings": True,
}


@pytest.mark.parametrize("model", sorted(CARD_PARAMS_B))
def test_parameter_counts_match_the_model_cards(model):
    counted = gm.KNOWN_SHAPES[model].params() / 1e9
    assert counted == pytest.approx(CARD_PARAMS_B[model], rel=0.02), counted


def test_a_config_json_gives_the_same_shape_as_the_table(tmp_path):
    assert gm.shape_from_config(QWEN25_15B_CONFIG) == gm.KNOWN_SHAPES["Qwen/Qwen2.5-1.5B"]
    (tmp_path / "config.json").write_text(json.dumps(QWEN25_15B_CONFIG))
    shape, source = gm.model_shape(str(tmp_path))
    assert shape == gm.KNOWN_SHAPES["Qwen/Qwen2.5-1.5B"] and source.endswith("config.json")


def test_instruct_ids_use_the_base_shape_and_unknown_models_say_why():
    assert gm.model_shape("Qwen/Qwen2.5-3B-Instruct")[0] == gm.KNOWN_SHAPES["Qwen/Qwen2.5-3B"]
    shape, why = gm.model_shape("someone/unknown-model")
    assert shape is None and "not a model we know" in why


def test_a_model_in_the_hugging_face_cache_is_read_from_there(tmp_path, monkeypatch):
    """The cache as huggingface_hub lays it out (models--org--name/snapshots/<rev>/, refs/main); nothing is
    downloaded."""
    repo = tmp_path / "models--acme--tiny-qwen"
    snap = repo / "snapshots" / ("a" * 40)
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    (snap / "config.json").write_text(json.dumps({**QWEN25_15B_CONFIG, "num_hidden_layers": 3}))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_CACHE", str(tmp_path))  # read at import; the env var is for children
    shape, source = gm.model_shape("acme/tiny-qwen")
    assert shape is not None and shape.layers == 3 and str(snap) in source


def test_a_broken_config_is_reported_not_raised(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    shape, why = gm.model_shape(str(tmp_path))
    assert shape is None and "does not describe" in why


SHAPE = gm.KNOWN_SHAPES["Qwen/Qwen2.5-1.5B"]
BASE = gm.Plan(gpus=1, memory_gib=80.0, util=0.5, train_tokens=8192, max_seq=4096)


def test_full_parameter_training_holds_16_bytes_per_parameter():
    est = gm.estimate(SHAPE, BASE)
    state = est.parts["weights"] + est.parts["gradients"] + est.parts["adam"]
    assert state == pytest.approx(16 * SHAPE.params() / gm.GIB)
    assert est.train_gib >= state + gm.OVERHEAD_GIB  # the optimizer step holds all of it at once


def test_sharding_over_more_gpus_divides_the_state():
    one, eight = gm.estimate(SHAPE, BASE), gm.estimate(SHAPE, replace(BASE, gpus=8))
    assert eight.parts["adam"] == pytest.approx(one.parts["adam"] / 8)
    assert eight.train_gib < one.train_gib


def test_offload_policy_moves_the_state_to_the_host():
    on_gpu, offloaded = gm.estimate(SHAPE, BASE), gm.estimate(SHAPE, replace(BASE, offload_policy=True))
    assert offloaded.train_gib < on_gpu.train_gib and offloaded.rollout_gib < on_gpu.rollout_gib
    assert offloaded.host_gib == pytest.approx(16 * SHAPE.params() / gm.GIB) and on_gpu.host_gib == 0


def test_optimizer_offload_frees_adam_during_rollout_only():
    on_gpu, offloaded = gm.estimate(SHAPE, BASE), gm.estimate(SHAPE, replace(BASE, optimizer_offload=True))
    assert on_gpu.rollout_gib - offloaded.rollout_gib == pytest.approx(on_gpu.parts["adam"])
    assert offloaded.train_gib == on_gpu.train_gib  # verl loads Adam back for the update
    assert offloaded.host_gib == pytest.approx(on_gpu.parts["adam"])


def test_lora_trains_only_the_adapters():
    lora = gm.estimate(SHAPE, replace(BASE, lora_rank=32))
    assert lora.parts["adam"] == pytest.approx(8 * SHAPE.lora_params(32) / gm.GIB)
    assert SHAPE.lora_params(32) < 0.05 * SHAPE.params()
    assert lora.train_gib < gm.estimate(SHAPE, BASE).train_gib


def test_micro_batch_tokens_scale_logits_and_activations():
    small, large = gm.estimate(SHAPE, BASE), gm.estimate(SHAPE, replace(BASE, train_tokens=16384))
    assert large.parts["logits"] == pytest.approx(2 * small.parts["logits"])
    assert large.parts["logits"] == pytest.approx(16384 * SHAPE.vocab * gm.LOGIT_BYTES / gm.GIB)


def test_a_vllm_share_too_small_for_one_sequence_is_reported():
    plan = replace(BASE, memory_gib=24.0, util=0.12)  # a 2.88 GiB pool for 2.88 GiB of weights
    problems = gm.fit_problems(gm.estimate(SHAPE, plan), plan, 24.0)
    assert any("KV cache" in p and "GPU_MEMORY_UTILIZATION" in p for p in problems), problems


def test_parse_gpus_rejects_bad_values():
    assert gm.parse_gpus(" 1X24 ") == (1, 24.0)
    for bad in ("24", "0x24", "1x0", "ax24", "1x"):
        with pytest.raises(ValueError):
            gm.parse_gpus(bad)


# ---- the recipes' profiles, through verl's composed config ---------------------------------------

def recipe_config(recipe: str, tmp_path: Path, **env: str):
    args = recipe_overrides(RECIPES / f"{recipe}.sh", {"DATA_DIR": str(tmp_path), **env})
    return preflight.compose(args)


@pytest.mark.parametrize("recipe", ["qwen1.5b_ggrpo_1gpu", "qwen3b_ggrpo_1gpu"])
@pytest.mark.parametrize("card", [24, 80])
def test_each_single_gpu_profile_fits_its_card(recipe, card, tmp_path):
    cfg = recipe_config(recipe, tmp_path, GPU_GB=str(card))
    assert preflight.check_gpu_memory(cfg, gpus=(1, float(card))) == []
    assert preflight.get(cfg, "trainer.n_gpus_per_node") == 1


@pytest.mark.parametrize("recipe", ["qwen1.5b_ggrpo_1gpu", "qwen3b_ggrpo_1gpu"])
def test_the_80_gb_profile_on_a_24_gb_card_is_warned_about(recipe, tmp_path):
    cfg = recipe_config(recipe, tmp_path, GPU_GB="80")
    warnings = [str(p) for p in preflight.check_gpu_memory(cfg, gpus=(1, 24.0))]
    assert warnings and all(w.startswith("[memory]") for w in warnings)
    assert any("exceeds the 24.0 GiB" in w for w in warnings), warnings


def test_lora_fits_the_3b_model_on_a_24_gb_card_without_cpu_adam(tmp_path):
    cfg = recipe_config("qwen3b_ggrpo_1gpu", tmp_path, GPU_GB="24", LORA_RANK="32", OFFLOAD_POLICY="False",
                        PARAM_OFFLOAD="True")
    assert preflight.check_gpu_memory(cfg, gpus=(1, 24.0)) == []
    est, _, _ = preflight.memory_estimate(cfg, 24.0)
    assert est.host_gib < 16  # the frozen fp32 base only, while vLLM rolls out


def test_the_7b_recipe_on_one_24_gb_card_is_warned_about(tmp_path):
    cfg = recipe_config("qwen7b_ggrpo", tmp_path, N_GPUS_PER_NODE="1", ROLLOUT_TP="1", PPO_MINI_BATCH_SIZE="32")
    assert any("exceeds" in str(p) for p in preflight.check_gpu_memory(cfg, gpus=(1, 24.0)))


def test_plan_gpus_drives_the_launch_check_and_never_launches(tmp_path):
    """`PLAN_GPUS=1x24` stands in for the GPUs: the count check passes, the 80 GB profile gets the memory
    warning, and the missing data stops the launch."""
    env = {**subprocess_env(), "PLAN_GPUS": "1x24", "GPU_GB": "80", "DATA_DIR": str(tmp_path / "none")}
    out = subprocess.run(["bash", str(RECIPES / "qwen3b_ggrpo_1gpu.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 1
    assert "preflight WARNING [memory] estimated peak" in out.stderr
    assert "[gpus]" not in out.stderr and "[data]" in out.stderr and "not launching" in out.stderr


def test_dry_run_prints_the_estimate_and_the_fit(tmp_path):
    env = {**subprocess_env(), "DRY_RUN": "1", "PLAN_GPUS": "1x24", "DATA_DIR": str(tmp_path)}
    out = subprocess.run(["bash", str(RECIPES / "qwen1.5b_ggrpo_1gpu.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "GPU memory (estimate)" in out.stdout and "fits 1x24 GiB" in out.stdout and " yes" in out.stdout
    assert "offload_policy: true" in out.stdout


def test_a_malformed_plan_gpus_is_one_line_and_exit_2(tmp_path):
    env = {**subprocess_env(), "DRY_RUN": "1", "PLAN_GPUS": "24GB", "DATA_DIR": str(tmp_path)}
    out = subprocess.run(["bash", str(RECIPES / "qwen1.5b_ggrpo_1gpu.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "preflight: PLAN_GPUS: expected GPUS like 1x24 (count x GiB per GPU), got '24GB'"
    ]
    assert "Traceback" not in out.stderr


def test_an_unknown_gpu_gb_is_refused(tmp_path):
    env = {**subprocess_env(), "DRY_RUN": "1", "GPU_GB": "40", "DATA_DIR": str(tmp_path)}
    out = subprocess.run(["bash", str(RECIPES / "qwen3b_ggrpo_1gpu.sh")], env=env, capture_output=True, text=True)
    assert out.returncode == 2 and "has settings for 24 and 80" in out.stderr


def test_no_visible_gpu_means_no_memory_warning(tmp_path, monkeypatch):
    monkeypatch.delenv("PLAN_GPUS", raising=False)
    cfg = recipe_config("qwen1.5b_ggrpo_1gpu", tmp_path, GPU_GB="80")
    assert preflight.check_gpu_memory(cfg) == []  # this CPU machine: check_gpus reports the missing GPU instead
