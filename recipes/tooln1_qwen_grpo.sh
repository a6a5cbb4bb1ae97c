#!/usr/bin/env bash
# Nemotron-Research-Tool-N1 settings (Zhang et al. 2025, arXiv 2505.00024; NVlabs/Tool-N1 `qwen_rl.sh`,
# paper Table 6): GRPO on Qwen2.5-7B-Instruct with Tool-N1's binary reward, 1024 prompts x 5 rollouts,
# lr 1e-6 constant, temperature 0.7, prompt/response 4096/8192, KL loss 0.001, 7 epochs.
# Tool-N1 trained on 4 nodes x 8 H100 80 GB, the default here.
#
# Data: ToolACE + xLAM in the hermes output format (<think>…</think> then <tool_call> JSON blocks):
#   toolzero-prep --toolace data.json --xlam xlam_function_calling_60k.json --output-format hermes \
#                 --out ~/data/tooln1
#   NNODES=4 bash recipes/tooln1_qwen_grpo.sh         # on the Ray head node (docs/recipes.md, "Multi-node launch")
#   DRY_RUN=1 bash recipes/tooln1_qwen_grpo.sh        # CPU: compose + print the verl config, launch nothing
#
# Every value below is overridable by the environment variable on its left; sources in docs/reproduce.md.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# ---- model and data ------------------------------------------------------------------------------
MODEL_PATH=${MODEL_PATH:-Qwen/Qwen2.5-7B-Instruct}     # Tool-N1-7B's base (also 14B, same settings)
DATA_DIR=${DATA_DIR:-$HOME/data/tooln1}               # a sibling of ~/data/toolzero: toolzero-prep replaces --out whole
TRAIN_FILES=${TRAIN_FILES:-$DATA_DIR/train.parquet}
VAL_FILES=${VAL_FILES:-$DATA_DIR/test.parquet}

# ---- Tool-N1 hyperparameters (its script and Table 6) ----------------------------------------------
TRAIN_BATCH_SIZE=${TRAIN_BATCH_SIZE:-1024}             # prompts per step
ROLLOUT_N=${ROLLOUT_N:-5}                              # rollouts per prompt
TEMPERATURE=${TEMPERATURE:-0.7}
LORA_RANK=${LORA_RANK:-0}                              # > 0: LoRA adapters, not full parameters (docs/recipes.md)
LR=${LR:-$(lora_lr 1e-6)}                              # 1e-6; x LORA_LR_SCALE (10) with LoRA
LR_SCHEDULER=${LR_SCHEDULER:-constant}
MAX_PROMPT_LENGTH=${MAX_PROMPT_LENGTH:-4096}
MAX_RESPONSE_LENGTH=${MAX_RESPONSE_LENGTH:-8192}
USE_KL_LOSS=${USE_KL_LOSS:-True}                       # KL loss 0.001, low_var_kl; no KL in the reward
KL_LOSS_COEF=${KL_LOSS_COEF:-0.001}
TOTAL_EPOCHS=${TOTAL_EPOCHS:-7}
PPO_MINI_BATCH_SIZE=${PPO_MINI_BATCH_SIZE:-256}        # 4 updates per step
MAX_TOKEN_LEN_PER_GPU=${MAX_TOKEN_LEN_PER_GPU:-30720}  # dynamic batch size, tokens per GPU
REWARD=${REWARD:-binary}                               # Tool-N1's reward: 1 iff think block + exact call multiset
OUTPUT_FORMAT=${OUTPUT_FORMAT:-hermes}

# ---- choices Tool-N1 does not state (ours; docs/reproduce.md) --------------------------------------
SEED=${SEED:-42}                                       # data shuffle seed; verl leaves it unset (docs/reproduce.md)
TOTAL_STEPS=${TOTAL_STEPS:-null}                       # null: epochs decide (verl: epochs x steps per epoch)
CLIP_RATIO=${CLIP_RATIO:-0.2}
ROLLOUT_TP=${ROLLOUT_TP:-2}
GPU_MEMORY_UTILIZATION=${GPU_MEMORY_UTILIZATION:-0.6}
N_GPUS_PER_NODE=${N_GPUS_PER_NODE:-8}
NNODES=${NNODES:-4}
SAVE_FREQ=${SAVE_FREQ:-20}
TEST_FREQ=${TEST_FREQ:-10}
MAX_CKPT_TO_KEEP=${MAX_CKPT_TO_KEEP:-2}
PROJECT_NAME=${PROJECT_NAME:-toolzero}
EXPERIMENT_NAME=${EXPERIMENT_NAME:-qwen2.5-7b-tooln1-grpo}
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
    actor_rollout_ref.actor.clip_ratio="$CLIP_RATIO"
    actor_rollout_ref.actor.use_kl_loss="$USE_KL_LOSS"
    actor_rollout_ref.actor.kl_loss_coef="$KL_LOSS_COEF"
    actor_rollout_ref.actor.kl_loss_type=low_var_kl
    actor_rollout_ref.actor.entropy_coeff=0
    actor_rollout_ref.actor.ppo_mini_batch_size="$PPO_MINI_BATCH_SIZE"
    actor_rollout_ref.actor.use_dynamic_bsz=True
    actor_rollout_ref.actor.ppo_max_token_len_per_gpu="$MAX_TOKEN_LEN_PER_GPU"
)
rollout_args
reward_args "$REWARD" "$OUTPUT_FORMAT"
trainer_args
train "$@"   # + observability (toolzero/* step metrics, metrics.jsonl) and LoRA overrides; preflight; launch
