# Shared by every recipe (sourced, not run). A recipe builds bash arrays of verl overrides (the GPU recipes
# with the block functions below and `train "$@"`, which does the two steps that follow), then:
#
#   preflight "${ARGS[@]}" "$@"                          # DRY_RUN=1: compose + print, exit 0
#   python3 -m verl.trainer.main_ppo "${ARGS[@]}" "$@"   # the launch, with the same list
#
# Environment switches (docs/recipes.md):
#   DRY_RUN=1         compose verl's ppo_trainer config with the override list, validate it, resolve the
#                     reward manager, print the effective config and exit 0 (CPU only, nothing launched)
#   PRINT_ARGS=1      print the override list, one per line, and exit 0 (used by the demo and tests)
#   SKIP_PREFLIGHT=1  launch without the checks (not recommended)
#   RUN_CARD=PATH     where the run card goes (default auto: trainer.default_local_dir/run_card.json, written
#                     before the launch; none: no card); a dry run writes one only when RUN_CARD is set
# The preflight runs with the same `python3` as the launch, so "plugin registered" means registered
# in the interpreter that will train.
#
#   OBSERVABILITY=0   neither of the two below (observability_args below, docs/verl.md "Observability")
#   REWARD_METRICS=0  no per-step toolzero/* reward metrics (verl's own sampler); FILE_LOGGER=0  no metrics.jsonl
# Set by a recipe after sourcing this file (not by the environment):
#   PREFLIGHT_DEVICE=cpu  the launch check verifies the CPU end-to-end tier's set-up (platform shim, one
#                         logical GPU, vLLM's CPU build) instead of counting GPUs (recipes/cpu_tiny.sh)
#   LAUNCH_ENV=(K=V ...)  environment of the launch; the check runs with it too

set -euo pipefail

TOOLZERO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Lets `python3 -m toolzero_verl.plugin.preflight` work from a clone that is not pip-installed (the plugin
# check will then say how to install it).
export PYTHONPATH="$TOOLZERO_ROOT${PYTHONPATH:+:$PYTHONPATH}"
PREFLIGHT_DEVICE=gpu
LAUNCH_ENV=()
METRICS_FILE=""   # set by observability_args

preflight() {
    if [[ "${PRINT_ARGS:-0}" == 1 ]]; then
        printf '%s\n' "$@"
        exit 0
    fi
    local recipe="${TOOLZERO_RECIPE:-${BASH_SOURCE[1]:-$0}}"   # a wrapper recipe names itself
    if [[ "${DRY_RUN:-0}" == 1 ]]; then
        python3 -m toolzero_verl.plugin.preflight --run-card "${RUN_CARD:-none}" --recipe "$recipe" dry-run -- "$@"
        exit $?
    fi
    if [[ "${SKIP_PREFLIGHT:-0}" == 1 ]]; then
        echo "==> SKIP_PREFLIGHT=1: launching without checks" >&2
        python3 -m toolzero_verl.plugin.preflight --run-card "${RUN_CARD:-auto}" --recipe "$recipe" card -- "$@"
    elif ! env ${LAUNCH_ENV[@]+"${LAUNCH_ENV[@]}"} \
            python3 -m toolzero_verl.plugin.preflight --device "$PREFLIGHT_DEVICE" \
            --run-card "${RUN_CARD:-auto}" --recipe "$recipe" check -- "$@"; then
        echo "==> not launching. Fix the problems above, or check the recipe on CPU with DRY_RUN=1." >&2
        exit 1
    fi
    [[ -z "$METRICS_FILE" ]] || mkdir -p "$(dirname "$METRICS_FILE")"   # verl's FileLogger does not create it
    keep_earlier_metrics
    echo "==> launching python3 -m verl.trainer.main_ppo with $# overrides" >&2
    if [[ -n "$METRICS_FILE" ]]; then
        echo "==> step metrics: $METRICS_FILE (plots: toolzero-eval curves $(dirname "$METRICS_FILE"))" >&2
    fi
    TOOLZERO_LAUNCH_ARGS=("$@")
    trap merge_hint EXIT
}

# On a successful exit after the launch: the command that turns the last checkpoint into a Hugging Face
# folder for evaluation (docs/eval.md), shell-quoted so that it runs as printed. The folder is verl's
# trainer.default_local_dir (its default: checkpoints/<project_name>/<experiment_name>); verl records the
# last step in latest_checkpointed_iteration.txt. A recipe with an EXIT trap of its own calls
# `merge_hint STATUS` from it (recipes/cpu_tiny.sh).
merge_hint() {
    local status=${1:-$?} arg dir="" project="" experiment="" step ckpt
    [[ $status == 0 ]] || return 0
    for arg in "${TOOLZERO_LAUNCH_ARGS[@]}"; do
        case "${arg#+}" in
            trainer.default_local_dir=*) dir="${arg#*=}" ;;
            trainer.project_name=*) project="${arg#*=}" ;;
            trainer.experiment_name=*) experiment="${arg#*=}" ;;
        esac
    done
    dir="${dir:-checkpoints/$project/$experiment}"
    if [[ -f "$dir/latest_checkpointed_iteration.txt" ]]; then
        step="$(tr -d '[:space:]' < "$dir/latest_checkpointed_iteration.txt")"
        echo "==> training done. Merge the last checkpoint into a Hugging Face folder:" >&2
        ckpt=$(printf %q "$dir/global_step_$step")
        echo "    toolzero-eval merge --checkpoint $ckpt --out $ckpt/hf" >&2
    else
        echo "==> training done; no checkpoint in $dir (trainer.save_freq). With one:" >&2
        echo "    toolzero-eval merge --checkpoint $dir/global_step_<N> --out $dir/global_step_<N>/hf" >&2
    fi
}

