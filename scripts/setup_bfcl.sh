#!/usr/bin/env bash
# Idempotent set-up of the bfcl-eval environment ($VENV_BFCL, default .venv-bfcl) used by
# `toolzero-eval bfcl-official` and the tests marked `bfcl`. bfcl-eval pins numpy 1.26, pandas 3.0,
# networkx 3.3 and filelock 3.20, which would downgrade the verl stack in .venv, so it gets its own
# environment: CPU torch first (bfcl-eval's sentence-transformers needs torch; without it pip would
# resolve the CUDA build), then toolzero-verl with its [bfcl] extra (bfcl-eval and soundfile, which
# qwen-agent imports without declaring it) and the test tools. Verl is not installed here. pyarrow 26
# needs NumPy 2 at import without declaring it, so it is capped below 26 (NumPy stays at bfcl-eval's 1.26).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV_BFCL="${VENV_BFCL:-$ROOT/.venv-bfcl}"
STAMP="$VENV_BFCL/.toolzero-bfcl-setup-v2"

if [ ! -f "$STAMP" ]; then
    echo "==> creating $VENV_BFCL (torch 2.13.0 CPU, bfcl-eval, toolzero-verl[bfcl]); takes a few minutes"
    "${PYTHON:-python3}" -m venv "$VENV_BFCL"
    "$VENV_BFCL/bin/python" -m pip install -q --upgrade pip
    "$VENV_BFCL/bin/python" -m pip install -q torch==2.13.0
    "$VENV_BFCL/bin/python" -m pip install -q -e "$ROOT[bfcl]" "pyarrow<26" "pytest>=8" "hypothesis>=6.100"
    "$VENV_BFCL/bin/python" -c 'import torch, sys; sys.exit(f"CUDA torch installed: {torch.__version__}" if torch.version.cuda else 0)'
    "$VENV_BFCL/bin/python" -c 'import pyarrow, pandas'  # the parquet stack works with bfcl-eval's NumPy
    touch "$STAMP"
fi
