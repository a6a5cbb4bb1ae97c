#!/usr/bin/env bash
# README "make test-fast": the verl-free floors (core, rewards, tools, eval, data_prep) with verl, torch, ray
# and transformers made unimportable (tests/conftest.py). Tests that need that stack carry the `verl`
# marker and are deselected (pytest reports how many), as are those needing bfcl-eval (`bfcl`);
# anything else importing the stack fails.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python3
[ -x .venv/bin/python ] && PY=.venv/bin/python
if ! "$PY" -c 'import pandas, pyarrow, scipy, pytest, hypothesis' 2>/dev/null; then
    echo "==> $PY lacks the test dependencies; run 'make test' once (builds .venv) or pip install -e '.[test]'" >&2
    exit 2
fi
# Two workers when pytest-xdist is there (the test extra installs it): the tier is CPU-bound. Property
# tests draw a tenth of their examples here (toolzero_verl/testing/budget.py); `make test` draws all.
PARALLEL=()
"$PY" -c 'import xdist' 2>/dev/null && PARALLEL=(-n "${FAST_WORKERS:-2}" --dist worksteal)
FAST_DIRS=(tests/toolzero_verl/core tests/toolzero_verl/rewards tests/toolzero_verl/tools tests/toolzero_verl/eval
           tests/data_prep tests/test_layers.py)
TOOLZERO_FAST=1 "$PY" -m pytest "${FAST_DIRS[@]}" -m "not verl and not bfcl" -p no:cacheprovider "${PARALLEL[@]}" \
    --doctest-modules toolzero_verl/core toolzero_verl/rewards toolzero_verl/tools toolzero_verl/eval data_prep "$@"
