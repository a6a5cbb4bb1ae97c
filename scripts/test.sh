#!/usr/bin/env bash
# README "Run the tests": set up .venv if needed, then the whole suite (doctests and the Ray test included).
# - The CPU end-to-end tier (tests/e2e_cpu, marker e2e_cpu) runs real GRPO runs in its own venv,
#   .venv-e2e, which scripts/setup_cpu_e2e.sh builds on first use (~4 min and 4.2 GB; each run
#   ~5 min and ~9 GB RAM). E2E_CPU=0 skips both: no venv is built and the tier is deselected.
# - The tests marked `bfcl` (BFCL's own evaluator on our handlers) run in their own environment,
#   .venv-bfcl (scripts/setup_bfcl.sh: bfcl-eval's pins conflict with the verl stack).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
python -m ruff check .  # lint + import order (pyproject.toml [tool.ruff]); fails the run like a test
if [[ "${E2E_CPU:-1}" == 0 ]]; then
    python -m pytest tests --doctest-modules toolzero_verl data_prep -m "not e2e_cpu and not bfcl" "$@"
else
    bash scripts/setup_cpu_e2e.sh
    python -m pytest tests --doctest-modules toolzero_verl data_prep -m "not bfcl" "$@"
fi
bash scripts/setup_bfcl.sh
.venv-bfcl/bin/python -m pytest tests/toolzero_verl/eval -m bfcl "$@"
