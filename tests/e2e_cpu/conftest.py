"""The CPU end-to-end tier's training run, shared by its test files: ``recipes/cpu_tiny.sh`` is launched
once per session (``run``), and ``test_cpu_tiny_run.py`` (what verl logged and wrote) and
``test_cpu_tiny_eval.py`` (``toolzero-eval`` on the checkpoint) both read it.

The test process runs in the main venv; the recipe runs with ``$E2E_PYTHON`` (default
``$E2E_VENV/bin/python``, ``E2E_VENV`` default ``.venv-e2e``). A missing venv fails the tests; to
leave the tier out, deselect it: ``pytest -m 'not e2e_cpu'``.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from toolzero_verl.testing import metrics_log

REPO = Path(__file__).resolve().parents[2]
RECIPE = REPO / "recipes" / "cpu_tiny.sh"
STEPS = 3
KAPPA, MIDPOINT = 1.0, 2  # steep: σ = 0.27, 0.50, 0.73 over the 3 steps
E2E_TIMEOUT = int(os.environ.get("E2E_TIMEOUT", "900"))  # the recipe's limit for main_ppo alone


@dataclass
class Run:
    returncode: int
    run_dir: Path
    console: Path
    metrics: metrics_log.RunMetrics | None

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.console.read_text(errors="replace").splitlines()[-lines:])


def e2e_python() -> Path:
    if os.environ.get("E2E_PYTHON"):
        return Path(os.environ["E2E_PYTHON"])
    return Path(os.environ.get("E2E_VENV", REPO / ".venv-e2e")) / "bin" / "python"


@pytest.fixture(scope="session")
def run(tmp_path_factory) -> Run:
    python = e2e_python()
    if not python.is_file():
        pytest.fail(
            f"the CPU end-to-end venv is missing ({python}): build it with `bash scripts/setup_cpu_e2e.sh` "
            "(or set E2E_VENV / E2E_PYTHON), or deselect the tier with -m 'not e2e_cpu'",
            pytrace=False,
        )
    run_dir = tmp_path_factory.mktemp("cpu_tiny")
    console = run_dir / "console.log"
    env = {
        **os.environ,
        "PATH": f"{python.parent}{os.pathsep}{os.environ.get('PATH', '')}",  # the recipe's python3
        "RUN_DIR": str(run_dir),
        "STEPS": str(STEPS),
        "KAPPA": str(KAPPA),
        "MIDPOINT": str(MIDPOINT),
        "E2E_TIMEOUT": str(E2E_TIMEOUT),
    }
    for var in ("VIRTUAL_ENV", "PYTHONHOME", "VERL_USE_EXTERNAL_MODULES", "VERL_PLATFORM", "VERL_FILE_LOGGER_PATH"):
        env.pop(var, None)
    lock_wait = int(os.environ.get("E2E_LOCK_WAIT", "1800"))
    with console.open("w") as out:
        try:  # outer bound: lock wait + data and model (~1-2 min) + the recipe's own timeout
            proc = subprocess.run(["bash", str(RECIPE)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                  cwd=REPO, timeout=lock_wait + E2E_TIMEOUT + 600)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            code = -1
    try:
        metrics = metrics_log.load(run_dir / "metrics.jsonl", console)
    except FileNotFoundError:
        metrics = None
    return Run(code, run_dir, console, metrics)
