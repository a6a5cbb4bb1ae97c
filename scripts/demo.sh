#!/usr/bin/env bash
# README "Try it": one command on a fresh CPU-only machine (also `make demo`). Sets up .venv if
# needed (scripts/setup.sh), converts the bundled example corpora, scores sample rollouts through
# verl's real RewardLoopWorker with the toolzero reward manager at steps 0/25/50/100, dry-runs the
# 7B recipe and prints a summary (examples/demo.py). Then it trains: a real GG-GRPO run of
# recipes/cpu_tiny.sh in verl's own trainer for DEMO_STEPS steps (default 4) on the CPU tier's venv
# .venv-e2e (scripts/setup_cpu_e2e.sh builds it on first use: ~4 min, 4.2 GB), and prints the per-step
# table and writes the plots through `toolzero-eval curves` (the same code as for any run). The
# training needs ~9 GB RAM and both cores for ~5-8 min; DEMO_TRAIN=0 skips it.
# Output goes to demo_out/ (DEMO_OUT to change it): the run in train/, the plots in curves/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
OUT="${DEMO_OUT:-demo_out}"
DEMO_STEPS="${DEMO_STEPS:-4}"   # with cpu_tiny's κ = 1, midpoint 2: σ = 0.27, 0.50, 0.73, 0.88
python examples/demo.py --out "$OUT" "$@"

if [[ "${DEMO_TRAIN:-1}" == 0 ]]; then
    echo "DEMO_TRAIN=0: training skipped (make demo trains the tiny model for $DEMO_STEPS steps otherwise)"
    exit 0
fi

# train: the tiny recipe for DEMO_STEPS steps, then its table and plots. The run directory keeps the converted
# data and the warm-started model between demos; an earlier demo's checkpoint and metrics are removed, so
# verl starts at step 1 instead of resuming a finished run.
train() {
    local run_dir log
    run_dir="$(cd "$OUT" && pwd)/train"
    log="$run_dir/console.log"
    echo
    echo "[5] training: recipes/cpu_tiny.sh for $DEMO_STEPS GG-GRPO steps in verl's trainer on the CPU"
    bash scripts/setup_cpu_e2e.sh
    mkdir -p "$run_dir"
    rm -rf "$run_dir"/global_step_* "$run_dir"/latest_checkpointed_iteration.txt "$run_dir"/metrics*.jsonl
    echo "      ~5-8 min (vLLM and Ray start-up dominate); verl's output: $log"
    if ! env -u VIRTUAL_ENV PATH="$PWD/.venv-e2e/bin:$PATH" RUN_DIR="$run_dir" STEPS="$DEMO_STEPS" \
            bash recipes/cpu_tiny.sh >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        echo "training failed; the whole output is in $log" >&2
        return 1
    fi
    echo "      per step: σ(t), the reward means, GRPO's equal-reward-group fraction, the update, step time"
    toolzero-eval curves "$run_dir" --out "$OUT/curves" --table
    echo "      A 0.5 M-parameter model on 38 example rows: this shows the plugin inside a real GRPO loop (σ moves,"
    echo "      our reward reaches the advantages and the update); it is not the paper's result (README). With 16"
    echo "      rollouts per step, the check: lines above are noise here; on a real run they are the warnings to read"
    echo "      (docs/verl.md, \"Reading the curves\")."
}

train
