#!/usr/bin/env bash
# README "Try it": one command on a fresh CPU-only machine (also `make demo`). Sets up .venv if
# needed (scripts/setup.sh), converts the bundled example corpora, scores sample rollouts through
# verl's real RewardLoopWorker with the toolzero reward manager at steps 0/25/50/100, dry-runs the
# 7B recipe and prints a summary. Output goes to demo_out/ (DEMO_OUT to change it).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
python examples/demo.py --out "${DEMO_OUT:-demo_out}" "$@"
