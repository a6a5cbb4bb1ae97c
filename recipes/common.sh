# Shared by every recipe (sourced, not run). A recipe builds bash arrays of verl overrides, then:
#
#   preflight "${ARGS[@]}" "$@"                          # DRY_RUN=1: compose + print, exit 0
#   python3 -m verl.trainer.main_ppo "${ARGS[@]}" "$@"   # the launch, with the same list
#
# Environment switches (docs/recipes.md):
#   DRY_RUN=1         compose verl's ppo_trainer config with the override list, validate it, resolve the
#                     reward manager, print the effective config and exit 0 (CPU only, nothing launched)
#   PRINT_ARGS=1      print the override list, one per line, and exit 0 (used by the demo and tests)
#   SKIP_PREFLIGHT=1  launch without the checks (not recommended)
# The preflight runs with the same `python3` as the launch, so "plugin registered" means registered
# in the interpreter that will train.
#
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

preflight() {
    if [[ "${PRINT_ARGS:-0}" == 1 ]]; then
        printf '%s\n' "$@"
        exit 0
    fi
    if [[ "${DRY_RUN:-0}" == 1 ]]; then
        python3 -m toolzero_verl.plugin.preflight dry-run -- "$@"
        exit $?
    fi
    if [[ "${SKIP_PREFLIGHT:-0}" == 1 ]]; then
        echo "==> SKIP_PREFLIGHT=1: launching without checks" >&2
    elif ! env ${LAUNCH_ENV[@]+"${LAUNCH_ENV[@]}"} python3 -m toolzero_verl.plugin.preflight --device "$PREFLIGHT_DEVICE" check -- "$@"; then
        echo "==> not launching. Fix the problems above, or check the recipe on CPU with DRY_RUN=1." >&2
        exit 1
    fi
    echo "==> launching python3 -m verl.trainer.main_ppo with $# overrides" >&2
    TOOLZERO_LAUNCH_ARGS=("$@")
    trap merge_hint EXIT
}

# On a successful exit after the launch: the command that turns the last checkpoint into a Hugging Face
# folder for evaluation (docs/eval.md). The folder is verl's trainer.default_local_dir (its default:
# checkpoints/<project_name>/<experiment_name>); verl records the last step in latest_checkpointed_iteration.txt.
merge_hint() {
    local status=$? arg dir="" project="" experiment="" step
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
        echo "    toolzero-eval merge --checkpoint $dir/global_step_$step --out $dir/global_step_$step/hf" >&2
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
