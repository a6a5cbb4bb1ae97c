#!/usr/bin/env bash
# GG-GRPO (Tool Zero, Zeng et al. 2025, arXiv 2511.01934) on Qwen2.5-1.5B Base on ONE GPU: a 24 GB card
# (RTX 3090/4090, A10, L4) or an 80 GB one (A100/H100). GPU_GB picks the memory settings; the method's
# hyperparameters are Tool Zero's, as in recipes/qwen7b_ggrpo.sh.
#
#   toolzero-prep --toolace data.json --xlam xlam_function_calling_60k.json \
#                 --hammer xlam-7.5k-irrelevancek.json --out ~/data/toolzero     # once (docs/data.md)
#   bash recipes/qwen1.5b_ggrpo_1gpu.sh                 # 24 GB card: FSDP2 CPU offload (Adam on the CPU)
#   GPU_GB=80 bash recipes/qwen1.5b_ggrpo_1gpu.sh       # 80 GB card: everything on the GPU
#   LORA_RANK=32 bash recipes/qwen1.5b_ggrpo_1gpu.sh    # LoRA adapters instead of full parameters
#   DRY_RUN=1 PLAN_GPUS=1x24 bash recipes/qwen1.5b_ggrpo_1gpu.sh   # CPU: compose, print, estimate the fit
#
# What it needs (GPU memory per phase, host RAM; estimated, with the basis) and the sources of every
# value: docs/recipes.md, "Single GPU" and "What each recipe needs".
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# ---- model and data ------------------------------------------------------------------------------
MODEL_PATH=${MODEL_PATH:-Qwen/Qwen2.5-1.5B}             # Tool Zero trains Base models; Instruct / Qwen3: docs/recipes.md
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
EXPERIMENT_NAME=${EXPERIMENT_NAME:-qwen2.5-1.5b-ggrpo-1gpu}
LOGGER=${LOGGER:-'["console"]'}                        # '["console","wandb"]' to log to W&B
RUN_DIR=${RUN_DIR:-checkpoints/$PROJECT_NAME/$EXPERIMENT_NAME}  # checkpoints + metrics.jsonl (verl's default place)

# ---- memory: one card of GPU_GB (24 or 80) -------------------------------------------------------
GPU_GB=${GPU_GB:-24}
case "$GPU_GB" in
    24)  # 16 bytes per parameter (fp32 weights, gradients, Adam) = 25 GB: they live on the CPU (~23 GiB RAM)
        OFFLOAD_POLICY=${OFFLOAD_POLICY:-True}             # FSDP2 CPUOffloadPolicy; Adam steps on the CPU
        PARAM_OFFLOAD=${PARAM_OFFLOAD:-False}
        OPTIMIZER_OFFLOAD=${OPTIMIZER_OFFLOAD:-False}
        MAX_TOKEN_LEN_PER_GPU=${MAX_TOKEN_LEN_PER_GPU:-8192}   # two full 2048+2048 sequences per micro-batch
        GPU_MEMORY_UTILIZATION=${GPU_MEMORY_UTILIZATION:-0.5} ;;
    80)
        OFFLOAD_POLICY=${OFFLOAD_POLICY:-False}
        PARAM_OFFLOAD=${PARAM_OFFLOAD:-False}
        OPTIMIZER_OFFLOAD=${OPTIMIZER_OFFLOAD:-False}
        MAX_TOKEN_LEN_PER_GPU=${MAX_TOKEN_LEN_PER_GPU:-16384}
        GPU_MEMORY_UTILIZATION=${GPU_MEMORY_UTILIZATION:-0.5} ;;
    *) echo "GPU_GB=$GPU_GB: this recipe has settings for 24 and 80 (GB per card); see docs/recipes.md" >&2; exit 2 ;;
esac

ALGORITHM=(
    algorithm.adv_estimator=grpo
    algorithm.use_kl_in_reward=False
    algorithm.norm_adv_by_std_in_grpo=True
)
DATA=(
    data.train_files="$TRAIN_FILES"
    data.val_files="$VAL_FILES"
    data.train_batch_size="$TRAIN_BATCH_SIZE"
    data.max_prompt_length="$MAX_PROMPT_LENGTH"
    data.max_response_length="$MAX_RESPONSE_LENGTH"
    data.filter_overlong_prompts=True
    data.seed="$SEED"
)
MODEL=(
    actor_rollout_ref.model.path="$MODEL_PATH"
    actor_rollout_ref.model.use_remove_padding=True
    actor_rollout_ref.model.enable_gradient_checkpointing=True
)
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
ROLLOUT=(
    actor_rollout_ref.rollout.name=vllm
    actor_rollout_ref.rollout.n="$ROLLOUT_N"
    actor_rollout_ref.rollout.temperature="$TEMPERATURE"
    actor_rollout_ref.rollout.tensor_model_parallel_size=1
    actor_rollout_ref.rollout.gpu_memory_utilization="$GPU_MEMORY_UTILIZATION"
)
if [[ "$REWARD" == gg_grpo ]]; then
    reward_args "$REWARD" "$OUTPUT_FORMAT" schedule="$SCHEDULE" kappa="$KAPPA" midpoint="$MIDPOINT"
else
    reward_args "$REWARD" "$OUTPUT_FORMAT"
fi
TRAINER=(
    trainer.total_training_steps="$TOTAL_STEPS"
    trainer.total_epochs="$TOTAL_EPOCHS"
    trainer.n_gpus_per_node=1
    trainer.nnodes=1
    trainer.save_freq="$SAVE_FREQ"
    trainer.test_freq="$TEST_FREQ"
    trainer.max_actor_ckpt_to_keep="$MAX_CKPT_TO_KEEP"
    trainer.val_before_train=True
    trainer.project_name="$PROJECT_NAME"
    trainer.experiment_name="$EXPERIMENT_NAME"
)
observability_args "$RUN_DIR" "$@"   # toolzero/* step metrics, metrics.jsonl (off: REWARD_METRICS=0, FILE_LOGGER=0)
lora_args
ARGS=("${ALGORITHM[@]}" "${DATA[@]}" "${MODEL[@]}" "${LORA_ARGS[@]}" "${ACTOR[@]}" "${ROLLOUT[@]}" "${REWARD_ARGS[@]}"
      "${TRAINER[@]}" "${OBSERVABILITY_ARGS[@]}")

preflight "${ARGS[@]}" "$@"
python3 -m verl.trainer.main_ppo "${ARGS[@]}" "$@"
