#!/usr/bin/env bash
# GG-GRPO (Tool Zero, Zeng et al. 2025, arXiv 2511.01934) on Qwen2.5-3B Base on ONE GPU: a 24 GB card
# (RTX 3090/4090, A10, L4) or an 80 GB one (A100/H100). GPU_GB picks the memory settings; the method's
# hyperparameters are Tool Zero's, as in recipes/qwen7b_ggrpo.sh.
#
#   toolzero-prep --toolace data.json --xlam xlam_function_calling_60k.json \
#                 --hammer xlam-7.5k-irrelevancek.json --out ~/data/toolzero     # once (docs/data.md)
#   bash recipes/qwen3b_ggrpo_1gpu.sh                 # 24 GB card: FSDP2 CPU offload (Adam on the CPU)
#   GPU_GB=80 bash recipes/qwen3b_ggrpo_1gpu.sh       # 80 GB card: Adam offloaded during rollout
#   LORA_RANK=32 bash recipes/qwen3b_ggrpo_1gpu.sh    # LoRA adapters instead of full parameters
#   DRY_RUN=1 PLAN_GPUS=1x24 bash recipes/qwen3b_ggrpo_1gpu.sh   # CPU: compose, print, estimate the fit
#
# What it needs (GPU memory per phase, host RAM; estimated, with the basis) and the sources of every
# value: docs/recipes.md, "Single GPU" and "What each recipe needs".
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# ---- model and data ------------------------------------------------------------------------------
MODEL_PATH=${MODEL_PATH:-Qwen/Qwen2.5-3B}               # Tool Zero trains Base models; Instruct / Qwen3: docs/recipes.md
DATA_DIR=${DATA_DIR:-$HOME/data/toolzero}              # toolzero-prep --out
TRAIN_FILES=${TRAIN_FILES:-$DATA_DIR/train.parquet}
VAL_FILES=${VAL_FILES:-$DATA_DIR/test.parquet}

# ---- GG-GRPO hyperparameters (Tool Zero) ---------------------------------------------------------
TRAIN_BATCH_SIZE=${TRAIN_BATCH_SIZE:-128}              # prompts per step
ROLLOUT_N=${ROLLOUT_N:-8}                              # rollouts per prompt (GRPO group size)
TEMPERATURE=${TEMPERATURE:-0.8}
LORA_RANK=${LORA_RANK:-0}                              # > 0: LoRA adapters, not full parameters (docs/recipes.md)
LR=${LR:-$(lora_lr 5e-7)}                              # 5e-7; x LORA_LR_SCALE (10) with LoRA
LR_SCHEDULER=${LR_SCHEDULER:-cosine}
CLIP_RATIO=${CLIP_RATIO:-0.2}
MAX_PROMPT_LENGTH=${MAX_PROMPT_LENGTH:-2048}
MAX_RESPONSE_LENGTH=${MAX_RESPONSE_LENGTH:-2048}
REWARD=${REWARD:-gg_grpo}                              # gg_grpo | toolrl | binary
OUTPUT_FORMAT=${OUTPUT_FORMAT:-answer}
SCHEDULE=${SCHEDULE:-sigmoid}
KAPPA=${KAPPA:-0.1}
MIDPOINT=${MIDPOINT:-25}

# ---- choices the paper does not state (ours; docs/recipes.md) ------------------------------------
SEED=${SEED:-42}                                       # data shuffle seed; verl leaves it unset (docs/reproduce.md)
TOTAL_STEPS=${TOTAL_STEPS:-200}
TOTAL_EPOCHS=${TOTAL_EPOCHS:-100}
PPO_MINI_BATCH_SIZE=${PPO_MINI_BATCH_SIZE:-32}         # 4 updates per step
SAVE_FREQ=${SAVE_FREQ:-25}
TEST_FREQ=${TEST_FREQ:-10}
MAX_CKPT_TO_KEEP=${MAX_CKPT_TO_KEEP:-2}
PROJECT_NAME=${PROJECT_NAME:-toolzero}
EXPERIMENT_NAME=${EXPERIMENT_NAME:-qwen2.5-3b-ggrpo-1gpu}
LOGGER=${LOGGER:-'["console"]'}                        # '["console","wandb"]' to log to W&B
RUN_DIR=${RUN_DIR:-checkpoints/$PROJECT_NAME/$EXPERIMENT_NAME}  # checkpoints + metrics.jsonl (verl's default place)

# ---- memory: one card of GPU_GB (24 or 80) -------------------------------------------------------
GPU_GB=${GPU_GB:-24}
case "$GPU_GB" in
    24)  # 16 bytes per parameter = 49 GB: they live on the CPU (~46 GiB RAM; LoRA needs ~12)
        OFFLOAD_POLICY=${OFFLOAD_POLICY:-True}             # FSDP2 CPUOffloadPolicy; Adam steps on the CPU
        PARAM_OFFLOAD=${PARAM_OFFLOAD:-False}
        OPTIMIZER_OFFLOAD=${OPTIMIZER_OFFLOAD:-False}
        MAX_TOKEN_LEN_PER_GPU=${MAX_TOKEN_LEN_PER_GPU:-4096}   # one full 2048+2048 sequence per micro-batch
        GPU_MEMORY_UTILIZATION=${GPU_MEMORY_UTILIZATION:-0.5} ;;
    80)  # weights and gradients stay on the GPU; Adam (25 GB) waits on the CPU while vLLM rolls out
        OFFLOAD_POLICY=${OFFLOAD_POLICY:-False}
        PARAM_OFFLOAD=${PARAM_OFFLOAD:-False}
        OPTIMIZER_OFFLOAD=${OPTIMIZER_OFFLOAD:-True}
        MAX_TOKEN_LEN_PER_GPU=${MAX_TOKEN_LEN_PER_GPU:-16384}
        GPU_MEMORY_UTILIZATION=${GPU_MEMORY_UTILIZATION:-0.5} ;;
    *) echo "GPU_GB=$GPU_GB: this recipe has settings for 24 and 80 (GB per card); see docs/recipes.md" >&2; exit 2 ;;
esac
ROLLOUT_TP=1 N_GPUS_PER_NODE=1 NNODES=1   # one card, whatever the environment says

ALGORITHM=(
    algorithm.adv_estimator=grpo
    algorithm.use_kl_in_reward=False
    algorithm.norm_adv_by_std_in_grpo=True
)
data_args
model_args
ACTOR=(
    actor_rollout_ref.actor.strategy=fsdp2                 # offload_policy is FSDP2's
    actor_rollout_ref.actor.fsdp_config.offload_policy="$OFFLOAD_POLICY"
    actor_rollout_ref.actor.fsdp_config.param_offload="$PARAM_OFFLOAD"
    actor_rollout_ref.actor.fsdp_config.optimizer_offload="$OPTIMIZER_OFFLOAD"
    actor_rollout_ref.actor.optim.lr="$LR"
    actor_rollout_ref.actor.optim.lr_scheduler_type="$LR_SCHEDULER"
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
