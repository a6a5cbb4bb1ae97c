#!/usr/bin/env bash
# README "Run the tests": set up .venv if needed, then the whole suite (doctests and the Ray test included);
# then the tests marked `bfcl` (BFCL's own evaluator on our handlers) in their own environment, .venv-bfcl
# (scripts/setup_bfcl.sh: bfcl-eval's pins conflict with the verl stack).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
python -m pytest tests --doctest-modules toolzero_verl data_prep -m "not bfcl" "$@"
bash scripts/setup_bfcl.sh
.venv-bfcl/bin/python -m pytest tests/toolzero_verl/eval -m bfcl "$@"
