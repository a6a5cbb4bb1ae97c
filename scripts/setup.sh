#!/usr/bin/env bash
# Idempotent environment set-up, sourced by scripts/test.sh and scripts/demo.sh.
# Creates $VENV (default .venv) with the CPU build of torch installed BEFORE verl — otherwise pip
# resolves the newest torch with several GB of CUDA packages — then verl 0.9.1 and this project with its
# verl, test and plots (matplotlib: `toolzero-eval curves`, the demo's plots) extras.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
STAMP="$VENV/.toolzero-setup-done"

if [ ! -f "$STAMP" ]; then
    echo "==> creating $VENV (torch 2.13.0 CPU, verl 0.9.1, toolzero-verl[verl,test,plots]); takes a few minutes"
    "${PYTHON:-python3}" -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q torch==2.13.0
    "$VENV/bin/python" -m pip install -q verl==0.9.1
    "$VENV/bin/python" -m pip install -q -e "$ROOT[verl,test,plots]"
    "$VENV/bin/python" -c 'import torch, sys; sys.exit(f"CUDA torch installed: {torch.__version__}" if torch.version.cuda else 0)'
    touch "$STAMP"
fi
# A venv set up before the plots extra existed gets it now (the stamp alone would skip it).
if ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
    "$VENV/bin/python" -m pip install -q -e "$ROOT[plots]"
fi
# The compiled call reader (setup.py; docs/rewards.md, "Speed") is built by the editable install: a venv
# made before it existed, or older than its C source, rebuilds it (seconds; without a C compiler pycalls
# uses its Python reader and this retries on the next run).
READER_SO=$(ls "$ROOT"/toolzero_verl/core/_callreader.*.so 2>/dev/null | head -n 1 || true)
if [ -z "$READER_SO" ] || [ "$ROOT/toolzero_verl/core/_callreader.c" -nt "$READER_SO" ]; then
    "$VENV/bin/python" -m pip install -q --no-deps -e "$ROOT" 2>/dev/null || echo "toolzero: could not build the compiled call reader"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