# convert_examples DIR [toolzero-prep option ...]: converts the bundled example corpora (examples/data:
# ToolACE, xLAM and Hammer shapes, ~40 rows) into DIR/{train,test}.parquet, unless DIR already has them.
convert_examples() {
    local out=$1
    shift
    [[ -f "$out/train.parquet" ]] && return 0
    python3 -m data_prep --toolace "$TOOLZERO_ROOT/examples/data/toolace_data.json" \
        --xlam "$TOOLZERO_ROOT/examples/data/xlam_function_calling_60k.json" \
        --hammer "$TOOLZERO_ROOT/examples/data/xlam-7.5k-irrelevancek.json" \
        --out "$out" --no-progress --quiet "$@" >&2
}

# reward_args REWARD OUTPUT_FORMAT [OPTION=VALUE ...]: sets REWARD_ARGS, the overrides that select the
# `toolzero` reward manager and pass it the reward's options (each reward accepts only its own options,
# docs/rewards.md; every one takes the schedule total, interpolated by verl from the trainer setting).
reward_args() {
    local option
    REWARD_ARGS=(
        reward.reward_manager.name=toolzero
        +reward.custom_reward_function.reward_kwargs.reward="$1"
        +reward.custom_reward_function.reward_kwargs.output_format="$2"
        '+reward.custom_reward_function.reward_kwargs.total_training_steps=${trainer.total_training_steps}'
    )
    shift 2
    for option in "$@"; do
        REWARD_ARGS+=("+reward.custom_reward_function.reward_kwargs.$option")
    done
}

# ---- the override blocks every GPU recipe builds alike ---------------------------------------------
# Each recipe sets its values, with their sources, next to its variables; these turn the variables into verl
# overrides. A recipe writes its own ALGORITHM and ACTOR arrays (where the methods differ: KL, entropy, offload),
# calls the functions below, then `train "$@"`.

# data_args: sets DATA_ARGS from TRAIN_FILES VAL_FILES TRAIN_BATCH_SIZE MAX_PROMPT_LENGTH MAX_RESPONSE_LENGTH SEED
# (prompts longer than MAX_PROMPT_LENGTH are dropped, not cut; SEED seeds verl's shuffle, docs/reproduce.md).
data_args() {
    DATA_ARGS=(
        data.train_files="$TRAIN_FILES"
        data.val_files="$VAL_FILES"
        data.train_batch_size="$TRAIN_BATCH_SIZE"
        data.max_prompt_length="$MAX_PROMPT_LENGTH"
        data.max_response_length="$MAX_RESPONSE_LENGTH"
        data.filter_overlong_prompts=True
        data.seed="$SEED"
    )
}

