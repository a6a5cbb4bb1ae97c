#!/usr/bin/env bash
# GG-GRPO over multi-turn episodes on Qwen2.5-7B Base: recipes/qwen7b_ggrpo.sh (Tool Zero's hyperparameters,
# one node, 8 GPUs) with episode rows in our agent loop and the episode reward (docs/multiturn.md).
#
#   toolzero-prep --agent-loop --output-format hermes --toolace data.json \
#                 --xlam xlam_function_calling_60k.json --out ~/data/toolzero_episodes        # once
#   bash recipes/qwen7b_ggrpo_multiturn.sh                 # preflight checks, then train
#   DRY_RUN=1 bash recipes/qwen7b_ggrpo_multiturn.sh       # CPU: compose + print the verl config, launch nothing
#   MAX_ASSISTANT_TURNS=6 bash recipes/qwen7b_ggrpo_multiturn.sh trainer.save_freq=10
#
# Every row of --agent-loop data names the toolzero_agent loop (verl's agent_name column): the policy's calls
# are parsed (hermes: Qwen2.5's own tool-call syntax), executed (ToolACE's recorded results replayed, xLAM's
# simulated), and fed back as tool turns; gg_grpo_episode scores the whole trajectory with σ(t) as in the
# single-turn recipe. The limits below are verl's multi_turn settings, which the loop reads; their values come
# from the 96 real ToolACE dialogues of the shared corpora (docs/multiturn.md, "Limits").
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$HERE/common.sh"

export TOOLZERO_RECIPE=${TOOLZERO_RECIPE:-$HERE/qwen7b_ggrpo_multiturn.sh}   # what the run card records
export DATA_DIR=${DATA_DIR:-$HOME/data/toolzero_episodes}   # toolzero-prep --agent-loop --out
export REWARD=${REWARD:-gg_grpo_episode}
export OUTPUT_FORMAT=${OUTPUT_FORMAT:-hermes}               # the format the loop parses turns in (the rows' own)
export MAX_RESPONSE_LENGTH=${MAX_RESPONSE_LENGTH:-4096}     # the whole episode: turns + tool results + user turns
export MAX_TOKEN_LEN_PER_GPU=${MAX_TOKEN_LEN_PER_GPU:-24576}  # 4 full 2048 + 4096 sequences per micro-batch
export EXPERIMENT_NAME=${EXPERIMENT_NAME:-qwen2.5-7b-ggrpo-multiturn}
MAX_ASSISTANT_TURNS=${MAX_ASSISTANT_TURNS:-8}   # gold episodes need at most 7 turns (90 %: 6); one retry
MAX_USER_TURNS=${MAX_USER_TURNS:-4}             # replayed follow-up requests
MAX_PARALLEL_CALLS=${MAX_PARALLEL_CALLS:-4}     # gold turns hold at most 3 calls (verl's default 1 would cut them)
TOOL_RESPONSE_LENGTH=${TOOL_RESPONSE_LENGTH:-2048}  # characters of one result: recorded ones are 307 median, 2119 max
                                                    # (verl's default 256 would cut most of them)

multiturn_args "$MAX_ASSISTANT_TURNS" "$MAX_USER_TURNS" "$MAX_PARALLEL_CALLS" "$TOOL_RESPONSE_LENGTH"
exec bash "$HERE/qwen7b_ggrpo.sh" "${MULTITURN_ARGS[@]}" "$@"
