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
# shellcheck disable=SC1091
. "$VENV/bin/activate"