# model_args: sets MODEL_ARGS from MODEL_PATH (padding-free attention and gradient checkpointing on).
model_args() {
    MODEL_ARGS=(
        actor_rollout_ref.model.path="$MODEL_PATH"
        actor_rollout_ref.model.use_remove_padding=True
        actor_rollout_ref.model.enable_gradient_checkpointing=True
    )
}

# rollout_args: sets ROLLOUT_ARGS, vLLM rollouts from ROLLOUT_N (the GRPO group size) TEMPERATURE ROLLOUT_TP
# GPU_MEMORY_UTILIZATION.
rollout_args() {
    ROLLOUT_ARGS=(
        actor_rollout_ref.rollout.name=vllm
        actor_rollout_ref.rollout.n="$ROLLOUT_N"
        actor_rollout_ref.rollout.temperature="$TEMPERATURE"
        actor_rollout_ref.rollout.tensor_model_parallel_size="$ROLLOUT_TP"
        actor_rollout_ref.rollout.gpu_memory_utilization="$GPU_MEMORY_UTILIZATION"
    )
}

# trainer_args: sets TRAINER_ARGS from TOTAL_STEPS TOTAL_EPOCHS N_GPUS_PER_NODE NNODES SAVE_FREQ TEST_FREQ
# MAX_CKPT_TO_KEEP PROJECT_NAME EXPERIMENT_NAME (validation also before the first step: the step-0 baseline).
trainer_args() {
    TRAINER_ARGS=(
        trainer.total_training_steps="$TOTAL_STEPS"
        trainer.total_epochs="$TOTAL_EPOCHS"
        trainer.n_gpus_per_node="$N_GPUS_PER_NODE"
        trainer.nnodes="$NNODES"
        trainer.save_freq="$SAVE_FREQ"
        trainer.test_freq="$TEST_FREQ"
        trainer.max_actor_ckpt_to_keep="$MAX_CKPT_TO_KEEP"
        trainer.val_before_train=True
        trainer.project_name="$PROJECT_NAME"
        trainer.experiment_name="$EXPERIMENT_NAME"
    )
}

# schedule_reward_args: sets REWARD_ARGS (reward_args) for REWARD in OUTPUT_FORMAT, with GG-GRPO's σ(t) options
# SCHEDULE KAPPA MIDPOINT when REWARD has them (gg_grpo and gg_grpo_episode; the other rewards reject them).
schedule_reward_args() {
    if [[ "$REWARD" == gg_grpo* ]]; then
        reward_args "$REWARD" "$OUTPUT_FORMAT" schedule="$SCHEDULE" kappa="$KAPPA" midpoint="$MIDPOINT"
    else
        reward_args "$REWARD" "$OUTPUT_FORMAT"
    fi
}

# train [EXTRA_OVERRIDE ...]: a GPU recipe's launch. Adds the observability and LoRA overrides, puts ARGS in
# verl's order (ALGORITHM DATA_ARGS MODEL_ARGS LORA_ARGS ACTOR ROLLOUT_ARGS REWARD_ARGS TRAINER_ARGS
# OBSERVABILITY_ARGS), runs the preflight, then main_ppo with ARGS and the extra overrides (which win).
train() {
    TOOLZERO_RECIPE="${TOOLZERO_RECIPE:-${BASH_SOURCE[1]:-$0}}"   # the recipe that called train (preflight's name)
    observability_args "$RUN_DIR" "$@"
    lora_args
    ARGS=("${ALGORITHM[@]}" "${DATA_ARGS[@]}" "${MODEL_ARGS[@]}" "${LORA_ARGS[@]}" "${ACTOR[@]}" "${ROLLOUT_ARGS[@]}"
          "${REWARD_ARGS[@]}" "${TRAINER_ARGS[@]}" "${OBSERVABILITY_ARGS[@]}")
    preflight "${ARGS[@]}" "$@"
    python3 -m verl.trainer.main_ppo "${ARGS[@]}" "$@"
}

