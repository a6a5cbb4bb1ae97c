"""The bundled example corpora and the recipes of a source checkout, for the demo, tests and benchmarks.

These helpers need the repository (``examples/data``, ``recipes/``): they are for a clone, not for
an installed wheel.

>>> sorted(flag for flag, _ in EXAMPLE_INPUTS)
['--hammer', '--toolace', '--toolrl', '--xlam']
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Mapping

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "data"
RECIPES = REPO / "recipes"
# The bundled example corpora, as toolzero-prep's input flags (file names as the corpora ship them).
EXAMPLE_INPUTS = (
    ("--toolace", "toolace_data.json"),
    ("--xlam", "xlam_function_calling_60k.json"),
    ("--hammer", "xlam-7.5k-irrelevancek.json"),
    ("--toolrl", "rlla_rl.json"),
)


def subprocess_env(extra: Mapping[str, str] | None = None) -> dict:
    """Environment for child processes: this interpreter's bin first on PATH, the repo importable."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{env['PYTHONPATH']}" if env.get("PYTHONPATH") else str(REPO)
    env.update(extra or {})
    return env


def convert_examples(out_dir: Path, examples: Path = EXAMPLES, *extra_args: str) -> dict:
    """Run ``python -m data_prep`` on the bundled corpora into ``out_dir``; returns its report.json."""
    cmd = [sys.executable, "-m", "data_prep", "--out", str(out_dir), "--no-progress", "--quiet", *extra_args]
    for flag, name in EXAMPLE_INPUTS:
        cmd += [flag, str(Path(examples) / name)]
    subprocess.run(cmd, check=True, env=subprocess_env(), cwd=REPO)
    return json.loads((Path(out_dir) / "report.json").read_text())


def recipe_overrides(recipe: Path, env: Mapping[str, str] | None = None) -> list[str]:
    """A recipe's exact override list (``PRINT_ARGS=1``: recipes/common.sh prints it and exits)."""
    run_env = subprocess_env({**(env or {}), "PRINT_ARGS": "1"})
    out = subprocess.run(["bash", str(recipe)], check=True, env=run_env, capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if line]
