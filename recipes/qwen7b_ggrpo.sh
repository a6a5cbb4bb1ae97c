#!/usr/bin/env bash
# GG-GRPO (Tool Zero, Zeng et al. 2025, arXiv 2511.01934) on Qwen2.5-7B Base: one node, 8 GPUs.
#
#   toolzero-prep --toolace data.json --xlam xlam_function_calling_60k.json \
#                 --hammer xlam-7.5k-irrelevancek.json --out ~/data/toolzero     # once
#   bash recipes/qwen7b_ggrpo.sh                      # preflight checks, then train
#   DRY_RUN=1 bash recipes/qwen7b_ggrpo.sh            # CPU: compose + print the verl config, launch nothing
#   LR=1e-6 bash recipes/qwen7b_ggrpo.sh trainer.save_freq=10   # env vars and extra overrides win
#
# Every value below is overridable by the environment variable on its left. Sources of each value
# (Tool Zero / our choice) and the expected memory: docs/recipes.md.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# ---- model and data ------------------------------------------------------------------------------
MODEL_PATH=${MODEL_PATH:-Qwen/Qwen2.5-7B}               # Tool Zero: Qwen2.5 Base (not Instruct)
DATA_DIR=${DATA_DIR:-$HOME/data/toolzero}              # toolzero-prep --out
TRAIN_FILES=${TRAIN_FILES:-$DATA_DIR/train.parquet}
VAL_FILES=${VAL_FILES:-$DATA_DIR/test.parquet}

# ---- GG-GRPO hyperparameters (Tool Zero) ---------------------------------------------------------
TRAIN_BATCH_SIZE=${TRAIN_BATCH_SIZE:-128}              # prompts per step
ROLLOUT_N=${ROLLOUT_N:-8}                              # rollouts per prompt (GRPO group size)
TEMPERATURE=${TEMPERATURE:-0.8}
LORA_RANK=${LORA_RANK:-0}                              # > 0: LoRA adapters, not full parameters (docs/recipes.md)
LR=${LR:-$(lora_lr 5e-7)}                              # 5e-7; x LORA_LR_SCALE (10) with LoRA
LR_SCHEDULER=${LR_SCHEDULER:-cosine}                   # cosine decay
CLIP_RATIO=${CLIP_RATIO:-0.2}
MAX_PROMPT_LENGTH=${MAX_PROMPT_LENGTH:-2048}
MAX_RESPONSE_LENGTH=${MAX_RESPONSE_LENGTH:-2048}
REWARD=${REWARD:-gg_grpo}                              # gg_grpo | toolrl | binary
OUTPUT_FORMAT=${OUTPUT_FORMAT:-answer}                 # <think>…</think><answer>[f(a=1)]</answer>
SCHEDULE=${SCHEDULE:-sigmoid}                          # σ(t); ablations: constant_general, constant_strict, linear
KAPPA=${KAPPA:-0.1}                                    # σ(t) = 1 / (1 + exp(-κ (t - m)))
MIDPOINT=${MIDPOINT:-25}                               # m, in training steps

# ---- choices the paper does not state (ours; justified in docs/recipes.md) -----------------------
SEED=${SEED:-42}                                       # data shuffle seed; verl leaves it unset (docs/reproduce.md)
TOTAL_STEPS=${TOTAL_STEPS:-200}                        # σ > 0.99 from step 71; ~130 strict-phase steps
TOTAL_EPOCHS=${TOTAL_EPOCHS:-100}                      # high, so TOTAL_STEPS is what ends training
WARMUP_RATIO=${WARMUP_RATIO:-0.0}
MIN_LR_RATIO=${MIN_LR_RATIO:-0.0}                      # cosine decays to 0
PPO_MINI_BATCH_SIZE=${PPO_MINI_BATCH_SIZE:-32}         # prompts per update: 4 updates per step
MAX_TOKEN_LEN_PER_GPU=${MAX_TOKEN_LEN_PER_GPU:-16384}  # dynamic micro-batches: 4 full 2048+2048 sequences
ROLLOUT_TP=${ROLLOUT_TP:-2}
GPU_MEMORY_UTILIZATION=${GPU_MEMORY_UTILIZATION:-0.6}  # vLLM share while rolling out
N_GPUS_PER_NODE=${N_GPUS_PER_NODE:-8}
NNODES=${NNODES:-1}
SAVE_FREQ=${SAVE_FREQ:-25}
TEST_FREQ=${TEST_FREQ:-10}
MAX_CKPT_TO_KEEP=${MAX_CKPT_TO_KEEP:-2}                # a 7B actor checkpoint with optimizer is ~90 GB
PROJECT_NAME=${PROJECT_NAME:-toolzero}
EXPERIMENT_NAME=${EXPERIMENT_NAME:-qwen2.5-7b-ggrpo}
LOGGER=${LOGGER:-'["console"]'}                        # '["console","wandb"]' to log to W&B
RUN_DIR=${RUN_DIR:-checkpoints/$PROJECT_NAME/$EXPERIMENT_NAME}  # checkpoints + metrics.jsonl (verl's default place)

ALGORITHM=(
    algorithm.adv_estimator=grpo
    algorithm.use_kl_in_reward=False
    algorithm.norm_adv_by_std_in_grpo=True
)
data_args
model_args
ACTOR=(
    actor_rollout_ref.actor.optim.lr="$LR"
    actor_rollout_ref.actor.optim.lr_scheduler_type="$LR_SCHEDULER"
    actor_rollout_ref.actor.optim.lr_warmup_steps_ratio="$WARMUP_RATIO"
    actor_rollout_ref.actor.optim.min_lr_ratio="$MIN_LR_RATIO"
    actor_rollout_ref.actor.clip_ratio="$CLIP_RATIO"
    actor_rollout_ref.actor.use_kl_loss=False
    actor_rollout_ref.actor.entropy_coeff=0
    actor_rollout_ref.actor.loss_agg_mode=token-mean
    actor_rollout_ref.actor.ppo_mini_batch_size="$PPO_MINI_BATCH_SIZE"
    actor_rollout_ref.actor.use_dynamic_bsz=True
    actor_rollout_ref.actor.ppo_max_token_len_per_gpu="$MAX_TOKEN_LEN_PER_GPU"
)
rollout_args
schedule_reward_args
trainer_args
train "$@"   # + observability (toolzero/* step metrics, metrics.jsonl) and LoRA overrides; preflight; launch