# observability_args RUN_DIR [EXTRA_OVERRIDE ...]: sets OBSERVABILITY_ARGS, the overrides that make a run
# observable by default, for every recipe (a new one too: call it with the recipe's extra arguments and add
# "${OBSERVABILITY_ARGS[@]}" to the list; docs/verl.md, "Observability"). RUN_DIR becomes absolute (Ray
# actors do not run in the launch directory); a trailing trainer.default_local_dir=… among the extra
# arguments wins. It holds the checkpoints (trainer.default_local_dir) and metrics.jsonl.
#   per-step reward metrics  the ToolZeroReplayBuffer sampler (…Async when trainer.v1.trainer_mode is not
#                            sync): toolzero/* means of every reward component, σ, parse failures, hack
#                            monitors, equal-reward groups.                      REWARD_METRICS=0 turns it off
#     SAMPLER_POLL_INTERVAL  seconds between its polls of TransferQueue (default 2, verl's)
#     SAMPLER_STALL_TIMEOUT  seconds without any progress before sample() fails instead of waiting forever
#                            (verl-project/verl#7155; default 1800, 0 = off)
#   file logger              verl's `file` backend is added to LOGGER; VERL_FILE_LOGGER_PATH=$RUN_DIR/metrics.jsonl
#                            goes into the job's Ray runtime env, so the TaskRunner actor that logs sees it
#                            on `ray start` clusters too.                             FILE_LOGGER=0 turns it off
#   OBSERVABILITY=0          both off (the TransferQueue setting below stays: it is about start-up, not logging)
#   TQ_STORAGE_UNITS         TransferQueue storage units, one Ray CPU each for the whole run (default 8, verl's);
#                            the preflight checks Ray has the CPUs for them (too few: the start-up hangs)
# The preflight checks these settings; before a launch an earlier metrics.jsonl in RUN_DIR (a run being
# resumed: verl's FileLogger truncates its file) is kept as metrics.<UTC time>.jsonl, and
# `toolzero-eval curves RUN_DIR` joins the pieces.
observability_args() {
    local run_dir=$1 arg mode=sync logger=${LOGGER:-'["console"]'} sampler=ToolZeroReplayBuffer
    local metrics=${REWARD_METRICS:-1} file=${FILE_LOGGER:-1}
    shift
    if [[ "${OBSERVABILITY:-1}" == 0 ]]; then
        metrics=0 file=0
    fi
    for arg in "$@"; do
        case "${arg#+}" in
            trainer.default_local_dir=*) run_dir="${arg#*=}" ;;
            trainer.v1.trainer_mode=*) mode="${arg#*=}" ;;
        esac
    done
    [[ "$run_dir" == /* ]] || run_dir="$PWD/$run_dir"
    RUN_DIR=$run_dir
    METRICS_FILE=""
    OBSERVABILITY_ARGS=(
        trainer.default_local_dir="$RUN_DIR"
        transfer_queue.backend.SimpleStorage.num_data_storage_units="${TQ_STORAGE_UNITS:-8}"
    )
    if [[ "$metrics" != 0 ]]; then
        [[ "$mode" == sync ]] || sampler=ToolZeroReplayBufferAsync
        OBSERVABILITY_ARGS+=(
            trainer.v1.sampler.custom_sampler.path=pkg://toolzero_verl.plugin.replay_buffer
            trainer.v1.sampler.custom_sampler.name="$sampler"
            +trainer.v1.sampler.sampler_kwargs.poll_interval="${SAMPLER_POLL_INTERVAL:-2.0}"
            +trainer.v1.sampler.sampler_kwargs.stall_timeout="${SAMPLER_STALL_TIMEOUT:-1800}"
        )
    fi
    if [[ "$file" != 0 ]]; then
        METRICS_FILE="$RUN_DIR/metrics.jsonl"
        logger=$(with_file_logger "$logger")
        OBSERVABILITY_ARGS+=("+ray_kwargs.ray_init.runtime_env.env_vars.VERL_FILE_LOGGER_PATH=$METRICS_FILE")
    fi
    OBSERVABILITY_ARGS+=(trainer.logger="$logger")
}

# with_file_logger LIST: prints verl's trainer.logger LIST with "file" added ('["console"]' -> '["console","file"]').
with_file_logger() {
    case "$1" in
        *file*) echo "$1" ;;
        "" | "[]") echo '["file"]' ;;
        \[*\]) echo "${1%]},\"file\"]" ;;
        *) echo "[\"$1\",\"file\"]" ;;   # a single backend name
    esac
}

# keep_earlier_metrics: before a launch, moves an earlier non-empty $METRICS_FILE aside as
# metrics.<UTC time>.jsonl (verl's FileLogger opens its file with "wb": a resumed run would erase it).
keep_earlier_metrics() {
    [[ -n "$METRICS_FILE" && -s "$METRICS_FILE" ]] || return 0
    local kept
    kept="$(dirname "$METRICS_FILE")/metrics.$(date -u +%Y%m%dT%H%M%SZ).jsonl"
    mv "$METRICS_FILE" "$kept"
    echo "==> kept the earlier $(basename "$METRICS_FILE") as $kept" >&2
}

# lora_args: sets LORA_ARGS, the overrides of verl's own LoRA (docs/recipes.md, "LoRA"): peft adapters on the
# FSDP actor, vLLM loading the base weights from the model's safetensors and the adapter at every weight sync
# (verl/workers/rollout/vllm_rollout/vllm_async_server.py). Empty when LORA_RANK is 0 (full-parameter training).
#   LORA_RANK            adapter rank; 0 = off (every recipe's default)
#   LORA_ALPHA           scaling numerator (alpha / rank); default 32, as in "LoRA Without Regret" (Schulman et al., 2025)
#   LORA_TARGET_MODULES  peft target_modules; default all-linear (every linear layer but the LM head)
lora_args() {
    LORA_ARGS=()
    [[ "${LORA_RANK:-0}" == 0 ]] && return 0
    LORA_ARGS=(
        actor_rollout_ref.model.lora_rank="$LORA_RANK"
        actor_rollout_ref.model.lora_alpha="${LORA_ALPHA:-32}"
        actor_rollout_ref.model.target_modules="${LORA_TARGET_MODULES:-all-linear}"
        actor_rollout_ref.rollout.load_format=safetensors   # vLLM loads the base itself; only adapters are synced
        actor_rollout_ref.rollout.layered_summon=True       # gather the adapter one FSDP unit at a time
    )
}

# lora_lr FULL_LR: prints the learning rate for this run: FULL_LR, or LORA_LR_SCALE (default 10) x FULL_LR when
# LORA_RANK > 0. "LoRA Without Regret" found LoRA's best learning rate ~10x full fine-tuning's, at alpha 32.
lora_lr() {
    if [[ "${LORA_RANK:-0}" == 0 ]]; then
        echo "$1"
    else
        awk -v lr="$1" -v scale="${LORA_LR_SCALE:-10}" 'BEGIN { printf "%g\n", lr * scale }'
    fi
}

# multiturn_args MAX_ASSISTANT_TURNS MAX_USER_TURNS MAX_PARALLEL_CALLS TOOL_RESPONSE_LENGTH: sets MULTITURN_ARGS,
# verl's multi-turn rollout settings for episode rows (toolzero-prep --agent-loop writes agent_name=toolzero_agent,
# the agent loop toolzero_verl.plugin registers; rows without agent_name keep verl's single-turn loop). Our loop
# reads verl's own limits (docs/multiturn.md, "Limits"): assistant turns per episode, replayed user turns,
# calls executed per turn, characters of one call's result.
multiturn_args() {
    MULTITURN_ARGS=(
        actor_rollout_ref.rollout.multi_turn.enable=True
        actor_rollout_ref.rollout.multi_turn.max_assistant_turns="$1"
        actor_rollout_ref.rollout.multi_turn.max_user_turns="$2"
        actor_rollout_ref.rollout.multi_turn.max_parallel_calls="$3"
        actor_rollout_ref.rollout.multi_turn.max_tool_response_length="$4"
    )
}
