#!/usr/bin/env bash
# Smoke run: the GG-GRPO recipe shrunk to a first GPU check (one GPU, Qwen2.5-0.5B, 8 prompts x 4
# rollouts, 4 steps). It exercises data loading, vLLM rollouts, the toolzero reward manager with a
# moving schedule (midpoint 2, κ 1: σ goes 0.12 → 0.88 over the 4 steps), the actor update and
# validation, in a few minutes. Not a training run: read the logs, not the scores.
#
#   bash recipes/smoke.sh                             # converts examples/data on first use, then trains
#   DRY_RUN=1 bash recipes/smoke.sh                   # CPU: compose + print the verl config, launch nothing
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MODEL_PATH=${MODEL_PATH:-Qwen/Qwen2.5-0.5B}            # smallest Qwen2.5 Base
DATA_DIR=${DATA_DIR:-$TOOLZERO_ROOT/demo_out/smoke_data}
TRAIN_FILES=${TRAIN_FILES:-$DATA_DIR/train.parquet}
VAL_FILES=${VAL_FILES:-$DATA_DIR/test.parquet}
TRAIN_BATCH_SIZE=${TRAIN_BATCH_SIZE:-8}
ROLLOUT_N=${ROLLOUT_N:-4}
TEMPERATURE=${TEMPERATURE:-0.8}                        # Tool Zero
LORA_RANK=${LORA_RANK:-0}                              # > 0: LoRA adapters, not full parameters (docs/recipes.md)
LR=${LR:-$(lora_lr 5e-7)}                              # Tool Zero; x LORA_LR_SCALE with LoRA
MAX_PROMPT_LENGTH=${MAX_PROMPT_LENGTH:-2048}           # Tool Zero
MAX_RESPONSE_LENGTH=${MAX_RESPONSE_LENGTH:-512}        # short: speed
KAPPA=${KAPPA:-1.0}                                    # steep, so σ moves within 4 steps
MIDPOINT=${MIDPOINT:-2}
SEED=${SEED:-42}                                       # data shuffle seed; verl leaves it unset (docs/reproduce.md)
TOTAL_STEPS=${TOTAL_STEPS:-4}
N_GPUS_PER_NODE=${N_GPUS_PER_NODE:-1}
GPU_MEMORY_UTILIZATION=${GPU_MEMORY_UTILIZATION:-0.4}
RUN_DIR=${RUN_DIR:-checkpoints/toolzero/smoke}        # metrics.jsonl (no checkpoints in a smoke run)
TQ_STORAGE_UNITS=${TQ_STORAGE_UNITS:-2}                # 2 + controller + 3 per GPU + 1 = 7 Ray CPUs: fits an 8-vCPU VM
SAMPLER_POLL_INTERVAL=${SAMPLER_POLL_INTERVAL:-0.5}    # steps of seconds: verl's 2 s poll would round them up

# The bundled example corpora (examples/data), converted once: ~40 rows, enough for 4 steps of 8.
if [[ "$TRAIN_FILES" == "$DATA_DIR/train.parquet" ]]; then
    convert_examples "$DATA_DIR"
fi

data_args
model_args
ARGS=(
    algorithm.adv_estimator=grpo
    algorithm.use_kl_in_reward=False
    "${DATA_ARGS[@]}"
    data.dataloader_num_workers=0
    "${MODEL_ARGS[@]}"
    actor_rollout_ref.actor.optim.lr="$LR"
    actor_rollout_ref.actor.optim.lr_scheduler_type=cosine
    actor_rollout_ref.actor.clip_ratio=0.2
    actor_rollout_ref.actor.use_kl_loss=False
    actor_rollout_ref.actor.ppo_mini_batch_size="$TRAIN_BATCH_SIZE"
    actor_rollout_ref.actor.use_dynamic_bsz=True
    actor_rollout_ref.actor.ppo_max_token_len_per_gpu=8192
    actor_rollout_ref.rollout.name=vllm
    actor_rollout_ref.rollout.n="$ROLLOUT_N"
    actor_rollout_ref.rollout.temperature="$TEMPERATURE"
    actor_rollout_ref.rollout.tensor_model_parallel_size=1
    actor_rollout_ref.rollout.gpu_memory_utilization="$GPU_MEMORY_UTILIZATION"
    reward.num_workers=2
    reward.reward_manager.name=toolzero
    +reward.custom_reward_function.reward_kwargs.reward=gg_grpo
    +reward.custom_reward_function.reward_kwargs.output_format=answer
    +reward.custom_reward_function.reward_kwargs.kappa="$KAPPA"
    +reward.custom_reward_function.reward_kwargs.midpoint="$MIDPOINT"
    +reward.custom_reward_function.reward_kwargs.total_training_steps='${trainer.total_training_steps}'
    trainer.total_training_steps="$TOTAL_STEPS"
    trainer.total_epochs=100
    trainer.n_gpus_per_node="$N_GPUS_PER_NODE"
    trainer.nnodes=1
    trainer.save_freq=-1
    trainer.test_freq=2
    trainer.val_before_train=True
    trainer.project_name=toolzero
    trainer.experiment_name=smoke
)
observability_args "$RUN_DIR" "$@"   # toolzero/* step metrics, metrics.jsonl (off: REWARD_METRICS=0, FILE_LOGGER=0)
ARGS+=("${OBSERVABILITY_ARGS[@]}")

lora_args
ARGS+=("${LORA_ARGS[@]}")

preflight "${ARGS[@]}" "$@"
python3 -m verl.trainer.main_ppo "${ARGS[@]}" "$@"
