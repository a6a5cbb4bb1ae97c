#!/usr/bin/env bash
# README "Run the tests": set up .venv if needed, then the whole suite (doctests and the Ray test included).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
python -m pytest tests --doctest-modules toolzero_verl data_prep "$@"
