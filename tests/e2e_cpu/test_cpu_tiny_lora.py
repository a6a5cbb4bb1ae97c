"""CPU end-to-end tier, LoRA: ``LORA_RANK=8 bash recipes/cpu_tiny.sh`` for real GRPO steps in verl's trainer.

The same switch the GPU recipes have (recipes/common.sh, ``lora_args``): verl's own LoRA (peft adapters on
the FSDP2 actor, ``actor_rollout_ref.model.lora_rank``) and vLLM's adapter loading (the CPU build with
``enable_lora``; vLLM loads the base from the model's safetensors, ``rollout.load_format=safetensors``, and
verl sends it the adapter at every weight sync). What the tests prove, from what verl logged and saved:

- the run trains :data:`STEPS` steps and exits 0, at the LoRA learning rate (10 x the full-parameter one);
- only the adapters are trained: the optimizer's state covers exactly the adapter parameters of
  ``target_modules=all-linear`` at rank 8 (computed from the model's config), and the LoRA B matrices,
  zero at initialisation, are not zero any more;
- vLLM samples from the *adapted* policy: at every step verl compares the rollout's log-probs with the
  actor's (``training/rollout_probs_diff_max``), and they agree far more closely than the base model and
  the trained adapter disagree (computed here from the checkpoint with transformers + peft). Had vLLM
  served the base weights only, the second step's difference would be of that size.

The run is launched once for the module (~5 min, ~9 GB RAM, serialised with the other CPU runs by the
recipe's lock). Deselect with ``-m 'not e2e_cpu'``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from toolzero_verl.eval import run_log as metrics_log
from toolzero_verl.testing import cpu_run

pytestmark = pytest.mark.e2e_cpu

STEPS = 2
RANK, ALPHA = 8, 32  # recipes/common.sh: LORA_ALPHA defaults to 32
FULL_LR, LORA_LR_SCALE = 5e-5, 10  # recipes/cpu_tiny.sh's LR and common.sh's LoRA scale


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> cpu_run.CpuRun:
    return cpu_run.launch_for_test(tmp_path_factory, "cpu_tiny_lora", {"STEPS": str(STEPS), "LORA_RANK": str(RANK)})


@pytest.fixture(scope="module")
def metrics(run) -> metrics_log.RunMetrics:
    return run.logged_metrics()


@pytest.fixture(scope="module")
def actor_dir(run) -> Path:
    path = run.actor_dir(STEPS)
    if not path.is_dir():
        pytest.fail(f"no actor checkpoint at {path}; the run ends with:\n{run.tail()}", pytrace=False)
    return path


def adapter_parameters(config: dict, rank: int) -> int:
    """rank x (in + out) for q, k, v, o, gate, up and down of every layer (peft's all-linear, LM head excluded)."""
    hidden, inter, heads = config["hidden_size"], config["intermediate_size"], config["num_attention_heads"]
    head_dim = config.get("head_dim") or hidden // heads
    q, kv = heads * head_dim, config["num_key_value_heads"] * head_dim
    per_layer = 2 * (hidden + q) + 2 * (hidden + kv) + 3 * (hidden + inter)
    return rank * per_layer * config["num_hidden_layers"]


def full_tensors(state: dict) -> dict:
    """A checkpoint's state dict with FSDP2's DTensors gathered (one rank: a plain copy)."""
    return {k: (v.full_tensor() if hasattr(v, "full_tensor") else v) for k, v in state.items()}


def test_lora_run_exits_zero_after_every_step(run, metrics):
    assert run.returncode == 0, f"LORA_RANK={RANK} recipes/cpu_tiny.sh exited {run.returncode}:\n{run.tail()}"
    assert metrics.training_steps() == list(range(1, STEPS + 1))
    print(f"\nLoRA CPU run: {run.seconds:.0f} s wall (data, tiny model, preflight, main_ppo)")


def test_lora_trains_at_the_scaled_learning_rate(metrics):
    lrs = [value for _, value in metrics.series("actor/lr")]
    assert lrs and all(v == pytest.approx(FULL_LR * LORA_LR_SCALE) for v in lrs), lrs
    assert all(v > 0 for _, v in metrics.series("actor/grad_norm"))
    assert any(v != 0 for _, v in metrics.series("actor/pg_loss"))


def test_verl_saved_a_lora_checkpoint_with_the_recipes_settings(actor_dir):
    meta = json.loads((actor_dir / "lora_train_meta.json").read_text())
    assert (meta["r"], meta["lora_alpha"]) == (RANK, ALPHA)


def test_only_the_adapters_are_trained(run, actor_dir):
    import torch

    config = json.loads((run.run_dir / "model" / "config.json").read_text())
    optim = torch.load(actor_dir / "optim_world_size_1_rank_0.pt", weights_only=False)
    trained = sum(state["exp_avg"].numel() for state in optim["state"].values())
    assert trained == adapter_parameters(config, RANK), trained
    model = full_tensors(torch.load(actor_dir / "model_world_size_1_rank_0.pt", weights_only=False))
    lora_b = {k: v for k, v in model.items() if ".lora_B." in k}
    assert len(lora_b) == 7 * config["num_hidden_layers"]  # q, k, v, o, gate, up, down per layer
    assert all(v.abs().max() > 0 for v in lora_b.values()), "a LoRA B matrix is still zero: nothing was trained"


def test_vllm_samples_from_the_adapted_policy(run, metrics, actor_dir):
    """The rollout's log-probs match the actor's at every step, far more closely than the base model's
    match the adapted one: vLLM applied the adapter that verl synced after step 1."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    diffs = [value for _, value in metrics.series("training/rollout_probs_diff_max")]
    assert len(diffs) == STEPS, diffs
    model_dir = run.run_dir / "model"
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    tok = AutoTokenizer.from_pretrained(model_dir)
    ids = tok("<think>The user wants the weather.</think><answer>[get_weather(city='Paris')]</answer>",
              return_tensors="pt")["input_ids"]
    with torch.no_grad():
        base_probs = torch.softmax(base(ids).logits.float(), -1)
        adapted = get_peft_model(base, LoraConfig(r=RANK, lora_alpha=ALPHA, target_modules="all-linear"))
        saved = full_tensors(torch.load(actor_dir / "model_world_size_1_rank_0.pt", weights_only=False))
        missing = adapted.load_state_dict({k: v for k, v in saved.items() if "lora_" in k}, strict=False)
        assert not [k for k in missing.unexpected_keys if "lora_" in k], missing.unexpected_keys
        adapted_probs = torch.softmax(adapted(ids).logits.float(), -1)
    adapter_effect = float((adapted_probs - base_probs).abs().max())
    print(f"\nrollout vs actor prob diff per step {diffs}; base vs adapted after {STEPS} updates {adapter_effect:.2e}")
    assert adapter_effect > 20 * max(diffs[1:]), (adapter_effect, diffs)
