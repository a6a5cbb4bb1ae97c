#!/usr/bin/env bash
# GG-GRPO (Tool Zero, Zeng et al. 2025, arXiv 2511.01934) on Qwen2.5-1.5B Base on ONE GPU: a 24 GB card
# (RTX 3090/4090, A10, L4) or an 80 GB one (A100/H100). recipes/qwen3b_ggrpo_1gpu.sh with the 1.5B model and
# the memory settings it can afford; every other value (Tool Zero's hyperparameters) is that recipe's.
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
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

export TOOLZERO_RECIPE=${TOOLZERO_RECIPE:-$HERE/qwen1.5b_ggrpo_1gpu.sh}   # what the run card records
export MODEL_PATH=${MODEL_PATH:-Qwen/Qwen2.5-1.5B}      # Tool Zero trains Base models; Instruct / Qwen3: docs/recipes.md
export EXPERIMENT_NAME=${EXPERIMENT_NAME:-qwen2.5-1.5b-ggrpo-1gpu}
case "${GPU_GB:-24}" in
    24)  # 16 bytes per parameter (fp32 weights, gradients, Adam) = 25 GB: they live on the CPU (~23 GiB RAM)
        export MAX_TOKEN_LEN_PER_GPU=${MAX_TOKEN_LEN_PER_GPU:-8192} ;;  # two full 2048+2048 sequences per micro-batch
    80)  # weights, gradients and Adam all stay on the GPU
        export OPTIMIZER_OFFLOAD=${OPTIMIZER_OFFLOAD:-False} ;;
esac
exec bash "$HERE/qwen3b_ggrpo_1gpu.sh" "$@"
